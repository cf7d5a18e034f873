"""Who watches what on this node, and handing them a frame: per question, the connections
that see its tally; in another ``Watchers``, per poll, the connections on its page.

Hosts and presenter screens come first in every delivery: the projector is what the hall
looks at. A watcher whose connection takes ready frames (``live.wire.frames.FrameWriter``) is
written to directly; the others are returned for python-socketio's ordinary emit.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol


class Watcher(Protocol):
    @property
    def sid(self) -> str: ...

    @property
    def first(self) -> bool:
        """Served before the others (hosts and presenter screens)."""
        ...

    def write(self, frame: bytes) -> bool:
        """Write a ready frame; False when it must go the slow way."""
        ...


class Watchers:
    def __init__(self) -> None:
        # question id (or what else is watched) -> sid -> watcher, in two tiers
        self._first: defaultdict[str, dict[str, Watcher]] = defaultdict(dict)
        self._rest: defaultdict[str, dict[str, Watcher]] = defaultdict(dict)

    def add(self, qid: str, w: Watcher) -> None:
        (self._first if w.first else self._rest)[qid][w.sid] = w

    def discard(self, qid: str, w: Watcher) -> None:
        for tier in (self._first, self._rest):
            found = tier.get(qid)
            if found is not None:
                found.pop(w.sid, None)
                if not found:
                    del tier[qid]

    def questions(self) -> set[str]:
        """Every question someone here watches."""
        return {*self._first, *self._rest}

    def count(self, qid: str, *, first: bool | None = None) -> int:
        """How many watch ``qid`` (of the first tier only, or the rest only)."""
        return sum(len(tier.get(qid, ())) for tier in self._tiers(first))

    def deliver(self, qid: str, frame: bytes, *, first: bool | None = None) -> list[str]:
        """Write ``frame`` to every watcher that takes it (of the first tier only, or the
        rest only); return the sids left over."""
        slow = []
        for tier in self._tiers(first):
            for sid, w in tier.get(qid, {}).items():
                if not w.write(frame):
                    slow.append(sid)
        return slow

    def _tiers(self, first: bool | None) -> tuple[defaultdict[str, dict[str, Watcher]], ...]:
        if first is None:
            return self._first, self._rest
        return (self._first,) if first else (self._rest,)
