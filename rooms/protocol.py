"""Parsing the live protocol's client payloads into typed requests (no sockets here)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rooms.discovery import check_position
from rooms.errors import N_, bad_request
from rooms.survey import MAX_PARTS
from rooms.words import MAX_ANSWERS, MAX_RAW_ANSWER

_ROOM = re.compile(r"[0-9]{6}")  # ASCII only: str patterns take \d as any Unicode digit
_QUESTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NONCE = re.compile(r"[0-9a-f]{32}")
_SITE = re.compile(r"[0-9]{6}")
_PASS = re.compile(r"[0-9]{1,12}\.[A-Za-z0-9_-]{24}")  # rooms.sitecode.site_pass
MAX_SECRET = 200


@dataclass(frozen=True, slots=True)
class JoinRequest:
    room: str  #: "" when ``poll`` is given
    password: str | None = None
    key: str | None = None
    presenter: str | None = None
    poll: str | None = None  #: a citywide poll's id: its citizens join by it, signed in
    site: str | None = None  #: the on-site code the room's screen shows (``rooms.sitecode``)
    site_pass: str | None = None  #: the pass an earlier join with the code gave this device


@dataclass(frozen=True, slots=True)
class VoteRequest:
    question: str
    choices: tuple[int, ...]  #: () when the ballot carries ``answers``
    nonce: str | None = None
    answers: tuple[str, ...] = ()  #: an open-text ballot's answers, as written
    #: where the voter is (latitude, longitude), for a poll that takes ballots near a place
    position: tuple[float, float] | None = None
    #: a survey ballot's picks, a list per part by the part's own option indexes
    parts: tuple[tuple[int, ...], ...] = ()


def parse_join(data: object) -> JoinRequest:
    if not isinstance(data, dict):
        raise bad_request(
            N_("join takes an object with room and one of password, key or presenter")
        )
    site, site_pass = _site(data)
    if "poll" in data:
        poll = data.get("poll")
        extra = set(data) - {"poll", "site", "site_pass"}
        if extra or not isinstance(poll, str) or not _QUESTION.fullmatch(poll):
            raise bad_request(N_("a poll is joined with its id alone"))
        return JoinRequest("", poll=poll, site=site, site_pass=site_pass)
    room = data.get("room")
    if isinstance(room, int) and not isinstance(room, bool):
        room = f"{room:06d}"
    if not isinstance(room, str) or not _ROOM.fullmatch(room):
        raise bad_request(N_("room is a six-digit number"))
    secrets = {name: data.get(name) for name in ("password", "key", "presenter")}
    given = {k: v for k, v in secrets.items() if v is not None}
    if len(given) != 1:
        raise bad_request(N_("give exactly one of password, key or presenter"))
    ((name, value),) = given.items()
    if not isinstance(value, str) or len(value) > MAX_SECRET:
        raise bad_request(N_("{name} must be text"), name=name)
    return JoinRequest(room, site=site, site_pass=site_pass, **{name: value})


def _site(data: dict[str, object]) -> tuple[str | None, str | None]:
    site, site_pass = data.get("site"), data.get("site_pass")
    if site is not None and (not isinstance(site, str) or not _SITE.fullmatch(site)):
        raise bad_request(N_("site is the six-digit code the room's screen shows"))
    if site_pass is not None and (not isinstance(site_pass, str) or not _PASS.fullmatch(site_pass)):
        raise bad_request(N_("site_pass is the pass an earlier join gave"))
    return site, site_pass


def parse_vote(data: object) -> VoteRequest:
    if not isinstance(data, dict):
        raise bad_request(N_("vote takes an object with question and choices"))
    question = data.get("question")
    if not isinstance(question, str) or not _QUESTION.fullmatch(question):
        raise bad_request(N_("question is a question id"))
    nonce = data.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not _NONCE.fullmatch(nonce)):
        raise bad_request(N_("nonce is 32 lowercase hex digits"))
    position = _position(data.get("position"))
    if "answers" in data:
        if "choices" in data:
            raise bad_request(N_("a ballot carries choices or answers, not both"))
        return VoteRequest(question, (), nonce, _answers(data["answers"]), position=position)
    if "parts" in data:
        if "choices" in data:
            raise bad_request(N_("a ballot carries choices or parts, not both"))
        return VoteRequest(question, (), nonce, parts=_parts(data["parts"]), position=position)
    choices = data.get("choices")
    if not isinstance(choices, list) or not 1 <= len(choices) <= 64:
        raise bad_request(N_("choices is a non-empty list of option indexes"))
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in choices):
        raise bad_request(N_("choices is a list of option indexes"))
    return VoteRequest(question, tuple(choices), nonce, position=position)


def _position(value: object) -> tuple[float, float] | None:
    """A ballot's ``{"lat", "lon"}``: numbers (never text or true), within the ranges
    ``rooms.discovery.check_position`` takes."""
    if value is None:
        return None
    lat = value.get("lat") if isinstance(value, dict) else None
    lon = value.get("lon") if isinstance(value, dict) else None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        raise bad_request(N_("position is an object with the numbers lat and lon"))
    return check_position(lat, lon)


def _answers(answers: object) -> tuple[str, ...]:
    if not isinstance(answers, list) or not 1 <= len(answers) <= MAX_ANSWERS:
        raise bad_request(N_("answers is a list of 1 to {n} texts"), n=MAX_ANSWERS)
    if not all(isinstance(a, str) and len(a) <= MAX_RAW_ANSWER for a in answers):
        raise bad_request(
            N_("each answer is a text of at most {limit} characters"), limit=MAX_RAW_ANSWER
        )
    return tuple(answers)


#: Each part's answer has at most as many picks as a question has options.
_MAX_PICKS = 64


def _parts(parts: object) -> tuple[tuple[int, ...], ...]:
    if (
        not isinstance(parts, list)
        or not 1 <= len(parts) <= MAX_PARTS
        or not all(isinstance(p, list) and len(p) <= _MAX_PICKS for p in parts)
    ):
        raise bad_request(
            N_("parts is a list of 1 to {n} lists of option indexes, one per part"), n=MAX_PARTS
        )
    if not all(isinstance(c, int) and not isinstance(c, bool) for p in parts for c in p):
        raise bad_request(N_("each part's answer is a list of option indexes"))
    return tuple(tuple(p) for p in parts)
