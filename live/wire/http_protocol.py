"""uvicorn's HTTP protocol (httptools) with a deadline and a size limit on request headers,
and a limit on open connections.

uvicorn times a connection out only between two requests (``timeout_keep_alive``, armed
once a response has gone out), and httptools takes headers of any length. A client that
opens a connection and sends nothing, or its headers a byte at a time, keeps the
connection, its buffers and a file descriptor for as long as it likes (1,500 connections
sending a byte every 10 s were never closed); one that sends headers without end grows
the request's header list without end. ``GuardedHttpProtocol`` closes a connection

- whose request headers are not complete ``header_timeout`` seconds after the request
  began: after the connection opened, or after the first byte of the next request on a
  kept-alive connection;
- whose request headers pass ``MAX_HEADER_BYTES``;
- that would take the process past ``max_connections`` open connections; websockets
  count too (uvicorn keeps both kinds in one set), and every websocket starts as an
  HTTP request here.

Each is counted in ``live.wire.refusals``, never logged one by one. What happens once
the headers are read (the body, the app, a websocket) is not timed here.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from live.wire import refusals
from live.wire.refusals import REFUSALS

#: Request line and headers, in bytes: browsers send a few KiB (nginx takes 32 KiB).
MAX_HEADER_BYTES = 64 * 1024


class GuardedHttpProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    max_connections: int = 20_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            REFUSALS.add(refusals.TOO_MANY)
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Still reading headers after this chunk: all of it was headers.
        if self._header_timer is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse(refusals.BIG_HEADERS)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # the next request of a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        self._refuse(refusals.SLOW_HEADERS)

    def _refuse(self, reason: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            REFUSALS.add(reason)
            self.transport.close()


def guarded_http_protocol(header_timeout: float, max_connections: int) -> type[GuardedHttpProtocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, with these limits."""
    return cast(
        type[GuardedHttpProtocol],
        type(
            "GuardedHttpProtocol",
            (GuardedHttpProtocol,),
            {"header_timeout": header_timeout, "max_connections": max_connections},
        ),
    )
