"""``mvoting serve`` against clients that hold connections: headers sent a byte at a time,
headers without end, more connections than the process keeps. Raw TCP against a real
``serve`` with short limits in its data dir's ``.env``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.live.test_cli import Serve, spawner

HEADER_TIMEOUT_S = 0.5
MAX_CONNECTIONS = 16


def serve_with(base: Path, env: str) -> Iterator[Serve]:
    data = base / "data"
    data.mkdir()
    (data / ".env").write_text(env + "MVOTING_LOCAL_WITNESSES=0\n")
    with spawner(base) as sp:
        yield sp.serve(data, "--no-worker")


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A ``serve`` that gives request headers half a second."""
    env = f"MVOTING_HEADER_TIMEOUT_MS={int(HEADER_TIMEOUT_S * 1000)}\n"
    yield from serve_with(tmp_path_factory.mktemp("quick"), env)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A ``serve`` that keeps 16 connections, with the default header timeout (10 s)."""
    env = f"MVOTING_MAX_CONNECTIONS={MAX_CONNECTIONS}\n"
    yield from serve_with(tmp_path_factory.mktemp("small"), env)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """What the server sent before closing the connection (raises on a timeout). A close
    may reach us as a reset, or as a broken pipe while our last writes still flush."""
    got = b""
    async with asyncio.timeout(timeout):
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                got += chunk
    return got


async def test_request_headers_sent_slowly_are_cut_off(quick: Serve) -> None:
    """1,500 connections sending a byte every 10 s were never timed out."""

    async def slow_client(first: bytes | None) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", quick.port)

        async def drip(first: bytes) -> None:
            with contextlib.suppress(ConnectionError):
                writer.write(first)
                while True:
                    await asyncio.sleep(HEADER_TIMEOUT_S / 5)
                    writer.write(b"X")
                    await writer.drain()

        dripping = asyncio.create_task(drip(first)) if first is not None else None
        try:
            return await read_until_closed(reader, timeout=10 * HEADER_TIMEOUT_S)
        finally:
            if dripping is not None:
                dripping.cancel()
            writer.close()

    # Three send a header a byte at a time; one sends nothing at all.
    firsts = [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "] * 3 + [None]
    clients = [asyncio.create_task(slow_client(first)) for first in firsts]
    async with httpx.AsyncClient(base_url=quick.url) as http:  # meanwhile, served
        assert (await http.get("/healthz")).status_code == 200
    assert await asyncio.gather(*clients) == [b""] * len(firsts)  # closed, unanswered


async def test_a_keep_alive_connection_gets_the_same_deadline_for_its_next_request(
    quick: Serve,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        (length,) = (int(h[15:]) for h in head.split(b"\r\n") if h.startswith(b"content-length:"))
        await reader.readexactly(length)
        writer.write(b"GET /healthz HTTP/1.1\r\n")  # and no more
        assert await read_until_closed(reader, timeout=10 * HEADER_TIMEOUT_S) == b""
    finally:
        writer.close()


async def test_request_headers_without_end_are_cut_off(small: Serve) -> None:
    """httptools takes headers of any length; uvicorn keeps every one in a list. (Sent
    in well under the 10 s this ``serve`` gives headers.)"""
    reader, writer = await asyncio.open_connection("127.0.0.1", small.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        with contextlib.suppress(ConnectionError):
            for i in range(4096):  # 4 MiB of headers, as fast as the server reads
                writer.write(b"X-%d: %s\r\n" % (i, b"v" * 1024))
                await writer.drain()
        assert await read_until_closed(reader, timeout=5) == b""
    finally:
        writer.close()


async def test_connections_past_the_limit_are_closed_at_once(small: Serve) -> None:
    """Websockets count: every one of 10,000 attendees holds one."""
    url = f"ws://127.0.0.1:{small.port}/socket.io/?EIO=4&transport=websocket"
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(MAX_CONNECTIONS):
            ws = await stack.enter_async_context(websockets.connect(url, ping_interval=None))
            assert str(await ws.recv()).startswith("0{")
        reader, writer = await asyncio.open_connection("127.0.0.1", small.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await read_until_closed(reader, timeout=5) == b""
        writer.close()
    async with httpx.AsyncClient(base_url=small.url) as http:
        async with asyncio.timeout(5):
            while True:  # served again once the server has seen the websockets go
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
