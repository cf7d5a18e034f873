/* The attendee's phone: join, follow the current question, vote, see results if allowed.
 * A ballot made while offline is kept and sent after the next join, one refused
 * "unavailable" is kept and sent again by itself; if its ack was lost and the resend says
 * "already voted", the first one counted: shown as counted.
 * The device keeps what it chose (per room and question) and its receipts, so both are
 * shown again after a reload, and /verify lists the receipts. */
"use strict";

(function () {
  const { data, S, el, Tallies, backoff, drawBars, drawCloud, setConnection, errorText, resultsPublic,
    verificationBadge, optionLabel, Receipts, ordinal, drawSurvey, surveyPart } = window.mv;
  const stage = document.getElementById("stage");
  const conn = document.getElementById("conn");
  const tallies = Tallies();
  const questions = new Map();
  const voted = new Set();
  const receipts = new Map();
  let current = null;
  let joined = false;
  let pending = null;      // {question, choices, nonce}: a ballot not yet acknowledged
  const retries = backoff(); // pauses before `pending` or the join is sent again after an "unavailable"
  let notice = null;       // a message to show with the current question
  let picks = new Set();   // multiple choice: picks not yet submitted
  let ranked = null;       // ranking: {question, order} not yet submitted (best first)
  let surveyDraft = null;  // survey: {question, parts, fault, message, focus} not yet counted
  // A room is joined by its number and key; a citywide poll by its id, as the citizen
  // signed in (the session cookie), and then every question is on the page at once.
  const place = data.poll ? `poll:${data.poll}` : data.room;
  const joining = data.poll ? { poll: data.poll } : { room: data.room, key: data.key };
  // On site: the code of the screen's QR (in the link it opened), then the pass the first
  // join gave, kept on the device, for every later join.
  const siteKey = `mv_site:${place}`;
  const siteCode = new URLSearchParams(location.search).get("site");
  const keptPass = localStorage.getItem(siteKey);
  if (keptPass) joining.site_pass = keptPass;
  if (siteCode && /^[0-9]{6}$/.test(siteCode)) joining.site = siteCode;

  const deviceKey = "mv_device";
  let device = localStorage.getItem(deviceKey);
  // Reconnection, spread out: when a node restarts, a hall of phones loses its sockets at
  // the same moment. The first attempt comes 0.5-1.5 s later (1 s +/- 50 %), so 2,000 of
  // them reach the node over a second, not in one instant; each failed attempt doubles
  // the wait, up to 5 s, so a node back within a few seconds has everyone again within
  // 10 s (loadtests/storm.py measures it: docs/reliability.md, "Storms"). A factor of
  // 0.5, not 1: at 1 some waits would be near zero, a herd again.
  const socket = io({
    transports: ["websocket", "polling"],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    auth: (cb) => cb(device ? { device } : {}),
  });
  window.mv.socket = socket;  // a poll's comments (comments.js) arrive on it too

  /** What this device chose on a question: {choices, labels}, kept across reloads. */
  const choiceKey = (qid) => `mv_choice:${place}:${qid}`;
  function myChoice(qid) {
    try {
      const c = JSON.parse(localStorage.getItem(choiceKey(qid)) || "null");
      return c && Array.isArray(c.choices) ? c : null;
    } catch (_) { return null; }
  }
  /** How a ballot reads: its options' labels, or an open-text ballot's answers. */
  function ballotLabels(q, ballot) {
    if (ballot.parts) return surveyLabels(q, ballot.parts);
    return ballot.answers ? ballot.answers : ballot.choices.map((i) => optionLabel(q, i));
  }
  function keepChoice(q, ballot) {
    const kept = { choices: ballot.answers || ballot.choices || ballot.parts,
      labels: ballotLabels(q, ballot) };
    try { localStorage.setItem(choiceKey(q.id), JSON.stringify(kept)); } catch (_) { /* off */ }
  }
  function forgetChoice(qid) {
    try { localStorage.removeItem(choiceKey(qid)); } catch (_) { /* off */ }
  }

  function nonce() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  socket.on("connect", join);
  socket.on("disconnect", () => { joined = false; setConnection(conn, "offline"); });
  socket.io.on("reconnect_attempt", () => setConnection(conn, pending ? "offline" : "connecting"));

  function join() {
    socket.timeout(10000).emit("join", joining, (err, ack) => {
      if (err) return;  // the connection dropped meanwhile; the next connect joins again
      if (!ack.ok && ack.error.code === "unavailable") { joinLater(); return; }
      if (!ack.ok) { showFatal(refusalText(ack.error)); return; }
      device = ack.device;
      localStorage.setItem(deviceKey, device);
      if (ack.site_pass) {
        localStorage.setItem(siteKey, ack.site_pass);
        joining.site_pass = ack.site_pass; delete joining.site;
      } else if (ack.site_error) {
        if (joining.site_pass) localStorage.removeItem(siteKey);
        delete joining.site_pass; delete joining.site;
      }
      document.cookie = `mv_device=${device}; path=/; max-age=31536000; SameSite=Lax`;
      questions.clear();
      for (const q of ack.questions) {
        questions.set(q.id, q);
        if (q.tally) tallies.offer(q.tally);
      }
      ack.voted.forEach((id) => voted.add(id));
      for (const id of ack.voted) {
        const kept = !receipts.has(id) && Receipts.latest(place, id);
        if (kept) receipts.set(id, kept.leaf);
      }
      // A poll has no host to set a current question: its first one is shown.
      const first = data.poll && ack.questions.length ? ack.questions[0].id : null;
      show(data.poll ? current || first : ack.room.current || current);
      if (ack.site_error) notice = refusalText(ack.site_error);
      joined = true;
      retries.reset();
      setConnection(conn, "connected");
      if (pending) send(); else render();
    });
  }

  socket.on("question", (q) => {
    if (q.status === "draft") {  // reset: back in preparation, and out of the attendees' sight
      questions.delete(q.id); voted.delete(q.id); receipts.delete(q.id); tallies.drop(q.id);
      forgetChoice(q.id);
      render();
      return;
    }
    const before = questions.get(q.id);
    questions.set(q.id, q);
    // Servers that announce the current question (`room`) do so when one opens too. A
    // poll's questions open together: the page stays on the one it shows.
    const opened = q.status === "open" && (!before || before.status !== "open");
    if (opened && (!data.poll || !questions.has(current))) show(q.id);
    render();
  });

  /** The host's current question changed (null: the agenda ended). */
  socket.on("room", (r) => {
    if (!r || !("current" in r) || data.poll) return;  // a poll has no host to lead it
    show(r.current || null);
    render();
  });

  /** Shows question `id` (the host's current one, or another open one the voter chose). */
  function show(id) {
    if (id === current) return;
    current = id; notice = null; picks = new Set(); ranked = null;
  }

  socket.on("tally", (t) => { if (tallies.offer(t) && t.question === current) renderResults(); });

  /** Sends a ballot: option indexes, or (`answers` given) an open-text ballot's answers. */
  function vote(q, choices, answers) {
    pending = answers ? { question: q.id, answers, nonce: nonce() }
      : { question: q.id, choices, nonce: nonce() };
    notice = S.sending;
    render();
    if (joined) send();
    else if (!socket.connected) setConnection(conn, "offline");  // say it's kept, now
  }

  function send() {
    const ballot = pending;
    // A poll that takes ballots near its place gets the position with each ballot.
    if (data.needs_position && !ballot.position) {
      if (!navigator.geolocation) { pending = null; notice = S.no_position; render(); return; }
      notice = S.locating; render();
      navigator.geolocation.getCurrentPosition((where) => {
        if (pending !== ballot) return;
        ballot.position = { lat: where.coords.latitude, lon: where.coords.longitude };
        if (joined) send();
      }, () => {
        if (pending !== ballot) return;
        pending = null; notice = S.no_position; render();
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      return;
    }
    socket.timeout(10000).emit("vote", ballot, (err, ack) => {
      if (err) return;  // no ack: kept in `pending`, sent again after the next join
      if (pending !== ballot) return;
      if (!ack.ok && ack.error.code === "unavailable") { retryLater(ballot); return; }
      pending = null;
      retries.reset();
      const q = questions.get(ballot.question);
      if (ack.ok) {
        voted.add(ballot.question); receipts.set(ballot.question, ack.receipt); notice = null;
        if (q) {
          keepChoice(q, ballot);
          if (q.receipts !== false) {
            Receipts.add({ leaf: ack.receipt, question: q.id, title: q.title, room: place,
              labels: ballotLabels(q, ballot), time: new Date().toISOString() });
          }
        }
      } else if (ack.error.code === "already_voted") {
        // This ballot's first send counted (its ack was lost) unless this device had voted
        // before: then what it chose then is kept already.
        voted.add(ballot.question); notice = null;
        if (q && !myChoice(q.id)) keepChoice(q, ballot);
      } else if (!surveyRefused(ballot, ack.error)) {
        notice = refusalText(ack.error);
      }
      render();
    });
  }

  /** The server could not record `ballot` now (its store is down or starved): it stays
   * pending, the page says so, and sends it again by itself, after 1 s, 2 s, 4 s... up
   * to 30 s, each pause jittered so that a room's phones do not all come back at once.
   * The same nonce goes again: if the first send did count, the answer is "already voted". */
  function retryLater(ballot) {
    notice = S.retrying;
    render();
    setTimeout(() => {
      if (pending === ballot && joined) send();  // else the next join sends it
    }, retries.next());
  }

  /** The server could not serve the join now (its store is down or starting again): the
   * page stays "connecting" and joins again by itself, after the same pauses. */
  function joinLater() {
    setConnection(conn, "connecting");
    setTimeout(() => { if (socket.connected && !joined) join(); }, retries.next());
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
      stage.replaceChildren(el("p", { class: "waiting", text: S.waiting }), ...otherOpen());
      return;
    }
    const parts = [el("h2", { class: "q-title", id: "q-title", text: q.title })];
    if (q.description) parts.push(el("p", { class: "q-desc", text: q.description }));
    // Under its title the picture is decorative unless the host described it.
    if (q.image) parts.push(el("img", { class: "q-image", src: q.image, alt: q.image_alt || "" }));
    const isPending = pending && pending.question === q.id;
    if (voted.has(q.id)) {
      parts.push(el("p", { class: "confirm", role: "status", text: S.vote_counted }));
      const mine = myChoice(q.id);
      if (mine) parts.push(choiceLine(q, mine.choices, mine.labels));
      const r = receipts.get(q.id);
      if (r && q.receipts !== false) parts.push(receiptBox(q, r));
    } else if (q.status === "closed") {
      parts.push(el("p", { class: "notice", text: S.closed }));
    } else if (q.status === "open") {
      parts.push(options(q, isPending));
      // A ranking's list shows the order being sent.
      if (isPending && q.kind !== "ranking" && q.kind !== "survey") {
        parts.push(choiceLine(q, pending.answers || pending.choices));
      }
    } else {
      parts.push(el("p", { class: "waiting", text: S.waiting }));
    }
    const badge = verificationBadge(q);
    if (badge) parts.push(badge);
    if (notice) parts.push(el("p", { class: isPending ? "notice" : "alert", role: "status", text: notice }));
    parts.push(el("div", { id: "results", class: "results" }));
    parts.push(...otherOpen());
    stage.replaceChildren(...parts);
    renderResults();
  }

  /** The other questions open now, to reach them from here (several may be open). */
  function otherOpen() {
    const others = [...questions.values()].filter((x) => x.status === "open" && x.id !== current);
    if (!others.length) return [];
    return [el("nav", { class: "other-open", "aria-labelledby": "other-open-title",
      "data-testid": "other-open" },
      el("h3", { id: "other-open-title", text: S.other_open }),
      el("ul", {}, ...others.map((x) => el("li", {},
        el("button", { type: "button", class: "ghost", onclick: () => { show(x.id); render(); } },
          el("span", { text: x.title }),
          voted.has(x.id) ? el("span", { class: "voted-mark", text: " · " + S.voted_mark }) : null)))))];
  }

  /** "You chose: Rust" (all picks of a multiple choice; "Your rating: 4" for a rating). */
  function choiceLine(q, choices, kept) {
    if (q.kind === "ranking") return rankingLine(q, choices, kept);
    if (q.kind === "survey") return surveyLine(q, choices, kept);
    const labels = choices.map((i, n) => (typeof i === "string" ? i
      : q.options[i] ? optionLabel(q, i) : (kept || [])[n] || `#${i + 1}`));
    const text = q.kind === "text" ? S.you_answered.replace("{answers}", labels.join(", "))
      : q.kind === "rating"
      ? S.you_rated.replace("{value}", labels.join(", "))
      : S.you_chose.replace("{choices}", labels.join(", "));
    return el("p", { class: "my-choice", "data-testid": "my-choice", text });
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
      el("p", { class: "hint", text: S.receipt_note }),
      el("p", { class: "hint", text: S.receipt_kept }));
  }

  /** An open-text question's form: as many fields as answers a ballot may carry. */
  function textForm(q, disabled) {
    const form = el("form", { class: "options text-answers", "aria-labelledby": "q-title",
      "data-testid": "text-form", novalidate: true });
    const given = (disabled && pending && pending.answers) || [];
    const fields = [];
    for (let n = 0; n < q.max_choices; n++) {
      const id = `answer-${q.id}-${n}`;
      const input = el("input", { id, name: "answer", type: "text", maxlength: "40",
        autocomplete: "off", enterkeyhint: "send", disabled, required: n === 0 });
      input.value = given[n] || "";
      fields.push(input);
      form.append(el("label", { for: id,
        text: q.max_choices === 1 ? S.answer_label : S.answer_label_n.replace("{n}", n + 1) }), input);
    }
    if (q.max_choices > 1) form.append(el("p", { class: "hint", text: S.answer_hint.replace("{n}", q.max_choices) }));
    form.append(el("button", { type: "submit", class: "primary", disabled, text: S.answer_submit }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const answers = fields.map((f) => f.value.trim()).filter(Boolean);
      if (!answers.length) { fields[0].focus(); return; }
      vote(q, null, answers);
    });
    return form;
  }

  function options(q, disabled) {
    if (q.kind === "text") return textForm(q, disabled);
    if (q.kind === "ranking") return renderRanking(q, disabled);
    if (q.kind === "survey") return surveyForm(q, disabled);
    const group = el("div", { class: "options", role: "group", "aria-labelledby": "q-title" });
    const chosen = new Set(disabled && pending ? pending.choices : []);
    if (q.kind === "multiple") {
      group.append(el("p", { class: "hint", text: S.choose_up_to.replace("{n}", q.max_choices) }));
      const count = el("p", { class: "pick-count", "aria-live": "polite", "data-testid": "pick-count" });
      const submit = el("button", {
        type: "button", class: "primary", disabled: disabled || picks.size === 0,
        text: S.submit, onclick: () => vote(q, [...picks].sort((a, b) => a - b)),
      });
      const buttons = q.options.map((o, i) => optionButton(q, i, {
        "aria-pressed": String(disabled ? chosen.has(i) : picks.has(i)), disabled,
        "data-chosen": chosen.has(i) ? "true" : null,
        onclick: () => {
          if (picks.has(i)) picks.delete(i);
          else if (picks.size < q.max_choices) picks.add(i);
          else return;  // the most there may be: the unpicked ones show it
          update();
        },
      }));
      // Updated in place, so focus stays on the option and the count is announced.
      const update = () => {
        const full = picks.size >= q.max_choices;
        buttons.forEach((b, i) => {
          if (!disabled) b.setAttribute("aria-pressed", String(picks.has(i)));
          const off = !disabled && full && !picks.has(i);
          b.classList.toggle("unavailable", off);
          if (off) b.setAttribute("aria-disabled", "true"); else b.removeAttribute("aria-disabled");
        });
        count.textContent = S.picked.replace("{n}", disabled ? chosen.size : picks.size)
          .replace("{max}", q.max_choices);
        submit.disabled = disabled || picks.size === 0;
      };
      group.append(...buttons, count, submit);
      update();
    } else if (q.kind === "rating") {
      group.classList.add("rating");
      const n = q.options.length;
      // One even row up to five values, else two even rows (1..10: five and five).
      const grid = el("div", { class: "rating-row", "data-testid": "rating-row" });
      grid.style.gridTemplateColumns = `repeat(${n <= 5 ? n : Math.ceil(n / 2)}, minmax(0, 1fr))`;
      const low = `rating-low-${q.id}`, high = `rating-high-${q.id}`;
      q.options.forEach((o, i) => grid.append(optionButton(q, i, {
        disabled, "data-chosen": chosen.has(i) ? "true" : null,
        "aria-describedby": i === 0 ? low : i === n - 1 ? high : null,
        onclick: () => vote(q, [i]),
      })));
      group.append(grid, el("p", { class: "rating-ends", "aria-hidden": "true" },
        el("span", { id: low, text: S.rating_low }), el("span", { id: high, text: S.rating_high })));
    } else {
      group.classList.add(q.kind === "vs" ? "vs" : "single");
      q.options.forEach((o, i) => group.append(optionButton(q, i, {
        disabled, "data-chosen": chosen.has(i) ? "true" : null, onclick: () => vote(q, [i]),
      })));
    }
    return group;
  }

  // --- ranking -------------------------------------------------------------------------

  /** "Your ranking:" and the order this voter gave, best first. */
  function rankingLine(q, choices, kept) {
    const labels = choices.map((i, n) => (q.options[i] ? optionLabel(q, i) : (kept || [])[n] || `#${i + 1}`));
    return el("div", { class: "my-choice my-ranking", "data-testid": "my-choice" },
      el("p", { text: S.rank_yours }),
      el("ol", { "data-testid": "my-ranking" }, ...labels.map((label) => el("li", { text: label }))));
  }

  /** A ranking's form: the options in a list to put in order, best first, by dragging an
   * item's handle (pointer events: mouse, touch, pen) or by its Move up / Move down buttons
   * (keyboards, screen readers, switch access); each move is announced. `disabled`: the
   * ballot being sent, shown in the order sent. */
  function renderRanking(q, disabled) {
    const n = q.options.length;
    if (!ranked || ranked.question !== q.id || ranked.order.length !== n) {
      ranked = { question: q.id, order: q.options.map((o, i) => i) };
    }
    const order = disabled && pending ? pending.choices : ranked.order;
    const group = el("div", { class: "options ranking", role: "group", "aria-labelledby": "q-title" });
    const hintId = `rank-hint-${q.id}`;
    // Moves are told by `live` alone: the stage (a live region) would read the moved items.
    const list = el("ol", { class: "rank-list", "data-testid": "rank-list", "aria-describedby": hintId,
      "aria-live": "off" });
    const live = el("p", { class: "visually-hidden", "aria-live": "polite", "data-testid": "rank-status" });
    const items = new Map();
    q.options.forEach((o, i) => items.set(i, rankItem(q, i, disabled, (step, button) => {
      move(i, step, button);
    })));
    order.forEach((i) => list.append(items.get(i)));

    /** The order as the list shows it now; positions and buttons updated to it. */
    function sync() {
      const now = [...list.children].map((li) => Number(li.dataset.option));
      if (!disabled) ranked.order = now;
      [...list.children].forEach((li, k) => {
        li.querySelector(".rank-pos").textContent = String(k + 1);
        const [up, down] = li.querySelectorAll(".rank-move");
        setOff(up, disabled || k === 0);
        setOff(down, disabled || k === n - 1);
      });
      return now;
    }
    function announce(i) {
      const place = ranked.order.indexOf(i) + 1;
      live.textContent = S.rank_moved.replace("{option}", optionLabel(q, i))
        .replace("{place}", ordinal(place)).replace("{n}", n);
    }
    /** Moves option `i` one place up (-1) or down (+1); focus stays on the button pressed. */
    function move(i, step, button) {
      const li = items.get(i);
      const k = [...list.children].indexOf(li);
      const to = k + step;
      if (disabled || to < 0 || to >= n) return;
      if (step < 0) list.insertBefore(li, list.children[to]);
      else list.insertBefore(list.children[to], li);
      sync();
      button.focus();
      announce(i);
    }
    if (!disabled) dragging(list, () => sync(), (i) => announce(i));
    sync();
    group.append(el("p", { class: "hint", id: hintId, text: S.rank_hint }), list, live,
      el("button", { type: "button", class: "primary", disabled, "data-testid": "rank-submit",
        text: S.rank_submit, onclick: () => vote(q, [...ranked.order]) }));
    return group;
  }

  /** A button that stays focusable but does nothing where it cannot move the option
   * (`disabled` would drop the focus of the button just pressed). */
  function setOff(button, off) {
    if (off) button.setAttribute("aria-disabled", "true"); else button.removeAttribute("aria-disabled");
  }

  function rankItem(q, i, disabled, onMove) {
    const o = q.options[i];
    const label = optionLabel(q, i);
    const written = (o.label || "").trim();
    const body = el("span", { class: "rank-body" });
    if (o.image) body.append(el("img", { src: o.image, alt: o.image_alt || (written ? "" : label) }));
    if (written) body.append(el("span", { class: "rank-label", text: label }));
    if (o.description) body.append(el("span", { class: "option-desc", text: o.description }));
    const moveButton = (step, name, arrow) => el("button", { type: "button", class: "rank-move",
      "aria-label": name.replace("{option}", label), disabled,
      onclick: (e) => { if (e.currentTarget.getAttribute("aria-disabled") !== "true") onMove(step, e.currentTarget); } },
    el("span", { "aria-hidden": "true", text: arrow }));
    return el("li", { class: "rank-item", "data-option": i, "data-testid": "rank-item" },
      el("span", { class: "rank-grip", "aria-hidden": "true", "data-testid": "rank-grip" }),
      el("span", { class: "rank-pos", "aria-hidden": "true" }),
      body,
      el("span", { class: "rank-moves" },
        moveButton(-1, S.rank_up, "\u25B2"), moveButton(1, S.rank_down, "\u25BC")));
  }

  /** Dragging an item of `list` to another place, by pointer events: by its handle on a
   * touch screen (the rest of the item scrolls the page), anywhere but its buttons with a
   * mouse or pen. The item follows the pointer from slot to slot; near the screen's top or
   * bottom the page scrolls. `changed()` after each slot change, `dropped(option)` once if it moved. */
  function dragging(list, changed, dropped) {
    let drag = null;  // {li, id}
    const middle = (li) => { const r = li.getBoundingClientRect(); return r.top + r.height / 2; };
    list.addEventListener("pointerdown", (e) => {
      const li = e.target.closest(".rank-item");
      if (!li || drag || e.button !== 0 || e.target.closest("button")) return;
      if (e.pointerType === "touch" && !e.target.closest(".rank-grip")) return;
      e.preventDefault();
      drag = { li, id: e.pointerId, from: [...list.children].indexOf(li) };
      li.classList.add("dragging");
      try { li.setPointerCapture(e.pointerId); } catch (_) { /* not capturable: list events still come */ }
    });
    list.addEventListener("pointermove", (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      e.preventDefault();
      const y = e.clientY;
      if (y < 48) window.scrollBy(0, -12); else if (y > window.innerHeight - 48) window.scrollBy(0, 12);
      let moved = false;
      let prev = drag.li.previousElementSibling;
      while (prev && y < middle(prev)) { list.insertBefore(drag.li, prev); prev = drag.li.previousElementSibling; moved = true; }
      let next = drag.li.nextElementSibling;
      while (next && y > middle(next)) { list.insertBefore(next, drag.li); next = drag.li.nextElementSibling; moved = true; }
      if (moved) changed();
    });
    const end = (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const { li, from } = drag;
      drag = null;
      li.classList.remove("dragging");
      changed();
      if ([...list.children].indexOf(li) !== from) dropped(Number(li.dataset.option));
    };
    list.addEventListener("pointerup", end);
    list.addEventListener("pointercancel", end);
  }

  function optionButton(q, i, attrs) {
    const o = q.options[i];
    const b = el("button", { type: "button", class: "option", ...attrs });
    const written = (o.label || "").trim() || q.kind === "vs";
    // Beside a label the picture is decorative; alone it names the option.
    if (o.image) b.append(el("img", { src: o.image, alt: o.image_alt || (written ? "" : optionLabel(q, i)) }));
    if (written) b.append(el("span", { class: "option-label", text: optionLabel(q, i) }));
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
    if (q.kind === "text") {
      let cloud = box.querySelector("ul.cloud");
      if (!cloud) {
        cloud = el("ul", { class: "cloud small", "aria-label": S.cloud_label });
        box.replaceChildren(el("h3", { text: S.results }), cloud,
          el("p", { class: "total-line" }, el("span", { text: S.total + " " }),
            el("strong", { class: "total", text: "0" })));
        if (resultsPublic(q)) box.append(shareButton(q));
      }
      drawCloud(cloud, t);
      box.querySelector(".total").textContent = String(t.total);
      return;
    }
    if (q.kind === "survey") return renderSurveyResults(box, q, t);
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

  // --- survey --------------------------------------------------------------------------

  /** Each part's answer as it reads: its picks' labels ("" for a part left out). */
  function surveyLabels(q, parts) {
    return q.parts.map((p, j) => (parts[j] || []).map((i) => optionLabel(surveyPart(q, j), i)).join(", "));
  }

  /** "Your answers:" and each part's answer, under the part's title. */
  function surveyLine(q, parts, kept) {
    const labels = Array.isArray(parts) && parts.every(Array.isArray) ? surveyLabels(q, parts) : kept || [];
    return el("div", { class: "my-choice my-survey", "data-testid": "my-choice" },
      el("p", { text: S.survey_yours }),
      el("dl", {}, ...q.parts.flatMap((p, j) => [el("dt", { text: p.title }),
        el("dd", { text: labels[j] || S.survey_skipped })])));
  }

  /** A refusal of a survey ballot that names its part: kept with the draft, whose form
   * shows it at that part (the voter's answers as they were). */
  function surveyRefused(ballot, error) {
    if (!ballot.parts || !surveyDraft || surveyDraft.question !== ballot.question
        || error.part === undefined || error.part === null) return false;
    const q = questions.get(ballot.question);
    const template = S.survey_refusals[error.code];
    const message = template && q && q.parts[error.part]
      ? template.replace("{number}", error.part + 1).replace("{max_choices}", q.parts[error.part].max_choices)
      : error.message || errorText(error);
    Object.assign(surveyDraft, { fault: error.part, message, focus: true });
    return true;
  }

  /** Sends a survey ballot: each part's picks by the part's own indexes. */
  function voteSurvey(q, parts) {
    pending = { question: q.id, parts, nonce: nonce() };
    notice = S.sending;
    render();
    if (joined) send();
    else if (!socket.connected) setConnection(conn, "offline");
  }

  /** A survey as one form: a fieldset per part (radio buttons, check boxes for a multiple
   * choice), one submit for them all. What the voter picks is kept in `surveyDraft`, so a
   * redraw or a refusal keeps it; a refusal's part is marked and its sentence shown there. */
  function surveyForm(q, disabled) {
    if (!surveyDraft || surveyDraft.question !== q.id) {
      surveyDraft = { question: q.id, parts: q.parts.map(() => []), fault: null, message: "" };
    }
    const draft = surveyDraft;
    const given = disabled && pending && pending.parts ? pending.parts : draft.parts;
    const form = el("form", { class: "options survey-form", "aria-labelledby": "q-title",
      "data-testid": "survey-form", novalidate: true });
    let focus = null;
    q.parts.forEach((p, j) => {
      const part = surveyPart(q, j);
      const fault = draft.fault === j;
      const faultId = `survey-fault-${q.id}-${j}`;
      const box = el("fieldset", { class: fault ? "survey-part-input at-fault" : "survey-part-input",
        "data-testid": "survey-part-input", "data-part": j, "aria-describedby": fault ? faultId : null },
      el("legend", {}, el("span", { text: S.survey_legend.replace("{number}", j + 1)
        .replace("{n}", q.parts.length).replace("{title}", p.title) }),
      p.required ? null : el("span", { class: "muted", text: " " + S.survey_optional })));
      if (fault) box.append(el("p", { id: faultId, class: "alert", "data-testid": "survey-fault", text: draft.message }));
      if (p.kind === "multiple") box.append(el("p", { class: "hint", text: S.survey_choose_up_to.replace("{n}", p.max_choices) }));
      const row = el("div", { class: p.kind === "rating" ? "survey-choices survey-rating" : "survey-choices" });
      part.options.forEach((o, i) => {
        const id = `sv-${q.id}-${j}-${i}`;
        const input = el("input", { type: p.kind === "multiple" ? "checkbox" : "radio", id,
          name: `part-${q.id}-${j}`, value: String(i), disabled,
          "aria-invalid": fault ? "true" : null });
        input.checked = (given[j] || []).includes(i);
        input.addEventListener("change", () => {
          const picked = new Set(p.kind === "multiple" ? draft.parts[j] : []);
          if (input.checked) picked.add(i); else picked.delete(i);
          if (picked.size > p.max_choices) { input.checked = false; return; }  // the most there may be
          draft.parts[j] = [...picked].sort((a, b) => a - b);
        });
        if (fault && !focus) focus = input;
        row.append(el("label", { class: "survey-choice", for: id }, input,
          el("span", { text: optionLabel(part, i) })));
      });
      box.append(row);
      form.append(box);
    });
    form.append(el("button", { type: "submit", class: "primary", disabled, "data-testid": "survey-submit",
      text: S.survey_submit }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      draft.fault = null;
      voteSurvey(q, draft.parts.map((x) => [...x]));
    });
    if (focus && draft.focus) {
      draft.focus = false;
      setTimeout(() => focus.focus());  // once the form is on the page
    }
    return form;
  }

  function renderSurveyResults(box, q, t) {
    let list = box.querySelector("ol.survey-results");
    if (!list) {
      list = el("ol", { class: "survey-results", "aria-label": S.results });
      box.replaceChildren(el("h3", { text: S.results }), list,
        el("p", { class: "total-line" }, el("span", { text: S.total + " " }),
          el("strong", { class: "total", text: "0" })));
      if (resultsPublic(q)) box.append(shareButton(q));
    }
    drawSurvey(list, q, t, 4, true);
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
