"""What every attendee of a room reads at join, read once per node and per second.

A join storm (a hall of thousands opening the QR link at once) asks this node the same
thing thousands of times: the room by its number, its questions, their state. The cache
answers from memory for up to ``ttl`` seconds, loads once for all joins waiting on the
same room, and forgets a room as soon as this node hears it changed (a ``question`` or
``order`` event), so a host's action is never hidden longer than the event takes.

Each forgetting counts as a new version of the room. A view carries the version it was
read at: a load that a change overtook is not kept, and a join that sees the version move
while it was under way reads the room again (``live.sockets``), so that neither the cache
nor an ack holds a state older than an event the joiner missed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from live.services import Services
from live.store import LiveQuestion, load_questions, question_ids, room_by_number

TTL = 1.0


@dataclass(frozen=True)
class RoomView:
    room: dict[str, str]
    questions: list[LiveQuestion]
    version: int = 0  # the room's version when its questions were read


class RoomCache:
    def __init__(self, svc: Services, ttl: float = TTL) -> None:
        self._svc = svc
        self._ttl = ttl
        self._views: dict[str, tuple[float, RoomView]] = {}  # number -> (expiry, view)
        self._loading: dict[str, asyncio.Future[RoomView | None]] = {}
        self._versions: dict[str, int] = {}  # room id -> how many times it was forgotten

    def version(self, room_id: str) -> int:
        """How many changes of the room this node has heard of."""
        return self._versions.get(room_id, 0)

    async def get(self, number: str) -> RoomView | None:
        found = self._views.get(number)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        pending = self._loading.get(number)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RoomView | None] = asyncio.get_running_loop().create_future()
        self._loading[number] = future
        try:
            view = await self._load(number)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: joins waiting on it re-raise their own copy
            raise
        else:
            future.set_result(view)
            if view is not None and view.version == self.version(view.room["id"]):
                self._views[number] = (time.monotonic() + self._ttl, view)
            return view
        finally:
            del self._loading[number]

    async def _load(self, number: str) -> RoomView | None:
        room = await room_by_number(self._svc, number)
        if room is None:
            return None
        version = self.version(room["id"])
        questions = await load_questions(self._svc, await question_ids(self._svc, room["id"]))
        return RoomView(room, questions, version)

    def forget_room(self, room_id: str) -> None:
        self._versions[room_id] = self.version(room_id) + 1
        for number, (_, view) in list(self._views.items()):
            if view.room["id"] == room_id:
                del self._views[number]
