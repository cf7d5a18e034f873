"""Citywide polls as plain values: their kinds, who may open and change them, and the
check of what an author sends.

A poll runs on the live core: its questions are questions of a room of its own, cast,
tallied, shown and logged as any room's. What a poll adds is who votes (signed-in
citizens, one ballot per citizen per question whatever the device), who opens it
(citizens open general polls; a department's officials open policy polls), and when it
runs (it opens and closes itself at the times it was given).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from rooms.areas import Area
from rooms.eligibility import Target, check_target
from rooms.errors import N_, ErrorCode, VotingError, bad_request, invalid_state
from rooms.media import check_image_path
from rooms.visibility import Visibility

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_TAGS = 10
MAX_TAG = 30
MAX_QUESTIONS = 20
#: A poll runs at least this long (ms), and at most ``LONGEST``.
SHORTEST = 60_000
LONGEST = 366 * 86_400_000
#: How far in the past an opening may be set (a form filled a little while ago): "now".
OPENS_SLACK = 5 * 60_000


class PollKind(StrEnum):
    GENERAL = "general"  #: citizens asking each other
    POLICY_DECISION = "policy_decision"  #: the city applies the result in full
    POLICY_REFERENCE = "policy_reference"  #: the result informs the city's decision


class PollStatus(StrEnum):
    SCHEDULED = "scheduled"  #: made; opens at ``opens_ms``
    OPEN = "open"
    CLOSED = "closed"


#: The badge a kind of poll carries (translated where it is shown).
BADGES: dict[PollKind, str] = {
    PollKind.GENERAL: N_("General poll"),
    PollKind.POLICY_DECISION: N_("Policy reflected"),
    PollKind.POLICY_REFERENCE: N_("Policy reference"),
}


def is_policy(kind: PollKind) -> bool:
    return kind is not PollKind.GENERAL


@dataclass(frozen=True)
class Author:
    """Who asks to open or change a poll: a signed-in citizen, or an official (a host
    who acts for a department)."""

    citizen_id: str | None = None
    host_id: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float


@dataclass(frozen=True)
class PollSpec:
    kind: PollKind
    title: str
    description: str
    area: Area
    tags: tuple[str, ...]
    opens_ms: int
    closes_ms: int
    visibility: Visibility
    place: Place | None = None
    image: str = ""
    image_alt: str = ""
    target: Target = Target()  #: who may vote (``rooms.eligibility``); empty: every citizen
    #: Whether citizens may comment (None: the kind's default, ``rooms.comments``).
    comments: bool | None = None


def check_author(kind: PollKind, author: Author, target: Target | None = None) -> None:
    """Citizens open general polls; only a department's officials open policy polls, and
    only they target roster groups or departments (an internal vote). Only a host can
    show a poll's on-site code (its room's presenter screen): a citizen's poll, whose
    room has no host, cannot ask for it."""
    narrowed = target is not None and bool(target.groups or target.departments)
    if is_policy(kind) or narrowed:
        if author.host_id is None or author.department_id is None:
            raise VotingError(ErrorCode.NOT_OFFICIAL)
    elif author.citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    if target is not None and target.site and author.host_id is None:
        raise bad_request(
            N_(
                "site: only a host or an official running the poll in a hall can show its "
                "on-site code; a citizen's poll cannot ask for it"
            )
        )


def may_manage(poll_kind: PollKind, owner: Author, who: Author) -> bool:
    """Whether ``who`` may change a poll opened by ``owner``: its citizen author, or, for
    a policy poll, any official of its department."""
    if is_policy(poll_kind):
        return who.department_id is not None and who.department_id == owner.department_id
    return who.citizen_id is not None and who.citizen_id == owner.citizen_id


def _text(value: object, name: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad_request(N_("{name} must be text"), name=name)
    text = value.strip()
    if required and not text:
        raise bad_request(N_("{name} is required"), name=name)
    if len(text) > limit:
        raise bad_request(N_("{name} is longer than {limit} characters"), name=name, limit=limit)
    return text


def normalise_tag(raw: str) -> str:
    """A tag as it is matched: NFKC, case folded, a leading ``#`` and spaces dropped."""
    text = unicodedata.normalize("NFKC", raw).casefold().strip().lstrip("#").strip()
    return "-".join(text.split())


def check_tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [t for t in value.replace("#", ",").split(",")]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise bad_request(N_("tags is a list of words"))
    tags: list[str] = []
    for raw in value:
        tag = normalise_tag(raw)
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise bad_request(N_("a tag has at most {limit} characters"), limit=MAX_TAG)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise bad_request(N_("a poll has at most {n} tags"), n=MAX_TAGS)
    return tuple(tags)


def _ms(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_request(N_("{name} is a time in milliseconds since 1970"), name=name)
    return value


def check_place(value: object) -> Place | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_request(N_("place is an object with lat and lon"))
    lat, lon = value.get("lat"), value.get("lon")
    ok = all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in (lat, lon)
    )
    if not ok or not -85.05 <= float(lat) <= 85.05 or not -180 <= float(lon) <= 180:  # type: ignore[arg-type]
        raise bad_request(N_("place needs a latitude within ±85 and a longitude within ±180"))
    return Place(float(lat), float(lon))  # type: ignore[arg-type]


def _enum(cls: Any, value: object, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise bad_request(N_("{name} is one of {allowed}"), name=name, allowed=allowed) from None


def check_poll(data: Mapping[str, Any], *, now_ms: int, shortest_ms: int = SHORTEST) -> PollSpec:
    """The poll an author's request describes (its questions apart), or ``bad_request``;
    it runs at least ``shortest_ms``."""
    kind = _enum(PollKind, data.get("kind", PollKind.GENERAL), N_("kind"))
    title = _text(data.get("title"), N_("title"), MAX_TITLE, required=True)
    description = _text(data.get("description"), N_("description"), MAX_DESCRIPTION)
    area = _enum(Area, data.get("area"), N_("area"))
    visibility = _enum(Visibility, data.get("visibility", Visibility.LIVE), N_("visibility"))
    opens = _ms(data.get("opens_ms", now_ms), "opens_ms")
    closes = _ms(data.get("closes_ms"), "closes_ms")
    if opens < now_ms - OPENS_SLACK:
        raise bad_request(N_("a poll cannot open in the past"))
    opens = max(opens, now_ms)
    place = check_place(data.get("place"))
    if closes - opens < shortest_ms:
        raise bad_request(N_("a poll runs at least {seconds} seconds"), seconds=shortest_ms // 1000)
    if closes - opens > LONGEST:
        raise bad_request(N_("a poll runs at most a year"))
    return PollSpec(
        kind=kind,
        title=title,
        description=description,
        area=area,
        tags=check_tags(data.get("tags")),
        opens_ms=opens,
        closes_ms=closes,
        visibility=visibility,
        place=place,
        image=check_image_path(data.get("image"), N_("image")),
        image_alt=_text(data.get("image_alt"), N_("image_alt"), 300),
        target=check_target(data.get("target"), has_place=place is not None),
        comments=_flag(data.get("comments"), N_("comments")),
    )


def _flag(value: object, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise bad_request(N_("{name} is true, false or null"), name=name)


#: What an author may change once a poll is made (its kind, times and questions are fixed).
EDITABLE = ("title", "description", "tags")


def check_edit(data: Mapping[str, Any], spec: PollSpec) -> PollSpec:
    """``spec`` with the changes ``data`` asks for; ``bad_request`` for anything else."""
    if not data or set(data) - set(EDITABLE):
        raise bad_request(N_("a poll's title, description and tags can be changed"))
    title = _text(data.get("title", spec.title), N_("title"), MAX_TITLE, required=True)
    description = _text(
        data.get("description", spec.description), N_("description"), MAX_DESCRIPTION
    )
    tags = check_tags(data["tags"]) if "tags" in data else spec.tags
    return replace(spec, title=title, description=description, tags=tags)


MAX_REFLECTION = 5000
MAX_LINK = 500


@dataclass(frozen=True)
class Reflection:
    """How a policy poll's result was reflected: what was done, on which day, and where to
    read more."""

    text: str
    reflected_on: str  #: YYYY-MM-DD
    link: str = ""


def check_reflection(data: Mapping[str, Any]) -> Reflection:
    text = _text(data.get("text"), N_("text"), MAX_REFLECTION, required=True)
    raw = data.get("date")
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise bad_request(N_("date is a day written YYYY-MM-DD"))
    link = _text(data.get("link"), N_("link"), MAX_LINK)
    if link and not (link.startswith(("https://", "http://")) and " " not in link):
        raise bad_request(N_("link is an http or https address"))
    return Reflection(text, day.isoformat(), link)


def check_reflecting(kind: PollKind, status: PollStatus) -> None:
    """A reflection is published for a policy poll, once it closed."""
    if not is_policy(kind):
        raise invalid_state(N_("Only a policy poll's result is reflected."))
    if status is not PollStatus.CLOSED:
        raise invalid_state(N_("A poll's reflection is published once it has closed."))


def status_at(opens_ms: int, closes_ms: int, now_ms: int) -> PollStatus:
    """Where a poll's times put it at ``now_ms`` (the jobs make it so on time)."""
    if now_ms >= closes_ms:
        return PollStatus.CLOSED
    if now_ms >= opens_ms:
        return PollStatus.OPEN
    return PollStatus.SCHEDULED
