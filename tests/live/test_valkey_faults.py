"""Valkey failing under a burst of ballots: killed and started again on its append-only
file, hung for 10 s, out of disk space. Each time, every acknowledged ballot is counted
once, the archive equals the tally and the poll's log is verified."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.exceptions
import sqlalchemy as sa

from live import cast, store
from live.cast import do_cast
from live.engines import bundled, db
from live.ledger.local_witnesses import LocalWitnesses
from live.services import Services, open_services
from live.settings import Settings, load_settings
from live.worker import ArchiveWorker
from rooms.errors import ErrorCode, VotingError
from rooms.identity import voter_ref
from rooms.questions import Action
from tests.conftest import Node, connect, run_node
from tests.live.helpers import live_state, make_room
from tests.live.test_ledger import verification


@dataclass
class Stack:
    """A Valkey of the test's own (it is killed, stopped, starved), a node and services."""

    server: bundled.EmbeddedValkey
    settings: Settings
    svc: Services
    node: Node


@contextlib.asynccontextmanager
async def own_stack(valkey_dir: Path, data_dir: Path, policy: Path) -> AsyncIterator[Stack]:
    server = bundled.find_or_start(valkey_dir)
    assert server.owned and server.port != 6379
    settings = load_settings(
        {},
        MVOTING_DATA=str(data_dir),
        REDIS_URL=server.url,
        MVOTING_SECRET="test-secret",
        MVOTING_REDIS_POOL="64",
    ).with_(ledger_policy=policy)
    try:
        async with open_services(settings) as svc, run_node(settings) as node:
            yield Stack(server, settings, svc, node)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGCONT)
        server.stop()


@pytest.fixture
async def stack(witnesses: LocalWitnesses) -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="mvoting-faults-") as d:
        async with own_stack(Path(d) / "valkey", Path(d) / "data", witnesses.policy_path) as s:
            yield s


@contextlib.asynccontextmanager
async def lone_worker(svc: Services) -> AsyncIterator[ArchiveWorker]:
    """The one archive worker, running. Entries idle on a consumer are claimed only after
    ten minutes, so it must resume by itself: an entry whose read's reply the fault lost
    (pending on it, never seen) is read again, not left for claiming."""
    worker = ArchiveWorker(svc, "lone-worker", poll=0.02, claim_idle_ms=600_000)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Burst:
    """Ballots of distinct voters cast through the node's own cast batcher."""

    stack: Stack
    qid: str
    acked: dict[str, int] = field(default_factory=dict)  #: voter: choice
    refused: dict[str, int] = field(default_factory=dict)  #: voter: choice (unavailable)
    codes: list[str] = field(default_factory=list)  #: each refusal's code

    async def cast(self, voter: str, choice: int) -> None:
        try:
            await do_cast(self.stack.node.live.batcher, self.qid, voter, (choice,), None)
        except VotingError as err:
            self.codes.append(err.code.value)
            if err.code is ErrorCode.ALREADY_VOTED:
                self.acked[voter] = choice  # an earlier send counted, its answer was lost
            else:
                self.refused[voter] = choice
        except Exception as exc:  # what the socket handler answers `unavailable`
            self.codes.append(type(exc).__name__)
            self.refused[voter] = choice
        else:
            self.acked[voter] = choice

    async def run(self, voters: range, wave: int = 100) -> None:
        for start in range(voters.start, voters.stop, wave):
            await asyncio.gather(
                *(self.cast(f"v{i}", i % 3) for i in range(start, min(voters.stop, start + wave)))
            )

    async def resend(self, timeout: float = 30.0) -> int:
        """Send every refused ballot again until each is counted; how many were."""
        resent = len(self.refused)
        deadline = time.monotonic() + timeout
        while self.refused:
            assert time.monotonic() < deadline, f"still refused: {len(self.refused)}"
            again, self.refused = self.refused, {}
            await asyncio.gather(*(self.cast(v, c) for v, c in again.items()))
            if self.refused:
                await asyncio.sleep(0.2)
        return resent

    async def missing(self) -> set[str]:
        """Acknowledged voters not in the question's voters set."""
        svc = self.stack.svc
        refs = set(await svc.redis.smembers(svc.keys.voters(self.qid)))
        return {v for v in self.acked if voter_ref(svc.secret, self.qid, v) not in refs}


async def _settled(burst: Burst, n: int) -> None:
    """The end of every test, with the worker that ran through the fault still running:
    all ``n`` voters and one more (``_socket_ballot``) counted once, archived by that
    worker, the archive equal to the tally, the log verified."""
    svc, qid = burst.stack.svc, burst.qid
    assert await burst.missing() == set()
    assert len(burst.acked) == n
    state = await live_state(svc, qid)
    counts = [sum(1 for c in burst.acked.values() if c == i) for i in range(3)]
    counts[0] += 1  # the socket voter's
    assert state["tally"] == {
        **{str(i): str(c) for i, c in enumerate(counts)},
        "total": str(n + 1),
    }
    assert len(state["voters"]) == n + 1
    # The worker resumed by itself (it trims the stream of what it archived).
    await _archived(svc, qid, n + 1)
    async with svc.engine.connect() as conn:
        refs = list(
            await conn.scalars(
                sa.select(db.ballots.c.voter_ref).where(db.ballots.c.question_id == qid)
            )
        )
    assert len(set(refs)) == len(refs) == n + 1  # each ballot archived once
    assert {voter_ref(svc.secret, qid, v) for v in burst.acked} <= set(refs)
    await store.act(svc, qid, Action.CLOSE)
    verdict = await verification(svc, qid, timeout=60)
    assert verdict["status"] == "completed", verdict
    row = await store.load_question(svc, qid)
    assert row is not None
    results = {r["id"]: r for r in await store.results(svc, row.room_id)}[qid]
    assert (results["archived"], results["total"]) == (n + 1, n + 1)
    assert results["counts"] == counts


async def _archived(svc: Services, qid: str, n: int, timeout: float = 60.0) -> None:
    """Wait until the archive holds ``n`` ballots of ``qid``."""
    deadline = time.monotonic() + timeout
    while True:
        async with svc.engine.connect() as conn:
            rows = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(db.ballots)
                .where(db.ballots.c.question_id == qid)
            )
        if rows == n:
            return
        assert time.monotonic() < deadline, f"{rows} ballots archived, not {n}"
        await asyncio.sleep(0.1)


async def _restarted(server: bundled.EmbeddedValkey, times: int, timeout: float = 20.0) -> None:
    """Wait until ``server``'s owner has started it again ``times`` times."""
    deadline = time.monotonic() + timeout
    while server.restarts < times:
        assert time.monotonic() < deadline, "the server was not started again"
        await asyncio.sleep(0.02)


async def _answering(svc: Services, timeout: float = 20.0) -> None:
    """Wait until Valkey answers this test's reads again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await svc.redis.ping()
            return
        except redis.exceptions.ConnectionError:
            assert time.monotonic() < deadline, "Valkey did not come back"
            await asyncio.sleep(0.05)


async def _socket_ballot(stack: Stack, room_number: str, qid: str, total: int) -> None:
    """One more ballot, through a socket of the same node: it is counted and announced,
    the tally at ``total`` (the node's clients and its event subscription found Valkey
    again)."""
    async with connect(stack.node.url) as c:
        # The first command on a connection the restart left dead may be answered
        # `unavailable`, as a phone's would; its page joins again, as this does.
        deadline = time.monotonic() + 10
        while not (joined := await c.join(room_number, password="pw"))["ok"]:
            assert joined["error"]["code"] == "unavailable", joined
            assert time.monotonic() < deadline, joined
            await asyncio.sleep(0.2)
        ack = await c.vote(qid, [0])
        assert ack["ok"] is True, ack
        await c.wait_for(lambda: any(t["total"] == total for t in c.tallies(qid)), timeout=10)


# --- killed and started again on its append-only file -------------------------------------


@pytest.mark.timeout(180)
async def test_valkey_killed_mid_burst_restarts_on_its_aof_and_loses_no_acknowledged_ballot(
    stack: Stack,
) -> None:
    n = 1500
    room = await make_room(stack.svc, {"options": "A,B,C"})
    burst = Burst(stack, room.q)
    first_pid = stack.server.pid

    async def kill_when(acked: int) -> int:
        while len(burst.acked) < acked:
            await asyncio.sleep(0.005)
        os.kill(stack.server.pid, signal.SIGKILL)
        return len(burst.acked)

    async with lone_worker(stack.svc):  # archiving while it happens
        killed_at, _ = await asyncio.gather(kill_when(500), burst.run(range(n)))
        assert 500 <= killed_at < n
        # Started again by its owner, on the same port and file; the node's clients
        # found it again without being told.
        await _restarted(stack.server, 1)
        await _answering(stack.svc)
        assert stack.server.restarts == 1 and stack.server.pid != first_pid
        assert burst.refused, "the kill refused no ballot: it came too late"
        assert set(burst.codes) <= {"ConnectionError", "BusyLoadingError"}, set(burst.codes)
        # Every ballot acknowledged before the kill (or after the restart) is there.
        assert await burst.missing() == set()
        resent = await burst.resend()
        print(f"\nkilled after {killed_at} acks; {resent} refused and sent again")
        await _socket_ballot(stack, room.number, room.q, n + 1)
        await _settled(burst, n)


async def test_after_valkey_restarts_a_node_sends_its_watchers_a_fresh_tally(
    stack: Stack,
) -> None:
    """Tallies published while a node's subscription was down never reach it: once it is
    back, the node asks for a snapshot of every question its connections watch."""
    room = await make_room(stack.svc)
    async with connect(stack.node.url) as voter:
        assert (await voter.join(room.number, password="pw"))["ok"]
        assert (await voter.vote(room.q, [2]))["ok"]
        await voter.wait_for(lambda: bool(voter.tallies(room.q)))
        seen = len(voter.tallies(room.q))
        os.kill(stack.server.pid, signal.SIGKILL)
        await _restarted(stack.server, 1)
        await voter.wait_for(lambda: len(voter.tallies(room.q)) > seen, timeout=20)
        fresh = voter.tallies(room.q)[-1]
        assert fresh["version"] > voter.tallies(room.q)[seen - 1]["version"]
        assert (fresh["total"], fresh["counts"]) == (1, [0, 0, 1])


# --- hung for 10 s ------------------------------------------------------------------------

HANG = 10.0
#: Acks may come this much later than the cast timeout on a loaded machine.
SLACK = 3.0


@pytest.mark.timeout(180)
async def test_valkey_hung_for_ten_seconds_answers_unavailable_in_bound_then_recovers(
    stack: Stack,
) -> None:
    voters, questions = 250, 4  # 1,000 ballots over real sockets
    svc = stack.svc
    room = await make_room(svc, *({"options": "A,B,C"} for _ in range(questions)))
    async with contextlib.AsyncExitStack() as exits:
        await exits.enter_async_context(lone_worker(svc))  # archiving while it happens
        clients = [await exits.enter_async_context(connect(stack.node.url)) for _ in range(voters)]
        for c in clients:
            assert (await c.join(room.number, password="pw"))["ok"]
        acked: set[tuple[int, str]] = set()
        refused: list[tuple[int, str, float]] = []  #: voter, question, seconds to the ack
        paused: list[float] = []

        async def vote(i: int, qid: str) -> None:
            sent = time.monotonic()
            ballot = {"question": qid, "choices": [i % 3]}
            ack = await clients[i].call("vote", ballot, timeout=cast.BATCH_TIMEOUT + 2 * SLACK)
            if ack["ok"] or ack["error"]["code"] == "already_voted":
                acked.add((i, qid))
            else:
                assert ack["error"]["code"] == "unavailable", ack
                assert ack["error"]["message"]
                refused.append((i, qid, time.monotonic() - sent))

        async def voter(i: int) -> None:
            for qid in room.questions:
                await vote(i, qid)

        async def hang() -> None:
            while len(acked) < 200:
                await asyncio.sleep(0.005)
            os.kill(stack.server.pid, signal.SIGSTOP)
            paused.append(time.monotonic())
            await asyncio.sleep(HANG)
            os.kill(stack.server.pid, signal.SIGCONT)
            paused.append(time.monotonic())

        await asyncio.gather(hang(), *(voter(i) for i in range(voters)))
        assert refused, "the pause refused no ballot"
        slowest = max(seconds for *_, seconds in refused)
        assert slowest < cast.BATCH_TIMEOUT + SLACK, slowest
        # Valkey is back: each refused ballot, sent again, counts once.
        during = list(refused)
        await asyncio.gather(*(vote(i, qid) for i, qid, _ in during))
        assert refused == during and len(acked) == voters * questions
        for qid in room.questions:
            state = await live_state(svc, qid)
            assert state["tally"]["total"] == str(voters) and len(state["voters"]) == voters
        print(
            f"\nhung {paused[1] - paused[0]:.1f} s: {len(during)} ballots refused unavailable, "
            f"the slowest answer in {slowest:.2f} s (cast timeout {cast.BATCH_TIMEOUT} s)"
        )
        for qid in room.questions:
            await _archived(svc, qid, voters)  # the worker resumed by itself
            await store.act(svc, qid, Action.CLOSE)
        verdicts = [await verification(svc, qid, timeout=60) for qid in room.questions]
    assert [v["status"] for v in verdicts] == ["completed"] * questions, verdicts
    for r in await store.results(svc, room.info.id):
        assert (r["archived"], r["total"]) == (voters, voters)


# --- out of disk space --------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path``, unmounted afterwards."""
    path.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"a small filesystem cannot be mounted here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """A file taking every byte left on ``disk``."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    return filler


@pytest.mark.timeout(180)
async def test_a_full_disk_refuses_ballots_unavailable_loses_none_and_recovers_with_space(
    witnesses: LocalWitnesses, tmp_path: Path
) -> None:
    n = 1200
    with small_disk(tmp_path / "disk", "16m") as disk:
        async with own_stack(disk / "valkey", tmp_path / "data", witnesses.policy_path) as stack:
            room = await make_room(stack.svc, {"options": "A,B,C"})
            burst = Burst(stack, room.q)
            async with lone_worker(stack.svc):
                await _starved(disk, stack, burst, n)
                await _socket_ballot(stack, room.number, room.q, n + 1)
                await _settled(burst, n)


async def _starved(disk: Path, stack: Stack, burst: Burst, n: int) -> None:
    """``n`` ballots: half before the disk fills, half after; the space returns."""
    await burst.run(range(n // 2))
    assert len(burst.acked) == n // 2 and not burst.refused
    filler = fill(disk)
    # Valkey cannot sync its append-only file: with `appendfsync always` it exits
    # rather than acknowledge, and its owner starts it again on the same file.
    await burst.run(range(n // 2, n - 200))
    assert burst.refused, "the full disk refused no ballot"
    await _restarted(stack.server, 1)
    # Started again, it reads (its file loads) and exits at the next write that
    # finds no room.
    await _answering(stack.svc)
    before = len(burst.refused)
    await burst.run(range(n - 200, n))
    assert len(burst.refused) > before
    await _restarted(stack.server, 2)
    still_full = len(burst.refused)
    # Each a lost connection, which a socket's vote is answered `unavailable`.
    assert set(burst.codes) <= {"ConnectionError", "BusyLoadingError"}, set(burst.codes)

    filler.unlink()  # space returns
    await _answering(stack.svc)
    assert await burst.missing() == set()
    await burst.resend(timeout=60)
    print(
        f"\ndisk full: {n - n // 2 - still_full} of {n - n // 2} ballots acked after "
        f"filling, {still_full} refused; Valkey started again "
        f"{stack.server.restarts} times"
    )
