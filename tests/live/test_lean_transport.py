"""The lighter per-connection parts behave as the asyncio and uvicorn parts they replace."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from live.services import Services
from live.wire.lean_async import LeanEvent, LeanQueue
from live.wire.websocket_protocol import HIGH_WATER, LeanWebSocketProtocol
from tests.conftest import Node, connect
from tests.live.helpers import make_room


async def test_lean_event_wakes_every_waiter_and_can_be_cleared() -> None:
    event = LeanEvent()
    assert not event.is_set()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert await event.wait() is True  # set: returns at once
    event.clear()
    late = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    late.cancel()
    with pytest.raises(asyncio.CancelledError):
        await late
    assert event._waiters == []  # a cancelled waiter is not kept
    event.set()


async def test_lean_queue_is_first_in_first_out_and_joins() -> None:
    queue = LeanQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    for item in ("a", "b", "c"):
        queue.put_nowait(item)
    assert await getter == "a"
    assert queue.qsize() == 2 and not queue.empty()
    assert [queue.get_nowait(), await queue.get()] == ["b", "c"]
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    joined = asyncio.create_task(queue.join())
    await asyncio.sleep(0)
    assert not joined.done()
    for _ in range(3):
        queue.task_done()
    await asyncio.wait_for(joined, 1)


async def test_a_flood_of_messages_in_one_read_is_answered_in_order(
    node: Node, svc: Services
) -> None:
    """Many packets arriving at once pass the high-water mark: reading pauses, then
    resumes when the app has caught up, and every packet is answered, in order."""
    room = await make_room(svc)
    url = node.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, ping_interval=None) as ws:
        await ws.recv()
        await ws.send("40")
        await ws.recv()
        n = HIGH_WATER * 4
        join = json.dumps(["join", {"room": room.number, "password": "pw"}])
        for i in range(n):
            await ws.send(f"42{i}{join}")
        acks = []
        async with asyncio.timeout(10):
            while len(acks) < n:
                msg = str(await ws.recv())
                if msg.startswith("43"):
                    acks.append(msg)
        assert [int(m[2 : m.index("[")]) for m in acks] == list(range(n))
        assert all('"ok":true' in m for m in acks)


async def test_the_device_cookie_still_names_the_attendee_after_the_handshake(
    node: Node, svc: Services
) -> None:
    """The handshake's headers are dropped once the socket is open; the cookie the
    Socket.IO connect reads (it comes after) is kept."""
    room = await make_room(svc)
    async with connect(node.url) as first:
        joined = await first.join(room.number, password="pw")
        assert (await first.vote(room.q, [0]))["ok"]
    cookie = {"Cookie": f"mv_device={joined['device']}"}
    async with connect(node.url, headers=cookie) as again:
        rejoined = await again.join(room.number, password="pw")
        assert rejoined["voted"] == [room.q]
        assert (await again.vote(room.q, [1]))["error"]["code"] == "already_voted"


async def test_websocket_connections_keep_no_keepalive_timer_of_their_own(node: Node) -> None:
    """Engine.IO's ping is the keepalive: uvicorn's (every 20 s by default, a timer per
    connection) is not started."""
    assert node.server.config.ws_ping_interval == 20.0  # uvicorn's default, left as is
    url = node.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, ping_interval=None) as ws:
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        sockets = [
            c for c in node.server.server_state.connections if isinstance(c, LeanWebSocketProtocol)
        ]
        assert sockets and all(c.handshake_complete for c in sockets)
        assert [c.ping_timer for c in sockets] == [None] * len(sockets)
