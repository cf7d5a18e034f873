"""A join that crosses the host's actions misses none of them.

A join reads the room, checks the credential, then enters the room's broadcast. A question
opened between the read and the entry used to be lost to that attendee: the ack said
"draft", and the ``question`` event had gone out before the connection could hear it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Client, Node
from tests.live.hosting import Host, add_question, create_room, signed_in

PHONES = 24
QUESTIONS = 12


@pytest.fixture
async def owner(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "owner@example.org") as host:
        yield host


def seen_open(phone: Client) -> set[str]:
    """What a page would show as open: the ack's list, then every event after it."""
    marks = [n for n, (e, _) in enumerate(phone.events) if e == "ack"]
    if not marks:
        return set()
    state: dict[str, str] = {}
    for event, data in phone.events[marks[-1] :]:
        if event == "ack":
            state = {q["id"]: q["status"] for q in data["questions"]}
        elif event == "question":
            state[data["id"]] = data["status"]
    return {qid for qid, status in state.items() if status == "open"}


async def join(phone: Client, room: dict[str, Any]) -> None:
    acked = asyncio.get_running_loop().create_future()

    def on_ack(ack: dict[str, Any]) -> None:
        phone.events.append(("ack", ack))  # in the order it came, among the events
        acked.set_result(ack)

    await phone.sio.emit("join", {"room": room["number"], "key": room["key"]}, callback=on_ack)
    assert (await asyncio.wait_for(acked, 10))["ok"]


async def test_joins_crossing_the_openings_see_every_open_question(
    node: Node, owner: Host, clients: Any
) -> None:
    room = await create_room(owner.http)
    ids = [
        (await add_question(owner.http, room["id"], title=f"Q{n}"))["id"] for n in range(QUESTIONS)
    ]
    async with clients(node.url, PHONES) as phones:

        async def open_all() -> None:
            for qid in ids:
                r = await owner.http.post(f"/api/questions/{qid}/open")
                assert r.status_code == 200, r.text
                await asyncio.sleep(0.005)

        async def join_later(n: int, phone: Client) -> None:
            await asyncio.sleep(n * 0.005)  # the joins spread over the openings
            await join(phone, room)

        await asyncio.gather(open_all(), *(join_later(n, p) for n, p in enumerate(phones)))
        for phone in phones:
            await phone.wait_for(lambda p=phone: seen_open(p) == set(ids))
