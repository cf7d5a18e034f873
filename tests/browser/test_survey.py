"""Surveys in real headless Chromium, in English and Korean: a host builds a survey of
four parts in the console; a phone-sized page answers it as one form, hears which part it
left out with its answers kept, then sends it whole; the presenter, the phone and the
console show the results part by part; axe-core on each."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import shot
from tests.conftest import Node

WORDS: dict[str, dict[str, Any]] = {
    "en-US": {
        "question": "Question",
        "part_title": "Part {}: question",
        "options": "Options of part {}, one per line",
        "most": "Most picks in part {}",
        "required": "Part {} must be answered",
        "add_part": "Add a part",
        "add": "Add question",
        "saved": "Saved.",
        "legend": "Part {} of 4: {}",
        "optional": "(optional)",
        "submit": "Submit my answers",
        "fault": "Part 4 is required: answer it.",
        "counted": "Your vote was counted.",
        "yours": "Your answers:",
        "heading": "Part {}: {}",
        "yes_no": ["Yes", "No"],
        "skipped": "(left out)",
        "kind": "Survey (several questions, one form)",
    },
    "ko-KR": {
        "question": "질문",
        "part_title": "{}번 문항: 질문",
        "options": "{}번 문항의 선택지(한 줄에 하나씩)",
        "most": "{}번 문항에서 고를 수 있는 최대 개수",
        "required": "{}번 문항은 필수 응답",
        "add_part": "문항 추가",
        "add": "질문 추가하기",
        "saved": "저장했습니다.",
        "legend": "4개 중 {}번 문항: {}",
        "optional": "(선택 사항)",
        "submit": "응답 제출하기",
        "fault": "4번 문항은 필수입니다. 답해 주세요.",
        "counted": "투표가 집계되었습니다.",
        "yours": "내 응답:",
        "heading": "{}번 문항: {}",
        "yes_no": ["예", "아니요"],
        "skipped": "(답하지 않음)",
        "kind": "설문(여러 질문을 한 양식으로)",
    },
}
TITLES = ["Venue", "Topics", "Satisfaction", "Come again?"]


async def _console(browsing: Browsing, node: Node, locale: str) -> Page:
    page = await browsing.screen(locale)
    for path, body in (
        ("/api/hosts", {"email": "surveys@example.org", "password": "correct horse"}),
        ("/api/rooms", {"title": "Feedback"}),
    ):
        reply = await page.request.post(f"{node.url}{path}", data=body)
        assert reply.ok, await reply.text()
    room = (await reply.json())["room"]
    await page.goto(f"{node.url}/host/rooms/{room['id']}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    return page


async def _build_survey(console: Page, w: dict[str, Any]) -> None:
    """Venue (single) · Topics (at most 2, optional) · Satisfaction (1-5) · Come again? (yes/no)."""

    def label(key: str, n: int) -> str:
        return str(w[key]).format(n)

    await console.get_by_label(str(w["question"]), exact=True).fill("Conference feedback")
    await console.locator("#q-kind").select_option("survey")
    parts = console.get_by_test_id("part-input")
    await expect(parts).to_have_count(2)  # a survey starts with two parts
    await console.get_by_role("button", name=str(w["add_part"])).click()
    await console.get_by_role("button", name=str(w["add_part"])).click()
    await expect(parts).to_have_count(4)
    for n, title in enumerate(TITLES, 1):
        await console.get_by_label(label("part_title", n), exact=True).fill(title)
    await console.get_by_label(label("options", 1)).fill("City hall\nLibrary")
    await parts.nth(1).locator(".part-kind").select_option("multiple")
    await console.get_by_label(label("options", 2)).fill("Parks\nBuses\nHousing")
    await console.get_by_label(label("most", 2)).fill("2")
    await console.get_by_label(label("required", 2)).uncheck()
    await parts.nth(2).locator(".part-kind").select_option("rating")
    await parts.nth(3).locator(".part-kind").select_option("yesno")
    # A rating's and a yes/no's options are their own: no options field for them.
    await expect(parts.nth(2).locator(".part-options")).to_be_hidden()
    await expect(parts.nth(3).locator(".part-options")).to_be_hidden()
    await console.get_by_role("button", name=str(w["add"]), exact=True).click()
    await expect(console.locator(".question-item")).to_have_count(1)
    await expect(console.locator("#console-status")).to_have_text(str(w["saved"]))


def _part(page: Page, n: int) -> Locator:
    return page.get_by_test_id("survey-part").nth(n)


async def _expect_part_counts(page: Page, counts: list[list[str]]) -> None:
    for n, expected in enumerate(counts):
        await expect(_part(page, n).get_by_test_id("option-count")).to_have_text(expected)


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_survey_is_built_in_the_console_answered_as_one_form_and_shown_per_part(
    browsing: Browsing, node: Node, locale: str
) -> None:
    w = WORDS[locale]
    console = await _console(browsing, node, locale)
    await _build_survey(console, w)
    await expect(console.get_by_test_id("question-facts")).to_contain_text(str(w["kind"]))
    await browsing.assert_accessible(console)

    screen = await browsing.screen(locale)
    presenter = console.locator('a[href*="/present/"]')
    await screen.goto(await presenter.get_attribute("href") or "")
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    phone = await browsing.phone(locale)
    await phone.goto(await console.locator(".room-facts a").get_attribute("href") or "")
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    await console.locator("#next").click()

    # The phone: one form, a fieldset per part, the optional one said so.
    form = phone.get_by_test_id("survey-form")
    await expect(form).to_be_visible()
    fieldsets = phone.get_by_test_id("survey-part-input")
    await expect(fieldsets).to_have_count(4)
    for n, title in enumerate(TITLES, 1):
        await expect(fieldsets.nth(n - 1).locator("legend")).to_contain_text(
            str(w["legend"]).format(n, title)
        )
    await expect(fieldsets.nth(1).locator("legend")).to_contain_text(str(w["optional"]))
    await expect(fieldsets.nth(3).locator("label")).to_have_text(w["yes_no"])
    box = await form.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    await browsing.assert_accessible(phone)

    # Library, Parks and Housing, a 4; the required yes/no left out: refused whole, the
    # part at fault named and marked, every answer still there.
    await fieldsets.nth(0).get_by_label("Library").check()
    await fieldsets.nth(1).get_by_label("Parks").check()
    await fieldsets.nth(1).get_by_label("Housing").check()
    await fieldsets.nth(1).get_by_label("Buses").click()  # a third of at most two: refused
    await expect(fieldsets.nth(1).get_by_label("Buses")).not_to_be_checked()
    await fieldsets.nth(2).get_by_label("4", exact=True).check()
    await phone.get_by_role("button", name=str(w["submit"])).click()
    fault = fieldsets.nth(3).get_by_test_id("survey-fault")
    await expect(fault).to_have_text(str(w["fault"]))
    await expect(fieldsets.nth(3)).to_have_class("survey-part-input at-fault")
    await expect(fieldsets.nth(3).locator("input").first).to_be_focused()
    await expect(fieldsets.nth(0).get_by_label("Library")).to_be_checked()
    await expect(fieldsets.nth(1).get_by_label("Housing")).to_be_checked()
    await expect(fieldsets.nth(2).get_by_label("4", exact=True)).to_be_checked()
    await expect(phone.get_by_test_id("survey-fault")).to_have_count(1)
    await expect(screen.get_by_test_id("total")).to_have_text("0")
    await browsing.assert_accessible(phone)
    await shot(phone, f"survey-refused-{locale}.png")

    await fieldsets.nth(3).get_by_label(str(w["yes_no"][0])).check()
    await phone.get_by_role("button", name=str(w["submit"])).click()
    await expect(phone.get_by_text(str(w["counted"]))).to_be_visible()
    mine = phone.get_by_test_id("my-choice")
    await expect(mine).to_contain_text(str(w["yours"]))
    await expect(mine.locator("dd")).to_have_text(
        ["Library", "Parks, Housing", "4", str(w["yes_no"][0])]
    )

    # A second phone leaves the optional part out.
    other = await browsing.phone(locale)
    await other.goto(phone.url)
    sets = other.get_by_test_id("survey-part-input")
    await sets.nth(0).get_by_label("City hall").check()
    await sets.nth(2).get_by_label("5", exact=True).check()
    await sets.nth(3).get_by_label(str(w["yes_no"][1])).check()
    await other.get_by_role("button", name=str(w["submit"])).click()
    await expect(other.get_by_test_id("my-choice").locator("dd")).to_have_text(
        ["City hall", str(w["skipped"]), "5", str(w["yes_no"][1])]
    )

    # Results part by part on the projector, the phones and the console.
    counts = [["1", "1"], ["1", "0", "1"], ["0", "0", "0", "1", "1"], ["1", "1"]]
    await expect(screen.get_by_test_id("total")).to_have_text("2")
    await expect(screen.get_by_test_id("survey-part").locator("h2")).to_have_text(
        [str(w["heading"]).format(n, t) for n, t in enumerate(TITLES, 1)]
    )
    await _expect_part_counts(screen, counts)
    await expect(_part(screen, 2).get_by_test_id("rating-average")).to_contain_text("4.5")
    await browsing.assert_accessible(screen)
    await shot(screen, f"survey-projector-{locale}.png")
    for page in (phone, console):
        await _expect_part_counts(page, counts)
    await expect(_part(phone, 3).locator(".bar-label")).to_have_text(w["yes_no"])
    await browsing.assert_accessible(phone)
    await shot(phone, f"survey-results-{locale}.png")
    await browsing.assert_accessible(console)

    # After a reload the phone shows what it sent, and the results per part.
    await phone.reload()
    await expect(phone.get_by_test_id("my-choice").locator("dd")).to_have_text(
        ["Library", "Parks, Housing", "4", str(w["yes_no"][0])]
    )
    await _expect_part_counts(phone, counts)
