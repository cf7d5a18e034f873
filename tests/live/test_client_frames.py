"""Client frames read without websockets' parser: the same messages, the same refusals."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from live.services import Services
from live.wire import client_frames
from live.wire.websocket_protocol import MAX_MESSAGE
from tests.conftest import Client, Node, connect
from tests.live.helpers import make_room

OP_TEXT, OP_BINARY, OP_CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
OP_CLOSE, OP_PING, OP_PONG = Opcode.CLOSE, Opcode.PING, Opcode.PONG


def masked(opcode: int, data: bytes, *, fin: bool = True) -> bytes:
    """A client's frame, as websockets' client would write it."""
    return Frame(opcode, data, fin=fin).serialize(mask=True, extensions=[])


def read_all(chunks: list[bytes], limit: int = MAX_MESSAGE) -> tuple[list[str], bytes]:
    """What the protocol does with ``split``: the texts read, and what it handed over."""
    texts: list[str] = []
    handed, held = b"", b""
    for i, chunk in enumerate(chunks):
        buf = held + chunk
        while True:
            got, end, stop, control_end = client_frames.split(buf, limit)
            texts += got
            if stop == client_frames.MORE:
                held = buf[end:]
                break
            if stop == client_frames.OTHER:
                return texts, handed + b"|" + buf[end:] + b"".join(chunks[i + 1 :])
            handed += buf[end:control_end]
            buf = buf[control_end:]
    return texts, handed


messages = st.lists(st.text(max_size=300) | st.text(min_size=126, max_size=70_000), max_size=8)


@given(messages, st.data())
def test_text_frames_cut_anywhere_read_back_whole_and_in_order(
    sent: list[str], data: st.DataObject
) -> None:
    stream = b"".join(masked(OP_TEXT, m.encode()) for m in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    limit = 1 << 20  # some drawn messages pass MAX_MESSAGE
    assert read_all(chunks, limit) == (sent, b"")


def test_control_frames_are_handed_over_whole_and_reading_goes_on() -> None:
    ping, pong = masked(OP_PING, b"p1"), masked(OP_PONG, b"")
    stream = masked(OP_TEXT, b"a") + ping + masked(OP_TEXT, "é".encode()) + pong
    assert read_all([stream]) == (["a", "é"], ping + pong)
    close = masked(OP_CLOSE, struct.pack("!H", 1000))
    assert read_all([close[:3], close[3:]]) == ([], close)


def test_what_it_does_not_read_goes_to_websockets_from_its_first_byte() -> None:
    first = masked(OP_TEXT, b"a")
    for other in (
        masked(OP_TEXT, b"part", fin=False) + masked(OP_CONT, b"2"),  # fragments
        masked(OP_BINARY, b"\x00"),
        masked(OP_TEXT, b"\xff\xfe"),  # not UTF-8
        Frame(OP_TEXT, b"unmasked").serialize(mask=False, extensions=[]),
        masked(OP_TEXT, b"x" * (MAX_MESSAGE + 1)),  # announces more than the limit
    ):
        texts, handed = read_all([first + other + first])
        assert texts == ["a"]
        assert handed == b"|" + other + first


# --- over a real connection -----------------------------------------------------------


@asynccontextmanager
async def handshaken(
    node: Node,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw TCP connection that did the WebSocket handshake and read Engine.IO's OPEN."""
    host, port = node.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        assert (await next_frame(reader))[1].startswith(b"0{")
    try:
        yield reader, writer
    finally:
        writer.close()


async def next_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The server's next frame (unmasked): its opcode and payload."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(length)


async def text_starting(reader: asyncio.StreamReader, prefix: bytes) -> bytes:
    async with asyncio.timeout(10):
        while True:
            opcode, payload = await next_frame(reader)
            if opcode == OP_TEXT and payload.startswith(prefix):
                return payload


def join(room: str, ack: int) -> bytes:
    return f"42{ack}".encode() + json.dumps(["join", {"room": room, "password": "pw"}]).encode()


async def test_frames_cut_byte_by_byte_and_between_pings_are_answered(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with handshaken(node) as (reader, writer):
        stream = (
            masked(OP_TEXT, b"40") + masked(OP_PING, b"hi") + masked(OP_TEXT, join(room.number, 1))
        )
        for i in range(len(stream)):
            writer.write(stream[i : i + 1])
            await writer.drain()
        async with asyncio.timeout(10):
            pong = await next_frame(reader)
            while pong[0] != OP_PONG:
                pong = await next_frame(reader)
        assert pong == (OP_PONG, b"hi")
        assert (await text_starting(reader, b"431")).startswith(b'431[{"ok":true')
        # A fragmented message is websockets' to put together; it is answered too.
        msg = join(room.number, 2)
        writer.write(masked(OP_TEXT, msg[:5], fin=False) + masked(OP_CONT, msg[5:]))
        writer.write(masked(OP_TEXT, join(room.number, 3)))
        assert (await text_starting(reader, b"432")).startswith(b'432[{"ok":true')
        assert (await text_starting(reader, b"433")).startswith(b'433[{"ok":true')


async def test_text_that_is_not_utf8_and_unmasked_frames_close_as_websockets_does(
    node: Node,
) -> None:
    for bad, code in (
        (masked(OP_TEXT, b"42[\xff]"), 1007),
        (Frame(OP_TEXT, b"40").serialize(mask=False, extensions=[]), 1002),
    ):
        async with handshaken(node) as (reader, writer):
            writer.write(masked(OP_TEXT, b"40") + bad)
            async with asyncio.timeout(10):
                while (frame := await next_frame(reader))[0] != OP_CLOSE:
                    pass
                assert struct.unpack("!H", frame[1][:2]) == (code,)
                assert await reader.read() == b""  # and the connection ends


async def test_a_client_close_is_answered_and_ends_the_connection(node: Node) -> None:
    async with handshaken(node) as (reader, writer):
        writer.write(masked(OP_TEXT, b"40"))
        assert (await text_starting(reader, b"40"))[:3] == b"40{"
        writer.write(masked(OP_CLOSE, struct.pack("!H", 1000)))
        async with asyncio.timeout(10):
            while (frame := await next_frame(reader))[0] != OP_CLOSE:
                pass
            assert struct.unpack("!H", frame[1][:2]) == (1000,)
            assert await reader.read() == b""


def _audience(client: Client) -> int | None:
    seen = [d["connected"] for e, d in client.events if e == "audience"]
    return seen[-1] if seen else None


async def test_a_hang_up_is_echoed_ends_the_connection_and_leaves_the_room(
    node: Node, svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Read by the protocol itself once the app reads its text: echoed byte for byte, the
    connection ended, the attendee counted out; a close websockets would refuse still is."""
    room = await make_room(svc)
    # A close with its length in two bytes, as RFC 6455 lets a sloppy client write it.
    mask = os.urandom(4)
    long_length = (
        bytes((0x88, 0x80 | 126, 0, 2))
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(struct.pack("!H", 1001)))
    )
    cases: list[tuple[bytes, bytes | int]] = [
        (masked(OP_CLOSE, struct.pack("!H", 1000) + "bye, 안녕".encode()), b"echo"),
        (masked(OP_CLOSE, b""), b"echo"),
        (masked(OP_CLOSE, struct.pack("!H", 4001)), b"echo"),
        (long_length, struct.pack("!H", 1001)),
        (masked(OP_CLOSE, struct.pack("!H", 1005)), 1002),  # never sent on the wire
        (masked(OP_CLOSE, b"\x03"), 1002),  # one byte: no code
        (masked(OP_CLOSE, struct.pack("!H", 1000) + b"\xff"), 1007),
    ]
    async with connect(node.url) as presenter:
        await presenter.join(room.number, presenter=room.info.presenter)
        for close, answer in cases:
            async with handshaken(node) as (reader, writer):
                writer.write(masked(OP_TEXT, b"40") + masked(OP_TEXT, join(room.number, 1)))
                assert (await text_starting(reader, b"431")).startswith(b'431[{"ok":true')
                await presenter.wait_for(lambda: _audience(presenter) == 1)
                writer.write(close)
                async with asyncio.timeout(10):
                    while (frame := await next_frame(reader))[0] != OP_CLOSE:
                        pass
                    if answer == b"echo":
                        assert frame[1] == masked_payload(close)
                    elif isinstance(answer, bytes):
                        assert frame[1] == answer
                    else:
                        assert struct.unpack("!H", frame[1][:2]) == (answer,), (close, frame)
                    assert await reader.read() == b""
                await presenter.wait_for(lambda: _audience(presenter) == 0)
        assert not [r for r in caplog.records if r.exc_info], caplog.text


def masked_payload(frame: bytes) -> bytes:
    """A short masked frame's payload, unmasked."""
    mask = frame[2:6]
    return bytes(b ^ mask[i % 4] for i, b in enumerate(frame[6:]))
