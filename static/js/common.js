/* Shared by the vote page, the presenter screen, the console and the verify page: page data,
 * tallies, result bars and word clouds, option labels, the device's receipts. One file, so
 * that a phone on a weak network fetches one script fewer. */
"use strict";

/* Open-text answers in a word cloud: the cloud groups a Korean particle form ("교육이")
 * with its bare word ("교육") when someone wrote the bare word — the rule of rooms/words.py
 * (group_particles), checked against the same cases (tests/rooms/vectors/words). Answers
 * arrive normalised; this file only groups and orders them. */
window.mvWords = (function () {
  const PARTICLES = (
    "에서는 에게서 으로는 으로서 으로써 에서 에게 께서 으로 부터 까지 처럼 보다 " +
    "이랑 하고 이나 은 는 이 가 을 를 의 에 도 로 와 과 만 랑 나"
  ).split(" ").sort((a, b) => b.length - a.length);

  const isHangul = (c) => c >= "\uac00" && c <= "\ud7a3";

  /** The known word `answer` is, plus a particle after a Hangul syllable; else null. */
  function bareWord(answer, known) {
    for (const p of PARTICLES) {
      if (!answer.endsWith(p)) continue;
      const stem = answer.slice(0, -p.length);
      if (stem && isHangul(stem[stem.length - 1]) && known.has(stem)) return stem;
    }
    return null;
  }

  /** Code point order, as Python compares strings (UTF-16 order differs past U+FFFF). */
  function byCodePoint(a, b) {
    const x = [...a], y = [...b];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }

  /** [[answer, count], ...] grouped, most first, ties in code point order. */
  function groupParticles(counts) {
    const known = new Map(counts);
    const grouped = new Map();
    for (const [answer, n] of known) {
      let target = answer, stem;
      while ((stem = bareWord(target, known)) !== null) target = stem;
      grouped.set(target, (grouped.get(target) || 0) + n);
    }
    return [...grouped].sort((a, b) => b[1] - a[1] || byCodePoint(a[0], b[0]));
  }

  return { PARTICLES, groupParticles };
})();


window.mv = (function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  // The shared words come in their own cached script (``live.web.strings``); a page's own
  // words, in its data, are added to them.
  const S = Object.assign({}, window.mvStrings, data.strings);

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

  /** The label to show for option `i` of `q`: a yes/no label left at its English default
   * and a blank VS side are shown in the page's language; any other label as written. */
  function optionLabel(q, i) {
    const o = q.options[i];
    const label = ((o && o.label) || "").trim();
    if (q.kind === "yesno" && (label === "Yes" || label === "No")) {
      return label === "Yes" ? S.yes : S.no;
    }
    if (q.kind === "vs" && !label) return i === 0 ? S.vs_side_a : S.vs_side_b;
    return label || (o && o.image_alt) || `#${i + 1}`;
  }

  /** A rating's average (its value is the option's index + 1), or null without ratings. */
  function ratingAverage(counts) {
    let n = 0, sum = 0;
    counts.forEach((c, i) => { n += c || 0; sum += (c || 0) * (i + 1); });
    return n ? { average: Math.round((sum * 10) / n) / 10, count: n } : null;
  }

  /** Draws or updates result bars in `list` (an <ol>) for question `q` and tally `t`.
   * Each bar is a label, a track and its figures; where the list is narrow (a phone) the
   * label and figures share a line above a full-width track (CSS container query). A
   * rating also gets its average and count, as the list's last item. */
  function drawBars(list, q, t) {
    if (q.kind === "ranking") return drawRanking(list, q, t);
    const counts = t ? t.counts : q.options.map(() => 0);
    const total = t ? t.total : 0;
    const bars = () => [...list.children].filter((li) => li.classList.contains("bar"));
    const rating = q.kind === "rating";
    if (list.dataset.question !== q.id || bars().length !== q.options.length
        || list.dataset.kind !== q.kind || !!list.querySelector(".bar-average") !== rating) {
      list.replaceChildren();
      list.dataset.question = q.id;
      list.dataset.kind = q.kind;
      q.options.forEach((o, i) => {
        const fill = el("span", { class: "bar-fill" });
        list.append(el("li", { class: "bar" },
          el("span", { class: "bar-label", text: optionLabel(q, i) }),
          el("span", { class: "bar-track", "aria-hidden": "true" }, fill),
          el("span", { class: "bar-figures" },
            el("span", { class: "bar-count", "data-testid": "option-count", text: "0" }),
            el("span", { class: "bar-pct", text: "0%" }))));
      });
      if (rating) list.append(el("li", { class: "bar-average", "data-testid": "rating-average" }));
    }
    bars().forEach((li, i) => {
      const pct = percent(counts[i] || 0, total);
      li.querySelector(".bar-count").textContent = String(counts[i] || 0);
      li.querySelector(".bar-pct").textContent = pct + "%";
      li.querySelector(".bar-fill").style.width = pct + "%";  // CSSOM: allowed by the CSP
      li.setAttribute("aria-label", `${optionLabel(q, i)}: ${counts[i] || 0} ${S.votes}, ${pct}%`);
    });
    if (rating) {
      const avg = ratingAverage(counts);
      list.querySelector(".bar-average").textContent = avg
        ? (avg.count === 1 ? S.rating_average_one : S.rating_average)
          .replace("{average}", avg.average.toFixed(1)).replace("{count}", avg.count)
        : S.rating_none;
    }
  }

  /** Draws an open-text question's word cloud in `list` (a <ul>) from tally `t`: answers
   * grouped (mvWords, above), the most given largest and in the middle, each with its count for
   * screen readers; `empty` is the text shown before the first answer. */
  function drawCloud(list, t, empty) {
    const words = window.mvWords.groupParticles((t && t.words) || []);
    list.dataset.kind = "text";
    list.classList.add("cloud");
    if (!words.length) {
      list.replaceChildren(el("li", { class: "cloud-empty", text: empty || S.cloud_empty }));
      return;
    }
    const most = words[0][1];
    const placed = [];
    words.forEach((w, i) => (i % 2 ? placed.push(w) : placed.unshift(w)));  // big ones central
    list.replaceChildren(...placed.map(([word, n]) => {
      const step = Math.max(0, Math.min(5, Math.round(5 * Math.sqrt(n / most))));
      const label = (n === 1 ? S.cloud_answer_one : S.cloud_answers).replace("{n}", n);
      return el("li", { class: `cloud-word w${step}`, "data-testid": "cloud-word",
        "data-count": n }, el("span", { text: word }),
        el("span", { class: "visually-hidden", text: ` (${label})` }));
    }));
  }

  // --- ranking ----------------------------------------------------------------------------

  const lang = document.documentElement.lang || "en";
  const ordinalRules = new Intl.PluralRules(lang, { type: "ordinal" });
  const cardinalRules = new Intl.PluralRules(lang);
  /** A plural's form for `n` from {one, two, few, other} (what the language has of them). */
  const pluralOf = (forms, rules, n) => (forms[rules.select(n)] || forms.other).replace("{n}", n);
  /** "1st", "2nd" (English), "1위" (Korean). */
  const ordinal = (n) => pluralOf(S.rank_ordinal, ordinalRules, n);
  const pointsText = (n) => pluralOf(S.rank_points, cardinalRules, n);
  /** "Borda count: first place gets 2 points, last none." for a question of `n` options. */
  const rankMethod = (n) => pluralOf(S.rank_method, cardinalRules, n - 1);

  /** A ranking's results, best first: each option's index, Borda points, rank (ties share
   * one: 1, 2, 2, 4) and average place (1 = first; null before any ballot). Ties keep the
   * options' order. */
  function rankingResults(q, t) {
    const n = q.options.length;
    const total = t ? t.total : 0;
    const rows = q.options.map((o, i) => ({ option: i, points: (t && t.counts[i]) || 0 }));
    rows.sort((a, b) => b.points - a.points || a.option - b.option);
    rows.forEach((r, k) => {
      r.rank = k && rows[k - 1].points === r.points ? rows[k - 1].rank : k + 1;
      r.average = total ? n - r.points / total : null;
    });
    return rows;
  }

  /** Draws or updates a ranking's results in `list` (an <ol>): the options sorted by their
   * Borda points, each with its rank, points and average place, a bar as long as its share
   * of the most points there could be (every ballot putting it first), and the method
   * named last. No percentages: points are not shares of the ballots. The items are moved,
   * not rebuilt, so a screen's decorations stay on them (`data-option` says whose). */
  function drawRanking(list, q, t) {
    const n = q.options.length;
    const total = t ? t.total : 0;
    const items = () => [...list.children].filter((li) => li.classList.contains("bar"));
    if (list.dataset.question !== q.id || list.dataset.kind !== "ranking"
        || items().length !== n) {
      list.replaceChildren();
      list.dataset.question = q.id;
      list.dataset.kind = "ranking";
      q.options.forEach((o, i) => list.append(el("li", { class: "bar ranked", "data-option": i,
        "data-testid": "ranked-option" },
      el("span", { class: "bar-label" },
        el("span", { class: "bar-rank", "data-testid": "option-rank" }),
        el("span", { class: "bar-name", text: optionLabel(q, i) })),
      el("span", { class: "bar-track", "aria-hidden": "true" }, el("span", { class: "bar-fill" })),
      el("span", { class: "bar-figures" },
        el("span", { class: "bar-count", "data-testid": "option-points" }),
        el("span", { class: "bar-place", "data-testid": "option-average" })))));
      list.append(el("li", { class: "bar-method", "data-testid": "ranking-method", text: rankMethod(n) }));
    }
    const byOption = new Map(items().map((li) => [Number(li.dataset.option), li]));
    const most = total * (n - 1);
    const method = list.querySelector(".bar-method");
    rankingResults(q, t).forEach((r, k) => {
      const li = byOption.get(r.option);
      if (list.children[k] !== li) list.insertBefore(li, list.children[k]);
      const rank = ordinal(r.rank);
      const points = pointsText(r.points);
      const place = r.average === null ? S.rank_no_average
        : S.rank_average.replace("{place}", r.average.toFixed(1));
      li.dataset.rank = String(r.rank);
      li.dataset.points = String(r.points);
      li.querySelector(".bar-rank").textContent = rank;
      li.querySelector(".bar-count").textContent = points;
      li.querySelector(".bar-place").textContent = place;
      li.querySelector(".bar-fill").style.width = (most ? (100 * r.points) / most : 0) + "%";
      li.setAttribute("aria-label", `${rank}: ${optionLabel(q, r.option)}, ${points}, ${place}`);
    });
    list.append(method);  // last, after the moves
  }

  // --- survey ------------------------------------------------------------------------------

  /** Part `j` of survey `q` as a question of its own: its kind, title and slice of the
   * survey's options (each part's options follow the previous part's). */
  function surveyPart(q, j) {
    const p = q.parts[j];
    return { id: `${q.id}:${j}`, kind: p.kind, title: p.title, max_choices: p.max_choices,
      required: p.required, options: q.options.slice(p.first, p.first + p.size) };
  }

  /** Part `j`'s share of survey tally `t` (the counts of its options; every ballot). */
  function surveyTally(q, t, j) {
    const p = q.parts[j];
    return t && t.counts ? { ...t, counts: t.counts.slice(p.first, p.first + p.size) } : null;
  }

  /** "Part 2: Topics". */
  const partHeading = (q, j) => S.survey_part.replace("{number}", j + 1).replace("{title}", q.parts[j].title);

  /** Draws or updates a survey's results in `list` (an <ol>): for each part its heading
   * (an <h`level`>) and its bars, drawn as a question's (`drawBars`); `small` bars on a
   * phone or in the console. */
  function drawSurvey(list, q, t, level, small) {
    if (list.dataset.question !== q.id || list.children.length !== q.parts.length) {
      list.replaceChildren(...q.parts.map((p, j) => el("li", { class: "survey-part",
        "data-part": j, "data-testid": "survey-part" },
      el(`h${level}`, { class: "survey-part-title", text: partHeading(q, j) }),
      el("ol", { class: small ? "bars small" : "bars", "aria-label": partHeading(q, j) }))));
      list.dataset.question = q.id;
      list.dataset.kind = "survey";
    }
    [...list.children].forEach((li, j) => drawBars(li.querySelector("ol"), surveyPart(q, j), surveyTally(q, t, j)));
  }

  /** The receipts this device was given, kept in its storage: newest last. Each is
   * {leaf, question, title, room, labels, time, url}. */
  const Receipts = {
    key: "mv_receipts",
    all() {
      try {
        const list = JSON.parse(localStorage.getItem(this.key) || "[]");
        return Array.isArray(list) ? list.filter((r) => r && /^[0-9a-f]{64}$/.test(r.leaf)) : [];
      } catch (_) { return []; }
    },
    save(list) {
      try { localStorage.setItem(this.key, JSON.stringify(list)); } catch (_) { /* full or off */ }
    },
    add(r) {
      this.save([...this.all().filter((x) => x.leaf !== r.leaf),
        { ...r, url: `/ledger/receipt/${r.leaf}` }]);
    },
    remove(leaf) { this.save(this.all().filter((x) => x.leaf !== leaf)); },
    /** The newest receipt of `question` in `room`, or undefined. */
    latest(room, question) {
      return this.all().filter((x) => x.room === room && x.question === question).pop();
    },
  };

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

  /** Growing, jittered pauses for trying again after an "unavailable": 1 s, 2 s, 4 s...
   * up to 30 s, each within ±25 %, so that a room's phones do not all come back at once.
   * `next()` is the next pause in ms; `reset()` starts again from 1 s. */
  function backoff() {
    let pause = 0;
    return {
      next() { pause = Math.min(pause ? pause * 2 : 1000, 30000); return pause * (0.75 + Math.random() / 2); },
      reset() { pause = 0; },
    };
  }

  /** A screen's join refused "unavailable" is tried again by itself after `backoff()`'s
   * pauses, the connection shown "connecting" meanwhile (`join` is the page's own):
   * `later()` after such a refusal, `reset()` after a join that went through. */
  function rejoining(socket, conn, join) {
    const pauses = backoff();
    return {
      later() {
        setConnection(conn, "connecting");
        setTimeout(() => { if (socket.connected) join(); }, pauses.next());
      },
      reset: pauses.reset,
    };
  }

  return { data, S, el, Tallies, backoff, rejoining, drawBars, drawCloud, setConnection, errorText, resultsPublic,
    percent, verificationBadge, optionLabel, ratingAverage, Receipts, drawRanking, rankingResults,
    ordinal, rankMethod, drawSurvey, surveyPart, partHeading };
})();
