"""The full garbage collections of ``mvoting serve`` (``live.heap``): out of the bursts,
at the latest every minute."""

from __future__ import annotations

import asyncio
import gc

import pytest

from live import heap


@pytest.mark.parametrize(
    ("since", "busy", "expected"),
    [
        (5.0, 0.0, False),  # too soon after the last one, however quiet
        (heap.AFTER_S, 0.05, True),  # quiet long enough
        (30.0, 0.9, False),  # a burst under way: it waits
        (heap.EVERY_S, 1.0, True),  # but not for ever
    ],
)
def test_a_full_collection_waits_for_a_quiet_second_but_not_for_ever(
    since: float, busy: float, expected: bool
) -> None:
    assert heap.due(since, busy) is expected


class Machine:
    """A clock and a CPU meter the test moves on, one second a step."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cpu = 0.0

    def step(self, busy: float) -> None:
        self.now += 1.0
        self.cpu += busy


async def _run_through(busy_by_second: list[float]) -> tuple[list[float], tuple[int, ...]]:
    machine = Machine()
    collected_at: list[float] = []

    def collect(generation: int) -> int:
        assert generation == 2
        collected_at.append(machine.now)
        return 0

    collector = heap.Collector(
        clock=lambda: machine.now, cpu=lambda: machine.cpu, collect=collect, tick=0
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
    # Ten quiet seconds after the start; then a busy stretch holds the next back until
    # a minute after that one.
    assert collected_at == [heap.AFTER_S, heap.AFTER_S + heap.EVERY_S], collected_at
    assert during[:2] == before[:2] and during[2] > 1_000_000  # young generations as before
    assert gc.get_threshold() == before  # and everything restored once it stops


def test_start_up_objects_are_frozen_out_of_every_collection() -> None:
    try:
        frozen = heap.freeze_startup()
        assert frozen > 1000 and gc.get_freeze_count() == frozen
        assert len(gc.get_objects()) < frozen  # the collector no longer walks them
    finally:
        gc.unfreeze()
