"""The host console: sign in and up, my rooms, one room's console, its printable summary.

Forms post with a CSRF token and are read with a bound (``live.web.bodies``); the console
page itself acts through the JSON API (``live.web.api``) and watches results over the live
protocol with the room's presenter token. Sessions are the API's (``api.signed_in``,
``api.begin_session``), checked server-side once per request.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live import cohosts, hosts, officials, sessions, store
from live.clock import now_ms
from live.engines import db
from live.errors import status_of
from live.web import api, bodies, export, i18n, survey_export
from live.web.pages import LIVE_STRINGS, error_text, join_url, qr_svg, render
from live.web.security import check_csrf
from rooms.errors import N_, ErrorCode, VotingError, bad_request
from rooms.questions import Kind, Status
from rooms.visibility import Visibility

#: How each results mode reads in the console (its form's choices, its question list).
_VISIBILITY: dict[Visibility, str] = {
    Visibility.LIVE: N_("Everyone, live"),
    Visibility.AFTER_VOTE: N_("Each voter after voting"),
    Visibility.AFTER_CLOSE: N_("Everyone after voting closes"),
}
#: How each status reads in the question list.
_STATUS: dict[Status, str] = {
    Status.DRAFT: N_("Draft"),
    Status.OPEN: N_("Open for voting"),
    Status.CLOSED: N_("Closed"),
}


def _form_status(err: VotingError) -> int:
    """A refused sign-in or sign-up form is a 400, but a limit's or a busy node's answer
    keeps its own status (429, 503) for whatever watches for them."""
    busy = err.code in (ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE)
    return status_of(err) if busy else 400


def _to_sign_in(request: Request) -> Response:
    """To the sign-in page, or, for a session whose one-time password is still to be
    changed, to the password page; back here afterwards."""
    if api.must_change_password(request) and sessions.HOST in request.session:
        return RedirectResponse(f"/host/password?next={request.url.path}", status_code=303)
    return RedirectResponse(f"/host/signin?next={request.url.path}", status_code=303)


def _safe_next(value: object) -> str:
    text = str(value or "")
    return text if text.startswith("/host") and "//" not in text else "/host"


async def sign_in_page(request: Request) -> Response:
    return render(
        request, "host/signin.html", {"next": _safe_next(request.query_params.get("next"))}
    )


async def sign_in(request: Request) -> Response:
    form = await bodies.form(request)
    nxt = _safe_next(form.get("next"))
    try:
        await check_csrf(request, form)
        done = await hosts.sign_in(
            api.services(request),
            form.get("email"),
            form.get("password"),
            address=api.client_address(request),
        )
    except VotingError as err:
        return render(
            request,
            "host/signin.html",
            {"error": error_text(err), "email": form.get("email", ""), "next": nxt},
            _form_status(err),
        )
    must = done.must_change_password
    await api.begin_session(request, done.host.id, done.generation, must_change=must)
    if must:
        return RedirectResponse(f"/host/password?next={nxt}", status_code=303)
    return RedirectResponse(nxt, status_code=303)


async def password_page(request: Request) -> Response:
    if await api.session_host(request) is None:
        return RedirectResponse("/host/signin?next=/host/password", status_code=303)
    return render(
        request,
        "host/password.html",
        {
            "next": _safe_next(request.query_params.get("next")),
            "first": api.must_change_password(request),
        },
    )


async def change_password(request: Request) -> Response:
    host_id = await api.session_host(request)
    if host_id is None:
        return RedirectResponse("/host/signin?next=/host/password", status_code=303)
    form = await bodies.form(request)
    nxt = _safe_next(form.get("next"))
    try:
        await check_csrf(request, form)
        if form.get("new_password") != form.get("confirm"):
            raise bad_request(N_("the two new passwords differ"))
        generation = await hosts.change_password(
            api.services(request),
            host_id,
            form.get("password"),
            form.get("new_password"),
            address=api.client_address(request),
        )
    except VotingError as err:
        context = {
            "error": error_text(err),
            "next": nxt,
            "first": api.must_change_password(request),
        }
        return render(request, "host/password.html", context, _form_status(err))
    await api.begin_session(request, host_id, generation)
    return RedirectResponse(nxt, status_code=303)


async def directory_page(request: Request) -> Response:
    """The administrators' list of departments and their officials."""
    host_id = await api.signed_in(request)
    if host_id is None:
        return _to_sign_in(request)
    svc = api.services(request)
    me = await officials.official_of(svc, host_id)
    if me is None or me.role is not officials.Role.ADMIN:
        message = error_text(VotingError(ErrorCode.NOT_ADMIN))
        return render(request, "error.html", {"message": message}, 403)
    departments, people = await officials.directory(svc)
    return render(request, "host/directory.html", {"departments": departments, "people": people})


async def sign_up_page(request: Request) -> Response:
    return render(
        request, "host/signup.html", {"next": _safe_next(request.query_params.get("next"))}
    )


async def sign_up(request: Request) -> Response:
    form = await bodies.form(request)
    nxt = _safe_next(form.get("next"))
    try:
        await check_csrf(request, form)
        done = await hosts.sign_up(
            api.services(request),
            form.get("email"),
            form.get("password"),
            form.get("name", ""),
            address=api.client_address(request),
        )
    except VotingError as err:
        return render(
            request,
            "host/signup.html",
            {
                "error": error_text(err),
                "email": form.get("email", ""),
                "name": form.get("name", ""),
                "next": nxt,
            },
            _form_status(err),
        )
    await api.begin_session(request, done.host.id, done.generation)
    return RedirectResponse(nxt, status_code=303)


async def sign_out(request: Request) -> Response:
    form = await bodies.form(request)
    try:
        await check_csrf(request, form)
    except VotingError:
        return RedirectResponse("/host", status_code=303)
    await sessions.end(api.services(request), request.session)
    return RedirectResponse("/", status_code=303)


async def my_rooms(request: Request) -> Response:
    host_id = await api.signed_in(request)
    if host_id is None:
        return _to_sign_in(request)
    svc = api.services(request)
    rooms = await api.rooms_of(svc, host_id)
    official = await officials.official_of(svc, host_id)
    return render(request, "host/rooms.html", {"rooms": rooms, "official": official})


async def create_room(request: Request) -> Response:
    host_id = await api.signed_in(request)
    if host_id is None:
        return _to_sign_in(request)
    form = await bodies.form(request)
    svc = api.services(request)
    try:
        await check_csrf(request, form)
        password = str(form.get("password") or "") or None
        info = await store.create_room(
            svc, title=str(form.get("title", "")), password=password, owner_id=host_id
        )
    except VotingError as err:
        rooms = await api.rooms_of(svc, host_id)
        return render(
            request,
            "host/rooms.html",
            {"rooms": rooms, "error": error_text(err), "title": form.get("title", "")},
            400,
        )
    return RedirectResponse(f"/host/rooms/{info.id}", status_code=303)


async def _room_or_refusal(request: Request) -> tuple[dict[str, str] | None, Response | None]:
    if await api.signed_in(request) is None:
        return None, _to_sign_in(request)
    try:
        room = await api.room_for_host(request, request.path_params["room_id"])
    except VotingError as err:
        status = 403 if err.code is ErrorCode.FORBIDDEN else 404
        return None, render(request, "error.html", {"message": error_text(err)}, status)
    return room, None


async def room_console(request: Request) -> Response:
    room, refusal = await _room_or_refusal(request)
    if refusal is not None:
        return refusal
    assert room is not None
    svc = api.services(request)
    urls = api.public_urls(request, svc, room)
    data = {
        "room": {"id": room["id"], "number": room["number"], "title": room["title"]},
        "presenter": room["presenter"],
        "strings": _console_strings(),
    }
    return render(
        request,
        "host/console.html",
        {
            "room": room,
            "urls": urls,
            "page_data": data,
            "live_script": "console.js",
            "page_strings": LIVE_STRINGS,
            "kinds": list(kind_words().items()),
            "visibilities": list(visibility_words().items()),
            "qr": qr_svg(join_url(request, svc, room), i18n.gettext("Scan to join")),
            "site": store.asks_site_code(room),
        },
    )


async def summary(request: Request) -> Response:
    """The printable summary: every question's figures, in the reader's language, times in
    the deployment's zone (``export`` says how results read, for exports and this page)."""
    room, refusal = await _room_or_refusal(request)
    if refusal is not None:
        return refusal
    assert room is not None
    svc = api.services(request)
    qs = await store.load_questions(svc, await store.question_ids(svc, room["id"]))
    zone = svc.settings.zone
    items = [_summary_item(r, zone) for r in await export.collect(svc, qs)]
    async with svc.engine.connect() as conn:
        created = await conn.scalar(
            sa.select(db.rooms.c.created_ms).where(db.rooms.c.id == room["id"])
        )
    return render(
        request,
        "host/summary.html",
        {
            "room": room,
            "items": items,
            "created": created,
            "zone": svc.settings.timezone,
            "generated": _when(now_ms(), zone),
            "export_url": f"/api/rooms/{room['id']}/export.xlsx",
        },
    )


def _when(ms: int | None, zone: tzinfo) -> str:
    at = export.local_time(ms, zone)
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M")


def _summary_item(r: export.QuestionResult, zone: tzinfo) -> dict[str, Any]:
    spec = r.question.spec
    average = (
        export.rating_average([o.count for o in r.options]) if spec.kind is Kind.RATING else None
    )
    return {
        "question": r.question,
        "kind": export.kind_word(str(spec.kind)),
        "rating": spec.kind is Kind.RATING,
        "average": None if average is None else f"{average:.1f}",
        "note": export.multiple_note(spec.max_choices) if spec.kind is Kind.MULTIPLE else "",
        "parts": _summary_parts(r) if spec.kind is Kind.SURVEY else [],
        "total": r.total,
        "archived": r.archived,
        "status": export.status_word(str(r.question.status)),
        "opened": _when(r.opened_ms, zone),
        "closed": _when(r.closed_ms, zone),
        "rows": [
            {
                "label": export.row_label(r, i),
                "description": o.description,
                "count": o.count,
                "pct": f"{o.percent:.1f}",
            }
            for i, o in enumerate(r.options)
        ],
    }


def _summary_parts(r: export.QuestionResult) -> list[dict[str, Any]]:
    """A survey's parts on the summary: each one's heading, kind, rows and figures."""
    out = []
    for p in survey_export.parts_of(r):
        average = export.rating_average(p.counts) if p.part.kind is Kind.RATING else None
        out.append(
            {
                "heading": p.heading(),
                "kind": export.kind_word(str(p.part.kind)),
                "rating": p.part.kind is Kind.RATING,
                "ratings": sum(p.counts),
                "average": None if average is None else f"{average:.1f}",
                "note": (
                    export.multiple_note(p.part.max_choices) if p.part.kind is Kind.MULTIPLE else ""
                ),
                "rows": [
                    {"label": label, "count": count, "pct": f"{export.percent(count, r.total):.1f}"}
                    for label, count in zip(p.labels, p.counts, strict=True)
                ],
            }
        )
    return out


async def invitation_page(request: Request) -> Response:
    if await api.signed_in(request) is None:
        return _to_sign_in(request)
    return render(request, "host/invite.html", {"token": request.path_params["token"]})


async def accept_invitation(request: Request) -> Response:
    host_id = await api.signed_in(request)
    if host_id is None:
        return _to_sign_in(request)
    form = await bodies.form(request)
    try:
        await check_csrf(request, form)
        room_id, _role = await cohosts.accept(
            api.services(request), request.path_params["token"], host_id
        )
    except VotingError as err:
        return render(
            request,
            "host/invite.html",
            {"token": request.path_params["token"], "error": error_text(err)},
            400,
        )
    return RedirectResponse(f"/host/rooms/{room_id}", status_code=303)


def kind_words() -> dict[str, str]:
    """Each kind's name in the page's language, in the form's order. The words are the
    exports' (``export.kind_word``, one table for every page): a new kind is added there."""
    return {str(k): export.kind_word(str(k)) for k in Kind}


def visibility_words() -> dict[str, str]:
    return {str(v): i18n.gettext(word) for v, word in _VISIBILITY.items()}


def _console_strings() -> dict[str, Any]:
    _ = i18n.gettext
    return {
        "kinds": kind_words(),
        "visibilities": visibility_words(),
        "statuses": {str(s): _(word) for s, word in _STATUS.items()},
        "open": _("Open"),
        "close": _("Close"),
        "reveal": _("Reveal results"),
        "hide": _("Hide results"),
        "make_current": _("Make current"),
        "answers_title": _("Answers"),
        "hide_answer": _("Hide"),
        "hide_answer_named": _("Hide the answer “{answer}” from every screen"),
        "show_answer": _("Show again"),
        "show_answer_named": _("Show again: the answer “{answer}”"),
        "hidden_answers": _("Hidden from the word cloud"),
        "answer_hidden": _("“{answer}” is hidden from every screen."),
        "answer_shown": _("“{answer}” is shown again."),
        "answers_per_voter": _("Answers per voter"),
        "picks_per_voter": _("Most picks per voter"),
        "current": _("Current question"),
        "now_current": _("Now on every screen: {title}"),
        "agenda_over": _("The agenda is over: no question is current."),
        "add_title": _("Add a question"),
        "add_submit": _("Add question"),
        "edit_title": _("Edit question"),
        "edit_submit": _("Save changes"),
        "editing": _("Editing “{title}”."),
        "remove_image": _("Remove image"),
        "image_alt": _("Image description (for screen readers)"),
        "question_image": _("Question image"),
        "images": _("Images"),
        "alt_required": _(
            "Option {n} is an image without a label: describe the image for those who "
            "cannot see it."
        ),
        "reset": _("Reset"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "move_up": _("Move up"),
        "move_down": _("Move down"),
        "revealed": _("Results shown"),
        "confirm_reset": _("Clear all ballots of this question?"),
        "confirm_delete": _("Delete this question?"),
        "saved": _("Saved."),
        "export_csv": _("CSV"),
        "export_xlsx": _("Excel"),
        "export_ballots": _("Ballots (CSV)"),
        "export_log": _("Log for recount"),
        "invite_link": _("Invitation link (valid once):"),
        "remove": _("Remove"),
        "owner": _("Owner"),
        "cohost": _("Co-host"),
        "option": _("Option"),
        "description": _("Description"),
        "image": _("Image"),
        "remove_option": _("Remove option"),
        "uploading": _("Uploading…"),
        "live_results": _("Live results"),
    }


routes = [
    Route("/host", my_rooms, methods=["GET"]),
    Route("/host/signin", sign_in_page, methods=["GET"]),
    Route("/host/signin", sign_in, methods=["POST"]),
    Route("/host/signup", sign_up_page, methods=["GET"]),
    Route("/host/signup", sign_up, methods=["POST"]),
    Route("/host/signout", sign_out, methods=["POST"]),
    Route("/host/password", password_page, methods=["GET"]),
    Route("/host/password", change_password, methods=["POST"]),
    Route("/host/directory", directory_page, methods=["GET"]),
    Route("/host/rooms", create_room, methods=["POST"]),
    Route("/host/rooms/{room_id}", room_console, methods=["GET"]),
    Route("/host/rooms/{room_id}/summary", summary, methods=["GET"]),
    Route("/host/invite/{token}", invitation_page, methods=["GET"]),
    Route("/host/invite/{token}", accept_invitation, methods=["POST"]),
]
