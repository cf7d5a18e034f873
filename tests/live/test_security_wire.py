"""Hostile Socket.IO clients, driven as raw Engine.IO frames over websocket and long-polling:
what the protocol does not use closes the connection, counted and not logged one by one,
and what waits for a client that does not read is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from live import store
from live.services import Services
from live.sockets import LiveSockets
from live.wire import refusals
from live.wire.frames import MAX_BUFFERED
from live.wire.refusals import REFUSALS
from live.wire.websocket_protocol import MAX_MESSAGE
from rooms.questions import Action, build_question
from tests.conftest import Node, connect
from tests.live.helpers import make_room

POLL = "/socket.io/?EIO=4&transport=polling"


def live_of(node: Node) -> LiveSockets:
    live: LiveSockets = node.live
    return live


def join_packet(room: str, ack: int | None = None) -> str:
    args = json.dumps(["join", {"room": room, "password": "pw"}])
    return f"42{'' if ack is None else ack}{args}"


@contextlib.asynccontextmanager
async def raw_socket(node: Node) -> AsyncIterator[Any]:
    """A websocket connected to the default namespace: OPEN and CONNECT read."""
    url = node.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, ping_interval=None, max_size=None) as ws:
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        yield ws


async def joined(ws: Any, room: str) -> None:
    await ws.send(join_packet(room, ack=1))
    async with asyncio.timeout(10):
        while not (msg := str(await ws.recv())).startswith("431"):
            pass
    assert msg.startswith('431[{"ok":true'), msg[:200]


async def until_closed(ws: Any, timeout: float = 5.0) -> list[str]:
    """Every message received until the server closes the connection."""
    got: list[str] = []
    async with asyncio.timeout(timeout):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                got.append(str(await ws.recv()))
    return got


@contextlib.asynccontextmanager
async def polling(node: Node) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A long-polling session connected to the default namespace: (client, its URL)."""
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
        r = await http.get(POLL)
        sid = json.loads(r.text[1:])["sid"]
        url = f"{POLL}&sid={sid}"
        assert (await http.post(url, content="40")).text == "OK"
        assert (await http.get(url)).text.startswith("40{")
        yield http, url


def flushed() -> None:
    """Report what other tests left unreported: the next interval starts now."""
    REFUSALS.report()


# --- item 10: reserved event names -----------------------------------------------------


@pytest.mark.parametrize(
    "event", ["connect", "disconnect", "connect_error", "disconnecting", "message"]
)
async def test_a_reserved_event_closes_the_connection_and_leaves_no_record(
    node: Node, svc: Services, event: str
) -> None:
    """``42["connect",{}]`` ran the connect handler again: a second connection record,
    the first one left in the question's watchers for good."""
    room = await make_room(svc)
    live = live_of(node)
    before = REFUSALS.total[refusals.RESERVED]
    async with raw_socket(node) as ws:
        await joined(ws, room.number)
        assert live.watchers.count(room.q) == 1
        await ws.send(f'42["{event}",{{}}]')
        assert await until_closed(ws) == ["1"]  # Engine.IO's CLOSE, then the websocket's
    assert live.watchers.count(room.q) == 0
    assert live.conns == {}
    assert REFUSALS.total[refusals.RESERVED] == before + 1


async def test_a_reserved_event_over_long_polling_closes_the_session(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    live = live_of(node)
    async with polling(node) as (http, url):
        assert (await http.post(url, content=join_packet(room.number, ack=1))).text == "OK"
        assert (await http.get(url)).text.startswith('431[{"ok":true')
        assert live.watchers.count(room.q) == 1
        assert (await http.post(url, content='42["connect",{}]')).text == "OK"
        assert (await http.get(url)).status_code == 400  # the session is gone
    assert live.watchers.count(room.q) == 0
    assert live.conns == {}


# --- item 8: binary events and attachments ---------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param('451-["vote",{"_placeholder":true,"num":0}]', id="binary-event"),
        pytest.param('461-0[{"_placeholder":true,"num":0}]', id="binary-ack"),
        pytest.param(b"\x00" * 1024, id="binary-frame"),
    ],
)
async def test_a_binary_packet_closes_the_connection(
    node: Node, svc: Services, packet: str | bytes
) -> None:
    """python-socketio kept every later message as an attachment of the binary event."""
    room = await make_room(svc)
    before = REFUSALS.total[refusals.BINARY]
    async with raw_socket(node) as ws:
        await ws.send(packet)
        await ws.send(join_packet(room.number, ack=1))  # would be taken as an attachment
        assert await until_closed(ws) == ["1"]
    assert REFUSALS.total[refusals.BINARY] == before + 1
    assert live_of(node).conns == {}


async def test_a_binary_packet_over_long_polling_closes_the_session(node: Node) -> None:
    async with polling(node) as (http, url):
        body = '451-["vote",{"_placeholder":true,"num":0}]\x1ebAAAA'
        assert (await http.post(url, content=body)).text == "OK"
        assert (await http.post(url, content="3")).status_code == 400
    assert live_of(node).conns == {}


# --- item 11: malformed packets --------------------------------------------------------

MALFORMED = [
    pytest.param("42[NaN]", id="nan"),
    pytest.param('42["vote",{"question":', id="truncated-json"),
    pytest.param("42[]", id="event-without-name"),
    pytest.param("42[1]", id="event-name-not-text"),
    pytest.param('42{"a":1}', id="event-not-a-list"),
    pytest.param("42", id="event-without-data"),
    pytest.param("4x", id="unknown-socketio-type"),
    pytest.param("44", id="connect-error-from-a-client"),
    pytest.param("43", id="ack-without-data"),
    pytest.param("x", id="unknown-engineio-type"),
    pytest.param("2", id="engineio-ping-from-a-client"),
    pytest.param("5", id="upgrade-without-upgrading"),
]


@pytest.mark.parametrize("packet", MALFORMED)
async def test_a_malformed_packet_closes_the_connection_without_a_log_line(
    node: Node, svc: Services, packet: str, caplog: pytest.LogCaptureFixture
) -> None:
    flushed()
    caplog.clear()
    caplog.set_level(logging.INFO)
    before = REFUSALS.total[refusals.MALFORMED]
    async with raw_socket(node) as ws:
        await ws.send(packet)
        assert await until_closed(ws) == ["1"]
    assert REFUSALS.total[refusals.MALFORMED] == before + 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_flood_of_malformed_packets_is_one_log_line(
    node: Node, svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """One client, reconnecting after every refusal, writes no log line of its own;
    the counts go out in one line once the interval is over."""
    room = await make_room(svc)
    flushed()
    caplog.clear()
    caplog.set_level(logging.INFO)
    async with connect(node.url) as bystander:
        assert (await bystander.join(room.number, password="pw"))["ok"]
        for _ in range(25):
            async with raw_socket(node) as ws:
                await ws.send("42[NaN]")
                assert await until_closed(ws) == ["1"]
        assert (await bystander.vote(room.q, [1]))["ok"]  # the same connection, unharmed
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    REFUSALS.report()  # what the interval's end does
    lines = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [
        ("mvoting.refused", "clients closed for breaking the protocol (malformed packet: 25)")
    ]


@pytest.mark.parametrize("packet", ["x", "", "b AAAA", '42["connect",{}]', "42[NaN]"])
async def test_a_malformed_packet_after_an_upgrade_closes_the_connection(
    node: Node, packet: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Upgraded from long-polling, a socket reads with upstream's handler, which decoded
    every message outside any ``try``: one that did not decode crashed the request."""
    flushed()
    caplog.clear()
    caplog.set_level(logging.INFO)
    async with polling(node) as (http, url):
        sid = url.rsplit("=", 1)[1]
        ws_url = node.url.replace("http://", "ws://") + f"{POLL[:-7]}websocket&sid={sid}"
        async with websockets.connect(ws_url, ping_interval=None) as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            await ws.send("5")
            await ws.send(packet)
            assert await until_closed(ws) == ["6", "1"]  # the NOOP that ends the poll
    assert live_of(node).conns == {}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("42[NaN]", id="nan"),
        pytest.param("x", id="unknown-engineio-type"),
        pytest.param("2", id="engineio-ping-from-a-client"),
        pytest.param("d=", id="empty-jsonp-payload"),
        pytest.param("4" + "\x1e4" * 20, id="too-many-packets"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
async def test_a_malformed_post_closes_the_session_without_a_log_line(
    node: Node, body: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    flushed()
    caplog.clear()
    caplog.set_level(logging.INFO)
    before = REFUSALS.total[refusals.MALFORMED]
    async with polling(node) as (http, url):
        assert (await http.post(url, content=body)).text == "OK"
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        # engineio logs its first request for an unknown session, once per process.
        assert (await http.get(url)).status_code == 400
    assert REFUSALS.total[refusals.MALFORMED] == before + 1
    assert live_of(node).conns == {}


# --- item 7: a long-polling client that never reads -------------------------------------


async def big_room(svc: Services) -> str:
    """A room whose join ack is ~400 KB: three questions of 60 long options."""
    info = await store.create_room(svc, title="Big", password="pw")
    options = [
        {"label": (f"option {i} " + "o" * 200)[:200], "description": "d" * 2000} for i in range(60)
    ]
    for n in range(3):
        q = await store.add_question(svc, info.id, build_question(f"Q{n}", "single", options))
        await store.act(svc, q.id, Action.OPEN)
    return info.number


async def test_a_polling_client_that_never_gets_is_dropped(node: Node, svc: Services) -> None:
    """It POSTed 15 joins at a time and answered pings it never fetched; the server kept
    every ack for it (787 MiB in 7 s) while a websocket was dropped at 1 MiB."""
    number = await big_room(svc)
    before = REFUSALS.total[refusals.UNREAD]
    async with polling(node) as (http, url):
        # The bound is on what waits: a client that GETs takes more than it in all.
        taken = 0
        for i in range(6):
            assert (await http.post(url, content=join_packet(number, ack=i))).text == "OK"
            got = (await http.get(url)).text
            assert got.startswith(f'43{i}[{{"ok":true')
            taken += len(got)
        assert taken > 2 * MAX_BUFFERED
        body = "\x1e".join(join_packet(number, ack=i) for i in range(15))
        assert (await http.post(url, content=body)).text == "OK"
        # Past MAX_BUFFERED waiting, the session was dropped: nothing more is taken.
        assert (await http.post(url, content="3")).status_code == 400
        assert (await http.get(url)).status_code == 400
    assert REFUSALS.total[refusals.UNREAD] == before + 1
    assert live_of(node).conns == {}


# --- item 9: message sizes --------------------------------------------------------------


async def test_a_websocket_message_over_the_limit_is_refused_unread(
    node: Node, svc: Services
) -> None:
    """uvicorn read messages of up to 16 MiB before Engine.IO refused them for passing
    64 KiB; websockets now refuses the frame from its header (close code 1009)."""
    room = await make_room(svc)
    before = REFUSALS.total[refusals.TOO_BIG]
    async with raw_socket(node) as ws:
        pad = "x" * (MAX_MESSAGE - 200)  # at the limit: read and answered
        args = json.dumps(["join", {"room": room.number, "password": "pw", "pad": pad}])
        await ws.send(f"421{args}")
        async with asyncio.timeout(10):
            while not (msg := str(await ws.recv())).startswith("431"):
                pass
        assert msg.startswith('431[{"ok":true')
        await ws.send("4" + "x" * MAX_MESSAGE)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert REFUSALS.total[refusals.TOO_BIG] == before + 1


async def test_a_polling_body_over_the_limit_closes_the_session_at_once(node: Node) -> None:
    """Upstream answered it by closing the session and waiting for a GET to drain it:
    the POST hung until the client read again."""
    before = REFUSALS.total[refusals.TOO_BIG]
    async with polling(node) as (http, url):
        async with asyncio.timeout(5):
            r = await http.post(url, content="4" + "x" * MAX_MESSAGE)
        assert r.text == "OK"
        assert (await http.get(url)).status_code == 400
    assert REFUSALS.total[refusals.TOO_BIG] == before + 1
