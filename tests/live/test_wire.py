"""Socket.IO packets on a raw websocket: the ones the server reads itself and the rest.

Events of the default namespace (``2<id>[...]``) are read and acked by mvoting's own
path; everything else (long ack ids, other namespaces, malformed packets, unknown events)
takes python-socketio's. Either way the answers are the protocol's, and a bad packet
leaves the connection and the state as they were.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
import pytest
import websockets

from live.services import Services
from tests.conftest import Node
from tests.live.helpers import live_state, make_room


async def _connected(node: Node) -> websockets.ClientConnection:
    url = node.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await websockets.connect(url, ping_interval=None)
    assert str(await ws.recv()).startswith("0{")
    await ws.send("40")
    assert str(await ws.recv()).startswith("40{")
    return ws


async def _next(ws: websockets.ClientConnection, prefix: str, timeout: float = 5) -> str:
    """The next text message that starts with ``prefix`` (tallies and events skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            msg = str(await ws.recv())
            if msg.startswith(prefix):
                return msg


async def _silent(ws: websockets.ClientConnection, prefix: str, wait: float = 0.3) -> bool:
    try:
        await _next(ws, prefix, timeout=wait)
    except TimeoutError:
        return True
    return False


def _ack(msg: str, prefix: str) -> Any:
    return orjson.loads(msg[len(prefix) :])


async def test_acks_carry_the_id_they_were_asked_with(node: Node, svc: Services) -> None:
    room = await make_room(svc)
    ws = await _connected(node)
    join = json.dumps(["join", {"room": room.number, "password": "pw"}])
    await ws.send("427" + join)
    [joined] = _ack(await _next(ws, "437["), "437")
    assert joined["ok"] is True and joined["room"]["number"] == room.number
    # An id longer than the server reads itself still gets its ack (python-socketio's path).
    await ws.send("42123456789012345" + join)
    [again] = _ack(await _next(ws, "43123456789012345["), "43123456789012345")
    assert again["ok"] is True
    await ws.send("429" + json.dumps(["vote", {"question": room.q, "choices": [1]}]))
    [voted] = _ack(await _next(ws, "439["), "439")
    assert voted["ok"] is True and len(voted["receipt"]) == 64
    await ws.send("4210" + json.dumps(["vote", {"question": room.q, "choices": [0]}]))
    [second] = _ack(await _next(ws, "4310["), "4310")
    assert second["ok"] is False and second["error"]["code"] == "already_voted"
    assert (await live_state(svc, room.q))["tally"] == {"1": "1", "total": "1"}
    await ws.close()


async def test_an_event_without_an_id_is_handled_and_not_acked(node: Node, svc: Services) -> None:
    room = await make_room(svc)
    ws = await _connected(node)
    await ws.send("42" + json.dumps(["join", {"room": room.number, "password": "pw"}]))
    await ws.send("42" + json.dumps(["vote", {"question": room.q, "choices": [2]}]))
    assert await _silent(ws, "43")
    assert (await live_state(svc, room.q))["tally"] == {"2": "1", "total": "1"}
    await ws.close()


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param('422["vote",{"question":', id="malformed-json"),
        pytest.param("424[]", id="no-event-name"),
        pytest.param('425[7,{"question":"x"}]', id="name-not-a-string"),
        pytest.param('426{"vote":1}', id="not-an-array"),
    ],
)
async def test_a_bad_packet_closes_the_connection_and_changes_nothing(
    node: Node, svc: Services, packet: str
) -> None:
    room = await make_room(svc)
    ws = await _connected(node)
    await ws.send("421" + json.dumps(["join", {"room": room.number, "password": "pw"}]))
    await _next(ws, "431[")
    before = await live_state(svc, room.q)
    await ws.send(packet)
    with pytest.raises(websockets.ConnectionClosed):
        await _next(ws, "43")  # no answer: the connection ends (Socket.IO expects that)
    assert await live_state(svc, room.q) == before


async def test_unknown_events_and_other_namespaces_get_no_answer(node: Node, svc: Services) -> None:
    room = await make_room(svc)
    ws = await _connected(node)
    await ws.send("421" + json.dumps(["join", {"room": room.number, "password": "pw"}]))
    await _next(ws, "431[")
    before = await live_state(svc, room.q)
    await ws.send('423["no_such_event",{}]')  # nobody handles it
    await ws.send('42/elsewhere,5["vote",{"question":"x","choices":[0]}]')  # not joined
    assert await _silent(ws, "43")
    assert await live_state(svc, room.q) == before
    # The connection still works.
    await ws.send("428" + json.dumps(["vote", {"question": room.q, "choices": [0]}]))
    [voted] = _ack(await _next(ws, "438["), "438")
    assert voted["ok"] is True
    await ws.close()
