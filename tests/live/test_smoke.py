from __future__ import annotations

from live import store
from live.services import Services
from rooms.questions import Action, build_question
from tests.conftest import Node, connect


async def test_attendee_votes_and_presenter_sees_the_tally(node: Node, svc: Services) -> None:
    room = await store.create_room(svc, title="Lecture", password="pw")
    q = await store.add_question(svc, room.id, build_question("Lunch?", "single", "A,B,C"))
    await store.act(svc, q.id, Action.OPEN)
    async with connect(node.url) as presenter, connect(node.url) as attendee:
        assert (await presenter.join(room.number, presenter=room.presenter))["ok"]
        joined = await attendee.join(room.number, password="pw")
        assert joined["ok"] and joined["questions"][0]["tally"]["total"] == 0
        ack = await attendee.vote(q.id, [1])
        assert ack["ok"] and len(ack["receipt"]) == 64
        await presenter.wait_for(lambda: any(t["total"] == 1 for t in presenter.tallies(q.id)))
        assert presenter.tallies(q.id)[-1]["counts"] == [0, 1, 0]
