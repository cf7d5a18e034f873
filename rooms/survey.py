"""Surveys: several questions ("parts") answered as one form, one ballot for them all.

A survey is one question of kind ``survey``: one voter set, one tally, one ballot stream
and one ledger entry per ballot, so that a ballot is accepted or refused as a whole in
one atomic step (every key of a question shares its hash slot). Its parts' options are
the question's options, side by side: part 0's first, then part 1's, and so on. A ballot
names each part's picks by the part's own indexes (``{"parts": [[0], [1, 2], []]}``);
it is counted, archived and logged as the indexes into the whole list (``flatten``), so
the tally, the log's recount and every count of a survey read like any question's, and
each part's counts are its slice of them.

A part is a single choice, a multiple choice (with its most picks), a yes/no or a rating;
open text and rankings are counted differently and stay questions of their own. A part is
required (a ballot must answer it) or optional (an empty list skips it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rooms.errors import N_, ErrorCode, VotingError, bad_request
from rooms.questions import (
    MAX_OPTIONS,
    MAX_TITLE,
    RATING_SCALES,
    Kind,
    Option,
    Part,
    QuestionSpec,
    check_text,
    parse_options,
)

MAX_PARTS = 20  #: a form longer than this is no longer answered in a meeting
MAX_SURVEY_OPTIONS = 200  #: every part's options together
#: The kinds a part may be: each counts one per pick, as the question's tally does.
PART_KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.YESNO, Kind.RATING)


@dataclass(frozen=True, slots=True)
class PartLimit:
    """What a part takes, as the cast script and the recount check it."""

    size: int  #: how many options
    most: int  #: the most picks
    required: bool


def build_parts(parts: object) -> tuple[tuple[Part, ...], tuple[Option, ...]]:
    """A host's parts, validated, and the survey's options (every part's, in order); or
    ``bad_request`` naming the part at fault."""
    if not isinstance(parts, list | tuple) or not 1 <= len(parts) <= MAX_PARTS:
        raise bad_request(N_("a survey has 1 to {n} parts"), n=MAX_PARTS)
    built: list[Part] = []
    options: list[Option] = []
    for number, raw in enumerate(parts, 1):
        part, opts = _part(number, raw)
        built.append(part)
        options.extend(opts)
    if len(options) > MAX_SURVEY_OPTIONS:
        raise bad_request(
            N_("a survey's parts have at most {n} options together"), n=MAX_SURVEY_OPTIONS
        )
    return tuple(built), tuple(options)


def _part(number: int, raw: object) -> tuple[Part, tuple[Option, ...]]:
    if not isinstance(raw, dict):
        raise bad_request(N_("part {number} is an object with a title and a kind"), number=number)
    title = check_text(raw.get("title"), N_("part title"), MAX_TITLE, required=True)
    try:
        kind = Kind(raw.get("kind", Kind.SINGLE))
    except ValueError:
        kind = None
    if kind not in PART_KINDS:
        allowed = ", ".join(k.value for k in PART_KINDS)
        raise bad_request(
            N_("part {number}'s kind is one of {allowed}"), number=number, allowed=allowed
        )
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise bad_request(N_("part {number}'s required is true or false"), number=number)
    opts = parse_options(raw.get("options", []))
    most: object = raw.get("max_choices")
    if kind is Kind.RATING:
        scale = raw.get("scale", 5)
        if not isinstance(scale, int) or isinstance(scale, bool) or scale not in RATING_SCALES:
            raise bad_request(
                N_("part {number}'s rating scale runs from 1 to a number between 2 and 10"),
                number=number,
            )
        opts = opts or tuple(Option(str(i)) for i in range(1, scale + 1))
    elif kind is Kind.YESNO:
        opts = opts or (Option("Yes"), Option("No"))
        if len(opts) != 2:
            raise bad_request(N_("part {number} (yes/no) has exactly two options"), number=number)
    if not 2 <= len(opts) <= MAX_OPTIONS:
        raise bad_request(N_("part {number} needs 2 to {n} options"), number=number, n=MAX_OPTIONS)
    if kind is Kind.MULTIPLE:
        most = len(opts) if most is None else most
        if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= len(opts):
            raise bad_request(
                N_("part {number}'s max_choices is between 1 and its number of options"),
                number=number,
            )
    elif most is not None and (type(most) is not int or most != 1):
        raise bad_request(
            N_("part {number} takes one answer: only a multiple choice has max_choices"),
            number=number,
        )
    else:
        most = 1
    return Part(title, kind, len(opts), most, required), opts


def limits(parts: Sequence[Part]) -> tuple[PartLimit, ...]:
    return tuple(PartLimit(p.size, p.max_choices, p.required) for p in parts)


def limits_of_definition(definition: Mapping[str, Any]) -> tuple[PartLimit, ...] | None:
    """The parts' limits from a survey's definition as the log's opening holds it (JSON);
    ``None`` when it does not describe its parts well."""
    parts = definition.get("parts")
    if not isinstance(parts, list):
        return None
    out = []
    for p in parts:
        if not isinstance(p, dict):
            return None
        size, most, required = p.get("size"), p.get("max_choices"), p.get("required")
        if type(size) is not int or type(most) is not int or type(required) is not bool:
            return None
        out.append(PartLimit(size, most, required))
    return tuple(out)


def fits(parts: Sequence[PartLimit], choices: Sequence[int]) -> bool:
    """Whether a survey ballot's flattened choices (distinct, in range, checked by the
    caller) answer every required part and no part beyond its most picks."""
    first = 0
    for part in parts:
        given = sum(1 for c in choices if first <= c < first + part.size)
        if given > part.most or (part.required and given == 0):
            return False
        first += part.size
    return bool(choices)


def check_survey(spec: QuestionSpec, parts: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """A survey ballot's picks as indexes into the survey's options (``flatten``), if every
    part's are valid; else the refusal, whose ``part`` field is the index of the first part
    at fault (the page shows it there, keeping what the voter entered)."""
    if len(parts) != len(spec.parts):
        raise bad_request(
            N_("a survey ballot gives a list for each of its {n} parts (empty: skipped)"),
            n=len(spec.parts),
        )
    for index, (part, picks) in enumerate(zip(spec.parts, parts, strict=True)):
        number = index + 1
        if len(set(picks)) != len(picks) or any(not 0 <= c < part.size for c in picks):
            raise VotingError(
                ErrorCode.INVALID_CHOICE,
                sentence=N_("Part {number}: choose among its options."),
                part=index,
                number=number,
            )
        if len(picks) > part.max_choices:
            raise VotingError(
                ErrorCode.TOO_MANY_CHOICES,
                sentence=N_("Part {number}: choose at most {max_choices} of its options."),
                part=index,
                number=number,
                max_choices=part.max_choices,
            )
        if part.required and not picks:
            raise VotingError(
                ErrorCode.PART_UNANSWERED,
                sentence=N_("Part {number} is required: answer it."),
                part=index,
                number=number,
            )
    if not any(parts):
        raise VotingError(
            ErrorCode.PART_UNANSWERED, sentence=N_("Answer at least one part of the survey.")
        )
    return flatten(spec.parts, parts)


def flatten(parts: Sequence[Part], picks: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Each part's own indexes as indexes into the survey's options, in part order."""
    out: list[int] = []
    first = 0
    for part, chosen in zip(parts, picks, strict=True):
        out.extend(first + c for c in chosen)
        first += part.size
    return tuple(out)


def split(parts: Sequence[Part], choices: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """A ballot's flattened choices back as each part's own indexes (``flatten`` undone)."""
    out = []
    first = 0
    for part in parts:
        out.append(tuple(c - first for c in choices if first <= c < first + part.size))
        first += part.size
    return tuple(out)


def offsets(parts: Sequence[Part]) -> tuple[int, ...]:
    """Where each part's options start in the survey's options."""
    out, first = [], 0
    for part in parts:
        out.append(first)
        first += part.size
    return tuple(out)
