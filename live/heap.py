"""The web process's cyclic garbage collector, kept out of the bursts.

CPython collects a generation when enough objects were allocated since its last
collection. With 2,000 attendees connected the heap holds ~400,000 tracked objects, and
one full collection took ~0.3 s of the ~1.2 s a burst of their ballots costs, in one burst
in two or three, whenever the count happened to tip over. The young collections cost a
burst too: its 2,000 ballots in flight keep ~40,000 objects alive for a few hundred
milliseconds, which CPython's first threshold (700) walked in ~55 collections, ~20 % of
the web process's CPU in the burst (`gc.callbacks`, docs/performance.md item 15).
Nearly everything they walk is live; they find little.

So ``mvoting serve``, once it is serving:

- freezes what start-up made (``gc.freeze``: ~200,000 objects that are never garbage) so
  that no collection walks them again;
- collects the young generations by count only past ``YOUNG_THRESHOLD`` objects, which a
  burst of a few thousand ballots does not reach and a longer run of work still does;
  after every quiet second, so that a burst starts with an empty young generation; and
  under a steady load, every ``YOUNG_EVERY_S`` if the last second was out of a burst
  (under ``YOUNG_SHARE`` of a core), so that garbage does not wait for the threshold. A
  burst shorter than a second can look like a steady load to a one-second meter: done
  after every such second, a young collection landed inside most bursts (six bursts each
  on a kept server: 0.36 s against 0.25 s quiet-only), hence the interval;
- takes full collections off the allocator (the third threshold set out of reach) and runs
  them itself (``Collector``): when the process has been quiet for a second and
  ``AFTER_S`` have passed since the last one, and at the latest every ``EVERY_S``
  however busy it is, so garbage cycles cannot pile up.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("mvoting.heap")

#: The earliest a full collection follows the last one, if the process is quiet, seconds.
AFTER_S = 10.0
#: The latest it follows the last one, however busy the process, seconds.
EVERY_S = 60.0
#: Quiet: the process used less than this share of a core over the last ``TICK_S``.
QUIET_SHARE = 0.2
#: Under a steady load (less than this share) the young generations are collected...
YOUNG_SHARE = 0.5
#: ... at most this often, seconds.
YOUNG_EVERY_S = 5.0
TICK_S = 1.0

#: Objects allocated (less those freed) that make the young generation collected by
#: count: more than a 2,000-ballot burst keeps alive at once, and at most some tens of MB
#: of garbage cycles, should that be all they are.
YOUNG_THRESHOLD = 100_000

#: A third threshold no run of collections reaches: the oldest generation is ours.
_OUT_OF_REACH = 1_000_000_000


def freeze_startup() -> int:
    """Collect what start-up left over, then move every object still there out of the
    collector's sight for good; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def due(
    since_last: float, busy: float, *, young: bool = True, since_young: float = 0.0
) -> int | None:
    """The generation to collect ``since_last`` seconds after the last full collection
    and ``since_young`` after the last young one, the process having used ``busy`` of a
    core over the last tick: 2 (a full collection), 1 (the young generations, ``young``
    being ours) or None."""
    quiet = busy < QUIET_SHARE
    if since_last >= EVERY_S or (since_last >= AFTER_S and quiet):
        return 2
    steady = since_young >= YOUNG_EVERY_S and busy < YOUNG_SHARE
    return 1 if young and (quiet or steady) else None


class Collector:
    """Runs the collections while ``run`` does; restores the thresholds after.

    ``young=False`` leaves the young generations to CPython's thresholds: the archive
    worker's pauses delay no ack, and its batches' objects die young.
    """

    def __init__(
        self,
        *,
        young: bool = True,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
        collect: Callable[[int], int] = gc.collect,
        tick: float = TICK_S,
    ) -> None:
        self._young = young
        self._clock, self._cpu, self._collect, self._tick = clock, cpu, collect, tick

    async def run(self) -> None:
        thresholds = gc.get_threshold()
        first = max(thresholds[0], YOUNG_THRESHOLD) if self._young else thresholds[0]
        gc.set_threshold(first, thresholds[1], _OUT_OF_REACH)
        try:
            last = last_young = self._clock()
            while True:
                t0, cpu0 = self._clock(), self._cpu()
                await asyncio.sleep(self._tick)
                now = self._clock()
                busy = (self._cpu() - cpu0) / max(now - t0, 1e-9)
                generation = due(now - last, busy, young=self._young, since_young=now - last_young)
                if generation is None:
                    continue
                started = time.perf_counter()
                found = self._collect(generation)
                last_young = self._clock()  # a full collection is a young one too
                if generation == 2:
                    log.debug(
                        "full collection: %d unreachable, %.0f ms",
                        found,
                        (time.perf_counter() - started) * 1000,
                    )
                    last = self._clock()
        finally:
            gc.set_threshold(*thresholds)
