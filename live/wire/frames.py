"""Server events encoded once, as WebSocket frame bytes, for every connection alike.

A server-to-client WebSocket frame is not masked, so the bytes of one text frame are the
same for every recipient: a tally snapshot is encoded (JSON, Socket.IO, Engine.IO,
WebSocket framing) once and then written to each watcher's transport as is, with no
task, queue or coroutine per recipient. python-socketio's ``emit(room)`` spends
78–113 µs per recipient on that path; this spends a few.

``FrameWriter.for_environ`` recognises uvicorn's websockets-sansio connection behind the
ASGI ``send`` callable that engineio keeps in its environ. For any other server (or a
long-polling client) it returns ``None`` and the caller falls back to python-socketio's
ordinary emit.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

from live.wire import refusals
from live.wire.refusals import REFUSALS

#: A client whose unsent data passes this is not reading: it is dropped, so that it
#: cannot grow the server's memory. (The same bound holds for what waits in a socket's
#: send queue, on every transport: ``live.wire.transport.SendQueue``.)
MAX_BUFFERED = 1 << 20


def event_frame(event: str, data: Any) -> bytes:
    """``42["event",data]`` (Engine.IO message, Socket.IO event) in one text frame."""
    return _frame(b'42["' + event.encode() + b'",' + orjson.dumps(data) + b"]")


def ack_frame(ack_id: int, args: list[Any]) -> bytes:
    """``43<id>[...]`` (Engine.IO message, Socket.IO ack of the default namespace)."""
    return _frame(b"43" + str(ack_id).encode() + orjson.dumps(args))


def text_frame(text: str) -> bytes:
    """An Engine.IO packet already encoded as text, in one unmasked text frame."""
    return _frame(text.encode())


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


class FrameWriter:
    """Writes ready frames straight to one uvicorn websocket connection."""

    __slots__ = ("_proto", "_transport")

    def __init__(self, proto: Any) -> None:
        self._proto = proto
        self._transport = proto.transport

    @property
    def connection(self) -> Any:
        """The uvicorn websocket protocol written to."""
        return self._proto

    @classmethod
    def for_environ(cls, environ: dict[str, Any]) -> FrameWriter | None:
        """A writer for this engineio connection, if it is a websocket we know."""
        scope = environ.get("asgi.scope")
        if not scope or scope.get("type") != "websocket":
            return None
        send = environ.get("asgi.send")
        proto = getattr(send, "__self__", None)
        needed = ("transport", "conn", "close_sent", "handshake_complete", "writable")
        if proto is None or not all(hasattr(proto, a) for a in needed):
            return None
        return cls(proto)

    def write(self, frame: bytes) -> bool:
        """Queue ``frame`` on the connection; False if it cannot take it (closing).

        Called on the event loop only. Each call writes whole frames, so frames from here
        and from the connection's own writer never interleave mid-frame.
        """
        proto, transport = self._proto, self._transport
        if proto.close_sent or not proto.handshake_complete or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            REFUSALS.add(refusals.UNREAD)
            transport.abort()
            return False
        transport.write(frame)
        return True
