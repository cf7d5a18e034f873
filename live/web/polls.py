"""Citywide polls over HTTP: made by a signed-in citizen (general) or a department's
official (policy), read by anyone, changed only by their author or department.

Voting and the live tally go over the socket (``join`` with the poll's id), as in a room.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import officials, store
from live.clock import now_ms
from live.polls import store as polls
from live.services import Services
from live.web import api, citizens, export
from live.web.pages import _js_strings, error_text, render
from rooms.areas import AREAS
from rooms.errors import N_, ErrorCode, VotingError, bad_request, not_found
from rooms.polls import (
    BADGES,
    MAX_QUESTIONS,
    Author,
    PollKind,
    check_edit,
    check_poll,
    is_policy,
)
from rooms.questions import QuestionSpec, build_question


async def _official(request: Request, svc: Services) -> Author | None:
    host_id = await api.signed_in(request)
    if host_id is None:
        return None
    official = await officials.official_of(svc, host_id)
    if official is None or official.department is None:
        return Author(host_id=host_id)
    return Author(host_id=host_id, department_id=official.department.id)


async def author_of(request: Request, kind: PollKind) -> Author:
    """Who asks, as the kind of poll needs them: a signed-in official of a department for
    a policy poll, a signed-in citizen for a general one."""
    svc = api.services(request)
    if is_policy(kind):
        official = await _official(request, svc)
        if official is None and await citizens.signed_in(request) is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        if official is None or official.department_id is None:
            raise VotingError(ErrorCode.NOT_OFFICIAL)
        return official
    citizen_id = await citizens.signed_in(request)
    if citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return Author(citizen_id=citizen_id)


def _questions(value: object) -> list[QuestionSpec]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_QUESTIONS:
        raise bad_request(N_("questions is a list of 1 to {n} questions"), n=MAX_QUESTIONS)
    specs = []
    for q in value:
        if not isinstance(q, dict):
            raise bad_request(N_("each question is an object"))
        specs.append(
            build_question(
                q.get("title"),
                q.get("kind", "single"),
                q.get("options", []),
                max_choices=q.get("max_choices"),
                description=q.get("description", ""),
                scale=q.get("scale", 5),
                image=q.get("image", ""),
                image_alt=q.get("image_alt", ""),
            )
        )
    return specs


async def _view(svc: Services, poll: polls.Poll) -> dict[str, Any]:
    body = poll.public()
    loaded = await store.load_questions(svc, list(poll.question_ids))
    body["questions"] = [q.public() for q in loaded]
    return body


async def create_poll(request: Request) -> Response:
    data = await api.json_body(request)
    spec = check_poll(data, now_ms=now_ms())
    author = await author_of(request, spec.kind)
    questions = _questions(data.get("questions"))
    svc = api.services(request)
    poll = await polls.create_poll(svc, spec, questions, author)
    return api.ok({"poll": await _view(svc, poll)}, 201)


async def get_poll(request: Request) -> Response:
    svc = api.services(request)
    poll = await polls.load_poll(svc, request.path_params["poll_id"])
    if poll is None:
        raise not_found(N_("poll {id}"), request.path_params["poll_id"])
    return api.ok({"poll": await _view(svc, poll)})


async def edit_poll(request: Request) -> Response:
    """``PATCH {"title"?, "description"?, "tags"?}``: its author, or for a policy poll an
    official of its department, only."""
    svc = api.services(request)
    poll_id = request.path_params["poll_id"]
    found = await polls.load_poll(svc, poll_id)
    if found is None:
        raise not_found(N_("poll {id}"), poll_id)
    who = await author_of(request, found.spec.kind)
    await polls.poll_for(svc, poll_id, who)
    spec = check_edit(await api.json_body(request), found.spec)
    poll = await polls.edit_poll(svc, poll_id, spec.title, spec.description, spec.tags)
    return api.ok({"poll": await _view(svc, poll)})


async def poll_page(request: Request) -> Response:
    """The poll's public page: what it asks, who asks it and until when; its questions,
    ballots and live tally through the vote page's script, joined by the poll's id."""
    svc = api.services(request)
    poll = await polls.load_poll(svc, request.path_params["poll_id"])
    if poll is None:
        message = error_text(not_found(N_("poll {id}"), request.path_params["poll_id"]))
        return render(request, "error.html", {"message": message}, 404)
    spec = poll.spec
    department = None
    if poll.owner.department_id is not None:
        department = await officials.department_by_id(svc, poll.owner.department_id)
    zone = svc.settings.zone
    context = {
        "poll": poll,
        "badge": BADGES[spec.kind],
        "area": AREAS[spec.area],
        "department": department.name if department else None,
        "opens": _when(spec.opens_ms, zone),
        "closes": _when(spec.closes_ms, zone),
        "zone": svc.settings.timezone,
        "signed_in": await citizens.signed_in(request) is not None,
        "page_data": {"poll": poll.id, "strings": _js_strings()},
        "live_script": "vote.js",
    }
    return render(request, "poll.html", context)


def _when(ms: int, zone: tzinfo) -> str:
    at = export.local_time(ms, zone)
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M")


routes = [
    Route("/polls/{poll_id}", poll_page, methods=["GET"]),
    Route("/api/polls", create_poll, methods=["POST"]),
    Route("/api/polls/{poll_id}", get_poll, methods=["GET"]),
    Route("/api/polls/{poll_id}", edit_poll, methods=["PATCH"]),
]
