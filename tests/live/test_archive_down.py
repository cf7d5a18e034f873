"""Production mode with the SQL archive gone for ten seconds in the middle of a burst.

Valkey is the write path: ballots are acknowledged while PostgreSQL is down, and the
worker, failing pass after pass with a bounded backoff, archives every one of them once it
is back, in stream order, so that the poll's log is judged completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from live import store
from live.cast import CastBatcher, do_cast
from live.engines import db
from live.services import Services, open_services
from live.settings import Settings, load_settings
from rooms.questions import Action
from tests.conftest import connect, run_node, running_worker
from tests.live.helpers import archived, make_room
from tests.live.own_postgres import OwnPostgres, own_postgres

DOWN = 10.0  # seconds the archive is away
BEFORE, DURING = 400, 800  # ballots cast before it goes, and while it is away
SOCKET_VOTERS = 3  # of those cast while it is away, through a web node's sockets
#: The worker's own line for a failed pass (``live.worker``), with its pause.
FAILED_PASS = re.compile(r"archive pass failed; retrying in (\d+\.\d)s")


async def _cast(svc: Services, qid: str, voters: range) -> dict[str, int]:
    """A ballot from each voter through the real cast script: receipt -> choice."""
    batcher = CastBatcher(svc)
    receipts: dict[str, int] = {}
    for start in range(voters.start, voters.stop, 200):
        wave = range(start, min(voters.stop, start + 200))
        acks = await asyncio.gather(
            *(do_cast(batcher, qid, f"voter-{i}", (i % 3,), None) for i in wave)
        )
        receipts.update({receipt: i % 3 for receipt, i in zip(acks, wave, strict=True)})
    return receipts


async def _until(what: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := await probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return got


def _settings(witnessed: Settings, pg: OwnPostgres) -> Settings:
    """The test's settings on the server's archive: production mode (``DATABASE_URL``)."""
    return load_settings(
        {},
        MVOTING_DATA=str(witnessed.data_dir),
        REDIS_URL=witnessed.redis_url or "",
        DATABASE_URL=pg.url,
        MVOTING_SECRET="test-secret",
        MVOTING_KEY_PREFIX=witnessed.key_prefix,
        MVOTING_REDIS_POOL="64",
    ).with_(ledger_policy=witnessed.ledger_policy)


@pytest.mark.timeout(180)
async def test_the_archive_down_for_ten_seconds_mid_burst_loses_and_doubles_nothing(
    witnessed: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mvoting.worker")
    with own_postgres() as pg:
        settings = _settings(witnessed, pg)
        assert settings.archive_url.startswith("postgresql+asyncpg://")
        async with contextlib.AsyncExitStack() as stack:
            svc = await stack.enter_async_context(open_services(settings))
            node = await stack.enter_async_context(run_node(settings))
            # The worker on connections of its own, as ``mvoting worker`` would be.
            worker_svc = await stack.enter_async_context(open_services(settings, migrate=False))
            await stack.enter_async_context(running_worker(worker_svc))
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=node.url))
            room = await make_room(svc)
            n = BEFORE + DURING
            acked = await _cast(svc, room.q, range(BEFORE))
            await _until("the first rows", lambda: archived(svc, room.q))

            pg.stop()
            down_at = time.monotonic()
            acked |= await _cast(svc, room.q, range(BEFORE, n - SOCKET_VOTERS))
            for i in range(SOCKET_VOTERS):
                async with connect(node.url) as voter:
                    assert (await voter.join(room.number, password="pw"))["ok"]
                    ack = await voter.vote(room.q, [i % 3])
                    assert ack["ok"], ack
                    acked[ack["receipt"]] = i % 3
            assert len(acked) == n  # every ballot acknowledged while the archive is away
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"] == "unreachable" and ready.json()["valkey"] == "ok"
            proof = await http.get(f"/ledger/receipt/{next(iter(acked))}")
            assert proof.status_code == 503, proof.text
            assert proof.json()["error"]["code"] == "unavailable"
            (group,) = await svc.redis.xinfo_groups(svc.keys.stream(room.q))
            waiting = group["pending"] + group["lag"]  # read and not archived, and unread
            assert waiting >= DURING, group  # Valkey holds what the archive misses
            await asyncio.sleep(max(0.0, DOWN - (time.monotonic() - down_at)))
            pauses = [
                float(m[1]) for r in caplog.records if (m := FAILED_PASS.search(r.getMessage()))
            ]
            # Failed passes back off, doubling from 0.1 s to at most 5 s.
            assert len(pauses) >= 4, pauses
            assert pauses[:4] == [0.1, 0.2, 0.4, 0.8] and max(pauses) <= 5.0, pauses

            pg.start()
            up_at = time.monotonic()
            await _until("the archive to catch up", lambda: _caught_up(svc, room.q, n))
            lag = time.monotonic() - up_at
            print(f"\narchive lag after the restart: {lag:.2f} s for {waiting} entries")
            # The checkpoints catch up before the close (the opening and every ballot), and
            # a ballot cast while the archive was away gets its proof.
            await _until("a checkpoint of the whole log", lambda: _signed(svc, room.q, n + 1))
            cast_away = list(acked)[-1]

            async def proved() -> bool:
                return (await http.get(f"/ledger/receipt/{cast_away}")).status_code == 200

            await _until("the proof of a ballot cast while the archive was away", proved)
            caplog.clear()
            late = await _cast(svc, room.q, range(n, n + 10))  # passes go on, no failure
            await _until("the late ballots", lambda: _caught_up(svc, room.q, n + 10))
            assert not [r for r in caplog.records if FAILED_PASS.search(r.getMessage())]
            acked |= late
            n += len(late)

            await store.act(svc, room.q, Action.CLOSE)
            verdict = await _until("the verdict", lambda: _verdict(svc, room.q), timeout=60)
            assert verdict == "completed"
            await _until("the worker to stop following", lambda: _unfollowed(svc, room.q))
            await _check_archive(svc, room.q, acked, n)


async def _caught_up(svc: Services, qid: str, n: int) -> bool:
    return await archived(svc, qid) == n


async def _signed(svc: Services, qid: str, size: int) -> bool:
    """Whether the question's log has a checkpoint of ``size`` entries."""
    logs, cps = db.ledger_logs, db.ledger_checkpoints
    async with svc.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(cps.join(logs, logs.c.id == cps.c.log_id))
            .where(logs.c.question_id == qid, cps.c.size == size)
        )
    return bool(found)


async def _verdict(svc: Services, qid: str) -> str | None:
    async with svc.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(db.ledger_logs.c.verification).where(db.ledger_logs.c.question_id == qid)
        )
    return None if found in (None, "pending") else str(found)  # pending: asked again


async def _unfollowed(svc: Services, qid: str) -> bool:
    return not await svc.redis.sismember(svc.keys.archiving(), qid)


async def _check_archive(svc: Services, qid: str, acked: dict[str, int], n: int) -> None:
    """Archive == tally == acknowledged, once each; the log holds them in stream order,
    and its checkpoints reach its last entry."""
    tally = await svc.redis.hgetall(svc.keys.tally(qid))
    assert int(tally["total"]) == n
    counts = [list(acked.values()).count(i) for i in range(3)]
    assert [int(tally[str(i)]) for i in range(3)] == counts
    logs, entries, cps = db.ledger_logs, db.ledger_entries, db.ledger_checkpoints
    async with svc.engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(db.ballots).where(db.ballots.c.question_id == qid))
        ).all()
        question = (
            await conn.execute(sa.select(db.questions).where(db.questions.c.id == qid))
        ).one()
        log_id, size = (
            await conn.execute(sa.select(logs.c.id, logs.c.size).where(logs.c.question_id == qid))
        ).one()
        logged = (
            await conn.execute(
                sa.select(entries.c.idx, entries.c.stream_id)
                .where(entries.c.log_id == log_id)
                .order_by(entries.c.idx)
            )
        ).all()
        signed = sorted(
            (await conn.execute(sa.select(cps.c.size).where(cps.c.log_id == log_id))).scalars()
        )
    assert len(rows) == len({r.ballot_id for r in rows}) == len({r.voter_ref for r in rows}) == n
    assert {r.receipt: r.choices for r in rows} == {k: [v] for k, v in acked.items()}
    assert (question.archived_count, question.tally_total) == (n, n)
    # The opening, every ballot, the closing: indexed without a gap, in the stream's order.
    assert size == n + 2 and [i for i, _ in logged] == list(range(n + 2))
    ids = [_stream_id(s) for _, s in logged]
    assert ids == sorted(ids) and len(set(ids)) == n + 2
    assert signed[-1] == size, signed  # the last checkpoint holds the whole log


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq)
