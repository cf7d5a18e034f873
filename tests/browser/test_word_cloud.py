"""Open text on a phone and a word cloud on the projector, in Korean and English; the
cloud's grouping in the browser agrees with the server's on the shared cases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_console_ui import _api, _button, _console, _item, _room_id
from tests.browser.test_lecture_poll import open_phone, open_presenter
from tests.browser.test_projector import assert_fits
from tests.conftest import Node, connect
from tests.live.helpers import make_room

ROOT = Path(__file__).resolve().parents[2]
CASES: dict[str, Any] = json.loads(
    (ROOT / "tests" / "rooms" / "vectors" / "words" / "cases.json").read_text()
)


async def answer(phone: Page, text: str, label: str = "Your answer") -> None:
    await phone.get_by_label(label, exact=True).fill(text)
    await phone.get_by_label(label, exact=True).press("Enter")


async def cloud(page: Page) -> list[tuple[str, int]]:
    words = page.get_by_test_id("cloud-word")
    texts = await words.evaluate_all(
        "(ws) => ws.map((w) => [w.firstChild.textContent, Number(w.dataset.count)])"
    )
    return sorted((w, n) for w, n in texts)


async def test_phones_answer_in_words_and_the_projector_shows_them_as_a_cloud(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "One word for the city?", "kind": "text", "options": ""})
    screen = await open_presenter(browsing, node, room)
    await expect(screen.locator("#q-title")).to_have_text("One word for the city?")
    await expect(screen.locator("#cloud")).to_contain_text("No answers yet.")
    first = await open_phone(browsing, node, room)
    await browsing.assert_accessible(first)
    await answer(first, "Green parks!")
    await expect(first.get_by_test_id("my-choice")).to_have_text("You answered: Green parks!")
    await expect(first.get_by_test_id("cloud-word")).to_have_count(1)
    await browsing.assert_accessible(first)
    second = await open_phone(browsing, node, room, "ko-KR")
    await answer(second, "교육이", "답변")
    await expect(second.get_by_test_id("my-choice")).to_have_text("내 답변: 교육이")
    for text in ("교육", "GREEN PARKS"):
        phone = await open_phone(browsing, node, room)
        await answer(phone, text)
        await expect(phone.get_by_test_id("my-choice")).to_contain_text(text)
    # "교육이" is shown with "교육" once someone wrote the bare word; case and
    # punctuation never split an answer.
    await expect(screen.get_by_test_id("total")).to_have_text("4")
    await expect(screen.get_by_test_id("cloud-word")).to_have_count(2)
    assert await cloud(screen) == [("green parks", 2), ("교육", 2)]
    await expect(screen.get_by_test_id("cloud-word").first).to_have_attribute("data-count", "2")
    # A reload keeps the voter's own answer.
    await first.reload()
    await expect(first.get_by_test_id("my-choice")).to_have_text("You answered: Green parks!")
    await assert_fits(screen, "projector-cloud")
    await browsing.assert_accessible(screen)


async def test_a_cloud_of_many_long_answers_fits_the_projector(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(
        svc, {"title": "What should the city build?", "kind": "text", "options": ""}
    )
    screen = await open_presenter(browsing, node, room)
    phone = await open_phone(browsing, node, room)
    await phone.close()
    # Fifty distinct answers of forty characters: the most a snapshot carries.
    for i in range(50):
        async with connect(node.url) as c:
            assert (await c.join(room.number, password="pw"))["ok"]
            text = f"{i:02d} " + "community solar gardens everywhere "[:37]
            ack = await c.call("vote", {"question": room.q, "answers": [text]})
            assert ack["ok"], ack
    await expect(screen.get_by_test_id("cloud-word")).to_have_count(50)

    async def words_inside(page: Page) -> None:
        inside = await page.get_by_test_id("cloud-word").evaluate_all(
            "(ws) => ws.every((w) => { const r = w.getBoundingClientRect();"
            " return r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5; })"
        )
        assert inside, "cloud words off the screen"

    await assert_fits(screen, "projector-cloud-50", words_inside)


async def test_the_browser_groups_answers_as_the_server_does(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "Word?", "kind": "text", "options": ""})
    page = await open_phone(browsing, node, room)  # a page that loads common.js
    assert await page.evaluate("window.mvWords.PARTICLES") == CASES["particles"]
    for case in CASES["group"]:
        grouped = await page.evaluate("(c) => window.mvWords.groupParticles(c)", case["counts"])
        assert grouped == case["cloud"], case


async def test_a_host_makes_an_open_text_question_and_hides_an_answer_live(
    browsing: Browsing, node: Node
) -> None:
    console = await _console(browsing, node, "en-US")
    await console.get_by_label("Question", exact=True).fill("Two words for the park?")
    await console.get_by_label("Kind").select_option("text")
    await expect(console.locator("#options-row")).to_be_hidden()
    await console.get_by_label("Answers per voter").fill("2")
    await console.get_by_role("button", name="Add question").click()
    item = _item(console, "Two words for the park?")
    await expect(item.get_by_test_id("question-facts")).to_contain_text("Open text (word cloud)")
    await _button(item, "Open").click()
    await expect(item).to_have_attribute("data-status", "open")
    await browsing.assert_accessible(console)
    room = (await _api(console, node, "GET", f"/api/rooms/{_room_id(console)}"))["room"]
    phone = await browsing.phone()
    await phone.goto(room["join_url"])
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    await phone.get_by_label("Answer 1", exact=True).fill("Shade")
    await phone.get_by_label("Answer 2", exact=True).fill("Rude word")
    await phone.get_by_role("button", name="Send my answer").click()
    await expect(phone.get_by_test_id("my-choice")).to_have_text("You answered: Shade, Rude word")
    await expect(item.get_by_test_id("answer")).to_have_count(2)
    await expect(phone.get_by_test_id("cloud-word")).to_have_count(2)

    await item.get_by_role("button", name="Hide the answer “rude word” from every screen").click()
    await expect(console.locator("#console-status")).to_have_text(
        "“rude word” is hidden from every screen."
    )
    await expect(item.get_by_test_id("answer")).to_have_count(1)
    await expect(item.get_by_test_id("hidden-answer")).to_have_text(re.compile("rude word"))
    await expect(phone.get_by_test_id("cloud-word")).to_have_count(1)
    await expect(phone.get_by_test_id("cloud-word")).to_contain_text("shade")
    await browsing.assert_accessible(console)
    await console.reload()
    item = _item(console, "Two words for the park?")
    await expect(item.get_by_test_id("hidden-answer")).to_have_count(1)
    await item.get_by_role("button", name="Show again: the answer “rude word”").click()
    await expect(phone.get_by_test_id("cloud-word")).to_have_count(2)
    await expect(item.get_by_test_id("hidden-answer")).to_have_count(0)
