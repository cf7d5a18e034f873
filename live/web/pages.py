"""Server-rendered pages: the join form, the attendee's vote page, the presenter screen.

Pages carry their data to their small scripts as one JSON island (``#page-data``); all
live behaviour goes through the Socket.IO protocol, the same one any client uses.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from typing import Any
from urllib.parse import quote

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from live import cohosts, joins, store
from live.limits import answer_no_sooner, client_address
from live.services import Services
from live.web import export, i18n
from live.web.api import signed_in
from live.web.assets import TEMPLATES, static, static_url
from live.web.security import check_csrf, csrf_token
from live.web.strings import string_sets
from rooms.errors import N_, ErrorCode, VotingError, invalid_state
from rooms.ledger import PROBLEMS, Problem
from rooms.protocol import parse_join
from rooms.sitecode import code_at, site_key


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url  # a static file's content-hashed URL
    env.globals["strings_url"] = string_sets.url  # a set of the scripts' words, likewise
    # A ranking's rows and method for the summary page (its figures are not percentages).
    env.globals["ranking_rows"] = export.ranking_rows
    env.globals["borda_method"] = export.borda_method
    return env


templates = Jinja2Templates(env=_environment())


def error_text(err: VotingError) -> str:
    """The refusal's sentence in the request's language, every field put in."""
    return err.text(i18n.gettext)


def locale_of(request: Request) -> str:
    """The request's language: ``?lang=``, then the ``mv_lang`` cookie, then
    ``Accept-Language``."""
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )


class LocaleMiddleware:
    """Sets the request's language; ``?lang=`` also remembers it in a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        asked = request.query_params.get("lang")
        locale = locale_of(request)
        i18n.activate(locale)
        if asked not in i18n.LOCALES:
            await self.app(scope, receive, send)
            return

        async def remember(message: Any) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{i18n.COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, remember)


def _svc(request: Request) -> Services:
    svc: Services | None = request.app.state.services
    if svc is None:
        raise VotingError(ErrorCode.UNAVAILABLE)
    return svc


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    lang = i18n.current()
    base = {
        "lang": lang,
        "other_lang": "en" if lang == "ko" else "ko",
        "csrf": csrf_token(request),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


_ROOM = re.compile(r"[0-9]{6}")


def _js_strings() -> dict[str, Any]:
    """What the scripts show, in the page's language."""
    _ = i18n.gettext
    return {
        "connected": _("Connected"),
        "closes_in": _("Closes in {time}"),
        "connecting": _("Connecting…"),
        "offline": _("Offline. Your vote will be sent when the connection is back."),
        "waiting": _("Waiting for the host to open a question."),
        "vote_counted": _("Your vote was counted."),
        "already_voted": _("You have already voted on this question."),
        "closed": _("Voting on this question is closed."),
        "hidden_after_close": _("Results will be shown after the vote closes."),
        "hidden_after_vote": _("Results will be shown after you vote."),
        "hidden": _("Results are hidden."),
        "submit": _("Submit vote"),
        "choose_up_to": _("Choose up to {n}."),
        "receipt": _("Receipt"),
        "votes": _("votes"),
        "total": _("Total"),
        "share": _("Share results"),
        "link_copied": _("Link copied."),
        "sending": _("Sending your vote…"),
        "retrying": _(
            "The service is not available right now. Your vote is kept and will be sent "
            "again by itself."
        ),
        "results": _("Results"),
        "error": _("Something went wrong. Please try again."),
        "verification_completed": _("Verification completed"),
        "verification_failed": _("Verification failed"),
        "verification_pending": _("Verification pending"),
        "receipt_download": _("Download the proof"),
        "receipt_verify": _("Check a receipt"),
        "receipt_later": _(
            "The proof of your ballot can be downloaded once the results are shown: until "
            "then the poll's log is not public."
        ),
        "receipt_note": _(
            "The receipt proves that your ballot is in this poll's public log, unchanged, and "
            "was counted. It also shows how you voted: anyone you show it to can see your choice."
        ),
        "receipt_kept": _(
            "This device keeps your receipts: find them again on the page “Check a receipt”."
        ),
        "other_open": _("Also open now"),
        "voted_mark": _("voted"),
        "you_chose": _("You chose: {choices}"),
        "you_rated": _("Your rating: {value}"),
        "picked": _("{n} of {max} chosen"),
        "yes": _("Yes"),
        "no": _("No"),
        "vs_side_a": _("Side A"),
        "vs_side_b": _("Side B"),
        "rating_low": _("Not at all"),
        "rating_high": _("Very much"),
        "rating_average": _("Average {average} · {count} ratings"),
        "rating_average_one": _("Average {average} · 1 rating"),
        "rating_none": _("No ratings yet"),
        "cloud_empty": _("No answers yet."),
        "cloud_answers": _("{n} answers"),
        "cloud_answer_one": _("1 answer"),
        "cloud_distinct": _("{n} different answers"),
        "cloud_label": _("Word cloud of the answers"),
        "you_answered": _("You answered: {answers}"),
        "answer_label": _("Your answer"),
        "answer_label_n": _("Answer {n}"),
        "answer_hint": _("Up to {n} answers of a few words each."),
        "answer_submit": _("Send my answer"),
        **_ranking_strings(),
        **_survey_strings(),
        "problems": {p.value: i18n.gettext(PROBLEMS[p]) for p in Problem},
        # The sentences that need no field; a refusal's own ``message`` (in the page's
        # language, its fields put in) says the others.
        "errors": {
            c.value: text
            for c in ErrorCode
            if "{" not in (text := i18n.gettext(VotingError(c).template))
        },
    }


#: The words of the live pages' scripts (``common.js`` and the page's own), one cached script.
LIVE_STRINGS = "live"
string_sets.add(LIVE_STRINGS, _js_strings)


def _survey_strings() -> dict[str, Any]:
    """A survey's words: its form on the phone, its results per part, its console form."""
    _ = i18n.gettext
    return {
        "survey_part": _("Part {number}: {title}"),
        "survey_legend": _("Part {number} of {n}: {title}"),
        "survey_optional": _("(optional)"),
        "survey_submit": _("Submit my answers"),
        "survey_yours": _("Your answers:"),
        "survey_skipped": _("(left out)"),
        "survey_choose_up_to": _("Choose up to {n}."),
        "survey_parts": _("Parts"),
        "survey_add_part": _("Add a part"),
        "survey_remove_part": _("Remove part {number}"),
        "survey_part_title": _("Part {number}: question"),
        "survey_part_kind": _("Kind of part {number}"),
        "survey_part_options": _("Options of part {number}, one per line"),
        "survey_part_max": _("Most picks in part {number}"),
        "survey_part_scale": _("Scale of part {number}, from 1 to"),
        "survey_part_required": _("Part {number} must be answered"),
        # A refusal that names a part, said in the page's language (rooms.survey's).
        "survey_refusals": {
            "invalid_choice": _("Part {number}: choose among its options."),
            "too_many_choices": _("Part {number}: choose at most {max_choices} of its options."),
            "part_unanswered": _("Part {number} is required: answer it."),
        },
        "survey_kinds": {
            "single": _("Single choice"),
            "multiple": _("Multiple choice"),
            "yesno": _("Yes / no"),
            "rating": _("Rating scale"),
        },
    }


def _ranking_strings() -> dict[str, Any]:
    """A ranking's words: its form on the phone and its results (``rank_*``). A plural's
    forms are given for one and for many; scripts pick one by ``Intl.PluralRules``."""
    _, ngettext = i18n.gettext, i18n.ngettext
    return {
        "rank_hint": _(
            "Put the options in order, best first: drag them by their handle, or use the "
            "Move up and Move down buttons."
        ),
        "rank_submit": _("Submit my ranking"),
        "rank_up": _("Move {option} up"),
        "rank_down": _("Move {option} down"),
        "rank_moved": _("{option} is now {place} of {n}."),
        "rank_yours": _("Your ranking:"),
        # Ordinals by the language's ordinal plural category (English: 1st, 2nd, 3rd, 4th).
        "rank_ordinal": {
            "one": _("{n}st"),
            "two": _("{n}nd"),
            "few": _("{n}rd"),
            "other": _("{n}th"),
        },
        "rank_points": {
            "one": ngettext("{n} point", "{n} points", 1),
            "other": ngettext("{n} point", "{n} points", 2),
        },
        "rank_method": {
            "one": ngettext(
                "Borda count: first place gets {n} point, last none.",
                "Borda count: first place gets {n} points, last none.",
                1,
            ),
            "other": ngettext(
                "Borda count: first place gets {n} point, last none.",
                "Borda count: first place gets {n} points, last none.",
                2,
            ),
        },
        "rank_average": _("average place {place}"),
        "rank_no_average": _("no ballots yet"),
    }


async def join_form(request: Request) -> Response:
    return render(request, "join.html", {"room": request.query_params.get("room", "")})


async def join_submit(request: Request) -> Response:
    """The form's join: the socket's credential check and limits (``live.joins``).

    A wrong room number and a wrong password get the same page, status and delay: one
    message, no field marked wrong (only a malformed number marks the room field). The
    password typed is given back in its (visible) field, to correct a typo."""
    started = asyncio.get_running_loop().time()
    form = await request.form()
    number = str(form.get("room", "")).strip()
    password = str(form.get("password", ""))
    try:
        await check_csrf(request, form)
        req = parse_join({"room": number, "password": password})
        svc = _svc(request)
        room = await store.room_by_number(svc, req.room)
        await joins.admit(svc, room, req, client_address(request.scope.get("client")))
    except VotingError as err:
        status, headers = 400, {}
        if err.code in (ErrorCode.BAD_CREDENTIALS, ErrorCode.RATE_LIMITED):
            await answer_no_sooner(started, joins.FIRST_ANSWER_DELAY)
        if err.code is ErrorCode.RATE_LIMITED:
            status, headers = 429, {"Retry-After": str(err.fields["retry_after"])}
        context = {
            "room": number,
            "password": password[:200],
            "error": error_text(err),
            "room_invalid": err.code is ErrorCode.BAD_REQUEST and not _ROOM.fullmatch(number),
        }
        page = render(request, "join.html", context, status)
        page.headers.update(headers)
        return page
    assert room is not None  # the password matched
    return RedirectResponse(f"/j/{room['number']}?key={quote(room['key'])}", status_code=303)


async def join_again(request: Request) -> Response:
    """The form re-rendered after a refusal lives at /join: its language links GET it."""
    query = request.url.query
    return RedirectResponse(f"/?{query}" if query else "/", status_code=303)


async def vote_page(request: Request) -> Response:
    number = request.path_params["number"]
    key = request.query_params.get("key")
    room = await store.room_by_number(_svc(request), number)
    if room is None or key is None or not hmac.compare_digest(key.encode(), room["key"].encode()):
        # The same page whether or not a room has this number: a link must not tell which
        # numbers are in use (the join form answers both alike too).
        error = None if key is None else error_text(VotingError(ErrorCode.BAD_CREDENTIALS))
        return render(request, "join.html", {"room": number, "error": error})
    data = {"room": room["number"], "key": room["key"]}
    return render(
        request,
        "vote.html",
        {
            "title": room["title"],
            "number": room["number"],
            "page_data": data,
            "live_script": "vote.js",
            "page_strings": LIVE_STRINGS,
        },
    )


def join_url(request: Request, svc: Services, room: dict[str, str]) -> str:
    base = svc.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/j/{room['number']}?key={quote(room['key'])}"


def site_url(request: Request, svc: Services, room: dict[str, str], code: str) -> str:
    """The link the presenter's QR code carries in a room that asks for its on-site code:
    the room's join link (a poll's page, for a poll's room) with the current code."""
    if room.get("poll"):
        base = svc.settings.public_url or str(request.base_url).rstrip("/")
        return f"{base}/polls/{quote(room['poll'])}?site={code}"
    return f"{join_url(request, svc, room)}&site={code}"


def qr_svg(url: str, title: str) -> str:
    """The join link as an inline SVG QR code (dark on light, for any projector)."""
    return str(
        segno.make(url, error="m").svg_inline(
            scale=1, border=2, dark="#000", light="#fff", title=title, omitsize=True
        )
    )


async def presenter_page(request: Request) -> Response:
    svc = _svc(request)
    number = request.path_params["number"]
    token = request.query_params.get("token", "")
    room = await store.room_by_number(svc, number)
    if room is None or not hmac.compare_digest(token.encode(), room["presenter"].encode()):
        err = invalid_state(
            N_("This presenter link is not valid: open it again from the host console.")
        )
        return render(request, "error.html", {"message": error_text(err)}, 404)
    url = join_url(request, svc, room)
    on_site = store.asks_site_code(room)
    if on_site:
        url = site_url(request, svc, room, code_at(site_key(svc.secret, room["id"]), time.time()))
    short = f"{request.url.netloc}/j/{room['number']}"
    _ = i18n.gettext
    # Its keys drive the agenda through the host API, so only where this browser is signed
    # in as a host of the room; elsewhere (a hall's PC with only the link) they are absent.
    host_id = await signed_in(request)
    hosting = host_id is not None and await cohosts.role_of(svc, room["id"], host_id) is not None
    strings = {
        "audience": _("{n} connected"),
        "keys_failed": _("The host action failed: {reason}"),
        "link_invalid": _("This presenter link is not valid: open it again from the host console."),
    }
    data = {
        "room": room["number"],
        "presenter": token,
        "strings": strings,
        "control": {"room": room["id"]} if hosting else None,
        "site": on_site,
    }
    return render(
        request,
        "present.html",
        {
            "title": room["title"],
            "number": room["number"],
            "password": room["password"],
            "short_url": short,
            "qr": qr_svg(url, i18n.gettext("Scan to join")),
            "page_data": data,
            "hosting": hosting,
            "on_site": on_site,
            "live_script": "present.js",
            "page_strings": LIVE_STRINGS,
        },
    )


async def verify_page(request: Request) -> Response:
    """Check a receipt in the browser (``static/js/verify.js``)."""
    _ = i18n.gettext
    strings = {
        "checking": _("Checking…"),
        "valid": _("This receipt is valid."),
        "invalid": _("This receipt does not check out."),
        "not_a_receipt": _("This is not a receipt of this server's polls."),
        "unknown_log": _("This server does not know the receipt's log."),
        "ballot_line": _("Ballot {code} chose {choices} in “{title}”."),
        "entry_line": _("It is entry {index} of the log's first {size} entries."),
        "cosigned_line": _("Cosigned by the witnesses {witnesses}."),
        "final_line": _("The poll is closed: its final log of {size} entries contains it."),
        "open_line": _("The poll is still open; check again after it closes."),
        "final_soon": _(
            "The poll is closed and its final log is being cosigned: check again in a moment."
        ),
        "promised": _("The log has promised to keep this ballot."),
        "promise_line": _(
            "Its signature checks out. The proof that the log holds it is given once the "
            "results are shown: check again then."
        ),
        "mine_room": _("Room {number}"),
        "mine_chose": _("You chose: {choices}"),
        "mine_check": _("Check"),
        "mine_remove": _("Remove from this device"),
        "mine_removed": _("Receipt removed from this device."),
        "proof_later": _(
            "Your proof will be ready when the results are shown. The receipt stays listed here."
        ),
        "proof_soon": _("Your proof will be ready in a few seconds. Try again then."),
        "receipts_off": _("The host turned receipts off for this question."),
        "fetch_failed": _("The receipt could not be fetched. Try again later."),
    }
    return render(request, "verify.html", {"page_data": {"strings": strings}})


routes = [
    Route("/", join_form, methods=["GET"]),
    Route("/verify", verify_page, methods=["GET"]),
    Route("/join", join_submit, methods=["POST"]),
    # The form re-rendered after a refusal lives at /join; its language links GET it.
    Route(
        "/join",
        lambda request: RedirectResponse(
            f"/?{request.url.query}" if request.url.query else "/", status_code=303
        ),
        methods=["GET"],
    ),
    Route("/j/{number}", vote_page, methods=["GET"]),
    Route("/present/{number}", presenter_page, methods=["GET"]),
    Route("/static/{path:path}", static.serve, methods=["GET"]),
    Route("/strings/{file}", string_sets.serve, methods=["GET"]),
]
