"""What a poll's join reads of the voter (``live.eligibility``): nothing from the database
for a poll open to every signed-in citizen; for a targeted poll, the facts kept beside the
session, which a change of the profile or of the number rewrites, so that the next join
sees it, on every node. The database's statements are watched on the node's own engine."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from live.jobs import JobWorker, running_jobs
from live.services import Services
from live.settings import Secret, Settings
from rooms.eligibility import AgeBand
from tests.conftest import Node, connect, run_node
from tests.live.citizenry import PASSWORD, Person, citizen, make_citizen, make_official, official
from tests.live.sms_gateway import TOKEN, Gateway, running_gateway
from tests.live.test_polls import open_poll

KIM, LEE = "010-2345-6789", "010-9876-5432"
LEE_E164 = "+821098765432"
TWO_QUESTIONS = [
    {"title": "Pick one", "options": "Tea,Coffee,Juice"},
    {"title": "And one more", "options": "Bread,Cake"},
]


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


@contextlib.contextmanager
def citizens_read(node: Node) -> Iterator[list[str]]:
    """The statements on the citizens table that the node runs meanwhile."""
    engine = node.routes_app.state.services.engine.sync_engine
    seen: list[str] = []

    def saw(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if re.search(r"\bcitizens\b", statement):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", saw)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", saw)


async def join_and_vote(node: Node, person: Person, poll_id: str, qid: str) -> dict[str, Any]:
    async with connect(node.url, headers=person.cookie_header()) as c:
        ack = await c.call("join", {"poll": poll_id})
        assert ack["ok"] and ack["signed_in"], ack
        answer: dict[str, Any] = await c.vote(qid, [0])
        return answer


async def test_a_poll_open_to_every_citizen_is_joined_without_reading_the_citizen(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        poll = await open_poll(kim, svc)
        with citizens_read(node) as seen:
            ack = await join_and_vote(node, kim, poll["id"], poll["questions"][0]["id"])
        assert ack["ok"], ack
        assert seen == []


async def test_a_targeted_poll_reads_the_facts_once_and_sees_a_profile_change_on_every_node(
    node: Node, node_b: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, LEE):
        await make_citizen(svc, phone)
    year = datetime.now(UTC).year
    async with citizen(node.url, KIM) as kim, citizen(node.url, LEE) as lee:
        poll = await open_poll(
            kim, svc, target={"ages": [str(AgeBand.THIRTIES)]}, questions=TWO_QUESTIONS
        )
        first, second = (q["id"] for q in poll["questions"])
        # Lee told nothing: the first join reads the row, later ones on either node do not.
        with citizens_read(node) as seen:
            ack = await join_and_vote(node, lee, poll["id"], first)
        assert ack["error"]["code"] == "profile_incomplete" and len(seen) == 1
        for n in (node, node_b):
            with citizens_read(n) as seen:
                ack = await join_and_vote(n, lee, poll["id"], first)
            assert ack["error"]["code"] == "profile_incomplete" and seen == []
        # A profile told on one node counts from the next join on the other, unread there.
        r = await lee.http.put("/api/citizens/me/profile", json={"birth_year": year - 35})
        assert r.status_code == 200, r.text
        with citizens_read(node_b) as seen:
            assert (await join_and_vote(node_b, lee, poll["id"], first))["ok"]
        assert seen == []
        r = await lee.http.put("/api/citizens/me/profile", json={"birth_year": year - 25})
        assert r.status_code == 200, r.text
        ack = await join_and_vote(node_b, lee, poll["id"], second)
        assert ack["error"]["code"] == "not_eligible", ack
        assert (await lee.http.get(f"/api/polls/{poll['id']}")).json()["poll"]["for_you"][
            "code"
        ] == "not_eligible"


@pytest.fixture
async def texting(settings: Settings) -> AsyncIterator[tuple[Node, Gateway]]:
    """A node that sends its codes to a real SMS gateway (a change of number needs one)."""
    async with running_gateway() as gateway:
        sms = settings.with_(
            sms_provider="http", sms_url=gateway.url, sms_token=Secret(TOKEN.encode())
        )
        async with run_node(sms) as node:
            yield node, gateway


async def test_a_change_of_number_counts_from_the_next_join_of_a_roster_poll(
    texting: tuple[Node, Gateway], svc: Services, jobs: JobWorker
) -> None:
    node, gateway = texting
    once = await make_official(svc, "kim.welfare", "Welfare")
    await make_citizen(svc, KIM)
    async with official(node.url, "kim.welfare", once) as clerk, citizen(node.url, KIM) as kim:
        group = (await clerk.http.post("/api/rosters", json={"name": "Care workers"})).json()
        group_id = group["group"]["id"]
        r = await clerk.http.post(f"/api/rosters/{group_id}/members", json={"phone": LEE})
        assert r.status_code == 201, r.text
        poll = await open_poll(clerk, svc, kind="policy_reference", target={"groups": [group_id]})
        qid = poll["questions"][0]["id"]
        ack = await join_and_vote(node, kim, poll["id"], qid)
        assert ack["error"]["code"] == "not_eligible", ack  # Kim's number is not on it
        r = await kim.http.post(
            "/api/citizens/codes", json={"purpose": "change", "phone": LEE, "password": PASSWORD}
        )
        assert r.status_code == 202, r.text
        code = gateway.last_code(LEE_E164)
        r = await kim.http.post("/api/citizens/me/phone", json={"phone": LEE, "code": code})
        assert r.status_code == 200, r.text
        with citizens_read(node) as seen:
            assert (await join_and_vote(node, kim, poll["id"], qid))["ok"]
        assert seen == []
