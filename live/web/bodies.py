"""Request bodies read with a bound: refused on ``Content-Length`` before a byte is read,
and while streaming (a chunked body has no length) as soon as the bound is passed.

Starlette's ``body()`` and ``form()`` read everything first (a urlencoded form up to 1 MiB
per field, a thousand fields); a few large posts at once would take hundreds of MiB.
Here at most ``limit`` bytes are ever kept. A refused body is read on, without keeping
it, up to ``drain_limit`` bytes so that the client reads the answer; past that the
connection is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import Message

from rooms.errors import N_, bad_request

JSON_LIMIT = 256 * 1024
FORM_LIMIT = 64 * 1024
#: Fields of a console form (the largest has five).
FORM_FIELDS = 16


def declared_length(request: Request) -> int | None:
    length = request.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


async def drain(body: AsyncIterator[bytes], limit: int) -> None:
    """Read and drop the rest of a refused body, at most ``limit`` bytes of it."""
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if seen > limit:
            return


def _over(limit: int, size: int, check: Callable[[int], None] | None) -> NoReturn:
    if check is not None:
        check(size)  # the caller's own refusal, if it has one for this size
    if limit >= 1024 * 1024:
        raise bad_request(N_("the body is larger than {n} MiB"), n=limit // (1024 * 1024))
    raise bad_request(N_("the body is larger than {n} KiB"), n=limit // 1024)


async def read(
    request: Request, limit: int, *, check: Callable[[int], None] | None = None
) -> bytes:
    """The body, if it is at most ``limit`` bytes; else refused (by ``check(size)`` first)."""
    body = request.stream()
    declared = declared_length(request)
    if declared is not None and declared > limit:
        await drain(body, 4 * limit)
        _over(limit, declared, check)
    chunks, size = [], 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            # The rest of this same stream: asking the request for a new one would fail
            # once its last chunk has arrived ("Stream consumed").
            await drain(body, 4 * limit)
            _over(limit, size, check)
        chunks.append(chunk)
    return b"".join(chunks)


def check_no_nul(value: Any) -> None:
    """Refuse a decoded body with U+0000 in any text, key or value, at any depth.

    No field has a use for it, and PostgreSQL refuses it in a text column: the archive's
    insert would fail after the checks passed. (Walked without recursion: a JSON body
    nests up to 1,024 levels.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise bad_request(N_("no text may hold the character U+0000"))
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


async def form(request: Request, limit: int = FORM_LIMIT) -> FormData:
    """A console form (urlencoded, or multipart without files), read with a bound."""
    raw = await read(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    # Parsed from the bytes read, by a request of its own over the same scope.
    found = await Request(request.scope, replay).form(max_files=0, max_fields=FORM_FIELDS)
    check_no_nul(list(found.multi_items()))
    return found
