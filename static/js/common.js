/* Shared by the vote page and the presenter screen: page data, tallies, result bars. */
"use strict";

window.mv = (function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const S = data.strings;

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

  /** Keeps, per question, only the newest tally (versions only grow). */
  function Tallies() {
    const byQuestion = new Map();
    return {
      offer(t) {
        const have = byQuestion.get(t.question);
        if (have && have.version >= t.version) return false;
        byQuestion.set(t.question, t);
        return true;
      },
      get: (q) => byQuestion.get(q),
      drop: (q) => byQuestion.delete(q),
    };
  }

  function percent(count, total) {
    return total ? Math.round((count * 1000) / total) / 10 : 0;
  }

  /** Draws or updates result bars in `list` (an <ol>) for question `q` and tally `t`. */
  function drawBars(list, q, t) {
    const counts = t ? t.counts : q.options.map(() => 0);
    const total = t ? t.total : 0;
    if (list.dataset.question !== q.id || list.children.length !== q.options.length) {
      list.replaceChildren();
      list.dataset.question = q.id;
      q.options.forEach((o, i) => {
        const fill = el("span", { class: "bar-fill" });
        list.append(el("li", { class: "bar" },
          el("span", { class: "bar-label", text: o.label }),
          el("span", { class: "bar-track", "aria-hidden": "true" }, fill),
          el("span", { class: "bar-figures" },
            el("span", { class: "bar-count", "data-testid": "option-count", text: "0" }),
            el("span", { class: "bar-pct", text: "0%" }))));
      });
    }
    [...list.children].forEach((li, i) => {
      const pct = percent(counts[i] || 0, total);
      li.querySelector(".bar-count").textContent = String(counts[i] || 0);
      li.querySelector(".bar-pct").textContent = pct + "%";
      li.querySelector(".bar-fill").style.width = pct + "%";  // CSSOM: allowed by the CSP
      li.setAttribute("aria-label", `${q.options[i].label}: ${counts[i] || 0} ${S.votes}, ${pct}%`);
    });
  }

  function setConnection(node, state) {
    node.dataset.state = state;
    node.textContent = { connected: S.connected, connecting: S.connecting, offline: S.offline }[state];
  }

  function errorText(error) {
    return (error && (S.errors[error.code] || error.message)) || S.error;
  }

  /** Results are public (shareable, shown on the projector) when nothing hides them. */
  function resultsPublic(q) {
    return q.visibility === "live" || q.revealed || q.status === "closed";
  }

  /** The badge of a closed poll's verification (its log checked, cosigned), or null. */
  function verificationBadge(q) {
    if (q.status !== "closed" || !q.log) return null;
    const v = q.verification || { status: "pending", problem: null, fields: {}, reason: "" };
    const label = { completed: S.verification_completed, failed: S.verification_failed,
      pending: S.verification_pending }[v.status];
    const template = v.problem && S.problems[v.problem];
    const reason = template
      ? template.replace(/\{(\w+)\}/g, (m, k) => (k in v.fields ? String(v.fields[k]) : m))
      : v.reason;
    return el("p", { class: `verification ${v.status}`, role: "status", "data-testid": "verification",
      "data-status": v.status },
      el("strong", { text: label }), reason ? el("span", { class: "reason", text: " " + reason }) : null);
  }

  return { data, S, el, Tallies, drawBars, setConnection, errorText, resultsPublic, percent,
    verificationBadge };
})();
