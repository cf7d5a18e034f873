"""Open-text answers: how an answer is normalised, and how a word cloud groups them.

An answer is counted as its normalised form, the same on every node, in the cast script's
count and in the log (a ballot's entry holds the normalised answers, so anyone recounts a
log by counting strings):

1. Unicode NFKC, so full-width and compatibility forms become the usual ones
   ("ＡＩ" is "ai"), and Hangul written as separate jamo composes into syllables;
2. case folded ("Seoul" is "seoul");
3. invisible format characters (zero-width spaces and joiners) are dropped; every other
   character that is not a letter, a mark or a digit (punctuation, symbols, emoji)
   becomes a space; runs of spaces become one; the answer is trimmed. What is left must
   hold a letter or a digit and fit ``MAX_ANSWER``.

Korean particles: "교육이" and "교육" are one answer in a cloud. Stripping particles at
the cast would break words that end in one ("고양이", a cat, is no "고양"; "민주주의" no
"민주주"), so the count keeps each form and the cloud *groups* them: an answer that is
another answer plus one of ``PARTICLES`` is shown with that answer, its count added. A
form whose bare word nobody wrote stays as written. ``group_particles`` is the rule; the
pages run the same rule (``mvWords.groupParticles`` in ``static/js/common.js``), checked
against the same cases (``tests/rooms/vectors/words/cases.json``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_ANSWER = 40  #: characters of a normalised answer: a word or a short phrase
MAX_RAW_ANSWER = 200  #: characters of an answer as sent, before normalisation
MAX_ANSWERS = 10  #: answers one ballot may carry
CLOUD_SIZE = 50  #: answers a cloud shows: the most given, none hidden
MAX_HIDDEN = 200  #: answers a host may hide from one question's cloud

#: Korean particles (josa) a short answer may end with, longest first.
PARTICLES: tuple[str, ...] = tuple(
    sorted(
        (
            "에서는 에게서 으로는 으로서 으로써 에서 에게 께서 으로 부터 까지 처럼 보다 "
            "이랑 하고 이나 은 는 이 가 을 를 의 에 도 로 와 과 만 랑 나"
        ).split(),
        key=len,
        reverse=True,
    )
)

_KEEP = ("L", "M", "N")  # letters, marks, numbers: everything else separates words


def normalise_answer(text: str) -> str:
    """The form an answer is counted under; "" if it holds no letter or digit."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Case folding may decompose (e.g. "ǰ"); compose again so one answer has one form.
    folded = unicodedata.normalize("NFC", folded)
    spaced = "".join(_spaced(c) for c in folded)
    answer = " ".join(spaced.split())
    return answer if any(unicodedata.category(c)[0] in "LN" for c in answer) else ""


def _spaced(c: str) -> str:
    category = unicodedata.category(c)
    if category[0] in _KEEP:
        return c
    return "" if category == "Cf" else " "


def _is_hangul(c: str) -> bool:
    return "\uac00" <= c <= "\ud7a3"


def bare_word(answer: str, known: Iterable[str]) -> str | None:
    """The answer ``answer`` is grouped with: a word in ``known`` that ``answer`` is, plus
    a particle after a Hangul syllable (the longest particle that fits); else None."""
    seen = known if isinstance(known, set | frozenset | dict) else set(known)
    for particle in PARTICLES:
        if not answer.endswith(particle):
            continue
        stem = answer[: -len(particle)]
        if stem and _is_hangul(stem[-1]) and stem in seen:
            return stem
    return None


def group_particles(counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Answers and counts with particle forms added to their bare words, most first
    (ties by the answer's code points), as a cloud shows them."""
    totals = dict(counts)
    grouped: dict[str, int] = {}
    for answer, n in totals.items():
        # A chain ("교육에서는" → "교육에서" → "교육") ends at the barest known word.
        target = answer
        while (stem := bare_word(target, totals)) is not None:
            target = stem
        grouped[target] = grouped.get(target, 0) + n
    return sorted(grouped.items(), key=lambda item: (-item[1], item[0]))
