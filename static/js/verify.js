/* The /verify page: reads a receipt (a C2SP tlog-proof), fetches the log's policy and,
 * once the poll closed, its final checkpoint and a consistency proof, and checks it all
 * here in the browser with window.Tlog. The server only supplies data; the signatures
 * and hashes are checked by this page. */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const S = data.strings;
  const form = document.getElementById("verify-form");
  const out = document.getElementById("verify-result");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  function show(ok, title, lines) {
    out.replaceChildren(el("div", { class: `verification ${ok ? "completed" : "failed"}`,
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

  async function check(text) {
    out.replaceChildren(el("p", { text: S.checking }));
    let mine;
    try {
      mine = checkpointOf(window.Tlog.parseProof(text).checkpoint);
    } catch (e) {
      show(false, S.invalid, [S.not_a_receipt]);
      return;
    }
    const log = mine.origin.split("/").pop();  // the origin is <ledger name>/<log id>
    if (!/^[0-9a-f]{16}$/.test(log)) {
      show(false, S.invalid, [S.not_a_receipt]);
      return;
    }
    let policy, status;
    try {
      policy = await fetchText(`/ledger/${log}/policy`);
      status = (await (await fetch(`/ledger/${log}`)).json()).log;
    } catch (e) {
      show(false, S.invalid, [S.unknown_log]);
      return;
    }
    const args = { proof: text, policy };
    if (status && status.status === "closed") {
      try {
        args.final = await fetchText(`/ledger/${log}/checkpoint`);
        const size = checkpointOf(args.final).size;
        args.consistency = (await fetchText(`/ledger/${log}/consistency?old=${mine.size}&new=${size}`))
          .split("\n").filter(Boolean);
      } catch (e) { delete args.final; }
    }
    const result = await window.Tlog.verifyReceipt(args);
    if (!result.ok) {
      show(false, S.invalid, [result.reason]);
      return;
    }
    const labels = (status && status.options) || [];
    const choices = result.leaf.c.map((i) => labels[i] || `#${i + 1}`).join(", ");
    const lines = [
      S.ballot_line.replace("{code}", result.code).replace("{choices}", choices)
        .replace("{title}", (status && status.title) || result.leaf.q),
      S.entry_line.replace("{index}", result.index + 1).replace("{size}", result.size),
      S.cosigned_line.replace("{witnesses}", result.cosigners.join(", ")),
    ];
    if (result.final) lines.push(S.final_line.replace("{size}", result.final.size));
    else if (status && status.status !== "closed") lines.push(S.open_line);
    show(true, S.valid, lines);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = document.getElementById("receipt-file").files[0];
    const text = file ? await file.text() : document.getElementById("receipt-text").value;
    await check(text.replace(/\r\n/g, "\n"));
  });
})();
