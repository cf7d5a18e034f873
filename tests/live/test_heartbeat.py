"""Heartbeats: an attendee who answers pings stays; one who went silent is let go."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from live.services import Services
from tests.conftest import Node
from tests.live.helpers import make_room


async def _joined(node: Node, room: str) -> websockets.ClientConnection:
    url = node.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await websockets.connect(url, ping_interval=None)
    assert (await ws.recv()).startswith("0{")
    await ws.send("40")
    assert str(await ws.recv()).startswith("40")
    await ws.send("421" + json.dumps(["join", {"room": room, "password": "pw"}]))
    assert '"ok":true' in str(await ws.recv())
    return ws


async def test_pings_keep_a_listener_and_let_a_silent_one_go(node: Node, svc: Services) -> None:
    engine = node.live.sio.eio
    engine.ping_interval, engine.ping_timeout = 0.4, 0.8
    room = await make_room(svc)
    listener = await _joined(node, room.number)
    silent = await _joined(node, room.number)
    pings = 0
    closed_at = None
    deadline = time.monotonic() + 4.0
    try:
        while time.monotonic() < deadline:
            try:
                msg = await asyncio.wait_for(listener.recv(), 0.2)
            except TimeoutError:
                msg = None
            if msg == "2":
                pings += 1
                await listener.send("3")
            if closed_at is None:
                try:
                    while True:  # drain what the silent one was sent, never answering
                        await asyncio.wait_for(silent.recv(), 0.01)
                except TimeoutError:
                    pass
                except websockets.ConnectionClosed:
                    closed_at = time.monotonic()
        assert pings >= 5, pings  # one every 0.4 s, from the server's single ping task
        assert closed_at is not None, "the silent client was never let go"
        assert listener.state is websockets.State.OPEN
        live = node.live
        assert len(live.conns) == 1  # only the listener is still known
    finally:
        await listener.close()
        await silent.close()
