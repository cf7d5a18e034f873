/* Live notices of new polls on a page whose own script opened the socket (the poll
 * page: vote.js's window.mv.socket). The signed-in citizen asks for them (`notices`) on
 * every connection (the area's data-listening says whether the server took it); a new
 * poll for them (a `notice` frame) is told in the page's status area, a link to it. */
(function () {
  "use strict";
  const area = document.querySelector("[data-live-notice]");
  const socket = window.mv && window.mv.socket;
  if (!area || !socket) return;
  const { el } = window.mv;
  const S = JSON.parse(document.getElementById("notice-strings").textContent);
  const ask = () => socket.emit("notices", {}, (ack) => {
    area.dataset.listening = ack && ack.ok ? "yes" : "no";
  });
  socket.on("connect", ask);
  if (socket.connected) ask();
  socket.on("notice", (n) => {
    area.replaceChildren(el("p", { class: "notice" },
      el("a", { href: `/polls/${encodeURIComponent(n.poll.id)}`,
        text: S.live.replace("{title}", n.poll.title) })));
  });
})();
