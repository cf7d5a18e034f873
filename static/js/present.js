/* The presenter screen: follows the host's current question; bars, counts, total. */
"use strict";

(function () {
  const { data, S, Tallies, drawBars, setConnection, resultsPublic, verificationBadge } = window.mv;
  const conn = document.getElementById("conn");
  const title = document.getElementById("q-title");
  const desc = document.getElementById("q-desc");
  const bars = document.getElementById("bars");
  const total = document.getElementById("total");
  const hiddenNote = document.getElementById("hidden-note");
  const verification = document.getElementById("verification");
  const tallies = Tallies();
  const questions = new Map();
  let current = null;

  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => {
    socket.timeout(10000).emit("join", { room: data.room, presenter: data.presenter }, (err, ack) => {
      if (err || !ack.ok) return;
      questions.clear();
      for (const q of ack.questions) {
        questions.set(q.id, q);
        if (q.tally) tallies.offer(q.tally);
      }
      current = ack.room.current || current;
      setConnection(conn, "connected");
      render();
    });
  });
  socket.on("disconnect", () => setConnection(conn, "connecting"));
  socket.on("question", (q) => {
    const before = questions.get(q.id);
    questions.set(q.id, q);
    if (q.status === "draft") tallies.drop(q.id);
    if (q.status === "open" && (!before || before.status !== "open")) current = q.id;
    render();
  });
  socket.on("tally", (t) => { if (tallies.offer(t) && t.question === current) render(); });

  function render() {
    const q = questions.get(current);
    if (!q) return;
    title.textContent = q.title;
    desc.textContent = q.description || "";
    const t = tallies.get(q.id);
    total.textContent = String(t ? t.total : 0);
    // The projector is public: it shows the bars only where the audience may see them.
    const shown = resultsPublic(q);
    bars.hidden = !shown;
    hiddenNote.hidden = shown;
    hiddenNote.textContent = shown ? "" : S.hidden;
    drawBars(bars, q, shown ? t : null);
    const badge = verificationBadge(q);
    verification.replaceChildren(...(badge ? [badge] : []));
  }

  document.getElementById("fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });
})();
