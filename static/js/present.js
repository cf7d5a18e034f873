/* The presenter screen: follows the room's current question; bars, counts, the audience.
   Everything is sized to the screen: a fit loop shrinks one CSS variable (--fit), and
   past a floor clamps long labels to fewer lines, until nothing overflows the viewport. */
"use strict";

(function () {
  const mv = window.mv;
  const { data, S, el, Tallies, drawBars, drawCloud, setConnection, resultsPublic,
    verificationBadge } = mv;
  const $ = (id) => document.getElementById(id);
  const root = document.documentElement;
  const panel = $("question-panel");
  const conn = $("conn");
  const title = $("q-title");
  const desc = $("q-desc");
  const head = $("q-head");
  let image = null;  // the question's <img>, made when a question has one
  const bars = $("bars");
  const cloud = $("cloud");
  const total = $("total");
  const ballots = $("ballots");
  const audience = $("audience");
  const hiddenNote = $("hidden-note");
  const verification = $("verification");
  const keyStatus = $("key-status");
  const countdown = $("countdown");
  const tallies = Tallies();
  const questions = new Map();
  let current = null;
  let audienceVersion = -1;
  let fitted = "";  // what the layout was last fitted to

  /** An option's label as pages show it (fixed labels translated where common.js can). */
  const optionLabel = (q, i) => (mv.optionLabel ? mv.optionLabel(q, i) : q.options[i].label);

  // The reconnection back-off of vote.js (why these values: there).
  const socket = io({
    transports: ["websocket", "polling"],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
  });
  mv.socket = socket;  // the lot drawing's panel (draw.js) listens on it too
  socket.on("connect", join);
  socket.on("rejoin", renewed);

  /** The room's presenter link was renewed (a co-host left). A host's own screen reads
   * the new one and joins with it; a screen with only the old link says to open it again. */
  async function renewed() {
    const before = data.presenter;
    if (data.control) {
      try {
        const r = await fetch(`/api/rooms/${data.control.room}`, { credentials: "same-origin" });
        const body = await r.json();
        if (body.ok) data.presenter = new URL(body.room.presenter_url, location.href).searchParams.get("token");
      } catch (e) { /* as below */ }
    }
    if (data.presenter && data.presenter !== before) { join(); return; }
    // Not joined, and no longer trying: the alert says why (not "offline, retrying").
    setConnection(conn, "offline");
    questions.clear(); current = null;
    head.after(el("p", { class: "alert", role: "alert", text: S.link_invalid }));
    for (const part of [head, bars, cloud]) part.hidden = true;
    conn.style.display = "none";  // its class sets a display that outranks `hidden`
  }

  /** A join refused "unavailable" is tried again by itself (``mv.rejoining``). */
  const joins = mv.rejoining(socket, conn, () => join());

  function join() {
    socket.timeout(10000).emit("join", { room: data.room, presenter: data.presenter }, (err, ack) => {
      if (err) return;
      if (!ack.ok && ack.error && ack.error.code === "unavailable") { joins.later(); return; }
      if (!ack.ok) { if (ack.error && ack.error.code === "bad_credentials") renewed(); return; }
      joins.reset();
      if (typeof ack.now === "number") clockOffset = ack.now - Date.now();
      questions.clear();
      for (const q of ack.questions) {
        questions.set(q.id, q);
        if (q.tally) tallies.offer(q.tally);
      }
      current = ack.room.current || current;
      if (ack.audience) showAudience(ack.audience);
      setConnection(conn, "connected");
      render();
    });
  }
  socket.on("disconnect", () => setConnection(conn, "connecting"));
  socket.on("question", (q) => {
    const before = questions.get(q.id);
    questions.set(q.id, q);
    if (q.status === "draft") tallies.drop(q.id);
    // Until the room announces its current question, a question that opens becomes it.
    if (q.status === "open" && (!before || before.status !== "open")) current = q.id;
    render();
  });
  socket.on("room", (r) => {
    if (r && "current" in r) { current = r.current; render(); }
  });
  socket.on("tally", (t) => { if (tallies.offer(t) && t.question === current) render(); });
  socket.on("audience", showAudience);

  function showAudience(a) {
    if (typeof a.connected !== "number") return;
    if (typeof a.version === "number") {
      if (a.version <= audienceVersion) return;
      audienceVersion = a.version;
    }
    audience.hidden = false;
    audience.textContent = S.audience.replace("{n}", String(a.connected));
  }

  function render() {
    const q = questions.get(current);
    if (!q || q.status === "draft") {
      title.textContent = S.waiting;
      desc.textContent = "";
      if (image) { image.remove(); image = null; }
      bars.replaceChildren();
      delete bars.dataset.question;
      cloud.replaceChildren();
      cloud.hidden = true;
      hiddenNote.hidden = true;
      ballots.hidden = true;
      verification.replaceChildren();
      fit("");
      return;
    }
    title.textContent = q.title;
    desc.textContent = q.description || "";
    desc.hidden = !q.description;
    if (q.image) {
      if (!image) {
        image = el("img", { id: "q-image", class: "q-image", alt: "" });
        image.addEventListener("load", () => fit(fitted, true));
        head.prepend(image);
      }
      if (image.getAttribute("src") !== q.image) image.src = q.image;
      image.alt = q.image_alt || q.title;
      image.hidden = false;
    } else if (image) {
      image.remove();
      image = null;
    }
    const t = tallies.get(q.id);
    // The projector is public: it shows the bars, and how many have voted (the results'
    // size, hidden with them), only where the audience may see the results.
    const shown = resultsPublic(q);
    total.textContent = String(t ? t.total : 0);
    ballots.hidden = !shown;
    bars.hidden = !shown;
    hiddenNote.hidden = shown;
    hiddenNote.textContent = shown ? "" : S.hidden;
    if (q.kind === "text") {  // open text: a word cloud instead of bars
      bars.hidden = true;
      bars.replaceChildren();
      delete bars.dataset.question;
      cloud.replaceChildren();
      cloud.hidden = true;
      cloud.hidden = !shown;
      drawCloud(cloud, shown ? t : null);
    } else if (q.kind === "survey") {  // a survey: each part's heading and bars
      cloud.hidden = true;
      cloud.replaceChildren();
      if (bars.dataset.kind !== "survey") bars.replaceChildren();
      bars.dataset.layout = "survey";
      bars.style.setProperty("--cols", String(q.parts.length > 2 ? 2 : 1));  // CSSOM: allowed by the CSP
      mv.drawSurvey(bars, q, shown ? t : null, 2, false);
    } else {
      if (bars.dataset.kind === "survey") bars.replaceChildren();
      cloud.hidden = true;
      cloud.replaceChildren();
      drawBars(bars, q, shown ? t : null);
      decorate(q);
    }
    const badge = verificationBadge(q);
    verification.replaceChildren(...(badge ? [badge] : []));
    tick();
    fit([q.id, shown, q.status, !!badge, q.image].join("|"));
  }

  /** The server's clock less this screen's, from the last join's ack (ms). */
  let clockOffset = 0;

  /** "Closes in 0:42" under an open question with a deadline (the server closes it), by
   * the server's clock. */
  function tick() {
    const q = questions.get(current);
    const left = q && q.status === "open" && q.closes_at ? q.closes_at - (Date.now() + clockOffset) : null;
    countdown.hidden = left === null;
    if (left === null) return;
    const s = Math.max(0, Math.ceil(left / 1000));
    const time = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    countdown.textContent = S.closes_in.replace("{time}", time);
  }
  setInterval(tick, 250);

  /** Adds what the shared bars leave out on a projector: option images, descriptions. */
  function decorate(q) {
    // A ranking's figures (points, average place) need a line of their own: always stacked.
    const long = q.kind === "ranking"
      || q.options.some((o, i) => optionLabel(q, i).length > 24 || o.description || o.image);
    bars.dataset.layout = long ? "stack" : "row";
    const n = q.options.length;
    const cols = n > 36 ? 4 : n > 18 ? 3 : n > (long ? 6 : 10) ? 2 : 1;
    bars.style.setProperty("--cols", String(cols));  // CSSOM: allowed by the CSP
    [...bars.children].forEach((li, k) => {
      const i = li.dataset.option === undefined ? k : Number(li.dataset.option);  // ranking: sorted
      const o = q.options[i];
      if (!o || li.dataset.decorated === q.id) return;
      li.dataset.decorated = q.id;
      const label = li.querySelector(".bar-label");
      if (label) label.title = optionLabel(q, i);
      if (o.image) {
        const img = el("img", { class: "bar-img", src: o.image, alt: o.image_alt || optionLabel(q, i) });
        img.addEventListener("load", () => fit(fitted, true));
        li.prepend(img);
        li.classList.add("has-img");
      }
      if (o.description) li.append(el("span", { class: "bar-desc", text: o.description }));
    });
  }

  // --- fitting ---------------------------------------------------------------------------

  const LEVELS = [];
  for (let s = 100; s >= 45; s -= 5) LEVELS.push([s / 100, 0]);
  for (const l of [[.45, 3], [.4, 2], [.36, 2], [.32, 1], [.28, 1], [.24, 1], [.2, 1], [.16, 1]]) LEVELS.push(l);

  function apply([scale, lines]) {
    root.style.setProperty("--fit", String(scale));
    root.dataset.clamp = String(lines);
  }

  function fits() {
    return panel.scrollHeight <= panel.clientHeight + 1 && panel.scrollWidth <= panel.clientWidth + 1
      && root.scrollHeight <= window.innerHeight && root.scrollWidth <= window.innerWidth;
  }

  /** The most generous level at which everything fits (levels only get tighter). */
  function fit(key, force) {
    if (!force && key === fitted && fits()) return;
    fitted = key;
    let lo = 0;
    let hi = LEVELS.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      apply(LEVELS[mid]);
      if (fits()) hi = mid; else lo = mid + 1;
    }
    apply(LEVELS[lo]);
    root.dataset.fitted = String(lo);
  }

  window.addEventListener("resize", () => fit(fitted, true));
  document.addEventListener("fullscreenchange", () => fit(fitted, true));

  // --- keys --------------------------------------------------------------------------------

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else root.requestFullscreen().catch(() => {});
  }
  $("fullscreen").addEventListener("click", toggleFullscreen);

  async function act(url, body) {
    keyStatus.textContent = "";
    try {
      const r = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}),
      });
      const payload = await r.json().catch(() => ({ ok: false }));
      if (!payload.ok) throw payload.error || { code: "unavailable" };
    } catch (error) {
      keyStatus.textContent = S.keys_failed.replace("{reason}", mv.errorText(error));
    }
  }

  const control = data.control;
  const actions = {
    f: toggleFullscreen,
  };
  if (control) {
    const room = encodeURIComponent(control.room);
    const next = () => act(`/api/rooms/${room}/next`);
    const previous = () => act(`/api/rooms/${room}/previous`);
    Object.assign(actions, {
      ArrowRight: next, PageDown: next, " ": next,
      ArrowLeft: previous, PageUp: previous,
      r: () => { if (current) act(`/api/questions/${encodeURIComponent(current)}/reveal`); },
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    // Space and Enter on a focused button press that button, as everywhere.
    if (event.key === " " && target instanceof HTMLElement && target.closest("button, a, input")) return;
    const action = actions[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });
})();
