"""Who may vote, decided by the cast script from the question's own rule: demographic
bands, a radius around the poll's place, an on-site code, departments (internal votes)
and roster sets. The script and ``rooms.eligibility.decide`` make the same decision."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live import officials, store
from live.cast import CastBatcher, do_cast
from live.clock import new_id, now_ms
from live.jobs import JobWorker, running_jobs
from live.services import Services
from rooms.eligibility import AgeBand, District, Gender, Job, decide, distance_m
from rooms.errors import VotingError
from rooms.sitecode import STEP_S, code_at, site_key
from tests.conftest import Node, connect
from tests.live.citizenry import citizen, make_citizen, make_official, official
from tests.live.helpers import live_state, make_room
from tests.live.hosting import create_room, signed_in
from tests.live.test_polls import poll_body, wait_status

KIM, LEE, PARK = "010-2345-6789", "010-9876-5432", "010-5555-1234"
CITY_HALL = {"lat": 37.5663, "lon": 126.9779}


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


# --- the script and decide() agree -----------------------------------------------------

years = st.integers(min_value=1920, max_value=2012)
rules = st.fixed_dictionaries(
    {},
    optional={
        "r": st.just(1),
        "y": st.lists(st.tuples(years, years).map(sorted), min_size=1, max_size=3),
        "g": st.lists(st.sampled_from([str(g) for g in Gender]), min_size=1, max_size=2),
        "d": st.lists(st.sampled_from([str(d) for d in District]), min_size=1, max_size=4),
        "j": st.lists(st.sampled_from([str(j) for j in Job]), min_size=1, max_size=3),
        "c": st.tuples(st.floats(37.4, 37.7), st.floats(126.8, 127.2), st.integers(50, 20_000)).map(
            list
        ),
        "s": st.just(1),
        "o": st.lists(st.sampled_from(["dept-a", "dept-b", "dept-c"]), min_size=1, max_size=2),
    },
)
facts = st.fixed_dictionaries(
    {},
    optional={
        "p": st.sampled_from(["ref-on-roster", "ref-elsewhere"]),
        "y": years,
        "g": st.sampled_from([str(g) for g in Gender]),
        "d": st.sampled_from([str(d) for d in District]),
        "j": st.sampled_from([str(j) for j in Job]),
        "o": st.sampled_from(["dept-a", "dept-b", "dept-d"]),
        "s": st.just(1),
        "lat": st.floats(37.4, 37.7),
        "lon": st.floats(126.8, 127.2),
    },
)


@pytest.fixture
async def ruled_room(svc: Services) -> Any:
    room = await make_room(svc)
    await svc.redis.sadd(svc.keys.roster(room.q), "ref-on-roster")
    return room


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rule=rules, known=facts)
async def test_the_cast_script_decides_as_rooms_eligibility_does(
    svc: Services, ruled_room: Any, rule: dict[str, Any], known: dict[str, Any]
) -> None:
    if ("lat" in known) != ("lon" in known):
        known.pop("lat", None), known.pop("lon", None)
    if "c" in rule and "lat" in known:
        edge = distance_m((rule["c"][0], rule["c"][1]), (known["lat"], known["lon"]))
        if abs(edge - rule["c"][2]) < 0.01:  # on the edge, floating point may differ
            return
    await store.set_room_rule(svc, ruled_room.info.id, rule)
    expected = decide(rule, known, on_roster=known.get("p") == "ref-on-roster")
    before = await svc.redis.hget(svc.keys.tally(ruled_room.q), "total")
    try:
        await do_cast(
            CastBatcher(svc),
            ruled_room.q,
            f"voter-{new_id()}",
            (0,),
            None,
            facts=orjson.dumps(known).decode() if known else "",
        )
        got = None
    except VotingError as refused:
        got = refused.code
    assert got == expected, (rule, known)
    after = await svc.redis.hget(svc.keys.tally(ruled_room.q), "total")
    assert (int(after or 0) - int(before or 0)) == (1 if expected is None else 0)


# --- demographic targets, through the pages' API and the socket ------------------------


async def test_a_poll_for_one_district_and_age_band_takes_only_those_citizens(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, LEE, PARK):
        await make_citizen(svc, phone)
    year = datetime.now(UTC).year
    async with (
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        citizen(node.url, PARK) as park,
    ):
        target = {"districts": ["mapo"], "ages": ["30s"]}
        r = await kim.http.post("/api/polls", json=poll_body(target=target))
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        assert poll["target"]["districts"] == ["mapo"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        r = await kim.http.put(
            "/api/citizens/me/profile", json={"birth_year": year - 35, "district": "mapo"}
        )
        assert r.json()["profile"]["district"] == "mapo"
        await lee.http.put(
            "/api/citizens/me/profile", json={"birth_year": year - 35, "district": "guro"}
        )
        # Park tells nothing: told so, not refused as someone outside the target.
        for person, code in ((kim, None), (lee, "not_eligible"), (park, "profile_incomplete")):
            r = await person.http.get(f"/api/polls/{poll['id']}")
            assert r.json()["poll"]["for_you"]["code"] == code
            async with connect(node.url, headers=person.cookie_header()) as c:
                assert (await c.call("join", {"poll": poll["id"]}))["ok"]
                ack = await c.vote(qid, [0])
                if code is None:
                    assert ack["ok"], ack
                else:
                    assert ack["error"]["code"] == code and ack["error"]["message"]
        state = await live_state(svc, qid)
        assert state["tally"]["total"] == "1"
        # A bad profile is refused and changes nothing.
        r = await kim.http.put("/api/citizens/me/profile", json={"district": "busan"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
        assert (await kim.http.get("/api/citizens/me/profile")).json()["profile"][
            "district"
        ] == "mapo"


async def test_bad_targets_are_refused_and_no_poll_is_made(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        before = (await kim.http.get("/api/polls")).json()["polls"]
        for target, words in (
            ({"districts": ["busan"]}, "districts"),
            ({"ages": ["5s"]}, "ages"),
            ({"radius_m": 500}, "place"),  # a radius needs the poll's place
            ({"radius_m": 10}, "metres"),
            ({"colour": "red"}, "target"),
            ({"departments": ["x"]}, None),  # only officials make internal votes
            ({"groups": ["x"]}, None),
            ("everyone", "target"),
        ):
            r = await kim.http.post("/api/polls", json=poll_body(target=target))
            assert r.status_code in (400, 403), (target, r.text)
            if words:
                assert words in r.json()["error"]["message"], r.text
        assert (await kim.http.get("/api/polls")).json()["polls"] == before


# --- place -------------------------------------------------------------------------------


async def test_a_poll_near_a_place_takes_ballots_sent_from_inside_its_radius(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    await make_citizen(svc, LEE)
    async with citizen(node.url, KIM) as kim, citizen(node.url, LEE) as lee:
        body = poll_body(place=CITY_HALL, target={"radius_m": 500})
        poll = (await kim.http.post("/api/polls", json=body)).json()["poll"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        async with (
            connect(node.url, headers=kim.cookie_header()) as a,
            connect(node.url, headers=lee.cookie_header()) as b,
        ):
            for c in (a, b):
                assert (await c.call("join", {"poll": poll["id"]}))["ok"]
            assert (await a.vote(qid, [0]))["error"]["code"] == "position_needed"
            gangnam = {"lat": 37.4979, "lon": 127.0276}  # about 9 km away
            far = await a.call("vote", {"question": qid, "choices": [0], "position": gangnam})
            assert far["error"]["code"] == "out_of_area"
            bad = await a.call(
                "vote", {"question": qid, "choices": [0], "position": {"lat": "north"}}
            )
            assert bad["error"]["code"] == "bad_request"
            assert (await live_state(svc, qid))["voters"] == []
            near = {"lat": 37.5670, "lon": 126.9785}  # about 90 m away
            ok = await a.call("vote", {"question": qid, "choices": [1], "position": near})
            assert ok["ok"], ok
            assert (await b.call("vote", {"question": qid, "choices": [0], "position": near}))["ok"]
        assert (await live_state(svc, qid))["tally"]["total"] == "2"


# --- the on-site code --------------------------------------------------------------------


async def test_a_room_that_asks_for_its_on_site_code_takes_ballots_from_those_who_showed_it(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc)
    await store.set_room_rule(svc, room.info.id, {"s": 1})
    key = site_key(svc.secret, room.info.id)
    now = now_ms() / 1000
    async with connect(node.url) as remote, connect(node.url) as present:
        assert (await remote.join(room.number, password="pw"))["ok"]
        refused = await remote.vote(room.q, [0])
        assert refused["error"]["code"] == "site_code_needed" and refused["error"]["message"]
        # A photo of the screen two steps old no longer works.
        stale = await remote.join(room.number, password="pw", site=code_at(key, now - 2 * STEP_S))
        assert stale["ok"] and stale["site_error"]["code"] == "wrong_site_code"
        assert "site_pass" not in stale
        assert (await remote.vote(room.q, [0]))["error"]["code"] == "site_code_needed"
        # The code of the step before is still taken (a scan just as it turned).
        ack = await present.join(room.number, password="pw", site=code_at(key, now - STEP_S))
        assert ack["ok"] and "site_error" not in ack and ack["site_pass"]
        assert (await present.vote(room.q, [2]))["ok"]
        site_pass = ack["site_pass"]
    # The pass lasts: the same device joins again later without a code.
    async with connect(node.url, device=present.device) as again:
        ack = await again.join(room.number, password="pw", site_pass=site_pass)
        assert ack["ok"] and ack["site_pass"] == site_pass, (ack, site_pass)
        assert (await again.vote(room.q, [2]))["error"]["code"] == "already_voted"
    # Another device cannot use that pass.
    async with connect(node.url) as other:
        ack = await other.join(room.number, password="pw", site_pass=site_pass)
        assert ack["site_error"]["code"] == "wrong_site_code"
        assert (await other.vote(room.q, [0]))["error"]["code"] == "site_code_needed"
    assert (await live_state(svc, room.q))["tally"]["total"] == "1"


async def test_a_rule_set_after_an_attendee_joined_is_enforced_at_once(
    node: Node, node_b: Node, svc: Services
) -> None:
    """No node's cache lets a ballot in: the script reads the question's rule."""
    room = await make_room(svc, {}, {})
    async with connect(node.url) as a, connect(node_b.url) as b:
        assert (await a.join(room.number, password="pw"))["ok"]
        assert (await b.join(room.number, password="pw"))["ok"]
        assert (await a.vote(room.questions[0], [0]))["ok"]
        await store.set_room_rule(svc, room.info.id, {"s": 1})
        for c, q in ((a, room.questions[1]), (b, room.questions[0])):
            assert (await c.vote(q, [0]))["error"]["code"] == "site_code_needed"
        await store.set_room_rule(svc, room.info.id, {})
        assert (await b.vote(room.questions[0], [1]))["ok"]


# --- employees only ----------------------------------------------------------------------


async def test_an_internal_vote_takes_ballots_from_officials_of_its_departments(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    once_a = await make_official(svc, "kim.transport", "Transport")
    once_b = await make_official(svc, "lee.culture", "Culture")
    await make_citizen(svc, KIM)
    async with (
        official(node.url, "kim.transport", once_a) as kim,
        official(node.url, "lee.culture", once_b) as lee,
        citizen(node.url, KIM) as resident,
    ):
        department = (await officials.department_by_name(svc, "Transport")).id
        body = poll_body(kind="policy_reference", target={"departments": [department]})
        r = await kim.http.post("/api/polls", json=body)
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        async with (
            connect(node.url, headers=kim.cookie_header()) as a,
            connect(node.url, headers=lee.cookie_header()) as b,
            connect(node.url, headers=resident.cookie_header()) as c,
        ):
            for s in (a, b, c):
                assert (await s.call("join", {"poll": poll["id"]}))["ok"]
            assert (await a.vote(qid, [0]))["ok"]
            assert (await a.vote(qid, [1]))["error"]["code"] == "already_voted"
            assert (await b.vote(qid, [0]))["error"]["code"] == "not_eligible"
            assert (await c.vote(qid, [0]))["error"]["code"] == "unauthorized"
        r = await kim.http.post(
            "/api/polls", json=poll_body(kind="policy_reference", target={"departments": ["nope"]})
        )
        assert r.status_code == 404 and "department" in r.json()["error"]["message"]
    assert (await live_state(svc, qid))["tally"]["total"] == "1"


async def test_an_internal_vote_for_citizens_too_is_refused_and_its_form_says_why(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    """Officials are known by their department alone: a roster list or a profile band
    with departments would leave no one who may vote."""
    once = await make_official(svc, "kim.transport", "Transport")
    async with official(node.url, "kim.transport", once) as kim:
        department = (await officials.department_by_name(svc, "Transport")).id
        group = (await kim.http.post("/api/rosters", json={"name": "Drivers"})).json()["group"]
        before = (await kim.http.get("/api/polls")).json()["polls"]
        for other in (
            {"groups": [group["id"]]},
            {"ages": ["30s"]},
            {"districts": ["mapo"]},
            {"genders": ["male"], "jobs": ["public_servant"]},
        ):
            body = poll_body(kind="policy_reference", target={"departments": [department], **other})
            r = await kim.http.post("/api/polls", json=body)
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text
            assert "internal vote" in r.json()["error"]["message"], r.text
        assert (await kim.http.get("/api/polls")).json()["polls"] == before
        form = (await kim.http.get("/polls/new")).text
        assert "data-departments" in form and form.count("data-citizen-target") == 5
        assert "so they cannot be chosen with it" in form
        # Departments with a place or the on-site code are still an internal vote.
        body = poll_body(
            kind="policy_reference",
            place=CITY_HALL,
            target={"departments": [department], "radius_m": 500},
        )
        poll = (await kim.http.post("/api/polls", json=body)).json()["poll"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        async with connect(node.url, headers=kim.cookie_header()) as a:
            assert (await a.call("join", {"poll": poll["id"]}))["ok"]
            near = {"lat": 37.5670, "lon": 126.9785}
            ack = await a.call("vote", {"question": qid, "choices": [0], "position": near})
            assert ack["ok"], ack
    assert (await live_state(svc, qid))["tally"]["total"] == "1"


async def test_two_tabs_of_one_targeted_citizen_count_once(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    year = datetime.now(UTC).year
    async with citizen(node.url, KIM) as kim:
        await kim.http.put("/api/citizens/me/profile", json={"birth_year": year - 25})
        poll = (
            await kim.http.post(
                "/api/polls", json=poll_body(target={"ages": [str(AgeBand.TWENTIES)]})
            )
        ).json()["poll"]
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        async with (
            connect(node.url, headers=kim.cookie_header()) as a,
            connect(node.url, headers=kim.cookie_header()) as b,
        ):
            for c in (a, b):
                assert (await c.call("join", {"poll": poll["id"]}))["ok"]
            acks = await asyncio.gather(a.vote(qid, [0]), b.vote(qid, [1]))
            assert sorted(x["ok"] for x in acks) == [False, True]
    assert (await live_state(svc, qid))["tally"]["total"] == "1"


async def test_a_host_asks_for_the_on_site_code_and_the_presenter_screen_shows_it_turning(
    node: Node, svc: Services
) -> None:
    async with signed_in(node.url, "site@example.org") as host:
        room = await create_room(host.http)
        r = await host.http.post(f"/api/rooms/{room['id']}/site", json={"required": "yes"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
        assert (await host.http.get(f"/api/rooms/{room['id']}")).json()["room"]["site"] is False
        r = await host.http.post(f"/api/rooms/{room['id']}/site", json={"required": True})
        assert r.json() == {"ok": True, "site": True}
        info = (await host.http.get(f"/api/rooms/{room['id']}")).json()["room"]
        assert info["site"] is True
        token = info["presenter_url"].split("token=")[1]
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            r = await anyone.get(f"/api/present/{info['number']}/site", params={"token": "x"})
            assert r.status_code == 404  # the presenter link is the key to the code
            shown = (
                await anyone.get(f"/api/present/{info['number']}/site", params={"token": token})
            ).json()
            page = await anyone.get(f"/present/{info['number']}", params={"token": token})
        key = site_key(svc.secret, room["id"])
        assert shown["code"] == code_at(key, shown["shown_until_ms"] / 1000 - 1)
        assert shown["url"].endswith(f"&site={shown['code']}") and "<svg" in shown["qr"]
        assert shown["accepted_until_ms"] - shown["shown_until_ms"] == STEP_S * 1000
        assert 'data-testid="site-code"' in page.text
        # Another host cannot switch it.
        async with signed_in(node.url, "other@example.org") as other:
            r = await other.http.post(f"/api/rooms/{room['id']}/site", json={"required": False})
            assert r.status_code == 403
        # The link in the QR code lets a phone vote.
        async with connect(node.url) as phone:
            ack = await phone.join(info["number"], password=info["password"], site=shown["code"])
            assert ack["ok"] and ack["site_pass"]
        r = await host.http.post(f"/api/rooms/{room['id']}/site", json={"required": False})
        assert (await host.http.get(f"/api/rooms/{room['id']}")).json()["room"]["site"] is False


async def test_a_poll_for_a_roster_takes_its_numbers_and_follows_its_edits(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    once = await make_official(svc, "kim.welfare", "Welfare")
    for phone in (KIM, LEE, PARK):
        await make_citizen(svc, phone)
    async with (
        official(node.url, "kim.welfare", once) as kim_official,
        citizen(node.url, KIM) as kim,
        citizen(node.url, LEE) as lee,
        citizen(node.url, PARK) as park,
    ):
        http = kim_official.http
        group = (await http.post("/api/rosters", json={"name": "Care workers"})).json()["group"]
        for phone in ("01023456789", "+82 10 9876 5432"):  # Kim and Lee, written otherwise
            r = await http.post(f"/api/rosters/{group['id']}/members", json={"phone": phone})
            assert r.status_code == 201, r.text
        # Another official's group cannot be targeted; nothing is made.
        other_once = await make_official(svc, "lee.transport", "Transport")
        async with official(node.url, "lee.transport", other_once) as lee_official:
            before = (await lee_official.http.get("/api/polls")).json()["polls"]
            r = await lee_official.http.post(
                "/api/polls",
                json=poll_body(kind="policy_reference", target={"groups": [group["id"]]}),
            )
            assert r.status_code == 404, r.text
            assert (await lee_official.http.get("/api/polls")).json()["polls"] == before
        r = await http.post(
            "/api/polls",
            json=poll_body(kind="policy_reference", target={"groups": [group["id"]]}),
        )
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        assert poll["target"]["groups"] == 1  # counted, never named, on the public view
        await wait_status(svc, poll["id"], "open")
        qid = poll["questions"][0]["id"]
        assert (await park.http.get(f"/api/polls/{poll['id']}")).json()["poll"]["for_you"][
            "code"
        ] == "not_eligible"
        # Lee leaves the roster before voting; Park joins it.
        r = await http.post(
            f"/api/rosters/{group['id']}/members/remove", json={"phone": "010-9876-5432"}
        )
        assert r.status_code == 200, r.text
        r = await http.post(f"/api/rosters/{group['id']}/members", json={"phone": PARK})
        assert r.status_code == 201, r.text
        for person, code in ((kim, None), (lee, "not_eligible"), (park, None)):
            async with connect(node.url, headers=person.cookie_header()) as c:
                assert (await c.call("join", {"poll": poll["id"]}))["ok"]
                ack = await c.vote(qid, [0])
                assert ack["ok"] if code is None else ack["error"]["code"] == code, ack
    assert (await live_state(svc, qid))["tally"]["total"] == "2"
