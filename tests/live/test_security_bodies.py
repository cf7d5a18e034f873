"""Request bodies are refused by their size before they are read whole.

Each client here sends a body far over the limit, or its start only and then waits: the
answer must come while the client still holds most of the body back. A server that
read the whole body before looking at its size would never answer these.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest

from tests.conftest import Node

MiB = 1024 * 1024
TOO_LARGE = {
    "ok": False,
    "error": {
        "code": "bad_request",
        "message": "The request is malformed: the body is larger than 256 KiB.",
    },
}


async def _exchange(node: Node, head: bytes, sent: list[bytes]) -> tuple[int, bytes]:
    """Send ``head`` and then the pieces of ``sent``, never the rest of the body; the
    status and body of the answer (within 10 s)."""
    url = urlsplit(node.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head)
        for piece in sent:
            writer.write(piece)
            try:
                await writer.drain()
            except ConnectionError:
                break  # the server answered and closed: read what it said
        head_bytes = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head_bytes.decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
        body = await asyncio.wait_for(reader.readexactly(int(fields["content-length"])), 10)
    finally:
        writer.close()
    return int(lines[0].split()[1]), body


def _head(path: str, kind: str, length: int | None, origin: str) -> bytes:
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nhost: {urlsplit(origin).netloc}\r\norigin: {origin}\r\n"
        f"content-type: {kind}\r\n{framing}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("path", ["/api/session", "/api/hosts"])
async def test_a_json_body_declared_too_large_is_refused_before_it_is_sent(
    node: Node, path: str
) -> None:
    # 200 MiB declared, 2 MiB sent: the answer comes without the other 198.
    head = _head(path, "application/json", 200 * MiB, node.url)
    status, body = await _exchange(node, head, [b"{" + b" " * (MiB - 1), b" " * MiB])
    assert (status, json.loads(body)) == (400, TOO_LARGE)


async def test_a_chunked_json_body_is_refused_once_past_the_limit(node: Node) -> None:
    chunk = b" " * (64 * 1024)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    head = _head("/api/session", "application/json", None, node.url)
    # 2 MiB in chunks, and no last chunk: the body never ends.
    status, body = await _exchange(node, head, [framed] * 32)
    assert (status, json.loads(body)) == (400, TOO_LARGE)


@pytest.mark.parametrize("path", ["/host/signin", "/host/signup", "/host/signout"])
async def test_a_console_form_declared_too_large_is_refused_before_it_is_sent(
    node: Node, path: str
) -> None:
    head = _head(path, "application/x-www-form-urlencoded", 150 * MiB, node.url)
    status, body = await _exchange(node, head, [b"email=" + b"a" * MiB])
    assert status == 400
    assert json.loads(body) == {
        "ok": False,
        "error": {
            "code": "bad_request",
            "message": "The request is malformed: the body is larger than 64 KiB.",
        },
    }
