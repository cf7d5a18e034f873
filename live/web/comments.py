"""Comments and reports over HTTP (``live.comments``, ``live.moderation.reports``)::

GET    /api/polls/<poll>/comments?before=<cursor>   a page of the thread
POST   /api/polls/<poll>/comments                   {"body", "parent"?}: a comment or reply
PATCH  /api/comments/<id>                           {"body"}: its author, within minutes
DELETE /api/comments/<id>                           its author
POST   /api/reports                                 {"kind": poll|comment, "id", "reason", "note"?}
GET    /api/citizens/me/moderation                  what monitors did to my polls and comments
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import comments
from live.moderation import reports
from live.web import api, citizens
from rooms.comments import ReportReason, Target, check_enum
from rooms.errors import N_, ErrorCode, VotingError, bad_request


async def _citizen(request: Request) -> str:
    citizen_id = await citizens.signed_in(request)
    if citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return citizen_id


async def list_comments(request: Request) -> Response:
    svc = api.services(request)
    viewer = await citizens.signed_in(request)
    poll_id = request.path_params["poll_id"]
    await comments.open_poll_for_comments(svc, poll_id)
    before = comments.parse_cursor(request.query_params.get("before"))
    found, cursor = await comments.thread(svc, poll_id, viewer=viewer, before=before)
    return api.ok({"comments": [c.public() for c in found], "before": cursor})


async def post_comment(request: Request) -> Response:
    svc = api.services(request)
    citizen_id = await _citizen(request)
    body = await api.json_body(request)
    made = await comments.post(
        svc, request.path_params["poll_id"], citizen_id, body.get("body"), body.get("parent")
    )
    return api.ok({"comment": made.public()}, 201)


async def edit_comment(request: Request) -> Response:
    svc = api.services(request)
    citizen_id = await _citizen(request)
    body = await api.json_body(request)
    changed = await comments.edit(
        svc, request.path_params["comment_id"], citizen_id, body.get("body")
    )
    return api.ok({"comment": changed.public()})


async def delete_comment(request: Request) -> Response:
    svc = api.services(request)
    citizen_id = await _citizen(request)
    gone = await comments.delete_own(svc, request.path_params["comment_id"], citizen_id)
    return api.ok({"comment": gone.public()})


async def report(request: Request) -> Response:
    svc = api.services(request)
    citizen_id = await _citizen(request)
    body = await api.json_body(request)
    kind = check_enum(Target, body.get("kind"), "kind")
    reason = check_enum(ReportReason, body.get("reason"), "reason")
    target_id = body.get("id")
    if not isinstance(target_id, str) or not 0 < len(target_id) <= 32:
        raise bad_request(N_("{name} is required"), name="id")
    await reports.report(svc, citizen_id, kind, target_id, reason, body.get("note"))
    return api.ok({"reported": True}, 201)


async def my_moderation(request: Request) -> Response:
    svc = api.services(request)
    citizen_id = await _citizen(request)
    return api.ok({"actions": await reports.actions_on(svc, citizen_id)})


routes = [
    Route("/api/polls/{poll_id}/comments", list_comments, methods=["GET"]),
    Route("/api/polls/{poll_id}/comments", post_comment, methods=["POST"]),
    Route("/api/comments/{comment_id}", edit_comment, methods=["PATCH"]),
    Route("/api/comments/{comment_id}", delete_comment, methods=["DELETE"]),
    Route("/api/reports", report, methods=["POST"]),
    Route("/api/citizens/me/moderation", my_moderation, methods=["GET"]),
]
