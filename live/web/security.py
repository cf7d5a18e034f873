"""Security at the HTTP edge: response headers, same-origin checks and CSRF tokens for forms.

The JSON API needs no token: an unsafe request to it must carry an ``application/json``
body or none at all (an upload: a form or the image's own bytes), which a page on another site
cannot send without a CORS preflight that we never allow; a browser names the page's
origin on every such request, and one that is not exactly ours (scheme, host and port) is
refused; and the session cookie is ``SameSite=Lax``.

The middleware wraps the whole ASGI app, Socket.IO's polling responses included, so every
HTTP response carries the headers. Responses are ``Cache-Control: no-store`` unless the
handler says otherwise: pages and API answers carry room passwords, join keys and
presenter tokens, which no shared cache or browser history should keep.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms.errors import N_, bad_request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Geolocation for this origin only: "polls near me" and a poll's place ask for it.
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
NO_STORE = [*HEADERS, (b"cache-control", b"no-store")]


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Paths whose responses shared caches may keep (their handlers set their own rules).
CACHEABLE = ("/static/", "/media/")
#: The body type the JSON API takes on unsafe requests, and where an upload goes instead.
JSON_TYPE = b"application/json"
UPLOAD_PATH = "/api/media"
#: A roster's spreadsheet, sent as the body itself (``live.web.rosters``).
ROSTER_UPLOAD_PATH = "/api/rosters/uploads"


def _cross_origin(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """An unsafe request sent by a page of another origin (browsers always say so).

    The origin is the scheme, host and port: ``https://host`` is not ``http://host``.
    ``scope["scheme"]`` is the one the client used (uvicorn takes it from the proxy's
    ``X-Forwarded-Proto`` when the proxy is trusted)."""
    origin = headers.get(b"origin")
    if origin is None:
        return False
    scheme: str = scope.get("scheme", "http")
    return origin != scheme.encode() + b"://" + headers.get(b"host", b"")


def _media_type(headers: dict[bytes, bytes]) -> bytes | None:
    raw = headers.get(b"content-type")
    return None if raw is None else raw.split(b";", 1)[0].strip().lower()


def _wrong_body_type(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """An unsafe JSON API request whose body is not JSON (or an upload where one goes)."""
    path: str = scope.get("path", "")
    if not path.startswith("/api/"):
        return False
    kind = _media_type(headers)
    if kind is None:
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        return has_body
    # An upload is a form or the image itself (its type is sniffed, not believed).
    return kind != JSON_TYPE and path not in (UPLOAD_PATH, ROSTER_UPLOAD_PATH)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = b'{"ok":false,"error":{"code":"%s","message":"%s"}}' % (
        code.encode(),
        message.encode(),
    )
    headers = [(b"content-type", JSON_TYPE), (b"cache-control", b"no-store"), *HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the security headers to every HTTP response (not to websockets), and refuses
    unsafe requests that a page of another origin sent (a multipart upload, a form), and
    unsafe JSON API requests whose body is not JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE_METHODS:
            headers: dict[bytes, bytes] = dict(scope.get("headers", []))
            if _cross_origin(scope, headers):
                await _refuse(send, 403, "forbidden", "Cross-site request refused.")
                return
            if _wrong_body_type(scope, headers):
                await _refuse(
                    send, 415, "bad_request", "The request is malformed: send a JSON body."
                )
                return
        own = HEADERS if scope.get("path", "").startswith(CACHEABLE) else NO_STORE

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in own if k not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request, form: Any) -> None:
    """Refuse a form post whose token does not match the session's."""
    sent = form.get("csrf")
    kept = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(kept, str)
        or not hmac.compare_digest(sent, kept)
    ):
        raise bad_request(N_("the form expired; reload the page"))
