"""The garbage collections of ``mvoting serve`` (``live.heap``): out of the bursts, the
full ones at the latest every minute."""

from __future__ import annotations

import asyncio
import gc

import pytest

from live import heap


@pytest.mark.parametrize(
    ("since", "busy", "expected"),
    [
        (5.0, 0.0, 1),  # too soon after the last full one: the young generations only
        (5.0, 0.3, None),  # a steady load, or a burst just begun: not every second
        (heap.AFTER_S, 0.3, None),  # nor a full one
        (heap.AFTER_S, 0.05, 2),  # quiet long enough
        (30.0, 0.9, None),  # a burst under way: it waits
        (heap.EVERY_S, 1.0, 2),  # but not for ever
    ],
)
def test_a_full_collection_waits_for_a_quiet_second_but_not_for_ever(
    since: float, busy: float, expected: int | None
) -> None:
    assert heap.due(since, busy) == expected


def test_a_steady_load_has_its_young_generations_collected_every_few_seconds() -> None:
    assert heap.due(5.0, 0.3, since_young=heap.YOUNG_EVERY_S) == 1
    assert heap.due(5.0, 0.3, since_young=heap.YOUNG_EVERY_S / 2) is None
    assert heap.due(5.0, 0.9, since_young=heap.YOUNG_EVERY_S * 10) is None  # a burst


def test_young_generations_left_to_cpython_are_never_due() -> None:
    assert heap.due(5.0, 0.0, young=False) is None
    assert heap.due(heap.AFTER_S, 0.0, young=False) == 2


class Machine:
    """A clock and a CPU meter the test moves on, one second a step."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cpu = 0.0

    def step(self, busy: float) -> None:
        self.now += 1.0
        self.cpu += busy


async def _run_through(
    busy_by_second: list[float], *, young: bool = True
) -> tuple[list[tuple[float, int]], tuple[int, ...]]:
    machine = Machine()
    collected_at: list[tuple[float, int]] = []

    def collect(generation: int) -> int:
        collected_at.append((machine.now, generation))
        return 0

    collector = heap.Collector(
        young=young, clock=lambda: machine.now, cpu=lambda: machine.cpu, collect=collect, tick=0
    )
    task = asyncio.create_task(collector.run())
    await asyncio.sleep(0)  # it starts, and takes the oldest generation over
    during = gc.get_threshold()
    for busy in busy_by_second:
        machine.step(busy)
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return collected_at, during


async def test_the_collector_collects_when_quiet_and_every_minute_while_busy() -> None:
    before = gc.get_threshold()
    quiet_then_busy = [0.0] * 15 + [0.9] * 70
    collected_at, during = await _run_through(quiet_then_busy)
    full = [at for at, generation in collected_at if generation == 2]
    young = [at for at, generation in collected_at if generation == 1]
    # Ten quiet seconds after the start; then a busy stretch holds the next back until
    # a minute after that one.
    assert full == [heap.AFTER_S, heap.AFTER_S + heap.EVERY_S], collected_at
    # The young generations after every other quiet second, none while busy.
    assert young == [float(s) for s in range(1, 16) if s != heap.AFTER_S], collected_at
    assert during == (max(before[0], heap.YOUNG_THRESHOLD), before[1], during[2])
    assert during[2] > 1_000_000  # the oldest generation is the collector's
    assert gc.get_threshold() == before  # and everything restored once it stops


async def test_a_collector_that_leaves_the_young_generations_runs_only_full_ones() -> None:
    before = gc.get_threshold()
    collected_at, during = await _run_through([0.0] * 15, young=False)
    assert collected_at == [(heap.AFTER_S, 2)], collected_at
    assert during[:2] == before[:2] and during[2] > 1_000_000


#: About what the ballots of a 2,000-attendee burst keep alive while in flight.
BURST_OBJECTS = 40_000


async def test_objects_a_burst_keeps_alive_meet_no_collection_until_a_quiet_tick() -> None:
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    task = asyncio.create_task(heap.Collector(tick=0.05).run())
    gc.callbacks.append(note)
    try:
        await asyncio.sleep(0)  # it takes the thresholds over
        gc.collect()
        started.clear()
        in_flight = [{"ballot": i} for i in range(BURST_OBJECTS)]
        assert started == [], "a collection walked the burst's objects"
        await asyncio.sleep(0.3)  # quiet ticks
        assert 1 in started, started
        assert len(in_flight) == BURST_OBJECTS
    finally:
        gc.callbacks.remove(note)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_start_up_objects_are_frozen_out_of_every_collection() -> None:
    try:
        frozen = heap.freeze_startup()
        assert frozen > 1000 and gc.get_freeze_count() == frozen
        assert len(gc.get_objects()) < frozen  # the collector no longer walks them
    finally:
        gc.unfreeze()
