"""The hosts' screens learn how many attendees are connected, over every node, coalesced."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from live.services import Services
from tests.conftest import Client, Node, connect
from tests.live.helpers import make_room


def _audience(client: Client) -> list[dict[str, Any]]:
    return [d for e, d in client.events if e == "audience"]


def _last(client: Client) -> int | None:
    seen = _audience(client)
    return seen[-1]["connected"] if seen else None


async def test_the_audience_counts_over_nodes_and_is_announced_a_few_times_a_second(
    node: Node, node_b: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with contextlib.AsyncExitStack() as stack:
        presenter = await stack.enter_async_context(connect(node.url))
        ack = await presenter.join(room.number, presenter=room.info.presenter)
        assert ack["audience"]["connected"] == 0

        attendees = [
            await stack.enter_async_context(connect((node if i % 2 else node_b).url))
            for i in range(40)
        ]
        loop = asyncio.get_running_loop()
        started = loop.time()
        acks = await asyncio.gather(*(a.join(room.number, password="pw") for a in attendees))
        assert all(a["ok"] for a in acks)
        assert all("audience" not in a for a in acks)  # the count is the hosts' alone
        await presenter.wait_for(lambda: _last(presenter) == 40)
        elapsed = loop.time() - started
        # Coalesced: at most one announcement per 250 ms per room, over both nodes.
        assert len(_audience(presenter)) <= elapsed / 0.25 + 2, (len(_audience(presenter)), elapsed)
        versions = [d["version"] for d in _audience(presenter)]
        assert versions == sorted(set(versions))  # never an older count after a newer one

        for a in attendees[:15]:
            await a.sio.disconnect()
        await presenter.wait_for(lambda: _last(presenter) == 25)
        # A host joining later reads the count in its ack; attendees hear nothing of it.
        late = await stack.enter_async_context(connect(node_b.url))
        assert (await late.join(room.number, presenter=room.info.presenter))["audience"][
            "connected"
        ] == 25
        assert not any(_audience(a) for a in attendees)


async def test_a_stopped_nodes_count_expires(node: Node, svc: Services) -> None:
    """A node that died without withdrawing its count stops counting once it expires."""
    room = await make_room(svc)
    key = svc.keys.audience(room.info.id)
    await svc.redis.hset(key, mapping={"n:gone": "500 1000", "n:alive": "7 99999999999999"})
    async with connect(node.url) as presenter, connect(node.url) as attendee:
        assert (await presenter.join(room.number, presenter=room.info.presenter))["ok"]
        assert (await attendee.join(room.number, password="pw"))["ok"]
        await presenter.wait_for(lambda: _last(presenter) == 8)
    assert not await svc.redis.hexists(key, "n:gone")


async def test_the_count_follows_a_connection_that_changes_from_host_to_attendee(
    node: Node, svc: Services
) -> None:
    """Only the room's hosts hear the count, as the connection is when the count is sent."""
    room = await make_room(svc)
    async with (
        connect(node.url) as screen,
        connect(node.url) as switcher,
        connect(node.url) as attendee,
    ):
        assert (await screen.join(room.number, presenter=room.info.presenter))["ok"]
        assert (await switcher.join(room.number, presenter=room.info.presenter))["ok"]
        assert (await attendee.join(room.number, password="pw"))["ok"]
        await switcher.wait_for(lambda: _last(switcher) == 1)
        # The host joins again as an attendee: counted, and no longer told the count.
        assert (await switcher.join(room.number, password="pw"))["ok"]
        await screen.wait_for(lambda: _last(screen) == 2)
        heard = len(_audience(switcher))
        await attendee.sio.disconnect()
        await screen.wait_for(lambda: _last(screen) == 1)
        await asyncio.sleep(0.4)  # more than an announcement's interval
        assert len(_audience(switcher)) == heard
        # And as a host again: told the count once more.
        assert (await switcher.join(room.number, presenter=room.info.presenter))["ok"]
        await screen.wait_for(lambda: _last(screen) == 0)
        async with connect(node.url) as late:
            assert (await late.join(room.number, password="pw"))["ok"]
            await switcher.wait_for(lambda: _last(switcher) == 1)
        assert len(_audience(switcher)) > heard
        assert not _audience(attendee)
