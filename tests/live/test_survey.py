"""Surveys over the real socket: one form, one atomic ballot, counted per part, one ledger
entry per ballot, recounted from the log, exported per part and one row per ballot."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa

from live import store
from live.engines import db
from live.services import Services, open_services
from live.settings import Settings
from rooms.log_export import LogExport, recount_export
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import live_state
from tests.live.hosting import Host, create_room, signed_in
from tests.live.test_ledger import verification

#: Venue (single, required) · Topics (at most 2 of 3, optional) · Satisfaction (1-5) ·
#: Again? (yes/no). Flattened options: 0-1 venue, 2-4 topics, 5-9 rating, 10-11 yes/no.
SURVEY: dict[str, Any] = {
    "title": "Conference feedback",
    "kind": "survey",
    "parts": [
        {"title": "Venue", "kind": "single", "options": ["City hall", "Library"]},
        {
            "title": "Topics",
            "kind": "multiple",
            "options": ["Parks", "Buses", "Housing"],
            "max_choices": 2,
            "required": False,
        },
        {"title": "Satisfaction", "kind": "rating", "scale": 5},
        {"title": "Come again?", "kind": "yesno"},
    ],
}
#: Each part's picks by its own indexes, as the page sends them.
FULL = [[1], [0, 2], [3], [0]]


@pytest.fixture
async def host(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "surveyor@example.org") as h:
        yield h


async def _survey(host: Host, body: dict[str, Any] = SURVEY) -> tuple[dict[str, Any], str]:
    room = await create_room(host.http, "Feedback room")
    r = await host.http.post(f"/api/rooms/{room['id']}/questions", json=body)
    assert r.status_code == 201, r.text
    qid: str = r.json()["question"]["id"]
    assert (await host.http.post(f"/api/questions/{qid}/open")).status_code == 200
    return room, qid


async def _ballot(c: Any, qid: str, parts: list[list[int]]) -> dict[str, Any]:
    ack: dict[str, Any] = await c.call("vote", {"question": qid, "parts": parts})
    return ack


async def test_a_full_survey_ballot_is_counted_in_each_part(
    node: Node, svc: Services, host: Host
) -> None:
    room, qid = await _survey(host)
    async with connect(node.url) as c:
        joined = await c.join(room["number"], key=room["key"])
        shown = joined["questions"][0]
        assert shown["kind"] == "survey"
        assert [(p["title"], p["kind"], p["first"], p["size"]) for p in shown["parts"]] == [
            ("Venue", "single", 0, 2),
            ("Topics", "multiple", 2, 3),
            ("Satisfaction", "rating", 5, 5),
            ("Come again?", "yesno", 10, 2),
        ]
        assert [o["label"] for o in shown["options"]][5:] == ["1", "2", "3", "4", "5", "Yes", "No"]
        ack = await _ballot(c, qid, FULL)
        assert ack["ok"] is True and len(ack["receipt"]) == 64
        # Library, Parks and Housing, a 4 of 5, yes: one count each, one ballot.
        state = await live_state(svc, qid)
        assert state["tally"] == {"1": "1", "2": "1", "4": "1", "8": "1", "10": "1", "total": "1"}
        assert state["stream"] == 1 and len(state["voters"]) == 1
        await c.wait_for(lambda: any(t["total"] == 1 for t in c.tallies(qid)))
        last = c.tallies(qid)[-1]
        assert last["counts"] == [0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0]
        # An optional part may be left out.
        async with connect(node.url) as other:
            await other.join(room["number"], key=room["key"])
            assert (await _ballot(other, qid, [[0], [], [4], [1]]))["ok"] is True
        state = await live_state(svc, qid)
        assert state["tally"] == {
            "0": "1", "1": "1", "2": "1", "4": "1", "8": "1", "9": "1", "10": "1", "11": "1",
            "total": "2",
        }  # fmt: skip


@pytest.mark.parametrize(
    ("parts", "code", "part"),
    [
        pytest.param([[0], [0], [9], [0]], "invalid_choice", 2, id="a-rating-past-its-scale"),
        pytest.param([[0], [0, 1, 2], [3], [0]], "too_many_choices", 1, id="three-of-two-topics"),
        pytest.param([[0], [1], [3], []], "part_unanswered", 3, id="a-required-part-left-out"),
        pytest.param([[0, 0], [], [3], [0]], "invalid_choice", 0, id="a-pick-given-twice"),
        pytest.param([[], [], [], []], "part_unanswered", 0, id="nothing-answered"),
    ],
)
async def test_a_ballot_with_one_bad_part_is_refused_whole_and_the_voter_may_vote_again(
    node: Node, svc: Services, host: Host, parts: list[list[int]], code: str, part: int
) -> None:
    room, qid = await _survey(host)
    async with connect(node.url) as c:
        await c.join(room["number"], key=room["key"])
        refused = await _ballot(c, qid, parts)
        assert refused["ok"] is False
        assert refused["error"]["code"] == code
        assert refused["error"]["message"]
        assert refused["error"]["part"] == part
        assert f"Part {part + 1}" in refused["error"]["message"]
        assert await live_state(svc, qid) == {
            "tally": {},
            "voters": [],
            "stream": 0,
            "status": "open",
        }
        assert (await _ballot(c, qid, FULL))["ok"] is True
        assert (await live_state(svc, qid))["tally"]["total"] == "1"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"parts": [[0], [1]]}, id="fewer-parts-than-the-survey"),
        pytest.param({"choices": [0]}, id="choices-instead-of-parts"),
        pytest.param({"parts": [[0], [1], [2], [0]], "choices": [0]}, id="both"),
        pytest.param({"parts": [["0"], [], [2], [0]]}, id="a-pick-that-is-no-index"),
        pytest.param({"parts": "0,1"}, id="parts-not-a-list"),
    ],
)
async def test_a_malformed_survey_ballot_is_a_bad_request(
    node: Node, svc: Services, host: Host, payload: dict[str, Any]
) -> None:
    room, qid = await _survey(host)
    async with connect(node.url) as c:
        await c.join(room["number"], key=room["key"])
        refused = await c.call("vote", {"question": qid, **payload})
        assert refused["ok"] is False and refused["error"]["code"] == "bad_request"
        assert refused["error"]["message"]
        assert (await live_state(svc, qid))["voters"] == []


async def test_the_cast_script_itself_refuses_a_survey_ballot_missing_a_required_part(
    node: Node, svc: Services, host: Host
) -> None:
    """A node with a stale definition still cannot count a ballot that skips a part."""
    _, qid = await _survey(host)
    keys = svc.keys.cast(qid)
    base = ["voter", "", 1, "0" * 32, "00", "", 0]
    for choices, code in [
        ("0,5", "part_unanswered"),  # no yes/no answer
        ("0,2,3,4,10", "invalid_choice"),  # three topics of at most two
        ("0,1,5,10", "invalid_choice"),  # two venues
    ]:
        reply = await svc.scripts.cast(keys=keys, args=[base[0], choices, *base[2:]])
        assert reply == [0, code], choices
    assert (await live_state(svc, qid))["voters"] == []
    assert await svc.scripts.cast(keys=keys, args=[base[0], "1,5,10", *base[2:]]) == [
        1,
        (await svc.redis.xrange(svc.keys.stream(qid)))[-1][0],
    ]


async def test_a_second_survey_ballot_is_already_voted_and_two_tabs_count_once(
    node: Node, svc: Services, host: Host
) -> None:
    room, qid = await _survey(host)
    async with connect(node.url) as first:
        await first.join(room["number"], key=room["key"])
        device = first.device
        async with connect(node.url, device=device) as second:
            await second.join(room["number"], key=room["key"])
            answers = await asyncio.gather(
                _ballot(first, qid, FULL), _ballot(second, qid, [[0], [1], [0], [1]])
            )
        assert sorted(a["ok"] for a in answers) == [False, True]
        assert [a["error"]["code"] for a in answers if not a["ok"]] == ["already_voted"]
        again = await _ballot(first, qid, FULL)
        assert again["ok"] is False and again["error"]["code"] == "already_voted"
        state = await live_state(svc, qid)
        assert state["tally"]["total"] == "1" and state["stream"] == 1
        assert sum(int(v) for k, v in state["tally"].items() if k != "total") == (
            5 if answers[0]["ok"] else 4
        )


async def test_each_survey_ballot_is_one_ledger_entry_and_the_log_recounts_the_tally(
    witnessed: Settings, witnessed_node: Node
) -> None:
    node = witnessed_node
    ballots = [FULL, [[0], [], [4], [1]], [[0], [1], [4], [0]]]
    async with (
        open_services(witnessed) as svc,
        signed_in(node.url, "ledger@example.org") as host,
        httpx.AsyncClient(base_url=node.url) as http,
    ):
        room, qid = await _survey(host)
        async with running_worker(svc):
            for parts in ballots:
                async with connect(node.url) as c:
                    await c.join(room["number"], key=room["key"])
                    assert (await _ballot(c, qid, parts))["ok"]
            assert (await host.http.post(f"/api/questions/{qid}/close")).status_code == 200
            verdict = await verification(svc, qid)
        assert verdict["status"] == "completed", verdict
        q = await store.load_question(svc, qid)
        assert q is not None and q.log_id is not None
        export = LogExport.parse((await http.get(f"/ledger/{q.log_id}/export")).content)
        (live,) = (await store.tallies(svc, [q])).values()
        assert live["counts"] == [2, 1, 1, 1, 1, 0, 0, 0, 1, 2, 2, 1]
        assert recount_export(export) == {
            "counts": live["counts"],
            "total": 3,
            "verified": True,
            "reason": None,
        }
        async with svc.engine.connect() as conn:
            size = await conn.scalar(
                sa.select(db.ledger_logs.c.size).where(db.ledger_logs.c.id == q.log_id)
            )
            archived = (
                await conn.execute(
                    sa.select(db.ballots.c.choices)
                    .where(db.ballots.c.question_id == qid)
                    .order_by(db.ballots.c.id)
                )
            ).all()
        assert size == 1 + len(ballots) + 1  # the opening, one entry per ballot, the closing
        # Each entry carries all its parts, as indexes into the survey's options.
        assert [list(row.choices) for row in archived] == [
            [1, 2, 4, 8, 10],
            [0, 9, 11],
            [0, 3, 9, 10],
        ]


async def test_survey_exports_per_part_and_one_row_per_ballot(
    node: Node, svc: Services, host: Host
) -> None:
    room, qid = await _survey(host)
    async with running_worker(svc):
        for parts in (FULL, [[0], [], [4], [1]]):
            async with connect(node.url) as c:
                await c.join(room["number"], key=room["key"])
                assert (await _ballot(c, qid, parts))["ok"]
        assert (await host.http.post(f"/api/questions/{qid}/close")).status_code == 200
        await verification(svc, qid)

        r = await host.http.get(f"/api/questions/{qid}/export.csv")
        assert r.status_code == 200, r.text
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["Room title", "Feedback room"]
        assert rows[1] == ["Question", "Conference feedback"]
        assert rows[4] == ["Ballots", "2"]
        assert rows[5:] == [
            [],
            ["Part 1: Venue", "Single choice"],
            ["Option", "Count", "Percent"],
            ["City hall", "1", "50.0"],
            ["Library", "1", "50.0"],
            [],
            ["Part 2: Topics", "Multiple choice"],
            ["Option", "Count", "Percent"],
            ["Parks", "1", "50.0"],
            ["Buses", "0", "0.0"],
            ["Housing", "1", "50.0"],
            [
                "Percentages are of voters: each could choose up to 2, so they may add up to "
                "more than 100%."
            ],
            [],
            ["Part 3: Satisfaction", "Rating scale"],
            ["Option", "Count", "Percent"],
            ["1", "0", "0.0"],
            ["2", "0", "0.0"],
            ["3", "0", "0.0"],
            ["4", "1", "50.0"],
            ["5", "1", "50.0"],
            ["Average", "4.5"],
            [],
            ["Part 4: Come again?", "Yes / no"],
            ["Option", "Count", "Percent"],
            ["Yes", "1", "50.0"],
            ["No", "1", "50.0"],
        ]

        r = await host.http.get(f"/api/questions/{qid}/ballots.csv")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["Ballot", "Time (UTC)", "Venue", "Topics", "Satisfaction", "Come again?"]
        assert [row[:1] + row[2:] for row in rows[1:]] == [
            ["1", "Library", "Parks / Housing", "4", "Yes"],
            ["2", "City hall", "", "5", "No"],
        ]

        r = await host.http.get(f"/api/questions/{qid}/export.xlsx")
        assert r.status_code == 200, r.text
        wb = openpyxl.load_workbook(io.BytesIO(r.content))
        assert wb.sheetnames == [
            "1. Venue",
            "2. Topics",
            "3. Satisfaction",
            "4. Come again",
            "Ballots",
        ]
        sheet = [list(row) for row in wb["3. Satisfaction"].iter_rows(values_only=True)]
        assert sheet[4] == ["Part 3: Satisfaction", "Rating scale", None]
        assert sheet[7:] == [
            ["1", 0, 0.0],
            ["2", 0, 0.0],
            ["3", 0, 0.0],
            ["4", 1, 0.5],
            ["5", 1, 0.5],
            ["Ballots", 2, None],
            ["Average", 4.5, None],
        ]
        ballots = [list(row) for row in wb["Ballots"].iter_rows(values_only=True)]
        assert ballots[0] == [
            "Ballot",
            "Time (UTC)",
            "Venue",
            "Topics",
            "Satisfaction",
            "Come again?",
        ]
        assert [row[:1] + row[2:] for row in ballots[1:]] == [
            [1, "Library", "Parks / Housing", "4", "Yes"],
            [2, "City hall", None, "5", "No"],  # an empty cell for the part left out
        ]

        # Another kind has no rows per ballot.
        other = await host.http.post(
            f"/api/rooms/{room['id']}/questions", json={"title": "Q", "options": "A,B"}
        )
        r = await host.http.get(f"/api/questions/{other.json()['question']['id']}/ballots.csv")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def _part(title: str, kind: str, options: list[str] | None = None) -> dict[str, Any]:
    return {"title": title, "kind": kind, "options": options or ["a", "b"]}


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        pytest.param([], "1 to 20 parts", id="no-parts"),
        pytest.param([_part("Order", "ranking")], "kind", id="a-ranking-part"),
        pytest.param([_part("", "single")], "part title", id="untitled"),
        pytest.param([_part("One", "single", ["a"])], "part 1 needs 2", id="one-option"),
        pytest.param(
            [{**_part("M", "multiple"), "max_choices": 3}],
            "max_choices",
            id="more-picks-than-options",
        ),
    ],
)
async def test_a_host_is_told_which_part_is_wrong_and_nothing_is_added(
    node: Node, svc: Services, host: Host, parts: list[dict[str, Any]], fragment: str
) -> None:
    room = await create_room(host.http, "Feedback room")
    r = await host.http.post(
        f"/api/rooms/{room['id']}/questions", json={"title": "S", "kind": "survey", "parts": parts}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"
    assert fragment in r.json()["error"]["message"]
    listed = await host.http.get(f"/api/rooms/{room['id']}")
    assert listed.json()["questions"] == []


async def test_a_draft_survey_is_edited_and_its_parts_are_checked_again(
    node: Node, svc: Services, host: Host
) -> None:
    room = await create_room(host.http, "Feedback room")
    r = await host.http.post(f"/api/rooms/{room['id']}/questions", json=SURVEY)
    qid = r.json()["question"]["id"]
    parts = [*SURVEY["parts"][:2], {"title": "Lunch", "kind": "yesno", "required": False}]
    r = await host.http.patch(f"/api/questions/{qid}", json={"parts": parts})
    assert r.status_code == 200, r.text
    assert [p["title"] for p in r.json()["question"]["parts"]] == ["Venue", "Topics", "Lunch"]
    r = await host.http.patch(f"/api/questions/{qid}", json={"title": "Feedback, day 2"})
    assert [p["title"] for p in r.json()["question"]["parts"]] == ["Venue", "Topics", "Lunch"]
    assert (await host.http.post(f"/api/questions/{qid}/open")).status_code == 200
    async with connect(node.url) as c:
        await c.join(room["number"], key=room["key"])
        # The cast script reads the edited parts: the last is optional now.
        assert (await _ballot(c, qid, [[0], [1], []]))["ok"] is True
        assert (await live_state(svc, qid))["tally"] == {"0": "1", "3": "1", "total": "1"}


async def test_a_survey_whose_results_wait_for_the_close_shows_no_count_before_it(
    node: Node, svc: Services, host: Host
) -> None:
    room, qid = await _survey(host, {**SURVEY, "visibility": "after_close"})
    async with connect(node.url) as voter, connect(node.url) as watcher:
        await watcher.join(room["number"], key=room["key"])
        joined = await voter.join(room["number"], key=room["key"])
        assert "tally" not in joined["questions"][0]
        assert (await _ballot(voter, qid, FULL))["ok"] is True
        await asyncio.sleep(0.5)  # past the tally interval: nothing may arrive
        assert voter.tallies(qid) == [] and watcher.tallies(qid) == []
        again = await watcher.join(room["number"], key=room["key"])
        assert "tally" not in again["questions"][0]
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            r = await anyone.get(f"/api/questions/{qid}/ballots.csv")
            assert r.status_code in (401, 403, 404), r.text
        assert (await host.http.post(f"/api/questions/{qid}/close")).status_code == 200
        await watcher.wait_for(lambda: any(t["total"] == 1 for t in watcher.tallies(qid)))
