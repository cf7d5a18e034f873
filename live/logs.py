"""Log lines: plain text or one JSON object per line (``MVOTING_LOG_FORMAT``), each naming
the HTTP request or the socket connection it was written for.

The request's id is ``X-Request-ID``: the client's (a proxy's), if it is short and plain,
else a new one; it goes back on the response. A socket event's lines carry a short hash
of its connection's Socket.IO id. That id is not Engine.IO's session id, the credential a
long-polling client presents, but a log has no need of either, nor of the device token.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live.wire.names import connection_id

#: The id of the HTTP request being handled ("" outside one).
REQUEST: ContextVar[str] = ContextVar("mvoting_request", default="")
#: The Socket.IO id of the connection whose event is being handled ("" outside one); lines
#: show its short one-way name (``connection_id``), made only for a line that is written.
CONNECTION: ContextVar[str] = ContextVar("mvoting_connection", default="")

HEADER = b"x-request-id"
#: An incoming request id taken as it is; any other is replaced (it lands in every line).
_PLAIN_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
#: Path segments this long are tokens (an invitation's): access lines do not show them.
_TOKEN_LENGTH = 24
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


class Ids(logging.Filter):
    """Puts the current request's and connection's ids on every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST.get()
        sid = CONNECTION.get()
        record.connection_id = connection_id(sid) if sid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ids, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, attr in (("request", "request_id"), ("connection", "connection_id")):
            if value := getattr(record, attr, ""):
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request=… connection=…]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        ids = [
            f"{key}={value}"
            for key, attr in (("request", "request_id"), ("connection", "connection_id"))
            if (value := getattr(record, attr, ""))
        ]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return super().formatMessage(record)


class Paths(logging.Filter):
    """uvicorn's lines (a request's, a websocket's) name paths without their query (join
    keys, presenter tokens, Engine.IO session ids) and without segments long enough to
    be tokens (an invitation's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_path(arg) for arg in record.args)
        return True


def _path(arg: object) -> object:
    if not isinstance(arg, str) or not arg.startswith("/"):
        return arg
    parts = arg.split("?", 1)[0].split("/")
    return "/".join("…" if len(part) >= _TOKEN_LENGTH else part for part in parts)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure(level: str, fmt: str) -> None:
    """The process's logging: one handler on the root logger, in ``fmt``, naming ids.

    ``level`` is mvoting's own; the libraries' lines start at warnings whatever it is:
    at debug, aiosqlite writes each statement with its parameters (passwords' hashes,
    join keys) and websockets each frame (a join's password). Like ``logging.basicConfig``,
    it leaves alone a process whose logging is set up already (a test run)."""
    if logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    handler.addFilter(Ids())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("mvoting").setLevel(level.upper())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers hand their records to the root logger's
    handler (``configure``), so they share its format and ids."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"paths": {"()": Paths}},
        "loggers": {
            name: {"handlers": [], "propagate": True, "filters": ["paths"]} for name in _UVICORN
        },
    }


def uvicorn_log_level(level: str) -> str:
    """uvicorn writes a line per request and per websocket: only when debugging."""
    return "info" if level == "debug" else "warning"


def per_connection(handler: H) -> H:
    """``handler(sid, ...)`` with its connection's id in every line it logs."""

    async def run(sid: str, *args: Any) -> Any:
        token = CONNECTION.set(sid)
        try:
            return await handler(sid, *args)
        finally:
            CONNECTION.reset(token)

    run.__name__ = getattr(handler, "__name__", "handler")
    return run  # type: ignore[return-value]


class RequestIds:
    """Gives each HTTP request an id (``REQUEST``), and sends it back as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", [])).get(HEADER, b"")
        request_id = sent.decode() if _PLAIN_ID.fullmatch(sent) else secrets.token_hex(8)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        token = REQUEST.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST.reset(token)
