"""Comments on citywide polls, reports and the monitors' actions, over HTTP and real
sockets: live delivery to everyone on the poll, the rules of editing and threading, a
report queue in the promised order, hidden and deleted polls, and a complete audit log."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import live.comments
import live.sockets
from live import officials
from live.engines import db
from live.jobs import JobWorker, running_jobs
from live.moderation import audit, monitors
from live.services import Services
from live.wire import frames
from rooms.comments import MAX_BODY, PAGE
from tests.conftest import Node, connect, running_worker
from tests.live.citizenry import citizen, make_citizen, make_official, official
from tests.live.test_metrics import scrape
from tests.live.test_polls import poll_body, wait_status

KIM, LEE, PARK, CHOI = "010-2345-6789", "010-9876-5432", "010-1111-2222", "010-3333-4444"


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


async def open_poll(person: Any, svc: Services, **extra: Any) -> dict[str, Any]:
    r = await person.http.post("/api/polls", json=poll_body(**extra))
    assert r.status_code == 201, r.text
    poll = r.json()["poll"]
    await wait_status(svc, poll["id"], "open")
    return poll


async def comment_rows(svc: Services) -> list[Any]:
    async with svc.engine.connect() as conn:
        return list((await conn.execute(sa.select(db.comments))).all())


async def wait_event(client: Any, name: str, test: Any, timeout: float = 5) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for event, data in client.events:
            if event == name and test(data):
                return data
        assert asyncio.get_running_loop().time() < deadline, f"no {name} event"
        await asyncio.sleep(0.02)


async def admin(svc: Services, url: str) -> Any:
    _, once = await officials.create_official(svc, "admin@seoul.go.kr", role=officials.Role.ADMIN)
    return official(url, "admin@seoul.go.kr", once)


async def test_a_comment_reaches_everyone_on_the_poll_at_once_and_says_who_voted(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, LEE):
        await make_citizen(svc, phone)
    async with svc.engine.begin() as conn:
        await conn.execute(db.citizens.update().values(name="김철수"))
    async with citizen(node.url, KIM) as kim, citizen(node.url, LEE) as lee:
        poll = await open_poll(kim, svc)
        qid = poll["questions"][0]["id"]
        async with (
            connect(node.url, headers=kim.cookie_header()) as kim_sock,
            connect(node.url) as follower,
        ):
            for sock in (kim_sock, follower):
                assert (await sock.call("join", {"poll": poll["id"]}))["ok"]
            assert (await kim_sock.vote(qid, [1]))["ok"]

            r = await kim.http.post(
                f"/api/polls/{poll['id']}/comments", json={"body": "  Coffee, surely.\r\n"}
            )
            assert r.status_code == 201, r.text
            mine = r.json()["comment"]
            assert (mine["body"], mine["author"], mine["mine"], mine["voted"]) == (
                "Coffee, surely.",
                "김*수",
                True,
                True,
            )
            seen = await wait_event(follower, "comment", lambda c: c["id"] == mine["id"])
            assert (seen["body"], seen["voted"], seen["mine"]) == ("Coffee, surely.", True, False)

            # A reply, one level deep; a reply to a reply is refused.
            r = await lee.http.post(
                f"/api/polls/{poll['id']}/comments", json={"body": "Tea!", "parent": mine["id"]}
            )
            reply = r.json()["comment"]
            assert (reply["parent"], reply["voted"]) == (mine["id"], False)
            r = await lee.http.post(
                f"/api/polls/{poll['id']}/comments", json={"body": "x", "parent": reply["id"]}
            )
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"

            # Edited by its author, live; not by another.
            r = await kim.http.patch(f"/api/comments/{mine['id']}", json={"body": "Coffee."})
            assert r.json()["comment"]["edited_ms"] is not None
            await wait_event(follower, "comment", lambda c: c["body"] == "Coffee.")
            r = await lee.http.patch(f"/api/comments/{mine['id']}", json={"body": "Mine now"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_author"
            r = await lee.http.delete(f"/api/comments/{mine['id']}")
            assert r.status_code == 403

        async with httpx.AsyncClient(base_url=node.url) as anyone:
            thread = (await anyone.get(f"/api/polls/{poll['id']}/comments")).json()
        assert [(c["body"], c["parent"]) for c in thread["comments"]] == [
            ("Coffee.", None),
            ("Tea!", mine["id"]),
        ]
        assert thread["before"] is None

        # Past the edit window, the text stays as it is; deleting is still possible.
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.comments.update().values(created_ms=db.comments.c.created_ms - 6 * 60_000)
            )
        r = await kim.http.patch(f"/api/comments/{mine['id']}", json={"body": "Late"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "edit_time_over"
        assert "5" in r.json()["error"]["message"]
        r = await kim.http.delete(f"/api/comments/{mine['id']}")
        assert r.json()["comment"]["status"] == "deleted" and r.json()["comment"]["body"] == ""
        rows = {c.id: c for c in await comment_rows(svc)}
        assert rows[mine["id"]].body == "" and rows[reply["id"]].body == "Tea!"


async def test_bad_comments_get_a_clear_error_and_nothing_is_saved(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = await open_poll(kim, svc)
        url = f"/api/polls/{poll['id']}/comments"
        for body, code, status in [
            ({"body": ""}, "bad_request", 400),
            ({"body": "   \n "}, "bad_request", 400),
            ({"body": 42}, "bad_request", 400),
            ({"body": ["a"]}, "bad_request", 400),
            ({"body": "x" * (MAX_BODY + 1)}, "bad_request", 400),
            ({"body": "a\n" * 40}, "bad_request", 400),
            ({"body": "bell\x07"}, "bad_request", 400),
            ({"body": "ok", "parent": "nosuchcomment"}, "not_found", 404),
            ({"body": "ok", "parent": {"id": 1}}, "bad_request", 400),
        ]:
            r = await kim.http.post(url, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
            assert r.json()["error"]["message"]
        r = await kim.http.post(
            url, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400
        r = await kim.http.post("/api/polls/nosuchpoll/comments", json={"body": "hi"})
        assert r.status_code == 404
    async with httpx.AsyncClient(base_url=node.url) as anyone:
        r = await anyone.post(url, json={"body": "hi"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert await comment_rows(svc) == []


async def test_a_policy_poll_takes_comments_only_where_its_department_allows(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    once = await make_official(svc, "transport@seoul.go.kr", "Transport")
    async with official(node.url, "transport@seoul.go.kr", once) as dept:
        closed = await open_poll(dept, svc, kind="policy_reference")
        talked = await open_poll(dept, svc, kind="policy_reference", comments=True)
        r = await dept.http.post(
            "/api/polls", json=poll_body(kind="policy_reference", comments="yes")
        )
        assert r.status_code == 400 and "comments" in r.json()["error"]["message"]
    async with citizen(node.url, KIM) as kim:
        r = await kim.http.post(f"/api/polls/{closed['id']}/comments", json={"body": "Hello"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "comments_off"
        assert 'id="comments"' not in (await kim.http.get(f"/polls/{closed['id']}")).text
        r = await kim.http.post(f"/api/polls/{talked['id']}/comments", json={"body": "Hello"})
        assert r.status_code == 201
        assert 'id="comments"' in (await kim.http.get(f"/polls/{talked['id']}")).text


async def test_a_long_thread_comes_in_pages_newest_first(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = await open_poll(kim, svc)
        url = f"/api/polls/{poll['id']}/comments"
        for i in range(PAGE + 5):
            assert (await kim.http.post(url, json={"body": f"c{i}"})).status_code == 201
        first = (await kim.http.get(url)).json()
        assert len(first["comments"]) == PAGE and first["comments"][0]["body"] == f"c{PAGE + 4}"
        rest = (await kim.http.get(url, params={"before": first["before"]})).json()
        assert [c["body"] for c in rest["comments"]] == [f"c{i}" for i in range(4, -1, -1)]
        assert rest["before"] is None
        assert (await kim.http.get(url, params={"before": "-1"})).status_code == 400


async def test_comments_posted_in_the_same_millisecond_are_each_paged_once(
    node: Node, svc: Services, jobs: JobWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = await open_poll(kim, svc)
        url = f"/api/polls/{poll['id']}/comments"
        at = live.comments.now_ms()
        monkeypatch.setattr(live.comments, "now_ms", lambda: at)  # every comment the same time
        posted = []
        for i in range(PAGE + 5):
            r = await kim.http.post(url, json={"body": f"c{i}"})
            assert r.status_code == 201 and r.json()["comment"]["created_ms"] == at
            posted.append(r.json()["comment"]["id"])
        reply = await kim.http.post(url, json={"body": "re", "parent": posted[0]})
        assert reply.status_code == 201

        async with httpx.AsyncClient(base_url=node.url) as anyone:
            first = (await anyone.get(url)).json()
            assert len([c for c in first["comments"] if c["parent"] is None]) == PAGE
            assert first["before"] is not None
            rest = (await anyone.get(url, params={"before": first["before"]})).json()
            assert rest["before"] is None
            heads = [c["id"] for c in first["comments"] + rest["comments"] if c["parent"] is None]
            assert len(heads) == len(set(heads)) == PAGE + 5 and set(heads) == set(posted)
            assert heads == sorted(posted, reverse=True)  # newest first: by time, then id
            replies = [c for c in first["comments"] + rest["comments"] if c["parent"]]
            assert [c["id"] for c in replies] == [reply.json()["comment"]["id"]]

            # A client that sends a time alone pages from before that millisecond.
            older = (await anyone.get(url, params={"before": str(at)})).json()
            assert older["comments"] == [] and older["before"] is None
            newer = (await anyone.get(url, params={"before": str(at + 1)})).json()
            assert newer == first
            for bad in ("-1", f"{at}.", f"{at}.ab-c", f"{at}.가", "x.abc"):
                r = await anyone.get(url, params={"before": bad})
                assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", bad


async def test_a_comment_says_its_author_voted_on_any_question_of_the_poll(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, LEE):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node.url, LEE) as lee:
        questions = [
            {"title": "Pick one", "options": "Tea,Coffee,Juice"},
            {"title": "And the cups?", "options": "Paper,Glass"},
        ]
        poll = await open_poll(kim, svc, questions=questions)
        second = poll["questions"][1]["id"]
        async with connect(node.url, headers=lee.cookie_header()) as lee_sock:
            assert (await lee_sock.call("join", {"poll": poll["id"]}))["ok"]
            assert (await lee_sock.vote(second, [1]))["ok"]  # on the second question only
            url = f"/api/polls/{poll['id']}/comments"
            r = await lee.http.post(url, json={"body": "Glass, please."})
            said = r.json()["comment"]
            assert said["voted"] is True
            seen = await wait_event(lee_sock, "comment", lambda c: c["id"] == said["id"])
            assert seen["voted"] is True
        r = await kim.http.post(url, json={"body": "Undecided."})
        assert r.json()["comment"]["voted"] is False
        thread = (await kim.http.get(url)).json()["comments"]
        assert [(c["body"], c["voted"]) for c in thread] == [
            ("Undecided.", False),
            ("Glass, please.", True),
        ]
        assert not {"choices", "choice", "question"} & set(thread[1])  # never how


@contextlib.asynccontextmanager
async def long_polling(
    url: str, poll_id: str
) -> AsyncIterator[Callable[[int], Awaitable[list[Any]]]]:
    """A Socket.IO connection over Engine.IO long-polling, spoken by hand, that joined the
    poll's page; yields a call that reads the next ``n`` comments that come to it."""
    async with httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        params = {"EIO": "4", "transport": "polling", "sid": json.loads(opened.text[1:])["sid"]}
        assert (await http.post("/socket.io/", params=params, content="40")).text == "OK"
        assert (await http.get("/socket.io/", params=params)).text.startswith("40")
        join = "420" + json.dumps(["join", {"poll": poll_id}])
        assert (await http.post("/socket.io/", params=params, content=join)).text == "OK"
        ack = (await http.get("/socket.io/", params=params)).text
        assert ack.startswith("430") and json.loads(ack[3:])[0]["ok"], ack

        async def comments(n: int) -> list[Any]:
            got: list[Any] = []
            while len(got) < n:
                packets = (await http.get("/socket.io/", params=params)).text.split("\x1e")
                events = [json.loads(p[2:]) for p in packets if p.startswith("42")]
                got += [data for event, data in events if event == "comment"]
            return got

        try:
            yield comments
        finally:
            await http.post("/socket.io/", params=params, content="1")


async def test_a_comment_event_is_encoded_once_and_written_to_every_page(
    node: Node, svc: Services, jobs: JobWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[str] = []

    def counted(event: str, data: Any) -> bytes:
        if event == "comment":
            encoded.append(data["id"])
        return frames.event_frame(event, data)

    monkeypatch.setattr(live.sockets, "event_frame", counted)
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = await open_poll(kim, svc)
        elsewhere = await open_poll(kim, svc, title="Benches or trees?")
        url = f"/api/polls/{poll['id']}/comments"
        async with contextlib.AsyncExitStack() as stack:
            pages = [await stack.enter_async_context(connect(node.url)) for _ in range(4)]
            pages.append(
                await stack.enter_async_context(connect(node.url, headers=kim.cookie_header()))
            )
            for page in pages:
                assert (await page.call("join", {"poll": poll["id"]}))["ok"]
            # A page on long-polling takes no ready frame: it gets python-socketio's emit.
            polled = await stack.enter_async_context(long_polling(node.url, poll["id"]))

            async def handed() -> float:
                return (await scrape(node.url)).get("mvoting_comment_deliveries_total")

            before = await handed()
            made = (await kim.http.post(url, json={"body": "First!"})).json()["comment"]
            for page in pages:
                await wait_event(page, "comment", lambda c: c["id"] == made["id"])
            assert encoded == [made["id"]]  # one frame for the five pages
            assert [c["body"] for c in await polled(1)] == ["First!"]
            assert await handed() - before == len(pages) + 1

            # One page goes to another poll: it hears this poll's comments no more.
            gone = pages.pop()
            assert (await gone.call("join", {"poll": elsewhere["id"]}))["ok"]
            before = await handed()
            r = await kim.http.patch(f"/api/comments/{made['id']}", json={"body": "Second."})
            assert r.status_code == 200
            for page in pages:
                await wait_event(page, "comment", lambda c: c["body"] == "Second.")
            r = await kim.http.delete(f"/api/comments/{made['id']}")
            for page in pages:
                await wait_event(page, "comment", lambda c: c["status"] == "deleted")
            assert encoded == [made["id"]] * 3
            assert [c["status"] for c in await polled(2)] == ["visible", "deleted"]
            assert await handed() - before == 2 * (len(pages) + 1)
            heard = [(d["id"], d["body"]) for e, d in gone.events if e == "comment"]
            assert heard == [(made["id"], "First!")]


async def test_reports_queue_in_order_and_a_monitor_clears_them_with_a_complete_log(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, LEE, PARK, CHOI):
        await make_citizen(svc, phone)
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        citizen(node.url, PARK) as park,
        citizen(node.url, CHOI) as choi,
    ):
        poll = await open_poll(kim, svc)
        other = await open_poll(lee, svc, title="Benches or trees?")
        url = f"/api/polls/{poll['id']}/comments"
        rude = (await kim.http.post(url, json={"body": "Buy my pills at example.com"})).json()
        mild = (await lee.http.post(url, json={"body": "Meh"})).json()
        rude_id, mild_id = rude["comment"]["id"], mild["comment"]["id"]

        async def report(person: Any, kind: str, target: str, reason: str) -> httpx.Response:
            return await person.http.post(
                "/api/reports", json={"kind": kind, "id": target, "reason": reason, "note": "x"}
            )

        assert (await report(lee, "comment", mild_id, "abuse")).status_code == 201
        for person in (lee, park, choi):
            assert (await report(person, "comment", rude_id, "commercial")).status_code == 201
        for person in (park, choi):
            assert (await report(person, "poll", other["id"], "political")).status_code == 201
        again = await report(lee, "comment", rude_id, "abuse")
        assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
        for body in (
            {"kind": "user", "id": rude_id, "reason": "abuse"},
            {"kind": "comment", "id": rude_id, "reason": "boring"},
            {"kind": "comment", "id": 5, "reason": "abuse"},
            {"kind": "comment", "id": "nosuch", "reason": "abuse"},
        ):
            r = await park.http.post("/api/reports", json=body)
            assert r.status_code in (400, 404) and r.json()["error"]["message"], body

        # Not a monitor: no queue, no action.
        r = await kim.http.get("/api/moderation/queue")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_monitor"
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            assert (await anyone.get("/api/moderation/queue")).status_code == 401
        r = await kim.http.post(
            "/api/moderation/actions",
            json={"kind": "comment", "id": rude_id, "action": "delete", "reason": "x"},
        )
        assert r.status_code == 403

        # Park joins the monitoring group: the queue, the most reported first.
        await monitors.add_monitor(svc, by="cli", citizen_id=park.id)
        queue = (await park.http.get("/api/moderation/queue")).json()["queue"]
        assert [(q["kind"], q["id"], q["reports"]) for q in queue] == [
            ("comment", rude_id, 3),
            ("poll", other["id"], 2),
            ("comment", mild_id, 1),
        ]
        assert queue[0]["reasons"] == {"commercial": 3} and queue[0]["text"].startswith("Buy my")

        async with connect(node.url) as follower:
            assert (await follower.call("join", {"poll": poll["id"]}))["ok"]
            r = await park.http.post(
                "/api/moderation/actions",
                json={"kind": "comment", "id": rude_id, "action": "hide", "reason": ""},
            )
            assert r.status_code == 400  # a reason is required
            r = await park.http.post(
                "/api/moderation/actions",
                json={"kind": "comment", "id": rude_id, "action": "hide", "reason": "Advertising"},
            )
            assert r.status_code == 200 and r.json()["resolved"] == 3
            hidden = await wait_event(
                follower, "comment", lambda c: c["id"] == rude_id and c["status"] == "hidden"
            )
            assert (hidden["body"], hidden["reason"]) == ("", "Advertising")
        thread = (await lee.http.get(url)).json()["comments"]
        assert [c["body"] for c in thread if c["id"] == rude_id] == [""]
        told = (await kim.http.get("/api/citizens/me/moderation")).json()["actions"]
        assert [(a["action"], a["id"], a["reason"]) for a in told] == [
            ("hide", rude_id, "Advertising")
        ]
        account = (await kim.http.get("/citizen")).text
        assert "From the monitors" in account and "Reason: Advertising" in account
        r = await park.http.post(
            "/api/moderation/actions",
            json={"kind": "comment", "id": mild_id, "action": "dismiss", "reason": "Fair comment"},
        )
        assert r.status_code == 200

        # The poll: hidden from citizens (page, API, listing), seen by monitors.
        r = await park.http.post(
            "/api/moderation/actions",
            json={"kind": "poll", "id": other["id"], "action": "hide", "reason": "Campaigning"},
        )
        assert r.status_code == 200
        r = await kim.http.get(f"/api/polls/{other['id']}")
        assert r.status_code == 410 and r.json()["error"]["code"] == "poll_hidden"
        assert "Campaigning" in r.json()["error"]["message"]
        async with connect(node.url, headers=kim.cookie_header()) as sock:
            ack = await sock.call("join", {"poll": other["id"]})
            assert not ack["ok"] and ack["error"]["code"] == "poll_hidden", ack
        page = await kim.http.get(f"/polls/{other['id']}")
        assert page.status_code == 410 and "Campaigning" in page.text
        assert "Benches or trees?" not in page.text
        listed = (await kim.http.get("/api/polls")).json()["polls"]
        assert other["id"] not in [p["id"] for p in listed] and poll["id"] in [
            p["id"] for p in listed
        ]
        seen = await park.http.get(f"/api/polls/{other['id']}")
        assert seen.status_code == 200 and seen.json()["poll"]["moderation"]["state"] == "hidden"
        assert "Benches or trees?" in (await park.http.get(f"/polls/{other['id']}")).text
        assert queue and (await park.http.get("/api/moderation/queue")).json()["queue"] == []

        # Deleted: closed, its ballots and log kept.
        r = await park.http.post(
            "/api/moderation/actions",
            json={"kind": "poll", "id": other["id"], "action": "delete", "reason": "Repeated"},
        )
        assert r.status_code == 200
        await wait_status(svc, other["id"], "closed")
        assert (await kim.http.get(f"/api/polls/{other['id']}")).status_code == 404

        log = (await park.http.get("/api/moderation/log")).json()["entries"]
        assert [
            (e["actor"], e["action"], e["target_kind"], e["target_id"], e["reason"])
            for e in reversed(log)
        ] == [
            ("cli", "add_monitor", "citizen", park.id, ""),
            (f"citizen:{park.id}", "hide", "comment", rude_id, "Advertising"),
            (f"citizen:{park.id}", "dismiss", "comment", mild_id, "Fair comment"),
            (f"citizen:{park.id}", "hide", "poll", other["id"], "Campaigning"),
            (f"citizen:{park.id}", "delete", "poll", other["id"], "Repeated"),
        ]
        r = await park.http.get("/api/moderation/log.csv")
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["seq", "time_utc", "actor"] and len(rows) == 6
        assert [row[3] for row in rows[1:]] == ["add_monitor", "hide", "dismiss", "hide", "delete"]
        assert (await kim.http.get("/api/moderation/log.csv")).status_code == 403


async def test_an_administrator_moderates_and_a_deleted_polls_ballots_and_log_remain(
    witnessed_node: Node, witnessed: Any
) -> None:
    """Run on the witnessed node: the deleted poll's log verifies after the close."""
    node = witnessed_node
    from live.services import open_services

    async with open_services(witnessed) as svc, running_jobs(svc), running_worker(svc):
        await make_citizen(svc, KIM)
        async with citizen(node.url, KIM) as kim, await admin(svc, node.url) as boss:
            poll = await open_poll(kim, svc)
            qid = poll["questions"][0]["id"]
            async with connect(node.url, headers=kim.cookie_header()) as sock:
                assert (await sock.call("join", {"poll": poll["id"]}))["ok"]
                assert (await sock.vote(qid, [0]))["ok"]
            r = await boss.http.post(
                "/api/moderation/actions",
                json={"kind": "poll", "id": poll["id"], "action": "delete", "reason": "Spam"},
            )
            assert r.status_code == 200, r.text
            await wait_status(svc, poll["id"], "closed")
            async with svc.engine.connect() as conn:
                log_id = await conn.scalar(
                    sa.select(db.ledger_logs.c.id).where(db.ledger_logs.c.question_id == qid)
                )
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                status = (await boss.http.get(f"/ledger/{log_id}")).json()["log"]
                if status.get("verification") == "completed":
                    break
                assert asyncio.get_running_loop().time() < deadline, status
                await asyncio.sleep(0.2)
            async with svc.engine.connect() as conn:
                ballots = await conn.scalar(
                    sa.select(sa.func.count()).where(db.ballots.c.question_id == qid)
                )
            assert ballots == 1 and status["size"] == 3  # open, the ballot, close
            log = (await boss.http.get("/api/moderation/log")).json()["entries"]
            assert [(e["action"], e["actor"].split(":")[0]) for e in log] == [("delete", "host")]


async def test_an_operator_appoints_and_removes_monitors_from_the_command_line(
    node: Node, svc: Services, settings: Any
) -> None:
    from tests.live.test_officials import admin as cli
    from tests.live.test_officials import made

    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        assert (await kim.http.get("/api/moderation/queue")).status_code == 403
        assert made(settings, "add-monitor", "--phone", KIM)["changed"] is True
        assert made(settings, "add-monitor", "--phone", KIM)["changed"] is False
        r = await kim.http.get("/api/moderation/queue")
        assert r.status_code == 200 and r.json()["queue"] == []
        assert made(settings, "remove-monitor", "--phone", KIM)["changed"] is True
        assert (await kim.http.get("/api/moderation/queue")).status_code == 403
    unknown = cli(settings, "add-monitor", "--phone", "010-5555-0000")
    assert unknown.returncode != 0 and "010" not in unknown.stdout + unknown.stderr
    bad = cli(settings, "add-monitor", "--login", "nobody@example.org")
    assert bad.returncode != 0 and "nobody@example.org" in bad.stdout + bad.stderr
    log = [e.action for e in await audit.every_entry(svc)]
    assert log == ["add_monitor", "remove_monitor"]
