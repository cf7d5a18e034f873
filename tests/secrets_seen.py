"""The secrets a test run met, and every line it logged: at the end of the run no line may
hold any of them (``tests/conftest.py``).

The places that make or receive secrets add them as they go: every HTTP client of the
run (the passwords, numbers and form tokens it sends, every cookie it is given, and the
session ids and form token in a session cookie), the test settings (the app's secret,
the phone pepper), ``tests.conftest`` (device tokens, site passes and the room
credentials of joins, Engine.IO session ids), citizens made in the database (their
numbers), rooms made over the API (passwords, join keys, presenter tokens) and the SMS
gateway (the numbers it was asked to text, its bearer token).

The lines kept are those a node logging at debug would write (``LogLines``), as
``MVOTING_LOG_FORMAT=json`` writes them, tracebacks included.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import inspect
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import phonenumbers

from live import logs, sessions

#: Shorter values (a test room's password "pw", a six-digit code) would match plain text.
SHORTEST = 8

_seen: dict[str, str] = {}  #: secret -> what it is


def saw(what: str, *values: object) -> None:
    """Remember ``values`` (strings or bytes; others are skipped) as secrets of kind ``what``."""
    for value in values:
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if isinstance(value, str) and len(value) >= SHORTEST:
            _seen.setdefault(value, what)


def saw_phone(number: str) -> None:
    """A mobile number, in the forms a line could write it: E.164 with and without its
    ``+``, national with and without dashes or spaces, and as it was typed."""
    parsed = phonenumbers.parse(number, "KR")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(c for c in national if c.isdigit())
    saw("a phone number", number, e164, e164[1:], national, digits, national.replace("-", " "))


def saw_cookies(cookies: httpx.Cookies) -> None:
    """A browser's cookies, and the session ids and form token in its session cookie."""
    for cookie in cookies.jar:
        if cookie.name != sessions.COOKIE:
            saw(f"the cookie {cookie.name}", cookie.value)
        else:  # its fields, signed again on every answer: its part before the signature
            saw("a session cookie", cookie.value and cookie.value.rsplit(".", 2)[0])
            fields = _session_fields(cookie.value or "")
            for name in (sessions.HOSTS.session, sessions.CITIZENS.session, "csrf"):
                saw(f"a session's {name}", fields.get(name))


def _session_fields(value: str) -> dict[str, object]:
    """The fields of a Starlette session cookie (``base64(json).timestamp.signature``)."""
    data = value.rsplit(".", 2)[0]
    try:
        fields = json.loads(base64.b64decode(data))
    except (binascii.Error, ValueError):
        return {}
    return fields if isinstance(fields, dict) else {}


def count() -> int:
    return len(_seen)


@dataclass(frozen=True)
class Leak:
    what: str
    line: str


def leaks(lines: Iterable[str]) -> list[Leak]:
    """Every line holding a secret seen so far, with the kind of the secret."""
    by_start: dict[str, list[str]] = {}  # a secret's first SHORTEST characters -> secrets
    for secret in _seen:
        by_start.setdefault(secret[:SHORTEST], []).append(secret)
    found = []
    for line in lines:
        held = {
            secret
            for i in range(len(line) - SHORTEST + 1)
            for secret in by_start.get(line[i : i + SHORTEST], ())
            if line.startswith(secret, i)
        }
        found += [Leak(_seen[secret], line) for secret in sorted(held)]
    return found


def saw_request(request: httpx.Request) -> None:
    """The passwords, numbers and form tokens a request sends (a JSON body or a form)."""
    kind = request.headers.get("content-type", "")
    try:
        if kind.startswith("application/json"):
            fields = json.loads(request.content)
        elif kind.startswith("application/x-www-form-urlencoded"):
            fields = dict(parse_qsl(request.content.decode()))
        else:
            return
    except (httpx.RequestNotRead, ValueError):
        return
    if not isinstance(fields, dict):
        return
    for name in _SECRET_FIELDS:
        saw(f"a request's {name}", fields.get(name))
    if isinstance(fields.get("phone"), str):
        with contextlib.suppress(phonenumbers.NumberParseException):
            saw_phone(fields["phone"])


_SECRET_FIELDS = ("password", "new_password", "csrf")


def watch_responses() -> None:
    """What any HTTP client of the run sends (``saw_request``) and every cookie it is
    given (``saw_cookies``) are secrets."""
    for client in (httpx.Client, httpx.AsyncClient):
        client.send = _watched(client.send)  # type: ignore[method-assign, assignment]


def _watched(send: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(send):

        async def send_async(self: Any, request: httpx.Request, **kwargs: Any) -> Any:
            saw_request(request)
            response = await send(self, request, **kwargs)
            saw_cookies(response.cookies)
            return response

        return send_async

    def send_sync(self: Any, request: httpx.Request, **kwargs: Any) -> Any:
        saw_request(request)
        response = send(self, request, **kwargs)
        saw_cookies(response.cookies)
        return response

    return send_sync


class LogLines(logging.Handler):
    """Keeps as a JSON log line, ids included, every record a node logging at debug would
    write: mvoting's and uvicorn's, and the libraries' warnings (``live.logs.configure``).
    Not the debug lines of the tests' own HTTP clients, which carry their cookies."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logs.JsonFormatter())
        self.addFilter(logs.Ids())

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or record.name.split(".")[0] in _OWN:
            self.lines.append(self.format(record))


_OWN = ("mvoting", "uvicorn")


#: The run's lines (``tests/conftest.py`` installs it on the root logger).
LINES = LogLines()
