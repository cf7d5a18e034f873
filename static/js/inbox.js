/* The inbox: a citizen's notifications of new polls, newest first, paged; marked read
 * one by one; a poll that opens while the page is open arrives over the socket
 * (`notices`, then `notice` frames) and goes on top. */
(function () {
  "use strict";
  const { data, S, el } = window.mv;
  const list = document.querySelector("[data-inbox]");
  const empty = document.querySelector("[data-inbox-empty]");
  const more = document.querySelector("[data-inbox-more]");
  const status = document.querySelector("[data-inbox-status]");
  const count = document.querySelector("[data-unread-count]");
  const live = document.querySelector("[data-live-notice]");
  const shown = new Set();
  let unread = data.unread;
  let before = data.before;

  function setUnread(n) {
    unread = Math.max(0, n);
    count.textContent = String(unread);
  }

  function item(n) {
    const reason = S[n.reason] || n.reason;
    const area = S.areas[n.poll.area] || n.poll.area;
    const li = el("li", { "data-notification": n.id, class: n.read_ms ? "read" : "unread" },
      el("a", { href: `/polls/${encodeURIComponent(n.poll.id)}`, text: n.poll.title }),
      el("span", { class: "hint", text: ` · ${reason} · ${area} · ` }),
      el("time", { datetime: new Date(n.created_ms).toISOString(),
        text: new Date(n.created_ms).toLocaleString(document.documentElement.lang) }));
    if (!n.read_ms) {
      const button = el("button", { type: "button", "data-mark-read": n.id, text: S.mark_read });
      button.addEventListener("click", () => markRead(n.id, li, button));
      li.append(" ", button);
    }
    return li;
  }

  function add(n, atTop) {
    if (shown.has(n.id)) return;
    shown.add(n.id);
    const li = item(n);
    if (atTop) list.prepend(li); else list.append(li);
    empty.hidden = true;
  }

  function markRead(id, li, button) {
    fetch(`/api/citizens/me/notifications/${encodeURIComponent(id)}/read`, {
      method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
    }).then((r) => r.json()).then((answer) => {
      if (!answer.ok) { status.textContent = answer.error.message; return; }
      li.className = "read";
      button.remove();
      setUnread(unread - 1);
    }, () => { status.textContent = S.failed; });
  }

  function loadMore() {
    if (!before) return;
    fetch(`/api/citizens/me/notifications?before=${encodeURIComponent(before)}`, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then((r) => r.json()).then((answer) => {
      if (!answer.ok) { status.textContent = answer.error.message; return; }
      answer.notifications.forEach((n) => add(n, false));
      before = answer.before;
      more.hidden = !before;
    }, () => { status.textContent = S.failed; });
  }

  data.notifications.forEach((n) => add(n, false));
  empty.hidden = data.notifications.length > 0;
  more.hidden = !before;
  more.addEventListener("click", loadMore);

  // The reconnection back-off of vote.js (why these values: there).
  const socket = io({
    transports: ["websocket", "polling"],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
  });
  socket.on("connect", () => {
    socket.emit("notices", {}, (ack) => { if (ack && ack.ok) setUnread(ack.unread); });
  });
  socket.on("notice", (n) => {
    if (shown.has(n.id)) return;
    add({ ...n, read_ms: null }, true);
    setUnread(unread + 1);
    live.textContent = S.live.replace("{title}", n.poll.title);
    live.hidden = false;
  });
})();
