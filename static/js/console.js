/* The host console: the question list, host actions through the JSON API, live results
 * over the live protocol (as the room's presenter, so every tally arrives). */
"use strict";

(function () {
  const { data, S, el, Tallies, drawBars, setConnection, errorText, verificationBadge } = window.mv;
  const roomId = data.room.id;
  const list = document.getElementById("question-list");
  const status = document.getElementById("console-status");
  const form = document.getElementById("question-form");
  const formError = document.getElementById("form-error");
  const optionInputs = document.getElementById("option-inputs");
  const tallies = Tallies();
  let questions = [];
  let editing = null;        // id of the draft question being edited, or null
  let questionImage = "";

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

  function say(message, isError) {
    status.textContent = message;
    status.className = isError ? "alert" : "muted";
  }

  async function load() {
    const body = await api("GET", `/api/rooms/${roomId}`);
    questions = body.questions;
    for (const q of questions) if (q.tally) tallies.offer(q.tally);
    render();
  }

  /* --- the list ------------------------------------------------------------------ */
  function render() {
    if (!questions.length) {
      list.replaceChildren(el("li", { class: "muted", text: S.no_questions }));
      return;
    }
    list.replaceChildren(...questions.map((q, i) => item(q, i)));
  }

  function item(q, i) {
    const badges = el("p", {},
      el("span", { class: `badge ${q.status}`, text: S[`status_${q.status}`] }),
      q.revealed ? el("span", { class: "badge", text: S.revealed }) : null,
      el("span", { class: "muted", text: ` ${q.kind} · ${q.visibility}` }));
    const actions = el("div", { class: "actions" });
    const act = (label, fn, extra) =>
      actions.append(el("button", { type: "button", class: "ghost", text: label, onclick: fn, ...extra }));
    if (q.status !== "open") act(S.open, () => action(q, "open"));
    if (q.status === "open") act(S.close, () => action(q, "close"));
    if (!q.revealed) act(S.reveal, () => action(q, "reveal"));
    if (q.status === "closed") act(S.reset, () => { if (confirm(S.confirm_reset)) action(q, "reset"); });
    if (q.status === "draft") {
      act(S.edit, () => startEdit(q));
      act(S.delete, () => { if (confirm(S.confirm_delete)) remove(q); });
    }
    act(S.move_up, () => move(i, -1), { disabled: i === 0, "aria-label": `${S.move_up}: ${q.title}` });
    act(S.move_down, () => move(i, 1),
      { disabled: i === questions.length - 1, "aria-label": `${S.move_down}: ${q.title}` });
    actions.append(el("a", { href: `/api/questions/${q.id}/export.csv`, text: S.export_csv }));
    actions.append(el("a", { href: `/api/questions/${q.id}/export.xlsx`, text: S.export_xlsx }));
    if (q.status === "closed" && q.log) {
      actions.append(el("a", { href: `/ledger/${q.log}/export`, text: S.export_log }));
    }
    const bars = el("ol", { class: "bars small", "aria-label": `${S.live_results}: ${q.title}` });
    drawBars(bars, q, tallies.get(q.id));
    const t = tallies.get(q.id);
    return el("li", { class: "question-item", "data-status": q.status, "data-question": q.id },
      el("h3", { text: q.title }), badges, verificationBadge(q), bars,
      el("p", { class: "total-line" }, el("span", { text: S.total + " " }),
        el("strong", { class: "total", text: String(t ? t.total : 0) })),
      actions);
  }

  async function action(q, what) {
    try {
      const body = await api("POST", `/api/questions/${q.id}/${what}`);
      replace(body.question);
      say(S.saved);
    } catch (e) { say(errorText(e), true); }
  }

  async function remove(q) {
    try { await api("DELETE", `/api/questions/${q.id}`); await load(); say(S.saved); }
    catch (e) { say(errorText(e), true); }
  }

  async function move(i, step) {
    const ids = questions.map((q) => q.id);
    const j = i + step;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    try { await api("POST", `/api/rooms/${roomId}/order`, { questions: ids }); await load(); }
    catch (e) { say(errorText(e), true); }
  }

  document.getElementById("next").addEventListener("click", async () => {
    try { await api("POST", `/api/rooms/${roomId}/next`); await load(); say(S.saved); }
    catch (e) { say(errorText(e), true); }
  });

  function replace(q) {
    const i = questions.findIndex((x) => x.id === q.id);
    if (i >= 0) questions[i] = { ...questions[i], ...q };
    if (q.status === "draft") tallies.drop(q.id);
    render();
  }

  /* --- live updates ---------------------------------------------------------------- */
  const socket = io({ transports: ["websocket", "polling"] });
  const conn = document.getElementById("conn");
  socket.on("connect", () => {
    socket.timeout(10000).emit("join", { room: data.room.number, presenter: data.presenter }, (err, ack) => {
      if (err || !ack.ok) return;
      setConnection(conn, "connected");
      for (const q of ack.questions) if (q.tally) tallies.offer(q.tally);
      render();
    });
  });
  socket.on("disconnect", () => setConnection(conn, "connecting"));
  socket.on("question", (q) => { if (questions.some((x) => x.id === q.id)) replace(q); else load(); });
  socket.on("tally", (t) => {
    if (!tallies.offer(t)) return;
    const li = list.querySelector(`[data-question="${t.question}"]`);
    const q = questions.find((x) => x.id === t.question);
    if (!li || !q) return;
    drawBars(li.querySelector("ol.bars"), q, t);
    li.querySelector(".total").textContent = String(t.total);
  });

  /* --- the question form ------------------------------------------------------------ */
  const kind = document.getElementById("q-kind");
  function syncKind() {
    const k = kind.value;
    document.getElementById("max-choices-row").hidden = k !== "multiple";
    document.getElementById("scale-row").hidden = k !== "rating";
    document.getElementById("options-row").hidden = k === "rating" || k === "yesno";
    const want = k === "vs" ? 2 : Math.max(2, optionInputs.children.length);
    while (optionInputs.children.length < want) addOption();
    while (k === "vs" && optionInputs.children.length > 2) optionInputs.lastChild.remove();
    document.getElementById("add-option").hidden = k === "vs";
  }
  kind.addEventListener("change", syncKind);

  let optionSeq = 0;
  function addOption(o) {
    const n = ++optionSeq;
    const li = el("li", { "data-image": (o && o.image) || "" },
      el("label", { for: `opt-${n}`, text: `${S.option} ${optionInputs.children.length + 1}` }),
      el("input", { id: `opt-${n}`, class: "opt-label", maxlength: "200", value: (o && o.label) || "" }),
      el("label", { for: `opt-desc-${n}`, text: S.description }),
      el("input", { id: `opt-desc-${n}`, class: "opt-desc", maxlength: "2000", value: (o && o.description) || "" }),
      el("label", { for: `opt-img-${n}`, text: S.image }),
      el("input", { id: `opt-img-${n}`, type: "file", accept: "image/png,image/jpeg,image/gif,image/webp",
        onchange: async (e) => { li.dataset.image = await upload(e.target); } }),
      el("button", { type: "button", class: "ghost small", text: S.remove_option,
        onclick: () => { if (optionInputs.children.length > 2) li.remove(); } }));
    optionInputs.append(li);
  }
  document.getElementById("add-option").addEventListener("click", () => addOption());
  document.getElementById("q-image").addEventListener("change", async (e) => {
    questionImage = await upload(e.target);
  });

  async function upload(input) {
    if (!input.files.length) return "";
    const fd = new FormData();
    fd.append("file", input.files[0]);
    say(S.uploading);
    try { const body = await api("POST", "/api/media", fd); say(S.saved); return body.media.path; }
    catch (e) { say(errorText(e), true); input.value = ""; return ""; }
  }

  function formBody() {
    const k = kind.value;
    const body = {
      title: form.title.value, description: form.description.value, kind: k,
      visibility: form.visibility.value, receipts: form.receipts.checked,
    };
    if (questionImage) body.image = questionImage;
    if (k === "multiple") body.max_choices = Number(form.max_choices.value);
    if (k === "rating") body.scale = Number(form.scale.value);
    if (k !== "rating" && k !== "yesno") {
      body.options = [...optionInputs.children].map((li) => {
        const o = { label: li.querySelector(".opt-label").value,
                    description: li.querySelector(".opt-desc").value };
        if (li.dataset.image) o.image = li.dataset.image;
        return o;
      }).filter((o) => o.label.trim());
    }
    return body;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError.hidden = true;
    try {
      if (editing) await api("PATCH", `/api/questions/${editing}`, formBody());
      else await api("POST", `/api/rooms/${roomId}/questions`, formBody());
      resetForm();
      await load();
      say(S.saved);
    } catch (err) {
      formError.textContent = errorText(err);
      if (err && err.message && err.code === "bad_request") formError.textContent = err.message;
      formError.hidden = false;
    }
  });

  function startEdit(q) {
    editing = q.id;
    form.title.value = q.title;
    form.description.value = q.description || "";
    kind.value = q.kind;
    form.visibility.value = q.visibility;
    form.receipts.checked = q.receipts !== false;
    form.max_choices.value = q.max_choices;
    if (q.kind === "rating") form.scale.value = q.options.length;
    questionImage = q.image || "";
    optionInputs.replaceChildren();
    q.options.forEach((o) => addOption(o));
    syncKind();
    form.title.focus();
  }

  function resetForm() {
    editing = null;
    questionImage = "";
    form.reset();
    optionInputs.replaceChildren();
    syncKind();
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
          onclick: async () => {
            try { await api("DELETE", `/api/rooms/${roomId}/hosts/${h.id}`); loadHosts(); }
            catch (e) { say(errorText(e), true); }
          } }))));
    } catch (_) { /* co-host list unavailable */ }
  }
  document.getElementById("invite").addEventListener("click", async () => {
    try {
      const body = await api("POST", `/api/rooms/${roomId}/invitations`);
      document.getElementById("invite-link").textContent = `${S.invite_link} ${body.invitation.url}`;
    } catch (e) { say(errorText(e), true); }
  });

  syncKind();
  load().catch((e) => say(errorText(e), true));
  loadHosts();
})();
