"""uvicorn's websocket protocol (websockets-sansio), lighter per connection.

``mvoting serve`` runs uvicorn with this class (``uvicorn.Config(ws=...)``); the wire
behaviour is uvicorn's. Seven things differ:

- the receive queue and the writable flag are ``live.wire.lean_async``'s (uvicorn's
  ``asyncio.Queue`` and ``asyncio.Event`` hold four deques, ~3.8 KiB per connection);
- the handshake's request and response, with their header tables (~3.5 KiB), are let go
  once the response is sent: uvicorn and websockets read them only while accepting;
- reading is paused only when messages pile up, not after each one: uvicorn pauses the
  socket after every message until the app takes it, two ``epoll_ctl`` calls per ballot;
- a message may be ``MAX_MESSAGE`` bytes at most, not uvicorn's 16 MiB: websockets
  refuses (close code 1009) a frame that announces more before reading its payload. With
  16 MiB a client could make the server read and hold 15 MiB messages (twenty of them
  took 398 MiB) that Engine.IO then refused for being over its limit anyway;
- once the handshake is done, whole text frames are read by ``live.wire.client_frames``
  and go to the app without websockets' parser (to ``live.wire.transport.LeanSocket``
  as the text itself, ``next_message``); every other frame is still websockets'.
  A client that sent bytes after its request before the handshake was answered (RFC
  6455 lets it send nothing then) is read by websockets alone;
- a client's close is answered here too, once the app reads with ``next_message``: its
  payload checked with websockets' ``Close.parse``, echoed, the connection closed and the
  app told, with websockets' state set as its parser would have set it (a close that
  does not parse is still websockets' to refuse). Hanging up went through websockets'
  parser and uvicorn's event dispatch, about a tenth of the web process's CPU per
  hang-up;
- uvicorn's WebSocket keepalive (a ping every 20 s, a timer per connection) is off:
  Engine.IO pings every socket already (``live.wire.transport.PingWheel``) and closes
  one that does not answer; 10,000 idle phones were 500 more pings and timers a second.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Close
from websockets.protocol import State
from websockets.speedups import apply_mask

from live.wire import client_frames, refusals
from live.wire.lean_async import LeanEvent, LeanQueue
from live.wire.refusals import REFUSALS

#: Messages received and not yet taken by the app before the socket stops being read.
HIGH_WATER = 16

#: The largest message a client may send, in bytes: the Engine.IO limit (its
#: ``maxPayload``, ``max_http_buffer_size``) of ``live.wire.transport.LiveServer``. The
#: protocol's largest message, a join with a 200-character secret, is under 2 KiB.
MAX_MESSAGE = 64 * 1024


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = self.conn.max_message_size
        self.limit = MAX_MESSAGE if limit is None else min(limit, MAX_MESSAGE)
        self.conn.max_message_size = self.limit
        self.queue: Any = LeanQueue()
        self.writable: Any = LeanEvent()
        self.writable.set()
        #: Whether ``client_frames`` reads this connection: None until the handshake is
        #: answered, False for good once websockets' parser has the stream.
        self.split: bool | None = None
        self.held = b""  # the start of a frame not yet whole
        #: The app reads with ``next_message``: text messages are queued as they are.
        self.direct = False

    def data_received(self, data: bytes) -> None:
        if self.split is None:
            if not self.handshake_complete:
                early = self.handshake_initiated  # bytes after the request: not ours
                super().data_received(data)
                if early or (self.handshake_initiated and not data.endswith(b"\r\n\r\n")):
                    self.split = False
                return
            self.split = not self.close_sent
        if not self.split or self.close_sent:
            self.split = False
            super().data_received(self.held + data if self.held else data)
            self.held = b""
            return
        buf = self.held + data if self.held else data
        while True:
            texts, end, stop, control_end = client_frames.split(buf, self.limit)
            for text in texts:
                self.text_received(text)
            if stop == client_frames.MORE:
                self.held = buf[end:]
                return
            if stop == client_frames.OTHER:
                self.split = False
                self.held = b""
                super().data_received(buf[end:])
                return
            control = buf[end:control_end]
            if control[0] == client_frames.CLOSE and self.closed_by_client(control):
                return
            super().data_received(control)  # close, ping or pong
            buf = buf[control_end:]
            if self.close_sent or self.transport.is_closing() or self.conn.close_rcvd:
                self.split = False
                self.held = b""
                if buf:
                    super().data_received(buf)
                return

    def closed_by_client(self, frame: bytes) -> bool:
        """Answer a client's close frame (whole, masked, its first byte ``CLOSE``) as
        websockets and uvicorn would: echo it, close the connection, tell the app. False,
        having done nothing, where it is websockets' to judge."""
        if not self.direct or self.conn.state is not State.OPEN:
            return False  # not read by next_message, or closing already
        if frame[1] & 0x7F != len(frame) - 6:
            return False  # a length in more bytes than it needs
        payload = apply_mask(frame[6:], frame[2:6])
        try:
            close = Close.parse(payload)
        except (ProtocolError, UnicodeDecodeError):
            return False  # websockets closes with 1002 or 1007
        conn = self.conn
        conn.close_rcvd = conn.close_sent = close
        conn.close_rcvd_then_sent = True
        conn.state = State.CLOSING  # what websockets' parser sets: sending now refuses
        self.split = False
        self.held = b""
        self.transport.write(bytes((client_frames.CLOSE, len(payload))) + payload)
        self.transport.close()  # first: the client has its end before the app is told
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}
        )
        return True

    def start_keepalive(self) -> None:
        """Not started: Engine.IO's ping is the keepalive (see the module's docstring)."""

    def text_received(self, text: str) -> None:
        """A whole text message read by ``client_frames``: to the app, as uvicorn would
        (as the text itself once the app reads with ``next_message``)."""
        if self.close_sent:
            return  # as uvicorn: discarded once the app is past ``websocket.close``
        self.queue.put_nowait(text if self.direct else {"type": "websocket.receive", "text": text})
        if not self.read_paused and self.queue.qsize() >= HIGH_WATER:
            self.read_paused = True
            self.transport.pause_reading()

    async def next_message(self) -> str | bytes | None:
        """The next message of the open websocket, or None once it is gone: what the ASGI
        ``receive`` and engineio's ``WebSocket.wait`` make of it, without their message
        dict and two coroutines per message. Whoever calls it first becomes the only
        reader of the connection (``direct``)."""
        self.direct = True
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self.transport.resume_reading()
        if type(message) is str:
            return message
        if message["type"] != "websocket.receive":
            return None  # websocket.disconnect
        data: str | bytes | None = message.get("bytes")
        return data if data is not None else message.get("text")

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

    def handle_parser_exception(self) -> None:
        if not self.close_sent and isinstance(self.conn.parser_exc, PayloadTooBig):
            REFUSALS.add(refusals.TOO_BIG)
        super().handle_parser_exception()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # websockets' parser keeps the request for the connection's life (a local of
            # its generator), so its headers are emptied rather than let go.
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
