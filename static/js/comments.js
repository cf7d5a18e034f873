/* A poll's comments: the thread (paged, one level of replies), posting, replying, editing
 * within minutes, deleting one's own, reporting others', and new or changed comments shown
 * live from the page's socket (`comment` events on `mv.socket`). */
"use strict";

(function () {
  const root = document.getElementById("comments");
  if (!root || !window.mv) return;
  const { el } = window.mv;  // common.js, loaded by every live page
  const data = JSON.parse(document.getElementById("comments-data").textContent);
  const S = data.strings;
  const list = document.getElementById("comment-list");
  const more = document.getElementById("more-comments");
  const error = document.getElementById("comment-error");
  const form = document.getElementById("comment-form");
  const byId = new Map();   // id -> the comment as last seen
  const mine = new Set();   // ids this page posted or the server said are mine
  let before = null;

  async function call(method, url, body) {
    let r;
    try {
      r = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return await r.json();
    } catch (e) {
      return { ok: false, error: { message: S.failed } };
    }
  }

  function say(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  function when(ms) {
    return new Date(ms).toLocaleString(document.documentElement.lang || undefined,
      { dateStyle: "short", timeStyle: "short" });
  }

  function editable(c) {
    return mine.has(c.id) && c.status === "visible" && Date.now() - c.created_ms < data.edit_ms;
  }

  function render(c) {
    const item = el("li", { class: c.parent ? "comment reply" : "comment", id: `comment-${c.id}`,
      "data-testid": "comment", "data-status": c.status });
    const head = el("p", { class: "comment-head" },
      el("strong", { text: c.author }),
      c.voted ? el("span", { class: "badge", "data-testid": "voted", text: S.voted }) : null,
      el("time", { datetime: new Date(c.created_ms).toISOString(), text: when(c.created_ms) }),
      c.edited_ms ? el("span", { class: "muted", text: S.edited }) : null);
    item.append(head);
    if (c.status === "visible") {
      item.append(el("p", { class: "comment-body", "data-testid": "comment-body", text: c.body }));
    } else {
      const notice = c.status === "hidden" ? S.hidden : S.deleted;
      item.append(el("p", { class: "notice", "data-testid": "comment-notice",
        text: c.reason ? `${notice} ${S.reason_is} ${c.reason}` : notice }));
    }
    const tools = el("p", { class: "comment-tools" });
    const problem = el("p", { class: "error", role: "alert", hidden: true });
    if (data.signed_in && c.status === "visible") {
      if (!c.parent) tools.append(el("button", { type: "button", class: "ghost small", text: S.reply,
        "aria-label": `${S.reply}: ${c.author}`, onclick: () => openReply(item, c) }));
      if (editable(c)) tools.append(el("button", { type: "button", class: "ghost small", text: S.edit,
        onclick: () => openEdit(item, c, problem) }));
      if (mine.has(c.id)) {
        tools.append(el("button", { type: "button", class: "ghost small", text: S.remove,
          onclick: async () => {
            if (!window.confirm(S.remove_sure)) return;
            const a = await call("DELETE", `/api/comments/${c.id}`);
            if (!a.ok) say(problem, a.error.message); else show(a.comment);
          } }));
      } else {
        tools.append(el("button", { type: "button", class: "ghost small", text: S.report,
          onclick: () => openReport(item, "comment", c.id) }));
      }
    }
    item.append(tools, problem);
    return item;
  }

  function show(c, { append = false } = {}) {
    if (c.mine) mine.add(c.id);
    c.mine = mine.has(c.id);
    byId.set(c.id, c);
    const node = render(c);
    const old = document.getElementById(`comment-${c.id}`);
    if (old) { old.replaceWith(node); return; }
    if (c.parent) {
      // A reply goes after its comment's last reply.
      let at = document.getElementById(`comment-${c.parent}`);
      if (!at) return;  // its comment is on a page not loaded: it shows when that page does
      while (at.nextElementSibling && at.nextElementSibling.classList.contains("reply")) {
        at = at.nextElementSibling;
      }
      at.after(node);
    } else if (append) list.append(node);
    else list.prepend(node);
    document.getElementById("no-comments").hidden = true;
  }

  function textForm(label, value, send) {
    const id = `f-${Math.random().toString(36).slice(2)}`;
    const area = el("textarea", { id, rows: "3", maxlength: String(data.max_body), required: true });
    area.value = value || "";
    const problem = el("p", { class: "error", role: "alert", hidden: true });
    const f = el("form", { class: "stack comment-form" },
      el("label", { for: id, text: label }), area,
      el("p", { class: "row" },
        el("button", { type: "submit", class: "primary", text: S.send }),
        el("button", { type: "button", class: "ghost small", text: S.cancel, onclick: () => f.remove() })),
      problem);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const a = await send(area.value);
      if (!a.ok) { say(problem, a.error.message); area.focus(); return; }
      f.remove();
    });
    setTimeout(() => area.focus(), 0);
    return f;
  }

  function openReply(item, c) {
    item.append(textForm(S.your_reply, "", async (text) => {
      const a = await call("POST", `/api/polls/${data.poll}/comments`, { body: text, parent: c.id });
      if (a.ok) { mine.add(a.comment.id); show(a.comment); }
      return a;
    }));
  }

  function openEdit(item, c) {
    item.append(textForm(S.edit_label, c.body, async (text) => {
      const a = await call("PATCH", `/api/comments/${c.id}`, { body: text });
      if (a.ok) show(a.comment);
      return a;
    }));
  }

  function openReport(item, kind, id) {
    const sel = `r-${Math.random().toString(36).slice(2)}`;
    const select = el("select", { id: sel },
      ...data.reasons.map(([value, label]) => el("option", { value, text: label })));
    const note = el("input", { id: `${sel}-n`, type: "text", maxlength: "500" });
    const problem = el("p", { class: "error", role: "alert", hidden: true });
    const f = el("form", { class: "stack report-form", "data-testid": "report-form" },
      el("label", { for: sel, text: S.report_why }), select,
      el("label", { for: `${sel}-n`, text: S.report_note }), note,
      el("p", { class: "row" },
        el("button", { type: "submit", class: "primary", text: S.report_send }),
        el("button", { type: "button", class: "ghost small", text: S.cancel, onclick: () => f.remove() })),
      problem);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const a = await call("POST", "/api/reports", { kind, id, reason: select.value, note: note.value });
      if (!a.ok) { say(problem, a.error.message); return; }
      f.replaceWith(el("p", { class: "notice", role: "status", text: S.reported }));
    });
    item.append(f);
    setTimeout(() => select.focus(), 0);
  }

  async function load() {
    // `before` is the cursor the last page gave (its last comment's time and id).
    const url = `/api/polls/${data.poll}/comments` +
      (before ? `?before=${encodeURIComponent(before)}` : "");
    const a = await call("GET", url);
    if (!a.ok) { say(error, a.error.message); return; }
    for (const c of a.comments) show(c, { append: true });
    before = a.before;
    more.hidden = before === null;
    document.getElementById("no-comments").hidden = byId.size > 0;
  }

  if (form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const area = document.getElementById("comment-text");
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const a = await call("POST", `/api/polls/${data.poll}/comments`, { body: area.value });
      button.disabled = false;
      if (!a.ok) { say(error, a.error.message); area.focus(); return; }
      say(error, "");
      area.value = "";
      mine.add(a.comment.id);
      show(a.comment);
    });
  }
  const reportPoll = document.getElementById("report-poll");
  if (reportPoll) {
    reportPoll.addEventListener("click", () => openReport(reportPoll.parentElement, "poll", data.poll));
  }
  more.addEventListener("click", load);

  const socket = window.mv && window.mv.socket;
  if (socket) socket.on("comment", (c) => show(c));
  load();
})();
