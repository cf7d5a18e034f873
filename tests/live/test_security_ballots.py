"""Anonymous ballot stuffing is bounded: one client address casts at most
MVOTING_BALLOTS_PER_ADDRESS ballots per question, however many device tokens it holds,
on any node; and the host's room page says what anonymous voting is worth."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from live import store
from live.engines import db
from live.services import Services
from live.settings import Settings
from rooms.questions import Action
from tests.conftest import Node, connect, run_node, running_worker
from tests.live.helpers import live_state, make_room
from tests.live.hosting import create_room, signed_in

TOO_MANY = {
    "ok": False,
    "error": {
        "code": "too_many_devices",
        "message": "Too many devices from this network have voted on this question.",
    },
}


async def vote_as_new_device(
    url: str, number: str, key: str, qid: str, choice: int
) -> dict[str, Any]:
    """What a script does: a connection without a device token, a join, a ballot."""
    async with connect(url) as c:
        assert (await c.join(number, key=key))["ok"] is True
        return await c.vote(qid, [choice])


async def test_one_address_casts_at_most_its_share_per_question_on_any_node(
    settings: Settings, svc: Services
) -> None:
    few = settings.with_(ballots_per_address=3)
    room = await make_room(svc, {}, {})
    first, second = room.questions
    async with run_node(few) as a, run_node(few) as b:
        urls = [a.url, b.url, a.url, b.url, a.url]
        acks = [
            await vote_as_new_device(url, room.number, room.info.key, first, i % 3)
            for i, url in enumerate(urls)
        ]
        assert [ack["ok"] for ack in acks[:3]] == [True] * 3
        assert acks[3:] == [TOO_MANY, TOO_MANY]
        state = await live_state(svc, first)
        assert (state["tally"], len(state["voters"]), state["stream"]) == (
            {"0": "1", "1": "1", "2": "1", "total": "3"},
            3,
            3,
        )
        # The share is per question: the next question takes three more.
        acks = [
            await vote_as_new_device(url, room.number, room.info.key, second, 0) for url in urls
        ]
        assert [ack["ok"] for ack in acks[:3]] == [True] * 3
        assert acks[3:] == [TOO_MANY, TOO_MANY]


async def test_device_tokens_collected_beforehand_count_as_well(
    settings: Settings, svc: Services
) -> None:
    few = settings.with_(ballots_per_address=2)
    room = await make_room(svc)
    async with run_node(few) as node:
        tokens = []
        for _ in range(4):  # joins hand out tokens freely: nothing stops collecting them
            async with connect(node.url) as c:
                assert (await c.join(room.number, key=room.info.key))["ok"] is True
                tokens.append(c.device)
        acks = []
        for token in tokens:
            async with connect(node.url, device=token) as c:
                assert (await c.join(room.number, key=room.info.key))["ok"] is True
                acks.append(await c.vote(room.q, [1]))
    assert [ack["ok"] for ack in acks] == [True, True, False, False]
    assert acks[2:] == [TOO_MANY, TOO_MANY]
    assert (await live_state(svc, room.q))["tally"] == {"1": "2", "total": "2"}


async def test_a_refused_ballot_changes_nothing_and_the_voter_stays_free_to_vote(
    settings: Settings, svc: Services
) -> None:
    few = settings.with_(ballots_per_address=1)
    room = await make_room(svc)
    async with run_node(few) as node:
        first = await vote_as_new_device(node.url, room.number, room.info.key, room.q, 0)
        assert first["ok"] is True
        before = await live_state(svc, room.q)
        async with connect(node.url) as c:
            assert (await c.join(room.number, key=room.info.key))["ok"] is True
            assert await c.vote(room.q, [2]) == TOO_MANY
            assert await live_state(svc, room.q) == before
            # Not marked as having voted: asked again, the same refusal, not "already voted".
            assert await c.vote(room.q, [2]) == TOO_MANY


async def test_a_reset_starts_the_count_again(settings: Settings, svc: Services) -> None:
    few = settings.with_(ballots_per_address=2)
    room = await make_room(svc)
    async with run_node(few) as node:
        for expected in (True, True, False):
            ack = await vote_as_new_device(node.url, room.number, room.info.key, room.q, 0)
            assert ack["ok"] is expected
        await store.act(svc, room.q, Action.CLOSE)
        async with running_worker(svc):
            await _until_archived(svc, room.q, 2)
        await store.act(svc, room.q, Action.RESET)
        await store.act(svc, room.q, Action.OPEN)
        for expected in (True, True, False):
            ack = await vote_as_new_device(node.url, room.number, room.info.key, room.q, 1)
            assert ack["ok"] is expected
    assert (await live_state(svc, room.q))["tally"] == {"1": "2", "total": "2"}


async def test_the_host_room_page_states_the_anonymous_ballot_trade_off(node: Node) -> None:
    async with signed_in(node.url, "host@example.org") as host:
        room = await create_room(host.http)
        page = await host.http.get(f"/host/rooms/{room['id']}", headers={"accept-language": "en"})
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert (
        "Anonymous voting: anyone with the join link or the password can vote, once per "
        "device. A device is not a person: a script can pose as any number of devices."
    ) in text
    assert (
        "Each question takes at most 5000 ballots from one network address (a hall behind "
        "one Wi-Fi counts as one address)."
    ) in text
    assert (
        "For a citywide vote with one ballot per person, open a poll: its voters sign in."
    ) in text
    assert "It does not stop someone in the hall reading the current code" in text


async def _until_archived(svc: Services, qid: str, n: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with svc.engine.connect() as conn:
            got = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(db.ballots)
                .where(db.ballots.c.question_id == qid)
            )
        if got == n:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{got} archived, not {n}"
        await asyncio.sleep(0.02)
