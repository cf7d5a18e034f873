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
    copy.querySelector("[data-part-inputs]").replaceChildren();
    syncQuestion(copy);
    list.append(copy);
    copy.querySelector("input").focus();
  });

  /* A survey's parts, each a question of the form (its title, kind, options one per line,
   * most picks for a multiple choice, whether it must be answered), all sent as one
   * ballot. The words are the console's (`survey_*`). */
  const S = strings.survey;
  const PART_KINDS = ["single", "multiple", "yesno", "rating"];
  let partSeq = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children);
    return node;
  }

  function addPart(question) {
    const n = ++partSeq;
    const field = (cls, tag, attrs) => {
      const id = `${cls}-${n}`;
      return [el("label", { for: id }), el(tag, { id, class: cls, ...attrs })];
    };
    const [titleLabel, title] = field("part-title", "input", { maxlength: "500" });
    const [kindLabel, kind] = field("part-kind", "select", {});
    PART_KINDS.forEach((k) => { const o = el("option", { value: k }); o.textContent = S.survey_kinds[k]; kind.append(o); });
    const [optionsLabel, options] = field("part-options", "textarea", { rows: "3" });
    const [maxLabel, max] = field("part-max", "input", { type: "number", min: "1", max: "60", value: "2" });
    const [scaleLabel, scale] = field("part-scale", "input", { type: "number", min: "2", max: "10", value: "5" });
    const required = el("input", { type: "checkbox", class: "part-required" });
    required.checked = true;
    const remove = el("button", { type: "button", class: "ghost small part-remove", "data-remove-part": "" });
    const li = el("li", { class: "part-input", "data-testid": "part-input" },
      titleLabel, title, kindLabel, kind,
      el("div", { class: "part-options-row" }, optionsLabel, options),
      el("div", { class: "part-max-row" }, maxLabel, max),
      el("div", { class: "part-scale-row" }, scaleLabel, scale),
      el("label", { class: "check" }, required, el("span", { class: "part-required-text" })),
      remove);
    question.querySelector("[data-part-inputs]").append(li);
    syncParts(question);
    return li;
  }

  /** Numbers a question's parts (their labels say which part) and shows each part's fields. */
  function syncParts(question) {
    [...question.querySelector("[data-part-inputs]").children].forEach((li, j) => {
      const n = String(j + 1);
      for (const [cls, key] of [["part-title", "survey_part_title"], ["part-kind", "survey_part_kind"],
        ["part-options", "survey_part_options"], ["part-max", "survey_part_max"],
        ["part-scale", "survey_part_scale"]]) {
        li.querySelector(`label[for="${li.querySelector("." + cls).id}"]`).textContent = S[key].replace("{number}", n);
      }
      li.querySelector(".part-required-text").textContent = " " + S.survey_part_required.replace("{number}", n);
      li.querySelector(".part-remove").textContent = S.survey_remove_part.replace("{number}", n);
      const k = li.querySelector(".part-kind").value;
      li.querySelector(".part-options-row").hidden = k === "yesno" || k === "rating";
      li.querySelector(".part-max-row").hidden = k !== "multiple";
      li.querySelector(".part-scale-row").hidden = k !== "rating";
    });
  }

  /** A survey shows its parts instead of the options (two to begin with). */
  function syncQuestion(question) {
    const survey = question.querySelector("[name=q_kind]").value === "survey";
    question.querySelector("[data-parts-row]").hidden = !survey;
    question.querySelector("[data-options-row]").hidden = survey;
    if (survey) while (question.querySelector("[data-part-inputs]").children.length < 2) addPart(question);
  }

  list.addEventListener("change", (event) => {
    const question = event.target.closest("[data-question]");
    if (!question) return;
    if (event.target.matches("[name=q_kind]")) syncQuestion(question);
    if (event.target.matches(".part-kind")) syncParts(question);
  });
  list.addEventListener("click", (event) => {
    const question = event.target.closest("[data-question]");
    if (!question) return;
    if (event.target.matches("[data-add-part]")) addPart(question).querySelector(".part-title").focus();
    if (event.target.matches("[data-remove-part]")) {
      const parts = question.querySelector("[data-part-inputs]");
      if (parts.children.length > 1) { event.target.closest("li").remove(); syncParts(question); }
    }
  });

  /** The parts as the API takes them (`rooms.survey.build_parts` checks them). */
  function partsOf(question) {
    return [...question.querySelector("[data-part-inputs]").children].map((li) => {
      const k = li.querySelector(".part-kind").value;
      const part = { title: li.querySelector(".part-title").value, kind: k,
        required: li.querySelector(".part-required").checked };
      if (k === "single" || k === "multiple") {
        part.options = li.querySelector(".part-options").value.split("\n").map((x) => x.trim()).filter(Boolean);
      }
      if (k === "multiple") part.max_choices = Number(li.querySelector(".part-max").value);
      if (k === "rating") part.scale = Number(li.querySelector(".part-scale").value);
      return part;
    });
  }

  function questionOf(fieldset) {
    const get = (name) => String(fieldset.querySelector(`[name=${name}]`).value || "");
    const q = { title: get("q_title"), kind: get("q_kind") || "single" };
    if (q.kind === "survey") q.parts = partsOf(fieldset);
    else q.options = get("q_options").split("\n").map((s) => s.trim()).filter(Boolean);
    const cap = get("q_max_ballots").trim();
    if (cap) q.max_ballots = /^[0-9]+$/.test(cap) ? Number(cap) : cap;
    return q;
  }

  /* Who may vote: the on-site code, roster lists and departments are an official's (a
   * general poll is a citizen's); an internal vote (departments) is for officials, so it
   * goes with none of the citizens' targets (lists, ages, gender, districts, occupations),
   * and choosing either side turns the other off. */
  const kindField = form.querySelector("[name=kind]");
  const departments = form.querySelector("[data-departments]");
  const citizenTargets = [...form.querySelectorAll("[data-citizen-target]")];
  const chosen = (box) => !box.disabled && !!box.querySelector("input:checked");
  function syncTarget() {
    const general = kindField.value === "general";
    form.querySelectorAll("[data-official-only]").forEach((node) => {
      node.hidden = general;
      node.querySelectorAll("input").forEach((input) => { input.disabled = general; });
    });
    if (!departments) return;
    const internal = chosen(departments);
    citizenTargets.forEach((box) => { box.disabled = internal; });
    departments.disabled = general || (!internal && citizenTargets.some(chosen));
  }
  kindField.addEventListener("change", syncTarget);
  form.querySelector("[data-target]").addEventListener("change", syncTarget);
  syncTarget();

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
