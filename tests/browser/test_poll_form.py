"""Polls made from the form in Chromium and voted on, in English and Korean: a poll
limited to a radius around where its author stands, which takes a phone inside and
tells one outside why in a sentence; an internal vote an official opens for their
department, which another official of it votes on; a survey answered as one form."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from live.jobs import JobWorker
from live.services import Services
from tests.browser.conftest import Browsing, citizen_page
from tests.browser.test_city_walk import local_time_in
from tests.conftest import Node
from tests.live.citizenry import PASSWORD, make_citizen, make_official, official

KIM, LEE, PARK = "010-2345-6789", "010-9876-5432", "010-5555-1234"
CITY_HALL = {"latitude": 37.5663, "longitude": 126.9779}
NEAR = {"latitude": 37.5670, "longitude": 126.9785}  # about 90 m away
GANGNAM = {"latitude": 37.4979, "longitude": 127.0276}  # about 9 km away
POLL_PAGE = re.compile(r"/polls/(?!new$)[a-z0-9]+$")

WORDS = {
    "en-US": {
        "who": "Who may vote (optional: every signed-in citizen)",
        "here": "Place the poll where I am now",
        "placed": "The poll will be placed where you are.",
        "radius": "Only within this distance of the poll's place",
        "open": "Open the poll",
        "within": "Within 500 m of the poll's place",
        "counted": "Your vote was counted.",
        "outside": "Your position is outside the area this poll takes ballots from.",
        "login": "E-mail or login",
        "password": "Password",
        "sign_in": "Sign in",
        "thirties": "30s",
        "officials": "Officials of Transport",
        "part_title": "Part {}: question",
        "options": "Options of part {}, one per line",
        "required": "Part {} must be answered",
        "submit": "Submit my answers",
        "yes": "Yes",
    },
    "ko-KR": {
        "who": "투표할 수 있는 사람 (선택: 로그인한 모든 시민)",
        "here": "지금 내 위치에 투표를 둡니다",
        "placed": "투표를 지금 위치에 둡니다.",
        "radius": "투표 장소에서 이 거리 안에서만",
        "open": "투표 열기",
        "within": "투표 장소 500m 이내",
        "counted": "투표가 집계되었습니다.",
        "outside": "현재 위치가 이 투표를 받는 지역 밖입니다.",
        "login": "이메일 또는 아이디",
        "password": "비밀번호",
        "sign_in": "로그인",
        "thirties": "30대",
        "officials": "Transport 공무원",
        "part_title": "{}번 문항: 질문",
        "options": "{}번 문항의 선택지(한 줄에 하나씩)",
        "required": "{}번 문항은 필수 응답",
        "submit": "응답 제출하기",
        "yes": "예",
    },
}


async def fill_poll(page: Page, title: str, question: str) -> None:
    await page.locator("#title").fill(title)
    await page.locator("#area").select_option("transport")
    await page.locator("#closes").fill(await local_time_in(page, 7200))
    await page.locator("#q-title").fill(question)


async def official_page(browsing: Browsing, node: Node, locale: str, login: str, url: str) -> Page:
    """A desktop browser signed in as the official ``login`` (password ``PASSWORD``)."""
    w = WORDS[locale]
    page = await browsing.screen(locale)
    await page.goto(f"{node.url}/host/signin")
    await page.get_by_label(w["login"]).fill(login)
    await page.get_by_label(w["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=w["sign_in"], exact=True).click()
    await page.wait_for_url(f"{node.url}/host")
    await page.goto(f"{node.url}{url}")
    return page


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_poll_within_a_radius_takes_a_phone_inside_and_tells_one_outside_why(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    w = WORDS[locale]
    for phone in (KIM, LEE, PARK):
        await make_citizen(svc, phone)
    author = await citizen_page(browsing, node, locale, KIM, "/polls/new")
    await author.context.grant_permissions(["geolocation"])
    await author.context.set_geolocation(CITY_HALL)
    await fill_poll(author, "A bus stop at City Hall?", "Where?")
    await author.locator("#q-options").fill("North side\nSouth side")
    await author.get_by_label(w["here"]).check()
    await expect(author.locator("[data-position-status]")).to_have_text(w["placed"])
    await author.get_by_text(w["who"]).click()
    await author.get_by_label(w["radius"]).fill("500")
    await browsing.assert_accessible(author)
    await author.get_by_role("button", name=w["open"]).click()
    await author.wait_for_url(POLL_PAGE)
    await expect(author.get_by_test_id("poll-audience")).to_have_text(w["within"])
    poll = author.url.removeprefix(node.url)

    inside = await citizen_page(browsing, node, locale, LEE, poll)
    await inside.context.grant_permissions(["geolocation"])
    await inside.context.set_geolocation(NEAR)
    await expect(inside.locator("#conn")).to_have_attribute("data-state", "connected")
    await inside.get_by_role("button", name="South side", exact=True).click()
    await expect(inside.get_by_text(w["counted"])).to_be_visible()
    await expect(inside.get_by_test_id("option-count")).to_have_text(["0", "1"])

    outside = await citizen_page(browsing, node, locale, PARK, poll)
    await outside.context.grant_permissions(["geolocation"])
    await outside.context.set_geolocation(GANGNAM)
    await expect(outside.locator("#conn")).to_have_attribute("data-state", "connected")
    await outside.get_by_role("button", name="North side", exact=True).click()
    await expect(outside.get_by_text(w["outside"])).to_be_visible()
    await expect(outside.locator("body")).not_to_contain_text("out_of_area")
    await expect(outside.get_by_text(w["counted"])).to_have_count(0)
    await browsing.assert_accessible(outside)
    await expect(inside.get_by_test_id("option-count")).to_have_text(["0", "1"])


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_an_official_opens_an_internal_vote_that_an_official_of_the_department_votes_on(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    w = WORDS[locale]
    for login in ("kim.transport", "lee.transport"):
        once = await make_official(svc, login, "Transport")
        async with official(node.url, login, once):
            pass  # its first password changed to PASSWORD
    desk = await official_page(browsing, node, locale, "kim.transport", "/polls/new")
    await fill_poll(desk, "Night shifts for the bus depot?", "Which rota?")
    await desk.locator("#q-options").fill("Two teams\nThree teams")
    await desk.get_by_text(w["who"]).click()
    # Citizens' targets and departments exclude each other: choosing one turns off the other.
    await desk.get_by_label(w["thirties"], exact=True).check()
    await expect(desk.get_by_label("Transport", exact=True)).to_be_disabled()
    await desk.get_by_label(w["thirties"], exact=True).uncheck()
    await desk.get_by_label("Transport", exact=True).check()
    await expect(desk.get_by_label(w["thirties"], exact=True)).to_be_disabled()
    await browsing.assert_accessible(desk)
    await desk.get_by_role("button", name=w["open"]).click()
    await desk.wait_for_url(POLL_PAGE)
    await expect(desk.get_by_test_id("poll-audience")).to_have_text(w["officials"])
    poll = desk.url.removeprefix(node.url)

    voter = await official_page(browsing, node, locale, "lee.transport", poll)
    await expect(voter.locator("#conn")).to_have_attribute("data-state", "connected")
    await voter.get_by_role("button", name="Three teams", exact=True).click()
    await expect(voter.get_by_text(w["counted"])).to_be_visible()
    await expect(voter.get_by_test_id("option-count")).to_have_text(["0", "1"])
    await browsing.assert_accessible(voter)


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_survey_poll_from_the_form_is_answered_as_one_form(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    w = WORDS[locale]
    await make_citizen(svc, KIM)
    page = await citizen_page(browsing, node, locale, KIM, "/polls/new")
    await fill_poll(page, "The new bike lanes", "Bike lanes")
    await page.locator("#q-kind").select_option("survey")
    await expect(page.locator("#q-options")).to_be_hidden()
    parts = page.get_by_test_id("part-input")
    await expect(parts).to_have_count(2)  # a survey starts with two parts
    await page.get_by_label(w["part_title"].format(1), exact=True).fill("Which street?")
    await page.get_by_label(w["options"].format(1)).fill("Jong-ro\nEulji-ro")
    await page.get_by_label(w["part_title"].format(2), exact=True).fill("Lit at night?")
    await parts.nth(1).locator(".part-kind").select_option("yesno")
    await expect(parts.nth(1).locator(".part-options")).to_be_hidden()
    await page.get_by_label(w["required"].format(2)).uncheck()
    await browsing.assert_accessible(page)
    await page.get_by_role("button", name=w["open"]).click()
    await page.wait_for_url(POLL_PAGE)

    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    fieldsets = page.get_by_test_id("survey-part-input")
    await expect(fieldsets).to_have_count(2)
    await fieldsets.nth(0).get_by_label("Eulji-ro").check()
    await fieldsets.nth(1).get_by_label(w["yes"], exact=True).check()
    await page.get_by_role("button", name=w["submit"]).click()
    await expect(page.get_by_text(w["counted"])).to_be_visible()
    await expect(page.get_by_test_id("my-choice").locator("dd")).to_have_text(
        ["Eulji-ro", w["yes"]]
    )
    await browsing.assert_accessible(page)
