"""Clients closed for breaking the protocol: counted by reason, logged once in a while.

A hostile client can break the protocol as fast as it can send, so a log line per
offence (python-socketio writes a 2.3 KB traceback for each malformed packet) lets it
write the log at that rate, and writing it slows every other client on the loop. Every
refusal is counted here instead; the counts since the last report go to the log in one
line, at most once per ``interval`` (the first refusal after a quiet interval at once,
the rest of a flood when the interval is over).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

log = logging.getLogger("mvoting.refused")

#: Why a client was closed: the names the counters and the log use.
MALFORMED = "malformed packet"
BINARY = "binary packet"
RESERVED = "reserved event"
UNREAD = "unread output"
TOO_BIG = "oversized message"
SLOW_HEADERS = "slow request headers"
BIG_HEADERS = "oversized request headers"
TOO_MANY = "connection limit"


class Refusals:
    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self.total: Counter[str] = Counter()  # since the process started
        self._unreported: Counter[str] = Counter()
        self._reported_at = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def add(self, reason: str) -> None:
        self.total[reason] += 1
        self._unreported[reason] += 1
        wait = self._reported_at + self.interval - time.monotonic()
        if wait <= 0:
            self.report()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: reported with the next refusal
            return
        # A timer of a loop that has stopped never fires (tests run a loop each).
        if self._timer is None or self._timer_loop is not loop:
            self._timer, self._timer_loop = loop.call_later(wait, self.report), loop

    def report(self) -> None:
        """Log the counts since the last report, if any; the next interval starts now."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_loop = None
        self._reported_at = time.monotonic()
        if not self._unreported:
            return
        counts = ", ".join(f"{reason}: {n}" for reason, n in sorted(self._unreported.items()))
        self._unreported.clear()
        log.warning("clients closed for breaking the protocol (%s)", counts)


#: The process's counters: every web node of the process counts here.
REFUSALS = Refusals()
