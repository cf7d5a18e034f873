/* The monitors' page: the queue of reported polls and comments (most reported first),
 * an action with its reason on each, and the moderation log. */
"use strict";

(function () {
  const S = JSON.parse(document.getElementById("monitor-data").textContent).strings;
  const queue = document.getElementById("queue");
  const status = document.getElementById("queue-status");
  const rows = document.getElementById("log-rows");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  async function call(method, url, body) {
    try {
      const r = await fetch(url, {
        method, credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return await r.json();
    } catch (e) {
      return { ok: false, error: { message: String(e) } };
    }
  }

  function item(q) {
    const id = `reason-${q.kind}-${q.id}`;
    const reason = el("input", { id, type: "text", maxlength: "500" });
    const problem = el("p", { class: "error", role: "alert", hidden: true });
    const reasons = Object.entries(q.reasons)
      .map(([r, n]) => `${S[`reason_${r}`] || r} ${n}`).join(" · ");
    const act = async (action) => {
      if (action !== "restore" && !reason.value.trim()) {
        problem.textContent = S.need_reason; problem.hidden = false; reason.focus(); return;
      }
      const a = await call("POST", "/api/moderation/actions",
        { kind: q.kind, id: q.id, action, reason: reason.value });
      if (!a.ok) { problem.textContent = a.error.message; problem.hidden = false; return; }
      status.textContent = S.done;
      await load();
    };
    const buttons = el("p", { class: "row" },
      ...(q.state === "hidden" ? ["restore", "delete", "dismiss"] : ["hide", "delete", "dismiss"])
        .map((a) => el("button", { type: "button", class: "ghost small",
          text: S[a], "aria-label": `${S[a]}: ${q.text.slice(0, 40)}`, onclick: () => act(a) })));
    return el("li", { class: "card queued", "data-testid": "queued", "data-kind": q.kind, "data-id": q.id },
      el("p", {},
        el("span", { class: "badge", text: q.kind === "poll" ? S.poll : S.comment }), " ",
        el("strong", { "data-testid": "report-count", text: S.reports.replace("{n}", q.reports) }), " ",
        el("span", { class: "muted", text: S[`state_${q.state}`] || q.state })),
      el("blockquote", { "data-testid": "queued-text", text: q.text }),
      el("p", { class: "muted", text: reasons }),
      ...q.notes.map((n) => el("p", { class: "muted", text: `“${n}”` })),
      q.poll ? el("p", {}, el("a", { href: `/polls/${q.poll}`, text: S.open })) : null,
      el("label", { for: id, text: S.reason }), reason, buttons, problem);
  }

  async function load() {
    const a = await call("GET", "/api/moderation/queue");
    if (!a.ok) { status.textContent = a.error.message; return; }
    queue.replaceChildren(...a.queue.map(item));
    if (!a.queue.length) queue.replaceChildren(el("li", { class: "muted", text: S.empty }));
    const log = await call("GET", "/api/moderation/log");
    if (!log.ok) return;
    rows.replaceChildren(...log.entries.map((e) => el("tr", { "data-testid": "log-row" },
      el("td", {}, el("time", { datetime: new Date(e.at_ms).toISOString(),
        text: new Date(e.at_ms).toLocaleString(document.documentElement.lang || undefined) })),
      el("td", { text: S[`actor_${e.actor}`] || e.actor }),
      el("td", { text: S[`action_${e.action}`] || e.action }),
      el("td", { text: `${S[`target_${e.target_kind}`] || e.target_kind} ${e.target_id}` }),
      el("td", { text: e.reason }))));
  }
  load();
})();
