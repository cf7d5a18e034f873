"""The same system on a 3-node Valkey Cluster of bundled servers.

Rooms whose questions live on different nodes; many attendees on two web nodes voting on
all of them at once, twice from some devices; a presenter on the other node; the archive
worker; the host's list actions. Every ballot counts exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions
import sqlalchemy as sa

from live import agenda, drafts, store
from live.cast import CastBatcher, do_cast
from live.engines import db
from live.engines.bundled_cluster import EmbeddedCluster, start_cluster
from live.engines.cluster import ClusterClient
from live.services import Services, open_services
from live.settings import Settings, SettingsError, load_settings
from rooms.errors import ErrorCode, VotingError
from rooms.questions import Action, Status, build_question
from tests.conftest import Client, connect, run_node, running_worker
from tests.live.helpers import Room, live_state

ATTENDEES = 60
TWINS = 20  # attendees who vote again from a second connection of the same device


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with tempfile.TemporaryDirectory(prefix="mvoting-cluster-") as d:
        c = start_cluster(Path(d))
        assert len(c.ports) == 3 and 6379 not in c.ports
        yield c
        c.stop()


_counter = iter(range(1_000_000))


@pytest.fixture
def cluster_settings(cluster: EmbeddedCluster, tmp_path: Path) -> Settings:
    return load_settings(
        {},
        MVOTING_DATA=str(tmp_path / "data"),
        REDIS_URL=cluster.url,
        MVOTING_REDIS_CLUSTER="1",
        MVOTING_SECRET="test-secret",
        MVOTING_KEY_PREFIX=f"c{next(_counter)}-{tmp_path.name[-12:]}:",
        MVOTING_REDIS_POOL="4",  # the least: a burst must wait for connections, not fail
    )


@pytest.fixture
async def csvc(cluster_settings: Settings) -> AsyncIterator[Services]:
    async with open_services(cluster_settings) as services:
        assert isinstance(services.redis, ClusterClient)
        yield services


@contextlib.asynccontextmanager
async def node_clients(cluster: EmbeddedCluster) -> AsyncIterator[list[aioredis.Redis]]:
    """A plain client of each node: to see which node really holds a key."""
    clients = [aioredis.Redis(port=p, decode_responses=True) for p in cluster.ports]
    try:
        yield clients
    finally:
        for r in clients:
            await r.aclose()


async def holders(cluster: EmbeddedCluster, key: str) -> list[int]:
    """The ports of the nodes that hold ``key`` (a node that does not serve its slot
    answers MOVED)."""
    found = []
    async with node_clients(cluster) as nodes:
        for port, r in zip(cluster.ports, nodes, strict=True):
            with contextlib.suppress(redis.exceptions.MovedError):
                if await r.exists(key):
                    found.append(port)
    return found


def question_keys(svc: Services, qid: str) -> list[str]:
    k = svc.keys
    return [k.question(qid), k.voters(qid), k.tally(qid), k.stream(qid), k.tick(qid)]


async def spread_room(svc: Services, *, open_: bool, at_least: int = 3) -> Room:
    """A room with ``at_least`` questions whose keys cover all three nodes."""
    info = await store.create_room(svc, title="Cluster", password="pw")
    r = svc.redis
    ids: list[str] = []
    ports: set[int] = set()
    for _ in range(60):
        if len(ids) >= at_least and len(ports) == 3:
            break
        q = await store.add_question(
            svc, info.id, build_question(f"Q{len(ids)}", "single", "A,B,C")
        )
        ports.add(r.get_node_from_key(svc.keys.question(q.id)).port)
        ids.append(q.id)
    assert len(ports) == 3
    if open_:
        for qid in ids:
            await store.act(svc, qid, Action.OPEN)
    return Room(info, ids)


def test_a_cluster_needs_a_url_and_a_prefix_without_braces() -> None:
    with pytest.raises(SettingsError, match="needs REDIS_URL"):
        load_settings({}, MVOTING_REDIS_CLUSTER="1", MVOTING_SECRET="s")
    with pytest.raises(SettingsError, match="braces"):
        load_settings(
            {"REDIS_URL": "redis://x", "MVOTING_KEY_PREFIX": "{mv}:"},
            MVOTING_REDIS_CLUSTER="yes",
            MVOTING_SECRET="s",
        )
    with pytest.raises(SettingsError, match="1 or 0"):
        load_settings({"MVOTING_REDIS_CLUSTER": "maybe"}, MVOTING_SECRET="s")
    assert not load_settings({}, MVOTING_SECRET="s").redis_cluster


async def test_keys_of_a_question_share_a_slot_and_questions_spread_over_the_nodes(
    csvc: Services, cluster: EmbeddedCluster
) -> None:
    room = await spread_room(csvc, open_=True, at_least=6)
    r, k = csvc.redis, csvc.keys
    room_keys = [k.room(room.info.id), k.room_questions(room.info.id)]
    assert len({await r.cluster_keyslot(key) for key in room_keys}) == 1
    nodes_of_questions = set()
    for qid in room.questions:
        slots = {await r.cluster_keyslot(key) for key in question_keys(csvc, qid)}
        assert len(slots) == 1, qid
        (where,) = await holders(cluster, k.question(qid))  # on exactly one node
        nodes_of_questions.add(where)
    assert nodes_of_questions == set(cluster.ports)
    assert len(await holders(cluster, k.room(room.info.id))) == 1


async def _vote_all(
    voters: list[tuple[int, Client, int]], questions: list[str]
) -> list[tuple[int, str, int, dict[str, Any]]]:
    """Each (attendee, connection, offset) votes on every question, all at once.

    Returns (attendee, question, choice, ack) per ballot sent.
    """

    async def one(i: int, c: Client, choice: int, qid: str) -> tuple[int, str, int, dict[str, Any]]:
        return i, qid, choice, await c.vote(qid, [choice])

    return await asyncio.gather(
        *(
            one(i, c, (i + j + offset) % 3, qid)
            for i, c, offset in voters
            for j, qid in enumerate(questions)
        )
    )


async def test_a_burst_on_two_nodes_counts_every_ballot_once_and_the_archive_agrees(
    csvc: Services, cluster_settings: Settings, cluster: EmbeddedCluster
) -> None:
    room = await spread_room(csvc, open_=True)
    r, k = csvc.redis, csvc.keys
    async with (
        run_node(cluster_settings) as node_a,
        run_node(cluster_settings) as node_b,
        contextlib.AsyncExitStack() as stack,
    ):
        presenter = await stack.enter_async_context(connect(node_b.url))
        assert (await presenter.join(room.number, presenter=room.info.presenter))["ok"]
        attendees = [
            await stack.enter_async_context(connect((node_a, node_b)[i % 2].url))
            for i in range(ATTENDEES)
        ]
        acks = await asyncio.gather(*(a.join(room.number, password="pw") for a in attendees))
        assert all(ack["ok"] for ack in acks)
        twins = [
            await stack.enter_async_context(
                connect((node_b, node_a)[i % 2].url, device=attendees[i].device)
            )
            for i in range(TWINS)
        ]
        for i, t in enumerate(twins):  # the same attendee, on the other node
            assert (await t.join(room.number, password="pw"))["ok"]
            assert t.device == attendees[i].device
        # Every ballot at once; a twin's choice differs from its attendee's own.
        results = await _vote_all(
            [(i, a, 0) for i, a in enumerate(attendees)] + [(i, t, 1) for i, t in enumerate(twins)],
            room.questions,
        )

        accepted = [(i, qid, choice) for i, qid, choice, ack in results if ack["ok"]]
        refused = Counter(ack["error"]["code"] for *_, ack in results if not ack["ok"])
        assert refused == {"already_voted": TWINS * len(room.questions)}
        assert sorted((i, qid) for i, qid, _ in accepted) == sorted(
            (i, qid) for i in range(ATTENDEES) for qid in room.questions
        )
        expected = {
            qid: [sum(1 for _, q, c in accepted if q == qid and c == o) for o in range(3)]
            for qid in room.questions
        }
        where: dict[str, list[int]] = {}
        for qid in room.questions:
            state = await live_state(csvc, qid)
            assert state["tally"] == {
                "total": str(ATTENDEES),
                **{str(o): str(n) for o, n in enumerate(expected[qid]) if n},
            }
            assert len(state["voters"]) == ATTENDEES
            assert state["stream"] == ATTENDEES
            where[qid] = await holders(cluster, k.question(qid))
            for key in (k.voters(qid), k.tally(qid), k.stream(qid)):
                assert await holders(cluster, key) == where[qid]
            # The presenter, on the other node, sees every question's final count,
            # published by the snapshot script on whichever node holds the question.
            await presenter.wait_for(
                lambda qid=qid: (
                    presenter.tallies(qid)[-1:] != []
                    and presenter.tallies(qid)[-1]["total"] == ATTENDEES
                )
            )
            assert presenter.tallies(qid)[-1]["counts"] == expected[qid]
            versions = [t["version"] for t in presenter.tallies(qid)]
            assert versions == sorted(set(versions))

        assert {p for ports in where.values() for p in ports} == set(cluster.ports)

        async with running_worker(csvc):
            for qid in room.questions:
                await store.act(csvc, qid, Action.CLOSE)
            await _until_finalized(csvc, room.questions)

    async with csvc.engine.connect() as conn:
        for qid in room.questions:
            row = (
                await conn.execute(sa.select(db.questions).where(db.questions.c.id == qid))
            ).one()
            assert row.archived_count == row.tally_total == ATTENDEES
            ballots = (
                await conn.execute(sa.select(db.ballots).where(db.ballots.c.question_id == qid))
            ).all()
            archived = {b.ballot_id for b in ballots}
            assert len(archived) == ATTENDEES
            # What is archived is trimmed from the stream (``ArchiveWorker._trim``): at
            # most the last entry read is left.
            entries = await r.xrange(k.stream(qid))
            assert len(entries) <= 1
            assert {eid for eid, fields in entries if "k" not in fields} <= archived
            assert len({b.voter_ref for b in ballots}) == ATTENDEES
            assert Counter(b.choices[0] for b in ballots) == Counter(
                {o: n for o, n in enumerate(expected[qid]) if n}
            )
            pending = await r.xpending(k.stream(qid), "archive")
            assert pending["pending"] == 0
    assert not set(room.questions) & await r.smembers(k.archiving())


async def _until_finalized(svc: Services, ids: list[str], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    q = db.questions
    while True:
        async with svc.engine.connect() as conn:
            done = await conn.scalar(
                sa.select(sa.func.count()).where(q.c.id.in_(ids), q.c.finalized_ms.is_not(None))
            )
        # Finalized, then judged and no longer followed by the worker.
        following = await svc.redis.smembers(svc.keys.archiving())
        if done == len(ids) and not following & set(ids):
            return
        assert asyncio.get_running_loop().time() < deadline, "the worker did not finalize"
        await asyncio.sleep(0.05)


async def test_scripts_lost_by_every_node_are_loaded_again(
    csvc: Services, cluster_settings: Settings, cluster: EmbeddedCluster
) -> None:
    room = await spread_room(csvc, open_=True)
    async with run_node(cluster_settings) as node, connect(node.url) as voter:
        assert (await voter.join(room.number, password="pw"))["ok"]
        async with node_clients(cluster) as nodes:
            for n in nodes:
                await n.script_flush()
        acks = await asyncio.gather(*(voter.vote(qid, [1]) for qid in room.questions))
        assert all(ack["ok"] for ack in acks)
        for qid in room.questions:
            await voter.wait_for(
                lambda qid=qid: (
                    voter.tallies(qid)[-1:] != [] and voter.tallies(qid)[-1]["counts"] == [0, 1, 0]
                )
            )


async def test_scripts_lost_by_one_node_cost_no_other_ballot_its_ack(
    csvc: Services, cluster: EmbeddedCluster
) -> None:
    """A failed-over node has an empty script cache while the others keep theirs."""
    room = await spread_room(csvc, open_=True)
    lost = csvc.redis.get_node_from_key(csvc.keys.question(room.q)).port
    async with node_clients(cluster) as nodes:
        await nodes[cluster.ports.index(lost)].script_flush()
    batcher = CastBatcher(csvc)  # one batch: every call is queued before it is sent
    receipts = await asyncio.gather(
        *(do_cast(batcher, qid, "device-1", (0,), None) for qid in room.questions),
        return_exceptions=True,
    )
    assert [isinstance(r, str) for r in receipts] == [True] * len(room.questions), receipts
    for qid in room.questions:
        assert (await live_state(csvc, qid))["tally"] == {"0": "1", "total": "1"}


async def test_reorder_next_edit_delete_and_reset_on_the_cluster(
    csvc: Services, cluster_settings: Settings, cluster: EmbeddedCluster
) -> None:
    room = await spread_room(csvc, open_=False, at_least=4)
    rid, ids = room.info.id, room.questions
    r, k = csvc.redis, csvc.keys

    new_order = [*reversed(ids)]
    assert await agenda.reorder(csvc, rid, new_order) == new_order
    assert await store.question_ids(csvc, rid) == new_order

    await r.rpush(k.room_questions(rid), "stranger")  # the live list moved on meanwhile
    with pytest.raises(VotingError) as refused:
        await agenda.reorder(csvc, rid, ids)
    assert refused.value.code is ErrorCode.CONFLICT
    assert await store.question_ids(csvc, rid) == [*new_order, "stranger"]
    await r.lrem(k.room_questions(rid), 0, "stranger")

    first, second, *rest = new_order
    moved = await agenda.advance(csvc, rid)
    assert moved.closed is None and moved.opened is not None and moved.opened.id == first
    moved = await agenda.advance(csvc, rid)
    assert moved.closed is not None and moved.closed.id == first
    assert moved.opened is not None and moved.opened.id == second
    assert (await store.room_by_id(csvc, rid) or {})["current"] == second

    async with run_node(cluster_settings) as node, connect(node.url) as voter:
        assert (await voter.join(room.number, password="pw"))["ok"]
        assert (await voter.vote(second, [2]))["ok"]
        await store.act(csvc, second, Action.CLOSE)
        async with running_worker(csvc):
            await _until_finalized(csvc, [second])
        reset = await store.act(csvc, second, Action.RESET)
        assert reset.status is Status.DRAFT
        assert (await live_state(csvc, second))["tally"] == {}
        assert not await r.exists(k.voters(second), k.stream(second))
        await store.act(csvc, second, Action.OPEN)
        assert (await voter.vote(second, [0]))["ok"]

    edited = await drafts.edit(
        csvc, await drafts.draft(csvc, rest[0], "edit"), build_question("New", "yesno", "")
    )
    assert (await store.load_question(csvc, rest[0])) == edited

    doomed = rest[-1]
    where = await holders(cluster, k.question(doomed))
    assert len(where) == 1
    order = await drafts.delete(csvc, await drafts.draft(csvc, doomed, "delete"))
    assert order == [q for q in new_order if q != doomed]
    assert await store.question_ids(csvc, rid) == order
    for key in question_keys(csvc, doomed):
        assert await holders(cluster, key) == []
