"""Results out: one question as CSV and XLSX, a room's printable summary."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from live.services import Services
from live.settings import Settings
from live.web.export import sheet_names
from rooms.questions import Kind, fixed_label
from tests.conftest import Node, connect, run_node, running_worker
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
            answer = await attendee.vote(q, choices)
            assert answer["ok"], answer
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
        pytest.param("/api/rooms/{room}/export.xlsx", id="room-xlsx"),
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
    assert_error(await host.http.get("/api/rooms/nosuch/export.xlsx"), 404, "not_found")


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


# --- a room's workbook ---------------------------------------------------------------------

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
async def seoul(settings: Settings) -> AsyncIterator[Node]:
    """A node of a deployment in Seoul (``MVOTING_TIMEZONE=Asia/Seoul``)."""
    async with run_node(settings.with_(timezone="Asia/Seoul")) as n:
        yield n


@pytest.fixture
async def seoul_host(seoul: Node) -> AsyncIterator[Host]:
    async with signed_in(seoul.url, "host@example.org") as h:
        yield h


def _seoul_now() -> datetime:
    return datetime.now(SEOUL).replace(tzinfo=None, microsecond=0)


def _rows(ws: Any) -> list[list[Any]]:
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    return [r[: max((i + 1 for i, v in enumerate(r) if v is not None), default=0)] for r in rows]


@pytest.fixture
async def board(seoul: Node, seoul_host: Host) -> dict[str, Any]:
    """A room with a closed single choice, a closed multiple choice, a closed rating and a
    yes/no draft."""
    host = seoul_host
    room = await create_room(host.http, "이사회")
    lunch = await add_question(
        host.http,
        room["id"],
        title="Lunch?",
        description="Friday's lunch",
        options=[{"label": "Rice", "description": "steamed"}, "Noodles", "=1+1"],
    )
    await _voted(seoul, host, room, lunch["id"], [[0], [0], [1]])
    topics = await add_question(
        host.http, room["id"], title="Topics?", kind="multiple", options="A,B,C", max_choices=2
    )
    await _voted(seoul, host, room, topics["id"], [[0, 1], [0], [0, 2], [1]])
    rating = await add_question(
        host.http, room["id"], title="How was it?", kind="rating", scale=5, options=[]
    )
    await _voted(seoul, host, room, rating["id"], [[4], [4], [3], [1]])  # 5, 5, 4, 2
    draft = await add_question(host.http, room["id"], title="Again?", kind="yesno", options=[])
    return {"room": room, "questions": [lunch, topics, rating, draft]}


async def test_a_room_exports_as_one_workbook_with_a_sheet_per_question(
    seoul_host: Host, board: dict[str, Any]
) -> None:
    started = _seoul_now()
    r = await seoul_host.http.get(f"/api/rooms/{board['room']['id']}/export.xlsx")
    ended = _seoul_now()

    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"].endswith(quote("이사회.xlsx", safe=""))
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == [
        "Summary",
        "1. Lunch",
        "2. Topics",
        "3. How was it",
        "4. Again",
    ]
    summary = _rows(wb["Summary"])
    exported = summary[2][1]
    assert isinstance(exported, datetime) and started <= exported <= ended
    times = [row[6:8] for row in summary[5:]]
    for opened, closed in times[:3]:  # when each opened and closed, in Seoul, in this test
        assert started - timedelta(minutes=1) <= opened <= closed <= ended
    assert summary == [
        ["Room title", "이사회"],
        ["Room", board["room"]["number"]],
        ["Exported at (Asia/Seoul)", exported],
        [],
        [
            "#",
            "Question",
            "Kind",
            "Status",
            "Ballots",
            "Leading option or average",
            "Opened (Asia/Seoul)",
            "Closed (Asia/Seoul)",
        ],
        [1, "Lunch?", "Single choice", "closed", 3, "Rice", *times[0]],
        [2, "Topics?", "Multiple choice", "closed", 4, "A", *times[1]],
        [3, "How was it?", "Rating scale", "closed", 4, 4.0, *times[2]],
        [4, "Again?", "Yes / no", "draft", 0],
    ]
    assert times[3] == []  # never opened
    assert wb["Summary"]["B6"].hyperlink.location == "'1. Lunch'!A1"

    lunch = _rows(wb["1. Lunch"])
    assert lunch == [
        ["Room title", "이사회"],
        ["Question", "Lunch?"],
        ["Description", "Friday's lunch"],
        ["Kind", "Single choice"],
        ["Status", "closed"],
        ["Opened (Asia/Seoul)", times[0][0]],
        ["Closed (Asia/Seoul)", times[0][1]],
        ["Ballots", 3],
        [],
        ["Option", "Description", "Count", "Percent"],
        ["Rice", "steamed", 2, 2 / 3],
        ["Noodles", None, 1, 1 / 3],
        ["=1+1", None, 0, 0],
        ["Total", None, 3],
    ]
    assert wb["1. Lunch"]["A13"].data_type == "s"  # text, not a formula
    assert wb["1. Lunch"]["D11"].number_format == "0.0%"
    topics = _rows(wb["2. Topics"])
    assert topics[10:] == [
        ["A", None, 3, 3 / 4],
        ["B", None, 2, 2 / 4],
        ["C", None, 1, 1 / 4],
        ["Total", None, 4],
        [
            "Percentages are of voters: each could choose up to 2, so they may add up to "
            "more than 100%."
        ],
    ]
    rating = _rows(wb["3. How was it"])
    assert rating[10:] == [
        ["1", None, 0, 0],
        ["2", None, 1, 1 / 4],
        ["3", None, 0, 0],
        ["4", None, 1, 1 / 4],
        ["5", None, 2, 2 / 4],
        ["Total", None, 4],
        ["Average", None, 4.0],
        ["Ratings", None, 4],
    ]
    draft = _rows(wb["4. Again"])
    assert draft[4:8] == [["Status", "draft"], ["Opened (Asia/Seoul)"], ["Closed (Asia/Seoul)"],
                          ["Ballots", 0]]  # fmt: skip
    assert draft[10:] == [["Yes", None, 0, 0], ["No", None, 0, 0], ["Total", None, 0]]


async def test_a_rooms_workbook_speaks_korean(seoul_host: Host, board: dict[str, Any]) -> None:
    r = await seoul_host.http.get(
        f"/api/rooms/{board['room']['id']}/export.xlsx", headers={"accept-language": "ko"}
    )
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "요약"
    summary = _rows(wb["요약"])
    assert [row[0] for row in summary[:3]] == ["방 제목", "방 번호", "내보낸 시각 (Asia/Seoul)"]
    assert summary[4] == [
        "#",
        "질문",
        "유형",
        "상태",
        "투표 수",
        "최다 득표 보기 또는 평균",
        "시작 시각 (Asia/Seoul)",
        "마감 시각 (Asia/Seoul)",
    ]
    assert [row[2:4] for row in summary[5:]] == [
        ["단일 선택", "마감"],
        ["복수 선택", "마감"],
        ["평점", "마감"],
        ["찬성 / 반대", "준비 중"],
    ]
    draft = _rows(wb[wb.sheetnames[4]])
    assert draft[9] == ["보기", "설명", "득표 수", "비율(%)"]
    assert [row[0] for row in draft[10:]] == ["예", "아니요", "총 투표"]  # labels translated
    topics = _rows(wb[wb.sheetnames[2]])
    assert topics[-1][0].startswith("비율은 투표한 사람 수에 대한 것입니다.")
    rating = _rows(wb[wb.sheetnames[3]])
    assert rating[-2:] == [["평균", None, 4.0], ["평가 수", None, 4]]
    # No raw code is left in any cell of any sheet.
    codes = {"draft", "open", "closed", "single", "multiple", "yesno", "vs", "rating"}
    for ws in wb.worksheets:
        assert not codes & {c for row in _rows(ws) for c in row if isinstance(c, str)}, ws.title


async def test_sheets_of_hostile_titles_have_safe_unique_names(node: Node, host: Host) -> None:
    room = await create_room(host.http, "Names")
    titles = [
        "[Budget]: 2025/2026 \\ draft*?",
        "[Budget]: 2025/2026 \\ draft*?",
        "'quoted'",
        "=SUM(A1:A2)",
        "A very long title that goes on well past the thirty-one characters Excel allows",
        "A very long title that goes on well past the thirty-one characters Excel allows",
        "::::",
    ]
    for t in titles:
        await add_question(host.http, room["id"], title=t, options="A,B")

    r = await host.http.get(f"/api/rooms/{room['id']}/export.xlsx")

    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    names = wb.sheetnames[1:]
    assert names == [
        "1. Budget 2025 2026 draft",
        "2. Budget 2025 2026 draft",
        "3. 'quoted",
        "4. =SUM(A1 A2)",
        "5. A very long title that goes",
        "6. A very long title that goes",
        "7.",
    ]
    assert len({n.casefold() for n in wb.sheetnames}) == len(wb.sheetnames)
    for name, title in zip(names, titles, strict=True):
        assert len(name) <= 31 and not set("[]:*?/\\") & set(name), name
        assert wb[name]["B2"].value == title and wb[name]["B2"].data_type == "s"
    summary = _rows(wb.worksheets[0])
    assert [row[1] for row in summary[5:]] == titles


def test_sheet_names_stay_unique_when_cut() -> None:
    long = "x" * 40
    names = sheet_names([long, long], taken=["1. " + "x" * 28])
    assert names == ["1. " + "x" * 24 + " (2)", "2. " + "x" * 28]
    assert sheet_names(["History"], taken=["history"]) == ["1. History"]
    assert all(len(n) <= 31 for n in names)


def test_default_labels_are_told_by_kind_and_position() -> None:
    assert fixed_label(Kind.YESNO, 0, "Yes") == "Yes"
    assert fixed_label(Kind.YESNO, 1, " No ") == "No"
    assert fixed_label(Kind.YESNO, 0, "Agree") is None
    assert fixed_label(Kind.VS, 0, "") == "Side A"
    assert fixed_label(Kind.VS, 1, "  ") == "Side B"
    assert fixed_label(Kind.VS, 0, "Cats") is None
    assert fixed_label(Kind.SINGLE, 0, "Yes") is None


async def test_one_questions_exports_give_the_rating_average_and_the_multiple_note(
    seoul_host: Host, board: dict[str, Any]
) -> None:
    _lunch, topics, rating, _draft = board["questions"]
    r = await seoul_host.http.get(f"/api/questions/{rating['id']}/export.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[3][0] == "Exported at (Asia/Seoul)"
    assert rows[6:] == [
        ["1", "0", "0.0"],
        ["2", "1", "25.0"],
        ["3", "0", "0.0"],
        ["4", "1", "25.0"],
        ["5", "2", "50.0"],
        ["Total", "4"],
        ["Average", "4.0"],
        ["Ratings", "4"],
    ]
    r = await seoul_host.http.get(
        f"/api/questions/{topics['id']}/export.xlsx", headers={"accept-language": "ko"}
    )
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["결과"]
    values = _rows(ws)
    assert values[3][0] == "내보낸 시각 (Asia/Seoul)"
    assert values[6:] == [
        ["A", 3, 3 / 4],
        ["B", 2, 2 / 4],
        ["C", 1, 1 / 4],
        ["총 투표", 4],
        [
            "비율은 투표한 사람 수에 대한 것입니다. 한 사람이 2개까지 고를 수 있어 합계가 "
            "100%를 넘을 수 있습니다."
        ],
    ]


# --- ranking ----------------------------------------------------------------------------

#: Four ballots on Parks (0), Buses (1), Libraries (2): points 2+1+0+0, 1+2+2+1, 0+0+1+2.
RANKING_BALLOTS = [[0, 1, 2], [1, 0, 2], [1, 2, 0], [2, 1, 0]]


@pytest.fixture
async def ranked(node: Node, host: Host) -> dict[str, Any]:
    room = await create_room(host.http, "Council")
    q = await add_question(
        host.http,
        room["id"],
        title="Which first?",
        kind="ranking",
        options=[{"label": "Parks", "description": "green"}, "Buses", "Libraries"],
    )
    await _voted(node, host, room, q["id"], RANKING_BALLOTS)
    return {"room": room, "q": q}


def _no_percent(cells: list[list[Any]]) -> None:
    texts = [str(c) for row in cells for c in row if c is not None]
    assert not [t for t in texts if "%" in t or "percent" in t.casefold()], texts


async def test_a_rankings_workbook_sheet_has_points_and_average_places(
    host: Host, ranked: dict[str, Any]
) -> None:
    r = await host.http.get(f"/api/rooms/{ranked['room']['id']}/export.xlsx")
    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    summary = _rows(wb["Summary"])
    assert summary[5][:6] == [1, "Which first?", "Ranking", "closed", 4, "Buses"]
    ws = wb["1. Which first"]
    sheet = _rows(ws)
    assert sheet[3] == ["Kind", "Ranking"]
    assert sheet[9:] == [
        ["Rank", "Option", "Description", "Points", "Average place"],
        [1, "Buses", None, 6, 1.5],  # 3 - 6 / 4
        [2, "Parks", "green", 3, 2.25],  # a tie: one rank, the options' order
        [2, "Libraries", None, 3, 2.25],
        ["Ballots", None, None, 4],
        ["Borda count: first place gets 2 points, last none."],
    ]
    assert [ws[f"E{i}"].number_format for i in (11, 12, 13)] == ["0.00"] * 3
    _no_percent(sheet)

    r = await host.http.get(
        f"/api/rooms/{ranked['room']['id']}/export.xlsx", headers={"accept-language": "ko"}
    )
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = _rows(wb[wb.sheetnames[1]])
    assert sheet[3] == ["유형", "순위 정하기"]
    assert sheet[9] == ["순위", "보기", "설명", "점수", "평균 순위"]
    assert sheet[-1] == ["보르다 방식: 1위는 2점, 마지막 순위는 0점을 받습니다."]
    _no_percent(sheet)


async def test_one_rankings_csv_and_xlsx_give_points_and_average_places(
    host: Host, ranked: dict[str, Any]
) -> None:
    r = await host.http.get(f"/api/questions/{ranked['q']['id']}/export.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[5:] == [
        ["Rank", "Option", "Points", "Average place"],
        ["1", "Buses", "6", "1.50"],
        ["2", "Parks", "3", "2.25"],
        ["2", "Libraries", "3", "2.25"],
        ["Ballots", "4"],
        ["Borda count: first place gets 2 points, last none."],
    ]
    _no_percent(rows)
    r = await host.http.get(f"/api/questions/{ranked['q']['id']}/export.xlsx")
    values = _rows(openpyxl.load_workbook(io.BytesIO(r.content))["Results"])
    assert values[5:] == [
        ["Rank", "Option", "Points", "Average place"],
        [1, "Buses", 6, 1.5],
        [2, "Parks", 3, 2.25],
        [2, "Libraries", 3, 2.25],
        ["Ballots", 4],
        ["Borda count: first place gets 2 points, last none."],
    ]
    _no_percent(values)


async def test_the_summary_page_ranks_by_points_without_percentages(
    host: Host, ranked: dict[str, Any]
) -> None:
    r = await host.http.get(f"/host/rooms/{ranked['room']['id']}/summary")
    assert r.status_code == 200, r.text
    page = r.text
    table = page[page.index('<table class="summary-ranking">') : page.index("</table>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table)
    assert cells[:12] == [
        "1", "Buses", "6", "1.50",
        "2", 'Parks<br><span class="muted">green</span>', "3", "2.25",
        "2", "Libraries", "3", "2.25",
    ]  # fmt: skip
    assert "Borda count: first place gets 2 points, last none." in page
    assert "Average place" in table and "%" not in table
