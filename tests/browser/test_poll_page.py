"""A citywide poll's page in Chromium: a citizen signs in and votes, a follower who is not
signed in sees the tally move and is told how to vote, in English and Korean; the badge
of a policy poll; axe-clean."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from live.clock import now_ms
from live.jobs import JobWorker
from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import expect_counts
from tests.conftest import Node
from tests.live.citizenry import PASSWORD, citizen, make_citizen, make_official, official

KIM = "010-2345-6789"

TEXT = {
    "en-US": {
        "sign_in": "Sign in",
        "phone": "Mobile number",
        "password": "Password",
        "counted": "Your vote was counted.",
        "follow": "Anyone can follow this poll.",
        "badge": "Policy reflected",
        "area": "Welfare",
    },
    "ko-KR": {
        "sign_in": "로그인",
        "phone": "휴대전화 번호",
        "password": "비밀번호",
        "counted": "투표가 집계되었습니다.",
        "follow": "누구나 이 투표를 지켜볼 수 있습니다.",
        "badge": "정책 반영",
        "area": "복지",
    },
}


async def sign_in(page: Page, node: Node, t: dict[str, str], next_url: str) -> None:
    await page.goto(f"{node.url}/citizen/signin?next={next_url}")
    await page.get_by_label(t["phone"]).fill(KIM)
    await page.get_by_label(t["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=t["sign_in"], exact=True).click()
    await page.wait_for_url(f"{node.url}{next_url}")


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_citizen_votes_on_a_policy_poll_and_a_follower_sees_the_tally(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    t = TEXT[locale]
    await make_citizen(svc, KIM)
    once = await make_official(svc, "welfare.kim", "Welfare Policy Division")
    async with official(node.url, "welfare.kim", once) as welfare:
        r = await welfare.http.post(
            "/api/polls",
            json={
                "kind": "policy_decision",
                "title": "Free lunches in every school?",
                "area": "welfare",
                "closes_ms": now_ms() + 3_600_000,
                "questions": [{"title": "Should the city pay?", "options": "Yes,No"}],
            },
        )
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
    url = f"/polls/{poll['id']}"

    follower = await browsing.phone(locale)
    await follower.goto(f"{node.url}{url}")
    await expect(follower.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(follower.get_by_test_id("poll-kind")).to_have_text(t["badge"])
    await expect(follower.get_by_text(t["area"], exact=True)).to_be_visible()
    await expect(follower.get_by_test_id("poll-department")).to_have_text("Welfare Policy Division")
    await expect(follower.get_by_test_id("sign-in-to-vote")).to_contain_text(t["follow"])
    await expect(follower.get_by_role("heading", name="Should the city pay?")).to_be_visible()
    await browsing.assert_accessible(follower)

    voter = await browsing.phone(locale)
    await sign_in(voter, node, t, url)
    await expect(voter.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(voter.get_by_test_id("sign-in-to-vote")).to_have_count(0)
    await voter.get_by_role("button", name="Yes", exact=True).click()
    await expect(voter.get_by_text(t["counted"])).to_be_visible()
    await expect(voter.get_by_test_id("receipt")).to_have_text(re.compile(r"^[0-9a-f]{12}$"))
    await expect_counts(follower, [1, 0], 1)
    await browsing.assert_accessible(voter)

    # The same citizen in another browser: already counted there too.
    other = await browsing.phone(locale)
    await sign_in(other, node, t, url)
    await expect(other.get_by_text(t["counted"])).to_be_visible()
    async with citizen(node.url, KIM) as again:
        assert again.id  # the same account signs in by API as well


async def test_a_citizen_chooses_areas_and_the_polls_page_follows(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        for title, area in [("Park benches", "environment"), ("Night buses", "transport")]:
            r = await kim.http.post(
                "/api/polls",
                json={
                    "title": title,
                    "area": area,
                    "closes_ms": now_ms() + 3_600_000,
                    "questions": [{"title": "Yes?", "kind": "yesno"}],
                },
            )
            assert r.status_code == 201, r.text
    t = TEXT["en-US"]
    page = await browsing.phone()
    await sign_in(page, node, t, "/citizen")
    boxes = page.locator("input[name=areas]")
    assert await boxes.count() == 12
    for n in range(12):
        box = boxes.nth(n)
        if await box.get_attribute("value") != "environment":
            await box.uncheck()
    await page.get_by_role("button", name="Save my areas").click()
    await expect(page.locator("[data-areas-status]")).to_contain_text("Saved")
    await page.goto(f"{node.url}/polls?status=all")
    await expect(page.get_by_test_id("polls").locator("h2")).to_have_text(
        ["Night buses", "Park benches"]
    )
    await page.get_by_label("Only my areas").check()
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_test_id("polls").locator("h2")).to_have_text(["Park benches"])
    await browsing.assert_accessible(page)


async def test_a_citizen_opens_a_poll_of_two_questions_from_the_form(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    t = TEXT["en-US"]
    page = await browsing.phone()
    await sign_in(page, node, t, "/polls/new")
    await page.get_by_label("Title", exact=True).fill("Our street")
    await page.get_by_label("Area of interest").select_option("environment")
    closes = await page.evaluate(
        """() => { const d = new Date(Date.now() + 86400000);
                   const p = (n) => String(n).padStart(2, "0");
                   return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T12:00`; }"""
    )
    await page.get_by_label("Closes").fill(closes)
    await page.locator("#q-title").fill("More trees?")
    await page.locator("#q-kind").select_option("yesno")
    await page.get_by_role("button", name="Add a question").click()
    await expect(page.locator("#q-title-2")).to_be_focused()
    await page.locator("#q-title-2").fill("Which tree?")
    await page.locator("#q-options-2").fill("Ginkgo\nZelkova\nCherry")
    await browsing.assert_accessible(page)
    await page.get_by_role("button", name="Open the poll").click()
    await page.wait_for_url(re.compile(r"/polls/(?!new$)[a-z0-9]+$"))
    await expect(page.get_by_role("heading", name="More trees?")).to_be_visible()
    await expect(page.get_by_test_id("other-open")).to_contain_text("Which tree?")
