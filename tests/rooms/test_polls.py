"""Polls, discovery and reflections as plain values."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.areas import AREAS, Area
from rooms.discovery import Interests, check_position, check_radius, haversine_km, recommended
from rooms.eligibility import Target
from rooms.errors import ErrorCode, VotingError
from rooms.polls import (
    Author,
    PollKind,
    PollStatus,
    check_author,
    check_edit,
    check_poll,
    check_reflecting,
    check_reflection,
    check_tags,
    may_manage,
    status_at,
)

NOW = 1_800_000_000_000


def body(**extra: Any) -> dict[str, Any]:
    return {"title": "T", "area": "culture", "closes_ms": NOW + 3_600_000, **extra}


def test_the_twelve_areas_are_written_once() -> None:
    assert len(Area) == 12 and set(AREAS) == set(Area)
    assert {"welfare", "economy", "women", "safety", "housing", "environment", "culture",
            "transport", "traffic", "tax"} <= {a.value for a in Area}  # fmt: skip


def test_a_poll_opens_now_unless_later_and_runs_its_shortest_at_least() -> None:
    spec = check_poll(body(), now_ms=NOW)
    assert (spec.kind, spec.opens_ms, spec.area) == (PollKind.GENERAL, NOW, Area.CULTURE)
    assert check_poll(body(opens_ms=NOW - 60_000), now_ms=NOW).opens_ms == NOW  # a minute ago
    with pytest.raises(VotingError):
        check_poll(body(opens_ms=NOW - 3_600_000), now_ms=NOW)
    with pytest.raises(VotingError):
        check_poll(body(closes_ms=NOW + 30_000), now_ms=NOW)
    assert check_poll(body(closes_ms=NOW + 3_000), now_ms=NOW, shortest_ms=2_000).closes_ms
    with pytest.raises(VotingError):
        check_poll(body(closes_ms=NOW + 400 * 86_400_000), now_ms=NOW)


@pytest.mark.parametrize(
    "extra",
    [
        {"area": "sports"},
        {"kind": "referendum"},
        {"title": ""},
        {"title": "x" * 201},
        {"closes_ms": "tomorrow"},
        {"closes_ms": True},
        {"place": {"lat": 91, "lon": 0}},
        {"place": {"lat": float("nan"), "lon": 0}},
        {"place": "Seoul"},
        {"tags": [1, 2]},
        {"tags": [f"t{n}" for n in range(11)]},
        {"image": "http://elsewhere/x.png"},
    ],
)
def test_a_bad_poll_is_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(VotingError) as refused:
        check_poll(body(**extra), now_ms=NOW)
    assert refused.value.code is ErrorCode.BAD_REQUEST


def test_tags_are_matched_as_written_once() -> None:
    assert check_tags(["#Park", "park", " Seoul Forest ", "", "ＰＡＲＫ"]) == (
        "park",
        "seoul-forest",
    )
    assert check_tags("bike, #lane") == ("bike", "lane")


def test_citizens_open_general_polls_and_officials_policy_ones() -> None:
    citizen = Author(citizen_id="c1")
    official = Author(host_id="h1", department_id="d1")
    host = Author(host_id="h2")
    check_author(PollKind.GENERAL, citizen)
    check_author(PollKind.POLICY_DECISION, official)
    for kind, who, code in [
        (PollKind.POLICY_DECISION, citizen, ErrorCode.NOT_OFFICIAL),
        (PollKind.POLICY_REFERENCE, host, ErrorCode.NOT_OFFICIAL),
        (PollKind.GENERAL, official, ErrorCode.UNAUTHORIZED),
    ]:
        with pytest.raises(VotingError) as refused:
            check_author(kind, who)
        assert refused.value.code is code


def test_a_poll_is_managed_by_its_author_or_its_department() -> None:
    a1, a2 = Author(host_id="h1", department_id="A"), Author(host_id="h2", department_id="A")
    b = Author(host_id="h3", department_id="B")
    assert may_manage(PollKind.POLICY_DECISION, a1, a2)
    assert not may_manage(PollKind.POLICY_DECISION, a1, b)
    kim, lee = Author(citizen_id="kim"), Author(citizen_id="lee")
    assert may_manage(PollKind.GENERAL, kim, kim) and not may_manage(PollKind.GENERAL, kim, lee)


def test_only_title_description_and_tags_change() -> None:
    spec = check_poll(body(), now_ms=NOW)
    changed = check_edit({"title": "New", "tags": ["x"]}, spec)
    assert (changed.title, changed.tags, changed.closes_ms) == ("New", ("x",), spec.closes_ms)
    for bad in ({}, {"closes_ms": 1}, {"title": ""}):
        with pytest.raises(VotingError):
            check_edit(bad, spec)


def test_a_reflection_is_for_a_closed_policy_poll_with_a_day_and_a_web_link() -> None:
    r = check_reflection({"text": " Done. ", "date": "2027-03-02", "link": "https://x.kr/1"})
    assert (r.text, r.reflected_on, r.link) == ("Done.", "2027-03-02", "https://x.kr/1")
    for bad in ({"text": "x", "date": "2027-02-30"}, {"text": "x", "date": "2027-3-2"},
                {"text": "", "date": "2027-03-02"},
                {"text": "x", "date": "2027-03-02", "link": "javascript:alert(1)"}):  # fmt: skip
        with pytest.raises(VotingError):
            check_reflection(bad)
    check_reflecting(PollKind.POLICY_REFERENCE, PollStatus.CLOSED)
    with pytest.raises(VotingError):
        check_reflecting(PollKind.GENERAL, PollStatus.CLOSED)
    with pytest.raises(VotingError):
        check_reflecting(PollKind.POLICY_DECISION, PollStatus.OPEN)


def test_status_follows_the_times() -> None:
    assert status_at(10, 20, 5) is PollStatus.SCHEDULED
    assert status_at(10, 20, 10) is PollStatus.OPEN
    assert status_at(10, 20, 20) is PollStatus.CLOSED


def test_distances_and_radii() -> None:
    # Seoul City Hall to Busan City Hall: about 325 km.
    assert 320 < haversine_km(37.5663, 126.9779, 35.1798, 129.0750) < 330
    assert haversine_km(37.5, 127.0, 37.5, 127.0) == 0
    assert check_radius("2") == 2.0
    for bad in ("0", "51", "far", None, "nan"):
        with pytest.raises(VotingError):
            check_radius(bad)
    assert check_position("37.5", 127) == (37.5, 127.0)
    with pytest.raises(VotingError):
        check_position(90, 0)


def test_recommended_ranks_by_shared_tags_and_areas() -> None:
    interests = Interests.of(
        [(("bicycle", "park"), Area.TRAFFIC), (("bicycle",), Area.ENVIRONMENT)]
    )
    candidates = [
        ("books", ("library",), Area.EDUCATION),
        ("lanes", ("bicycle",), Area.TRANSPORT),
        ("green", ("park",), Area.ENVIRONMENT),
        ("both", ("bicycle", "park"), Area.TRAFFIC),
    ]
    assert recommended(interests, candidates) == ["both", "lanes", "green"]
    assert recommended(Interests.of([]), candidates) == []


def test_only_a_host_asks_for_the_on_site_code() -> None:
    site = Target(site=True)
    check_author(PollKind.POLICY_REFERENCE, Author(host_id="h1", department_id="d1"), site)
    with pytest.raises(VotingError) as refused:
        check_author(PollKind.GENERAL, Author(citizen_id="c1"), site)
    assert refused.value.code is ErrorCode.BAD_REQUEST
    assert "on-site code" in refused.value.text()
    check_author(PollKind.GENERAL, Author(citizen_id="c1"), Target(radius_m=100))
