"""The JSON API for host actions. Every error has the shape of a socket ack's."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from live import db, hosts, store
from live.errors import error_body, status_of
from live.services import Services
from rooms.errors import ErrorCode, VotingError, bad_request
from rooms.questions import Action, build_question


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(body: dict[str, Any], status: int = 200) -> Response:
    return _Json({"ok": True, **body}, status_code=status)


async def handle_voting_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VotingError)
    return _Json(error_body(exc), status_code=status_of(exc))


def _svc(request: Request) -> Services:
    svc: Services | None = request.app.state.services
    if svc is None:
        raise VotingError(ErrorCode.UNAVAILABLE)
    return svc


async def _body(request: Request) -> dict[str, Any]:
    # JSON only: a cross-site form cannot send it without a CORS preflight we never allow.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise bad_request("send application/json")
    raw = await request.body()
    if len(raw) > 256 * 1024:
        raise bad_request("the body is larger than 256 KiB")
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise bad_request("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("the body is a JSON object")
    return data


def _host_id(request: Request) -> str:
    host_id = request.session.get("host")
    if not isinstance(host_id, str):
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return host_id


async def _own_room(request: Request, room_id: str) -> dict[str, str]:
    host_id = _host_id(request)
    room = await store.room_by_id(_svc(request), room_id)
    if room is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="room", id=room_id)
    if room.get("owner") != host_id:
        raise VotingError(ErrorCode.FORBIDDEN)
    return room


def public_urls(request: Request | None, svc: Services, room: dict[str, str]) -> dict[str, str]:
    base = svc.settings.public_url or (str(request.base_url).rstrip("/") if request else "")
    return {
        "join_url": f"{base}/j/{room['number']}?key={room['key']}",
        "presenter_url": f"{base}/present/{room['number']}?token={room['presenter']}",
    }


async def sign_up(request: Request) -> Response:
    data = await _body(request)
    host = await hosts.sign_up(
        _svc(request), data.get("email"), data.get("password"), data.get("name", "")
    )
    request.session["host"] = host.id
    return ok({"host": {"id": host.id, "email": host.email, "name": host.name}}, 201)


async def sign_in(request: Request) -> Response:
    data = await _body(request)
    host = await hosts.sign_in(_svc(request), data.get("email"), data.get("password"))
    request.session["host"] = host.id
    return ok({"host": {"id": host.id, "email": host.email, "name": host.name}})


async def sign_out(request: Request) -> Response:
    request.session.clear()
    return ok({})


async def list_rooms(request: Request) -> Response:
    host_id = _host_id(request)
    async with _svc(request).engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.rooms.c.id, db.rooms.c.number, db.rooms.c.title)
            .where(db.rooms.c.owner_id == host_id)
            .order_by(db.rooms.c.created_ms.desc())
        )
        return ok({"rooms": [{"id": r.id, "number": r.number, "title": r.title} for r in rows]})


async def create_room(request: Request) -> Response:
    host_id = _host_id(request)
    data = await _body(request)
    password = data.get("password")
    if password is not None and not isinstance(password, str):
        raise bad_request("password must be text")
    title = data.get("title")
    if not isinstance(title, str):
        raise bad_request("title must be text")
    svc = _svc(request)
    info = await store.create_room(svc, title=title, password=password, owner_id=host_id)
    room = await store.room_by_id(svc, info.id)
    assert room is not None
    return ok({"room": {**info.as_dict(), **public_urls(request, svc, room)}}, 201)


async def get_room(request: Request) -> Response:
    room = await _own_room(request, request.path_params["room_id"])
    svc = _svc(request)
    qs = await store.load_questions(svc, await store.question_ids(svc, room["id"]))
    current = await store.tallies(svc, qs)
    return ok(
        {
            "room": {
                "id": room["id"],
                "number": room["number"],
                "title": room["title"],
                "password": room["password"],
                "key": room["key"],
                **public_urls(request, svc, room),
            },
            "questions": [{**q.public(), "tally": current[q.id]} for q in qs],
        }
    )


async def add_question(request: Request) -> Response:
    room = await _own_room(request, request.path_params["room_id"])
    data = await _body(request)
    spec = build_question(
        data.get("title"),
        data.get("kind", "single"),
        data.get("options", []),
        max_choices=data.get("max_choices"),
        visibility=data.get("visibility", "live"),
        description=data.get("description", ""),
        scale=data.get("scale", 5),
    )
    q = await store.add_question(_svc(request), room["id"], spec)
    return ok({"question": q.public()}, 201)


async def question_action(request: Request) -> Response:
    svc = _svc(request)
    qid = request.path_params["question_id"]
    try:
        action = Action(request.path_params["action"])
    except ValueError:
        raise VotingError(
            ErrorCode.NOT_FOUND, what="action", id=request.path_params["action"]
        ) from None
    q = await store.load_question(svc, qid)
    if q is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="question", id=qid)
    await _own_room(request, q.room_id)
    updated = await store.act(svc, qid, action)
    return ok({"question": updated.public()})


async def healthz(request: Request) -> Response:
    svc: Services | None = request.app.state.services
    if svc is None:
        return _Json(
            {"ok": False, "error": {"code": "starting", "message": "The node is starting."}}, 503
        )
    try:
        await svc.redis.ping()
        async with svc.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception:
        return _Json(error_body(VotingError(ErrorCode.UNAVAILABLE)), status_code=503)
    return ok({})


routes = [
    Route("/healthz", healthz),
    Route("/api/hosts", sign_up, methods=["POST"]),
    Route("/api/session", sign_in, methods=["POST"]),
    Route("/api/session", sign_out, methods=["DELETE"]),
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms/{room_id}", get_room, methods=["GET"]),
    Route("/api/rooms/{room_id}/questions", add_question, methods=["POST"]),
    Route("/api/questions/{question_id}/{action}", question_action, methods=["POST"]),
]
