"""Security at the HTTP edge: response headers and CSRF tokens for forms.

The JSON API needs no token: it accepts only ``application/json`` bodies, which a page on
another site cannot send without a CORS preflight that we never allow, and the session
cookie is ``SameSite=Lax``.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms.errors import ErrorCode, VotingError

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
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _cross_origin(scope: Scope) -> bool:
    """An unsafe request sent by a page of another origin (browsers always say so)."""
    headers: dict[bytes, bytes] = dict(scope.get("headers", []))
    origin = headers.get(b"origin")
    if origin is None:
        return False
    host = headers.get(b"host", b"")
    return origin.split(b"://", 1)[-1] != host


class SecurityHeaders:
    """Adds the security headers to every HTTP response (not to websockets), and refuses
    unsafe requests that a page of another origin sent (a multipart upload, a form)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE_METHODS and _cross_origin(scope):
            body = (
                b'{"ok":false,"error":{"code":"forbidden","message":"Cross-site request refused."}}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"application/json"), *HEADERS],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in present]
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
        raise VotingError(ErrorCode.BAD_REQUEST, detail="the form expired; reload the page")
