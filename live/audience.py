"""How many attendees are connected to each room, across every node, for the hosts' screens.

A join or a leave only changes this node's count in memory (the join path stays free of
extra Redis calls); a loop writes the counts that changed, each room at most once per
interval, with ``live/lua/audience.lua``, which keeps one count per node in the room's
``audience`` hash, sums them and announces ``{"t": "audience", "room", "connected",
"version"}`` on the fan-out channel at most once per interval per room, over all nodes.
A node's counts expire unless refreshed, so a node that stopped without saying so stops
counting within ``HOLD`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from live.clock import new_id
from live.services import Services

log = logging.getLogger("mvoting.audience")

INTERVAL = 0.25  #: at most one announcement per room per interval (seconds)
HOLD = 60.0  #: a node's count holds this long without a refresh
REFRESH = 20.0  #: how often a node refreshes the counts it holds


class Audience:
    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self.node = new_id(12)
        self.counts: defaultdict[str, int] = defaultdict(int)  # room id -> attendees here
        self._dirty: dict[str, int] = {}  # room id -> marking generation
        self._generation = 0
        self._wake = asyncio.Event()

    def joined(self, room_id: str) -> None:
        self.counts[room_id] += 1
        self.mark(room_id)

    def left(self, room_id: str) -> None:
        self.counts[room_id] -= 1
        self.mark(room_id)

    def mark(self, room_id: str) -> None:
        """Announce the room's audience soon (a change, or a host who wants the number)."""
        self._generation += 1
        self._dirty[room_id] = self._generation
        self._wake.set()

    async def read(self, room_id: str) -> dict[str, int]:
        """The last announced count, for a host's join ack: ``{"connected", "version"}``."""
        raw = await self._svc.redis.hgetall(self._svc.keys.audience(room_id))
        now = int((await self._svc.redis.time())[0]) * 1000
        total = 0
        for name, value in raw.items():
            if name.startswith("n:"):
                count, _, expires = value.partition(" ")
                if int(expires) > now:
                    total += int(count)
        return {"connected": total, "version": int(raw.get("version", 0))}

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), REFRESH)
            except TimeoutError:
                for room_id, n in list(self.counts.items()):
                    if n > 0:
                        self.mark(room_id)
            self._wake.clear()
            try:
                while self._dirty:
                    delay = await self._round()
                    await asyncio.sleep(max(delay, INTERVAL))
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audience count failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._wake.set()

    async def _round(self) -> float:
        """Write and announce every changed room once; the least wait before the next try."""
        k = self._svc.keys
        delay = 0.0
        for room_id, generation in list(self._dirty.items()):
            n = max(0, self.counts.get(room_id, 0))
            wait = await self._svc.scripts.audience(
                keys=[k.audience(room_id), k.audience_tick(room_id)],
                args=[self.node, n, int(HOLD * 1000), int(INTERVAL * 1000), k.events(), room_id],
            )
            if self.counts.get(room_id) == 0:
                del self.counts[room_id]
            # Keep the mark if someone joined or left while the script ran.
            if wait == 0 and self._dirty.get(room_id) == generation:
                del self._dirty[room_id]
            else:
                delay = wait / 1000 if not delay else min(delay, wait / 1000)
        return delay

    async def close(self) -> None:
        """Withdraw this node's counts (a node that stops; else they expire)."""
        k = self._svc.keys
        for room_id in list(self.counts):
            try:
                await self._svc.redis.hdel(k.audience(room_id), f"n:{self.node}")
            except Exception:
                break
