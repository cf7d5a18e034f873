"""A host sets a question's first-come cap, its duration and its closing time from the
console, in English and Korean; the presenter screen counts down to the nearer end."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from live.jobs import running_jobs
from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_console_ui import LOCALES, WORDS, _api, _console, _room_id
from tests.conftest import Node

SAYS: dict[str, dict[str, Any]] = {
    "en-US": {
        "cap": "Accept only the first ballots (empty: all)",
        "closes_at": "Or close by itself at (empty: no set time)",
        "countdown": re.compile(r"^Closes in \d+:\d\d$"),
    },
    "ko-KR": {
        "cap": "먼저 온 투표만 받기(비우면 모두)",
        "closes_at": "또는 이 시각에 자동 마감 (비우면 정한 시각 없음)",
        "countdown": re.compile(r"^\d+:\d\d 뒤 마감$"),
    },
}


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_host_sets_the_cap_and_the_closing_time_from_the_console(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    w, says = WORDS[locale], SAYS[locale]
    page = await _console(browsing, node, locale)
    await expect(page.get_by_label(says["cap"])).to_be_visible()
    await page.locator("#q-title-input").fill("Tea?")
    await page.locator("#q-kind").select_option("yesno")
    await page.locator("#q-max-ballots").fill("3")
    await page.locator("#q-duration").fill("3600")
    # Two minutes from now, to the minute, as the host's browser reads its own clock.
    closes = await page.evaluate(
        """() => { const d = new Date(Date.now() + 120000);
                   const two = (n) => String(n).padStart(2, "0");
                   return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}` +
                          `T${two(d.getHours())}:${two(d.getMinutes())}`; }"""
    )
    await page.get_by_label(says["closes_at"]).fill(closes)
    await page.get_by_role("button", name=w["add_submit"]).click()
    await expect(page.locator(".question-item")).to_have_count(1)

    room = await _api(page, node, "GET", f"/api/rooms/{_room_id(page)}")
    (q,) = room["questions"]
    expected = await page.evaluate("(s) => new Date(s).getTime()", closes)
    assert (q["max_ballots"], q["duration_s"], q["closes_at_ms"]) == (3, 3600, expected)

    # Editing shows what was set, as the host set it.
    await page.locator(".question-item").get_by_role("button", name=w["edit"], exact=True).click()
    await expect(page.locator("#q-closes-at")).to_have_value(closes)
    await expect(page.locator("#q-max-ballots")).to_have_value("3")
    await page.get_by_role("button", name=w["cancel"]).click()

    # Opened: the presenter counts down to the closing time, sooner than the hour.
    presenter = room["room"]["presenter_url"]
    async with running_jobs(svc):
        await _api(page, node, "POST", f"/api/questions/{q['id']}/open")
        screen = await browsing.screen(locale)
        await screen.goto(presenter)
        countdown = screen.get_by_test_id("countdown")
        await expect(countdown).to_have_text(says["countdown"])
        minutes = int(re.findall(r"\d+", await countdown.inner_text())[0])
        assert minutes <= 2  # the closing time, not the duration's hour
    await browsing.assert_accessible(page)
