"""uvicorn's websocket protocol (websockets-sansio), lighter per connection.

``mvoting serve`` runs uvicorn with this class (``uvicorn.Config(ws=...)``); the wire
behaviour is uvicorn's. Three things differ:

- the receive queue and the writable flag are ``live.wire.lean_async``'s (uvicorn's
  ``asyncio.Queue`` and ``asyncio.Event`` hold four deques, ~3.8 KiB per connection);
- the handshake's request and response, with their header tables (~3.5 KiB), are let go
  once the response is sent: uvicorn and websockets read them only while accepting;
- reading is paused only when messages pile up, not after each one: uvicorn pauses the
  socket after every message until the app takes it, two ``epoll_ctl`` calls per ballot.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from live.wire.lean_async import LeanEvent, LeanQueue

#: Messages received and not yet taken by the app before the socket stops being read.
HIGH_WATER = 16


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: Any = LeanQueue()
        self.writable: Any = LeanEvent()
        self.writable.set()

    def send_receive_event_to_app(self) -> None:
        paused = self.read_paused
        self.read_paused = True  # so uvicorn's own code does not pause the socket
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = paused
        if not paused and self.queue.qsize() >= HIGH_WATER:
            self.read_paused = True
            self.transport.pause_reading()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # websockets' parser keeps the request for the connection's life (a local of
            # its generator), so its headers are emptied rather than let go.
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
