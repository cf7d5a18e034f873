"""Room numbers and passwords cannot be guessed: one answer for every failed join, and
failures limited per connection, per client address and per room, across nodes; a hall
behind one address still gets in."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

import httpx

from live.services import Services
from live.settings import Settings
from tests.conftest import Node, connect, run_node
from tests.live.helpers import make_room
from tests.live.hosting import create_room, signed_in

WRONG = {
    "ok": False,
    "error": {"code": "bad_credentials", "message": "The room number or password is wrong."},
}
NO_ROOM = "000001"  # no room holds it: numbers are 100000-999999


def locked(seconds: int) -> dict[str, Any]:
    return {
        "ok": False,
        "error": {
            "code": "rate_limited",
            "message": f"Too many failed attempts; try again in {seconds} s.",
            "retry_after": seconds,
        },
    }


async def join_once(url: str, number: str, **creds: str) -> dict[str, Any]:
    """A join from a connection of its own (a guesser's way round the connection's delay)."""
    async with connect(url) as c:
        ack: dict[str, Any] = await c.join(number, **creds)
        return ack


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _alert(html: str) -> str:
    found = re.search(r'<p class="alert" role="alert" id="join-error">([^<]*)</p>', html)
    assert found, html
    return found.group(1)


# --- one answer ------------------------------------------------------------------------


async def test_a_wrong_room_and_a_wrong_secret_get_the_same_answer(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    acks = [
        await join_once(node.url, number, **{kind: "wrong"})
        for number in (room.number, NO_ROOM)
        for kind in ("password", "key", "presenter")
    ]
    # The right secrets of the room, given for a number no room holds.
    acks.append(await join_once(node.url, NO_ROOM, password="pw"))
    acks.append(await join_once(node.url, NO_ROOM, key=room.info.key))
    assert acks == [WRONG] * 8


async def test_the_join_form_gives_the_same_answer_for_a_wrong_room_and_password(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with httpx.AsyncClient(base_url=node.url) as http:
        token = _csrf((await http.get("/")).text)
        answers = []
        for form in (
            {"room": room.number, "password": "wrong"},
            {"room": NO_ROOM, "password": "pw"},
        ):
            r = await http.post(
                "/join", data={**form, "csrf": token}, headers={"accept-language": "en"}
            )
            answers.append((r.status_code, _alert(r.text)))
    assert answers == [(400, "The room number or password is wrong.")] * 2


# --- per connection --------------------------------------------------------------------


async def test_one_connection_waits_longer_after_each_failure_and_cannot_overlap_them(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    async with connect(node.url) as c:
        answered = []
        for _ in range(2):
            sent = time.monotonic()
            assert await c.join(room.number, password="wrong") == WRONG
            answered.append(time.monotonic() - sent)
        # 0.25 s, then doubling: no sooner, whatever the machine.
        assert [a >= d for a, d in zip(answered, (0.25, 0.5), strict=True)] == [True, True]
        # Sent at once, the next two are still answered one after the other.
        sent = time.monotonic()
        acks = await asyncio.gather(*(c.join(NO_ROOM, password="x") for _ in range(2)))
        assert acks == [WRONG] * 2
        assert time.monotonic() - sent >= 1.0 + 2.0
        # The connection still joins with the right password, at once.
        assert (await c.join(room.number, password="pw"))["ok"] is True


# --- per address and per room, in Valkey ------------------------------------------------


async def test_an_address_is_locked_after_its_free_failures_on_every_node_and_path(
    settings: Settings, svc: Services
) -> None:
    few = settings.with_(join_failures_per_address=4)
    room = await make_room(svc)
    async with run_node(few) as a, run_node(few) as b, httpx.AsyncClient(base_url=a.url) as http:
        token = _csrf((await http.get("/")).text)
        # Five failures, one per connection, on both nodes and through the form.
        for i in range(4):
            url = (a.url, b.url)[i % 2]
            assert await join_once(url, (room.number, NO_ROOM)[i % 2], password="wrong") == WRONG
        r = await http.post("/join", data={"room": room.number, "password": "x", "csrf": token})
        assert (r.status_code, _alert(r.text)) == (400, "The room number or password is wrong.")
        # The fifth failure locked the address for 1 s: even the right password is refused.
        assert await join_once(b.url, room.number, password="pw") == locked(1)
        r = await http.post("/join", data={"room": room.number, "password": "pw", "csrf": token})
        assert (r.status_code, r.headers["retry-after"]) == (429, "1")
        assert _alert(r.text) == "Too many failed attempts; try again in 1 s."
        # A join link is not guessable, so it is never held back.
        assert (await join_once(a.url, room.number, key=room.info.key))["ok"] is True
        await asyncio.sleep(1.1)
        assert (await join_once(a.url, room.number, password="pw"))["ok"] is True
        # The next failure locks the address twice as long.
        assert await join_once(b.url, room.number, password="wrong") == WRONG
        assert await join_once(a.url, room.number, password="pw") == locked(2)


async def test_a_room_number_is_locked_for_guessers_anywhere_whether_or_not_it_exists(
    settings: Settings, svc: Services
) -> None:
    few = settings.with_(join_failures_per_room=3)
    room, other = await make_room(svc), await make_room(svc)
    async with run_node(few) as a, run_node(few) as b:
        acks = await asyncio.gather(
            *(
                join_once((a.url, b.url)[i % 2], number, password=f"guess-{i}")
                for number in (room.number, NO_ROOM)
                for i in range(4)
            )
        )
        assert acks == [WRONG] * 8
        # Both numbers are locked alike: the lock tells nothing of which one is a room.
        assert await join_once(b.url, room.number, password="pw") == locked(1)
        assert await join_once(a.url, NO_ROOM, password="pw") == locked(1)
        # Another room's password, the room's join link and presenter link still work.
        assert (await join_once(a.url, other.number, password="pw"))["ok"] is True
        assert (await join_once(b.url, room.number, key=room.info.key))["ok"] is True
        presenter = await join_once(a.url, room.number, presenter=room.info.presenter)
        assert presenter["ok"] is True and presenter["role"] == "host"


async def test_failures_sent_at_once_from_many_connections_are_counted_one_by_one(
    settings: Settings, svc: Services
) -> None:
    few = settings.with_(join_failures_per_room=5)
    room = await make_room(svc)
    async with run_node(few) as a, run_node(few) as b, contextlib.AsyncExitStack() as stack:
        guessers = [
            await stack.enter_async_context(connect((a.url, b.url)[i % 2])) for i in range(20)
        ]
        acks = await asyncio.gather(
            *(g.join(room.number, password=f"g{i}") for i, g in enumerate(guessers))
        )
    codes = sorted(ack["error"]["code"] for ack in acks)
    # Five free failures and the sixth, which locked the room; the rest found it locked.
    assert codes == ["bad_credentials"] * 6 + ["rate_limited"] * 14


# --- a hall behind one address -----------------------------------------------------------


async def test_a_hall_of_3000_behind_one_address_gets_in_and_a_guesser_there_is_stopped(
    node: Node, svc: Services
) -> None:
    """Every attendee comes from 127.0.0.1, as a hall behind one NAT does. One in ten
    swaps two digits of the password first, one in fifty mistypes the room number."""
    room = await make_room(svc, password="48291375")
    typo_room = f"{(int(room.number) - 100_000 + 1) % 900_000 + 100_000}"
    gate = asyncio.Semaphore(50)
    # No kept-alive connections: a pooled one the server closes for idling (5 s) just as a
    # POST goes out is a ReadError that httpx does not retry, and a busy loop idles them.
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=node.url, limits=limits, timeout=60) as http:
        token = _csrf((await http.get("/")).text)

        async def post(number: str, password: str) -> int:
            async with gate:
                r = await http.post(
                    "/join", data={"room": number, "password": password, "csrf": token}
                )
                return r.status_code

        async def attendee(i: int) -> list[int]:
            statuses = []
            if i % 10 == 0:
                statuses.append(await post(room.number, "48291357"))
            if i % 50 == 1:
                statuses.append(await post(typo_room, "48291375"))
            statuses.append(await post(room.number, "48291375"))
            return statuses

        hall = await asyncio.gather(*(attendee(i) for i in range(3000)))
        assert sum(s[-1] == 303 for s in hall) == 3000
        assert sorted({code for s in hall for code in s[:-1]}) == [400]
        # Only the 360 typos count against the address, none of the 3,000 successes.
        failures = await svc.redis.hget(svc.keys.limit("join", "addr:127.0.0.1"), "n")
        assert failures == "360"

        # A guesser behind the same address sweeps room numbers with a common password:
        # the address's remaining 640 free failures, and one more that locks it.
        numbers = (f"{100_000 + i}" for i in range(700))
        guesses = [n for n in numbers if n != room.number][:641]
        swept = await asyncio.gather(*(post(n, "12345678") for n in guesses))
        assert swept == [400] * 641
        # Locked now: the hall's password is refused from this address too (its link is not).
        assert await post(room.number, "48291375") == 429


async def test_a_new_room_has_an_eight_digit_password(node: Node) -> None:
    async with signed_in(node.url, "host@example.org") as host:
        room = await create_room(host.http)
    assert re.fullmatch(r"[0-9]{8}", room["password"])
