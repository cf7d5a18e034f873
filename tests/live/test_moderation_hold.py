"""A poll the monitors hide is held on every node at once: a page that joined it before
the hide can no longer cast on it (the cast script refuses), "near me" stops finding it,
and once restored it takes ballots and is found again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from live.jobs import JobWorker, running_jobs
from live.moderation import monitors
from live.services import Services
from tests.conftest import Node, connect
from tests.live.citizenry import citizen, make_citizen
from tests.live.test_polls import poll_body, wait_status

KIM, PARK = "010-2345-6789", "010-1111-2222"
SEOUL_HALL = {"lat": 37.5665, "lon": 126.978}


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


async def test_a_page_joined_before_the_hide_cannot_cast_until_the_poll_is_restored(
    node: Node, node_b: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, PARK):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node.url, PARK) as park:
        r = await kim.http.post(
            "/api/polls",
            json=poll_body(
                place=SEOUL_HALL,
                questions=[
                    {"title": "Pick one", "options": "Tea,Coffee"},
                    {"title": "And one more", "options": "Yes,No"},
                ],
            ),
        )
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        first, second = (q["id"] for q in poll["questions"])
        await wait_status(svc, poll["id"], "open")
        near = {"lat": 37.57, "lon": 126.98, "radius_km": 5}

        async def found_near() -> list[str]:
            listed = (await kim.http.get("/api/polls/near", params=near)).json()["polls"]
            return [p["id"] for p in listed]

        assert await found_near() == [poll["id"]]
        await monitors.add_monitor(svc, by="cli", citizen_id=park.id)

        # Kim's page joined on the second node before the monitors acted.
        async with connect(node_b.url, headers=kim.cookie_header()) as page:
            assert (await page.call("join", {"poll": poll["id"]}))["ok"]
            assert (await page.vote(first, [1]))["ok"]
            r = await park.http.post(
                "/api/moderation/actions",
                json={"kind": "poll", "id": poll["id"], "action": "hide", "reason": "Spam"},
            )
            assert r.status_code == 200, r.text
            ack = await page.vote(second, [0])
            assert not ack["ok"] and ack["error"]["code"] == "poll_hidden", ack
            assert (
                ack["error"]["message"] == "The monitors hid this poll: it takes no more ballots."
            )
            assert "{" not in ack["error"]["message"]
            assert await found_near() == []
            tally = await svc.redis.hget(svc.keys.tally(second), "total")
            assert int(tally or 0) == 0  # nothing counted, nothing to undo

            r = await park.http.post(
                "/api/moderation/actions",
                json={"kind": "poll", "id": poll["id"], "action": "restore", "reason": "Fine"},
            )
            assert r.status_code == 200, r.text
            assert (await page.vote(second, [0]))["ok"]
        assert await found_near() == [poll["id"]]
        assert int(await svc.redis.hget(svc.keys.tally(second), "total") or 0) == 1

        # Deleted: closed, and never found near again.
        r = await park.http.post(
            "/api/moderation/actions",
            json={"kind": "poll", "id": poll["id"], "action": "delete", "reason": "Repeated"},
        )
        assert r.status_code == 200
        await wait_status(svc, poll["id"], "closed")
        assert await found_near() == []
