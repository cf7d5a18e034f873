"""First come, first served: a question that takes only its first N ballots, decided in
the cast script, so that N + 50 voters at once on two nodes leave exactly N counted."""

from __future__ import annotations

import asyncio

import httpx

from live.services import Services
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import archived, live_state, make_room
from tests.live.hosting import add_question, create_room, signed_in

CAP = 10


async def test_n_plus_fifty_voters_at_once_leave_exactly_n_ballots(
    node: Node, node_b: Node, svc: Services
) -> None:
    room = await make_room(svc, {"max_ballots": CAP})
    voters = [connect(n.url) for n in (node, node_b) for _ in range((CAP + 50) // 2)]
    clients = [await v.__aenter__() for v in voters]
    try:
        for c in clients:
            assert (await c.join(room.number, password="pw"))["ok"]
        acks = await asyncio.gather(*(c.vote(room.q, [i % 3]) for i, c in enumerate(clients)))
        accepted = [a for a in acks if a["ok"]]
        refused = [a["error"] for a in acks if not a["ok"]]
        assert len(accepted) == CAP
        assert {e["code"] for e in refused} == {"full"} and len(refused) == 50
        assert "full" in refused[0]["message"]
        state = await live_state(svc, room.q)
        assert int(state["tally"]["total"]) == CAP
        assert len(state["voters"]) == CAP  # a refused voter is not left recorded
        # A voter who got in hears already_voted, not full.
        first = clients[[a["ok"] for a in acks].index(True)]
        assert (await first.vote(room.q, [0]))["error"]["code"] == "already_voted"
    finally:
        for v in voters:
            await v.__aexit__(None, None, None)
    # The archive holds the ten ballots and none of the fifty refused (the stream is
    # trimmed as the worker archives it, so it is the archive that is counted).
    async with running_worker(svc):
        for _ in range(200):
            if await archived(svc, room.q) >= CAP:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # room for a ballot too many, were there one
    assert await archived(svc, room.q) == CAP


async def test_a_host_sets_the_cap_and_a_bad_one_is_refused(node: Node) -> None:
    async with signed_in(node.url, "cap@example.org") as host:
        room = await create_room(host.http)
        q = await add_question(host.http, room["id"], max_ballots=3)
        assert q["max_ballots"] == 3
        r = await host.http.patch(f"/api/questions/{q['id']}", json={"max_ballots": 5})
        assert r.json()["question"]["max_ballots"] == 5
        r = await host.http.post(
            f"/api/rooms/{room['id']}/questions",
            json={"title": "Q", "options": "A,B", "max_ballots": -2},
        )
        assert r.status_code == 400 and "max_ballots" in r.json()["error"]["message"]
        assert isinstance(host.http, httpx.AsyncClient)
