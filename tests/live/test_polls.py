"""Citywide polls: who may open and change them, their opening and closing on time by
the scheduled jobs, and one ballot per citizen whatever the device, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from live import store
from live.clock import now_ms
from live.engines import db
from live.jobs import JobWorker, running_jobs
from live.polls import store as polls
from live.services import Services, open_services
from live.settings import Settings
from rooms.areas import Area
from rooms.polls import Author, PollKind, PollSpec, PollStatus
from rooms.questions import Status, build_question
from rooms.visibility import Visibility
from tests import secrets_seen
from tests.conftest import Node, connect, run_node, running_worker
from tests.live.citizenry import Person, citizen, make_citizen, make_official, official
from tests.live.helpers import live_state

KIM, LEE = "010-2345-6789", "010-9876-5432"


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


def poll_body(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "general",
        "title": "What shall the park's new café serve?",
        "description": "Near Seoul Forest.",
        "area": "culture",
        "tags": ["#park", "Café"],
        "closes_ms": now_ms() + 3_600_000,
        "questions": [{"title": "Pick one", "options": "Tea,Coffee,Juice"}],
        **extra,
    }


async def status_of(svc: Services, poll_id: str) -> tuple[str, int | None]:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(db.polls.c.status, db.polls.c.closed_ms).where(db.polls.c.id == poll_id)
            )
        ).one()
    return str(row.status), row.closed_ms


async def wait_status(svc: Services, poll_id: str, status: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await status_of(svc, poll_id))[0] != status:
        assert asyncio.get_running_loop().time() < deadline, f"poll not {status}"
        await asyncio.sleep(0.05)


async def open_poll(person: Person, svc: Services, **extra: Any) -> dict[str, Any]:
    """A poll ``person`` makes (``poll_body`` with ``extra``), once it is open."""
    r = await person.http.post("/api/polls", json=poll_body(**extra))
    assert r.status_code == 201, r.text
    poll: dict[str, Any] = r.json()["poll"]
    await wait_status(svc, poll["id"], "open")
    return poll


async def test_a_citizen_opens_a_general_poll_that_opens_at_once(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        r = await kim.http.post("/api/polls", json=poll_body())
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        assert (poll["kind"], poll["area"], poll["tags"]) == (
            "general",
            "culture",
            ["park", "café"],
        )
        assert [q["title"] for q in poll["questions"]] == ["Pick one"]
        await wait_status(svc, poll["id"], "open")
    async with httpx.AsyncClient(base_url=node.url) as anyone:
        r = await anyone.get(f"/api/polls/{poll['id']}")
    assert r.json()["poll"]["status"] == "open"
    assert r.json()["poll"]["questions"][0]["status"] == "open"


async def test_bad_polls_are_refused_and_nothing_is_made(node: Node, svc: Services) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        for body, code in [
            (poll_body(area="sports"), "bad_request"),
            (poll_body(closes_ms=now_ms() + 1000), "bad_request"),
            (poll_body(opens_ms=now_ms() - 3_600_000), "bad_request"),
            (poll_body(questions=[]), "bad_request"),
            (poll_body(title=""), "bad_request"),
            (poll_body(place={"lat": 91, "lon": 0}), "bad_request"),
            (poll_body(kind="policy_decision"), "not_official"),
        ]:
            r = await kim.http.post("/api/polls", json=body)
            assert r.json()["error"]["code"] == code, (body, r.text)
            assert r.json()["error"]["message"]
    async with httpx.AsyncClient(base_url=node.url) as anonymous:
        r = await anonymous.post("/api/polls", json=poll_body())
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    async with svc.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(db.polls)) == 0


async def test_only_the_author_or_the_department_changes_a_poll(node: Node, svc: Services) -> None:
    await make_citizen(svc, KIM)
    await make_citizen(svc, LEE)
    welfare = await make_official(svc, "welfare.kim", "Welfare Policy Division")
    transport = await make_official(svc, "bus.park", "Transport Division")
    welfare2 = await make_official(svc, "welfare.choi", "Welfare Policy Division")
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        official(node.url, "welfare.kim", welfare) as a,
        official(node.url, "bus.park", transport) as b,
        official(node.url, "welfare.choi", welfare2) as a2,
    ):
        r = await a.http.post("/api/polls", json=poll_body(kind="policy_decision", area="welfare"))
        assert r.status_code == 201, r.text
        policy = r.json()["poll"]
        assert policy["kind"] == "policy_decision" and policy["department"]
        general = (await kim.http.post("/api/polls", json=poll_body())).json()["poll"]

        async def edit(who: Any, poll: dict[str, Any], title: str) -> httpx.Response:
            return await who.http.patch(f"/api/polls/{poll['id']}", json={"title": title})

        assert (await edit(b, policy, "Taken over")).json()["error"]["code"] == "not_author"
        assert (await edit(lee, general, "Mine now")).json()["error"]["code"] == "not_author"
        assert (await edit(kim, policy, "Citizen's")).json()["error"]["code"] == "not_official"
        r = await edit(a2, policy, "Welfare, revised")  # the same department
        assert r.status_code == 200 and r.json()["poll"]["title"] == "Welfare, revised"
        r = await edit(kim, general, "Café menu")
        assert r.status_code == 200 and r.json()["poll"]["title"] == "Café menu"
        r = await kim.http.patch(f"/api/polls/{general['id']}", json={"closes_ms": 1})
        assert r.json()["error"]["code"] == "bad_request"
        r = await b.http.get(f"/api/polls/{policy['id']}")
        assert r.json()["poll"]["title"] == "Welfare, revised"


async def _quick_poll(svc: Services) -> tuple[PollSpec, polls.Poll]:
    """Kim's poll of one question, open now and closing 1.5 s from now."""
    await make_citizen(svc, KIM)
    async with svc.engine.connect() as conn:
        kim_id = await conn.scalar(sa.select(db.citizens.c.id))
    start = now_ms()
    spec = PollSpec(
        PollKind.GENERAL, "Quick one", "", Area.CULTURE, (), start, start + 1500, Visibility.LIVE
    )
    poll = await polls.create_poll(
        svc, spec, [build_question("Yes?", "single", "Yes,No")], Author(citizen_id=str(kim_id))
    )
    return spec, poll


async def test_a_poll_closes_at_its_deadline_with_no_traffic(
    svc: Services, jobs: JobWorker
) -> None:
    spec, poll = await _quick_poll(svc)
    await wait_status(svc, poll.id, "open", timeout=3)
    await wait_status(svc, poll.id, "closed", timeout=5)
    _, closed_ms = await status_of(svc, poll.id)
    assert closed_ms is not None and 0 <= closed_ms - spec.closes_ms < 1000
    (qid,) = poll.question_ids
    q = await store.load_question(svc, qid)
    assert q is not None and q.status is Status.CLOSED
    # The job ran once: running the closing again changes nothing.
    assert await polls.close_poll(svc, poll.id) is False


async def test_past_its_closing_time_a_poll_takes_no_ballot_though_its_job_is_late(
    node: Node, svc: Services
) -> None:
    """No job worker runs here: the poll is opened by hand and never closed by its job,
    yet the cast script refuses a ballot from its closing time on."""
    spec, poll = await _quick_poll(svc)
    assert await polls.open_poll(svc, poll.id)
    (qid,) = poll.question_ids
    async with citizen(node.url, KIM) as kim:
        async with connect(node.url, headers=kim.cookie_header()) as sock:
            assert (await sock.call("join", {"poll": poll.id}))["ok"]
            await asyncio.sleep(max(0.0, (spec.closes_ms - now_ms()) / 1000) + 0.1)
            ack = await sock.vote(qid, [0])
            assert not ack["ok"] and ack["error"]["code"] == "closed", ack
    q = await store.load_question(svc, qid)
    assert q is not None and q.status is Status.OPEN  # its job has not run
    assert int(await svc.redis.hget(svc.keys.tally(qid), "total") or 0) == 0


async def test_a_citizen_votes_once_from_two_browsers_at_once(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as phone, citizen(node.url, KIM) as laptop:
        poll = (await phone.http.post("/api/polls", json=poll_body())).json()["poll"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        async with (
            connect(node.url, headers=phone.cookie_header()) as a,
            connect(node.url, headers=laptop.cookie_header()) as b,
            connect(node.url) as follower,
        ):
            acks = await asyncio.gather(*(c.call("join", {"poll": poll["id"]}) for c in (a, b)))
            assert all(ack["ok"] and ack["signed_in"] for ack in acks), acks
            ack = await follower.call("join", {"poll": poll["id"]})
            assert ack["ok"] and ack["signed_in"] is False
            votes = await asyncio.gather(a.vote(qid, [1]), b.vote(qid, [0]))
            assert sorted(v["ok"] for v in votes) == [False, True], votes
            assert [v["error"]["code"] for v in votes if not v["ok"]] == ["already_voted"]
            refused = await follower.vote(qid, [2])
            assert refused["error"]["code"] == "unauthorized"
            await follower.wait_for(lambda: any(t["total"] == 1 for t in follower.tallies(qid)))
        # Joining again later, the citizen is known to have voted on every device.
        async with connect(node.url, headers=laptop.cookie_header()) as again:
            ack = await again.call("join", {"poll": poll["id"]})
            assert ack["voted"] == [qid]
            assert (await again.vote(qid, [2]))["error"]["code"] == "already_voted"
    async with running_worker(svc):
        await asyncio.sleep(0.3)
    tally = await store.tallies(svc, [await store.load_question(svc, qid)])  # type: ignore[list-item]
    assert tally[qid]["total"] == 1


async def test_a_polls_room_is_not_joined_by_number_and_password(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = (await kim.http.post("/api/polls", json=poll_body())).json()["poll"]
    async with svc.engine.connect() as conn:
        room = (
            await conn.execute(
                sa.select(db.rooms).join(db.polls, db.polls.c.room_id == db.rooms.c.id)
            )
        ).one()
    async with connect(node.url) as device:
        ack = await device.join(room.number, password=room.password)
        assert ack["error"]["code"] == "bad_credentials"
        ack = await device.join(room.number, key=room.join_key)
        assert ack["error"]["code"] == "bad_credentials"
        ack = await device.call("join", {"poll": "nosuchpoll"})
        assert ack["error"]["code"] == "not_found"
        ack = await device.call("join", {"poll": poll["id"], "password": "x"})
        assert ack["error"]["code"] == "bad_request"
    assert (await status_of(svc, poll["id"]))[0] in {PollStatus.SCHEDULED, PollStatus.OPEN}


async def test_a_department_publishes_how_a_closed_policy_poll_was_reflected(
    node: Node, svc: Services
) -> None:
    await make_citizen(svc, KIM)
    welfare = await make_official(svc, "welfare.kim", "Welfare Policy Division")
    transport = await make_official(svc, "bus.park", "Transport Division")
    async with (
        citizen(node.url, KIM) as kim,
        official(node.url, "welfare.kim", welfare) as a,
        official(node.url, "bus.park", transport) as b,
    ):
        first = (
            await a.http.post(
                "/api/polls", json=poll_body(kind="policy_decision", title="Free lunches")
            )
        ).json()["poll"]
        second = (
            await a.http.post(
                "/api/polls", json=poll_body(kind="policy_reference", title="Park hours")
            )
        ).json()["poll"]
        general = (await kim.http.post("/api/polls", json=poll_body())).json()["poll"]
        reflection = {
            "text": "Adopted for every school\nfrom March.",
            "date": "2027-03-02",
            "link": "https://news.seoul.go.kr/1",
        }

        async def publish(who: Any, poll: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
            return await who.http.post(f"/api/polls/{poll['id']}/reflection", json=body)

        r = await publish(a, first, reflection)
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"  # not closed
        for p in (first, second, general):
            await polls.close_poll(svc, p["id"])
        assert (await publish(b, first, reflection)).json()["error"]["code"] == "not_author"
        assert (await publish(kim, general, reflection)).json()["error"]["code"] == "invalid_state"
        for bad in (
            {**reflection, "date": "March"},
            {**reflection, "text": ""},
            {**reflection, "link": "javascript:alert(1)"},
        ):
            assert (await publish(a, first, bad)).json()["error"]["code"] == "bad_request"
        r = await publish(a, first, reflection)
        assert r.status_code == 200, r.text
        r = await publish(a, second, {"text": "Taken into account.", "date": "2027-04-01"})
        assert r.status_code == 200
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            shown = (await anyone.get(f"/api/polls/{first['id']}")).json()["poll"]["reflection"]
            assert shown == {
                "text": reflection["text"],
                "date": "2027-03-02",
                "link": reflection["link"],
            }
            page = (await anyone.get("/reflections")).text
            assert page.index("Park hours") < page.index("Free lunches")  # newest first
            assert "https://news.seoul.go.kr/1" in page
            poll_page = (await anyone.get(f"/polls/{first['id']}")).text
            assert (
                "How the result was reflected" in poll_page
                and "Adopted for every school" in poll_page
            )


async def test_a_polls_results_hidden_until_it_closes_stay_hidden(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = (await kim.http.post("/api/polls", json=poll_body(visibility="after_close"))).json()[
            "poll"
        ]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        async with (
            connect(node.url, headers=kim.cookie_header()) as voter,
            connect(node.url) as follower,
        ):
            for c in (voter, follower):
                ack = await c.call("join", {"poll": poll["id"]})
                assert all("tally" not in q for q in ack["questions"]), ack
            assert (await voter.vote(qid, [1]))["ok"]
            await asyncio.sleep(0.5)
            assert voter.tallies(qid) == [] and follower.tallies(qid) == []
            r = await kim.http.get(f"/api/polls/{poll['id']}")
            assert "tally" not in r.text and "counts" not in r.text
            await polls.close_poll(svc, poll["id"])
            await follower.wait_for(lambda: any(t["total"] == 1 for t in follower.tallies(qid)))
            assert follower.tallies(qid)[-1]["counts"][1] == 1


async def test_polls_opened_in_a_day_are_limited(settings: Settings) -> None:
    few = settings.with_(polls_per_day=2)
    async with run_node(few) as node, open_services(few) as svc:
        await make_citizen(svc, KIM)
        async with citizen(node.url, KIM) as kim:
            for _ in range(2):
                assert (await kim.http.post("/api/polls", json=poll_body())).status_code == 201
            r = await kim.http.post("/api/polls", json=poll_body())
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
            assert int(r.headers["retry-after"]) > 3600
            # A refused request was not counted: a bad one is refused for what it is.
            r = await kim.http.post("/api/polls", json=poll_body(area="sports"))
            assert r.json()["error"]["code"] == "bad_request"
        async with svc.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(db.polls)) == 2


async def test_a_poll_whose_jobs_were_lost_is_caught_up_by_the_sweep(svc: Services) -> None:
    """No job worker runs while the poll's times pass (its jobs lost); the minute's sweep,
    run at a job worker's start, opens and closes it."""
    await make_citizen(svc, KIM)
    async with svc.engine.connect() as conn:
        kim_id = await conn.scalar(sa.select(db.citizens.c.id))
    start = now_ms()
    spec = PollSpec(
        PollKind.GENERAL, "Lost", "", Area.CULTURE, (), start, start + 300, Visibility.LIVE
    )
    poll = await polls.create_poll(
        svc, spec, [build_question("Yes?", "yesno")], Author(citizen_id=str(kim_id))
    )
    await svc.redis.delete(svc.keys.jobs())  # the queue lost
    await asyncio.sleep(0.5)
    assert (await status_of(svc, poll.id))[0] == "scheduled"
    async with running_jobs(svc):
        await wait_status(svc, poll.id, "closed", timeout=5)
    (qid,) = poll.question_ids
    q = await store.load_question(svc, qid)
    assert q is not None and q.status is Status.CLOSED and q.log_id is not None


async def test_the_new_poll_form_offers_each_kind_only_to_who_may_open_it(
    node: Node, svc: Services
) -> None:
    await make_citizen(svc, KIM)
    once = await make_official(svc, "welfare.lee", "Welfare Policy Division")
    async with official(node.url, "welfare.lee", once) as lee:
        form = (await lee.http.get("/polls/new")).text
    assert 'value="general"' not in form and 'value="policy_decision"' in form
    async with citizen(node.url, KIM) as kim:
        form = (await kim.http.get("/polls/new")).text
    assert 'value="general"' in form and 'value="policy_decision"' not in form


async def test_a_polls_room_takes_from_its_hosts_only_an_early_close(
    node: Node, svc: Services
) -> None:
    """The official who opened a policy poll owns its room, but its questions follow the
    poll: no reset, reopening, new question, reveal or agenda step from a console."""
    welfare = await make_official(svc, "welfare.kim", "Welfare Policy Division")
    async with official(node.url, "welfare.kim", welfare) as kim:
        body = poll_body(kind="policy_decision", title="Free lunches")
        body["questions"].append({"title": "From when?", "options": "March,September"})
        made = (await kim.http.post("/api/polls", json=body)).json()["poll"]
        await polls.open_poll(svc, made["id"])
        poll = await polls.load_poll(svc, made["id"])
        assert poll is not None
        first, second = poll.question_ids
        room = f"/api/rooms/{poll.room_id}"
        refused = [
            ("POST", f"/api/questions/{first}/reset", None),
            ("POST", f"/api/questions/{first}/reveal", None),
            ("POST", f"{room}/questions", {"title": "Sneaked in", "options": ["A", "B"]}),
            ("PATCH", f"/api/questions/{first}", {"title": "Free dinners"}),
            ("DELETE", f"/api/questions/{second}", None),
            ("POST", f"{room}/next", None),
            ("POST", f"{room}/current", {"question": second}),
            ("POST", f"{room}/order", {"questions": [second, first]}),
        ]
        before = (await kim.http.get(room)).json()
        for method, url, json in refused:
            r = await kim.http.request(method, url, json=json)
            assert r.status_code == 409, (method, url, r.text)
            assert r.json()["error"]["code"] == "invalid_state"
            assert "a host may only close one early" in r.json()["error"]["message"]
        assert (await kim.http.get(room)).json() == before  # nothing changed
        r = await kim.http.post(f"/api/questions/{first}/close")
        assert r.status_code == 200, r.text
        assert r.json()["question"]["status"] == "closed"
        r = await kim.http.post(f"/api/questions/{first}/open")  # closed for good
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"


async def test_a_citizens_poll_cannot_ask_for_the_on_site_code_nor_its_form_offer_it(
    node: Node, svc: Services
) -> None:
    """No one hosts a citizen's poll's room, so no one could show its code."""
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        r = await kim.http.post("/api/polls", json=poll_body(target={"site": True}))
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text
        assert "only a host or an official" in r.json()["error"]["message"]
        assert (await kim.http.get("/api/polls")).json()["polls"] == []
        form = (await kim.http.get("/polls/new")).text
        assert 'name="t_site"' not in form and 'name="t_ages"' in form
    async with svc.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(db.polls)) == 0
        assert await conn.scalar(sa.select(sa.func.count()).select_from(db.rooms)) == 0
    once = await make_official(svc, "welfare.lee", "Welfare Policy Division")
    async with official(node.url, "welfare.lee", once) as lee:
        assert 'name="t_site"' in (await lee.http.get("/polls/new")).text


async def test_an_officials_poll_with_the_on_site_code_takes_the_ballots_of_those_who_scanned(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    """The official hosts the poll's room: its presenter screen shows the code, and the
    link in its QR code opens the poll's page with it."""
    await make_citizen(svc, KIM)
    await make_citizen(svc, LEE)
    once = await make_official(svc, "welfare.kim", "Welfare Policy Division")
    async with (
        official(node.url, "welfare.kim", once) as welfare,
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
    ):
        body = poll_body(kind="policy_reference", title="Town hall", target={"site": True})
        r = await welfare.http.post("/api/polls", json=body)
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        (room,) = [x for x in (await welfare.http.get("/api/rooms")).json()["rooms"]]
        info = (await welfare.http.get(f"/api/rooms/{room['id']}")).json()["room"]
        assert info["site"] is True
        token = info["presenter_url"].split("token=")[1]
        shown = (
            await welfare.http.get(f"/api/present/{info['number']}/site", params={"token": token})
        ).json()
        assert shown["url"].endswith(f"/polls/{poll['id']}?site={shown['code']}")
        async with (
            connect(node.url, headers=kim.cookie_header()) as present,
            connect(node.url, headers=lee.cookie_header()) as remote,
        ):
            ack = await present.call("join", {"poll": poll["id"], "site": shown["code"]})
            secrets_seen.saw("a site pass", ack.get("site_pass"))
            assert ack["ok"] and ack["site_pass"], ack
            assert (await present.vote(qid, [0]))["ok"]
            assert (await remote.call("join", {"poll": poll["id"]}))["ok"]
            assert (await remote.vote(qid, [1]))["error"]["code"] == "site_code_needed"
    assert (await live_state(svc, qid))["tally"]["total"] == "1"


async def test_a_survey_poll_from_the_forms_api_takes_every_part_in_one_ballot(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    survey = {
        "title": "The new park",
        "kind": "survey",
        "parts": [
            {"title": "Which gate?", "options": ["North", "South"]},
            {"title": "Anything else?", "kind": "multiple", "options": ["Toilets", "Benches"]},
            {"title": "Lit at night?", "kind": "yesno", "required": False},
        ],
    }
    async with citizen(node.url, KIM) as kim:
        r = await kim.http.post("/api/polls", json=poll_body(questions=[survey]))
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        (question,) = poll["questions"]
        assert question["kind"] == "survey"
        assert [p["title"] for p in question["parts"]] == [p["title"] for p in survey["parts"]]
        await wait_status(svc, poll["id"], "open")
        async with connect(node.url, headers=kim.cookie_header()) as c:
            assert (await c.call("join", {"poll": poll["id"]}))["ok"]
            unanswered = await c.call("vote", {"question": question["id"], "parts": [[], [0], []]})
            assert unanswered["error"]["code"] == "part_unanswered"
            ack = await c.call("vote", {"question": question["id"], "parts": [[1], [0, 1], []]})
            assert ack["ok"], ack
    state = await live_state(svc, question["id"])
    assert state["tally"] == {"total": "1", "1": "1", "2": "1", "3": "1"}


async def test_a_poll_with_a_cap_takes_its_first_ballots_and_is_then_full(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    phones = [KIM, LEE, "010-5555-1234"]
    for phone in phones:
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim:
        for bad in ({"max_ballots": -1}, {"duration_s": 60}):
            question = {"title": "Free tickets", "options": "Yes,No", **bad}
            r = await kim.http.post("/api/polls", json=poll_body(questions=[question]))
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
            assert next(iter(bad)) in r.json()["error"]["message"]
        assert (await kim.http.get("/api/polls")).json()["polls"] == []
        question = {"title": "Free tickets", "options": "Yes,No", "max_ballots": 2}
        r = await kim.http.post("/api/polls", json=poll_body(questions=[question]))
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        qid = poll["questions"][0]["id"]
        await wait_status(svc, poll["id"], "open")
    codes = []
    for phone in phones:
        async with citizen(node.url, phone) as person:
            async with connect(node.url, headers=person.cookie_header()) as c:
                assert (await c.call("join", {"poll": poll["id"]}))["ok"]
                ack = await c.vote(qid, [0])
                codes.append(None if ack["ok"] else ack["error"]["code"])
    assert codes == [None, None, "full"]
    assert (await live_state(svc, qid))["tally"]["total"] == "2"
