"""Prohibited words in Chromium, in English and Korean: a monitor adds a word (and an
allowed one) on the monitors' page and removes one; a citizen opening a poll that holds
a word in disguise (Latin or Korean) reads the refusal naming it; axe-clean."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.async_api import expect

from live.engines import db
from live.jobs import JobWorker
from live.moderation import monitors
from live.services import Services
from tests.browser.conftest import Browsing, citizen_page
from tests.conftest import Node
from tests.live.citizenry import citizen, make_citizen

KIM, PARK = "010-2345-6789", "010-1111-2222"

TEXT = {
    "en-US": {
        "sign_in": "Sign in",
        "phone": "Mobile number",
        "password": "Password",
        "word": "Word",
        "allowed": "An allowed word (an exception to the list)",
        "add": "Add",
        "added": "Added: Badword",
        "removed": "Removed: Spam",
        "remove_spam": "Remove “Spam”",
        "allowed_badge": "Allowed",
        "open": "Open the poll",
        "refused": "“Badword” is not allowed here. Please write it another way.",
        "refused_ko": "“씨발” is not allowed here. Please write it another way.",
    },
    "ko-KR": {
        "sign_in": "로그인",
        "phone": "휴대전화 번호",
        "password": "비밀번호",
        "word": "낱말",
        "allowed": "허용어 (목록의 예외)",
        "add": "추가",
        "added": "추가했습니다: Badword",
        "removed": "삭제했습니다: Spam",
        "remove_spam": "“Spam” 삭제",
        "allowed_badge": "허용어",
        "open": "투표 열기",
        "refused": "“Badword”은(는) 쓸 수 없는 말입니다. 다른 표현으로 써 주세요.",
        "refused_ko": "“씨발”은(는) 쓸 수 없는 말입니다. 다른 표현으로 써 주세요.",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_monitor_lists_a_word_and_a_citizen_is_told_which_word_refused_the_poll(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    t = TEXT[locale]
    for phone in (KIM, PARK):
        await make_citizen(svc, phone)
    async with citizen(node.url, PARK) as park:
        await monitors.add_monitor(svc, by="cli", citizen_id=park.id)

    monitor = await citizen_page(browsing, node, locale, PARK, "/monitor/words")
    words = monitor.get_by_test_id("word")
    for word, allowed in (("Badword", False), ("Spam", False), ("씨발", False), ("시발점", True)):
        await monitor.get_by_label(t["word"], exact=True).fill(word)
        if allowed:
            await monitor.get_by_label(t["allowed"]).check()
        await monitor.get_by_role("button", name=t["add"], exact=True).click()
        await expect(words.filter(has_text=word)).to_be_visible()
    await expect(monitor.get_by_role("status")).to_contain_text("시발점")
    await expect(words.filter(has_text="시발점")).to_contain_text(t["allowed_badge"])
    await expect(monitor.get_by_label(t["word"], exact=True)).to_be_focused()
    await browsing.assert_accessible(monitor)
    await monitor.get_by_role("button", name=t["remove_spam"]).click()
    await expect(monitor.get_by_role("status")).to_have_text(t["removed"])
    await expect(words).to_have_count(3)
    await monitor.reload()
    await expect(words).to_have_count(3)  # kept

    browsing.allow(r"status of 422 .*/api/polls\)")  # the refusal, shown on the form
    page = await citizen_page(browsing, node, locale, KIM, "/polls/new")
    await page.locator("#title").fill("Is b.a.d-w0rd a ｂａｄｗｏｒｄ?")
    await page.locator("#area").select_option("environment")
    closes = await page.evaluate(
        """() => { const d = new Date(Date.now() + 86400000);
                   const p = (n) => String(n).padStart(2, "0");
                   return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T12:00`; }"""
    )
    await page.locator("#closes").fill(closes)
    await page.locator("#q-title").fill("More trees?")
    await page.locator("#q-kind").select_option("yesno")
    await page.get_by_role("button", name=t["open"]).click()
    alert = page.locator("[data-error]")
    await expect(alert).to_have_text(t["refused"])
    await page.locator("#title").fill("씨 1발놈 투표")  # a space, a digit, an ending
    await page.get_by_role("button", name=t["open"]).click()
    await expect(alert).to_have_text(t["refused_ko"])
    await expect(page).to_have_url(f"{node.url}/polls/new")
    async with svc.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(db.polls)) == 0
    await browsing.assert_accessible(page)
