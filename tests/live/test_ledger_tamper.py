"""The integrity ledger against tampering and faults: each verdict names what broke.

A ballot changed or deleted in the SQL archive, a tally changed in Valkey before or after
the close, a log entry rewritten after the witnesses cosigned it, witnesses down, and the
log of a question reset or reopened. Each test asserts the badge (the status) and the
reason: the problem code, its fields (which ballot, which witnesses, which numbers) and
the sentence built from them, both in the question's live state and in ``ledger_logs``.
Witness-level refusals (forks, going backwards, concurrent requests) are in
``test_witness.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import sqlalchemy as sa

from live import store
from live.cast import CastBatcher, do_cast
from live.engines import db
from live.ledger.local_witnesses import LocalWitnesses
from live.ledger.witness import origin_hash
from live.services import Services, open_services
from live.settings import Settings
from live.worker import ArchiveWorker
from rooms.ledger import canonical, derive_signer
from rooms.questions import Action
from rooms.tlog.checkpoint import Checkpoint, open_checkpoint
from rooms.tlog.merkle import leaf_hash, tree_root
from rooms.tlog.policy import Policy
from tests.conftest import running_worker
from tests.live.helpers import make_room

T = TypeVar("T")

#: Ballots cast in each poll: two for each of the options A, B, C.
N = 6


# --- helpers -----------------------------------------------------------------------------


async def _until(probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0) -> T:
    """The first value ``probe`` returns that is not None or False, polled until ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            got = await probe()
            if got is not None and got is not False:
                return got
            await asyncio.sleep(0.02)


async def _verdict(
    svc: Services, qid: str, status: str | None = None, timeout: float = 20.0
) -> dict[str, Any]:
    """The question's verdict once the worker wrote one (of ``status``, if given)."""

    async def probe() -> dict[str, Any] | None:
        q = await store.load_question(svc, qid)
        found = None if q is None else q.verification
        return found if found is not None and status in (None, found["status"]) else None

    return await _until(probe, timeout)


async def _cast(batcher: CastBatcher, qid: str, voters: Iterable[int]) -> dict[str, int]:
    """One ballot for each voter number ``i`` (choice ``i % 3``): receipt -> choice."""
    numbers = list(voters)
    receipts = await asyncio.gather(
        *(do_cast(batcher, qid, f"voter-{i}", (i % 3,), None) for i in numbers)
    )
    return {receipt: i % 3 for receipt, i in zip(receipts, numbers, strict=True)}


async def _archived(svc: Services, qid: str, count: int) -> list[Any]:
    """The question's archive rows, once ``count`` of them are in the log."""

    async def probe() -> list[Any] | None:
        async with svc.engine.connect() as conn:
            rows = list(
                await conn.execute(
                    sa.select(db.ballots).where(
                        db.ballots.c.question_id == qid, db.ballots.c.leaf_index.is_not(None)
                    )
                )
            )
        return rows if len(rows) >= count else None

    return await _until(probe)


async def _log_id(svc: Services, qid: str) -> str:
    q = await store.load_question(svc, qid)
    assert q is not None and q.log_id is not None
    return q.log_id


async def _log_row(svc: Services, log_id: str) -> Any:
    async with svc.engine.connect() as conn:
        logs = db.ledger_logs
        return (await conn.execute(sa.select(logs).where(logs.c.id == log_id))).one()


async def _entries(svc: Services, log_id: str) -> list[bytes]:
    entries = db.ledger_entries
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(entries.c.entry).where(entries.c.log_id == log_id).order_by(entries.c.idx)
        )
        return [bytes(e) for e in rows.scalars()]


async def _witnessed(svc: Services, log_id: str) -> dict[str, int]:
    """The size each witness last cosigned for the log, as the ledger recorded it."""
    table = db.ledger_witnessed
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(table.c.witness, table.c.size).where(table.c.log_id == log_id)
        )
        return {name: int(size) for name, size in rows}


async def _assert_recorded(svc: Services, qid: str, verdict: dict[str, Any]) -> None:
    """The archive's record of the log's verdict is the one the question shows."""
    row = await _log_row(svc, await _log_id(svc, qid))
    assert (row.verification, row.problem) == (verdict["status"], verdict["problem"])
    assert (row.problem_fields or {}) == verdict["fields"]


def _kinds(entries: list[bytes]) -> list[str]:
    return [orjson.loads(e).get("e", "ballot") for e in entries]


async def _witness_heads(
    witnesses: LocalWitnesses, origin: str, svc: Services
) -> dict[str, Checkpoint]:
    """Each witness's latest cosigned checkpoint of ``origin``, from its monitoring URL,
    checked to carry the log's signature and the witness's own cosignature."""
    log_key = derive_signer(svc.secret, origin).verifier()
    heads = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for witness in witnesses.witnesses:
            response = await client.get(f"{witness.url}/{origin_hash(origin)}/checkpoint")
            assert response.status_code == 200, response.text
            cosigner = witness.policy_witness().verifier
            signed = open_checkpoint(response.content, [log_key], [cosigner], origin=origin)
            assert len(signed.cosignatures) == 1
            heads[witness.name] = signed.checkpoint
    return heads


def _root(entries: list[bytes], size: int) -> bytes:
    return tree_root(size, [leaf_hash(e) for e in entries])


# --- the archive -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tamper", "problem", "sentence"),
    [
        pytest.param(
            "alter", "archive_altered", "differs in the archive from the log", id="altered"
        ),
        pytest.param("delete", "archive_missing", "is missing from the archive", id="deleted"),
    ],
)
async def test_a_ballot_changed_in_the_archive_fails_the_poll_naming_its_receipt(
    witnessed: Settings, tamper: str, problem: str, sentence: str
) -> None:
    async with open_services(witnessed) as svc:
        room = await make_room(svc)
        async with running_worker(svc):
            receipts = await _cast(CastBatcher(svc), room.q, range(N))
            rows = await _archived(svc, room.q, N)
            target = next(r for r in rows if receipts[r.receipt] == 0)
            ballots = db.ballots
            async with svc.engine.begin() as conn:
                where = (ballots.c.question_id == room.q) & (ballots.c.id == target.id)
                if tamper == "alter":  # the vote moved from A to B, in the archive only
                    await conn.execute(ballots.update().where(where).values(choices=[1]))
                else:
                    await conn.execute(ballots.delete().where(where))
            await store.act(svc, room.q, Action.CLOSE)
            verdict = await _verdict(svc, room.q)
        code, index = target.receipt[:12], target.leaf_index
        assert verdict == {
            "status": "failed",
            "problem": problem,
            "fields": {"receipt": code, "index": index},
            "reason": f"Ballot {code} (log entry {index}) {sentence}.",
        }
        assert 1 <= index <= N  # a ballot's entry, between the opening and the closing
        await _assert_recorded(svc, room.q, verdict)


# --- the live tally ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "changes", "expected"),
    [
        # The closing entry records the tally at the moment of closing: the tampered one.
        pytest.param(
            "before close",
            {"0": 1, "total": 1},
            (
                "closing_mismatch",
                {"index": N + 1, "recorded": [3, 2, 2], "counted": [2, 2, 2]},
                f"The tally recorded at closing (log entry {N + 1}) is [3, 2, 2]; "
                "the ballots before it count [2, 2, 2].",
            ),
            id="added-before-close",
        ),
        # After the close the log is right; the live tally no longer agrees with it.
        pytest.param(
            "after close",
            {"0": 1, "total": 1},
            (
                "count_mismatch",
                {"archived": N, "tally": N + 1, "logged": N},
                f"The archive holds {N} ballots, the live tally {N + 1}, the log {N}.",
            ),
            id="added-after-close",
        ),
        pytest.param(
            "after close",
            {"0": 1, "1": -1},
            (
                "tally_mismatch",
                {"tally": [3, 1, 2], "counted": [2, 2, 2]},
                "The live tally is [3, 1, 2]; the recount of the log is [2, 2, 2].",
            ),
            id="moved-after-close",
        ),
    ],
)
async def test_a_tally_changed_in_valkey_fails_the_poll_with_both_counts(
    witnessed: Settings,
    when: str,
    changes: dict[str, int],
    expected: tuple[str, dict[str, Any], str],
) -> None:
    async def change_tally() -> None:
        for field, by in changes.items():
            await svc.redis.hincrby(svc.keys.tally(room.q), field, by)

    async with open_services(witnessed) as svc:
        room = await make_room(svc)
        async with running_worker(svc):
            await _cast(CastBatcher(svc), room.q, range(N))
            await _archived(svc, room.q, N)
        # The worker is stopped: nothing is judged until it starts again.
        if when == "before close":
            await change_tally()
        await store.act(svc, room.q, Action.CLOSE)
        if when == "after close":
            await change_tally()
        async with running_worker(svc):
            verdict = await _verdict(svc, room.q)
        problem, fields, reason = expected
        assert verdict == {
            "status": "failed",
            "problem": problem,
            "fields": fields,
            "reason": reason,
        }
        await _assert_recorded(svc, room.q, verdict)


# --- the log itself ----------------------------------------------------------------------


@pytest.mark.parametrize("restart", [False, True], ids=["worker-kept-running", "worker-restarted"])
async def test_a_log_entry_rewritten_after_cosigning_fails_and_no_witness_cosigns_the_rewrite(
    witnessed: Settings, witnesses: LocalWitnesses, restart: bool
) -> None:
    """Two ballots swap their choices in ``ledger_entries`` (so the counts, the closing and
    every recount still agree) after all four witnesses cosigned a checkpoint holding them.

    Our own check of the roots we signed finds it. The witnesses never cosign a view of
    the log that contradicts what they cosigned before: a worker that kept running signs
    its later checkpoints from the tree it holds in memory (the true leaves), so the final
    one they cosign is the true log's; a restarted worker rebuilds its tree from the
    rewritten rows, its consistency proofs fail, and every witness stays at the size it
    had (the refusal itself is not the verdict: the local check fails first).
    """
    async with open_services(witnessed.with_(checkpoint_interval=0.05)) as svc:
        room = await make_room(svc)
        batcher = CastBatcher(svc)
        log_id = await _log_id(svc, room.q)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(running_worker(svc))
            await _cast(batcher, room.q, range(N))
            await _archived(svc, room.q, N)
            ballots = {
                i: orjson.loads(e) for i, e in enumerate(await _entries(svc, log_id)) if 0 < i <= N
            }
            a = next(i for i, b in ballots.items() if b["c"] == [0])
            b = next(i for i, b in ballots.items() if b["c"] == [1])
            # Checkpoints are signed within the interval: wait until all four witnesses
            # cosigned one that holds both entries.

            async def cosigned_past(index: int) -> bool:
                sizes = await _witnessed(svc, log_id)
                return len(sizes) == 4 and min(sizes.values()) > index

            await _until(lambda: cosigned_past(max(a, b)))
            originals = {a: canonical(ballots[a]), b: canonical(ballots[b])}
            swapped = {
                a: canonical({**ballots[a], "c": ballots[b]["c"]}),
                b: canonical({**ballots[b], "c": ballots[a]["c"]}),
            }
            entries_t = db.ledger_entries
            async with svc.engine.begin() as conn:
                for index, entry in swapped.items():
                    await conn.execute(
                        entries_t.update()
                        .where(entries_t.c.log_id == log_id, entries_t.c.idx == index)
                        .values(entry=entry, leaf_hash=leaf_hash(entry).hex())
                    )
            appended_by_first = 0
            if restart:
                await stack.aclose()
                # The first worker signed no checkpoint past what it appended.
                appended_by_first = len(await _entries(svc, log_id))
                await stack.enter_async_context(running_worker(svc))
            await _cast(batcher, room.q, range(N, N + 2))
            await store.act(svc, room.q, Action.CLOSE)
            verdict = await _verdict(svc, room.q)
        async with svc.engine.connect() as conn:
            cps = db.ledger_checkpoints
            signed = (
                await conn.execute(sa.select(cps.c.size).where(cps.c.log_id == log_id))
            ).scalars()
            first_past = min(size for size in signed if size > min(a, b))
        assert verdict == {
            "status": "failed",
            "problem": "rewritten",
            "fields": {"size": first_past},
            "reason": f"The log's first {first_past} entries no longer match the checkpoint "
            "signed for them: an entry was rewritten.",
        }
        await _assert_recorded(svc, room.q, verdict)

        rewritten = await _entries(svc, log_id)
        true_log = [originals.get(i, e) for i, e in enumerate(rewritten)]
        assert _kinds(rewritten)[-1] == "close"
        row = await _log_row(svc, log_id)
        heads = await _witness_heads(witnesses, row.origin, svc)
        for name, head in heads.items():
            assert head.root == _root(true_log, head.size), name
            assert head.root != _root(rewritten, head.size), name
            if restart:  # it refused: still at a size the first worker had it cosign
                assert head.size <= appended_by_first < len(rewritten), name
            else:  # the true log's final checkpoint
                assert head.size == len(rewritten), name


# --- witnesses down ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _quick_worker(svc: Services) -> AsyncIterator[ArchiveWorker]:
    """The worker, waiting 1 s (not 5) for a witness: a stopped one never answers."""
    async with running_worker(svc) as worker:
        worker.ledger.witness_timeout = 1.0
        yield worker


async def _final_cosigners(svc: Services, log_id: str, policy: Policy) -> set[str]:
    """The witnesses whose cosignature on the log's final checkpoint verifies."""
    cps = db.ledger_checkpoints
    async with svc.engine.connect() as conn:
        note = await conn.scalar(
            sa.select(cps.c.note).where(cps.c.log_id == log_id).order_by(cps.c.size.desc())
        )
    assert note is not None
    log_key = derive_signer(svc.secret, (await _log_row(svc, log_id)).origin).verifier()
    signed = open_checkpoint(bytes(note), [log_key], [w.verifier for w in policy.witnesses])
    by_key = {(w.verifier.name, w.verifier.key_id): w.name for w in policy.witnesses}
    return {by_key[(s.name, s.key_id)] for s in signed.cosignatures}


async def test_a_poll_is_verified_with_one_witness_down(
    settings: Settings, own_witnesses: LocalWitnesses
) -> None:
    one, two, three, down = own_witnesses.witnesses
    os.kill(down.pid, signal.SIGSTOP)
    async with open_services(settings.with_(ledger_policy=own_witnesses.policy_path)) as svc:
        room = await make_room(svc)
        async with _quick_worker(svc):
            await _cast(CastBatcher(svc), room.q, range(N))
            await store.act(svc, room.q, Action.CLOSE)
            verdict = await _verdict(svc, room.q)
        assert verdict == {"status": "completed", "problem": None, "fields": {}, "reason": ""}
        await _assert_recorded(svc, room.q, verdict)
        log_id = await _log_id(svc, room.q)
        assert await _final_cosigners(svc, log_id, own_witnesses.policy) == {
            one.name,
            two.name,
            three.name,
        }


async def test_a_poll_stays_pending_with_two_witnesses_down_until_they_return(
    settings: Settings, own_witnesses: LocalWitnesses
) -> None:
    up_1, up_2, down_1, down_2 = own_witnesses.witnesses
    for witness in (down_1, down_2):
        os.kill(witness.pid, signal.SIGSTOP)
    async with open_services(settings.with_(ledger_policy=own_witnesses.policy_path)) as svc:
        room = await make_room(svc)
        log_id = await _log_id(svc, room.q)
        async with _quick_worker(svc):
            await _cast(CastBatcher(svc), room.q, range(N))
            await store.act(svc, room.q, Action.CLOSE)
            pending = await _verdict(svc, room.q)
            missing = f"{down_1.name}, {down_2.name}"
            assert pending == {
                "status": "pending",
                "problem": "quorum",
                "fields": {"cosigned": 2, "quorum": "3 of 4 (local-witnesses)", "missing": missing},
                "reason": "2 of the witnesses cosigned the final checkpoint; the policy needs "
                f"3 of 4 (local-witnesses). Not cosigned: {missing}.",
            }
            await _assert_recorded(svc, room.q, pending)
            # Tried again after a pause, with the two still down: pending, never completed.
            first = (await _log_row(svc, log_id)).verified_ms

            async def retried() -> Any:
                row = await _log_row(svc, log_id)
                return row if row.verified_ms != first else None

            again = await _until(retried, timeout=10)
            assert (again.verification, again.problem) == ("pending", "quorum")
            assert await svc.redis.sismember(svc.keys.archiving(), room.q)  # still followed

            for witness in (down_1, down_2):
                os.kill(witness.pid, signal.SIGCONT)
            verdict = await _verdict(svc, room.q, status="completed", timeout=20)
        assert verdict == {"status": "completed", "problem": None, "fields": {}, "reason": ""}
        await _assert_recorded(svc, room.q, verdict)
        cosigners = await _final_cosigners(svc, log_id, own_witnesses.policy)
        assert {up_1.name, up_2.name} < cosigners and len(cosigners) >= 3


# --- reset and reopen --------------------------------------------------------------------


def _worker_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "mvoting.worker" and r.levelno >= logging.ERROR
    ]


async def test_a_reopened_poll_continues_its_log_and_is_verified_after_the_second_close(
    witnessed: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_services(witnessed) as svc:
        room = await make_room(svc)
        batcher = CastBatcher(svc)
        log_id = await _log_id(svc, room.q)
        async with running_worker(svc) as worker:

            async def forgotten() -> bool:
                return log_id not in worker.ledger.kept()

            await _cast(batcher, room.q, range(3))
            await store.act(svc, room.q, Action.CLOSE)
            assert (await _verdict(svc, room.q))["status"] == "completed"
            # Judged: the worker lets go of the log's tree and witnesses' sizes once idle,
            # and reads them again from the archive when the poll reopens.
            await _until(forgotten)
            await store.act(svc, room.q, Action.OPEN)
            reopened = await store.load_question(svc, room.q)
            assert reopened is not None and reopened.verification is None
            await _cast(batcher, room.q, range(3, 5))
            await store.act(svc, room.q, Action.CLOSE)
            verdict = await _verdict(svc, room.q)
            await _until(forgotten)
        assert verdict == {"status": "completed", "problem": None, "fields": {}, "reason": ""}
        await _assert_recorded(svc, room.q, verdict)
        assert await _log_id(svc, room.q) == log_id
        entries = await _entries(svc, log_id)
        assert _kinds(entries) == [
            "open",
            *["ballot"] * 3,
            "close",
            "open",
            *["ballot"] * 2,
            "close",
        ]
        closings = [orjson.loads(e) for e in entries if orjson.loads(e).get("e") == "close"]
        assert [(c["counts"], c["total"]) for c in closings] == [([1, 1, 1], 3), ([2, 2, 1], 5)]
        assert (await _log_row(svc, log_id)).size == len(entries) == 9
    assert not _worker_errors(caplog)


async def test_a_reset_poll_starts_a_new_log_and_the_old_log_stays(
    witnessed: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_services(witnessed) as svc:
        room = await make_room(svc)
        batcher = CastBatcher(svc)
        old = await _log_id(svc, room.q)
        async with running_worker(svc):
            await _cast(batcher, room.q, range(3))
            await store.act(svc, room.q, Action.CLOSE)
            assert (await _verdict(svc, room.q))["status"] == "completed"
            await store.act(svc, room.q, Action.RESET)
            await store.act(svc, room.q, Action.OPEN)
            new = await _log_id(svc, room.q)
            await _cast(batcher, room.q, range(3, 5))
            await store.act(svc, room.q, Action.CLOSE)
            verdict = await _verdict(svc, room.q)
        assert verdict == {"status": "completed", "problem": None, "fields": {}, "reason": ""}
        assert new != old
        old_row, new_row = await _log_row(svc, old), await _log_row(svc, new)
        assert old_row.origin != new_row.origin
        assert old_row.question_id == new_row.question_id == room.q
        # The old log is kept whole, with its verdict; the new one holds only the new poll.
        assert (old_row.size, old_row.verification) == (5, "completed")
        assert _kinds(await _entries(svc, old)) == ["open", *["ballot"] * 3, "close"]
        assert (new_row.size, new_row.verification) == (4, "completed")
        new_entries = await _entries(svc, new)
        assert _kinds(new_entries) == ["open", "ballot", "ballot", "close"]
        assert orjson.loads(new_entries[-1])["counts"] == [1, 1, 0]
    assert not _worker_errors(caplog)  # the reset stream is followed without a failed pass
