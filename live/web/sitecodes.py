"""The on-site code over HTTP: a host asks for it in a room (``rooms.sitecode``), and the
presenter screen fetches the current code, with its QR code, as it turns every step."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import store
from live.clock import now_ms
from live.web import api, i18n
from live.web.pages import qr_svg, site_url
from rooms.errors import N_, bad_request, not_found
from rooms.sitecode import STEP_S, code_at, expires_at, site_key


async def set_site(request: Request) -> Response:
    """``POST {"required": true | false}``: the room's questions take ballots only from
    those who showed the code its presenter screen shows (or from everyone again). A
    poll's room keeps the target it was made with."""
    room = await api.room_for_host(request, request.path_params["room_id"])
    data = await api.json_body(request)
    required = data.get("required")
    if not isinstance(required, bool):
        raise bad_request(N_("required is true or false"))
    if room.get("poll"):
        raise bad_request(N_("a poll's voters are set when it is made"))
    await store.set_room_rule(api.services(request), room["id"], {"s": 1} if required else {})
    return api.ok({"site": required})


async def current_code(request: Request) -> Response:
    """``GET ?token=<presenter token>``: the code to show now, until when, and the QR code
    of the link that carries it (``{"required": false}`` for a room that asks for none)."""
    svc = api.services(request)
    number = request.path_params["number"]
    token = request.query_params.get("token", "")
    room = await store.room_by_number(svc, number)
    if room is None or not hmac.compare_digest(token.encode(), room["presenter"].encode()):
        raise not_found(N_("room {id}"), number)
    if not store.asks_site_code(room):
        return api.ok({"required": False})
    now = now_ms() / 1000
    code = code_at(site_key(svc.secret, room["id"]), now)
    url = site_url(request, svc, room, code)
    shown_until = expires_at(now)
    return api.ok(
        {
            "required": True,
            "code": code,
            "url": url,
            "shown_until_ms": shown_until * 1000,
            "accepted_until_ms": (shown_until + STEP_S) * 1000,
            "qr": qr_svg(url, i18n.gettext("Scan to join")),
        }
    )


routes = [
    Route("/api/rooms/{room_id}/site", set_site, methods=["POST"]),
    Route("/api/present/{number}/site", current_code, methods=["GET"]),
]
