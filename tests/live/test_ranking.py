"""Ranking questions: every option put in order, counted by Borda count in the cast
script, and recounted the same way from the poll's log."""

from __future__ import annotations

import httpx

from live import store
from live.services import open_services
from live.settings import Settings
from rooms.log_export import LogExport, recount_export
from rooms.questions import Action
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import live_state, make_room
from tests.live.test_ledger import verification

RANKED = {"title": "Which first?", "kind": "ranking", "options": "Parks,Buses,Libraries"}


async def test_ranking_ballots_are_counted_by_borda_and_the_log_recounts_them(
    witnessed: Settings, witnessed_node: Node
) -> None:
    node = witnessed_node
    orders = [[0, 1, 2], [1, 0, 2], [1, 2, 0], [2, 1, 0]]
    async with open_services(witnessed) as svc, httpx.AsyncClient(base_url=node.url) as http:
        room = await make_room(svc, RANKED)
        async with running_worker(svc):
            for order in orders:
                async with connect(node.url) as c:
                    joined = await c.join(room.number, password="pw")
                    assert joined["questions"][0]["kind"] == "ranking"
                    assert (await c.vote(room.q, order))["ok"]
            await store.act(svc, room.q, Action.CLOSE)
            assert (await verification(svc, room.q))["status"] == "completed"
        # First place is worth 2 points, second 1, last none.
        points = [2 + 1 + 0 + 0, 1 + 2 + 2 + 1, 0 + 0 + 1 + 2]
        state = await live_state(svc, room.q)
        assert state["tally"] == {"0": "3", "1": "6", "2": "3", "total": "4"}
        assert [int(state["tally"][str(i)]) for i in range(3)] == points
        q = await store.load_question(svc, room.q)
        assert q is not None and q.log_id is not None
        export = LogExport.parse((await http.get(f"/ledger/{q.log_id}/export")).content)
        assert recount_export(export) == {
            "counts": points,
            "total": 4,
            "verified": True,
            "reason": None,
        }


async def test_a_ranking_ballot_must_order_every_option_once(
    witnessed: Settings, node: Node
) -> None:
    async with open_services(witnessed) as svc:
        room = await make_room(svc, RANKED)
        async with connect(node.url) as c:
            assert (await c.join(room.number, password="pw"))["ok"]
            for bad in ([0, 1], [0], [0, 1, 1], [0, 1, 3]):
                refused = await c.vote(room.q, bad)
                assert refused["ok"] is False, bad
                assert refused["error"]["code"] == "invalid_choice" and refused["error"]["message"]
            before = await live_state(svc, room.q)
            assert before["tally"] == {} and before["voters"] == [] and before["stream"] == 0
            assert (await c.vote(room.q, [2, 0, 1]))["ok"]
        # The last place is worth no point: its option gets no count at all.
        assert (await live_state(svc, room.q))["tally"] == {"2": "2", "0": "1", "total": "1"}


async def test_the_cast_script_itself_refuses_a_partial_ranking(
    witnessed: Settings, node: Node
) -> None:
    """A node whose cached definition is stale still cannot count a partial ranking."""
    async with open_services(witnessed) as svc:
        room = await make_room(svc, RANKED)
        keys = svc.keys.cast(room.q)
        args = ["voter", "0,1", 1, "0" * 32, "00", "", 0]
        assert await svc.scripts.cast(keys=keys, args=args) == [0, "invalid_choice"]
        assert (await live_state(svc, room.q))["voters"] == []
