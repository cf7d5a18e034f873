"""Every refusal of the live protocol: a short code, a human sentence, and nothing changed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from live import store
from live.services import Services
from rooms.questions import Action
from tests.conftest import Node, connect
from tests.live.helpers import live_state, make_room


def _refused(ack: dict[str, Any], code: str) -> None:
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert isinstance(ack["error"]["message"], str) and ack["error"]["message"].endswith(".")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        pytest.param({"password": "wrong"}, "bad_credentials", id="wrong-password"),
        pytest.param({"key": "wrong-key"}, "bad_credentials", id="wrong-join-key"),
        pytest.param({"presenter": "wrong"}, "bad_credentials", id="wrong-presenter-token"),
        # No room holds the number: the same answer as a wrong password, so that room
        # numbers cannot be found by trying them (tests/live/test_security_joins.py).
        pytest.param({"room": "000001", "password": "pw"}, "bad_credentials", id="unknown-room"),
        pytest.param({"room": "12345", "password": "pw"}, "bad_request", id="short-room-number"),
        pytest.param({"password": "pw", "key": "k"}, "bad_request", id="two-credentials"),
        pytest.param({}, "bad_request", id="no-credential"),
        pytest.param({"password": 1234}, "bad_request", id="password-not-text"),
        pytest.param("482913", "bad_request", id="payload-not-an-object"),
        pytest.param(None, "bad_request", id="no-payload"),
    ],
)
async def test_join_refusals(node: Node, svc: Services, payload: Any, code: str) -> None:
    room = await make_room(svc)
    async with connect(node.url) as c:
        data = {"room": room.number, **payload} if isinstance(payload, dict) else payload
        _refused(await c.call("join", data), code)
        # Still not in the room: a vote is refused as not joined, and no event arrives.
        _refused(await c.vote(room.q, [0]), "not_joined")
        assert c.events == []


@pytest.mark.parametrize(
    ("setup", "payload", "code"),
    [
        pytest.param("closed", {"choices": [0]}, "closed", id="closed-question"),
        pytest.param("draft", {"choices": [0]}, "closed", id="question-not-yet-open"),
        pytest.param("voted", {"choices": [1]}, "already_voted", id="second-ballot"),
        pytest.param(None, {"choices": [0, 1, 2]}, "too_many_choices", id="too-many-choices"),
        pytest.param(None, {"choices": [3]}, "invalid_choice", id="choice-out-of-range"),
        pytest.param(None, {"choices": [-1]}, "invalid_choice", id="negative-choice"),
        pytest.param(None, {"choices": [1, 1]}, "invalid_choice", id="duplicate-choice"),
        pytest.param(None, {"choices": []}, "bad_request", id="no-choice"),
        pytest.param(None, {"choices": ["0"]}, "bad_request", id="choice-not-an-int"),
        pytest.param(None, {"choices": [True]}, "bad_request", id="choice-a-boolean"),
        pytest.param(None, {"choices": 0}, "bad_request", id="choices-not-a-list"),
        pytest.param(
            None,
            {"question": "no such/id", "choices": [0]},
            "bad_request",
            id="malformed-question-id",
        ),
        pytest.param(
            None,
            {"question": "nosuchquestion", "choices": [0]},
            "unknown_question",
            id="unknown-question",
        ),
        pytest.param(
            "other-room", {"choices": [0]}, "unknown_question", id="question-of-another-room"
        ),
        pytest.param(None, {"choices": [0], "nonce": "XYZ"}, "bad_request", id="bad-nonce"),
        pytest.param(None, "not an object", "bad_request", id="payload-not-an-object"),
    ],
)
async def test_vote_refusals_change_nothing(
    node: Node, svc: Services, setup: str | None, payload: Any, code: str
) -> None:
    room = await make_room(
        svc, {"kind": "multiple", "options": "A,B,C", "max_choices": 2}, open_=setup != "draft"
    )
    target = room.q
    if setup == "other-room":
        target = (await make_room(svc)).q
    async with connect(node.url) as voter, connect(node.url) as watcher:
        assert (await voter.join(room.number, password="pw"))["ok"]
        assert (await watcher.join(room.number, password="pw"))["ok"]
        if setup == "voted":
            assert (await voter.vote(room.q, [0]))["ok"]
            await watcher.wait_for(lambda: watcher.tallies(room.q)[-1:] != [])
        if setup == "closed":
            await store.act(svc, room.q, Action.CLOSE)
        before = await live_state(svc, room.q)
        other = await live_state(svc, target)
        seen = len(watcher.tallies(room.q))
        data = {"question": target, **payload} if isinstance(payload, dict) else payload
        _refused(await voter.call("vote", data), code)
        assert await live_state(svc, room.q) == before
        assert await live_state(svc, target) == other
        # The tally on the wire did not move either: absence can only be waited out,
        # over a few broadcast intervals.
        await asyncio.sleep(3 * svc.settings.tally_interval)
        assert len(watcher.tallies(room.q)) == seen


async def test_presenter_cannot_vote(node: Node, svc: Services) -> None:
    room = await make_room(svc)
    async with connect(node.url) as presenter:
        assert (await presenter.join(room.number, presenter=room.info.presenter))["ok"]
        before = await live_state(svc, room.q)
        _refused(await presenter.vote(room.q, [0]), "not_eligible")
        assert await live_state(svc, room.q) == before


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param('2["vote",{"question":', id="truncated-json"),
        pytest.param("2[]", id="event-without-name"),
    ],
)
async def test_a_malformed_packet_closes_the_connection(
    node: Node, svc: Services, packet: str
) -> None:
    """A packet that does not parse closes the connection, as the Socket.IO protocol
    has it; the attendee's next connection votes."""
    room = await make_room(svc)
    async with connect(node.url) as c:
        joined = await c.join(room.number, password="pw")
        assert joined["ok"]
        await c.sio.eio.send(packet)
        await c.wait_for(lambda: not c.sio.connected)
    async with connect(node.url, device=joined["device"]) as again:
        assert (await again.join(room.number, password="pw"))["ok"]
        ack = await again.vote(room.q, [2])
        assert ack["ok"], ack
    state = await live_state(svc, room.q)
    assert state["tally"] == {"2": "1", "total": "1"} and state["stream"] == 1


async def test_every_refusal_has_one_shape(node: Node, svc: Services) -> None:
    """Acks and JSON bodies share ``{"ok": false, "error": {"code", "message"}}``."""
    room = await make_room(svc)
    async with connect(node.url) as c:
        ack = await c.call("join", {"room": room.number, "password": "nope"})
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/rooms", json={"title": "x"})
    assert r.status_code == 401
    body = r.json()
    assert set(ack) == set(body) == {"ok", "error"}
    assert set(ack["error"]) == set(body["error"]) == {"code", "message"}
    assert (ack["error"]["code"], body["error"]["code"]) == ("bad_credentials", "unauthorized")
