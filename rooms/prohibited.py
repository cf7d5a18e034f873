"""Prohibited words: how a text is normalised for matching, and where a listed word counts.

Monitors keep a list of words (``live.moderation.words``); a poll, its options and a
comment holding one are refused, naming the word as the monitor wrote it. This module is
pure: ``word_key`` turns a listed word into its matching key, ``Matcher`` is built from
the list and ``Matcher.find(text)`` says which listed word a text holds, or None.

Normalisation, the same for the text and for every listed word:

1. Unicode NFKC, then case folding: full-width and compatibility forms become the usual
   ones ("ｂａｄ" is "bad"), compatibility jamo become conjoining jamo and compose into
   syllables where they can;
2. invisible format characters (zero-width spaces and joiners, the soft hyphen) are
   dropped, as are combining marks ("b̶ä̶d" is "bad");
3. Latin look-alikes become the Latin letter: Cyrillic and Greek homoglyphs ("а" U+0430
   is "a"), and the usual digits and signs: 0→o, 1→i, 3→e, 4→a, 5→s, 7→t, @→a, $→s,
   !→i, |→i. "l" and "i" are one letter for matching (so "1" stands for either). A
   digit or sign at the edge of a word may also be plain punctuation ("bad!", "bad1"),
   so a word is tried with and without them;
4. Hangul is matched letter by letter: every syllable is decomposed into its jamo, and
   every jamo, conjoining (initial or final) or compatibility, becomes the one
   compatibility letter, compound finals split ("ㄺ" is "ㄹㄱ"). "시발", "ㅅㅣㅂㅏㄹ"
   and the conjoining "ᄉ ᅵ ᄇ ᅡ ᆯ" are the same five letters;
5. every other character (spaces, punctuation, symbols, emoji) separates *tokens*.

Where a word counts -- the rule for innocent words that hold a listed one:

* **Latin (and every spaced script)** matches whole tokens only: "Scunthorpe" holds no
  "cunt" and "classic" no "ass", since neither starts and ends a token there. A word
  also counts with an English ending ("s", "es", "ed", "er", "ers", "ing", "in", "y"):
  listing "fuck" refuses "fucking". Tricks that put spaces or signs inside a word
  ("b a d", "b.a.d", "b-a_d", "ba d") are caught by matching a *run of whole tokens*:
  the squeezed run "b"+"a"+"d" is "bad". A run counts whole tokens only, so "a badge"
  holds no "abad"; a run that spells a listed word by chance ("a bad" for "abad") is
  refused, a known and rare false positive.
* **Hangul (and Chinese characters and kana)**, written without spaces inside
  compounds, matches *inside* a token, at syllable boundaries: "개새끼야" holds
  "개새끼", but "시방" does not hold "시바" (the match would end inside the syllable
  "방"). Digits, Latin letters and signs between Hangul are *filler*: Hangul matching
  reads them as a separator ("시1발", "시X발", "씨 ! 발", "씨 X 발"). Filler or signs
  without a space, next to a single syllable, are a trick and are squeezed out
  ("개.새.끼야" and "씨1발놈" are one token; "서울시·발표" and "갤럭시S발표" stay two).
  Across a space (or filler between two longer words) a word counts from the *start* of
  a token: over the tokens after it whole, and into the last one when the rest of that
  token is Korean endings (``ENDINGS``: particles, "들", vocatives, the copula, "놈",
  "년", "새끼", "같은"), since Korean attaches them: "시 발" and "씨 발놈", "개 새끼들",
  "개 새 끼야" hold the word; "서울시 발표" does not (the match would start inside
  "서울시"), nor "시 발표" or "시 발가락" ("표" and "가락" are no endings). A Korean
  compound that holds a listed word innocently ("시발점", a starting point, holds "시발")
  is refused until monitors list it as an *allowed word* (written with a leading "+",
  e.g. "+시발점"): a match inside an allowed word's match does not count.

Known limits. A split word followed by a particle is refused even when innocent
("출발 시 발을 조심" for a listed "시발"; the allowed word "+시발을" spares it, written
together too). A split word whose last token goes on with something other than endings
is not caught ("씨 발라"), nor filler made of Hangul ("시ㅋ발"). Letters of a Latin text between
two Hangul words are filler as well, so "시 TV 발" holds "시발". Tense and plain
consonants ("씨발", "시발") are different words, and an abbreviation by initial
consonants ("ㅆㅂ" for "씨발") is not derived from the word: monitors list both; a
listed "ㅆㅂ" then refuses "ㅆ1ㅂ" and "ㅆ ㅂ" as well.
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MAX_WORD = 50  #: characters of a listed word as written
MAX_KEY = 99  #: characters of its matching key (the stored key adds "+" to allowed words)
ALLOWED_MARK = "+"  #: a listed word written "+word" is allowed: an exception

#: English endings a Latin word still counts with.
SUFFIXES = ("s", "es", "ed", "er", "ers", "ing", "in", "y")

#: Korean endings a Hangul word split by a space still counts with ("씨 발놈", "개 새끼들"):
#: particles, the plural, vocatives, the copula, and what insults take after them.
ENDINGS = (
    *("이", "가", "은", "는", "을", "를", "의", "에", "도", "만"),
    *("아", "야", "이야", "이다", "다", "들"),
    *("놈", "년", "새끼", "같은", "같이", "짓"),
)

LATIN, HANGUL = "latin", "hangul"  #: how a word matches (see the module's docstring)

# Look-alikes of Latin letters, after case folding.
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "з": "3",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ӏ": "l",
        "ь": "b",
        # Greek
        "α": "a",
        "β": "b",
        "γ": "y",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        # Latin oddities
        "ı": "i",
        "ɡ": "g",
        "ɑ": "a",
        "ʟ": "l",
    }
)

#: Digits and signs that stand for letters ("soft": they may be punctuation at an edge).
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_SIGNS = {"@": "a", "$": "s", "!": "i", "|": "i"}

_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
_COMPOUND = {
    "ㄳ": "ㄱㅅ",
    "ㄵ": "ㄴㅈ",
    "ㄶ": "ㄴㅎ",
    "ㄺ": "ㄹㄱ",
    "ㄻ": "ㄹㅁ",
    "ㄼ": "ㄹㅂ",
    "ㄽ": "ㄹㅅ",
    "ㄾ": "ㄹㅌ",
    "ㄿ": "ㄹㅍ",
    "ㅀ": "ㄹㅎ",
    "ㅄ": "ㅂㅅ",
}


def _jamo(c: str) -> str | None:
    """A Hangul character as compatibility letters; None if it is not Hangul."""
    o = ord(c)
    if 0xAC00 <= o <= 0xD7A3:
        n = o - 0xAC00
        t = n % 28
        out = _CHO[n // 588] + _JUNG[(n % 588) // 28] + (_JONG[t - 1] if t else "")
    elif 0x1100 <= o <= 0x1112:
        out = _CHO[o - 0x1100]
    elif 0x1161 <= o <= 0x1175:
        out = _JUNG[o - 0x1161]
    elif 0x11A8 <= o <= 0x11C2:
        out = _JONG[o - 0x11A8]
    elif 0x3131 <= o <= 0x318E or 0x1100 <= o <= 0x11FF or 0xA960 <= o <= 0xA97F:
        out = c  # a compatibility letter (or old Hangul) as it is
    elif 0xD7B0 <= o <= 0xD7FF:
        out = c
    else:
        return None
    return "".join(_COMPOUND.get(j, j) for j in out)


_ENDING_KEYS = frozenset("".join(_jamo(c) or c for c in ending) for ending in ENDINGS)
_ENDING_LONGEST = max(len(k) for k in _ENDING_KEYS)


def _unspaced(c: str) -> bool:
    """Scripts written without spaces inside words: each character is a syllable."""
    o = ord(c)
    return (
        0x3040 <= o <= 0x30FF  # kana
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FFFF
    )


@dataclass
class _Piece:
    """One token of one class: its key and, per class, where it may be cut."""

    cls: str
    gap: bool  #: separated from the piece before by a separator (not a change of script)
    spaced: bool = False  #: a space among those separators (else signs alone: "개.새")
    chars: list[str] = field(default_factory=list)
    #: Latin: 1 for a digit, 2 for a sign that stands for a letter, 0 for a letter
    soft: list[int] = field(default_factory=list)
    bounds: list[int] = field(default_factory=list)  #: Hangul: where syllables start
    origin: int = 0  #: Hangul: the index of its first piece among the text's pieces

    @property
    def key(self) -> str:
        return "".join(self.chars)


_SEP, _L, _H, _SIGN = 0, 1, 2, 3


def _elements(text: str) -> list[tuple[int, str, int]]:
    """(kind, key characters, soft) for each character of the normalised text."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    out: list[tuple[int, str, int]] = []
    for c in folded:
        category = unicodedata.category(c)
        if category == "Cf" or category[0] == "M":
            continue  # invisible, or a mark left alone
        hangul = _jamo(c)
        if hangul is not None:
            out.append((_H, hangul, 0))
        elif _unspaced(c):
            out.append((_H, c, 0))
        elif c in _LEET_SIGNS:
            out.append((_SIGN, _LEET_SIGNS[c], 2))
        elif "0" <= c <= "9":
            out.append((_L, _LEET.get(c, c), 1))
        elif category[0] in "LN":
            base = "".join(
                b for b in unicodedata.normalize("NFD", c) if unicodedata.category(b)[0] != "M"
            )
            base = base.translate(_HOMOGLYPHS)
            base = "".join(_LEET.get(b, b) for b in base).replace("l", "i")
            out.append((_L, base, 0) if base else (_SEP, "", 0))
        else:
            out.append((_SEP, " " if c.isspace() else "", 0))
    # A run of signs stands for letters ("b@d", "b @ d", "@$$"), except right beside Hangul
    # ("시!발"), where it separates; Hangul matching reads any other Latin piece between
    # Hangul as filler too (``_hangul_tokens``).
    i = 0
    while i < len(out):
        if out[i][0] != _SIGN:
            i += 1
            continue
        j = i
        while j < len(out) and out[j][0] == _SIGN:
            j += 1
        near = (out[i - 1][0] if i else _SEP, out[j][0] if j < len(out) else _SEP)
        latin = _L in near or _H not in near
        for k in range(i, j):
            out[k] = (_L, out[k][1], 2) if latin else (_SEP, "", 0)
        i = j
    return out


def _pieces(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    current: _Piece | None = None
    gap = spaced = False
    size = 0  # of the current piece's key
    for kind, key, soft in _elements(text):
        if kind == _SEP:
            current, gap, spaced = None, True, spaced or key == " "
            continue
        cls = HANGUL if kind == _H else LATIN
        if current is None or current.cls != cls:
            current = _Piece(cls, gap, spaced)
            pieces.append(current)
            gap = spaced = False
            size = 0
        if cls == HANGUL:
            current.bounds.append(size)
        else:
            current.soft.append(soft)
        current.chars.append(key)
        size += len(key)
    return pieces


def _hangul_tokens(pieces: list[_Piece]) -> list[_Piece]:
    """The Hangul tokens of a text, in order, as Hangul matching reads them.

    Digits, Latin letters and signs between two Hangul pieces are filler: a separator
    ("시1발", "씨 X 발"). Pieces that filler or signs alone split, with no space, next to
    a single syllable are one token ("개.새.끼야", "시*발", "씨1발놈"): the split is a
    trick. Two longer words filler joins ("서울시·발표") stay apart, as do words a space
    separates."""
    out: list[_Piece] = []
    gap = spaced = False  # what lies between the last Hangul piece and the next
    last = 0  # syllables of the last piece merged into out[-1]
    size = 0  # of out[-1]'s key
    for i, p in enumerate(pieces):
        gap, spaced = gap or p.gap, spaced or p.spaced
        if p.cls != HANGUL:
            gap = True
            continue
        if out and gap and not spaced and 1 in (last, len(p.bounds)):
            out[-1].bounds.extend(b + size for b in p.bounds)
            out[-1].chars.extend(p.chars)
        else:
            out.append(_Piece(HANGUL, gap, spaced, list(p.chars), [], list(p.bounds), i))
            size = 0
        size += sum(map(len, p.chars))
        last = len(p.bounds)
        gap = spaced = False
    return out


def _runs(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Latin pieces in a row, only separators between them."""
    runs: list[list[_Piece]] = []
    joined = False  # the piece before continues a run
    for p in pieces:
        if p.cls != LATIN:
            joined = False
            continue
        if joined and p.gap:
            runs[-1].append(p)
        else:
            runs.append([p])
        joined = True
    return runs


def word_key(word: str) -> tuple[str, str]:
    """(``LATIN`` or ``HANGUL``, the matching key) of a listed word (without its "+");
    ``ValueError`` with a reason if it cannot be listed."""
    if not word.strip():
        raise ValueError("empty")
    if len(word) > MAX_WORD:
        raise ValueError("too long")
    if not any(unicodedata.category(c)[0] in "LN" for c in unicodedata.normalize("NFKC", word)):
        raise ValueError("no letters")
    pieces = _pieces(word)
    classes = {p.cls for p in pieces}
    if not classes:
        raise ValueError("no letters")
    if len(classes) > 1:
        raise ValueError("mixed scripts")
    cls = classes.pop()
    key = "".join(p.key for p in pieces)
    if cls == LATIN and len(key) < 2:
        raise ValueError("too short")
    if len(key) > MAX_KEY:
        raise ValueError("too long")
    return cls, key


def stored_key(word: str) -> tuple[str, bool]:
    """The key a listed word is stored under ("+" first for an allowed word), and
    whether it is allowed; ``ValueError`` if it cannot be listed."""
    allowed = word.startswith(ALLOWED_MARK)
    _, key = word_key(word[1:] if allowed else word)
    return (ALLOWED_MARK + key if allowed else key), allowed


def plain_word(word: str) -> str:
    """The word without the allowed mark, as a refusal names it."""
    return word[1:] if word.startswith(ALLOWED_MARK) else word


Span = tuple[int, int, int]  #: (run, start, end) in the run's squeezed key


class Matcher:
    """The compiled list: ``find`` the first listed word a text holds."""

    def __init__(self, words: Iterable[str]) -> None:
        """``words`` as monitors wrote them, allowed ones with their leading "+"; words
        that cannot be listed are skipped."""
        self.banned: dict[str, dict[str, str]] = {LATIN: {}, HANGUL: {}}
        self.allowed: dict[str, set[str]] = {LATIN: set(), HANGUL: set()}
        for word in words:
            allowed = word.startswith(ALLOWED_MARK)
            try:
                cls, key = word_key(plain_word(word))
            except ValueError:
                continue
            if allowed:
                self.allowed[cls].add(key)
            else:
                self.banned[cls].setdefault(key, word)
        self.longest = {
            cls: max((len(k) for k in (*self.banned[cls], *self.allowed[cls])), default=0)
            for cls in (LATIN, HANGUL)
        }

    def __bool__(self) -> bool:
        return any(self.banned.values())

    def find(self, text: str) -> str | None:
        """The first listed word ``text`` holds (as the monitor wrote it), or None."""
        if not self:
            return None
        hits: list[tuple[tuple[int, int, int], Span, str]] = []
        excused: list[Span] = []
        pieces = _pieces(text)
        order = {id(p): i for i, p in enumerate(pieces)}
        runs: list[tuple[str, list[_Piece], list[int]]] = [
            (LATIN, run, [order[id(p)] for p in run]) for run in _runs(pieces)
        ]
        tokens = _hangul_tokens(pieces)
        if tokens:
            runs.append((HANGUL, tokens, [p.origin for p in tokens]))
        for n, (cls, run, origins) in enumerate(runs):
            starts = list(itertools.accumulate((len(p.key) for p in run[:-1]), initial=0))
            spans = self._hangul(run, starts) if cls == HANGUL else self._latin(run, starts)
            for start, end, key in spans:
                if key in self.allowed[cls]:
                    excused.append((n, start, end))
                word = self.banned[cls].get(key)
                if word is not None:
                    where = origins[bisect.bisect_right(starts, start) - 1]
                    hits.append(((where, start, start - end), (n, start, end), word))
        hits.sort(key=lambda h: h[0])
        for _, (n, start, end), word in hits:
            if not any(r == n and s <= start and end <= e for r, s, e in excused):
                return word
        return None

    def _hangul(self, run: list[_Piece], starts: list[int]) -> Iterable[tuple[int, int, str]]:
        """Candidate spans: inside a token at syllable boundaries; across tokens, whole
        tokens, the last of them whole or followed by Korean endings."""
        longest = self.longest[HANGUL]
        if not longest:
            return
        for p, offset in zip(run, starts, strict=True):
            key = p.key
            bounds = [*p.bounds, len(key)]
            for i, s in enumerate(bounds[:-1]):
                for j in range(i + 1, len(bounds)):
                    e = bounds[j]
                    if e - s > longest:
                        break
                    yield offset + s, offset + e, key[s:e]
        yield from _whole_runs(run, starts, longest, lambda p: [p.key], lambda p: [p.key])
        yield from _ended_runs(run, starts, longest)

    def _latin(self, run: list[_Piece], starts: list[int]) -> Iterable[tuple[int, int, str]]:
        """Candidate spans: runs of whole pieces (with or without soft edges), a word and
        its English ending taken as the word."""
        longest = self.longest[LATIN]
        if not longest:
            return
        for start, end, text in _whole_runs(
            run, starts, longest + 3, _lead_variants, _trail_variants, _both_variants
        ):
            yield start, end, text
            for suffix in SUFFIXES:
                if len(text) > len(suffix) and text.endswith(suffix):
                    yield start, end, text[: -len(suffix)]


def _lead_variants(p: _Piece) -> list[str]:
    """The piece, and without each run of its leading digits and signs ("$hit", "!bad")."""
    key = p.key
    cut = 0
    while cut < len(key) - 1 and p.soft[cut]:
        cut += 1
    return [key[i:] for i in range(cut + 1)]


def _trail_variants(p: _Piece) -> list[str]:
    """The piece, and without each run of its trailing digits and signs ("bad!", "as5!")."""
    key = p.key
    cut = len(key)
    while cut > 1 and p.soft[cut - 1]:
        cut -= 1
    return [key[:i] for i in range(len(key), cut - 1, -1)]


def _both_variants(p: _Piece) -> list[str]:
    out = []
    for lead in _lead_variants(p):
        trimmed = _Piece(p.cls, p.gap, p.spaced, list(lead), p.soft[len(p.key) - len(lead) :])
        out.extend(_trail_variants(trimmed))
    return list(dict.fromkeys(out))


def _whole_runs(
    run: list[_Piece],
    starts: list[int],
    longest: int,
    lead: Callable[[_Piece], list[str]],
    trail: Callable[[_Piece], list[str]],
    whole: Callable[[_Piece], list[str]] | None = None,
) -> Iterable[tuple[int, int, str]]:
    """Spans of whole pieces a..b: b > a, the first and last piece in each of their
    variants; and, with ``whole``, each piece alone in each of its variants."""
    for a in range(len(run)):
        if whole is not None:
            for v in whole(run[a]):
                yield starts[a], starts[a] + len(run[a].key), v
        middle = ""
        for b in range(a + 1, len(run)):
            if b > a + 1:
                middle += run[b - 1].key
            if len(middle) > longest:
                break
            for first in lead(run[a]):
                for last in trail(run[b]):
                    joined = first + middle + last
                    if len(joined) <= longest:
                        yield starts[a], starts[b] + len(run[b].key), joined


def _ended_runs(
    run: list[_Piece], starts: list[int], longest: int
) -> Iterable[tuple[int, int, str]]:
    """Spans of Hangul tokens a..b, b > a: a and the tokens between whole, then b up to a
    syllable after which the rest of b is Korean endings ("씨 발놈", "개 새 끼야")."""
    cuts: dict[int, list[int]] = {}
    for a in range(len(run)):
        head = run[a].key
        for b in range(a + 1, len(run)):
            if len(head) >= longest:
                break
            key = run[b].key
            if b not in cuts:
                cuts[b] = _ending_cuts(run[b])
            for cut in cuts[b]:
                if len(head) + cut > longest:
                    break
                yield starts[a], starts[b] + cut, head + key[:cut]
            head += key


def _ending_cuts(p: _Piece) -> list[int]:
    """Where, after its first syllable, a Hangul token may end a listed word: the offsets
    after which it holds nothing but Korean endings ("놈", "들아", "새끼야")."""
    key = p.key
    bounds = [*p.bounds, len(key)]
    ends = [False] * len(bounds)  # a run of endings goes from bounds[i] to the token's end
    ends[-1] = True
    for i in range(len(bounds) - 2, 0, -1):
        for j in range(i + 1, len(bounds)):
            if bounds[j] - bounds[i] > _ENDING_LONGEST:
                break
            if ends[j] and key[bounds[i] : bounds[j]] in _ENDING_KEYS:
                ends[i] = True
                break
    return [b for b, end in zip(bounds[1:-1], ends[1:-1], strict=True) if end]
