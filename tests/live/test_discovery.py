"""Finding polls: "near me" against a brute-force haversine, the daily "Hot" badge run
as the scheduled job it is, "Recommended" from the tags of the polls voted in, and the
list's filters (area, words, a citizen's chosen areas)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live.clock import now_ms
from live.jobs import JobWorker
from live.polls import discovery
from live.schedule import queue
from live.services import Services
from rooms.discovery import haversine_km
from tests.conftest import Node, connect, running_worker
from tests.live.citizenry import citizen, make_citizen
from tests.live.test_polls import jobs, poll_body, wait_status  # noqa: F401 (a fixture)

KIM, LEE = "010-2345-6789", "010-9876-5432"
SEOUL = (37.5665, 126.9780)

points = st.tuples(
    st.floats(min_value=SEOUL[0] - 0.3, max_value=SEOUL[0] + 0.3),
    st.floats(min_value=SEOUL[1] - 0.3, max_value=SEOUL[1] + 0.3),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    places=st.lists(points, min_size=1, max_size=30),
    me=points,
    radius=st.floats(min_value=0.1, max_value=50),
)
async def test_near_me_is_exactly_the_polls_inside_the_radius(
    svc: Services, places: list[tuple[float, float]], me: tuple[float, float], radius: float
) -> None:
    await svc.redis.delete(svc.keys.polls_near())
    for i, (lat, lon) in enumerate(places):
        await svc.redis.geoadd(svc.keys.polls_near(), (lon, lat, f"p{i}"))
    found = dict(await discovery.nearby(svc, me[0], me[1], radius))
    for i, (lat, lon) in enumerate(places):
        true = haversine_km(me[0], me[1], lat, lon)
        if abs(true - radius) < 0.002:  # within 2 m of the edge: Valkey's geohash rounds
            continue
        assert (f"p{i}" in found) == (true <= radius), (i, true, radius)
        if f"p{i}" in found:
            assert abs(found[f"p{i}"] - true) < 0.002
    distances = list(found.values())
    assert distances == sorted(distances)


async def test_near_me_over_http_lists_open_polls_with_their_distance(
    node: Node,
    svc: Services,
    jobs: JobWorker,  # noqa: F811
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        here = (
            await kim.http.post(
                "/api/polls", json=poll_body(place={"lat": 37.5665, "lon": 126.978})
            )
        ).json()["poll"]
        far = (
            await kim.http.post(
                "/api/polls", json=poll_body(place={"lat": 35.1796, "lon": 129.0756})
            )
        ).json()["poll"]
        r = await kim.http.get(
            "/api/polls/near", params={"lat": 37.57, "lon": 126.98, "radius_km": 5}
        )
        assert [p["id"] for p in r.json()["polls"]] == [here["id"]]
        assert 0 < r.json()["polls"][0]["distance_km"] < 1
        r = await kim.http.get(
            "/api/polls/near", params={"lat": 37.57, "lon": 126.98, "radius_km": 400}
        )
        assert r.json()["error"]["code"] == "bad_request"
        r = await kim.http.get("/api/polls/near", params={"lat": "north", "lon": 126.98})
        assert r.json()["error"]["code"] == "bad_request"
        assert far["id"]


async def vote_on(node: Node, person: Any, poll: dict[str, Any], choice: int = 0) -> None:
    async with connect(node.url, headers=person.cookie_header()) as sock:
        assert (await sock.call("join", {"poll": poll["id"]}))["ok"]
        ack = await sock.vote(poll["questions"][0]["id"], [choice])
        assert ack["ok"], ack


async def run_hot_job(svc: Services) -> None:
    """The daily job, enqueued by name and run by the worker as at midnight."""
    client = queue(svc)
    try:
        job = await client.enqueue_job("refresh_hot")
        assert job is not None
        await job.result(timeout=10)
    finally:
        await client.aclose()


async def test_the_hot_badge_moves_when_votes_do(
    node: Node,
    svc: Services,
    jobs: JobWorker,  # noqa: F811
) -> None:
    phones = [f"010-3000-{n:04d}" for n in range(5)]
    for phone in phones:
        await make_citizen(svc, phone)
    async with citizen(node.url, phones[0]) as author:
        made = [
            (await author.http.post("/api/polls", json=poll_body(title=f"Poll {n}"))).json()["poll"]
            for n in range(4)
        ]
    for p in made:
        await wait_status(svc, p["id"], "open")
    async with running_worker(svc):

        async def cast(votes: dict[int, range]) -> None:
            for poll_index, who in votes.items():
                for n in who:
                    async with citizen(node.url, phones[n]) as person:
                        await vote_on(node, person, made[poll_index])

        await cast({0: range(1), 1: range(3), 2: range(2)})
        await asyncio.sleep(0.5)  # archived
        await run_hot_job(svc)
        assert await discovery.hot(svc) == [made[1]["id"], made[2]["id"], made[0]["id"]]
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            listed = {p["id"]: p["hot"] for p in (await anyone.get("/api/polls")).json()["polls"]}
        assert listed[made[1]["id"]] == 1 and listed[made[3]["id"]] is None
        await cast({3: range(5), 0: range(1, 4)})  # poll 3 gets five, poll 0 three more
        await asyncio.sleep(0.5)
        await run_hot_job(svc)
        assert await discovery.hot(svc) == [made[3]["id"], made[0]["id"], made[1]["id"]]


async def test_recommended_follows_the_tags_of_the_polls_voted_in(
    node: Node,
    svc: Services,
    jobs: JobWorker,  # noqa: F811
) -> None:
    await make_citizen(svc, KIM)
    await make_citizen(svc, LEE)
    async with citizen(node.url, KIM) as kim, citizen(node.url, LEE) as lee:
        cycling = (
            await lee.http.post(
                "/api/polls", json=poll_body(title="Bike lanes", area="traffic", tags=["bicycle"])
            )
        ).json()["poll"]
        more = (
            await lee.http.post(
                "/api/polls",
                json=poll_body(title="Bike parking", area="transport", tags=["bicycle", "parking"]),
            )
        ).json()["poll"]
        other = (
            await lee.http.post(
                "/api/polls",
                json=poll_body(title="Library hours", area="education", tags=["books"]),
            )
        ).json()["poll"]
        for p in (cycling, more, other):
            await wait_status(svc, p["id"], "open")
        listed = {p["id"]: p for p in (await kim.http.get("/api/polls")).json()["polls"]}
        assert not any(p["recommended"] for p in listed.values())  # no votes yet
        await vote_on(node, kim, cycling)
        listed = {p["id"]: p for p in (await kim.http.get("/api/polls")).json()["polls"]}
        assert listed[cycling["id"]]["voted"] and not listed[cycling["id"]]["recommended"]
        assert listed[more["id"]]["recommended"]
        assert not listed[other["id"]]["recommended"]
        # Lee voted nowhere: nothing recommended to Lee.
        listed = (await lee.http.get("/api/polls")).json()["polls"]
        assert not any(p["recommended"] or p["voted"] for p in listed)


async def test_the_list_filters_by_area_words_and_the_citizens_areas(
    node: Node, svc: Services
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        made = {}
        for title, area in [
            ("Night buses", "transport"),
            ("Park benches", "environment"),
            ("Bus stop shelters", "transport"),
        ]:
            made[title] = (
                await kim.http.post("/api/polls", json=poll_body(title=title, area=area))
            ).json()["poll"]["id"]

        async def titles(**params: str) -> list[str]:
            r = await kim.http.get("/api/polls", params=params)
            assert r.status_code == 200, r.text
            return [p["title"] for p in r.json()["polls"]]

        assert await titles() == ["Bus stop shelters", "Park benches", "Night buses"]
        assert await titles(area="transport") == ["Bus stop shelters", "Night buses"]
        assert await titles(q="bus") == ["Bus stop shelters", "Night buses"]
        assert await titles(q="park bench") == ["Park benches"]
        assert await titles(q="100%") == []
        r = await kim.http.get("/api/polls", params={"area": "sports"})
        assert r.json()["error"]["code"] == "bad_request"
        assert (await kim.http.get("/api/citizens/me/areas")).json()["areas"] is None
        r = await kim.http.put("/api/citizens/me/areas", json={"areas": ["environment"]})
        assert r.json()["areas"] == ["environment"]
        assert await titles(my_areas="1") == ["Park benches"]
        r = await kim.http.put("/api/citizens/me/areas", json={"areas": ["sports"]})
        assert r.json()["error"]["code"] == "bad_request"
        assert (await kim.http.get("/api/citizens/me/areas")).json()["areas"] == ["environment"]
        await kim.http.put("/api/citizens/me/areas", json={"areas": None})
        assert len(await titles(my_areas="1")) == 3
    assert now_ms() > 0
