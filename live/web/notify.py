"""Notifications over HTTP (``live.notify``)::

GET    /api/citizens/me/interests                  what I am notified of
PUT    /api/citizens/me/interests                  {"areas": [..] | null, "place": {..} | null}
GET    /api/citizens/me/notifications?before=&limit=   a page, newest first, and unread
POST   /api/citizens/me/notifications/<id>/read    marked read
GET    /api/push/key                               the VAPID public key (applicationServerKey)
POST   /api/citizens/me/push                       a browser's PushSubscription.toJSON()
DELETE /api/citizens/me/push                       {"endpoint"}: forgotten
GET    /inbox                                      the inbox page
GET    /sw.js                                      the service worker (scope /)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live.notify import inbox, interests, languages, push
from live.web import api, assets, citizens, i18n
from live.web.pages import render
from rooms.areas import AREAS
from rooms.errors import N_, ErrorCode, VotingError, bad_request


async def _citizen(request: Request) -> str:
    citizen_id = await citizens.signed_in(request)
    if citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return citizen_id


async def my_interests(request: Request) -> Response:
    citizen_id = await _citizen(request)
    svc = api.services(request)
    if request.method == "PUT":
        found = await interests.set_interests(svc, citizen_id, await api.json_body(request))
        await languages.remember(svc, citizen_id, i18n.current())
    else:
        found = await interests.interests_of(svc, citizen_id)
    return api.ok({"interests": found.as_dict()})


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(inbox.PAGE))
    if not raw.isdigit() or not 1 <= int(raw) <= inbox.MAX_PAGE:
        raise bad_request(N_("limit is a whole number from 1 to {n}"), n=inbox.MAX_PAGE)
    return int(raw)


async def my_notifications(request: Request) -> Response:
    citizen_id = await _citizen(request)
    before = inbox.parse_cursor(request.query_params.get("before"))
    found, cursor, unread = await inbox.page(
        api.services(request), citizen_id, before=before, limit=_limit(request)
    )
    return api.ok({"notifications": found, "before": cursor, "unread": unread})


async def read_notification(request: Request) -> Response:
    citizen_id = await _citizen(request)
    found = await inbox.mark_read(
        api.services(request), citizen_id, request.path_params["notification_id"]
    )
    return api.ok({"notification": found})


async def push_key(request: Request) -> Response:
    return api.ok({"key": push.public_key(api.services(request))})


async def my_push(request: Request) -> Response:
    citizen_id = await _citizen(request)
    svc = api.services(request)
    body = await api.json_body(request)
    if request.method == "DELETE":
        return api.ok({"removed": await push.unsubscribe(svc, citizen_id, body)})
    sub_id = await push.subscribe(svc, citizen_id, body)
    # Its messages are written in the language of the page that allowed them.
    await languages.remember(svc, citizen_id, i18n.current())
    return api.ok({"subscription": {"id": sub_id}}, 201)


async def inbox_page(request: Request) -> Response:
    citizen_id = await citizens.signed_in(request)
    if citizen_id is None:
        return RedirectResponse("/citizen/signin?next=/inbox", status_code=303)
    svc = api.services(request)
    found, cursor, unread = await inbox.page(svc, citizen_id)
    _ = i18n.gettext
    strings = {
        "area": _("In an area you follow"),
        "district": _("For your district"),
        "place": _("Near your saved place"),
        "unread": _("Unread"),
        "mark_read": _("Mark as read"),
        "more": _("Show older"),
        "empty": _("No notifications yet."),
        "live": _("New poll: {title}"),
        "failed": _("The server could not be reached; try again."),
        "areas": {str(a): _(name) for a, name in AREAS.items()},
    }
    data = {"notifications": found, "before": cursor, "unread": unread, "strings": strings}
    return render(
        request, "inbox.html", {"page_data": data, "live_script": "inbox.js", "unread": unread}
    )


routes = [
    Route("/api/citizens/me/interests", my_interests, methods=["GET", "PUT"]),
    Route("/api/citizens/me/notifications", my_notifications, methods=["GET"]),
    Route(
        "/api/citizens/me/notifications/{notification_id}/read",
        read_notification,
        methods=["POST"],
    ),
    Route("/api/push/key", push_key, methods=["GET"]),
    Route("/api/citizens/me/push", my_push, methods=["POST", "DELETE"]),
    Route("/inbox", inbox_page, methods=["GET"]),
    Route("/sw.js", assets.service_worker, methods=["GET"]),
]
ROUTES = routes
