/* Lot drawings (rooms/draws.py; docs/draws.md is the procedure):
 *  - on the host console, the controls: set up the slots, commit, draw, reveal;
 *  - on the presenter screen, the room's draw, live, in place of the question;
 *  - on the public page /draws/<id>, the draw re-run in this browser (WebCrypto SHA-256)
 *    from the log the server serves, so the reader trusts the arithmetic, not the server.
 * The console and the presenter hear `draw` events on their page's socket (`mv.socket`). */
"use strict";

window.mvDraw = (function () {
  const utf8 = new TextEncoder();
  const COMMIT_CONTEXT = utf8.encode("mvoting draw commitment v1\n");
  const DRAW_CONTEXT = utf8.encode("mvoting draw v1\n");
  const TWO_64 = 1n << 64n;

  function concat(parts) {
    const bytes = parts.map((p) => (typeof p === "string" ? utf8.encode(p) : p));
    const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of bytes) { out.set(b, at); at += b.length; }
    return out;
  }

  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(parts)));
  }

  function u32(n) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  }

  const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

  /** commitment(draw, seed): SHA-256(context ‖ draw id ‖ "\n" ‖ seed), hex. */
  async function commitment(drawId, seed) {
    return hex(await sha256(COMMIT_CONTEXT, drawId, "\n", seed));
  }

  /** Every draw's beacon is the root of the log's first BEACON_SIZE entries: the
   * commitment, then the witnesses' checkpoint of it. */
  const BEACON_SIZE = 2;

  const leafHash = (entryText) => sha256(new Uint8Array([0]), entryText);

  async function beacon(entryTexts) {
    return treeRoot(await Promise.all(entryTexts.slice(0, BEACON_SIZE).map(leafHash)));
  }

  /** RFC 9162 MTH over the leaf hashes. */
  async function treeRoot(leaves) {
    if (leaves.length === 1) return leaves[0];
    let k = 1;
    while (k * 2 < leaves.length) k *= 2;
    return sha256(new Uint8Array([1]), await treeRoot(leaves.slice(0, k)), await treeRoot(leaves.slice(k)));
  }

  /** rooms.draws.pick: counter-mode SHA-256, an unbiased index among the slots left. */
  async function pick(seed, beaconBytes, n, drawn, slots) {
    const left = [];
    for (let i = 0; i < slots; i++) if (!drawn.includes(i)) left.push(i);
    const m = BigInt(left.length);
    const limit = TWO_64 - (TWO_64 % m);
    const seedBytes = utf8.encode(seed);
    for (let j = 0; ; j++) {
      const block = await sha256(DRAW_CONTEXT, u32(seedBytes.length), seedBytes, beaconBytes, u32(n), u32(j));
      const x = new DataView(block.buffer).getBigUint64(0);
      if (x < limit) return left[Number(x % m)];
    }
  }

  const base64 = (bytes) => btoa(String.fromCharCode(...bytes));

  /** Re-run a served log: {ok, reason, first, witnessed, beacon, picks, seed}. Throws on a
   * log that is not a draw's (the caller says so). Checks the arithmetic: the tree the
   * checkpoint names, entry 1 as the checkpoint of entry 0 alone, every draw's beacon
   * as the root at BEACON_SIZE entries (never at or before the commitment), the seed
   * against the commitment, every draw's slot. Not the signatures (`mvoting draw verify`
   * checks those against the witnesses' policy). */
  async function rerun(log) {
    const entries = log.entries.map((e) => JSON.parse(e));
    const first = entries[0];
    if (!first || first.e !== "draw_commit") return { ok: false, reason: "bad_log" };
    const picks = entries.filter((e) => e.e === "draw");
    const reveal = entries.find((e) => e.e === "draw_reveal");
    const leaves = await Promise.all(log.entries.map(leafHash));
    const root = await treeRoot(leaves);
    const lines = log.checkpoint.split("\n");
    const signedRoot = lines.length > 2 ? lines[2] : "";
    const witnessed = entries[1] && entries[1].e === "draw_witnessed" ? entries[1].checkpoint : null;
    const b = entries.length >= BEACON_SIZE ? await beacon(log.entries) : null;
    const result = {
      first, witnessed, beacon: b && hex(b), picks, seed: reveal ? reveal.seed : null, ok: false, reason: null,
    };
    if (signedRoot !== base64(root) || lines[1] !== String(leaves.length)) {
      return { ...result, reason: "root_mismatch" };
    }
    if (entries.length > 1) {
      const head = witnessed === null ? [] : witnessed.split("\n");
      if (head[0] !== lines[0] || head[1] !== "1" || head[2] !== base64(leaves[0])) {
        return { ...result, reason: "not_witnessed" };
      }
    }
    for (const p of picks) {
      if (p.size < BEACON_SIZE) {
        return { ...result, reason: "early_beacon", n: p.n + 1, size: p.size, expected: BEACON_SIZE };
      }
      if (p.size !== BEACON_SIZE || p.beacon !== result.beacon) {
        return { ...result, reason: "wrong_beacon", n: p.n + 1, expected: BEACON_SIZE };
      }
    }
    if (!reveal) return { ...result, reason: "not_revealed" };
    if ((await commitment(first.draw, reveal.seed)) !== first.commitment) {
      return { ...result, reason: "wrong_seed" };
    }
    const drawn = [];
    for (const p of picks) {
      const expected = await pick(reveal.seed, b, drawn.length, drawn, first.slots.length);
      if (p.slot !== expected || p.n !== drawn.length) {
        return { ...result, reason: "wrong_slot", n: p.n + 1, slot: p.slot + 1, expected: expected + 1 };
      }
      drawn.push(expected);
    }
    return { ...result, ok: true };
  }

  return { commitment, beacon, pick, rerun, treeRoot, BEACON_SIZE };
})();

(function () {
  const panel = document.getElementById("draw-panel") || document.getElementById("draw-page");
  if (!panel) return;
  const config = JSON.parse(document.getElementById("draw-data").textContent);
  const S = config.strings;
  const mode = config.mode;
  const $ = (id) => document.getElementById(id);
  const view = $("draw-view");
  const lang = document.documentElement.lang || "en";
  const fill = (text, fields) => text.replace(/\{(\w+)\}/g, (m, k) => (k in fields ? String(fields[k]) : m));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  const slotLabel = (slot) => (slot.blank ? (slot.label ? `${slot.label} (${S.blank})` : S.blank) : slot.label);
  const time = (ms) => new Date(ms).toLocaleTimeString(lang);

  /** The draw as every surface shows it: state, latest pick, picks in order, commitment. */
  function drawView(d, big) {
    const parts = [];
    const state = el("p", { class: "draw-state", "data-testid": "draw-state", "data-state": d.state, text: S[d.state] });
    parts.push(state);
    const picks = d.picks || [];
    if (d.state !== "draft") {
      const last = picks[picks.length - 1];
      parts.push(el("p", {
        class: big ? "draw-latest" : "draw-latest small",
        "data-testid": "draw-latest",
        text: last ? slotLabel(d.slots[last.slot]) : S.no_draws,
      }));
      const list = el("ol", { class: "draw-picks", "data-testid": "draw-picks" });
      for (const p of picks) {
        list.append(el("li", { "data-slot": String(p.slot) },
          el("span", { class: "draw-pick-label", text: slotLabel(d.slots[p.slot]) }), " ",
          el("span", { class: "draw-pick-time", text: fill(S.drawn_at, { time: time(p.t) }) })));
      }
      if (picks.length) parts.push(list);
      parts.push(el("p", { class: "draw-left", text: fill(S.remaining, { n: d.slots.length - picks.length, total: d.slots.length }) }));
      parts.push(el("p", { class: "draw-hash" }, el("span", { text: "SHA-256 " }),
        el("code", { "data-testid": "draw-commitment", text: d.commitment || "" })));
      if (d.state === "committed" && !d.witnessed) {
        parts.push(el("p", { class: "draw-witnesses", role: "alert", "data-testid": "draw-unwitnessed",
          text: d.witnesses ? `${S.unwitnessed} (${d.witnesses})` : S.unwitnessed }));
      }
    } else {
      const list = el("ul", { class: "draw-slots" });
      for (const s of d.slots) list.append(el("li", { text: slotLabel(s) }));
      parts.push(list);
    }
    if (d.state === "revealed") {
      const url = new URL(d.url, location.href).href;
      parts.push(el("p", { class: "draw-seed" }, el("code", { "data-testid": "draw-seed", text: d.seed })));
      parts.push(el("p", { class: "draw-check" }, el("a", { href: url, "data-testid": "draw-link", text: fill(S.check_at, { url }) })));
    }
    view.replaceChildren(...parts);
  }

  if (mode === "public") return publicPage();

  const mv = window.mv;
  const data = mv.data;
  const roomNumber = typeof data.room === "object" ? data.room.number : data.room;
  const draws = new Map();
  let currentId = null;
  let shown = false;  // presenter: the draw is on screen, not the question

  function offer(d) {
    const known = draws.get(d.id);
    if (known && known.version >= d.version) return false;
    draws.set(d.id, d);
    currentId = d.id;
    return true;
  }

  async function load() {
    const q = new URLSearchParams({ room: roomNumber, presenter: data.presenter || "" });
    const r = await fetch(`/api/draws?${q}`, { credentials: "same-origin" });
    if (!r.ok) return;
    const body = await r.json();
    for (const d of body.draws) offer(d);
    const d = draws.get(currentId);
    if (mode === "present") shown = !!d && d.state === "committed";
    render(true);
  }

  const socket = mv.socket;
  if (socket) {
    socket.on("connect", load);
    socket.on("draw", (d) => {
      if (!offer(d)) return;
      if (mode === "present" && d.state !== "draft") shown = true;
      render(false);
    });
    if (mode === "present") {
      // The host moving to a question takes the screen back.
      socket.on("room", () => { shown = false; render(false); });
      socket.on("question", (q) => { if (q.status === "open") { shown = false; render(false); } });
    }
  }
  load();

  function render(fresh) {
    const d = draws.get(currentId);
    if (mode === "present") return renderPresent(d);
    renderConsole(d, fresh);
  }

  function renderPresent(d) {
    const on = shown && !!d && d.state !== "draft";
    panel.hidden = !on;
    document.body.classList.toggle("drawing", on);
    if (!on) return;
    $("draw-present-title").textContent = d.title;
    drawView(d, true);
  }

  // --- the console ---------------------------------------------------------------------

  const form = $("draw-form");
  const titleInput = $("draw-title-input");
  const slotsInput = $("draw-slots");
  const blanksInput = $("draw-blanks");
  const status = $("draw-status");
  let editing = null;  // the draft the form holds, or "new"
  let formVersion = -1;

  function renderConsole(d, fresh) {
    const state = d ? d.state : null;
    const drafting = !d || state === "draft" || editing === "new";
    form.hidden = !drafting;
    $("draw-commit-row").hidden = !(d && state === "draft" && editing !== "new");
    $("draw-actions").hidden = !(d && state === "committed" && editing !== "new");
    $("draw-next").disabled = !!d && d.picks.length >= d.slots.length;
    $("draw-new").hidden = !(d && state === "revealed" && editing !== "new");
    if (d && state === "draft" && editing !== "new" && (fresh || editing !== d.id || formVersion < d.version)) {
      if (document.activeElement === null || !form.contains(document.activeElement)) fillForm(d);
    }
    if (d && editing !== "new") drawView(d, false);
    else view.replaceChildren();
  }

  function fillForm(d) {
    editing = d.id;
    formVersion = d.version;
    titleInput.value = d.title;
    slotsInput.value = d.slots.filter((s) => !s.blank).map((s) => s.label).join("\n");
    blanksInput.value = String(d.slots.filter((s) => s.blank).length);
  }

  function formSlots() {
    const labels = slotsInput.value.split("\n").map((l) => l.trim()).filter(Boolean);
    const blanks = Math.max(0, parseInt(blanksInput.value || "0", 10) || 0);
    return [...labels.map((label) => ({ label, blank: false })),
      ...Array.from({ length: blanks }, () => ({ label: "", blank: true }))];
  }

  async function call(method, url, body) {
    status.textContent = "";
    const r = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    let answer = null;
    try { answer = await r.json(); } catch (e) { answer = null; }
    if (!answer || !answer.ok) {
      const reason = answer && answer.error ? answer.error.message : String(r.status);
      status.textContent = fill(S.failed, { reason });
      return null;
    }
    if (answer.draw) {
      offer(answer.draw);
      if (editing === "new") editing = answer.draw.id;
    }
    return answer;
  }

  function bindConsole() {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const slots = formSlots();
      if (slots.length > 60) { status.textContent = S.too_many; return; }
      const body = { title: titleInput.value, slots };
      const d = draws.get(currentId);
      const draft = d && d.state === "draft" && editing !== "new";
      const answer = draft
        ? await call("PATCH", `/api/draws/${d.id}`, body)
        : await call("POST", `/api/rooms/${data.room.id}/draws`, body);
      if (answer) {
        fillForm(answer.draw);
        render(false);
        status.textContent = S.saved;
      }
    });

    $("draw-commit").addEventListener("click", async () => {
      const d = draws.get(currentId);
      if (!d) return;
      const seed = $("draw-seed").value;
      const answer = await call("POST", `/api/draws/${d.id}/commit`, seed ? { seed } : {});
      if (answer) { $("draw-seed").value = ""; render(false); status.textContent = S.committed_now; }
    });

    $("draw-next").addEventListener("click", async () => {
      const d = draws.get(currentId);
      if (d && (await call("POST", `/api/draws/${d.id}/draw`))) render(false);
    });

    $("draw-reveal").addEventListener("click", async () => {
      const d = draws.get(currentId);
      if (!d) return;
      if (await call("POST", `/api/draws/${d.id}/reveal`)) render(false);
    });

    $("draw-new").addEventListener("click", () => {
      editing = "new";
      titleInput.value = "";
      slotsInput.value = "";
      blanksInput.value = "0";
      render(false);
      titleInput.focus();
    });
  }
  if (mode === "console") bindConsole();

  // --- the public page -----------------------------------------------------------------

  async function publicPage() {
    const check = $("draw-check-result");
    check.textContent = S.checking;
    if (!window.crypto || !crypto.subtle) { check.textContent = S.unsupported; return; }
    let log;
    try {
      const r = await fetch(config.log_url, { cache: "no-store" });
      if (!r.ok) throw new Error(String(r.status));
      log = await r.json();
    } catch (e) {
      check.textContent = S.fetch_failed;
      return;
    }
    let result;
    try {
      result = await window.mvDraw.rerun(log);
    } catch (e) {
      result = { ok: false, reason: "bad_log" };
    }
    if (result.first) {
      const first = result.first;
      const revealed = result.seed !== null;
      drawView({
        state: revealed ? "revealed" : "committed",
        slots: first.slots,
        picks: result.picks,
        commitment: first.commitment,
        witnessed: !!result.witnessed,
        seed: result.seed,
        url: location.pathname,
      }, false);
      const noteLines = (result.witnessed || "").split("\n").filter(Boolean);
      $("draw-witnessed").replaceChildren(...noteLines.flatMap((line) => [el("code", { text: line }), el("br")]));
      $("draw-beacon").textContent = result.beacon || "";
      const slots = $("draw-slot-list");
      slots.replaceChildren(...first.slots.map((s) => el("li", { text: slotLabel(s) })));
    }
    check.dataset.result = result.ok ? "match" : result.reason;
    if (result.ok) {
      check.textContent = fill(S.matches, { n: result.picks.length });
    } else if (result.reason === "not_revealed") {
      check.textContent = S.not_revealed;
    } else {
      const detailed = ["wrong_slot", "early_beacon", "wrong_beacon"].includes(result.reason);
      const reason = detailed ? fill(S[result.reason], result) : S[result.reason];
      check.textContent = fill(S.differs, { reason });
    }
  }
})();
