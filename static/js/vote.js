/* The attendee's phone: join, follow the current question, vote, see results if allowed.
 * A ballot made while offline is kept and sent after the next join; if its ack was lost
 * and the resend says "already voted", the first one counted: shown as counted. */
"use strict";

(function () {
  const { data, S, el, Tallies, drawBars, setConnection, errorText, resultsPublic,
    verificationBadge } = window.mv;
  const stage = document.getElementById("stage");
  const conn = document.getElementById("conn");
  const tallies = Tallies();
  const questions = new Map();
  const voted = new Set();
  const receipts = new Map();
  let current = null;
  let joined = false;
  let pending = null;      // {question, choices, nonce}: a ballot not yet acknowledged
  let notice = null;       // a message to show with the current question
  let picks = new Set();   // multiple choice: picks not yet submitted

  const deviceKey = "mv_device";
  let device = localStorage.getItem(deviceKey);
  const socket = io({
    transports: ["websocket", "polling"],
    auth: (cb) => cb(device ? { device } : {}),
  });

  function nonce() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  socket.on("connect", join);
  socket.on("disconnect", () => { joined = false; setConnection(conn, "offline"); });
  socket.io.on("reconnect_attempt", () => setConnection(conn, pending ? "offline" : "connecting"));

  function join() {
    socket.timeout(10000).emit("join", { room: data.room, key: data.key }, (err, ack) => {
      if (err) return;  // the connection dropped meanwhile; the next connect joins again
      if (!ack.ok) { showFatal(refusalText(ack.error)); return; }
      device = ack.device;
      localStorage.setItem(deviceKey, device);
      document.cookie = `mv_device=${device}; path=/; max-age=31536000; SameSite=Lax`;
      questions.clear();
      for (const q of ack.questions) {
        questions.set(q.id, q);
        if (q.tally) tallies.offer(q.tally);
      }
      ack.voted.forEach((id) => voted.add(id));
      current = ack.room.current || current;
      joined = true;
      setConnection(conn, "connected");
      if (pending) send(); else render();
    });
  }

  socket.on("question", (q) => {
    if (q.status === "draft") {  // reset: back in preparation, and out of the attendees' sight
      questions.delete(q.id); voted.delete(q.id); receipts.delete(q.id); tallies.drop(q.id);
      render();
      return;
    }
    const before = questions.get(q.id);
    questions.set(q.id, q);
    if (q.status === "open" && (!before || before.status !== "open")) {
      current = q.id; notice = null; picks = new Set();
    }
    render();
  });

  socket.on("tally", (t) => { if (tallies.offer(t) && t.question === current) renderResults(); });

  function vote(q, choices) {
    pending = { question: q.id, choices, nonce: nonce() };
    notice = S.sending;
    render();
    if (joined) send();
    else if (!socket.connected) setConnection(conn, "offline");  // say it's kept, now
  }

  function send() {
    const ballot = pending;
    socket.timeout(10000).emit("vote", ballot, (err, ack) => {
      if (err) return;  // no ack: kept in `pending`, sent again after the next join
      if (pending !== ballot) return;
      pending = null;
      if (ack.ok) {
        voted.add(ballot.question); receipts.set(ballot.question, ack.receipt); notice = null;
      } else if (ack.error.code === "already_voted") {
        voted.add(ballot.question); notice = null;
      } else {
        notice = refusalText(ack.error);
      }
      render();
    });
  }

  /** A refusal's sentence; `rate_limited` says in how many seconds to try again. */
  function refusalText(error) {
    const text = errorText(error);
    return error && error.retry_after != null
      ? text.replace("{retry_after}", String(error.retry_after)) : text;
  }

  function showFatal(message) {
    stage.replaceChildren(el("p", { class: "alert", role: "alert", text: message }));
  }

  function render() {
    const q = questions.get(current);
    if (!q) {
      stage.replaceChildren(el("p", { class: "waiting", text: S.waiting }));
      return;
    }
    const parts = [el("h2", { class: "q-title", id: "q-title", text: q.title })];
    if (q.description) parts.push(el("p", { class: "q-desc", text: q.description }));
    if (q.image) parts.push(el("img", { class: "q-image", src: q.image, alt: "" }));
    const isPending = pending && pending.question === q.id;
    if (voted.has(q.id)) {
      parts.push(el("p", { class: "confirm", role: "status", text: S.vote_counted }));
      const r = receipts.get(q.id);
      if (r && q.receipts !== false) parts.push(receiptBox(q, r));
    } else if (q.status === "closed") {
      parts.push(el("p", { class: "notice", text: S.closed }));
    } else if (q.status === "open") {
      parts.push(options(q, isPending));
    } else {
      parts.push(el("p", { class: "waiting", text: S.waiting }));
    }
    const badge = verificationBadge(q);
    if (badge) parts.push(badge);
    if (notice) parts.push(el("p", { class: isPending ? "notice" : "alert", role: "status", text: notice }));
    parts.push(el("div", { id: "results", class: "results" }));
    stage.replaceChildren(...parts);
    renderResults();
  }

  /** Whether the log gives this voter the proof now: it opens with the results, which a
   * voter sees at once unless they are hidden until the close (and not revealed). */
  function proofReady(q) {
    return q.visibility !== "after_close" || q.status === "closed" || q.revealed;
  }

  /** The receipt: its short code, the proof to download, what it proves and what not. */
  function receiptBox(q, r) {
    const links = proofReady(q)
      ? el("p", { class: "receipt-links" },
        el("a", { href: `/ledger/receipt/${r}`, download: `receipt-${r.slice(0, 12)}.tlog-proof`,
          "data-testid": "receipt-download", text: S.receipt_download }),
        " · ",
        el("a", { href: "/verify", text: S.receipt_verify }))
      : el("p", { class: "hint", "data-testid": "receipt-later", text: S.receipt_later });
    return el("div", { class: "receipt" },
      el("p", {}, el("span", { text: S.receipt + " " }),
        el("code", { "data-testid": "receipt", text: r.slice(0, 12) })),
      links,
      el("p", { class: "hint", text: S.receipt_note }));
  }

  function options(q, disabled) {
    const group = el("div", { class: "options", role: "group", "aria-labelledby": "q-title" });
    if (q.kind === "multiple") {
      group.append(el("p", { class: "hint", text: S.choose_up_to.replace("{n}", q.max_choices) }));
      q.options.forEach((o, i) => {
        const pressed = picks.has(i);
        group.append(optionButton(o, { "aria-pressed": String(pressed), disabled, onclick: () => {
          if (picks.has(i)) picks.delete(i);
          else if (picks.size < q.max_choices) picks.add(i);
          render();
        } }));
      });
      group.append(el("button", {
        type: "button", class: "primary", disabled: disabled || picks.size === 0,
        text: S.submit, onclick: () => vote(q, [...picks].sort((a, b) => a - b)),
      }));
    } else {
      group.classList.add(q.kind === "rating" ? "rating" : q.kind === "vs" ? "vs" : "single");
      q.options.forEach((o, i) => group.append(optionButton(o, { disabled, onclick: () => vote(q, [i]) })));
    }
    return group;
  }

  function optionButton(o, attrs) {
    const b = el("button", { type: "button", class: "option", ...attrs });
    if (o.image) b.append(el("img", { src: o.image, alt: "" }));
    b.append(el("span", { class: "option-label", text: o.label }));
    if (o.description) b.append(el("span", { class: "option-desc", text: o.description }));
    return b;
  }

  function renderResults() {
    const box = document.getElementById("results");
    const q = questions.get(current);
    if (!box || !q) return;
    const t = tallies.get(q.id);
    if (!t) {  // the server sends no tally this attendee may not see
      const hidden = q.visibility === "after_close" ? S.hidden_after_close
        : q.visibility === "after_vote" && !voted.has(q.id) ? S.hidden_after_vote : null;
      box.replaceChildren(hidden ? el("p", { class: "hidden-note", text: hidden }) : "");
      return;
    }
    let list = box.querySelector("ol.bars");
    if (!list) {
      list = el("ol", { class: "bars small", "aria-label": S.results });
      box.replaceChildren(el("h3", { text: S.results }), list,
        el("p", { class: "total-line" }, el("span", { text: S.total + " " }),
          el("strong", { class: "total", text: "0" })));
      if (resultsPublic(q)) box.append(shareButton(q));
    }
    drawBars(list, q, t);
    box.querySelector(".total").textContent = String(t.total);
  }

  function shareButton(q) {
    return el("button", { type: "button", class: "ghost", text: S.share, onclick: async (e) => {
      const text = q.title;
      const url = location.origin + location.pathname;
      try {
        if (navigator.share) await navigator.share({ title: text, text, url });
        else { await navigator.clipboard.writeText(`${text} ${url}`); e.target.textContent = S.link_copied; }
      } catch (_) { /* the person cancelled */ }
    } });
  }
})();
