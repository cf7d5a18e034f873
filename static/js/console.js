/* The host console: the question list, host actions through the JSON API, live results
 * over the live protocol (as the room's presenter, so every tally arrives). */
"use strict";

(function () {
  const { data, S, el, Tallies, drawBars, setConnection, errorText, verificationBadge,
    optionLabel, drawSurvey } = window.mv;
  const roomId = data.room.id;
  const list = document.getElementById("question-list");
  const noQuestions = document.getElementById("no-questions");
  const status = document.getElementById("console-status");
  const form = document.getElementById("question-form");
  const formError = document.getElementById("form-error");
  const optionInputs = document.getElementById("option-inputs");
  const previousButton = document.getElementById("previous");
  const nextButton = document.getElementById("next");
  const tallies = Tallies();
  /* A word of the status line ("Saved.") is true only for a moment: it goes after this
   * long, or as soon as another action starts. An error stays until the next action. */
  const STATUS_MS = 5000;
  const IMAGE_TYPES = "image/png,image/jpeg,image/gif,image/webp";
  let questions = [];
  let current = null;        // the room's current question (its id), or null
  let editing = null;        // id of the draft question being edited, or null
  let questionImage = "";
  let statusTimer = null;

  async function api(method, url, body) {
    const init = { method, headers: {}, credentials: "same-origin" };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    const payload = await r.json().catch(() => ({ ok: false }));
    if (!payload.ok) throw payload.error || { code: "unavailable" };
    return payload;
  }

  /** Shows `message` in the status line. `kind` "error" and "busy" stay (an error until
   * the next action, "busy" until its work ends); anything else clears itself. */
  function say(message, kind) {
    clearTimeout(statusTimer);
    status.textContent = message || "";
    status.className = kind === "error" ? "alert" : "muted";
    if (message && !kind) statusTimer = setTimeout(() => say(""), STATUS_MS);
  }

  /** Runs a host action: the last action's word goes at once, then the action's own word
   * (what `work` returns) or its refusal. */
  async function run(work) {
    say("");
    try {
      const message = await work();
      if (message) say(message);
    } catch (e) { say(errorText(e), "error"); }
  }

  async function load() {
    const body = await api("GET", `/api/rooms/${roomId}`);
    questions = body.questions;
    current = body.room.current;
    for (const q of questions) if (q.tally) tallies.offer(q.tally);
    render();
  }

  /* --- the list ------------------------------------------------------------------ */
  function render() {
    // The empty state is a sentence beside the list, not a numbered item of it.
    noQuestions.hidden = questions.length > 0;
    list.hidden = !questions.length;
    list.replaceChildren(...questions.map((q, i) => item(q, i)));
    syncAgenda();
  }

  /** Previous and Next are offered only where the server would move (docs/protocol.md,
   * "The current question"). */
  function syncAgenda() {
    const at = questions.findIndex((q) => q.id === current);
    const before = at < 0 ? questions : questions.slice(0, at);
    previousButton.disabled = !before.some((q) => q.status !== "draft");
    nextButton.disabled = at < 0 && !questions.some((q) => q.status === "draft");
  }

  /** Results are hidden from attendees now, so that a reveal would change something. */
  function resultsHidden(q) {
    return q.visibility !== "live" && !q.revealed && q.status !== "closed";
  }

  function facts(q) {
    const kind = S.kinds[q.kind] || q.kind;
    const visibility = S.visibilities[q.visibility] || q.visibility;
    return el("p", { class: "facts" },
      q.id === current ? el("span", { class: "badge current", text: S.current }) : null,
      el("span", { class: `badge ${q.status}`, text: S.statuses[q.status] || q.status }),
      q.revealed ? el("span", { class: "badge", text: S.revealed }) : null,
      el("span", { class: "muted", "data-testid": "question-facts", text: ` ${kind} · ${visibility}` }));
  }

  /** The question's image and its options' images, small, each with its alt text. */
  function thumbnails(q) {
    const pictures = [];
    const picture = (src, alt, caption) => pictures.push(el("li", {},
      el("img", { class: "thumb", src, alt }), el("span", { class: "thumb-caption", text: caption })));
    if (q.image) picture(q.image, q.image_alt || q.title, S.question_image);
    q.options.forEach((o, i) => {
      if (o.image) picture(o.image, o.image_alt || optionLabel(q, i), optionLabel(q, i));
    });
    return pictures.length ? el("ul", { class: "thumbs", "aria-label": S.images }, ...pictures) : null;
  }

  function actions(q, i, titleId) {
    const box = el("div", { class: "actions" });
    const act = (label, fn, extra) => box.append(el("button",
      { type: "button", class: "ghost", text: label, onclick: fn, "aria-describedby": titleId, ...extra }));
    if (q.id !== current) act(S.make_current, () => run(() => moveTo("current", { question: q.id })));
    if (q.status !== "open") act(S.open, () => run(() => action(q, "open")));
    if (q.status === "open") act(S.close, () => run(() => action(q, "close")));
    if (resultsHidden(q)) act(S.reveal, () => run(() => action(q, "reveal")));
    // Hidden again only before the close: then the results are everyone's for good.
    if (q.revealed && q.status !== "closed") act(S.hide, () => run(() => action(q, "hide")));
    if (q.status === "closed") {
      act(S.reset, () => { if (confirm(S.confirm_reset)) run(() => action(q, "reset")); });
    }
    if (q.status === "draft") {
      act(S.edit, () => startEdit(q));
      act(S.delete, () => { if (confirm(S.confirm_delete)) run(() => remove(q)); });
    }
    act(S.move_up, () => run(() => move(i, -1)),
      { disabled: i === 0, "aria-label": `${S.move_up}: ${q.title}`, "aria-describedby": null });
    act(S.move_down, () => run(() => move(i, 1)), { disabled: i === questions.length - 1,
      "aria-label": `${S.move_down}: ${q.title}`, "aria-describedby": null });
    box.append(el("a", { href: `/api/questions/${q.id}/export.csv`, text: S.export_csv }));
    box.append(el("a", { href: `/api/questions/${q.id}/export.xlsx`, text: S.export_xlsx }));
    if (q.kind === "survey") {
      box.append(el("a", { href: `/api/questions/${q.id}/ballots.csv`, text: S.export_ballots }));
    }
    if (q.status === "closed" && q.log) {
      box.append(el("a", { href: `/ledger/${q.log}/export`, text: S.export_log }));
    }
    return box;
  }

  function item(q, i) {
    const titleId = `q-title-${q.id}`;
    const isCurrent = q.id === current;
    const t = tallies.get(q.id);
    let bars;
    if (q.kind === "text") {
      bars = el("div", { class: "answers", "data-testid": "answers" });
      drawAnswers(bars, q, t);
    } else if (q.kind === "survey") {
      bars = el("ol", { class: "survey-results", "aria-label": `${S.live_results}: ${q.title}` });
      drawSurvey(bars, q, t, 4, true);
    } else {
      bars = el("ol", { class: "bars small", "aria-label": `${S.live_results}: ${q.title}` });
      drawBars(bars, q, t);
    }
    return el("li", { class: isCurrent ? "question-item current" : "question-item",
      "aria-current": isCurrent ? "true" : null, "data-status": q.status, "data-question": q.id },
      el("h3", { id: titleId, text: q.title }), facts(q), thumbnails(q), verificationBadge(q), bars,
      el("p", { class: "total-line" }, el("span", { text: S.total + " " }),
        el("strong", { class: "total", text: String(t ? t.total : 0) })),
      actions(q, i, titleId));
  }

  /** An open-text question's answers as counted (the cloud's, most given first), each
   * with a button that hides it from every screen; below, the hidden ones, to show again.
   * Not redrawn under the host's keyboard: a tally that arrives then waits for focus to
   * leave, so that a button is never pulled from under the host. */
  function drawAnswers(box, q, t) {
    if (box.contains(document.activeElement)) {
      box.dataset.stale = "true";
      return;
    }
    delete box.dataset.stale;
    const words = (t && t.words) || [];
    const hidden = q.hidden || [];
    const button = (label, name, fn) => el("button", { type: "button", class: "ghost small",
      text: label, "aria-label": name, onclick: () => run(fn) });
    const shown = words.length
      ? el("ol", { class: "answer-list", "aria-label": `${S.answers_title}: ${q.title}` },
        ...words.map(([w, n]) => el("li", { "data-testid": "answer" },
          el("span", { class: "answer-word", text: w }),
          el("span", { class: "answer-count", text: String(n) }),
          button(S.hide_answer, S.hide_answer_named.replace("{answer}", w),
            () => hideAnswer(q, w, true)))))
      : el("p", { class: "muted", text: S.cloud_empty });
    const parts = [shown];
    if (t && t.distinct) parts.push(el("p", { class: "muted", text: S.cloud_distinct.replace("{n}", t.distinct) }));
    if (hidden.length) {
      parts.push(el("h4", { text: S.hidden_answers }), el("ul", { class: "answer-list hidden-answers" },
        ...hidden.map((w) => el("li", { "data-testid": "hidden-answer" },
          el("span", { class: "answer-word", text: w }),
          button(S.show_answer, S.show_answer_named.replace("{answer}", w),
            () => hideAnswer(q, w, false))))));
    }
    box.replaceChildren(...parts);
  }

  async function hideAnswer(q, word, hidden) {
    const body = await api("POST", `/api/questions/${q.id}/answers`, { answers: [word], hidden });
    const known = questions.find((x) => x.id === q.id);
    if (known) known.hidden = body.hidden;
    render();
    return (hidden ? S.answer_hidden : S.answer_shown).replace("{answer}", word);
  }

  list.addEventListener("focusout", () => setTimeout(() => {
    for (const box of list.querySelectorAll(".answers[data-stale]")) {
      const q = questions.find((x) => x.id === box.closest("[data-question]").dataset.question);
      if (q) drawAnswers(box, q, tallies.get(q.id));
    }
  }));

  async function action(q, what) {
    const body = await api("POST", `/api/questions/${q.id}/${what}`);
    replace(body.question);
    return S.saved;
  }

  async function remove(q) {
    await api("DELETE", `/api/questions/${q.id}`);
    if (editing === q.id) resetForm();
    await load();
    return S.saved;
  }

  async function move(i, step) {
    const ids = questions.map((q) => q.id);
    const j = i + step;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    await api("POST", `/api/rooms/${roomId}/order`, { questions: ids });
    await load();
  }

  /** Next, Previous or "Make current"; says which question every screen shows now. */
  async function moveTo(path, body) {
    const moved = await api("POST", `/api/rooms/${roomId}/${path}`, body);
    await load();
    const q = questions.find((x) => x.id === moved.current);
    return q ? S.now_current.replace("{title}", q.title) : S.agenda_over;
  }

  nextButton.addEventListener("click", () => run(() => moveTo("next")));
  previousButton.addEventListener("click", () => run(() => moveTo("previous")));

  function replace(q) {
    const i = questions.findIndex((x) => x.id === q.id);
    if (i >= 0) questions[i] = { ...questions[i], ...q };
    if (q.status === "draft") tallies.drop(q.id);
    render();
  }

  /* --- live updates ---------------------------------------------------------------- */
  // The reconnection back-off of vote.js (why these values: there).
  const socket = io({
    transports: ["websocket", "polling"],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
  });
  window.mv.socket = socket;  // the lot drawing's panel (draw.js) listens on it too
  const conn = document.getElementById("conn");
  /** A join refused "unavailable" is tried again by itself (``mv.rejoining``). */
  const joins = window.mv.rejoining(socket, conn, () => join());

  function join() {
    socket.timeout(10000).emit("join", { room: data.room.number, presenter: data.presenter }, (err, ack) => {
      if (err) return;
      if (!ack.ok && ack.error && ack.error.code === "unavailable") { joins.later(); return; }
      if (!ack.ok) { if (ack.error && ack.error.code === "bad_credentials") renewPresenter(); return; }
      joins.reset();
      setConnection(conn, "connected");
      for (const q of ack.questions) if (q.tally) tallies.offer(q.tally);
      current = ack.room.current;
      render();
    });
  }

  /** The room's presenter link was renewed (a co-host left): a host reads the new one
   * and joins with it; the "Open presenter screen" link follows. */
  let renewing = false;
  async function renewPresenter() {
    if (renewing) return;
    renewing = true;
    try {
      const body = await api("GET", `/api/rooms/${roomId}`);
      const url = new URL(body.room.presenter_url, location.href);
      const token = url.searchParams.get("token");
      if (!token || token === data.presenter) { setConnection(conn, "offline"); return; }
      data.presenter = token;
      const open = document.querySelector('a[href*="/present/"]');
      if (open) open.href = url.pathname + url.search;
      join();
    } catch (e) {
      setConnection(conn, "offline");  // no longer a host of the room
    } finally {
      renewing = false;
    }
  }

  socket.on("connect", join);
  socket.on("rejoin", renewPresenter);
  socket.on("disconnect", () => setConnection(conn, "connecting"));
  socket.on("question", (q) => { if (questions.some((x) => x.id === q.id)) replace(q); else load(); });
  socket.on("room", (r) => { current = r.current; render(); });
  socket.on("tally", (t) => {
    if (!tallies.offer(t)) return;
    const li = list.querySelector(`[data-question="${t.question}"]`);
    const q = questions.find((x) => x.id === t.question);
    if (!li || !q) return;
    if (q.kind === "text") drawAnswers(li.querySelector(".answers"), q, t);
    else if (q.kind === "survey") drawSurvey(li.querySelector("ol.survey-results"), q, t, 4, true);
    else drawBars(li.querySelector("ol.bars"), q, t);
    li.querySelector(".total").textContent = String(t.total);
  });

  /* --- the question form ------------------------------------------------------------ */
  const kind = document.getElementById("q-kind");
  const imageInput = document.getElementById("q-image");
  const imageRow = document.getElementById("q-image-row");
  const imageThumb = document.getElementById("q-image-thumb");
  const imageAlt = document.getElementById("q-image-alt");
  const formTitle = document.getElementById("add-title");
  const submitButton = document.getElementById("q-submit");
  const cancelButton = document.getElementById("q-cancel");

  function syncKind() {
    const k = kind.value;
    const picks = document.getElementById("max-choices-row");
    picks.hidden = k !== "multiple" && k !== "text";
    // Open text: how many answers one voter may give (1..10), not picks among options.
    picks.querySelector("label").textContent = k === "text" ? S.answers_per_voter : S.picks_per_voter;
    form.max_choices.max = k === "text" ? "10" : "60";
    document.getElementById("scale-row").hidden = k !== "rating";
    document.getElementById("options-row").hidden = k === "rating" || k === "yesno" || k === "text"
      || k === "survey";
    syncSurvey(k);
    const want = k === "vs" ? 2 : Math.max(2, optionInputs.children.length);
    while (optionInputs.children.length < want) addOption();
    while (k === "vs" && optionInputs.children.length > 2) optionInputs.lastChild.remove();
    document.getElementById("add-option").hidden = k === "vs";
    syncOptions();
  }
  kind.addEventListener("change", syncKind);

  /** Numbers the options; a VS side left blank shows the name it will have (Side A, B);
   * an image without a label needs its description. */
  function syncOptions() {
    const vs = kind.value === "vs";
    [...optionInputs.children].forEach((li, i) => {
      li.querySelector(".opt-number").textContent = `${S.option} ${i + 1}`;
      const label = li.querySelector(".opt-label");
      const side = vs && i < 2 ? (i === 0 ? S.vs_side_a : S.vs_side_b) : null;
      if (side) label.setAttribute("placeholder", side); else label.removeAttribute("placeholder");
      const alt = li.querySelector(".opt-alt");
      alt.required = !!li.dataset.image && !label.value.trim();
      if (!alt.required || alt.value.trim()) {
        alt.removeAttribute("aria-invalid");
        alt.removeAttribute("aria-describedby");
      }
      syncThumb(li.querySelector(".thumb"), alt.value || label.value || side || S.image);
    });
  }

  function syncThumb(img, alt) { img.alt = alt; }

  /** Shows (or, with "", removes) an option's image in the form. */
  function setOptionImage(li, path) {
    li.dataset.image = path;
    li.querySelector(".image-row").hidden = !path;
    if (path) li.querySelector(".thumb").src = path;
    else {
      li.querySelector(".thumb").removeAttribute("src");
      li.querySelector(".opt-alt").value = "";
      li.querySelector("input[type=file]").value = "";
    }
    syncOptions();
  }

  let optionSeq = 0;
  function addOption(o) {
    const n = ++optionSeq;
    const alt = el("input", { id: `opt-alt-${n}`, class: "opt-alt", maxlength: "500",
      value: (o && o.image_alt) || "", oninput: syncOptions });
    const li = el("li", {},
      el("label", { for: `opt-${n}`, class: "opt-number" }),
      el("input", { id: `opt-${n}`, class: "opt-label", maxlength: "200", value: (o && o.label) || "",
        oninput: syncOptions }),
      el("label", { for: `opt-desc-${n}`, text: S.description }),
      el("input", { id: `opt-desc-${n}`, class: "opt-desc", maxlength: "2000", value: (o && o.description) || "" }),
      el("label", { for: `opt-img-${n}`, text: S.image }),
      el("input", { id: `opt-img-${n}`, type: "file", accept: IMAGE_TYPES,
        onchange: async (e) => { const path = await upload(e.target); if (path) setOptionImage(li, path); } }),
      el("div", { class: "image-row", hidden: true },
        el("div", { class: "thumb-row" },
          el("img", { class: "thumb", alt: "" }),
          el("button", { type: "button", class: "ghost small", text: S.remove_image,
            "aria-describedby": `opt-${n}`, onclick: () => setOptionImage(li, "") })),
        el("label", { for: `opt-alt-${n}`, text: S.image_alt }), alt),
      el("button", { type: "button", class: "ghost small", text: S.remove_option,
        onclick: () => { if (optionInputs.children.length > 2) { li.remove(); syncOptions(); } } }));
    optionInputs.append(li);
    setOptionImage(li, (o && o.image) || "");
  }
  document.getElementById("add-option").addEventListener("click", () => addOption());

  /** Shows (or, with "", removes) the question's image in the form. */
  function setQuestionImage(path) {
    questionImage = path;
    imageRow.hidden = !path;
    if (path) imageThumb.src = path;
    else {
      imageThumb.removeAttribute("src");
      imageAlt.value = "";
      imageInput.value = "";
    }
    syncQuestionThumb();
  }
  function syncQuestionThumb() { syncThumb(imageThumb, imageAlt.value || form.title.value || S.image); }
  imageAlt.addEventListener("input", syncQuestionThumb);
  form.title.addEventListener("input", syncQuestionThumb);
  imageInput.addEventListener("change", async (e) => {
    const path = await upload(e.target);
    if (path) setQuestionImage(path);
  });
  document.getElementById("q-image-remove").addEventListener("click", () => {
    setQuestionImage("");
    imageInput.focus();
  });

  async function upload(input) {
    if (!input.files.length) return "";
    const fd = new FormData();
    fd.append("file", input.files[0]);
    say(S.uploading, "busy");
    try { const body = await api("POST", "/api/media", fd); say(S.saved); return body.media.path; }
    catch (e) { say(errorText(e), "error"); input.value = ""; return ""; }
  }

  function formBody() {
    const k = kind.value;
    // The image fields always go: an edit that leaves one out keeps the old image.
    const body = {
      title: form.title.value, description: form.description.value, kind: k,
      visibility: form.visibility.value, receipts: form.receipts.checked,
      image: questionImage, image_alt: questionImage ? imageAlt.value : "",
      max_ballots: form.max_ballots.value ? Number(form.max_ballots.value) : 0,
      duration_s: form.duration_s.value ? Number(form.duration_s.value) : 0,
      // The browser reads "2026-12-03T15:30" in the host's own time zone.
      closes_at_ms: form.closes_at.value ? new Date(form.closes_at.value).getTime() : 0,
    };
    if (k === "multiple" || k === "text") body.max_choices = Number(form.max_choices.value);
    if (k === "rating") body.scale = Number(form.scale.value);
    if (k === "text") body.options = [];
    else if (k === "survey") body.parts = surveyParts();
    else if (k !== "rating" && k !== "yesno") {
      body.options = [...optionInputs.children].map((li) => {
        const image = li.dataset.image || "";
        return { label: li.querySelector(".opt-label").value,
                 description: li.querySelector(".opt-desc").value,
                 image, image_alt: image ? li.querySelector(".opt-alt").value : "" };
      }).filter((o) => o.label.trim() || o.image);
    }
    return body;
  }

  /** The first option that is an image without a label or a description, or null. The
   * server refuses it too (`bad_request` naming image_alt): this says so before sending. */
  function missingAlt() {
    if (document.getElementById("options-row").hidden) return null;
    const kept = [...optionInputs.children]
      .filter((li) => li.querySelector(".opt-label").value.trim() || li.dataset.image);
    const n = kept.findIndex((li) => {
      const alt = li.querySelector(".opt-alt");
      return alt.required && !alt.value.trim();
    });
    return n < 0 ? null : { n: n + 1, input: kept[n].querySelector(".opt-alt") };
  }

  function showFormError(text) {
    formError.textContent = text;
    formError.hidden = false;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    say("");
    formError.hidden = true;
    const missing = missingAlt();
    if (missing) {
      missing.input.setAttribute("aria-invalid", "true");
      missing.input.setAttribute("aria-describedby", "form-error");
      showFormError(S.alt_required.replace("{n}", missing.n));
      missing.input.focus();
      return;
    }
    try {
      if (editing) await api("PATCH", `/api/questions/${editing}`, formBody());
      else await api("POST", `/api/rooms/${roomId}/questions`, formBody());
      resetForm();
      await load();
      say(S.saved);
    } catch (err) {
      showFormError(err && err.message && err.code === "bad_request" ? err.message : errorText(err));
    }
  });

  /** The form adds a question, or (`q`, a draft) edits one. */
  function setMode(q) {
    editing = q ? q.id : null;
    formTitle.textContent = q ? S.edit_title : S.add_title;
    submitButton.textContent = q ? S.edit_submit : S.add_submit;
    cancelButton.hidden = !q;
  }

  /** "2026-12-03T15:30": a moment as a datetime-local field shows it, in local time. */
  function localMinute(ms) {
    const d = new Date(ms);
    const two = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}` +
      `T${two(d.getHours())}:${two(d.getMinutes())}`;
  }

  function startEdit(q) {
    resetForm();
    setMode(q);
    form.title.value = q.title;
    form.description.value = q.description || "";
    kind.value = q.kind;
    form.visibility.value = q.visibility;
    form.receipts.checked = q.receipts !== false;
    form.max_choices.value = q.max_choices;
    form.max_ballots.value = q.max_ballots ? String(q.max_ballots) : "";
    form.duration_s.value = q.duration_s ? String(q.duration_s) : "";
    form.closes_at.value = q.closes_at_ms ? localMinute(q.closes_at_ms) : "";
    if (q.kind === "rating") form.scale.value = q.options.length;
    setQuestionImage(q.image || "");
    imageAlt.value = q.image_alt || "";
    optionInputs.replaceChildren();
    partInputs.replaceChildren();
    if (q.kind === "survey") q.parts.forEach((p) => addPart(p, q.options.slice(p.first, p.first + p.size)));
    // Yes and No in the page's language, should the host turn the question into another
    // kind (a yes/no question sends no options: the stored ones stay as they are).
    q.options.forEach((o, i) => addOption(q.kind === "yesno" ? { ...o, label: optionLabel(q, i) } : o));
    syncKind();
    syncQuestionThumb();
    say(S.editing.replace("{title}", q.title));
    form.title.focus();
  }

  function resetForm() {
    setMode(null);
    form.reset();
    setQuestionImage("");
    formError.hidden = true;
    optionInputs.replaceChildren();
    partInputs.replaceChildren();
    syncKind();
  }

  cancelButton.addEventListener("click", () => {
    resetForm();
    say("");
    form.title.focus();
  });

  /* --- the survey's parts ------------------------------------------------------------- */
  /* A survey is one question of several parts, each a question of the form: its title,
   * kind, options (one per line; a rating's are its scale, a yes/no's Yes and No), most
   * picks (multiple choice) and whether it must be answered. */
  const partInputs = document.getElementById("part-inputs");
  const PART_KINDS = ["single", "multiple", "yesno", "rating"];
  let partSeq = 0;

  function syncSurvey(k) {
    document.getElementById("parts-row").hidden = k !== "survey";
    if (k === "survey") while (partInputs.children.length < 2) addPart();
  }

  /** Numbers the parts (their labels say which part they belong to) and shows each part's
   * fields for its kind. */
  function syncParts() {
    [...partInputs.children].forEach((li, j) => {
      const n = j + 1;
      const k = li.querySelector(".part-kind").value;
      for (const [cls, key] of [["part-title", "survey_part_title"], ["part-kind", "survey_part_kind"],
        ["part-options", "survey_part_options"], ["part-max", "survey_part_max"],
        ["part-scale", "survey_part_scale"]]) {
        li.querySelector(`label[for="${li.querySelector("." + cls).id}"]`).textContent = S[key].replace("{number}", n);
      }
      li.querySelector(".part-required-text").textContent = " " + S.survey_part_required.replace("{number}", n);
      li.querySelector(".part-remove").textContent = S.survey_remove_part.replace("{number}", n);
      li.querySelector(".part-options-row").hidden = k === "yesno" || k === "rating";
      li.querySelector(".part-max-row").hidden = k !== "multiple";
      li.querySelector(".part-scale-row").hidden = k !== "rating";
    });
  }

  /** Adds a part's fields, filled from `p` (a survey's part) and its `options`, if given. */
  function addPart(p, options) {
    const n = ++partSeq;
    const field = (cls, tag, attrs) => {
      const id = `${cls}-${n}`;
      return [el("label", { for: id }), el(tag, { id, class: cls, ...attrs })];
    };
    const kindSelect = el("select", { id: `part-kind-${n}`, class: "part-kind", onchange: syncParts },
      ...PART_KINDS.map((k) => el("option", { value: k, text: S.survey_kinds[k] })));
    kindSelect.value = (p && p.kind) || "single";
    const [titleLabel, title] = field("part-title", "input", { maxlength: "500", required: true });
    title.value = (p && p.title) || "";
    const [optionsLabel, optionsBox] = field("part-options", "textarea", { rows: "3" });
    optionsBox.value = p && p.kind !== "rating" && p.kind !== "yesno" && options
      ? options.map((o) => o.label).join("\n") : "";
    const [maxLabel, max] = field("part-max", "input", { type: "number", min: "1", max: "60" });
    max.value = String((p && p.kind === "multiple" && p.max_choices) || 2);
    const [scaleLabel, scale] = field("part-scale", "input", { type: "number", min: "2", max: "10" });
    scale.value = String((p && p.kind === "rating" && p.size) || 5);
    const required = el("input", { type: "checkbox", class: "part-required" });
    required.checked = !p || p.required !== false;
    const li = el("li", { class: "part-input", "data-testid": "part-input" },
      titleLabel, title,
      el("label", { for: kindSelect.id }), kindSelect,
      el("div", { class: "part-options-row" }, optionsLabel, optionsBox),
      el("div", { class: "part-max-row" }, maxLabel, max),
      el("div", { class: "part-scale-row" }, scaleLabel, scale),
      el("label", { class: "check" }, required, el("span", { class: "part-required-text" })),
      el("button", { type: "button", class: "ghost small part-remove", onclick: () => {
        if (partInputs.children.length > 1) { li.remove(); syncParts(); }
      } }));
    partInputs.append(li);
    syncParts();
    return li;
  }
  document.getElementById("add-part").addEventListener("click", () => {
    addPart().querySelector(".part-title").focus();
  });

  /** The parts as the API takes them (`rooms.survey.build_parts` checks them). */
  function surveyParts() {
    return [...partInputs.children].map((li) => {
      const k = li.querySelector(".part-kind").value;
      const part = { title: li.querySelector(".part-title").value, kind: k,
        required: li.querySelector(".part-required").checked };
      if (k === "single" || k === "multiple") {
        part.options = li.querySelector(".part-options").value.split("\n")
          .map((x) => x.trim()).filter(Boolean);
      }
      if (k === "multiple") part.max_choices = Number(li.querySelector(".part-max").value);
      if (k === "rating") part.scale = Number(li.querySelector(".part-scale").value);
      return part;
    });
  }

  /* --- co-hosts ------------------------------------------------------------------------ */
  async function loadHosts() {
    try {
      const body = await api("GET", `/api/rooms/${roomId}/hosts`);
      const ul = document.getElementById("host-list");
      ul.replaceChildren(...body.hosts.map((h) => el("li", {},
        el("span", { text: `${h.name} <${h.email}> · ${h.role === "owner" ? S.owner : S.cohost}` }),
        h.role === "owner" || !body.can_manage ? null : el("button", {
          type: "button", class: "ghost small", text: S.remove,
          "aria-label": `${S.remove}: ${h.email}`,
          onclick: () => run(async () => {
            await api("DELETE", `/api/rooms/${roomId}/hosts/${h.id}`);
            loadHosts();
          }) }))));
    } catch (_) { /* co-host list unavailable */ }
  }
  document.getElementById("invite").addEventListener("click", () => run(async () => {
    const body = await api("POST", `/api/rooms/${roomId}/invitations`);
    document.getElementById("invite-link").textContent = `${S.invite_link} ${body.invitation.url}`;
  }));

  resetForm();
  load().catch((e) => say(errorText(e), "error"));
  loadHosts();
})();
