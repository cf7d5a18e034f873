"""Lot drawings over HTTP: the host's JSON API, and the public page and log of a draw.

Host actions (the room's owner and co-hosts, with their session, like question actions)::

    POST  /api/rooms/<room>/draws     {"title", "slots": [{"label", "blank"}] | ["label"]}
    PATCH /api/draws/<draw>           {"title", "slots"}      (a draft only)
    POST  /api/draws/<draw>/commit    {"seed"?: text}         (the server's seed if none)
    POST  /api/draws/<draw>/draw      {}                      draws the next slot
    POST  /api/draws/<draw>/reveal    {}                      reveals the seed: the end
    GET   /api/draws?room=<number>&presenter=<token>
                                      the room's draws: every one for its hosts, the
                                      committed ones for the presenter link

Public, read-only, for anyone with the draw's address::

    GET /draws/<draw>                 the page that re-runs the draw in the browser
    GET /draws/<draw>/log             the log: entries, checkpoint, policy (JSON;
                                      ``mvoting draw verify`` reads it)
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import cohosts, draws, store
from live.web import i18n
from live.web.api import json_body, ok, room_for_host, services, signed_in
from live.web.ledger import ledger_of
from live.web.pages import render
from rooms.cohosts import check_host
from rooms.draws import LOG_FORMAT, DrawState, build_draw
from rooms.errors import N_, ErrorCode, VotingError, not_found


def _draw_body(d: draws.LiveDraw) -> Response:
    return ok({"draw": d.public()})


async def _draw_for_host(request: Request) -> draws.LiveDraw:
    draw_id = request.path_params["draw_id"]
    d = await draws.load_draw(services(request), draw_id)
    if d is None:
        raise not_found(N_("draw {id}"), draw_id)
    await room_for_host(request, d.room_id)
    return d


async def create_draw(request: Request) -> Response:
    room = await room_for_host(request, request.path_params["room_id"])
    data = await json_body(request)
    spec = build_draw(data.get("title"), data.get("slots"))
    d = await draws.create_draw(services(request), room["id"], spec)
    return ok({"draw": d.public()}, 201)


async def edit_draw(request: Request) -> Response:
    d = await _draw_for_host(request)
    data = await json_body(request)
    spec = build_draw(data.get("title", d.spec.title), data.get("slots"))
    return _draw_body(await draws.edit_draw(services(request), d, spec))


async def commit_draw(request: Request) -> Response:
    d = await _draw_for_host(request)
    data = await json_body(request)
    seed = data.get("seed")
    if seed == "":
        seed = None
    svc = services(request)
    return _draw_body(await draws.commit_draw(svc, ledger_of(request), d, seed))


async def draw_next(request: Request) -> Response:
    d = await _draw_for_host(request)
    svc = services(request)
    drawn = await draws.draw_next(svc, ledger_of(request), d.id)
    return _draw_body(drawn)


async def reveal_draw(request: Request) -> Response:
    d = await _draw_for_host(request)
    svc = services(request)
    return _draw_body(await draws.reveal_draw(svc, ledger_of(request), d))


async def list_draws(request: Request) -> Response:
    """A room's draws by its number: all for a host of the room, the committed ones for
    the presenter link's token (a hall's PC, signed in as nobody)."""
    svc = services(request)
    room = await store.room_by_number(svc, request.query_params.get("room", ""))
    if room is None:
        raise VotingError(ErrorCode.BAD_CREDENTIALS)
    host_id = await signed_in(request)
    hosting = host_id is not None and await cohosts.role_of(svc, room["id"], host_id) is not None
    if not hosting:
        token = request.query_params.get("presenter", "")
        if not hmac.compare_digest(token.encode(), room["presenter"].encode()):
            if host_id is not None:
                check_host(None)  # signed in, not a host of this room: ``forbidden``
            raise VotingError(ErrorCode.BAD_CREDENTIALS)
    found = await draws.room_draws(svc, room["id"])
    shown = [d for d in found if hosting or d.state is not DrawState.DRAFT]
    return ok({"draws": [d.public() for d in shown]})


async def _committed(request: Request) -> tuple[draws.LiveDraw | None, str, list[bytes]]:
    svc = services(request)
    draw_id = request.path_params["draw_id"]
    logged = await draws.draw_log(svc, draw_id)
    if logged is None:
        raise not_found(N_("draw {id}"), draw_id)
    log_id, entries = logged
    return await draws.load_draw(svc, draw_id), log_id, entries


async def draw_log(request: Request) -> Response:
    """The draw's log as its archive holds it, with the latest checkpoint and the policy."""
    _, log_id, entries = await _committed(request)
    ledger = ledger_of(request)
    info = await ledger.log_info(log_id)
    if info is None:  # pragma: no cover - written with the draw
        raise not_found(N_("log {id}"), log_id)
    stored = await ledger.stored_checkpoint(log_id)
    policy = ledger.log_policy(info)
    body = {
        "format": LOG_FORMAT,
        "draw": request.path_params["draw_id"],
        "log": log_id,
        "origin": info.origin,
        "checkpoint": stored[1].decode() if stored is not None else "",
        "policy": policy.to_bytes().decode() if policy is not None else "",
        "entries": [e.decode() for e in entries],
    }
    return Response(
        orjson.dumps(body, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


async def draw_page(request: Request) -> Response:
    draw_id = request.path_params["draw_id"]
    try:
        live, _, entries = await _committed(request)
    except VotingError:
        err = not_found(N_("draw {id}"), draw_id)
        return render(request, "error.html", {"message": err.text(i18n.gettext)}, 404)
    first = orjson.loads(entries[0])
    data = {
        "mode": "public",
        "draw": draw_id,
        "log_url": f"/draws/{draw_id}/log",
        "strings": page_strings(),
    }
    return render(
        request,
        "draw.html",
        {
            "title": first["title"],
            "page_data": data,
            "room": live.room_id if live is not None else "",
        },
    )


def page_strings() -> dict[str, Any]:
    """What ``static/js/draw.js`` shows on the public page, in the page's language (the
    panel of the console and the presenter has its own, in ``_draw_panel.html``)."""
    _ = i18n.gettext
    return {
        "blank": _("Blank"),
        "draft": _("Being prepared: the slots can still change."),
        "committed": _("Committed: the slots and the seed are fixed."),
        "revealed": _("Seed revealed: anyone can re-run the draw."),
        "remaining": _("{n} of {total} slots left"),
        "no_draws": _("No slot drawn yet."),
        "drawn_at": _("drawn at {time}"),
        "check_at": _("Check it at {url}"),
        "checking": _("Re-running the draw in your browser…"),
        "matches": _(
            "The draw checks out: the revealed seed matches the commitment, and re-running "
            "it gives the same {n} draws."
        ),
        "differs": _("The draw does not check out: {reason}"),
        "not_revealed": _("The seed is not revealed yet: the draw can be re-run once it is."),
        "wrong_seed": _("the revealed seed does not match the commitment."),
        "wrong_slot": _("draw {n} drew slot {slot}; the seed gives slot {expected}."),
        "bad_log": _("the log is not a draw's log."),
        "root_mismatch": _("the log's entries do not make the tree its checkpoint signs."),
        "not_witnessed": _(
            "the log's second entry is not the witnesses' checkpoint of the commitment."
        ),
        "early_beacon": _(
            "draw {n} takes as its beacon the log's root at tree size {size}: that is not "
            "after the commitment's witnesses."
        ),
        "wrong_beacon": _("draw {n}'s beacon is not the log's root at tree size {expected}."),
        "unsupported": _("This browser cannot compute SHA-256 (WebCrypto) here."),
        "fetch_failed": _("The draw's log could not be fetched. Try again later."),
    }


routes = [
    Route("/api/draws", list_draws, methods=["GET"]),
    Route("/api/rooms/{room_id}/draws", create_draw, methods=["POST"]),
    Route("/api/draws/{draw_id}", edit_draw, methods=["PATCH"]),
    Route("/api/draws/{draw_id}/commit", commit_draw, methods=["POST"]),
    Route("/api/draws/{draw_id}/draw", draw_next, methods=["POST"]),
    Route("/api/draws/{draw_id}/reveal", reveal_draw, methods=["POST"]),
    Route("/draws/{draw_id}", draw_page, methods=["GET"]),
    Route("/draws/{draw_id}/log", draw_log, methods=["GET"]),
]
