/* The monitors' list of prohibited words: add one (or an allowed word), remove one. */
"use strict";

(function () {
  const S = JSON.parse(document.getElementById("words-data").textContent).strings;
  const form = document.getElementById("word-form");
  const input = document.getElementById("word-input");
  const allowed = document.getElementById("word-allowed");
  const list = document.getElementById("words");
  const status = document.getElementById("words-status");
  const problem = document.getElementById("words-error");

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

  async function call(method, body) {
    try {
      const r = await fetch("/api/moderation/words", {
        method, credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return await r.json();
    } catch (e) {
      return { ok: false, error: { message: String(e) } };
    }
  }

  function say(text) { problem.hidden = true; status.textContent = text; }
  function fail(error) { status.textContent = ""; problem.textContent = error.message; problem.hidden = false; }

  function show(words) {
    if (!words.length) { list.replaceChildren(el("li", { class: "muted", text: S.empty })); return; }
    list.replaceChildren(...words.map((w) => el("li",
      { "data-testid": "word", "data-word": w.word, "data-allowed": String(w.allowed) },
      el("strong", { text: w.word }),
      w.allowed ? " " : null, w.allowed ? el("span", { class: "badge", text: S.allowed }) : null,
      " ",
      el("button", { type: "button", class: "ghost small", "data-remove": true,
        "aria-label": S.remove_word.replace("{word}", w.word), text: S.remove }))));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const word = input.value.trim();
    if (!word) { input.focus(); return; }
    const a = await call("POST", { word, allowed: allowed.checked });
    if (!a.ok) { fail(a.error); input.focus(); return; }
    show(a.words);
    say(a.added.length ? S.added.replace("{word}", word) : S.already.replace("{word}", word));
    input.value = ""; allowed.checked = false; input.focus();
  });

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-remove]");
    if (!button) return;
    const item = button.closest("li");
    const word = item.dataset.word;
    const a = await call("DELETE", { word, allowed: item.dataset.allowed === "true" });
    if (!a.ok) { fail(a.error); return; }
    show(a.words);
    say(S.removed.replace("{word}", word));
    input.focus();
  });
})();
