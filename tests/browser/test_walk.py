"""The whole meeting, in real headless Chromium, in English and in Korean: a host prepares a
room with every question kind in the console's form, drives it from the console while the
projector shows each question at 1920×1080 and 1280×720 without scrolling, and a phone
votes on each, sees its own choice, and keeps its receipts across reloads; axe-core checks
every page on the way; the room's workbook has a sheet per question."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import openpyxl  # type: ignore[import-untyped]
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Browsing
from tests.browser.test_console_ui import _api, _console, _room_id
from tests.browser.test_lecture_poll import shot
from tests.browser.test_projector import assert_fits
from tests.conftest import Node


@dataclass
class Step:
    """One question: how the console makes it, how the phone votes, what it then says."""

    title: str
    kind: str
    options: list[str] = field(default_factory=list)
    form: dict[str, str] = field(default_factory=dict)  #: other fields, by element id
    vote: list[str] = field(default_factory=list)  #: what the phone picks or writes
    mine: str = ""  #: the phone's "you chose" line contains this


def steps(korean: bool) -> list[Step]:
    if korean:
        return [
            Step("점심 메뉴는?", "single", ["김밥", "라면"], vote=["라면"], mine="라면"),
            Step(
                "함께 할 활동은?",
                "multiple",
                ["산책", "독서", "토론"],
                {"q-max": "2"},
                ["산책", "토론"],
                "산책, 토론",
            ),
            Step(
                "예산안을 채택할까요?",
                "yesno",
                form={"q-visibility": "after_close"},
                vote=["예"],
                mine="예",
            ),
            Step("고양이 대 강아지", "vs", ["고양이", "강아지"], vote=["강아지"], mine="강아지"),
            Step(
                "오늘 강의는 얼마나 명확했나요?",
                "rating",
                form={"q-scale": "5"},
                vote=["4"],
                mine="4",
            ),
            Step(
                "먼저 할 일은?",
                "ranking",
                ["공원", "버스", "도서관"],
                vote=["도서관"],
                mine="도서관",
            ),
            Step(
                "도시에 바라는 한 단어는?",
                "text",
                form={"q-max": "1"},
                vote=["공원이"],
                mine="공원이",
            ),
        ]
    return [
        Step("Lunch?", "single", ["Kimbap", "Ramen"], vote=["Ramen"], mine="Ramen"),
        Step(
            "Which activities?",
            "multiple",
            ["Walk", "Read", "Debate"],
            {"q-max": "2"},
            ["Walk", "Debate"],
            "Walk, Debate",
        ),
        Step(
            "Adopt the budget?",
            "yesno",
            form={"q-visibility": "after_close"},
            vote=["Yes"],
            mine="Yes",
        ),
        Step("Cats or dogs?", "vs", ["Cats", "Dogs"], vote=["Dogs"], mine="Dogs"),
        Step("How clear was the lecture?", "rating", form={"q-scale": "5"}, vote=["4"], mine="4"),
        Step(
            "What first?",
            "ranking",
            ["Parks", "Buses", "Libraries"],
            vote=["Libraries"],
            mine="Libraries",
        ),
        Step("One word for the city?", "text", form={"q-max": "1"}, vote=["Parks"], mine="Parks"),
    ]


async def prepare(console: Page, step: Step) -> None:
    """Fill the console's "Add a question" form for ``step`` and send it."""
    await console.locator("#q-title-input").fill(step.title)
    await console.locator("#q-kind").select_option(step.kind)
    for i, label in enumerate(step.options):
        inputs = console.locator("#option-inputs .opt-label")
        if await inputs.count() <= i:
            await console.locator("#add-option").click()
        await inputs.nth(i).fill(label)
    for element, value in step.form.items():
        target = console.locator(f"#{element}")
        if await target.evaluate("(e) => e.tagName") == "SELECT":
            await target.select_option(value)
        else:
            await target.fill(value)
    count = await console.locator(".question-item").count()
    await console.locator("#q-submit").click()
    await expect(console.locator(".question-item")).to_have_count(count + 1)


async def vote(phone: Page, step: Step) -> None:
    if step.kind == "text":
        field_ = phone.locator("#stage input[name=answer]").first
        await field_.fill(step.vote[0])
        await field_.press("Enter")
        return
    if step.kind == "ranking":  # the last option moved up one place, by its button
        moves = phone.locator("#stage .rank-item", has_text=step.vote[0]).locator(".rank-move")
        await moves.first.click()
        await phone.locator("#stage .options button.primary").click()
        return
    for label in step.vote:
        await phone.locator("#stage button.option", has_text=label).first.click()
    if step.kind == "multiple":
        await phone.locator("#stage .options button.primary").click()


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_meeting_with_every_kind_from_console_to_phone_to_projector_to_workbook(
    browsing: Browsing, node: Node, locale: str
) -> None:
    korean = locale == "ko-KR"
    plan = steps(korean)
    console = await _console(browsing, node, locale)
    for step in plan:
        await prepare(console, step)
    await browsing.assert_accessible(console)
    room = (await _api(console, node, "GET", f"/api/rooms/{_room_id(console)}"))["room"]

    screen = await console.context.new_page()  # the host's laptop: the keys work there
    await screen.goto(room["presenter_url"])
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    phone = await browsing.phone(locale)
    await phone.goto(room["join_url"])
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    await browsing.assert_accessible(phone)

    for n, step in enumerate(plan):
        await console.locator("#next").click()
        await expect(screen.locator("#q-title")).to_have_text(step.title)
        await expect(phone.locator("#q-title")).to_have_text(step.title)
        await browsing.assert_accessible(phone)
        await vote(phone, step)
        await expect(phone.get_by_test_id("my-choice")).to_contain_text(step.mine)
        if step.kind == "ranking":  # moved up from third to second place
            order = phone.get_by_test_id("my-ranking").locator("li")
            await expect(order.nth(1)).to_have_text(step.vote[0])
        await browsing.assert_accessible(phone)
        await shot(phone, f"walk-{locale}-{n + 1}-{step.kind}-phone.png")
        if step.kind != "yesno":  # the budget's results wait for the close
            await expect(screen.get_by_test_id("total")).to_have_text("1")
        await assert_fits(screen, f"walk-{locale}-{n + 1}-{step.kind}")
        await browsing.assert_accessible(screen)
        # A reload keeps what this phone chose, and its receipt.
        await phone.reload()
        await expect(phone.get_by_test_id("my-choice")).to_contain_text(step.mine)
        await expect(phone.get_by_test_id("receipt")).to_be_visible()

    await console.locator("#next").click()  # the last Next ends the agenda
    await expect(console.locator("#console-status")).to_contain_text(
        "현재 질문이 없습니다" if korean else "no question is current"
    )
    await browsing.assert_accessible(console)
    await phone.goto(f"{node.url}/verify")
    await expect(phone.get_by_test_id("my-receipt")).to_have_count(len(plan))
    await browsing.assert_accessible(phone)

    book = await console.request.get(f"{node.url}/api/rooms/{room['id']}/export.xlsx")
    assert book.ok
    wb = openpyxl.load_workbook(io.BytesIO(await book.body()))
    assert len(wb.sheetnames) == 1 + len(plan)
    summary = wb[wb.sheetnames[0]]
    titles = [row[1] for row in summary.iter_rows(values_only=True)]
    assert all(step.title in titles for step in plan), titles
