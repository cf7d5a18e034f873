"""A question that closes itself at the end of its duration: a scheduled job, run once
with several workers, within a second of the deadline, with no traffic."""

from __future__ import annotations

import asyncio

from live import store
from live.clock import now_ms
from live.jobs import running_jobs
from live.services import Services
from rooms.questions import Action, Status
from tests.conftest import Node, connect
from tests.live.hosting import add_question, create_room, signed_in


async def test_a_question_with_a_duration_closes_itself_once_with_two_workers(
    node: Node, svc: Services
) -> None:
    async with signed_in(node.url, "timer@example.org") as host:
        room = await create_room(host.http)
        q = await add_question(host.http, room["id"], duration_s=1)
        assert q["duration_s"] == 1 and q["closes_at"] is None
        async with running_jobs(svc), running_jobs(svc):
            opened = now_ms()
            r = await host.http.post(f"/api/questions/{q['id']}/open")
            assert r.status_code == 200, r.text
            closes_at = r.json()["question"]["closes_at"]
            assert 0 <= closes_at - (opened + 1000) < 1000
            for _ in range(60):
                live = await store.load_question(svc, q["id"])
                assert live is not None
                if live.status is Status.CLOSED:
                    break
                await asyncio.sleep(0.05)
            closed_at = now_ms()
            assert live.status is Status.CLOSED and live.closes_at is None
            assert closed_at - closes_at < 1000
            await asyncio.sleep(1)  # room for a second closing, were there one
        entries = await svc.redis.xrange(svc.keys.stream(q["id"]))
        assert len(entries) == 2  # the opening and one closing
        r = await host.http.get(f"/api/rooms/{room['id']}")
        (shown,) = [x for x in r.json()["questions"] if x["id"] == q["id"]]
        assert shown["status"] == "closed"


async def test_a_closing_job_of_an_earlier_opening_leaves_a_later_one_alone(
    node: Node, svc: Services
) -> None:
    """Closed by the host, reset and opened again: the first opening's job, when it comes,
    is for another log and changes nothing."""
    async with signed_in(node.url, "reopen@example.org") as host:
        room = await create_room(host.http)
        q = await add_question(host.http, room["id"], duration_s=1)
        await store.act(svc, q["id"], Action.OPEN)
        await store.act(svc, q["id"], Action.CLOSE)
        await store.act(svc, q["id"], Action.RESET)
        await host.http.patch(f"/api/questions/{q['id']}", json={"duration_s": 60})
        await store.act(svc, q["id"], Action.OPEN)
        async with running_jobs(svc):
            await asyncio.sleep(2)
        live = await store.load_question(svc, q["id"])
        assert live is not None and live.status is Status.OPEN
        assert live.closes_at is not None and live.closes_at - now_ms() > 50_000


async def test_a_bad_duration_is_refused(node: Node) -> None:
    async with signed_in(node.url, "bad@example.org") as host:
        room = await create_room(host.http)
        r = await host.http.post(
            f"/api/rooms/{room['id']}/questions",
            json={"title": "Q", "options": "A,B", "duration_s": 90_000},
        )
        assert r.status_code == 400 and "duration_s" in r.json()["error"]["message"]


async def test_a_question_set_to_close_at_a_time_closes_then_and_takes_nothing_after(
    node: Node, svc: Services
) -> None:
    """Close at a moment, and a duration too: whichever comes first. Past the moment the
    cast script refuses ballots, though the question is still open for its closing job."""
    async with signed_in(node.url, "clock@example.org") as host:
        room = await create_room(host.http)
        at = now_ms() + 1500
        q = await add_question(host.http, room["id"], closes_at_ms=at, duration_s=600)
        assert q["closes_at_ms"] == at and q["duration_s"] == 600
        r = await host.http.post(f"/api/questions/{q['id']}/open")
        assert r.status_code == 200, r.text
        assert r.json()["question"]["closes_at"] == at  # sooner than the ten minutes
        async with connect(node.url) as voter:
            assert (await voter.join(room["number"], password=room["password"]))["ok"]
            assert (await voter.vote(q["id"], [0]))["ok"]
            await asyncio.sleep(max(0.0, (at - now_ms()) / 1000) + 0.1)
            live = await store.load_question(svc, q["id"])
            assert live is not None and live.status is Status.OPEN  # no job worker runs
            async with connect(node.url) as late:
                assert (await late.join(room["number"], password=room["password"]))["ok"]
                ack = await late.vote(q["id"], [1])
            assert not ack["ok"] and ack["error"]["code"] == "closed", ack
        assert int(await svc.redis.hget(svc.keys.tally(q["id"]), "total") or 0) == 1

        # Its closing job was lost (the queue emptied): the minute's sweep, run at the job
        # worker's start, closes it all the same, once.
        for key in await svc.redis.keys(f"{svc.keys.prefix}arq:*"):
            await svc.redis.delete(key)
        async with running_jobs(svc), running_jobs(svc):
            for _ in range(100):
                live = await store.load_question(svc, q["id"])
                assert live is not None
                if live.status is Status.CLOSED:
                    break
                await asyncio.sleep(0.05)
            assert live.status is Status.CLOSED
            await asyncio.sleep(0.5)
        entries = await svc.redis.xrange(svc.keys.stream(q["id"]))
        assert len(entries) == 3  # the opening, one ballot, one closing
        assert await svc.redis.zcard(svc.keys.deadlines()) == 0


async def test_a_closing_time_past_is_refused_at_the_opening_and_a_bad_one_at_once(
    node: Node, svc: Services
) -> None:
    async with signed_in(node.url, "late@example.org") as host:
        room = await create_room(host.http)
        q = await add_question(host.http, room["id"], closes_at_ms=now_ms() + 2000)
        await asyncio.sleep(2.1)
        r = await host.http.post(f"/api/questions/{q['id']}/open")
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"
        assert "closing time has passed" in r.json()["error"]["message"]
        live = await store.load_question(svc, q["id"])
        assert live is not None and live.status is Status.DRAFT
        r = await host.http.patch(f"/api/questions/{q['id']}", json={"closes_at_ms": 0})
        assert r.status_code == 200 and r.json()["question"]["closes_at_ms"] == 0
        assert (await host.http.post(f"/api/questions/{q['id']}/open")).status_code == 200
        for bad in (-1, 12, "soon", True):
            r = await host.http.post(
                f"/api/rooms/{room['id']}/questions",
                json={"title": "Q", "options": "A,B", "closes_at_ms": bad},
            )
            assert r.status_code == 400 and "closes_at_ms" in r.json()["error"]["message"], bad
