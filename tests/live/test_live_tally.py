"""Tallies on the wire: who receives them, from which node, how often, in what order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from live import store
from live.services import Services
from rooms.errors import ErrorCode, VotingError
from rooms.questions import Action
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import archived, live_state, make_room, stream_ballots

SETTLE = 0.35  # a few broadcast intervals: long enough for a tally that would be sent


async def test_live_results_reach_every_attendee(node: Node, svc: Services) -> None:
    room = await make_room(svc, {"visibility": "live"})
    async with connect(node.url) as a, connect(node.url) as b:
        assert (await a.join(room.number, password="pw"))["ok"]
        assert (await b.join(room.number, password="pw"))["ok"]
        assert (await b.vote(room.q, [2]))["ok"]
        await a.wait_for(lambda: [t["total"] for t in a.tallies(room.q)][-1:] == [1])
        assert a.tallies(room.q)[-1]["counts"] == [0, 0, 1]


async def test_after_vote_hides_results_until_this_attendee_votes(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"visibility": "after_vote"})
    async with (
        connect(node.url) as presenter,
        connect(node.url) as waiting,
        connect(node.url) as other,
    ):
        assert (await presenter.join(room.number, presenter=room.info.presenter))["ok"]
        joined = await waiting.join(room.number, password="pw")
        assert "tally" not in joined["questions"][0]
        assert (await other.join(room.number, password="pw"))["ok"]
        assert (await other.vote(room.q, [0]))["ok"]
        await presenter.wait_for(lambda: any(t["total"] == 1 for t in presenter.tallies(room.q)))
        await asyncio.sleep(SETTLE)
        assert waiting.tallies(room.q) == []  # nothing on the wire before voting
        assert other.tallies(room.q)[-1]["total"] == 1  # the voter sees results
        assert (await waiting.vote(room.q, [1]))["ok"]
        await waiting.wait_for(lambda: [t["total"] for t in waiting.tallies(room.q)][-1:] == [2])
        assert waiting.tallies(room.q)[-1]["counts"] == [1, 1, 0]
        rejoined = await waiting.join(room.number, password="pw")
        assert rejoined["questions"][0]["tally"]["total"] == 2


async def test_after_close_hides_results_from_voters_until_the_question_closes(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"visibility": "after_close"})
    async with connect(node.url) as presenter, connect(node.url) as voter:
        assert (await presenter.join(room.number, presenter=room.info.presenter))["ok"]
        joined = await voter.join(room.number, password="pw")
        assert "tally" not in joined["questions"][0]
        assert (await voter.vote(room.q, [1]))["ok"]
        await presenter.wait_for(lambda: any(t["total"] == 1 for t in presenter.tallies(room.q)))
        await asyncio.sleep(SETTLE)
        assert voter.tallies(room.q) == []
        assert "tally" not in (await voter.join(room.number, password="pw"))["questions"][0]
        await store.act(svc, room.q, Action.CLOSE)
        await voter.wait_for(lambda: voter.tallies(room.q)[-1:] != [])
        assert voter.tallies(room.q)[-1]["counts"] == [0, 1, 0]
        states = [d["status"] for e, d in voter.events if e == "question"]
        assert states == ["closed"]


async def test_reveal_opens_hidden_results_while_voting_runs(node: Node, svc: Services) -> None:
    room = await make_room(svc, {"visibility": "after_close"})
    async with connect(node.url) as voter, connect(node.url) as idle:
        assert (await voter.join(room.number, password="pw"))["ok"]
        assert (await idle.join(room.number, password="pw"))["ok"]
        assert (await voter.vote(room.q, [0]))["ok"]
        await asyncio.sleep(SETTLE)
        assert voter.tallies(room.q) == [] and idle.tallies(room.q) == []
        await store.act(svc, room.q, Action.REVEAL)
        for c in (voter, idle):
            await c.wait_for(lambda c=c: c.tallies(room.q)[-1:] != [])
            assert c.tallies(room.q)[-1]["total"] == 1
        assert (await idle.vote(room.q, [2]))["ok"]  # still open


async def test_reset_clears_ballots_and_lets_everyone_vote_again(node: Node, svc: Services) -> None:
    room = await make_room(svc)
    async with connect(node.url) as voter:
        assert (await voter.join(room.number, password="pw"))["ok"]
        assert (await voter.vote(room.q, [0]))["ok"]
        await store.act(svc, room.q, Action.CLOSE)
        before = await live_state(svc, room.q)
        with pytest.raises(VotingError) as refused:  # the archive has not caught up yet
            await store.act(svc, room.q, Action.RESET)
        assert refused.value.code is ErrorCode.NOT_DRAINED
        assert await live_state(svc, room.q) == before
        async with running_worker(svc):
            await _until(lambda: archived(svc, room.q), 1)
        await store.act(svc, room.q, Action.RESET)
        assert await archived(svc, room.q) == 0
        # Back in preparation, a draft: the attendee hears only that, not its zeros.
        await voter.wait_for(
            lambda: ("question", {"id": room.q, "status": "draft"}) in voter.events
        )
        await store.act(svc, room.q, Action.OPEN)
        await voter.wait_for(lambda: voter.tallies(room.q)[-1]["total"] == 0)
        assert (await voter.join(room.number, password="pw"))["voted"] == []
        assert (await voter.vote(room.q, [1]))["ok"]
        await voter.wait_for(lambda: voter.tallies(room.q)[-1]["counts"] == [0, 1, 0])
        versions = [t["version"] for t in voter.tallies(room.q)]
        assert versions == sorted(set(versions))


async def test_attendee_on_one_node_presenter_on_another(
    node: Node, node_b: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with connect(node_b.url) as presenter, connect(node.url) as attendee:
        assert (await presenter.join(room.number, presenter=room.info.presenter))["ok"]
        assert (await attendee.join(room.number, password="pw"))["ok"]
        assert (await attendee.vote(room.q, [1]))["ok"]
        await presenter.wait_for(lambda: presenter.tallies(room.q)[-1:] != [])
        assert presenter.tallies(room.q)[-1] == {
            "question": room.q,
            "version": presenter.tallies(room.q)[-1]["version"],
            "total": 1,
            "counts": [0, 1, 0],
        }
        await store.act(svc, room.q, Action.CLOSE)
        await presenter.wait_for(lambda: any(e == "question" for e, _ in presenter.events))


@pytest.mark.parametrize("sockets_per_node", [1, 5])
async def test_one_ballot_per_voter_when_the_same_voter_sends_on_two_nodes_at_once(
    node: Node, node_b: Node, svc: Services, sockets_per_node: int
) -> None:
    room = await make_room(svc)
    async with connect(node.url) as first:
        assert (await first.join(room.number, password="pw"))["ok"]
        token = first.device
    async with connect(node.url, device=token) as a0:
        others = []
        try:
            conns = [a0]
            for url in [node.url] * (sockets_per_node - 1) + [node_b.url] * sockets_per_node:
                c = connect(url, device=token)
                others.append(c)
                conns.append(await c.__aenter__())
            for c in conns:
                assert (await c.join(room.number, password="pw"))["ok"]
            acks = await asyncio.gather(*(c.vote(room.q, [i % 3]) for i, c in enumerate(conns)))
        finally:
            for c in others:
                await c.__aexit__(None, None, None)
    assert sorted(a["ok"] for a in acks) == [False] * (len(acks) - 1) + [True]
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"already_voted"}
    assert await svc.redis.hget(svc.keys.tally(room.q), "total") == "1"
    assert await stream_ballots(svc, room.q) == 1


@pytest.mark.parametrize("via", ["auth", "cookie"])
async def test_a_returning_device_is_the_same_attendee(node: Node, svc: Services, via: str) -> None:
    room = await make_room(svc, {}, {"options": "X,Y"})
    async with connect(node.url) as c:
        assert (await c.join(room.number, password="pw"))["ok"]
        assert (await c.vote(room.q, [0]))["ok"]
        token = c.device
    assert token is not None
    kwargs = {"device": token} if via == "auth" else {"headers": {"Cookie": f"mv_device={token}"}}
    async with connect(node.url, **kwargs) as again:  # type: ignore[arg-type]
        joined = await again.join(room.number, password="pw")
        assert joined["voted"] == [room.q]
        assert joined["device"] == token
        assert (await again.vote(room.q, [1]))["error"]["code"] == "already_voted"
        assert (await again.vote(room.questions[1], [1]))["ok"]
    async with connect(node.url, device=token + "x") as forged:
        joined = await forged.join(room.number, password="pw")
        assert joined["voted"] == [] and joined["device"] != token


async def test_tallies_are_spaced_by_the_interval_and_never_go_back(
    node: Node, node_b: Node, svc: Services
) -> None:
    """Ballots from both nodes for a second: at most ~10 snapshots, versions only grow."""
    room = await make_room(svc)
    voters = 40
    async with connect(node.url) as watch_a, connect(node_b.url) as watch_b:
        for w in (watch_a, watch_b):
            assert (await w.join(room.number, presenter=room.info.presenter))["ok"]
        start_version = int(await svc.redis.hget(svc.keys.question(room.q), "version"))
        conns = []
        try:
            for i in range(voters):
                c = connect((node, node_b)[i % 2].url)
                conns.append((c, await c.__aenter__()))
            for _, v in conns:
                assert (await v.join(room.number, password="pw"))["ok"]
            t0 = time.monotonic()
            for i, (_, v) in enumerate(conns):
                assert (await v.vote(room.q, [i % 3]))["ok"]
                await asyncio.sleep(1.0 / voters)
            elapsed = time.monotonic() - t0
        finally:
            for c, _ in conns:
                await c.__aexit__(None, None, None)
        for w in (watch_a, watch_b):
            await w.wait_for(lambda w=w: w.tallies(room.q)[-1]["total"] == voters)
            versions = [t["version"] for t in w.tallies(room.q)]
            assert versions == sorted(set(versions)), versions
    published = int(await svc.redis.hget(svc.keys.question(room.q), "version")) - start_version
    allowed = elapsed / svc.settings.tally_interval + 2
    assert 3 <= published <= allowed, (published, elapsed)
    assert watch_a.tallies(room.q)[-1]["counts"] == [14, 13, 13]


async def _until(probe: Any, expected: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := await probe()) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, expected {expected!r}"
        await asyncio.sleep(0.02)
