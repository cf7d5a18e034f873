/* The /verify page: reads a receipt (a C2SP tlog-proof), fetches the log's policy and,
 * once the poll closed, its final checkpoint and a consistency proof, and checks it all
 * here in the browser with window.Tlog. The server only supplies data; the signatures
 * and hashes are checked by this page. It also lists the receipts this device kept when it
 * voted (window.mv.Receipts), each fetched from /ledger/receipt/<leaf> and checked alike. */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const S = data.strings;
  const form = document.getElementById("verify-form");
  const out = document.getElementById("verify-result");

  /** A ballot's choice as people read it: its option's label, or an open-text answer. */
  function choiceText(labels, c) {
    return typeof c === "string" ? c : labels[c] || `#${c + 1}`;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  function show(ok, title, lines, target = out) {
    target.replaceChildren(el("div", { class: `verification ${ok ? "completed" : "failed"}`,
      "data-testid": "verify-result", "data-ok": String(ok) },
      el("strong", { text: title }),
      ...lines.map((line) => el("p", { text: line }))));
  }

  /** A note's checkpoint, read (not yet verified) with Tlog's parsers. */
  function checkpointOf(note) {
    return window.Tlog.parseCheckpoint(window.Tlog.parseNote(note).text);
  }

  async function fetchText(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.text();
  }

  /** The log of a receipt's origin (<ledger name>/<log id>): its id, policy and status;
   * null, once the refusal is shown, if it is no log of this server. */
  async function logOf(origin, show_) {
    const log = origin.split("/").pop();
    if (!/^[0-9a-f]{16}$/.test(log)) {
      show_(false, S.invalid, [S.not_a_receipt]);
      return null;
    }
    try {
      const policy = await fetchText(`/ledger/${log}/policy`);
      const status = (await (await fetch(`/ledger/${log}`)).json()).log;
      return { log, policy, status };
    } catch (e) {
      show_(false, S.invalid, [S.unknown_log]);
      return null;
    }
  }

  /** The options as people read them: the server's labels, in the page's language (a
   * yes/no's "Yes" and "No", a blank VS side's name), else the labels as stored. */
  function optionLabels(status) {
    return (status && (status.labels || status.options)) || [];
  }

  /** A receipt promise (given while the results were hidden): the log's key signed the
   * ballot's entry; once the results are shown the same address serves the proof. */
  async function checkPromise(text, target) {
    const show_ = (ok, title, lines) => show(ok, title, lines, target);
    const found = await logOf(text.split("\n")[1] || "", show_);
    if (!found) return;
    const { policy, status } = found;
    const result = await window.Tlog.verifyPromise({ promise: text, policy });
    if (!result.ok) {
      show_(false, S.invalid, [result.reason]);
      return;
    }
    if (status && status.status !== "open") {  // the results may be shown: the proof?
      const r = await fetch(`/ledger/receipt/${result.hash}`, { cache: "no-store" });
      const proof = r.ok ? (await r.text()).replace(/\r\n/g, "\n") : null;
      if (proof && !window.Tlog.isPromise(proof)) {
        await check(proof, target);
        return;
      }
    }
    const labels = optionLabels(status);
    const choices = result.leaf.c.map((i) => choiceText(labels, i)).join(", ");
    show_(true, S.promised, [
      S.ballot_line.replace("{code}", result.code).replace("{choices}", choices)
        .replace("{title}", (status && status.title) || result.leaf.q),
      S.promise_line,
    ]);
  }

  async function check(text, target = out) {
    const show_ = (ok, title, lines) => show(ok, title, lines, target);
    target.replaceChildren(el("p", { text: S.checking }));
    if (window.Tlog.isPromise(text)) {
      await checkPromise(text, target);
      return;
    }
    let mine;
    try {
      mine = checkpointOf(window.Tlog.parseProof(text).checkpoint);
    } catch (e) {
      show_(false, S.invalid, [S.not_a_receipt]);
      return;
    }
    const found = await logOf(mine.origin, show_);
    if (!found) return;
    const { log, policy, status } = found;
    const args = { proof: text, policy };
    // The final checkpoint counts once the worker has judged the closed log: until its
    // witnesses have cosigned it, the receipt is checked against its own checkpoint.
    const judged = status && ["completed", "failed"].includes(status.verification);
    if (status && status.status === "closed" && judged) {
      try {
        args.final = await fetchText(`/ledger/${log}/checkpoint`);
        const size = checkpointOf(args.final).size;
        args.consistency = (await fetchText(`/ledger/${log}/consistency?old=${mine.size}&new=${size}`))
          .split("\n").filter(Boolean);
      } catch (e) { delete args.final; }
    }
    const result = await window.Tlog.verifyReceipt(args);
    if (!result.ok) {
      show_(false, S.invalid, [result.reason]);
      return;
    }
    const labels = optionLabels(status);
    const choices = result.leaf.c.map((i) => choiceText(labels, i)).join(", ");
    const lines = [
      S.ballot_line.replace("{code}", result.code).replace("{choices}", choices)
        .replace("{title}", (status && status.title) || result.leaf.q),
      S.entry_line.replace("{index}", result.index + 1).replace("{size}", result.size),
      S.cosigned_line.replace("{witnesses}", result.cosigners.join(", ")),
    ];
    if (result.final) lines.push(S.final_line.replace("{size}", result.final.size));
    else if (status && status.status !== "closed") lines.push(S.open_line);
    else if (status && !judged) lines.push(S.final_soon);
    show_(true, S.valid, lines);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = document.getElementById("receipt-file").files[0];
    const text = file ? await file.text() : document.getElementById("receipt-text").value;
    await check(text.replace(/\r\n/g, "\n"));
  });

  /** The receipts this device kept: each with a check (fetched now) and a remove button. */
  const mine = document.getElementById("my-receipts");
  const mineList = document.getElementById("my-receipt-list");
  const mineStatus = document.getElementById("my-receipts-status");
  const { Receipts } = window.mv;

  function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString(document.documentElement.lang || undefined,
      { dateStyle: "medium", timeStyle: "short" });
  }

  async function checkKept(r, result) {
    result.replaceChildren(el("p", { text: S.checking }));
    let response;
    try {
      response = await fetch(r.url || `/ledger/receipt/${r.leaf}`, { cache: "no-store" });
    } catch (e) {
      result.replaceChildren(el("p", { class: "notice", text: S.fetch_failed }));
      return;
    }
    if (response.ok) {
      await check((await response.text()).replace(/\r\n/g, "\n"), result);
      return;
    }
    let code = null;
    try { code = (await response.json()).error.code; } catch (e) { /* not JSON */ }
    const text = { results_hidden: S.proof_later, not_logged_yet: S.proof_soon,
      receipts_off: S.receipts_off }[code] || S.fetch_failed;
    result.replaceChildren(el("p", { class: "notice", "data-testid": "receipt-wait",
      "data-code": code || "", text }));
  }

  function listKept() {
    const kept = Receipts.all().reverse();  // newest first
    mine.hidden = kept.length === 0;
    mineList.replaceChildren(...kept.map((r) => {
      const title = r.title || r.question || "";
      const result = el("div", { class: "receipt-status", role: "status" });
      // Each button's name is its text and the poll's title ("Check Lunch?").
      const id = `kept-${r.leaf.slice(0, 16)}`;
      const checkButton = el("button", { type: "button", class: "primary inline", id: `${id}-check`,
        "aria-labelledby": `${id}-check ${id}-title` });
      checkButton.textContent = S.mine_check;
      checkButton.addEventListener("click", () => checkKept(r, result));
      const removeButton = el("button", { type: "button", class: "ghost", id: `${id}-remove`,
        "aria-labelledby": `${id}-remove ${id}-title` });
      removeButton.textContent = S.mine_remove;
      removeButton.addEventListener("click", () => {
        Receipts.remove(r.leaf);
        listKept();
        mineStatus.textContent = S.mine_removed;
        if (!mine.hidden) mineList.querySelector("button")?.focus();
        else document.getElementById("receipt-file").focus();
      });
      const facts = [r.room ? S.mine_room.replace("{number}", r.room) : "", when(r.time)]
        .filter(Boolean).join(" · ");
      return el("li", { class: "my-receipt", "data-testid": "my-receipt", "data-leaf": r.leaf },
        el("h3", { id: `${id}-title`, text: title }),
        facts ? el("p", { class: "hint", text: facts }) : null,
        (r.labels || []).length
          ? el("p", { text: S.mine_chose.replace("{choices}", r.labels.join(", ")) }) : null,
        el("p", {}, el("code", { text: r.leaf.slice(0, 12) })),
        el("div", { class: "receipt-actions" }, checkButton, removeButton),
        result);
    }));
  }
  listKept();
})();
