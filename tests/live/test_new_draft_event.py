"""A question a host adds reaches every host's console at once (as a draft's event, which
only hosts receive), and no attendee."""

from __future__ import annotations

from live.services import Services
from tests.conftest import Node, connect
from tests.live.helpers import make_room
from tests.live.hosting import add_question, signed_in


async def test_a_new_question_reaches_the_other_hosts_and_no_attendee(
    node: Node, node_b: Node, svc: Services
) -> None:
    async with signed_in(node.url, "owner@example.org") as owner:
        r = await owner.http.post("/api/rooms", json={"title": "Board"})
        room = r.json()["room"]
        token = room["presenter_url"].split("token=", 1)[1]
        seed = await make_room(svc)  # a question open elsewhere, to prove attendees hear others
        assert seed.q
        async with (
            connect(node_b.url) as console,
            connect(node_b.url) as phone,
        ):
            ack = await console.call("join", {"room": room["number"], "presenter": token})
            assert ack["ok"] and ack["role"] == "host"
            ack = await phone.call("join", {"room": room["number"], "password": room["password"]})
            assert ack["ok"] and ack["role"] == "attendee"
            q = await add_question(owner.http, room["id"], title="Budget line 4")

            def heard() -> list[dict[str, object]]:
                return [d for e, d in console.events if e == "question" and d["id"] == q["id"]]

            await console.wait_for(lambda: bool(heard()))
            assert heard()[-1]["status"] == "draft" and heard()[-1]["title"] == "Budget line 4"
            await console.call("join", {"room": room["number"], "presenter": token})
            assert not [d for e, d in phone.events if e == "question"]
