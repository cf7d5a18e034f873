"""The cast path when Valkey misbehaves: a ballot counts once or not at all, and says so."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from live import cast
from live.engines import bundled
from live.services import Services, open_services
from live.settings import load_settings
from tests.conftest import Node, connect, run_node
from tests.live.helpers import live_state, make_room


async def test_ballots_still_count_once_after_the_script_cache_is_flushed(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with connect(node.url) as a, connect(node.url) as b, connect(node.url) as c:
        for client in (a, b, c):
            assert (await client.join(room.number, password="pw"))["ok"]
        assert (await a.vote(room.q, [0]))["ok"]
        await svc.redis.script_flush()
        acks = await asyncio.gather(b.vote(room.q, [1]), c.vote(room.q, [1]))
        assert [ack["ok"] for ack in acks] == [True, True]
        assert (await a.vote(room.q, [2]))["error"]["code"] == "already_voted"
    state = await live_state(svc, room.q)
    assert state["tally"] == {"0": "1", "1": "2", "total": "3"}
    assert len(state["voters"]) == 3 and state["stream"] == 3


@pytest.fixture
async def own_valkey() -> AsyncIterator[tuple[bundled.EmbeddedValkey, Services, Node]]:
    """A Valkey of this test's own (it is paused), a node and services on it."""
    with tempfile.TemporaryDirectory(prefix="mvoting-cast-") as d:
        server = bundled.find_or_start(Path(d) / "valkey")
        assert server.owned and server.port != 6379
        settings = load_settings(
            {},
            MVOTING_DATA=str(Path(d) / "data"),
            REDIS_URL=server.url,
            MVOTING_SECRET="test-secret",
        )
        try:
            async with open_services(settings) as svc, run_node(settings) as node:
                yield server, svc, node
        finally:
            os.kill(server.pid, signal.SIGCONT)
            server.stop()


async def test_a_ballot_sent_while_valkey_hangs_is_refused_and_counts_once_when_resent(
    own_valkey: tuple[bundled.EmbeddedValkey, Services, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, svc, node = own_valkey
    monkeypatch.setattr(cast, "BATCH_TIMEOUT", 0.5)
    room = await make_room(svc)
    async with connect(node.url) as voter:
        assert (await voter.join(room.number, password="pw"))["ok"]
        os.kill(server.pid, signal.SIGSTOP)
        try:
            refused = await voter.vote(room.q, [1])
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert refused["ok"] is False and refused["error"]["code"] == "unavailable"
        assert refused["error"]["message"]
        # The script may or may not have run before the pause: sent again, the ballot
        # is counted now, or was counted then; never twice.
        again = await voter.vote(room.q, [1])
        assert again["ok"] is True or again["error"]["code"] == "already_voted"
    state = await live_state(svc, room.q)
    assert state["tally"] == {"1": "1", "total": "1"}
    assert len(state["voters"]) == 1 and state["stream"] == 1
