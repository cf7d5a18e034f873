"""Tally snapshots: at most one per question per interval, across all nodes.

A node marks a question dirty after each ballot it accepted. The broadcaster asks the
snapshot script to publish; the script refuses while another snapshot of the question
went out within the interval (on any node) and says how long to wait. The question stays
dirty until a snapshot taken *after* the marking went out, so the last ballot is always
in some snapshot: at most ten per second, and never a ballot left unannounced.

How long a ballot waits for its snapshot is measured from the first marking a snapshot
answers until it is published (``live.metrics.BROADCAST_DELAY``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from live.metrics import BROADCAST_DELAY
from live.services import Services
from live.store import snapshot

log = logging.getLogger("mvoting.broadcaster")


class Broadcaster:
    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._dirty: dict[str, int] = {}  # question id -> marking generation
        self._since: dict[str, float] = {}  # question id -> its first unannounced marking
        self._generation = 0
        self._wake = asyncio.Event()

    def mark(self, question_id: str) -> None:
        if question_id not in self._dirty:
            self._since[question_id] = time.monotonic()
        self._generation += 1
        self._dirty[question_id] = self._generation
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.1
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._dirty:
                    delay = await self._round()
                    if delay:
                        await asyncio.sleep(delay)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("tally snapshot failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._wake.set()

    async def _round(self) -> float:
        """Try every dirty question once; return the least wait before the next try."""
        delay: float | None = None
        for qid, generation in list(self._dirty.items()):
            asked = time.monotonic()
            wait = await snapshot(self._svc, qid)
            if wait == 0:
                BROADCAST_DELAY.observe(time.monotonic() - self._since.get(qid, asked))
                # Keep the mark if a ballot arrived while the snapshot was in flight;
                # its wait is counted from the asking (a little more than it waited).
                if self._dirty.get(qid) == generation:
                    del self._dirty[qid]
                    self._since.pop(qid, None)
                else:
                    self._since[qid] = asked
            else:
                delay = wait / 1000 if delay is None else min(delay, wait / 1000)
        return delay or 0.0
