"""A poll for part of the city, set up and answered in Chromium: a citizen opens a poll
for residents of one district in their 30s from the form; another citizen sees who may
vote and why they cannot yet, tells their profile, and votes; in English and Korean."""

from __future__ import annotations

import datetime

import pytest
from playwright.async_api import expect

from live.jobs import JobWorker
from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_poll_page import TEXT, sign_in
from tests.conftest import Node
from tests.live.citizenry import make_citizen

KIM = "010-2345-6789"

WORDS = {
    "en-US": {
        "open": "Open the poll",
        "who": "Who may vote (optional: every signed-in citizen)",
        "mapo": "Mapo-gu",
        "thirties": "30s",
        "audience": "30s · Residents of Mapo-gu",
        "missing": "add your birth year",
        "born": "Year of birth",
        "district": "District of residence",
        "save": "Save",
        "saved": "Saved.",
    },
    "ko-KR": {
        "open": "투표 열기",
        "who": "투표할 수 있는 사람 (선택: 로그인한 모든 시민)",
        "mapo": "마포구",
        "thirties": "30대",
        "audience": "30대 · 마포구 주민",
        "missing": "출생 연도",
        "born": "출생 연도",
        "district": "거주 자치구",
        "save": "저장",
        "saved": "저장했습니다.",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_poll_for_a_district_and_an_age_band_from_the_form_to_the_ballot(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    t, w = TEXT[locale], WORDS[locale]
    await make_citizen(svc, KIM)
    page = await browsing.phone(locale)
    await sign_in(page, node, t, "/polls/new")
    await page.locator("#title").fill("A new library for Mapo?")
    await page.locator("#area").select_option("culture")
    closes = datetime.datetime.now(datetime.UTC).astimezone() + datetime.timedelta(hours=2)
    await page.locator("#closes").fill(closes.strftime("%Y-%m-%dT%H:%M:%S"))
    await page.locator("#q-title").fill("Where?")
    await page.locator("#q-options").fill("Hapjeong\nMangwon")
    await page.get_by_text(w["who"]).click()
    await page.get_by_label(w["thirties"], exact=True).check()
    await page.get_by_label(w["mapo"], exact=True).check()
    await browsing.assert_accessible(page)
    await page.get_by_role("button", name=w["open"]).click()
    await page.wait_for_url(f"{node.url}/polls/*")
    await expect(page.get_by_test_id("poll-audience")).to_have_text(w["audience"])
    # The author has told nothing of themselves: told how to take part.
    await expect(page.get_by_test_id("not-for-you")).to_contain_text(w["missing"])
    await browsing.assert_accessible(page)
    poll_url = page.url

    await page.goto(f"{node.url}/citizen")
    year = datetime.datetime.now(datetime.UTC).year
    await page.get_by_label(w["born"]).fill(str(year - 34))
    await page.get_by_label(w["district"]).select_option("mapo")
    await page.locator("[data-profile-form]").get_by_role("button", name=w["save"]).click()
    await expect(page.locator("[data-profile-status]")).to_contain_text(w["saved"])
    await browsing.assert_accessible(page)

    await page.goto(poll_url)
    await expect(page.get_by_test_id("not-for-you")).to_have_count(0)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15000)
    await page.get_by_role("button", name="Mangwon", exact=True).click()
    await expect(page.get_by_text(t["counted"])).to_be_visible()
