"""The JSON API for host actions. Every error has the shape of a socket ack's.

Every room endpoint admits the room's owner and co-hosts (``room_for_host``); inviting
and removing hosts is the owner's alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from live import agenda, answers, cohosts, drafts, health, hosts, limits, media, sessions, store
from live.clock import now_ms
from live.engines import db
from live.errors import error_body, status_of
from live.services import Services
from live.web import bodies, export, i18n, survey_export
from rooms.cohosts import Role, check_host, check_owner
from rooms.errors import N_, ErrorCode, VotingError, bad_request, invalid_state, not_found
from rooms.media import MAX_BYTES, check_upload_size, content_type
from rooms.questions import Action, Kind, QuestionSpec, build_question
from rooms.questions import edit_question as edit_question_spec

#: What a multipart form may add around a 5 MiB file (boundaries, part headers).
_FORM_OVERHEAD = 64 * 1024
#: Past this much, a refused upload is not read to its end: the connection is dropped.
_DRAIN_LIMIT = 4 * MAX_BYTES
#: Where the request's signed-in host is kept once its session was checked.
_HOST = "mvoting.host"

#: The rooms a host owns or co-hosts (for the console's pages too).
rooms_of = cohosts.rooms_of


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(body: dict[str, Any], status: int = 200) -> Response:
    return _Json({"ok": True, **body}, status_code=status)


async def handle_voting_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VotingError)
    # The sentence in the request's language (``LocaleMiddleware`` chose it).
    body = error_body(exc, i18n.gettext)
    headers = {}
    retry_after = exc.fields.get("retry_after")
    if isinstance(retry_after, int):
        # A limit says when to come back: in the body for scripts, in the header for HTTP.
        body["error"]["retry_after"] = retry_after
        headers["Retry-After"] = str(retry_after)
    return _Json(body, status_code=status_of(exc), headers=headers)


def services(request: Request) -> Services:
    svc: Services | None = request.app.state.services
    if svc is None:
        raise VotingError(ErrorCode.UNAVAILABLE)
    return svc


async def json_body(request: Request) -> dict[str, Any]:
    # JSON only: a cross-site form cannot send it without a CORS preflight we never allow.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise bad_request(N_("send application/json"))
    raw = await bodies.read(request, bodies.JSON_LIMIT)
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise bad_request(N_("the body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise bad_request(N_("the body is a JSON object"))
    if b"\\u0000" in raw:  # JSON writes U+0000 only so
        bodies.check_no_nul(data)
    return data


def client_address(request: Request) -> str | None:
    """The client's address (behind a proxy trusted by ``FORWARDED_ALLOW_IPS``, the one
    it forwarded for)."""
    return request.client.host if request.client else None


#: Cookie field set while the signed-in host must change a one-time password first.
MUST_CHANGE = "pwchange"


async def session_host(request: Request) -> str | None:
    """The host whose session the request carries, its server-side session checked once
    per request, whether or not a one-time password is still to be changed."""
    if _HOST not in request.scope:
        found = None
        if sessions.HOST in request.session:
            found = await sessions.host_of(services(request), request.session)
        if found is None:
            request.session.pop(MUST_CHANGE, None)
        request.scope[_HOST] = found
    host_id: str | None = request.scope[_HOST]
    return host_id


def must_change_password(request: Request) -> bool:
    return bool(request.session.get(MUST_CHANGE))


async def signed_in(request: Request) -> str | None:
    """The signed-in host's id; ``None`` too while a one-time password is to be changed
    (only the password change is open to such a session)."""
    host_id = await session_host(request)
    return None if must_change_password(request) else host_id


async def begin_session(
    request: Request, host_id: str, generation: int, *, must_change: bool = False
) -> None:
    await sessions.begin(services(request), request.session, host_id, generation)
    if must_change:
        request.session[MUST_CHANGE] = True
    else:
        request.session.pop(MUST_CHANGE, None)
    request.scope[_HOST] = host_id


async def _host_id(request: Request) -> str:
    host_id = await signed_in(request)
    if host_id is None:
        if must_change_password(request) and await session_host(request) is not None:
            raise VotingError(ErrorCode.PASSWORD_CHANGE_REQUIRED)
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return host_id


async def room_for_host(request: Request, room_id: str) -> dict[str, str]:
    """The live room, with the signed-in host's ``role`` in it; else refused.

    ``not_found`` for no such room, ``forbidden`` for a host who neither owns nor co-hosts it.
    """
    host_id = await _host_id(request)
    svc = services(request)
    room = await store.room_by_id(svc, room_id)
    if room is None:
        raise not_found(N_("room {id}"), room_id)
    role = check_host(await cohosts.role_of(svc, room_id, host_id))
    return {**room, "role": str(role)}


async def _question_for_host(request: Request) -> tuple[store.LiveQuestion, dict[str, str]]:
    qid = request.path_params["question_id"]
    q = await store.load_question(services(request), qid)
    if q is None:
        raise not_found(N_("question {id}"), qid)
    return q, await room_for_host(request, q.room_id)


def _run_by_host(room: dict[str, str], action: Action | None = None) -> None:
    """Refuse what a poll's room does not let its hosts do: its questions open and close
    on the poll's schedule and change only through the poll (``live.polls``), so that a
    binding poll is never reset, reopened or given new questions from a console; a host
    of it may close one early."""
    if room.get("poll") and action is not Action.CLOSE:
        raise invalid_state(
            N_(
                "This room is a poll's: its questions follow the poll's schedule, and a "
                "host may only close one early."
            )
        )


def _base_url(request: Request | None, svc: Services) -> str:
    return svc.settings.public_url or (str(request.base_url).rstrip("/") if request else "")


def public_urls(request: Request | None, svc: Services, room: dict[str, str]) -> dict[str, str]:
    base = _base_url(request, svc)
    return {
        "join_url": f"{base}/j/{room['number']}?key={room['key']}",
        "presenter_url": f"{base}/present/{room['number']}?token={room['presenter']}",
    }


def _host_body(host: hosts.Host) -> dict[str, Any]:
    return {"host": {"id": host.id, "email": host.email, "name": host.name}}


async def sign_up(request: Request) -> Response:
    data = await json_body(request)
    done = await hosts.sign_up(
        services(request),
        data.get("email"),
        data.get("password"),
        data.get("name", ""),
        address=client_address(request),
    )
    await begin_session(request, done.host.id, done.generation)
    return ok(_host_body(done.host), 201)


async def sign_in(request: Request) -> Response:
    data = await json_body(request)
    done = await hosts.sign_in(
        services(request), data.get("email"), data.get("password"), address=client_address(request)
    )
    must = done.must_change_password
    await begin_session(request, done.host.id, done.generation, must_change=must)
    return ok({**_host_body(done.host), "must_change_password": must})


async def sign_out(request: Request) -> Response:
    await sessions.end(services(request), request.session)
    return ok({})


async def change_password(request: Request) -> Response:
    """``{"password": current, "new_password": new}``: every session of the host ends, and
    this client goes on in a new one (the one-time password of an official included)."""
    host_id = await session_host(request)
    if host_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    data = await json_body(request)
    svc = services(request)
    generation = await hosts.change_password(
        svc,
        host_id,
        data.get("password"),
        data.get("new_password"),
        address=client_address(request),
    )
    await begin_session(request, host_id, generation)
    return ok({})


async def list_rooms(request: Request) -> Response:
    return ok({"rooms": await rooms_of(services(request), await _host_id(request))})


async def create_room(request: Request) -> Response:
    host_id = await _host_id(request)
    data = await json_body(request)
    password = data.get("password")
    if password is not None and not isinstance(password, str):
        raise bad_request(N_("password must be text"))
    title = data.get("title")
    if not isinstance(title, str):
        raise bad_request(N_("title must be text"))
    svc = services(request)
    info = await store.create_room(svc, title=title, password=password, owner_id=host_id)
    room = await store.room_by_id(svc, info.id)
    assert room is not None
    return ok({"room": {**info.as_dict(), **public_urls(request, svc, room)}}, 201)


async def get_room(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    svc = services(request)
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
                "role": room["role"],
                "current": room.get("current") or None,
                "site": store.asks_site_code(room),
                **public_urls(request, svc, room),
            },
            "questions": [
                {**q.public(), "tally": current[q.id], **await _hidden(svc, q)} for q in qs
            ],
        }
    )


async def _hidden(svc: Services, q: store.LiveQuestion) -> dict[str, Any]:
    """For the hosts: the answers hidden from an open-text question's cloud."""
    if q.spec.kind is not Kind.TEXT:
        return {}
    return {"hidden": await answers.hidden_answers(svc, q.id)}


def check_images(svc: Services, spec: QuestionSpec, *more: str) -> None:
    """Every image of the question (and ``more``) is one uploaded here (``build_question``
    checked the form)."""
    for path in (spec.image, *(o.image for o in spec.options), *more):
        if path and not media.exists(svc.settings, path):
            raise bad_request(N_("the image {path} was not uploaded"), path=path)


async def add_question(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    _run_by_host(room)
    data = await json_body(request)
    spec = build_question(
        data.get("title"),
        data.get("kind", "single"),
        data.get("options", []),
        max_choices=data.get("max_choices"),
        visibility=data.get("visibility", "live"),
        description=data.get("description", ""),
        scale=data.get("scale", 5),
        image=data.get("image", ""),
        receipts=data.get("receipts", True),
        image_alt=data.get("image_alt", ""),
        max_ballots=data.get("max_ballots"),
        duration_s=data.get("duration_s"),
        closes_at_ms=data.get("closes_at_ms"),
        parts=data.get("parts"),
    )
    svc = services(request)
    check_images(svc, spec)
    q = await store.add_question(svc, room["id"], spec)
    return ok({"question": q.public()}, 201)


async def edit_question(request: Request) -> Response:
    q, room = await _question_for_host(request)
    _run_by_host(room)
    data = await json_body(request)
    svc = services(request)
    q = await drafts.draft(svc, q.id, "edit")
    spec = edit_question_spec(q.spec, data)
    check_images(svc, spec)
    updated = await drafts.edit(svc, q, spec)
    return ok({"question": updated.public()})


async def delete_question(request: Request) -> Response:
    q, room = await _question_for_host(request)
    _run_by_host(room)
    svc = services(request)
    q = await drafts.draft(svc, q.id, "delete")
    order = await drafts.delete(svc, q)
    return ok({"questions": order})


async def reorder(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    _run_by_host(room)
    data = await json_body(request)
    order = await agenda.reorder(services(request), room["id"], data.get("questions"))
    return ok({"questions": order})


def _moved(moved: agenda.Moved) -> Response:
    return ok(
        {
            "closed": moved.closed.public() if moved.closed else None,
            "opened": moved.opened.public() if moved.opened else None,
            "current": moved.current,
        }
    )


async def next_question(request: Request) -> Response:
    """Close the current question, open the next draft; on the last, end the agenda."""
    room = await room_for_host(request, request.path_params["room_id"])
    _run_by_host(room)
    return _moved(await agenda.advance(services(request), room["id"]))


async def previous_question(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    _run_by_host(room)
    return _moved(await agenda.back(services(request), room["id"]))


async def current_question(request: Request) -> Response:
    """``{"question": id | null}``: show this question on every screen (a draft opens)."""
    room = await room_for_host(request, request.path_params["room_id"])
    _run_by_host(room)
    data = await json_body(request)
    if "question" not in data:
        raise bad_request(N_("question is a question id or null"))
    return _moved(await agenda.make_current(services(request), room["id"], data["question"]))


async def question_action(request: Request) -> Response:
    svc = services(request)
    qid = request.path_params["question_id"]
    try:
        action = Action(request.path_params["action"])
    except ValueError:
        raise not_found(N_("action {id}"), request.path_params["action"]) from None
    _, room = await _question_for_host(request)
    _run_by_host(room, action)
    updated = await store.act(svc, qid, action)
    return ok({"question": updated.public()})


async def hide_answers(request: Request) -> Response:
    """``{"answers": [...], "hidden": true|false}``: take open-text answers off the word
    cloud on every screen, or show them again; answers ``{"hidden": [...]}``."""
    q, _ = await _question_for_host(request)
    data = await json_body(request)
    hidden = await answers.set_hidden(
        services(request), q, data.get("answers"), data.get("hidden", True)
    )
    return ok({"hidden": hidden})


# --- co-hosts ----------------------------------------------------------------------------


async def create_invitation(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    check_owner(Role(room["role"]))
    svc = services(request)
    inv = await cohosts.invite(svc, room["id"], await _host_id(request))
    url = f"{_base_url(request, svc)}/host/invite/{inv.token}"
    return ok({"invitation": {"token": inv.token, "url": url}}, 201)


async def accept_invitation(request: Request) -> Response:
    host_id = await _host_id(request)
    svc = services(request)
    room_id, role = await cohosts.accept(svc, request.path_params["token"], host_id)
    room = await store.room_by_id(svc, room_id)
    if room is None:
        raise not_found(N_("room {id}"), room_id)
    return ok(
        {
            "room": {"id": room["id"], "number": room["number"], "title": room["title"]},
            "role": str(role),
        }
    )


async def list_hosts(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    return ok(
        {
            "hosts": await cohosts.hosts_of(services(request), room["id"]),
            "can_manage": room["role"] == Role.OWNER,
        }
    )


async def remove_host(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    check_owner(Role(room["role"]))
    svc = services(request)
    await cohosts.remove(svc, room["id"], request.path_params["host_id"])
    return ok({"hosts": await cohosts.hosts_of(svc, room["id"])})


# --- media -------------------------------------------------------------------------------


async def upload_media(request: Request) -> Response:
    host_id = await _host_id(request)
    svc = services(request)
    # Counted before the body is read: a refused upload costs a key's increment.
    await limits.count(
        svc.redis,
        [
            limits.Subject(
                svc.keys.limit("upload", f"host:{host_id}"),
                limits.quota(svc.settings.media_uploads_per_hour, 3600),
            )
        ],
    )
    saved = await media.save(svc, host_id, await _upload(request))
    return ok({"media": saved.as_dict()}, 201)


async def _upload(request: Request) -> bytes:
    """The uploaded file: the multipart field ``file``, or else the whole body."""
    declared = bodies.declared_length(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        if declared is None:
            raise bad_request(N_("send a Content-Length"))
        if declared > MAX_BYTES + _FORM_OVERHEAD:
            await bodies.drain(request.stream(), _DRAIN_LIMIT)
            check_upload_size(declared)
        try:
            async with request.form(max_files=1, max_fields=8) as form:
                file = form.get("file")
                if not isinstance(file, UploadFile):
                    raise bad_request(N_("send the image as the form field file"))
                check_upload_size(file.size or 0)
                return await file.read()
        except (HTTPException, MultiPartException):
            raise bad_request(N_("the form is not valid multipart")) from None
    return await bodies.read(request, MAX_BYTES, check=check_upload_size)


async def serve_media(request: Request) -> Response:
    name = request.path_params["name"]
    path = media.file_of(services(request).settings, name)
    if path is None:
        raise not_found(N_("image {id}"), name)
    return FileResponse(
        path,
        media_type=content_type(name),
        headers={
            "X-Content-Type-Options": "nosniff",
            # The name is the content's hash: the file behind it never changes.
            "Cache-Control": "public, max-age=31536000, immutable",
        },
    )


# --- results -----------------------------------------------------------------------------


async def export_question(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        raise not_found(N_("export format {id}"), fmt)
    q, room = await _question_for_host(request)
    svc = services(request)
    (result,) = await export.collect(svc, [q])
    zone = svc.settings.zone
    at = export.local_time(now_ms(), zone)
    assert at is not None
    if q.spec.kind is Kind.SURVEY:  # per part; the workbook adds a row per ballot
        if fmt == "csv":
            body, kind = survey_export.csv_bytes(room["title"], result, at, zone), export.CSV_TYPE
        else:
            rows = await survey_export.ballot_rows(svc, result)
            body = survey_export.xlsx_bytes(room["title"], result, rows, at, zone)
            kind = export.XLSX_TYPE
    elif fmt == "csv":
        body, kind = export.csv_bytes(room["title"], result, at, zone), export.CSV_TYPE
    else:
        body, kind = export.xlsx_bytes(room["title"], result, at, zone), export.XLSX_TYPE
    return Response(
        body,
        media_type=kind,
        headers={
            "Content-Disposition": export.content_disposition(q.spec.title, fmt),
            "Cache-Control": "no-store",
        },
    )


async def export_survey_ballots(request: Request) -> Response:
    """A survey's ballots as CSV, one row each, the parts' answers side by side."""
    q, _ = await _question_for_host(request)
    if q.spec.kind is not Kind.SURVEY:
        raise not_found(N_("survey {id}"), q.id)
    svc = services(request)
    (result,) = await export.collect(svc, [q])
    rows = await survey_export.ballot_rows(svc, result)
    return Response(
        survey_export.ballots_csv_bytes(result, rows, svc.settings.zone),
        media_type=export.CSV_TYPE,
        headers={
            "Content-Disposition": export.content_disposition(q.spec.title, "csv"),
            "Cache-Control": "no-store",
        },
    )


async def room_summary(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    svc = services(request)
    qs = await store.load_questions(svc, await store.question_ids(svc, room["id"]))
    results = await export.collect(svc, qs)
    return ok({"summary": export.summary(room, results, now_ms())})


async def export_room(request: Request) -> Response:
    """The room's results as one workbook: a summary sheet, then a sheet per question."""
    room = await room_for_host(request, request.path_params["room_id"])
    svc = services(request)
    qs = await store.load_questions(svc, await store.question_ids(svc, room["id"]))
    results = await export.collect(svc, qs)
    zone = svc.settings.zone
    at = export.local_time(now_ms(), zone)
    assert at is not None
    return Response(
        export.room_xlsx_bytes(room, results, at, zone),
        media_type=export.XLSX_TYPE,
        headers={
            "Content-Disposition": export.content_disposition(room["title"], "xlsx"),
            "Cache-Control": "no-store",
        },
    )


async def healthz(request: Request) -> Response:
    """Alive: the node's loop answers (a liveness probe; it checks nothing behind it, so
    that Valkey away does not get every web node restarted)."""
    if request.app.state.services is None:
        return _Json(
            {"ok": False, "error": {"code": "starting", "message": "The node is starting."}}, 503
        )
    return ok({})


#: The archive's newest migration, read once.
_HEAD: list[str] = []


async def readyz(request: Request) -> Response:
    """Ready to serve: Valkey and the database answer, the archive is migrated to head.
    Lists the archive workers whose heartbeat is live (``live.health``), which the node
    does not need to serve."""
    svc: Services | None = request.app.state.services
    if svc is None:
        return _Json(
            {"ok": False, "error": {"code": "starting", "message": "The node is starting."}}, 503
        )
    if not _HEAD:
        _HEAD.append(db.head_revision())
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(svc.redis.ping(), READY_TIMEOUT)
        checks["valkey"] = "ok"
    except Exception:
        checks["valkey"] = "unreachable"
    try:
        async with asyncio.timeout(READY_TIMEOUT), svc.engine.connect() as conn:
            revision = await db.revision_of(conn)
        checks["database"] = "ok"
        checks["migrations"] = "head" if revision == _HEAD[0] else f"at {revision}, not {_HEAD[0]}"
    except Exception:
        checks["database"] = "unreachable"
    workers = await health.workers_seen(svc) if checks["valkey"] == "ok" else []
    ready = checks.get("migrations") == "head" and checks["valkey"] == "ok"
    body: dict[str, Any] = {**checks, "workers": workers}
    if not ready:
        err = VotingError(ErrorCode.UNAVAILABLE).as_dict(i18n.gettext)
        return _Json({"ok": False, "error": err, **body}, status_code=503)
    return ok(body)


#: Seconds each check of ``/readyz`` may take.
READY_TIMEOUT = 2.0


routes = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/api/hosts", sign_up, methods=["POST"]),
    Route("/api/session", sign_in, methods=["POST"]),
    Route("/api/session", sign_out, methods=["DELETE"]),
    Route("/api/session/password", change_password, methods=["POST"]),
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms/{room_id}", get_room, methods=["GET"]),
    Route("/api/rooms/{room_id}/questions", add_question, methods=["POST"]),
    Route("/api/rooms/{room_id}/order", reorder, methods=["POST"]),
    Route("/api/rooms/{room_id}/next", next_question, methods=["POST"]),
    Route("/api/rooms/{room_id}/previous", previous_question, methods=["POST"]),
    Route("/api/rooms/{room_id}/current", current_question, methods=["POST"]),
    Route("/api/rooms/{room_id}/summary", room_summary, methods=["GET"]),
    Route("/api/rooms/{room_id}/invitations", create_invitation, methods=["POST"]),
    Route("/api/rooms/{room_id}/hosts", list_hosts, methods=["GET"]),
    Route("/api/rooms/{room_id}/hosts/{host_id}", remove_host, methods=["DELETE"]),
    Route("/api/invitations/{token}/accept", accept_invitation, methods=["POST"]),
    Route("/api/questions/{question_id}", edit_question, methods=["PATCH"]),
    Route("/api/questions/{question_id}", delete_question, methods=["DELETE"]),
    Route("/api/questions/{question_id}/export.{fmt:str}", export_question, methods=["GET"]),
    Route("/api/questions/{question_id}/ballots.csv", export_survey_ballots, methods=["GET"]),
    Route("/api/questions/{question_id}/answers", hide_answers, methods=["POST"]),
    Route("/api/questions/{question_id}/{action}", question_action, methods=["POST"]),
    Route("/api/media", upload_media, methods=["POST"]),
    Route("/media/{name}", serve_media, methods=["GET"]),
    Route("/api/rooms/{room_id}/export.xlsx", export_room, methods=["GET"]),
]
