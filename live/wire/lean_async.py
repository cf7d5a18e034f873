"""asyncio's ``Queue`` and ``Event``, cut down to what one connection uses of them.

Every connection holds a few of these, and a hall holds thousands of connections.
``asyncio.Queue`` is three deques and an ``Event`` (about 3 KiB: an empty deque is 760
bytes); ``asyncio.Event`` is a deque of waiters (760 bytes). These keep a list and make a
future only while someone waits.

``LeanQueue`` serves one consumer at a time (engineio's writer, uvicorn's ``receive``)
and holds a handful of items (uvicorn stops reading a socket past a high-water mark), so
a list is enough.
"""

from __future__ import annotations

import asyncio
from typing import Any


class LeanQueue:
    """The part of ``asyncio.Queue`` engineio and uvicorn use, for one consumer at a time."""

    __slots__ = ("_items", "_waiter", "_unfinished", "_joined")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None
        self._unfinished = 0
        self._joined: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._unfinished += 1
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def clear(self) -> None:
        """Drop every item, as if each had been taken and marked done."""
        self._unfinished -= len(self._items)
        self._items.clear()
        if self._unfinished <= 0 and self._joined is not None and not self._joined.done():
            self._joined.set_result(None)

    def task_done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0 and self._joined is not None and not self._joined.done():
            self._joined.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            self._joined = asyncio.get_running_loop().create_future()
            await self._joined


class LeanEvent:
    """``asyncio.Event`` with its waiters in a list made only when someone waits."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for fut in waiters or ():
            if not fut.done():
                fut.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        fut = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(fut)
        try:
            await fut
        finally:
            if self._waiters is not None and fut in self._waiters:
                self._waiters.remove(fut)
        return True
