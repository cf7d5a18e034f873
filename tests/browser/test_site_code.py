"""The on-site code in Chromium: a host asks for it in the console, the presenter screen
shows the code and a QR code that follow it, a phone that opened the screen's link votes
and one that opened the plain join link is told to scan; in English and Korean."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from live import store
from live.services import Services
from rooms.questions import Action, build_question
from tests.browser.conftest import Browsing
from tests.conftest import Node

WORDS = {
    "en-US": {
        "switch": "Take ballots only from those present (an on-site code)",
        "on": "On: ballots need the on-site code.",
        "scan": "scan the code on the screen in the room",
        "counted": "Your vote was counted.",
        "left": re.compile(r"changes in \d+ s"),
    },
    "ko-KR": {
        "switch": "현장에 있는 사람의 투표만 받기 (현장 코드)",
        "on": "켜짐: 투표하려면 현장 코드가 필요합니다.",
        "scan": "행사장 화면의 코드를 스캔하세요",
        "counted": "투표가 집계되었습니다.",
        "left": re.compile(r"\d+초 후 바뀜"),
    },
}


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_the_presenter_shows_the_code_and_only_a_phone_that_scanned_it_votes(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    w = WORDS[locale]
    console = await browsing.screen(locale)
    await console.goto(f"{node.url}/host/signup")
    await console.locator("#email").fill(f"site-{locale}@example.org")
    await console.locator("#password").fill("correct horse")
    await console.locator("form[action='/host/signup'] button[type=submit]").click()
    await console.locator("#title").fill("Town hall")
    await console.locator("form[action='/host/rooms'] button[type=submit]").click()
    await expect(console.locator("#conn")).to_have_attribute("data-state", "connected")
    room_id = console.url.rstrip("/").split("/")[-1]
    await console.get_by_label(w["switch"]).check()
    await expect(console.locator("[data-site-status]")).to_contain_text(w["on"])
    await expect(console.get_by_test_id("site-explained")).to_be_visible()
    await browsing.assert_accessible(console)

    q = await store.add_question(svc, room_id, build_question("Tea?", "yesno"))
    await store.act(svc, q.id, Action.OPEN)
    await store.set_current(svc, room_id, q.id)

    screen = await browsing.screen(locale)
    link = await console.locator("a[href*='/present/']").first.get_attribute("href")
    await screen.goto(link or "")
    digits = screen.locator("[data-site-digits]")
    await expect(digits).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    await expect(screen.locator("[data-site-left]")).to_have_text(w["left"])
    qr_url = await screen.get_by_test_id("join-qr").get_attribute("data-url") or ""
    assert qr_url.endswith("&site=" + (await digits.text_content() or "").replace(" ", ""))
    await browsing.assert_accessible(screen)

    scanned = await browsing.phone(locale)
    await scanned.goto(qr_url)
    await expect(scanned.locator("#conn")).to_have_attribute("data-state", "connected")
    await scanned.locator("#stage button").first.click()
    await expect(scanned.get_by_text(w["counted"])).to_be_visible()

    forwarded = await browsing.phone(locale)
    await forwarded.goto(qr_url.split("&site=")[0])  # the plain join link, without the code
    await expect(forwarded.locator("#conn")).to_have_attribute("data-state", "connected")
    await forwarded.locator("#stage button").first.click()
    await expect(forwarded.locator("#stage")).to_contain_text(w["scan"])
