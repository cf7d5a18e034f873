"""The monitors' side over HTTP: who is asking, as a moderator; the queue of reports,
the actions on it, and the moderation log (also as CSV); the ``/monitor`` page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live.moderation import audit, reports
from live.moderation.monitors import Moderator, moderator_of
from live.web import api, citizens, i18n
from live.web.export import _csv_text
from live.web.pages import error_text, render
from rooms.comments import ACTION_NAMES, REPORT_REASONS, Action, Target, check_enum, check_reason
from rooms.errors import N_, ErrorCode, VotingError, bad_request


async def moderator(request: Request) -> Moderator:
    """The request's signed-in moderator (a host session first, then a citizen's);
    ``unauthorized`` if nobody is signed in, ``not_monitor`` if they moderate nothing."""
    svc = api.services(request)
    host_id = await api.signed_in(request)
    citizen_id = await citizens.signed_in(request)
    if host_id is None and citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    if host_id is not None and (found := await moderator_of(svc, host_id=host_id)):
        return found
    if citizen_id is not None and (found := await moderator_of(svc, citizen_id=citizen_id)):
        return found
    raise VotingError(ErrorCode.NOT_MONITOR)


async def is_moderator(request: Request) -> bool:
    """Whether the request's signed-in account moderates (never refuses)."""
    try:
        await moderator(request)
    except VotingError:
        return False
    return True


async def queue(request: Request) -> Response:
    """``GET /api/moderation/queue``: reported polls and comments, most reported first."""
    await moderator(request)
    found = await reports.queue(api.services(request))
    return api.ok({"queue": [q.as_dict() for q in found]})


async def act(request: Request) -> Response:
    """``POST /api/moderation/actions`` ``{"kind", "id", "action", "reason"}``."""
    who = await moderator(request)
    body = await api.json_body(request)
    kind = check_enum(Target, body.get("kind"), "kind")
    action = check_enum(Action, body.get("action"), "action")
    reason = check_reason(body.get("reason"), required=action is not Action.RESTORE)
    target_id = body.get("id")
    if not isinstance(target_id, str) or not 0 < len(target_id) <= 32:
        raise bad_request(N_("{name} is required"), name="id")
    done = await reports.act(api.services(request), who, kind, target_id, action, reason)
    return api.ok(done)


async def log_entries(request: Request) -> Response:
    """``GET /api/moderation/log?before=<seq>``: the moderation log, newest first."""
    await moderator(request)
    raw = request.query_params.get("before")
    if raw is not None and (not raw.isdigit() or len(raw) > 12):
        raise bad_request(N_("{name} must be a whole number"), name="before")
    found = await audit.entries(api.services(request), before=int(raw) if raw else None)
    return api.ok({"entries": [e.as_dict() for e in found]})


async def log_csv(request: Request) -> Response:
    """``GET /api/moderation/log.csv``: the whole log, oldest first, for a spreadsheet
    (UTF-8 with a byte-order mark, so Excel reads Korean)."""
    await moderator(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "time_utc", "actor", "action", "target_kind", "target_id", "reason"])
    for e in await audit.every_entry(api.services(request)):
        when = datetime.fromtimestamp(e.at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow(
            [e.seq, when, e.actor, e.action, e.target_kind, e.target_id, _csv_text(e.reason)]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="moderation-log.csv"'},
    )


async def refused_page(request: Request) -> Response | None:
    """A monitors' page for whoever is no monitor: sign in first (back here after), or
    the refusal; None for a monitor."""
    try:
        await moderator(request)
    except VotingError as exc:
        if exc.code is ErrorCode.UNAUTHORIZED:
            return RedirectResponse(f"/host/signin?next={request.url.path}", 303)
        return render(request, "error.html", {"message": error_text(exc)}, 403)
    return None


async def monitor_page(request: Request) -> Response:
    """``/monitor``: the queue and the log, for monitors."""
    if (refused := await refused_page(request)) is not None:
        return refused
    _ = i18n.gettext
    strings = {
        "empty": _("No reports are waiting."),
        "reports": _("{n} reports"),
        "hide": _("Hide"),
        "delete": _("Delete"),
        "dismiss": _("Dismiss reports"),
        "restore": _("Restore"),
        "reason": _("Reason (the author is told)"),
        "need_reason": _("Give a reason first."),
        "done": _("Done."),
        "poll": _("Poll"),
        "comment": _("Comment"),
        "open": _("Open the poll"),
        "state_hidden": _("Hidden"),
        "state_deleted": _("Deleted"),
        "state_visible": _("Shown"),
        "target_poll": _("Poll"),
        "target_comment": _("Comment"),
        "target_citizen": _("Citizen"),
        "target_host": _("Staff account"),
        "target_word": _("Prohibited word"),
        "target_allowed_word": _("Allowed word"),
        "actor_cli": _("Command line"),
        **{f"reason_{r.value}": _(label) for r, label in REPORT_REASONS.items()},
        **{f"action_{a}": _(label) for a, label in ACTION_NAMES.items()},
    }
    return render(request, "monitor/queue.html", {"page_data": {"strings": strings}})


routes = [
    Route("/monitor", monitor_page, methods=["GET"]),
    Route("/api/moderation/queue", queue, methods=["GET"]),
    Route("/api/moderation/actions", act, methods=["POST"]),
    Route("/api/moderation/log", log_entries, methods=["GET"]),
    Route("/api/moderation/log.csv", log_csv, methods=["GET"]),
]
