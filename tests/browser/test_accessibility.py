"""axe-core (from npm) finds no WCAG A/AA violation on any page, in English and Korean.

Each page is opened as its user would reach it: the join form, a phone that joined and
voted, the presenter screen, the verify page, the host's sign-in, rooms list and console.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import open_phone, presenter_url, vote
from tests.conftest import Node
from tests.live.helpers import make_room

LOCALES = ["en-US", "ko-KR"]


@pytest.mark.parametrize("locale", LOCALES)
async def test_attendee_pages_have_no_axe_violation(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    room = await make_room(svc, {"title": "Lunch?", "options": "Rice,Noodles"})
    join = await browsing.phone(locale)
    await join.goto(f"{node.url}/")
    await browsing.assert_accessible(join)

    phone = await open_phone(browsing, node, room, locale)
    await browsing.assert_accessible(phone)
    if locale == "en-US":
        await vote(phone, "Rice")
    else:
        await phone.get_by_role("button", name="Rice", exact=True).click()
        await expect(phone.get_by_test_id("receipt")).to_be_visible()
    await browsing.assert_accessible(phone)

    verify = await browsing.phone(locale)
    await verify.goto(f"{node.url}/verify")
    await browsing.assert_accessible(verify)


@pytest.mark.parametrize("locale", LOCALES)
async def test_presenter_screen_has_no_axe_violation(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    room = await make_room(svc, {"title": "Lunch?", "options": "Rice,Noodles"})
    screen = await browsing.screen(locale)
    await screen.goto(presenter_url(node, room))
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    await browsing.assert_accessible(screen)


@pytest.mark.parametrize("locale", LOCALES)
async def test_host_pages_have_no_axe_violation(
    browsing: Browsing, node: Node, locale: str
) -> None:
    console = await browsing.screen(locale)
    await console.goto(f"{node.url}/host")
    await browsing.assert_accessible(console)
    await console.locator("a[href*='signup']").first.click()
    await browsing.assert_accessible(console)
    await console.locator("input[type=email]").fill("axe@example.org")
    await console.locator("input[type=password]").first.fill("correct horse")
    await console.locator("form button[type=submit]").first.click()
    await expect(console.locator("input[name=title]").first).to_be_visible()
    await browsing.assert_accessible(console)  # the rooms list, with its form
    await console.locator("input[name=title]").first.fill("Monday lecture")
    await console.locator("form[action='/host/rooms'] button[type=submit]").click()
    await expect(console.locator("#conn")).to_have_attribute("data-state", "connected")
    await browsing.assert_accessible(console)


@pytest.mark.parametrize(
    ("locale", "heading", "home"),
    [
        pytest.param("en-US", "Page not found", "Join a vote", id="en-US"),
        pytest.param("ko-KR", "페이지를 찾을 수 없습니다", "투표 참여", id="ko-KR"),
    ],
)
async def test_the_404_page_has_no_axe_violation(
    browsing: Browsing, node: Node, locale: str, heading: str, home: str
) -> None:
    # Chromium logs the 404 of the page itself as a console error.
    browsing.allow(r"status of 404 \(Not Found\) \(http://[^ ]+/no/such/page\)$")
    page = await browsing.phone(locale)
    answer = await page.goto(f"{node.url}/no/such/page")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    await browsing.assert_accessible(page)
    await page.get_by_role("link", name=home, exact=True).click()
    await expect(page).to_have_url(f"{node.url}/")
