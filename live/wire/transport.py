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

Hostile clients: every socket, whatever its transport, is a ``GuardedSocket``.

- What waits to be sent is bounded: a socket's send queue counts the bytes it holds, and
  a client with more than ``MAX_BUFFERED`` waiting is dropped (a long-polling client
  that POSTs and never GETs would otherwise grow the server without end; a websocket's
  ready frames are bounded the same way in ``live.wire.frames``).
- What the protocol does not use closes the connection, counted in
  ``live.wire.refusals`` and never logged one by one: a packet that does not parse (the
  Socket.IO protocol closes on a parse error; python-socketio logs a traceback and reads
  on), a binary packet or attachment (python-socketio keeps every later message as an
  attachment of a binary event until the count it announced is reached), an event named
  as one of Socket.IO's own (``42["connect",{}]`` would run the connect handler again).

Idle connections: engineio keeps a task per connection asleep until its next ping (made
anew after every pong) and checks ping timeouts with a ``wait_for`` per socket. With
10,000 attendees waiting between questions that is ~400 task creations and ~500
``wait_for`` calls a second. ``PingWheel`` pings lean sockets from one task, writing a
ready PING frame; ``LiveEngine._service_task`` checks every socket's deadline once a
second inline.

Memory: every connection keeps a send queue, engineio's ``asyncio.Queue`` (about 3 KiB);
``SendQueue``, a ``live.wire.lean_async.LeanQueue`` that counts its bytes, serves its
single consumer. Once the websocket is open, the
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
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from live.wire import refusals
from live.wire.client_manager import LiveManager
from live.wire.frames import MAX_BUFFERED, FrameWriter, ack_frame, text_frame
from live.wire.lean_async import LeanQueue
from live.wire.names import connection_id
from live.wire.refusals import REFUSALS
from live.wire.websocket_protocol import MAX_MESSAGE

PING_FRAME = text_frame("2")

#: Event names Socket.IO keeps for itself (those of the JavaScript server, and
#: python-socketio's ``message``): a client that sends one is closed.
RESERVED_EVENTS = frozenset(
    (
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
        "message",
    )
)

#: Engine.IO packets a long-polling client may POST: messages, pongs, its close.
_POSTED = frozenset((eio_packet.MESSAGE, eio_packet.PONG, eio_packet.CLOSE))

#: First characters of the Engine.IO packets a client sends over a websocket it upgraded
#: to: close, ping (the probe), pong, message, upgrade, noop.
_UPGRADED_FIRST = frozenset("123456")


def _size(item: Any) -> int:
    data = getattr(item, "data", None)
    return len(data) if isinstance(data, str | bytes) else 0


class SendQueue(LeanQueue):
    """A socket's queue of Engine.IO packets to send, knowing the bytes it holds.

    A Socket.IO message is queued already encoded (``Packet.data`` is its text), so its
    size is a ``len``; the others (open, ping, close) are counted as nothing.
    """

    __slots__ = ("held",)

    def __init__(self) -> None:
        super().__init__()
        self.held = 0

    def put_nowait(self, item: Any) -> None:
        self.held += _size(item)
        super().put_nowait(item)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        self.held -= _size(item)
        return item

    async def get(self) -> Any:
        item = await super().get()
        self.held -= _size(item)
        return item

    def clear(self) -> None:
        super().clear()
        self.held = 0


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

    def discard(self, sock: Any) -> None:
        """Forget a closed socket now: waiting for its ping would keep it (its connection,
        and what that connection received and never handed over) for up to a ping
        interval after it closed."""
        self._due.pop(sock, None)

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
        return SendQueue()

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


class GuardedSocket(AsyncSocket):  # type: ignore[misc]  # engineio is untyped
    """engineio's socket, closed when its client stops reading or breaks the protocol."""

    async def refuse(self, reason: str, *, abort: bool = False) -> None:
        """Close the connection for ``reason`` (a ``live.wire.refusals`` name), counted.

        ``abort`` drops what waits to be sent, the close packet included.
        """
        if self.closing or self.closed:
            return
        REFUSALS.add(reason)
        if abort:
            self.queue.clear()
        await self.close(wait=False, abort=abort, reason=self.server.reason.TRANSPORT_ERROR)
        self.queue.put_nowait(None)  # ends a poll, or the websocket's writer, waiting on it

    async def send(self, pkt: Any) -> None:
        if self.queue.held > MAX_BUFFERED:
            # Not reading what it is sent (a long-polling client that POSTs and never
            # GETs, or a websocket whose writer is held up by a full transport).
            await self.refuse(refusals.UNREAD, abort=True)
            return
        await super().send(pkt)

    async def close(self, *args: Any, **kwargs: Any) -> None:
        await super().close(*args, **kwargs)
        if self.closed and self.server.sockets.get(self.sid) is self:
            # Upstream lists a closed session until its service task drops it; a POST in
            # that window fails with a 500 and a traceback in the log.
            del self.server.sockets[self.sid]

    async def handle_post_request(self, environ: dict[str, Any]) -> None:
        """Upstream's, refusing what it would log a traceback for."""
        try:
            length = int(environ.get("CONTENT_LENGTH", "0"))
        except ValueError:
            length = -1
        if length > self.server.max_http_buffer_size:
            await self.refuse(refusals.TOO_BIG)
            return
        if length < 0:
            await self.refuse(refusals.MALFORMED)
            return
        body = await environ["wsgi.input"].read(length)
        try:
            packets = eio_payload.Payload(encoded_payload=body.decode()).packets
        except Exception:  # not an Engine.IO payload, whatever it is
            await self.refuse(refusals.MALFORMED)
            return
        for pkt in packets:
            if pkt.packet_type not in _POSTED:
                await self.refuse(refusals.MALFORMED)
                return
            await self.receive(pkt)
            if self.closed:  # closed by the client, or refused
                return

    async def _websocket_handler(self, ws: Any) -> None:
        # Upgraded from long-polling: upstream's handler, reading through a filter.
        await super()._websocket_handler(_UpgradedWebSocket(self, ws))


class _UpgradedWebSocket:
    """engineio's ASGI websocket as upstream's handler reads it after an upgrade.

    Upstream's reader decodes every text message as an Engine.IO packet outside any
    ``try``: one that does not decode ends the request with a traceback. Those close the
    socket instead, and a closed socket reads as the end of the connection.
    """

    __slots__ = ("_sock", "_ws")

    def __init__(self, sock: GuardedSocket, ws: Any) -> None:
        self._sock = sock
        self._ws = ws

    async def wait(self) -> Any:
        if self._sock.closed:
            return None
        data = await self._ws.wait()
        if isinstance(data, str) and (not data or data[0] not in _UPGRADED_FIRST):
            await self._sock.refuse(refusals.MALFORMED)
            return None
        return data

    async def send(self, message: Any) -> None:
        await self._ws.send(message)

    async def close(self) -> None:
        await self._ws.close()


class LeanSocket(GuardedSocket):
    frame_writer: FrameWriter
    handshake_environ: dict[str, Any] | None

    def schedule_ping(self) -> None:
        # As upstream: a new ping only once the previous one was answered.
        if self.last_ping:  # type: ignore[has-type]  # set by engineio
            self.last_ping = None
            self.server.ping_wheel.add(self)

    async def close(self, *args: Any, **kwargs: Any) -> None:
        await super().close(*args, **kwargs)
        self.server.ping_wheel.discard(self)
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
        # The protocol's own reader where it has one (``LeanWebSocketProtocol``): the text
        # itself, not an ASGI message unpacked by engineio's ``wait``.
        wait = getattr(self.frame_writer.connection, "next_message", None) or ws.wait
        gone = False  # the peer went away: nothing the writer holds can reach it
        while True:
            try:
                data = await wait()
            except Exception:
                gone = True
                break
            if data is None:
                gone = True
                break
            if len(data) > limit:  # uvicorn's protocol refuses such a frame already
                await self.refuse(refusals.TOO_BIG)
                break
            try:
                if isinstance(data, str) and data[:1] == "4" and on_message is not None:
                    await on_message(self.sid, data[1:])
                elif data == "3":  # PONG
                    self.schedule_ping()
                else:
                    await self._receive_other(data)
            except Exception:  # the server's fault: a client's errors are refused
                # Not the session id itself: a long-polling client presents it as its key.
                server.logger.exception("session %s: receive error", connection_id(self.sid))
            if self.closed:  # by the client, or refused
                break
        if gone:
            writer_task.cancel()
        else:
            await self.queue.put(None)  # let the writer send what it holds, and finish
            await writer_task
        await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    async def _receive_other(self, data: Any) -> None:
        """A websocket message that is not a Socket.IO message or a bare pong.

        A client connected over websocket sends nothing else but its close: the ping
        probe, upgrade and noop packets belong to an upgrade from long-polling.
        """
        if not isinstance(data, str):
            await self.refuse(refusals.BINARY)
        elif data[:1] == "1":  # CLOSE
            await self.close(wait=False, abort=True, reason=self.server.reason.CLIENT_DISCONNECT)
        elif data[:1] == "3":  # PONG with a payload
            self.schedule_ping()
        else:
            await self.refuse(refusals.MALFORMED)


class LiveServer(socketio.AsyncServer):  # type: ignore[misc]  # python-socketio is untyped
    """python-socketio's server with the leaner websocket path of this module."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client_manager", LiveManager())
        kwargs.setdefault("max_http_buffer_size", MAX_MESSAGE)
        #: The default namespace's handlers of client events: reserved names never.
        self.client_events: dict[str, Any] = {}
        super().__init__(**kwargs)
        self.frame_writers: dict[str, FrameWriter] = {}  # engine.io sid -> writer

    def _engineio_server_class(self) -> Any:
        return LiveEngine

    def on(self, event: str, handler: Any = None, namespace: str | None = None) -> Any:
        # A handler given as a decorator is not seen here; its events take upstream's
        # (slower) path.
        if handler is not None and (namespace or "/") == "/" and event not in RESERVED_EVENTS:
            self.client_events[event] = handler
        return super().on(event, handler, namespace)

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        writer = FrameWriter.for_environ(environ)
        sock = self.eio.sockets.get(eio_sid)
        if type(sock) is AsyncSocket:
            sock.__class__ = GuardedSocket
            if writer is not None:
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
        call = self._plain_event(data) if writer is not None else None
        if writer is None or call is None:
            await self._checked_message(eio_sid, data)
            return
        ack_id, args = call
        handler = self.client_events.get(args[0])
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if handler is None or not self.manager.is_connected(sid, "/"):
            await self._checked_message(eio_sid, data)  # refused, or upstream's answer
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

    async def _checked_message(self, eio_sid: str, data: Any) -> None:
        """Upstream's dispatch of a Socket.IO packet, closing on what the protocol does not
        use instead of raising (upstream logs a traceback and reads on)."""
        if not isinstance(data, str):
            await self._refuse(eio_sid, refusals.BINARY)
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except ValueError:  # its type, id or JSON (orjson's errors are ValueErrors)
            await self._refuse(eio_sid, refusals.MALFORMED)
            return
        kind, args = pkt.packet_type, pkt.data
        if kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK) or pkt.attachment_count:
            await self._refuse(eio_sid, refusals.BINARY)
        elif kind == sio_packet.EVENT:
            if not (isinstance(args, list) and args and isinstance(args[0], str)):
                await self._refuse(eio_sid, refusals.MALFORMED)
            elif args[0] in RESERVED_EVENTS:
                await self._refuse(eio_sid, refusals.RESERVED)
            else:
                await self._handle_event(eio_sid, pkt.namespace, pkt.id, args)
        elif kind == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, args)
        elif kind == sio_packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == sio_packet.ACK and isinstance(args, list):
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, args)
        else:  # CONNECT_ERROR is the server's to send; an unknown type; an ack of no list
            await self._refuse(eio_sid, refusals.MALFORMED)

    async def _refuse(self, eio_sid: str, reason: str) -> None:
        sock = self.eio.sockets.get(eio_sid)
        if isinstance(sock, GuardedSocket):
            await sock.refuse(reason)

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
            return None  # refused by ``_checked_message``
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
