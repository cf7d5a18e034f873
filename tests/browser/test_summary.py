"""The printable summary in real headless Chromium: every figure, in the reader's language."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from playwright.async_api import Page, expect

from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import shot
from tests.conftest import Node, connect

RAW_CODES = re.compile(r"\b(draft|open|closed|single|multiple|yesno|vs|rating)\b")


async def _post(page: Page, url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await page.request.post(url, data=body)
    assert r.ok, await r.text()
    answer: dict[str, Any] = await r.json()
    return answer


async def _run(node: Node, page: Page, room: dict[str, Any], qid: str, ballots: list[Any]) -> None:
    await _post(page, f"{node.url}/api/questions/{qid}/open", {})
    for choices in ballots:
        async with connect(node.url) as attendee:
            await attendee.join(room["number"], key=room["key"])
            assert (await attendee.vote(qid, choices))["ok"]
    await _post(page, f"{node.url}/api/questions/{qid}/close", {})


async def test_the_summary_shows_every_figure_in_korean(browsing: Browsing, node: Node) -> None:
    page = await browsing.screen("ko-KR")
    await _post(
        page, f"{node.url}/api/hosts", {"email": "h@example.org", "password": "correct horse"}
    )
    room = (await _post(page, f"{node.url}/api/rooms", {"title": "월요 회의"}))["room"]

    async def question(**body: Any) -> str:
        url = f"{node.url}/api/rooms/{room['id']}/questions"
        return str((await _post(page, url, body))["question"]["id"])

    pace = await question(title="속도는 적당했나요?", kind="yesno", options=[])
    await _run(node, page, room, pace, [[0], [0], [1]])
    rating = await question(title="강의 평가", kind="rating", scale=5, options=[])
    await _run(node, page, room, rating, [[4], [4], [3], [1]])
    topics = await question(title="다음 주제", kind="multiple", options="A,B,C", max_choices=2)
    await _run(node, page, room, topics, [[0, 1], [0]])
    await question(title="다음에 또?", kind="single", options="네,글쎄요")

    await page.goto(f"{node.url}/host/rooms/{room['id']}/summary")
    sections = page.locator(".summary-question")
    await expect(sections).to_have_count(4)
    first = sections.nth(0)
    await expect(first.locator("tbody td:first-child")).to_have_text(["예", "아니요"])
    await expect(first.locator(".summary-facts")).to_contain_text("찬성 / 반대 · 상태: 마감")
    await expect(first.locator(".summary-facts")).to_contain_text("시작 ")
    await expect(first.locator("tbody td.num").nth(0)).to_have_text("2")
    second = sections.nth(1)
    await expect(second.locator(".summary-average")).to_have_text("평균 4.0점 (4명 평가)")
    await expect(second.locator("thead th").first).to_have_text("점수")
    await expect(second.locator("tbody td:first-child")).to_have_text(["1", "2", "3", "4", "5"])
    await expect(sections.nth(2).locator(".summary-note")).to_contain_text(
        "한 사람이 2개까지 고를 수 있어 합계가 100%를 넘을 수 있습니다."
    )
    await expect(sections.nth(3).locator(".summary-facts")).to_contain_text("상태: 준비 중")

    # The bars are as wide as the shares: 50 % twice 25 %, none for no ballot.
    bars = second.locator(".summary-bar")
    widths = [(await bars.nth(i).bounding_box() or {"width": 0.0})["width"] for i in range(5)]
    assert widths[0] == 0 and widths[2] == 0, widths
    assert abs(widths[4] - 2 * widths[1]) < 1.5 and widths[4] > 20, widths

    text = await page.locator("main").inner_text()
    assert not RAW_CODES.search(text), RAW_CODES.findall(text)
    await browsing.assert_accessible(page)
    await shot(page, "summary-ko.png")

    # The whole room as one workbook, from the page's link.
    async with page.expect_download() as download:
        await page.get_by_role("link", name="전체 결과 내려받기 (Excel)").click()
    path = await (await download.value).path()
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    assert wb.sheetnames[0] == "요약" and len(wb.sheetnames) == 5
    assert [row[5].value for row in wb["요약"].iter_rows(min_row=6)] == ["예", 4.0, "A", None]
