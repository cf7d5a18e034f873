"""How often a question's attendees get its tally, so that delivery keeps to a share of
a core however large the room.

The hosts and presenter screens get every snapshot (at most ten a second, the
broadcaster's interval). The attendees get one, then none until the time that delivery
took, divided by the share, has passed: with 2,000 watchers a delivery takes a few
milliseconds and nothing is held back while the node is quiet; while their ballots arrive
the node is busy, a delivery takes 15-20 ms, and at a tenth of a core (the default) they
get five or six a second, the rest of the core going to the acks; with 10,000 a delivery
may take 40-80 ms, and they get one or two a second. A snapshot that comes while they
wait is held, the newer replacing the older, and handed to them when the wait ends: the
last count always reaches everyone. It need not wait out a long pause: once no newer
snapshot came for a while (the ballots stopped), the one held may go at once
(``take_held``; ``live.sockets`` re-arms one timer per question with each snapshot held),
so that the final count of a burst reaches a room of any size soon after its hosts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Paced(Generic[T]):
    next_at: float = 0.0  # when the attendees may have the next snapshot
    held: T | None = None  # the newest snapshot they have not had


class Pacing(Generic[T]):
    def __init__(self, share: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"a share of a core is in (0, 1], not {share}")
        self.share = share
        self._clock = clock
        self._questions: dict[str, _Paced[T]] = {}

    def offer(self, qid: str, snapshot: T) -> float:
        """A new snapshot of ``qid``: 0 if its attendees may have it now, else the seconds
        until they may (it is held until then, replacing one held before)."""
        paced: _Paced[T] = self._questions.setdefault(qid, _Paced())
        wait = paced.next_at - self._clock()
        if wait <= 0:
            paced.held = None
            return 0.0
        paced.held = snapshot
        return wait

    def delivered(self, qid: str, seconds: float) -> None:
        """The attendees of ``qid`` had a snapshot, which took ``seconds`` to hand out."""
        paced: _Paced[T] = self._questions.setdefault(qid, _Paced())
        paced.next_at = self._clock() + seconds / self.share

    def take_held(self, qid: str) -> T | None:
        """The snapshot held for ``qid``'s attendees, if any; no longer held."""
        paced = self._questions.get(qid)
        if paced is None or paced.held is None:
            return None
        held, paced.held = paced.held, None
        return held
