"""Notifications of new polls (``live.notify``), end to end on real parts: a web node,
the job worker, real Socket.IO clients, and a real local Web Push service
(``tests.pushservice``) that checks each message's VAPID token and decrypts it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from live.clock import now_ms
from live.engines import db
from live.jobs import JobWorker, running_jobs
from live.notify import channel, push
from live.services import Services
from rooms.errors import VotingError
from tests.conftest import Client, Node, connect
from tests.live.citizenry import Person, citizen, make_citizen
from tests.live.test_polls import open_poll, poll_body, wait_status
from tests.pushservice import PushService, running_push_service

KIM, LEE, PARK, CHOI = "010-2345-6789", "010-9876-5432", "010-5555-1234", "010-4444-9876"
#: Seoul City Hall, and a point about 300 m from it.
HALL = {"lat": 37.5663, "lon": 126.9779}
NEAR_HALL = {"lat": 37.5690, "lon": 126.9779}


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


@pytest.fixture
async def pushsvc() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


async def eventually(check: Callable[[], Any], timeout: float = 10, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)


async def notified(svc: Services) -> list[tuple[str, str, str]]:
    n = db.notifications.c
    async with svc.engine.connect() as conn:
        rows = await conn.execute(sa.select(n.citizen_id, n.poll_id, n.reason))
    return sorted((r.citizen_id, r.poll_id, r.reason) for r in rows)


async def subscriptions(svc: Services) -> list[tuple[str, str]]:
    t = db.push_subscriptions.c
    async with svc.engine.connect() as conn:
        rows = await conn.execute(sa.select(t.citizen_id, t.endpoint))
    return sorted((r.citizen_id, r.endpoint) for r in rows)


async def wants(person: Person, body: dict[str, Any]) -> dict[str, Any]:
    r = await person.http.put("/api/citizens/me/interests", json=body)
    assert r.status_code == 200, r.text
    told: dict[str, Any] = r.json()["interests"]
    return told


async def subscribed(person: Person, service: PushService) -> dict[str, Any]:
    sub = service.subscribe()
    r = await person.http.post("/api/citizens/me/push", json=sub)
    assert r.status_code == 201, r.text
    return sub


async def listening(node: Node, person: Person, stack: Any) -> Client:
    client: Client = await stack.enter_async_context(
        connect(node.url, headers=person.cookie_header())
    )
    ack = await client.call("notices", {})
    assert ack["ok"] is True, ack
    return client


def notices(client: Client) -> list[dict[str, Any]]:
    return [d for e, d in client.events if e == "notice"]


async def test_a_transport_poll_notifies_the_citizen_interested_in_transport(
    node: Node, svc: Services, jobs: JobWorker, pushsvc: PushService
) -> None:
    for phone in (KIM, LEE, PARK):
        await make_citizen(svc, phone)
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        citizen(node.url, PARK) as park,
        contextlib.AsyncExitStack() as stack,
    ):
        told = await wants(kim, {"areas": ["transport", "housing"]})
        assert told == {
            "on": True,
            "areas": ["housing", "transport"],
            "place": None,
            "district": None,
        }
        await wants(lee, {"areas": ["culture", "traffic"]})
        kim_sub, lee_sub = await subscribed(kim, pushsvc), await subscribed(lee, pushsvc)
        kim_live, lee_live = await listening(node, kim, stack), await listening(node, lee, stack)

        poll = await open_poll(
            park, svc, area="transport", title="Should bus lane 7 run all night?"
        )

        await eventually(lambda: notices(kim_live), what="kim's notice frame")
        [frame] = notices(kim_live)
        assert frame["poll"] == {
            "id": poll["id"],
            "title": "Should bus lane 7 run all night?",
            "area": "transport",
        }
        assert frame["reason"] == "area" and frame["id"] and frame["created_ms"] > 0
        await eventually(lambda: pushsvc.to(kim_sub["endpoint"]), what="kim's push message")
        [message] = pushsvc.to(kim_sub["endpoint"])
        body = message.json()
        assert body["poll"] == poll["id"] and body["title"] == "Should bus lane 7 run all night?"
        assert body["url"] == f"/polls/{poll['id']}" and body["notice"] == frame["id"]
        assert body["texts"]["en"] == "A new poll in an area you follow"
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            key = (await anyone.get("/api/push/key")).json()["key"]
        assert message.claims["aud"] == pushsvc.origin and message.claims["k"] == key
        assert message.ttl == push.TTL_S
        assert await notified(svc) == [(kim.id, poll["id"], "area")]

        # The inbox keeps it: unread, then read.
        r = await kim.http.get("/api/citizens/me/notifications")
        page = r.json()
        assert page["unread"] == 1 and page["before"] is None
        [item] = page["notifications"]
        assert item["id"] == frame["id"] and item["read_ms"] is None
        assert item["poll"]["title"] == "Should bus lane 7 run all night?"
        r = await kim.http.post(f"/api/citizens/me/notifications/{item['id']}/read")
        assert r.status_code == 200 and r.json()["notification"]["read_ms"] > 0
        assert (await kim.http.get("/api/citizens/me/notifications")).json()["unread"] == 0
        r = await kim.http.get("/inbox")
        assert r.status_code == 200 and "Should bus lane 7 run all night?" in r.text

        # Lee follows other areas: nothing reached them, nor the author.
        await asyncio.sleep(0.5)
        assert notices(lee_live) == [] and pushsvc.to(lee_sub["endpoint"]) == []
        assert (await lee.http.get("/api/citizens/me/notifications")).json() == {
            "ok": True,
            "notifications": [],
            "before": None,
            "unread": 0,
        }
        assert pushsvc.refused == []


async def test_district_and_place_and_nothing_for_who_did_not_turn_them_on(
    node: Node, svc: Services, jobs: JobWorker, pushsvc: PushService
) -> None:
    for phone in (KIM, LEE, PARK, CHOI):
        await make_citizen(svc, phone)
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        citizen(node.url, PARK) as park,
        citizen(node.url, CHOI) as choi,
    ):
        for who in (kim, choi):
            r = await who.http.put("/api/citizens/me/profile", json={"district": "jung"})
            assert r.status_code == 200, r.text
        await wants(kim, {"areas": []})  # on, for the district
        await wants(lee, {"areas": [], "place": {**NEAR_HALL, "radius_m": 500}})
        # Choi lives in Jung too, but never turned notifications on.
        far = await open_poll(
            park, svc, area="culture", place={"lat": 37.6, "lon": 127.1}, title="Far away"
        )
        poll = await open_poll(
            park,
            svc,
            area="culture",
            place=HALL,
            target={"districts": ["jung"]},
            title="A fountain for the plaza?",
        )
        await eventually(lambda: notified(svc), what="notifications")
        await eventually(lambda: _count(svc, 2), what="two notifications")
        await asyncio.sleep(0.3)
        assert await notified(svc) == sorted(
            [(kim.id, poll["id"], "district"), (lee.id, poll["id"], "place")]
        )
        assert far["id"] not in {p for _, p, _ in await notified(svc)}


async def _count(svc: Services, n: int) -> bool:
    return len(await notified(svc)) >= n


async def test_a_gone_subscription_is_dropped_and_the_others_still_get_it(
    node: Node, svc: Services, jobs: JobWorker, pushsvc: PushService
) -> None:
    for phone in (KIM, PARK):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node.url, PARK) as park:
        await wants(kim, {"areas": ["transport"]})
        phone_sub, laptop_sub = await subscribed(kim, pushsvc), await subscribed(kim, pushsvc)
        pushsvc.gone(laptop_sub["endpoint"])
        poll = await open_poll(park, svc, area="transport")
        await eventually(lambda: pushsvc.to(phone_sub["endpoint"]), what="the phone's message")
        assert pushsvc.to(phone_sub["endpoint"])[0].json()["poll"] == poll["id"]
        await eventually(
            lambda: _subs_are(svc, [(kim.id, phone_sub["endpoint"])]), what="the gone one dropped"
        )
        assert [s for s, _ in pushsvc.refused] == [410]


async def _subs_are(svc: Services, expected: list[tuple[str, str]]) -> bool:
    return await subscriptions(svc) == expected


async def test_bad_bodies_are_refused_with_their_code_and_change_nothing(
    node: Node, svc: Services, pushsvc: PushService
) -> None:
    for phone in (KIM, LEE):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node.url, LEE) as lee:
        before = await wants(kim, {"areas": ["health"], "place": {**HALL, "radius_m": 800}})
        sub = await subscribed(kim, pushsvc)
        kept = await subscriptions(svc)
        point = sub["keys"]["p256dh"]
        for body in [
            {"areas": "transport"},
            {"areas": ["sports"]},
            {"areas": [1]},
            {"place": HALL},
            {"areas": [], "place": {"lat": 91, "lon": 0}},
            {"areas": [], "place": {"lat": "37", "lon": 127}},
            {"areas": [], "place": {**HALL, "radius_m": 5}},
            {"areas": [], "place": {**HALL, "radius_m": 1.5}},
            {"areas": [], "place": [37, 127]},
            {"areas": [], "colour": "red"},
        ]:
            r = await kim.http.put("/api/citizens/me/interests", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"]["code"] == "bad_request" and r.json()["error"]["message"]
        for raw, kind in [(b"[1]", "application/json"), (b"{nope", "application/json")]:
            r = await kim.http.put(
                "/api/citizens/me/interests", content=raw, headers={"Content-Type": kind}
            )
            assert r.json()["error"]["code"] == "bad_request", raw
        r = await kim.http.put(
            "/api/citizens/me/interests", content=b"areas=x", headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 415 and r.json()["error"]["code"] == "bad_request"
        assert (await kim.http.get("/api/citizens/me/interests")).json()["interests"] == before

        for query in ["?before=soon", "?before=12.a-b", "?limit=0", "?limit=1000", "?limit=x"]:
            r = await kim.http.get(f"/api/citizens/me/notifications{query}")
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", query
        r = await kim.http.post("/api/citizens/me/notifications/nosuch/read")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

        other = pushsvc.subscribe()
        for body in [
            {},
            {**other, "endpoint": "ftp://127.0.0.1/push/x"},
            {**other, "endpoint": "http://user:pw@127.0.0.1/push/x"},
            {**other, "endpoint": "x" * 2000},
            {**other, "keys": {"p256dh": point[:-4] + "AAAA", "auth": other["keys"]["auth"]}},
            {**other, "keys": {"p256dh": other["keys"]["p256dh"], "auth": "AAAA"}},
            {**other, "keys": {"p256dh": "!!!", "auth": other["keys"]["auth"]}},
            {**other, "keys": None},
            {**other, "colour": "red"},
        ]:
            r = await kim.http.post("/api/citizens/me/push", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"]["code"] == "bad_request"
        for body in [{}, {"endpoint": 7}, {"endpoint": sub["endpoint"], "colour": 1}]:
            r = await kim.http.request("DELETE", "/api/citizens/me/push", json=body)
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", body
        # Lee cannot remove Kim's subscription (nothing is said of whose it is).
        r = await lee.http.request(
            "DELETE", "/api/citizens/me/push", json={"endpoint": sub["endpoint"]}
        )
        assert r.status_code == 200 and r.json()["removed"] is False
        assert await subscriptions(svc) == kept

    async with httpx.AsyncClient(base_url=node.url) as anonymous:
        for method, path in [
            ("GET", "/api/citizens/me/interests"),
            ("PUT", "/api/citizens/me/interests"),
            ("GET", "/api/citizens/me/notifications"),
            ("POST", "/api/citizens/me/notifications/x/read"),
            ("POST", "/api/citizens/me/push"),
            ("DELETE", "/api/citizens/me/push"),
        ]:
            r = await anonymous.request(method, path, json={"areas": []})
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", path
        r = await anonymous.get("/inbox")
        assert r.status_code == 303 and r.headers["location"] == "/citizen/signin?next=/inbox"
        r = await anonymous.get("/api/push/key")
        assert r.status_code == 200 and len(push._unb64(r.json()["key"])) == 65
        r = await anonymous.get("/sw.js")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
        assert r.headers["cache-control"] == "no-cache" and "showNotification" in r.text
    async with connect(node.url) as nobody:
        ack = await nobody.call("notices", {})
        assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"


def test_behind_tls_only_the_known_push_services_are_taken(svc: Services) -> None:
    behind = type(svc)(
        **{**svc.__dict__, "settings": svc.settings.with_(public_url="https://vote.seoul.example")}
    )
    for endpoint in [
        "http://fcm.googleapis.com/fcm/send/x",
        "https://127.0.0.1/push/x",
        "https://evil.example/fcm.googleapis.com",
        "https://fcm.googleapis.com.evil.example/x",
    ]:
        with pytest.raises(VotingError):
            push.check_endpoint(behind, endpoint)
    for endpoint in [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/abc",
    ]:
        assert push.check_endpoint(behind, endpoint) == endpoint


def test_the_vapid_key_is_the_secret_s_and_stable() -> None:
    a, b = push.vapid_private_key(b"one"), push.vapid_private_key(b"one")
    assert a.private_numbers() == b.private_numbers()
    assert a.private_numbers() != push.vapid_private_key(b"two").private_numbers()


async def test_a_poll_the_sweep_opened_still_notifies(
    node: Node, svc: Services, pushsvc: PushService
) -> None:
    """Its opening job lost (a Valkey that lost its data): the minute's sweep opens the
    poll, and queues its notifications too."""
    for phone in (KIM, PARK):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node.url, PARK) as park:
        await wants(kim, {"areas": ["transport"]})
        r = await park.http.post(
            "/api/polls", json=poll_body(area="transport", opens_ms=now_ms() + 300)
        )
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        await svc.redis.delete(svc.keys.jobs())  # the queue lost
        await asyncio.sleep(0.5)
        async with running_jobs(svc):  # the sweep runs at the worker's start
            await wait_status(svc, poll["id"], "open")
            await eventually(
                lambda: svc.redis.exists(svc.keys.notified(poll["id"])), what="the sweep's job"
            )
        assert await notified(svc) == [(kim.id, poll["id"], "area")]


async def test_a_citizen_who_chose_korean_is_notified_in_korean(
    node: Node, svc: Services, jobs: JobWorker, pushsvc: PushService
) -> None:
    """Kim chose 한국어 on the site (``?lang=ko``: the ``mv_lang`` cookie), though the
    browser asks for English; Lee did not choose, and the browser asks for English."""
    for phone in (KIM, LEE, PARK):
        await make_citizen(svc, phone)
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        citizen(node.url, PARK) as park,
        contextlib.AsyncExitStack() as stack,
    ):
        for who in (kim, lee):
            who.http.headers["Accept-Language"] = "en-US,en;q=0.9"
        r = await kim.http.get("/citizen", params={"lang": "ko"})
        assert r.status_code == 200 and '<html lang="ko">' in r.text
        await wants(kim, {"areas": ["transport"]})
        await wants(lee, {"areas": ["transport"]})
        kim_sub, lee_sub = await subscribed(kim, pushsvc), await subscribed(lee, pushsvc)
        kim_live = await listening(node, kim, stack)

        poll = await open_poll(park, svc, area="transport", title="심야버스 7번?")

        await eventually(lambda: notices(kim_live), what="kim's notice frame")
        await eventually(lambda: pushsvc.to(kim_sub["endpoint"]), what="kim's push message")
        await eventually(lambda: pushsvc.to(lee_sub["endpoint"]), what="lee's push message")
        [kim_message] = pushsvc.to(kim_sub["endpoint"])
        kim_body = kim_message.json()
        assert kim_body["lang"] == "ko" and kim_body["body"] == "관심 분야의 새 투표"
        assert kim_body["title"] == "심야버스 7번?" and kim_body["poll"] == poll["id"]
        assert kim_body["texts"] == {
            "en": "A new poll in an area you follow",
            "ko": "관심 분야의 새 투표",
        }
        [lee_message] = pushsvc.to(lee_sub["endpoint"])
        lee_body = lee_message.json()
        assert lee_body["lang"] == "en" and lee_body["body"] == "A new poll in an area you follow"

        # The inbox, and the live notice's words, in Korean.
        r = await kim.http.get("/inbox")
        assert r.status_code == 200 and '<html lang="ko">' in r.text
        assert '<h1 id="inbox-heading">알림</h1>' in r.text
        data = json.loads(r.text.split('id="page-data">', 1)[1].split("</script>", 1)[0])
        [item] = data["notifications"]
        assert item["poll"]["title"] == "심야버스 7번?" and item["reason"] == "area"
        assert data["strings"]["area"] == "관심 분야"
        assert data["strings"]["live"] == "새 투표: {title}"
        assert notices(kim_live)[0]["id"] == item["id"]

        # Chosen again, in English: the next poll's message is in English.
        r = await kim.http.get("/inbox", params={"lang": "en"})
        assert '<html lang="en">' in r.text
        await subscribed(kim, pushsvc)  # this device allowed them on the English page
        await open_poll(park, svc, area="transport", title="Night bus 8?")
        await eventually(lambda: len(pushsvc.to(kim_sub["endpoint"])) == 2, what="the 2nd")
        later = pushsvc.to(kim_sub["endpoint"])[1].json()
        assert later["lang"] == "en" and later["body"] == "A new poll in an area you follow"


async def test_notices_asked_again_soon_are_answered_from_what_the_connection_knows(
    node: Node, svc: Services, jobs: JobWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking for notices reads the session and counts the unread ones once in
    ``RECHECK_S``: sooner, the answer is what the connection already knows."""
    for phone in (KIM, PARK):
        await make_citizen(svc, phone)
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, PARK) as park,
        contextlib.AsyncExitStack() as stack,
    ):
        await wants(kim, {"areas": ["transport"]})
        live = await listening(node, kim, stack)
        assert (await live.call("notices", {}))["unread"] == 0
        poll = await open_poll(park, svc, area="transport")
        await eventually(lambda: notices(live), what="the notice frame")
        # The notice it was sent counts; no count was read.
        assert await live.call("notices", {}) == {"ok": True, "unread": 1}
        [frame] = notices(live)
        r = await kim.http.post(f"/api/citizens/me/notifications/{frame['id']}/read")
        assert r.status_code == 200
        assert (await kim.http.get("/api/citizens/me/notifications")).json()["unread"] == 0
        for _ in range(20):
            assert await live.call("notices", {}) == {"ok": True, "unread": 1}
        # Signed out: the session is gone, but not read again yet.
        cookies = kim.cookie_header()
        assert (await kim.http.delete("/api/citizens/session")).status_code == 200
        assert await live.call("notices", {}) == {"ok": True, "unread": 1}
        async with connect(node.url, headers=cookies) as other:
            ack = await other.call("notices", {})
            assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"

        # Past the interval, the next ask reads the session again: it is refused and
        # hears of no new poll.
        monkeypatch.setattr(channel, "RECHECK_S", 0.0)
        ack = await live.call("notices", {})
        assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
        monkeypatch.setattr(channel, "RECHECK_S", 30.0)
        for _ in range(5):
            ack = await live.call("notices", {})
            assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
        async with citizen(node.url, KIM) as again:
            watcher = await listening(node, again, stack)
            await open_poll(park, svc, area="transport", title="Another")
            await eventually(lambda: notices(watcher), what="the signed-in socket's frame")
        await asyncio.sleep(0.3)
        assert [f["poll"]["id"] for f in notices(live)] == [poll["id"]]


async def test_an_audience_of_several_batches_is_each_notified_once(
    node: Node, svc: Services, pushsvc: PushService
) -> None:
    """25 citizens follow transport, told 10 at a time (``Settings.notify_batch``): each
    has one notification, one notice frame and one push message."""
    phones = [f"010-7000-{i:04d}" for i in range(25)]
    for phone in (*phones, PARK):
        await make_citizen(svc, phone)
    small = type(svc)(**{**svc.__dict__, "settings": svc.settings.with_(notify_batch=10)})
    async with contextlib.AsyncExitStack() as stack:
        people = [await stack.enter_async_context(citizen(node.url, p)) for p in phones]
        subs, sockets = {}, {}
        for who in people:
            await wants(who, {"areas": ["transport"]})
            subs[who.id] = await subscribed(who, pushsvc)
            sockets[who.id] = await listening(node, who, stack)
        park = await stack.enter_async_context(citizen(node.url, PARK))
        await stack.enter_async_context(running_jobs(small))

        poll = await open_poll(park, svc, area="transport")

        await eventually(
            lambda: svc.redis.exists(svc.keys.notified(poll["id"])), what="the job done"
        )
        assert await notified(svc) == sorted((who.id, poll["id"], "area") for who in people)
        await eventually(
            lambda: all(notices(s) for s in sockets.values()), what="every notice frame"
        )
        await eventually(lambda: len(pushsvc.messages) >= 25, what="every push message")
        await asyncio.sleep(0.3)
        for who in people:
            [frame] = notices(sockets[who.id])
            assert frame["poll"]["id"] == poll["id"]
            [message] = pushsvc.to(subs[who.id]["endpoint"])
            assert message.json()["notice"] == frame["id"]
        assert len(pushsvc.messages) == 25 and pushsvc.refused == []
        ids = {f["id"] for s in sockets.values() for f in notices(s)}
        assert len(ids) == 25
