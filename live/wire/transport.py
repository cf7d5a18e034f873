"""A leaner Engine.IO websocket path under python-socketio, same wire protocol.

Two costs dominated a profile of a 2,000-ballot burst once tallies went out as ready
frames (``live.wire.frames``):

- each inbound message: engineio's reader makes a task (``ensure_future``) and a
  ``wait_for`` per message, to time the peer out. The server's ping/pong already closes
  a silent peer (its service task checks every socket), so ``LeanSocket`` reads with a
  plain ``await``.
- each ack: python-socketio queues it for the socket's writer task, which wakes, encodes
  and frames it. ``LiveServer`` writes acks and events to a connection that takes ready
  frames at once, encoded and framed in one step.
- each event: python-socketio decodes it into a ``Packet``, logs it, looks its handler up
  through four tables and wraps the call, then builds and encodes an ack ``Packet``.
  ``LiveServer`` reads ``2<id>["event",...]`` of the default namespace itself, calls the
  handler and writes ``3<id>[...]`` as one frame; anything else takes upstream's path.

Only sockets that connected over websocket directly take these paths; a long-polling
client, and one that upgraded from long-polling, keep python-socketio's own.

Idle connections: engineio keeps a task per connection asleep until its next ping (made
anew after every pong) and checks ping timeouts with a ``wait_for`` per socket. With
10,000 attendees waiting between questions that is ~400 task creations and ~500
``wait_for`` calls a second. ``PingWheel`` pings lean sockets from one task, writing a
ready PING frame; ``LiveEngine._service_task`` checks every socket's deadline once a
second inline.

Memory: every connection keeps a send queue, engineio's ``asyncio.Queue`` (about 3 KiB);
``live.wire.lean_async.LeanQueue`` serves its single consumer. Once the websocket is open, the
handshake's leftovers go: engineio's environ keeps what the Socket.IO connect reads (the
cookie, the ASGI callables) and drops the rest, among them a class engineio makes per
request; the ASGI scope drops its header list.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import engineio
import orjson
import socketio
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from live.wire.client_manager import LiveManager
from live.wire.frames import FrameWriter, ack_frame, text_frame
from live.wire.lean_async import LeanQueue

PING_FRAME = text_frame("2")


class PingWheel:
    """Sends Engine.IO pings to lean sockets from one task, as ready frames."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._due: dict[Any, float] = {}  # socket -> loop time of its next ping
        self._task: asyncio.Task[None] | None = None

    def add(self, sock: Any) -> None:
        loop = asyncio.get_running_loop()
        self._due[sock] = loop.time() + self._engine.ping_interval
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        # Ends when nobody waits for a ping; the next ``add`` starts it again.
        loop = asyncio.get_running_loop()
        while self._due:
            await asyncio.sleep(min(0.25, self._engine.ping_interval / 4))
            now = loop.time()
            for sock, due in list(self._due.items()):
                if due > now:
                    continue
                del self._due[sock]
                if sock.closing or sock.closed:
                    continue
                sock.last_ping = time.time()
                if not sock.frame_writer.write(PING_FRAME):
                    await sock.send(eio_packet.Packet(eio_packet.PING))


class LiveEngine(engineio.AsyncServer):  # type: ignore[misc]  # engineio is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ping_wheel = PingWheel(self)

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        return LeanQueue()

    async def _service_task(self) -> None:
        """Close sockets whose ping went unanswered past ``ping_timeout``; once a second."""
        self.service_task_event = self.create_event()
        while not self.service_task_event.is_set():
            try:
                await asyncio.wait_for(self.service_task_event.wait(), timeout=1.0)
                break
            except TimeoutError:
                pass
            now, limit = time.time(), self.ping_timeout
            for sock in list(self.sockets.values()):
                if sock.closed:
                    self.sockets.pop(sock.sid, None)
                elif not sock.closing and sock.last_ping and now - sock.last_ping > limit:
                    await sock.check_ping_timeout()  # closes it


#: What engineio's environ of a websocket still serves once the socket is open: the
#: Socket.IO connect reads the cookie and ``live.wire.frames`` the ASGI callables.
_ENVIRON_KEPT = frozenset(
    (
        "asgi.receive",
        "asgi.send",
        "asgi.scope",
        "HTTP_COOKIE",
        "REMOTE_ADDR",
        "PATH_INFO",
        "QUERY_STRING",
        "REQUEST_METHOD",
        "wsgi.url_scheme",
    )
)


def _drop_handshake(environ: dict[str, Any]) -> None:
    """Free what the websocket handshake left in ``environ`` and its ASGI scope.

    The dict is shared (python-socketio keeps it per connection, engineio's frames hold
    it), so it is trimmed in place; ``clear`` releases its table.
    """
    kept = {k: v for k, v in environ.items() if k in _ENVIRON_KEPT}
    environ.clear()
    environ.update(kept)
    scope = kept.get("asgi.scope")
    if isinstance(scope, dict):
        scope["headers"] = []  # read once, into the environ, at the handshake


class LeanSocket(AsyncSocket):  # type: ignore[misc]  # engineio is untyped
    frame_writer: FrameWriter
    handshake_environ: dict[str, Any] | None

    def schedule_ping(self) -> None:
        # As upstream: a new ping only once the previous one was answered.
        if self.last_ping:  # type: ignore[has-type]  # set by engineio
            self.last_ping = None
            self.server.ping_wheel.add(self)

    async def close(self, *args: Any, **kwargs: Any) -> None:
        await super().close(*args, **kwargs)
        # Wake the writer: it closes the websocket. (Upstream's reader and writer time out
        # by themselves; ours wait without a deadline, so a socket closed for a missed
        # ping must end its connection here.)
        self.queue.put_nowait(None)

    async def _websocket_handler(self, ws: Any) -> None:
        if self.connected:  # type: ignore[has-type]  # upgraded from long-polling: upstream path
            await super()._websocket_handler(ws)
            return
        self.connected = True
        self.upgraded = True
        server = self.server
        if self.handshake_environ is not None:
            _drop_handshake(self.handshake_environ)
            self.handshake_environ = None

        async def writer() -> None:
            # Waits on the queue with no deadline: pings no longer pass through it, so
            # engineio's ``poll()`` (which gives up after ping_interval + ping_timeout)
            # would close an idle socket. A silent peer is the service task's to close.
            queue = self.queue
            while True:
                packets = [await queue.get()]
                while not queue.empty():
                    packets.append(queue.get_nowait())
                for _ in packets:
                    queue.task_done()
                try:
                    for pkt in packets:
                        if pkt is None:  # the socket is closing
                            raise StopAsyncIteration
                        await ws.send(pkt.encode())
                except Exception:
                    break
            await ws.close()

        writer_task = asyncio.ensure_future(writer())
        limit = server.max_http_buffer_size
        # python-socketio's handler of Engine.IO messages: text messages go straight to
        # it, as engineio's ``receive`` would send them (with async_handlers off), minus
        # a Packet object, a log call and a wrapper coroutine per message.
        on_message = server.handlers.get("message")
        while True:
            try:
                data = await ws.wait()
            except Exception:  # the peer went away
                break
            if data is None or len(data) > limit:
                break
            try:
                if isinstance(data, str) and data[:1] == "4" and on_message is not None:
                    await on_message(self.sid, data[1:])
                elif data == "3":  # PONG
                    self.schedule_ping()
                else:
                    await self.receive(eio_packet.Packet(encoded_packet=data))
            except Exception:
                server.logger.exception("%s: receive error", self.sid)
                if self.closed:
                    break
        await self.queue.put(None)  # let the writer finish
        await writer_task
        await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


class LiveServer(socketio.AsyncServer):  # type: ignore[misc]  # python-socketio is untyped
    """python-socketio's server with the leaner websocket path of this module."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client_manager", LiveManager())
        super().__init__(**kwargs)
        self.frame_writers: dict[str, FrameWriter] = {}  # engine.io sid -> writer

    def _engineio_server_class(self) -> Any:
        return LiveEngine

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        writer = FrameWriter.for_environ(environ)
        sock = self.eio.sockets.get(eio_sid)
        if writer is not None and type(sock) is AsyncSocket:
            # Connected over websocket directly: take the lean read loop and direct writes.
            sock.__class__ = LeanSocket
            sock.frame_writer = writer
            sock.handshake_environ = environ
            self.frame_writers[eio_sid] = writer
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> Any:
        self.frame_writers.pop(eio_sid, None)
        return await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        writer = self.frame_writers.get(eio_sid)
        call = None
        if writer is not None and eio_sid not in self._binary_packet:
            call = self._plain_event(data)
        if writer is None or call is None:
            await super()._handle_eio_message(eio_sid, data)
            return
        ack_id, args = call
        handler = self.handlers.get("/", {}).get(args[0])
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if handler is None or not self.manager.is_connected(sid, "/"):
            await super()._handle_eio_message(eio_sid, data)  # upstream's answers to these
            return
        result = await handler(sid, *args[1:])
        if ack_id is None:
            return
        reply = [] if result is None else list(result) if isinstance(result, tuple) else [result]
        try:
            frame = ack_frame(ack_id, reply)
        except TypeError:  # not JSON (binary): upstream encodes it
            frame = None
        if frame is None or not writer.write(frame):
            await super()._send_packet(
                eio_sid, self.packet_class(sio_packet.ACK, namespace="/", id=ack_id, data=reply)
            )

    @staticmethod
    def _plain_event(data: Any) -> tuple[int | None, list[Any]] | None:
        """``(ack id, [event, *args])`` of ``2<id>[...]`` on the default namespace, or None."""
        if not isinstance(data, str) or data[:1] != "2":
            return None
        start = data.find("[", 1, 13)
        digits = data[1:start]
        if start < 0 or (digits and not (digits.isascii() and digits.isdigit())):
            return None
        try:
            args = orjson.loads(data[start:])
        except orjson.JSONDecodeError:
            return None  # upstream raises its own error
        if not isinstance(args, list) or not args or not isinstance(args[0], str):
            return None
        return (int(digits) if digits else None), args

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        # Acks and events only: a CONNECT reply goes through the socket's queue, behind
        # the OPEN packet that is still waiting there.
        writer = self.frame_writers.get(eio_sid)
        if writer is not None and pkt.packet_type in (sio_packet.EVENT, sio_packet.ACK):
            encoded = pkt.encode()
            if isinstance(encoded, str) and writer.write(text_frame("4" + encoded)):
                return
        await super()._send_packet(eio_sid, pkt)
