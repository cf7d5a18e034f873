"""HTTP errors in the visitor's language: JSON for scripts, ``error.html`` for people.

Starlette answers an unknown path (404), a method a route does not take (405) and a few
more with an ``HTTPException``, and any exception a handler lets through with a 500.
Here they get the app's own shapes: under the JSON paths (the API, the ledger, the media,
``/healthz``) the refusal body of ``live.errors`` (a short ``code``, a sentence), elsewhere
the error page, both in the request's language (``?lang=``, ``mv_lang``,
``Accept-Language``). A 500 says only that something went wrong: the exception is logged
by the server, never sent. An archive that does not answer (PostgreSQL stopped or
restarting) is a 503 ``unavailable``, not a 500: the page is worth another try. (A
refusal, ``VotingError``, keeps its JSON body everywhere: ``api.handle_voting_error``.)
"""

from __future__ import annotations

import logging

import redis.exceptions
import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from live.engines import db
from live.web import i18n
from live.web.api import _Json
from live.web.pages import locale_of, templates
from rooms.errors import N_, ErrorCode

#: Paths whose answers are JSON, errors included (everything else is a page).
JSON_PREFIXES = ("/api/", "/ledger/", "/media/")
JSON_PATHS = frozenset({"/api", "/ledger", "/media", "/healthz"})

#: An HTTP error's code (what a script branches on) and sentence, by status.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: (ErrorCode.BAD_REQUEST.value, N_("The request is malformed.")),
    404: (ErrorCode.NOT_FOUND.value, N_("There is nothing at this address: check the link.")),
    405: ("method_not_allowed", N_("This address does not take that kind of request.")),
    413: ("too_large", N_("The request is too large.")),
    429: ("rate_limited", N_("Too many requests; try again in a moment.")),
    500: ("internal_error", N_("Something went wrong on the server. Try again in a moment.")),
    503: (ErrorCode.UNAVAILABLE.value, N_("The service is not available right now; try again.")),
}
log = logging.getLogger("mvoting.web")

OTHER_ERROR = ("http_error", N_("The request could not be answered."))
#: The error page's heading, by status.
HEADINGS = {
    404: N_("Page not found"),
    500: N_("Something went wrong"),
}
DEFAULT_HEADING = N_("This page is not available")


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(JSON_PREFIXES) or path in JSON_PATHS


def error_page(request: Request, status: int, message: str, headers: dict[str, str]) -> Response:
    """``error.html``: a heading, the sentence and a link home, in the request's language."""
    lang = i18n.current()
    context = {
        "lang": lang,
        "other_lang": "en" if lang == "ko" else "ko",
        "heading": i18n.gettext(HEADINGS.get(status, DEFAULT_HEADING)),
        "message": message,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status, headers=headers
    )


def _answer(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    # Activated again: a 500 is answered outside ``LocaleMiddleware``.
    i18n.activate(locale_of(request))
    code, template = HTTP_ERRORS.get(status, OTHER_ERROR)
    message = i18n.gettext(template)
    if wants_json(request):
        body = {"ok": False, "error": {"code": code, "message": message}}
        return _Json(body, status_code=status, headers=headers)
    return error_page(request, status, message, headers or {})


async def http_error(request: Request, exc: Exception) -> Response:
    """An ``HTTPException``: 404, 405, and whatever else Starlette or a handler raised."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    return _answer(request, exc.status_code, dict(exc.headers or {}))


async def archive_unreachable(request: Request, exc: Exception) -> Response:
    """The SQL archive does not answer (``db.unreachable``; a connection refused or timed
    out is taken for it, whatever the server): 503, to be tried again, not a 500. Any other
    database error is the server's own (raised on, to ``server_error``)."""
    if not db.unreachable(exc):
        raise exc
    log.warning("%s %s: the archive does not answer (%s)", request.method, request.url.path, exc)
    return _answer(request, 503, {"Retry-After": "1"})


async def live_state_unreachable(request: Request, exc: Exception) -> Response:
    """Valkey does not answer (down, hanging past the read timeout, or starting again):
    503, to be tried again, as for the archive. redis-py's connection and timeout errors
    are not Python's own, so ``archive_unreachable`` does not see them."""
    log.warning("%s %s: Valkey does not answer (%s)", request.method, request.url.path, exc)
    return _answer(request, 503, {"Retry-After": "1"})


async def server_error(request: Request, exc: Exception) -> Response:
    """An exception no handler caught: a 500 that says nothing of it."""
    return _answer(request, 500)


#: ``Starlette(exception_handlers=...)``: 500 is Starlette's key for any other exception.
HANDLERS = {
    HTTPException: http_error,
    sa.exc.DBAPIError: archive_unreachable,
    ConnectionError: archive_unreachable,
    TimeoutError: archive_unreachable,
    redis.exceptions.ConnectionError: live_state_unreachable,
    redis.exceptions.TimeoutError: live_state_unreachable,
    500: server_error,
}
