"""Results out: one question as CSV and XLSX, a room's printable summary."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from live.services import Services
from tests.conftest import Node, connect, running_worker
from tests.live.hosting import Host, add_question, assert_error, create_room, signed_in


@pytest.fixture
async def host(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "host@example.org") as h:
        yield h


async def _voted(
    node: Node, host: Host, room: dict[str, Any], q: str, ballots: list[list[int]]
) -> None:
    assert (await host.http.post(f"/api/questions/{q}/open")).status_code == 200
    for choices in ballots:
        async with connect(node.url) as attendee:
            await attendee.join(room["number"], key=room["key"])
            assert (await attendee.vote(q, choices))["ok"]
    assert (await host.http.post(f"/api/questions/{q}/close")).status_code == 200


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@pytest.fixture
async def lunch(node: Node, host: Host) -> dict[str, Any]:
    """A closed question in Korean with three ballots: 2 for 김밥, 1 for 라면."""
    room = await create_room(host.http, "구청 회의")
    q = await add_question(host.http, room["id"], title="점심 메뉴?", options="김밥,라면,=1+1")
    await _voted(node, host, room, q["id"], [[0], [0], [1]])
    return {"room": room, "q": q}


async def test_csv_export_has_a_bom_and_exact_cells(host: Host, lunch: dict[str, Any]) -> None:
    before = _now()
    r = await host.http.get(f"/api/questions/{lunch['q']['id']}/export.csv")
    after = _now()

    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"question.csv\"; filename*=UTF-8''" + quote("점심 메뉴.csv", safe="")
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    exported = datetime.strptime(rows[3][1], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 (UTC, naive)
    assert before <= exported <= after
    assert rows == [
        ["Room title", "구청 회의"],
        ["Question", "점심 메뉴?"],
        ["Status", "closed"],
        ["Exported at (UTC)", rows[3][1]],
        [],
        ["Option", "Count", "Percent"],
        ["김밥", "2", "66.7"],
        ["라면", "1", "33.3"],
        ["'=1+1", "0", "0.0"],  # a label is never a formula in a spreadsheet
        ["Total", "3"],
    ]
    assert r.content.count(b"\r\n") == len(rows)


async def test_xlsx_export_has_exact_cells(host: Host, lunch: dict[str, Any]) -> None:
    before = _now()
    r = await host.http.get(f"/api/questions/{lunch['q']['id']}/export.xlsx")
    after = _now()

    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert r.headers["content-disposition"].endswith(quote("점심 메뉴.xlsx", safe=""))
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Results"]
    ws = wb["Results"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    exported = values[3][1]
    assert isinstance(exported, datetime) and before <= exported <= after
    assert values == [
        ["Room title", "구청 회의", None],
        ["Question", "점심 메뉴?", None],
        ["Status", "closed", None],
        ["Exported at (UTC)", exported, None],
        [None, None, None],
        ["Option", "Count", "Percent"],
        ["김밥", 2, 2 / 3],
        ["라면", 1, 1 / 3],
        ["=1+1", 0, 0],
        ["Total", 3, None],
    ]
    assert ws["A9"].data_type == "s"  # text, not a formula
    assert [ws[f"C{i}"].number_format for i in (7, 8, 9)] == ["0.0%"] * 3
    assert ws["B4"].number_format == "yyyy-mm-dd hh:mm:ss"


async def test_an_unvoted_question_exports_zeros(node: Node, host: Host) -> None:
    room = await create_room(host.http)
    q = await add_question(host.http, room["id"], title="Q/1: what?", kind="yesno", options=[])

    r = await host.http.get(f"/api/questions/{q['id']}/export.csv")

    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[2] == ["Status", "draft"]
    assert rows[6:] == [["Yes", "0", "0.0"], ["No", "0", "0.0"], ["Total", "0"]]
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"Q 1 what.csv\"; filename*=UTF-8''Q%201%20what.csv"
    )


async def test_summary_has_every_question_with_counts_and_archive(
    node: Node, svc: Services, host: Host, lunch: dict[str, Any]
) -> None:
    room = lunch["room"]
    other = await add_question(host.http, room["id"], title="More?", kind="yesno", options=[])
    async with running_worker(svc):
        for _ in range(200):
            r = await host.http.get(f"/api/rooms/{room['id']}/summary")
            if r.json()["summary"]["questions"][0]["finalized"]:
                break

    body = r.json()
    assert body["ok"] is True
    summary = body["summary"]
    generated = summary.pop("generated_ms")
    assert abs(generated - datetime.now(UTC).timestamp() * 1000) < 60_000
    q = lunch["q"]
    # The run poll has a log, judged without witnesses here; the draft has none yet.
    first, second = ({k: x.pop(k) for k in ("log", "verification")} for x in summary["questions"])
    assert re.fullmatch(r"[0-9a-f]{16}", first["log"])
    verdict = first["verification"]  # None until judged, a moment after the archive count
    assert verdict is None or verdict["problem"] == "no_witnesses"
    assert second == {"log": None, "verification": None}
    q = {k: v for k, v in q.items() if k not in ("log", "verification")}
    other = {k: v for k, v in other.items() if k not in ("log", "verification")}
    assert summary == {
        "room": {"id": room["id"], "number": room["number"], "title": "구청 회의"},
        "questions": [
            {
                **q,
                "status": "closed",
                "options": [
                    {"label": "김밥", "description": "", "image": "", "count": 2, "percent": 66.7},
                    {"label": "라면", "description": "", "image": "", "count": 1, "percent": 33.3},
                    {"label": "=1+1", "description": "", "image": "", "count": 0, "percent": 0.0},
                ],
                "total": 3,
                "archived": 3,
                "finalized": True,
            },
            {
                **other,
                "options": [
                    {"label": "Yes", "description": "", "image": "", "count": 0, "percent": 0.0},
                    {"label": "No", "description": "", "image": "", "count": 0, "percent": 0.0},
                ],
                "total": 0,
                "archived": 0,
                "finalized": False,
            },
        ],
    }


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/questions/{q}/export.csv", id="csv"),
        pytest.param("/api/questions/{q}/export.xlsx", id="xlsx"),
        pytest.param("/api/rooms/{room}/summary", id="summary"),
    ],
)
async def test_a_stranger_exports_nothing(
    node: Node, host: Host, lunch: dict[str, Any], path: str
) -> None:
    url = path.format(q=lunch["q"]["id"], room=lunch["room"]["id"])
    async with signed_in(node.url, "stranger@example.org") as stranger:
        assert_error(await stranger.http.get(url), 403, "forbidden")
    async with httpx.AsyncClient(base_url=node.url) as anonymous:
        assert_error(await anonymous.get(url), 401, "unauthorized")


async def test_unknown_exports_are_not_found(host: Host, lunch: dict[str, Any]) -> None:
    assert_error(await host.http.get("/api/questions/nosuch/export.csv"), 404, "not_found")
    r = await host.http.get(f"/api/questions/{lunch['q']['id']}/export.pdf")
    assert_error(r, 404, "not_found")
    assert_error(await host.http.get("/api/rooms/nosuch/summary"), 404, "not_found")


async def test_exports_speak_the_hosts_language(host: Host, lunch: dict[str, Any]) -> None:
    qid = lunch["q"]["id"]
    r = await host.http.get(f"/api/questions/{qid}/export.csv", headers={"accept-language": "ko"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows if row] == [
        "방 제목",
        "질문",
        "상태",
        "내보낸 시각 (UTC)",
        "보기",
        "김밥",
        "라면",
        "'=1+1",
        "총 투표",
    ]
    assert rows[2] == ["상태", "마감"] and rows[5] == ["보기", "득표 수", "비율(%)"]
    r = await host.http.get(f"/api/questions/{qid}/export.xlsx", headers={"accept-language": "ko"})
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["결과"]
    assert wb["결과"]["A1"].value == "방 제목" and wb["결과"]["A10"].value == "총 투표"
