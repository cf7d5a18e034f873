"""The archive worker: every acknowledged ballot reaches SQL exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Any

import pytest
import redis.exceptions
import sqlalchemy as sa

from live import store
from live.cast import CastBatcher, do_cast
from live.engines import db
from live.keys import ARCHIVE_GROUP
from live.services import Services
from live.settings import Settings
from live.worker import ArchiveWorker
from rooms.ballots import Ballot
from rooms.questions import Action, build_question
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import archived, make_room


async def _rows(svc: Services, qid: str) -> list[Any]:
    async with svc.engine.connect() as conn:
        result = await conn.execute(sa.select(db.ballots).where(db.ballots.c.question_id == qid))
        return list(result)


async def _question_row(svc: Services, qid: str) -> Any:
    async with svc.engine.connect() as conn:
        return (await conn.execute(sa.select(db.questions).where(db.questions.c.id == qid))).one()


async def _until(probe: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := await probe()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return got


async def _cast_many(
    svc: Services, qid: str, n: int, options: int = 3, voters: str = "voter"
) -> list[int]:
    """n ballots from n distinct voters through the real cast script."""
    choices = [i % options for i in range(n)]
    batcher = CastBatcher(svc)
    for start in range(0, n, 200):
        await asyncio.gather(
            *(
                do_cast(batcher, qid, f"{voters}-{i}", (choices[i],), None)
                for i in range(start, min(n, start + 200))
            )
        )
    return choices


async def test_archive_equals_tally_after_close(node: Node, svc: Services) -> None:
    room = await make_room(svc)
    receipts = {}
    async with running_worker(svc):
        for i in range(12):
            async with connect(node.url) as c:
                assert (await c.join(room.number, password="pw"))["ok"]
                ack = await c.vote(room.q, [i % 3])
                assert ack["ok"]
                receipts[ack["receipt"]] = i % 3
        await store.act(svc, room.q, Action.CLOSE)
        row = await _until(lambda: _finalized(svc, room.q))

        async def followed() -> bool:
            return not await svc.redis.sismember(svc.keys.archiving(), room.q)

        await _until(followed)
    assert (row.archived_count, row.tally_total) == (12, 12)
    rows = await _rows(svc, room.q)
    assert {r.receipt: r.choices for r in rows} == {k: [v] for k, v in receipts.items()}
    assert len({r.voter_ref for r in rows}) == 12
    for r in rows:  # each archived ballot hashes to the receipt its voter was given
        ballot = Ballot(r.question_id, tuple(r.choices), r.cast_ms, r.voter_ref, r.nonce)
        assert ballot.receipt() == r.receipt
    results = await store.results(svc, room.info.id)
    assert results[0]["counts"] == [4, 4, 4]
    assert (results[0]["total"], results[0]["archived"], results[0]["finalized"]) == (12, 12, True)
    assert not await svc.redis.sismember(svc.keys.archiving(), room.q)


async def _finalized(svc: Services, qid: str) -> Any:
    row = await _question_row(svc, qid)
    return row if row.finalized_ms is not None else None


async def _spawn_worker(settings: Settings, name: str, batch: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url or "",
        "DATABASE_URL": settings.archive_url,
        "MVOTING_SECRET": "test-secret",
        "MVOTING_KEY_PREFIX": settings.key_prefix,
        "MVOTING_LOG_LEVEL": "warning",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "live.cli",
        "worker",
        "--data",
        str(settings.data_dir),
        "--name",
        name,
        "--batch",
        str(batch),
        env=env,
    )


@pytest.mark.timeout(120)
async def test_worker_killed_mid_drain_and_restarted_loses_and_doubles_nothing(
    settings: Settings, svc: Services
) -> None:
    n = 4000
    room = await make_room(svc, {"options": "A,B,C"})
    choices = await _cast_many(svc, room.q, n)
    await store.act(svc, room.q, Action.CLOSE)
    worker = await _spawn_worker(settings, "w1", batch=25)
    try:
        await _until(lambda: _between(svc, room.q, 1, n // 2), timeout=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    killed_at = await archived(svc, room.q)
    assert 0 < killed_at < n, killed_at
    pending = await svc.redis.xpending(svc.keys.stream(room.q), ARCHIVE_GROUP)
    assert pending["pending"] <= 25  # at most the batch it was holding

    worker = await _spawn_worker(settings, "w1", batch=500)  # the same name resumes
    try:
        row = await _until(lambda: _finalized(svc, room.q), timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 15) == 0
    assert (row.archived_count, row.tally_total) == (n, n)
    rows = await _rows(svc, room.q)
    assert len(rows) == len({r.ballot_id for r in rows}) == len({r.voter_ref for r in rows}) == n
    counts = [0, 0, 0]
    for r in rows:
        counts[r.choices[0]] += 1
    assert counts == [choices.count(i) for i in range(3)]
    assert (await svc.redis.xpending(svc.keys.stream(room.q), ARCHIVE_GROUP))["pending"] == 0


async def _between(svc: Services, qid: str, low: int, high: int) -> bool:
    return low <= await archived(svc, qid) <= high


async def test_a_dead_consumers_pending_ballots_are_taken_over(svc: Services) -> None:
    room = await make_room(svc)
    await _cast_many(svc, room.q, 30)
    stream = svc.keys.stream(room.q)
    # A worker that took the question's lease, read ballots and died before archiving them.
    await svc.redis.xgroup_create(stream, ARCHIVE_GROUP, id="0", mkstream=True)
    await svc.redis.set(svc.keys.ledger_lease(room.q), "dead", px=200)
    taken = await svc.redis.xreadgroup(ARCHIVE_GROUP, "dead", {stream: ">"}, count=31)
    assert len(taken[0][1]) == 31  # the opening and 30 ballots
    await store.act(svc, room.q, Action.CLOSE)

    # Leases asked for again each quarter of a lease (200 ms), as the dead one expires.
    alive = ArchiveWorker(svc, "alive", claim_idle_ms=60_000, lease_ms=800)
    async with contextlib.aclosing(alive) as worker:
        assert await worker.pass_once() is False  # its lease has not expired yet: left alone
        assert await archived(svc, room.q) == 0
        await asyncio.sleep(0.25)
        assert await worker.pass_once() is True
        assert await archived(svc, room.q) == 30
        row = await _judged(worker, svc, room.q)
    assert (row.archived_count, row.tally_total) == (30, 30)


async def _judged(worker: ArchiveWorker, svc: Services, qid: str) -> Any:
    """The question's row once ``worker``, passing again and again, has judged its log
    and stopped following it."""

    async def done() -> bool:
        await worker.pass_once()
        return not await svc.redis.sismember(svc.keys.archiving(), qid)

    await _until(done)
    return await _question_row(svc, qid)


async def test_an_entry_the_archive_refuses_goes_to_dead_letters(svc: Services) -> None:
    room = await make_room(svc)
    await _cast_many(svc, room.q, 5)
    await svc.redis.xadd(svc.keys.stream(room.q), {"v": "x", "c": "not-a-choice"})
    async with running_worker(svc):
        await _until(lambda: _between(svc, room.q, 5, 5))
        await _until(lambda: svc.redis.xlen(svc.keys.dead_letter(room.q)))
        # Kept in dead letters first, then acknowledged: by the next round trip.
        await _until(lambda: _none_pending(svc, room.q))
    dead = await svc.redis.xrange(svc.keys.dead_letter(room.q))
    assert len(dead) == 1 and dead[0][1]["c"] == "not-a-choice"


async def _none_pending(svc: Services, qid: str) -> bool:
    return (await svc.redis.xpending(svc.keys.stream(qid), ARCHIVE_GROUP))["pending"] == 0


async def _held_by_a_stalled_reader(svc: Services, qid: str, count: int) -> list[str]:
    """``count`` entries read by a consumer that stalls without acknowledging them (a
    worker paused mid-batch): the ids it holds."""
    stream = svc.keys.stream(qid)
    with contextlib.suppress(redis.exceptions.ResponseError):  # BUSYGROUP: it exists
        await svc.redis.xgroup_create(stream, ARCHIVE_GROUP, id="0", mkstream=True)
    taken = await svc.redis.xreadgroup(ARCHIVE_GROUP, "stalled", {stream: ">"}, count=count)
    return [eid for eid, _ in taken[0][1]]


async def test_trimming_by_length_loses_the_ballots_not_yetarchived(svc: Services) -> None:
    """The negative control: a length cap (``XADD … MAXLEN``, ``XTRIM MAXLEN``) drops
    entries a consumer holds or has not read yet, and their ballots never reach the
    archive, though the tally counted them."""
    n = 1200
    room = await make_room(svc, {"options": "A,B,C"})
    await _cast_many(svc, room.q, n)
    await _held_by_a_stalled_reader(svc, room.q, 300)
    await svc.redis.xtrim(svc.keys.stream(room.q), maxlen=500, approximate=False)
    await store.act(svc, room.q, Action.CLOSE)
    async with contextlib.aclosing(ArchiveWorker(svc, "w", batch=100, claim_idle_ms=0)) as w:
        row = await _judged(w, svc, room.q)
    assert int(await svc.redis.hget(svc.keys.tally(room.q), "total") or 0) == n
    assert await archived(svc, room.q) == 500  # the last 500 entries the cap left
    assert (row.archived_count, row.tally_total) == (500, n)


async def test_the_worker_trims_only_below_what_isarchived(svc: Services) -> None:
    """The project's trimming: after each drain, below the oldest entry still pending
    (or the last one read). A stalled reader's entries stay until they are archived;
    at the end the archive equals the tally and the stream is down to one entry."""
    half = 600
    room = await make_room(svc, {"options": "A,B,C"})
    stream = svc.keys.stream(room.q)
    # The worker holds the question's lease: another reader's entries are claimed only
    # once idle for claim_idle_ms.
    worker = ArchiveWorker(svc, "w", batch=100, claim_idle_ms=60_000)
    async with contextlib.aclosing(worker):
        first = await _cast_many(svc, room.q, half)
        assert await worker.pass_once() is True
        assert await archived(svc, room.q) == half
        assert await svc.redis.xlen(stream) == 1  # archived, so trimmed; the last read kept

        second = await _cast_many(svc, room.q, half, voters="late")
        held = await _held_by_a_stalled_reader(svc, room.q, 150)
        assert await worker.pass_once() is True
        assert await archived(svc, room.q) == 2 * half - 150  # all but what it holds
        left = [eid for eid, _ in await svc.redis.xrange(stream)]
        assert left[0] == held[0] and len(left) == half  # from its first held entry on

        worker.claim_idle_ms = 0  # it stalled long enough: its entries are claimed
        assert await worker.pass_once() is True
        assert await archived(svc, room.q) == 2 * half
        assert await svc.redis.xlen(stream) == 1
        await store.act(svc, room.q, Action.CLOSE)
        row = await _judged(worker, svc, room.q)
    assert (row.archived_count, row.tally_total) == (2 * half, 2 * half)
    rows = await _rows(svc, room.q)
    assert len({r.ballot_id for r in rows}) == len({r.voter_ref for r in rows}) == 2 * half
    counts = [0, 0, 0]
    for r in rows:
        counts[r.choices[0]] += 1
    assert counts == [(first + second).count(i) for i in range(3)]


async def _calls(svc: Services) -> dict[str, int]:
    """Valkey's count of each command it ran (``INFO commandstats``), by name."""
    stats = await svc.redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


async def test_an_idle_pass_sends_no_more_than_a_read_and_a_lease_per_question(
    svc: Services,
) -> None:
    """A pass over 50 open questions with nothing new: per question, one stream read and
    its status, all pipelined; no claiming, trimming or closing checks of its own. The
    leases are renewed once a quarter of a lease has passed, not at each pass; entries
    left pending are claimed every ``claim_idle_ms / 2``."""
    n, passes = 50, 4
    room = await make_room(svc, *[{}] * n)
    worker = ArchiveWorker(svc, "w", claim_idle_ms=60_000)
    async with contextlib.aclosing(worker):
        assert await worker.pass_once() is True  # the openings
        before = await _calls(svc)
        for _ in range(passes):
            assert await worker.pass_once() is False
        after = await _calls(svc)
    sent = {name: after[name] - before.get(name, 0) for name in after}
    sent = {name: calls for name, calls in sent.items() if calls and name != "info"}
    assert sent.pop("smembers") == passes
    assert sent == {"xreadgroup": n * passes, "hget": n * passes}
    assert len(room.questions) == n


async def test_leases_are_renewed_each_quarter_lease_and_at_once_for_a_new_question(
    svc: Services,
) -> None:
    room = await make_room(svc, {}, {})
    worker = ArchiveWorker(svc, "w", lease_ms=800)
    async with contextlib.aclosing(worker):
        assert await worker.pass_once() is True  # the openings, both leases taken
        lease = svc.keys.ledger_lease
        assert [await svc.redis.get(lease(q)) for q in room.questions] == ["w", "w"]
        before = (await _calls(svc)).get("evalsha", 0)
        await worker.pass_once()
        assert (await _calls(svc)).get("evalsha", 0) == before  # not due yet
        third = await store.add_question(svc, room.info.id, build_question("Q", "single", "A,B"))
        await store.act(svc, third.id, Action.OPEN)
        assert await worker.pass_once() is True  # the new question's lease taken at once
        assert await svc.redis.get(lease(third.id)) == "w"
        await asyncio.sleep(0.25)  # past a quarter of the lease: all three renewed
        before = (await _calls(svc)).get("evalsha", 0)
        await worker.pass_once()
        assert (await _calls(svc)).get("evalsha", 0) - before == 3
        assert 600 < await svc.redis.pttl(lease(room.q)) <= 800


async def test_what_a_stalled_consumer_holds_is_claimed_once_idle_long_enough(
    svc: Services,
) -> None:
    """Claiming is no longer asked on every pass, but what a consumer left pending is
    still taken over once idle for ``claim_idle_ms``: at the next pass after half of it."""
    room = await make_room(svc)
    worker = ArchiveWorker(svc, "w", claim_idle_ms=400)
    async with contextlib.aclosing(worker):
        assert await worker.pass_once() is True  # the opening
        await _cast_many(svc, room.q, 10)
        await _held_by_a_stalled_reader(svc, room.q, 10)
        assert await worker.pass_once() is False  # held, and not idle long enough
        before = (await _calls(svc)).get("xautoclaim", 0)
        await asyncio.sleep(0.45)
        assert await worker.pass_once() is True
        assert await archived(svc, room.q) == 10
        assert (await _calls(svc)).get("xautoclaim", 0) - before == 1
