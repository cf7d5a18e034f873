"""The pacing of a question's tallies to its attendees (``live.wire.pacing``): the hosts
get every snapshot, the attendees as a share of a core allows, and always the last."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from live.services import Services
from live.settings import Settings
from live.wire.pacing import Pacing
from tests.conftest import Client, Node, connect
from tests.live.helpers import make_room


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_delivery_costs_its_time_over_the_share_and_the_newest_snapshot_is_held() -> None:
    clock = Clock()
    pacing: Pacing[str] = Pacing(0.25, clock)
    assert pacing.offer("q", "v1") == 0  # nothing delivered yet: at once
    pacing.delivered("q", 0.040)  # 40 ms for the room: the next in 160 ms
    clock.now += 0.1
    assert pacing.offer("q", "v2") == pytest.approx(0.06)
    assert pacing.offer("q", "v3") == pytest.approx(0.06)  # the newer replaces the held one
    assert pacing.take_held("q") == "v3"
    assert pacing.take_held("q") is None  # handed out once
    clock.now += 0.06
    assert pacing.offer("q", "v4") == 0
    assert pacing.take_held("q") is None  # what may go now is not held
    assert pacing.offer("other", "w1") == 0  # each question has its own pace


def test_a_small_room_is_never_held_back() -> None:
    """2,000 watchers take about 5 ms on a quiet node: at a tenth of a core (the default),
    50 ms, shorter than the 100 ms between two snapshots."""
    clock = Clock()
    pacing: Pacing[str] = Pacing(0.10, clock)
    for n in range(20):
        assert pacing.offer("q", f"v{n}") == 0
        pacing.delivered("q", 0.005)
        clock.now += 0.1


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_a_share_is_part_of_one_core(share: float) -> None:
    with pytest.raises(ValueError, match="share of a core"):
        Pacing(share)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A share so small that handing a tally to a few dozen sockets holds the next back
    for a second or more, as a hundred thousand would at a tenth of a core."""
    return settings.with_(tally_share=0.00005)


def _versions(client: Client, qid: str) -> list[int]:
    return [t["version"] for t in client.tallies(qid)]


async def test_hosts_get_every_tally_and_attendees_fewer_but_the_last(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with contextlib.AsyncExitStack() as stack:
        host = await stack.enter_async_context(connect(node.url))
        ack = await host.join(room.number, presenter=room.info.presenter)
        assert ack["ok"] and ack["role"] == "host", ack
        watchers = [await stack.enter_async_context(connect(node.url)) for _ in range(4)]
        for w in watchers:
            assert (await w.join(room.number, password="pw"))["ok"]
        # The voters join first: a ballot every 50 ms for 1.2 s, however slow joining is.
        voters = [await stack.enter_async_context(connect(node.url)) for _ in range(24)]
        for v in voters:
            assert (await v.join(room.number, password="pw"))["ok"]
        for i, v in enumerate(voters):
            assert (await v.vote(room.q, [i % 3]))["ok"]
            await asyncio.sleep(0.05)

        def settled() -> bool:
            return all(
                (c.tallies(room.q)[-1:] or [{}])[0].get("total") == 24 for c in [host, *watchers]
            )

        await host.wait_for(lambda: (host.tallies(room.q)[-1:] or [{}])[0].get("total") == 24)
        hosts_done = asyncio.get_running_loop().time()
        await host.wait_for(settled, timeout=30)
        # Their pacing held the last count back for a second or more; once no newer count
        # came, it went out.
        assert asyncio.get_running_loop().time() - hosts_done < 0.8
        hosts, attendees = _versions(host, room.q), _versions(watchers[0], room.q)
        assert len(hosts) >= 8, hosts  # about ten a second while ballots came
        assert len(attendees) < len(hosts) / 2, (attendees, hosts)
        assert attendees[-1] == hosts[-1]  # the last count reached them too
        assert attendees == sorted(set(attendees))
