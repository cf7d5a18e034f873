/* Open-text answers in a word cloud: the cloud groups a Korean particle form ("교육이")
 * with its bare word ("교육") when someone wrote the bare word — the rule of rooms/words.py
 * (group_particles), checked against the same cases (tests/rooms/vectors/words). Answers
 * arrive normalised; this file only groups and orders them. */
"use strict";

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
