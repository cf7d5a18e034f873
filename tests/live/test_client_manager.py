"""``LiveManager`` keeps the same rooms as python-socketio's own manager, indexed per client.

Model test: random sequences of connects, joins, leaves, room closes and disconnects,
applied to both managers, leave the same room table, the same rooms per client and the
same participants. Then the protocol: attendees who leave are no longer sent room events,
those who stay still are.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from hypothesis import given, settings
from hypothesis import strategies as st

from live import store
from live.services import Services
from live.wire.client_manager import LiveManager
from rooms.questions import Action
from tests.conftest import Node, connect
from tests.live.helpers import make_room

NS = "/"
SIDS = [f"s{i}" for i in range(6)]
ROOMS = ["r:a", "r:b", "r:c"]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("connect"), st.sampled_from(SIDS)),
        st.tuples(st.just("enter"), st.sampled_from(SIDS), st.sampled_from(ROOMS)),
        st.tuples(st.just("leave"), st.sampled_from(SIDS), st.sampled_from(ROOMS)),
        st.tuples(st.just("close"), st.sampled_from(ROOMS)),
        st.tuples(st.just("disconnect"), st.sampled_from(SIDS)),
    ),
    max_size=60,
)


def _apply(manager: Any, op: tuple[Any, ...], connected: set[str]) -> None:
    kind = op[0]
    if kind == "connect" and op[1] not in connected:
        sid = op[1]
        manager.basic_enter_room(sid, NS, None, eio_sid="e" + sid)
        manager.basic_enter_room(sid, NS, sid, eio_sid="e" + sid)
        connected.add(sid)
    elif kind == "enter" and op[1] in connected:
        manager.basic_enter_room(op[1], NS, op[2])
    elif kind == "leave":
        manager.basic_leave_room(op[1], NS, op[2])
    elif kind == "close":
        manager.basic_close_room(op[1], NS)
    elif kind == "disconnect":
        manager.basic_disconnect(op[1], NS)
        connected.discard(op[1])


def _table(manager: Any) -> dict[Any, dict[str, str]]:
    return {room: dict(members) for room, members in manager.rooms.get(NS, {}).items()}


@settings(max_examples=300, deadline=None)
@given(ops)
def test_rooms_match_python_socketios_own_manager(sequence: list[tuple[Any, ...]]) -> None:
    ours, theirs = LiveManager(), socketio.AsyncManager()
    ours_on, theirs_on = set(), set()
    for op in sequence:
        _apply(ours, op, ours_on)
        _apply(theirs, op, theirs_on)
        assert _table(ours) == _table(theirs), op
    for sid in SIDS:
        assert sorted(ours.get_rooms(sid, NS)) == sorted(theirs.get_rooms(sid, NS))
    for room in [None, *ROOMS, *SIDS]:
        assert sorted(ours.get_participants(NS, room)) == sorted(theirs.get_participants(NS, room))
    # Nothing is left indexed for a client that has gone.
    assert {sid for _, sid in ours._rooms_of} <= ours_on


def test_a_disconnected_client_leaves_every_room_and_its_callbacks() -> None:
    manager = LiveManager()
    for sid in ("a", "b"):
        manager.basic_enter_room(sid, NS, None, eio_sid="e" + sid)
        manager.basic_enter_room(sid, NS, sid, eio_sid="e" + sid)
        manager.basic_enter_room(sid, NS, "r:x")
    manager.callbacks["a"] = {1: print}
    manager.basic_disconnect("a", NS)
    assert _table(manager) == {None: {"b": "eb"}, "b": {"b": "eb"}, "r:x": {"b": "eb"}}
    assert manager.get_rooms("a", NS) == []
    assert "a" not in manager.callbacks
    manager.basic_disconnect("b", NS)
    assert manager.rooms == {}
    manager.basic_disconnect("b", NS)  # a second disconnect is a no-op
    assert manager.rooms == {}


async def test_attendees_who_left_get_no_room_events_and_the_others_do(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with connect(node.url) as stays, connect(node.url) as also_stays:
        leaving = [connect(node.url) for _ in range(3)]
        gone = [await c.__aenter__() for c in leaving]
        for client in (stays, also_stays, *gone):
            assert (await client.join(room.number, password="pw"))["ok"]
        for cm in leaving:
            await cm.__aexit__(None, None, None)
        manager = node.live.sio.manager
        for _ in range(100):
            if len(list(manager.get_participants(NS, f"r:{room.info.id}"))) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(list(manager.get_participants(NS, f"r:{room.info.id}"))) == 2

        await store.act(svc, room.q, Action.CLOSE)
        for client in (stays, also_stays):
            await client.wait_for(lambda c=client: any(e == "question" for e, _ in c.events))
            assert [d["status"] for e, d in client.events if e == "question"] == ["closed"]
        for client in gone:
            assert [e for e, _ in client.events if e == "question"] == []
