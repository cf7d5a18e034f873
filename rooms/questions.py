"""Questions: their kinds, options, life cycle, and which choices a ballot may carry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from rooms.errors import N_, ErrorCode, VotingError, bad_request, invalid_state, phrase
from rooms.media import check_image_path
from rooms.visibility import Visibility
from rooms.words import MAX_ANSWER, MAX_ANSWERS, normalise_answer

_E = TypeVar("_E", bound=StrEnum)

MAX_OPTIONS = 60
MAX_TITLE = 500
MAX_LABEL = 200
MAX_DESCRIPTION = 2000
MAX_ALT = 500
RATING_SCALES = range(2, 11)
MAX_RANKED = 20  #: ordering more options than this on a phone is a chore, not a vote


class Kind(StrEnum):
    SINGLE = "single"  #: one option among several
    MULTIPLE = "multiple"  #: up to ``max_choices`` options
    YESNO = "yesno"  #: yes or no
    VS = "vs"  #: a contest between two sides
    RATING = "rating"  #: a value on a 1..N scale (a choice is the value's index)
    #: every option put in order, best first; counted by Borda count (``borda_points``)
    RANKING = "ranking"
    #: short answers in the voter's words, shown as a word cloud (``rooms.words``); a
    #: ballot carries up to ``max_choices`` answers and the question has no options
    TEXT = "text"
    #: several parts answered as one form (``rooms.survey``); the options are every
    #: part's, side by side, and a ballot answers all its parts at once
    SURVEY = "survey"


class Status(StrEnum):
    DRAFT = "draft"  #: prepared, not yet opened
    OPEN = "open"  #: taking ballots
    CLOSED = "closed"  #: no more ballots


class Action(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    REVEAL = "reveal"
    HIDE = "hide"  #: hide revealed results again, while the question has not closed
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class Option:
    label: str  #: may be "" for an option that is an image with its ``image_alt``
    description: str = ""
    image: str = ""  #: an uploaded image's ``/media/...`` path, or ""
    #: what the image shows, for those who cannot see it; "" falls back to the label
    image_alt: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "label": self.label,
            "description": self.description,
            "image": self.image,
            "image_alt": self.image_alt,
        }


@dataclass(frozen=True, slots=True)
class Part:
    """One question of a survey (``rooms.survey``): its options are the next ``size`` of
    the survey's options."""

    title: str
    kind: Kind  #: single, multiple, yes/no or rating
    size: int  #: how many options
    max_choices: int = 1
    required: bool = True  #: a ballot must answer it (else an empty answer skips it)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "kind": str(self.kind),
            "size": self.size,
            "max_choices": self.max_choices,
            "required": self.required,
        }


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """What a question asks; fixed once it opens."""

    title: str
    kind: Kind
    options: tuple[Option, ...]
    max_choices: int = 1
    visibility: Visibility = Visibility.LIVE
    description: str = ""
    image: str = ""  #: an uploaded image's ``/media/...`` path, or ""
    #: Voters get a receipt (a proof their ballot is in the log). A receipt that shows the
    #: choice can prove the vote to a third party, so a host may turn receipts off.
    receipts: bool = True
    image_alt: str = ""  #: what the image shows; "" falls back to the title
    #: First come, first served: the question takes only its first so many ballots (0: all).
    max_ballots: int = 0
    #: Seconds after each opening at which the question closes itself (0: when closed).
    duration_s: int = 0
    #: The moment it closes itself, ms since the epoch (0: none); with a duration too,
    #: whichever comes first.
    closes_at_ms: int = 0
    parts: tuple[Part, ...] = ()  #: a survey's parts, in order (no other kind has any)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        body = {
            "title": self.title,
            "description": self.description,
            "image": self.image,
            "image_alt": self.image_alt,
            "kind": str(self.kind),
            "options": [o.as_dict() for o in self.options],
            "max_choices": self.max_choices,
            "visibility": str(self.visibility),
            "receipts": self.receipts,
            "max_ballots": self.max_ballots,
            "duration_s": self.duration_s,
            "closes_at_ms": self.closes_at_ms,
        }
        if self.parts:  # each with ``first``, where its options start among the options
            first, parts = 0, []
            for part in self.parts:
                parts.append({**part.as_dict(), "first": first})
                first += part.size
            body["parts"] = parts
        return body

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuestionSpec:
        return cls(
            title=d["title"],
            description=d.get("description", ""),
            image=d.get("image", ""),
            kind=Kind(d["kind"]),
            options=tuple(
                Option(
                    o["label"], o.get("description", ""), o.get("image", ""), o.get("image_alt", "")
                )
                for o in d["options"]
            ),
            max_choices=int(d["max_choices"]),
            visibility=Visibility(d["visibility"]),
            receipts=bool(d.get("receipts", True)),
            image_alt=d.get("image_alt", ""),
            max_ballots=int(d.get("max_ballots", 0)),
            duration_s=int(d.get("duration_s", 0)),
            closes_at_ms=int(d.get("closes_at_ms", 0)),
            parts=tuple(
                Part(
                    p["title"],
                    Kind(p["kind"]),
                    int(p["size"]),
                    int(p["max_choices"]),
                    bool(p["required"]),
                )
                for p in d.get("parts", ())
            ),
        )


_DEFAULT_OPTIONS: dict[Kind, tuple[str, ...]] = {
    Kind.YESNO: ("Yes", "No"),
}


def build_question(
    title: object,
    kind: object = Kind.SINGLE,
    options: object = (),
    *,
    max_choices: object = None,
    visibility: object = Visibility.LIVE,
    description: object = "",
    scale: object = 5,
    image: object = "",
    receipts: object = True,
    image_alt: object = "",
    max_ballots: object = None,
    duration_s: object = None,
    parts: object = None,
    closes_at_ms: object = None,
) -> QuestionSpec:
    """Validate a host's question and return its spec, or raise ``bad_request``.

    ``parts`` are a survey's (``rooms.survey.build_parts``); no other kind takes them.
    """
    return replace(
        _build(
            title,
            kind,
            options,
            max_choices,
            visibility,
            description,
            scale,
            image,
            receipts,
            image_alt,
            parts,
        ),
        max_ballots=_max_ballots(max_ballots),
        duration_s=_duration(duration_s),
        closes_at_ms=_closes_at(closes_at_ms),
    )


#: The moments a question may be set to close at, ms since the epoch: 2020 to 2100.
CLOSES_AT_RANGE = (1_577_836_800_000, 4_102_444_800_000)


def _closes_at(value: object) -> int:
    if value is None or value == "" or value == 0:
        return 0
    low, high = CLOSES_AT_RANGE
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad_request(
            N_("closes_at_ms is the moment the question closes, in ms since 1970 (0: none)")
        )
    return value


def deadline(spec: QuestionSpec, opened_ms: int) -> int | None:
    """When a question opened at ``opened_ms`` closes itself: its duration's end or its
    closing moment, whichever comes first; ``None`` if it has neither."""
    ends = [opened_ms + spec.duration_s * 1000] if spec.duration_s else []
    if spec.closes_at_ms:
        ends.append(spec.closes_at_ms)
    return min(ends) if ends else None


#: The longest a question may run by itself (s): a day.
LONGEST_DURATION = 86_400


def _duration(value: object) -> int:
    if value is None or value == "":
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= LONGEST_DURATION:
        raise bad_request(
            N_("duration_s is how many seconds the question stays open, 1 to {n} (0: no end)"),
            n=LONGEST_DURATION,
        )
    return value


#: The largest first-come cap a question takes.
MAX_BALLOTS = 10_000_000


def _max_ballots(value: object) -> int:
    if value is None or value == "":
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BALLOTS:
        raise bad_request(
            N_("max_ballots is how many ballots the question takes, 1 to {n} (0: all)"),
            n=MAX_BALLOTS,
        )
    return value


def _build(
    title: object,
    kind: object,
    options: object,
    max_choices: object,
    visibility: object,
    description: object,
    scale: object,
    image: object,
    receipts: object,
    image_alt: object,
    parts: object = None,
) -> QuestionSpec:
    title = _text(title, N_("title"), MAX_TITLE, required=True)
    description = _text(description, N_("description"), MAX_DESCRIPTION)
    picture = check_image_path(image, N_("image"))
    alt = _text(image_alt, N_("image_alt"), MAX_ALT)
    kind = _enum(Kind, kind, N_("kind"))
    vis = _enum(Visibility, visibility, N_("visibility"))
    opts = _options(options)
    if not isinstance(receipts, bool):
        raise bad_request(N_("receipts is true or false"))
    if kind is Kind.SURVEY:
        return _survey(
            QuestionSpec(title, kind, (), 1, vis, description, picture, receipts, alt),
            opts,
            max_choices,
            parts,
        )
    if parts is not None:
        raise bad_request(N_("only a survey has parts"))
    if kind is Kind.TEXT:  # no options: what its voters write is counted instead
        return _text_question(
            QuestionSpec(title, kind, (), 1, vis, description, picture, receipts, alt),
            opts,
            max_choices,
        )
    if kind is Kind.RATING:
        if not isinstance(scale, int) or isinstance(scale, bool) or scale not in RATING_SCALES:
            raise bad_request(N_("a rating scale runs from 1 to a number between 2 and 10"))
        opts = opts or tuple(Option(str(i)) for i in range(1, scale + 1))
    elif kind is Kind.YESNO:
        opts = opts or tuple(Option(x) for x in _DEFAULT_OPTIONS[Kind.YESNO])
        if len(opts) != 2:
            raise bad_request(N_("a yes/no question has exactly two options"))
    elif kind is Kind.VS:
        if len(opts) != 2:
            raise bad_request(N_("a VS question has exactly two sides"))
    if len(opts) < 2:
        raise bad_request(N_("a question needs at least two options"))
    if len(opts) > MAX_OPTIONS:
        raise bad_request(N_("a question has at most {n} options"), n=MAX_OPTIONS)
    picks: object
    if kind is Kind.RANKING:
        if len(opts) > MAX_RANKED:
            raise bad_request(N_("a ranking question has at most {n} options"), n=MAX_RANKED)
        if max_choices is not None and max_choices != len(opts):
            raise bad_request(N_("a ranking ballot orders every option: leave out max_choices"))
        picks = len(opts)
    elif kind is Kind.MULTIPLE:
        picks = len(opts) if max_choices is None else max_choices
        if not isinstance(picks, int) or isinstance(picks, bool) or not 1 <= picks <= len(opts):
            raise bad_request(N_("max_choices must be between 1 and the number of options"))
    else:
        if max_choices is not None and (type(max_choices) is not int or max_choices != 1):
            raise bad_request(N_("only a multiple-choice question takes max_choices"))
        picks = 1
    return QuestionSpec(title, kind, opts, picks, vis, description, picture, receipts, alt)


def _text_question(
    spec: QuestionSpec, options: tuple[Option, ...], answers: object
) -> QuestionSpec:
    """An open-text question: no options; ``max_choices`` is how many answers a ballot
    may carry (1 by default)."""
    if options:
        raise bad_request(N_("an open-text question has no options"))
    picks = 1 if answers is None else answers
    if not isinstance(picks, int) or isinstance(picks, bool) or not 1 <= picks <= MAX_ANSWERS:
        raise bad_request(
            N_("an open-text question takes from 1 to {n} answers per voter"), n=MAX_ANSWERS
        )
    return replace(spec, max_choices=picks)


def _survey(
    spec: QuestionSpec, options: tuple[Option, ...], max_choices: object, parts: object
) -> QuestionSpec:
    """A survey: its options and most picks are its parts' (``rooms.survey``)."""
    from rooms.survey import build_parts  # rooms.survey builds on this module

    if options or max_choices is not None:
        raise bad_request(N_("a survey's options and max_choices are given in its parts"))
    built, opts = build_parts(parts)
    return replace(spec, options=opts, parts=built, max_choices=sum(p.max_choices for p in built))


def _survey_parts(spec: QuestionSpec) -> list[dict[str, Any]]:
    """A survey's parts as a host gives them, each with its options."""
    out, first = [], 0
    for part in spec.parts:
        mine = spec.options[first : first + part.size]
        out.append({**part.as_dict(), "options": [o.as_dict() for o in mine]})
        first += part.size
    return out


def edit_question(spec: QuestionSpec, changes: Mapping[str, object]) -> QuestionSpec:
    """``spec`` with a host's changes, validated as a new question would be.

    A field left out keeps its value, with three exceptions that follow from the kind:
    - options left out become the kind's defaults when the question turns into a yes/no
      or rating question, or when a new rating ``scale`` is given;
    - ``max_choices`` left out keeps its value only while the question stays a multiple
      choice that allowed fewer picks than it has options (else: as many as options);
    - ``scale`` is not kept (a rating's labels are its options).
    Other keys are ignored, as at creation.
    """
    kind = changes.get("kind", spec.kind)
    same_kind = kind == spec.kind
    options: object
    if "options" in changes:
        options = changes["options"]
    elif kind == Kind.SURVEY:  # its options are its parts'
        options = []
    elif "scale" in changes or (
        not same_kind and (kind in (Kind.YESNO, Kind.RATING, Kind.TEXT, Kind.SURVEY) or spec.parts)
    ):
        options = []
    else:
        options = [o.as_dict() for o in spec.options]
    max_choices: object = None
    if "max_choices" in changes:
        max_choices = changes["max_choices"]
    elif same_kind and spec.kind is Kind.MULTIPLE and spec.max_choices < len(spec.options):
        max_choices = spec.max_choices
    elif same_kind and spec.kind is Kind.TEXT:
        max_choices = spec.max_choices
    parts: object = None
    if kind == Kind.SURVEY:  # a survey's parts are kept unless new ones are given
        parts = changes["parts"] if "parts" in changes else _survey_parts(spec) or None
    elif "parts" in changes:
        parts = changes["parts"]
    return build_question(
        changes.get("title", spec.title),
        kind,
        options,
        max_choices=max_choices,
        visibility=changes.get("visibility", spec.visibility),
        description=changes.get("description", spec.description),
        scale=changes.get("scale", 5),
        image=changes.get("image", spec.image),
        receipts=changes.get("receipts", spec.receipts),
        image_alt=changes.get("image_alt", spec.image_alt),
        max_ballots=changes.get("max_ballots", spec.max_ballots),
        duration_s=changes.get("duration_s", spec.duration_s),
        closes_at_ms=changes.get("closes_at_ms", spec.closes_at_ms),
        parts=parts,
    )


def check_choices(spec: QuestionSpec, choices: Sequence[int]) -> tuple[int, ...]:
    """The ballot's choices if they are valid for ``spec``; else raise the refusal.

    ``choices`` has already been parsed to a sequence of ints (``rooms.protocol``).
    """
    if not choices or len(set(choices)) != len(choices):
        raise VotingError(ErrorCode.INVALID_CHOICE)
    if any(c < 0 or c >= len(spec.options) for c in choices):
        raise VotingError(ErrorCode.INVALID_CHOICE)
    if len(choices) > spec.max_choices:
        raise VotingError(ErrorCode.TOO_MANY_CHOICES, max_choices=spec.max_choices)
    if spec.kind is Kind.RANKING and len(choices) != len(spec.options):
        raise VotingError(ErrorCode.INVALID_CHOICE)
    return tuple(choices)


def check_ballot(
    spec: QuestionSpec,
    choices: Sequence[int],
    answers: Sequence[str],
    parts: Sequence[Sequence[int]] = (),
) -> tuple[int, ...] | tuple[str, ...]:
    """What a ballot carries for ``spec``, checked: option indexes (``check_choices``), or
    for an open-text question its answers, normalised (``check_answers``), or for a survey
    its parts' picks as indexes into the survey's options (``rooms.survey.check_survey``)."""
    if spec.kind is Kind.SURVEY:
        if choices or answers or not parts:
            raise bad_request(N_("a survey ballot carries parts: a list of picks for each part"))
        from rooms.survey import check_survey  # rooms.survey builds on this module

        return check_survey(spec, parts)
    if parts:
        raise bad_request(N_("only a survey ballot carries parts"))
    if spec.kind is Kind.TEXT:
        if not answers:
            raise bad_request(N_("an open-text question takes answers, not choices"))
        return check_answers(spec, answers)
    if answers:
        raise VotingError(ErrorCode.INVALID_CHOICE)
    return check_choices(spec, choices)


def check_answers(spec: QuestionSpec, answers: Sequence[str]) -> tuple[str, ...]:
    """An open-text ballot's answers, normalised (``rooms.words``); else the refusal.

    ``answers`` were parsed to a sequence of strings (``rooms.protocol``). Two answers of
    one ballot that normalise alike are one answer given twice: refused, like a choice
    picked twice.
    """
    words = tuple(normalise_answer(a) for a in answers)
    if not words or not all(words):
        raise VotingError(ErrorCode.EMPTY_ANSWER)
    if any(len(w) > MAX_ANSWER for w in words):
        raise VotingError(ErrorCode.ANSWER_TOO_LONG, limit=MAX_ANSWER)
    if len(set(words)) != len(words):
        raise VotingError(ErrorCode.DUPLICATE_ANSWER)
    if len(words) > spec.max_choices:
        raise VotingError(ErrorCode.TOO_MANY_CHOICES, max_choices=spec.max_choices)
    return words


def borda_points(options: int, position: int) -> int:
    """What a ranking ballot gives the option it puts at ``position`` (0 is first).

    The Borda count: with ``options`` options, first place is worth ``options - 1``
    points, each place below one fewer, the last none. A ranking question's count per
    option is the sum of its points; its average place is ``options - points / ballots``.
    """
    return options - 1 - position


@dataclass(frozen=True, slots=True)
class QuestionState:
    status: Status = Status.DRAFT
    revealed: bool = False


def apply_action(state: QuestionState, action: Action) -> QuestionState:
    """The state after a host's action, or ``invalid_state`` saying why not.

    A question reopens after closing (its ballots stay); reset needs it not open, so that
    no ballot is in flight while its count is cleared. Revealed results can be hidden
    again only before the question closes: at its close they are everyone's, and its log
    and receipts are public from then on (``docs/protocol.md``, "The ledger over HTTP").
    """
    if action is Action.OPEN:
        if state.status is Status.OPEN:
            raise invalid_state(N_("The question is open already."))
        return QuestionState(Status.OPEN, state.revealed)
    if action is Action.CLOSE:
        if state.status is Status.DRAFT:
            raise invalid_state(
                N_("The question has not been opened yet: there is nothing to close.")
            )
        if state.status is Status.CLOSED:
            raise invalid_state(N_("The question is closed already."))
        return QuestionState(Status.CLOSED, state.revealed)
    if action is Action.REVEAL:
        return QuestionState(state.status, True)
    if action is Action.HIDE:
        if state.status is Status.CLOSED:
            raise invalid_state(
                N_(
                    "A closed question's results are shown to everyone, and its log and "
                    "receipts may have been read already: they cannot be hidden again."
                )
            )
        if not state.revealed:
            raise invalid_state(N_("The results are not revealed: there is nothing to hide."))
        return QuestionState(state.status, False)
    if state.status is Status.OPEN:
        raise invalid_state(N_("Close the question before resetting it."))
    return QuestionState(Status.DRAFT, False)


def _text(value: object, name: str, limit: int, *, required: bool = False) -> str:
    """``name`` is the field's name, an ``N_`` word (translated with the refusal)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad_request(N_("{name} must be text"), name=phrase(name))
    value = value.strip()
    if required and not value:
        raise bad_request(N_("{name} is required"), name=phrase(name))
    if len(value) > limit:
        raise bad_request(
            N_("{name} is longer than {limit} characters"), name=phrase(name), limit=limit
        )
    return value


def _enum(cls: type[_E], value: object, name: str) -> _E:
    try:
        return cls(value)  # type: ignore[arg-type]  # a non-str raises ValueError too
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise bad_request(
            N_("{name} must be one of {allowed}"), name=phrase(name), allowed=allowed
        ) from None


def _options(options: object) -> tuple[Option, ...]:
    if isinstance(options, str):
        options = [x for x in (p.strip() for p in options.split(",")) if x]
    if not isinstance(options, list | tuple):
        raise bad_request(N_("options must be a list"))
    out = []
    for n, o in enumerate(options, 1):
        if isinstance(o, str):
            out.append(Option(_text(o, N_("option label"), MAX_LABEL, required=True)))
        elif isinstance(o, dict):
            image = check_image_path(o.get("image"), N_("option image"))
            # An option may be its image alone; then its image_alt says what it shows.
            label = _text(o.get("label"), N_("option label"), MAX_LABEL, required=not image)
            desc = _text(o.get("description", ""), N_("option description"), MAX_DESCRIPTION)
            alt = _text(o.get("image_alt", ""), N_("image_alt"), MAX_ALT)
            if image and not label and not alt:
                raise bad_request(
                    N_(
                        "option {n} is an image without a label: give its image_alt (what "
                        "the image shows, for those who cannot see it)"
                    ),
                    n=n,
                )
            out.append(Option(label, desc, image, alt))
        else:
            raise bad_request(N_("each option is a label or an object with a label or an image"))
    return tuple(out)


#: The labels a kind's options show when they keep their defaults, by position: yes/no
#: options are stored as the English "Yes" and "No", VS sides left blank. These are the
#: catalog's msgids, translated where a page or an export shows them.
FIXED_LABELS: dict[Kind, tuple[str, ...]] = {
    Kind.YESNO: (N_("Yes"), N_("No")),
    Kind.VS: (N_("Side A"), N_("Side B")),
}


def fixed_label(kind: Kind, index: int, label: str) -> str | None:
    """The msgid to show for option ``index`` if ``label`` is its kind's default, else None.

    A yes/no label equal to "Yes" or "No" is that default (wherever it stands); a blank VS
    side is "Side A" or "Side B" by position. Any other label is shown as the host wrote it.
    """
    text = label.strip()
    if kind is Kind.YESNO and text in FIXED_LABELS[Kind.YESNO]:
        return text
    if kind is Kind.VS and not text and index in (0, 1):
        return FIXED_LABELS[Kind.VS][index]
    return None


#: For ``rooms.survey``, whose parts take titles and options as questions do.
check_text = _text
parse_options = _options
