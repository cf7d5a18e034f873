/* Opening a poll: the form read into the JSON the API takes (times from the browser's
 * own time zone, options one per line, the browser's position if asked for), posted to
 * /api/polls; then the new poll's page. */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("poll-form-strings").textContent);
  const form = document.querySelector("[data-poll-form]");
  const alertBox = form.querySelector("[data-error]");
  const positionBox = form.querySelector("[data-use-position]");
  const positionStatus = form.querySelector("[data-position-status]");
  let place = null;

  function showError(message) {
    alertBox.textContent = message || "";
    alertBox.hidden = !message;
  }

  positionBox.addEventListener("change", () => {
    place = null;
    positionStatus.textContent = "";
    if (!positionBox.checked) return;
    if (!navigator.geolocation) { positionStatus.textContent = strings.denied; positionBox.checked = false; return; }
    positionStatus.textContent = strings.asking;
    navigator.geolocation.getCurrentPosition((pos) => {
      place = { lat: pos.coords.latitude, lon: pos.coords.longitude };
      positionStatus.textContent = strings.placed;
    }, () => { positionBox.checked = false; positionStatus.textContent = strings.denied; },
    { timeout: 10000, maximumAge: 60000 });
  });

  function ms(value) {
    if (!value) return null;
    const t = new Date(value).getTime();  // a datetime-local value reads in local time
    return Number.isFinite(t) ? t : null;
  }

  // "Add a question": a copy of the first question's fields, with ids of its own.
  const list = form.querySelector("[data-questions]");
  form.querySelector("[data-add-question]").addEventListener("click", () => {
    const n = list.querySelectorAll("[data-question]").length + 1;
    const copy = list.querySelector("[data-question]").cloneNode(true);
    copy.querySelector("[data-question-number]").textContent = String(n);
    copy.querySelectorAll("[id]").forEach((node) => { node.id = `${node.id.replace(/-\d+$/, "")}-${n}`; });
    copy.querySelectorAll("label[for]").forEach((label) => {
      label.htmlFor = `${label.htmlFor.replace(/-\d+$/, "")}-${n}`;
    });
    copy.querySelectorAll("[aria-describedby]").forEach((node) => {
      node.setAttribute("aria-describedby", `${node.getAttribute("aria-describedby").replace(/-\d+$/, "")}-${n}`);
    });
    copy.querySelectorAll("input, textarea").forEach((node) => { node.value = ""; });
    copy.querySelectorAll("select").forEach((node) => { node.selectedIndex = 0; });
    list.append(copy);
    copy.querySelector("input").focus();
  });

  function questionOf(fieldset) {
    const get = (name) => String(fieldset.querySelector(`[name=${name}]`).value || "");
    return {
      title: get("q_title"),
      kind: get("q_kind") || "single",
      options: get("q_options").split("\n").map((s) => s.trim()).filter(Boolean),
    };
  }

  function body() {
    const f = new FormData(form);
    const out = {
      kind: String(f.get("kind") || "general"),
      title: String(f.get("title") || ""),
      description: String(f.get("description") || ""),
      area: String(f.get("area") || ""),
      tags: String(f.get("tags") || "").split(",").map((s) => s.trim()).filter(Boolean),
      visibility: String(f.get("visibility") || "live"),
      closes_ms: ms(f.get("closes")),
      questions: [...list.querySelectorAll("[data-question]")].map(questionOf),
    };
    const opens = ms(f.get("opens"));
    if (opens !== null) out.opens_ms = opens;
    if (place) out.place = place;
    const target = {};
    for (const name of ["ages", "genders", "districts", "jobs", "groups", "departments"]) {
      const chosen = f.getAll(`t_${name}`).map(String);
      if (chosen.length) target[name] = chosen;
    }
    const radius = String(f.get("t_radius") || "").trim();
    if (radius) target.radius_m = /^[0-9]+$/.test(radius) ? Number(radius) : radius;
    if (f.get("t_site")) target.site = true;
    if (Object.keys(target).length) out.target = target;
    // Policy polls take comments only where the department says so; general ones always.
    if (form.querySelector("[data-comments]") && out.kind !== "general") out.comments = !!f.get("comments");
    return out;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = body();
    if (data.closes_ms === null) { showError(strings.closes_needed); form.querySelector("#closes").focus(); return; }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    showError("");
    fetch("/api/polls", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(data),
    }).then((r) => r.json()).then((answer) => {
      submit.disabled = false;
      if (!answer.ok) { showError(answer.error.message); return; }
      window.location.assign("/polls/" + encodeURIComponent(answer.poll.id));
    }, () => { submit.disabled = false; showError(strings.failed); });
  });
})();
