"""The attendee's phone page and the presenter screen in real headless Chromium.

Rooms are made through ``live.store`` (as the host's console would), pages are opened by
their real URLs on an in-process uvicorn node, and every wait is on a condition
(``expect``), never a fixed sleep. The ``browsing`` fixture fails a test whose pages
logged a console error, threw, or opened a dialog.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.async_api import Page, expect

from live import store
from live.services import Services
from rooms.questions import Action, build_question
from tests.browser.conftest import ARTIFACTS, Browsing
from tests.conftest import Node
from tests.live.helpers import Room, make_room

# Reconnecting after a cut waits for Socket.IO's back-off (at most 5 s between tries).
RECONNECT = 15_000
XSS = "<script>alert(1)</script>"
XSS_OPTION = "<img src=x onerror=alert(2)>"


def vote_url(node: Node, room: Room) -> str:
    """The link the presenter's QR code carries."""
    return f"{node.url}/j/{room.number}?key={quote(room.info.key)}"


def presenter_url(node: Node, room: Room) -> str:
    return f"{node.url}/present/{room.number}?token={quote(room.info.presenter)}"


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


async def open_presenter(browsing: Browsing, node: Node, room: Room) -> Page:
    screen = await browsing.screen()
    await screen.goto(presenter_url(node, room))
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    return screen


async def open_phone(browsing: Browsing, node: Node, room: Room, locale: str = "en-US") -> Page:
    """A phone that opened the QR link and joined."""
    phone = await browsing.phone(locale)
    await phone.goto(vote_url(node, room))
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    return phone


async def join_by_form(phone: Page, node: Node, room: Room, labels: tuple[str, str, str]) -> None:
    """Type the room number and password into the join form at ``/``."""
    room_label, password_label, join = labels
    await phone.goto(f"{node.url}/")
    await phone.get_by_label(room_label, exact=True).fill(room.number)
    await phone.get_by_label(password_label, exact=True).fill(room.info.password)
    await phone.get_by_role("button", name=join, exact=True).click()
    await expect(phone).to_have_url(re.compile(rf"/j/{room.number}\?key="))
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")


async def vote(phone: Page, label: str) -> None:
    await phone.get_by_role("button", name=label, exact=True).click()
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect(phone.get_by_test_id("receipt")).to_have_text(re.compile(r"^[0-9a-f]{12}$"))


async def expect_counts(page: Page, counts: list[int], total: int | None = None) -> None:
    """The bars' counts, in option order, and the total (the presenter's or the phone's)."""
    await expect(page.get_by_test_id("option-count")).to_have_text([str(c) for c in counts])
    if total is not None:
        shown = page.get_by_test_id("total").or_(page.locator("#results .total"))
        await expect(shown).to_have_text(str(total))


async def tally_total(svc: Services, qid: str) -> str | None:
    total: str | None = await svc.redis.hget(svc.keys.tally(qid), "total")
    return total


async def until(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def test_lecture_poll_counts_live_on_the_presenter(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "Which language next?", "options": "Python,Rust,Go"})
    screen = await open_presenter(browsing, node, room)
    await screen.evaluate("window.loadedOnce = true")  # gone if the page reloads
    await expect(screen.get_by_test_id("room-number")).to_have_text(room.number)
    await expect(screen.get_by_test_id("join-qr").locator("svg")).to_be_visible()
    await expect(screen.locator("#q-title")).to_have_text("Which language next?")
    await expect_counts(screen, [0, 0, 0], 0)

    first = await browsing.phone()
    await join_by_form(first, node, room, ("Room", "Password", "Join"))
    second = await open_phone(browsing, node, room)
    third = await open_phone(browsing, node, room)

    await vote(first, "Rust")
    await expect_counts(screen, [0, 1, 0], 1)
    await vote(second, "Python")
    await expect_counts(screen, [1, 1, 0], 2)
    await vote(third, "Rust")
    await expect_counts(screen, [1, 2, 0], 3)

    # Live results: every phone follows the same counts.
    for phone in (first, second, third):
        await expect_counts(phone, [1, 2, 0], 3)
    assert await screen.evaluate("window.loadedOnce") is True, "the presenter reloaded"
    assert await tally_total(svc, room.q) == "3"
    await shot(screen, "presenter.png")
    await shot(first, "phone.png")


async def test_after_vote_results_stay_hidden_until_the_phone_votes(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(
        svc, {"title": "Lunch?", "options": "Noodles,Rice,Salad", "visibility": "after_vote"}
    )
    screen = await open_presenter(browsing, node, room)
    first = await open_phone(browsing, node, room)
    second = await open_phone(browsing, node, room)
    note = "Results will be shown after you vote."
    for phone in (first, second):
        await expect(phone.get_by_text(note)).to_be_visible()
        await expect(phone.locator("ol.bars")).to_have_count(0)

    await vote(first, "Noodles")
    await expect_counts(first, [1, 0, 0], 1)
    await expect(first.get_by_text(note)).to_have_count(0)
    # Hidden results hide their size too (as the poll's log does): no total on the projector.
    await expect(screen.get_by_test_id("total")).to_be_hidden()
    # The snapshot that reached the presenter did not reach the phone that hasn't voted.
    await expect(second.get_by_text(note)).to_be_visible()
    await expect(second.locator("ol.bars")).to_have_count(0)

    await vote(second, "Rice")
    await expect_counts(second, [1, 1, 0], 2)
    await expect(second.get_by_text(note)).to_have_count(0)
    await expect_counts(first, [1, 1, 0], 2)
    # The projector is public: nothing of an after-vote question's results, not even the total.
    await expect(screen.get_by_text("Results are hidden.")).to_be_visible()
    await expect(screen.get_by_test_id("total")).to_be_hidden()
    await expect(screen.locator("#bars")).to_be_hidden()


async def test_after_close_results_appear_when_the_host_closes(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(
        svc, {"title": "Adopt the budget?", "options": "Yes,No", "visibility": "after_close"}
    )
    screen = await open_presenter(browsing, node, room)
    phone = await open_phone(browsing, node, room)
    await expect(screen.get_by_text("Results are hidden.")).to_be_visible()
    await expect(screen.locator("#bars")).to_be_hidden()
    await expect(screen.get_by_test_id("total")).to_be_hidden()
    note = "Results will be shown after the vote closes."
    await expect(phone.get_by_text(note)).to_be_visible()

    await vote(phone, "Yes")
    await expect(screen.get_by_test_id("total")).to_be_hidden()
    await expect(screen.get_by_text("Results are hidden.")).to_be_visible()
    await expect(screen.get_by_test_id("option-count").first).to_be_hidden()
    await expect(phone.get_by_text(note)).to_be_visible()
    await expect(phone.locator("ol.bars")).to_have_count(0)

    await store.act(svc, room.q, Action.CLOSE)
    await expect(screen.get_by_text("Results are hidden.")).to_be_hidden()
    await expect(screen.locator("#bars")).to_be_visible()
    await expect_counts(screen, [1, 0], 1)
    await expect_counts(phone, [1, 0], 1)
    await expect(phone.get_by_text(note)).to_have_count(0)
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()


async def test_a_vote_made_offline_is_sent_once_when_back_online(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    """Chromium's offline emulation aborts open WebSockets, so ``set_offline(True)`` is a
    real cut: the server sees the phone's connection close (checked below, so a browser
    that kept the socket open would fail here rather than pass vacuously) and every
    reconnect fails until ``set_offline(False)``."""
    live = node.live
    room = await make_room(svc, {"title": "Coffee or tea?", "options": "Coffee,Tea"})
    screen = await open_presenter(browsing, node, room)
    before = set(live.conns)
    phone = await open_phone(browsing, node, room)
    (phone_sid,) = set(live.conns) - before
    conn = phone.locator("#conn")
    # The refused reconnects while offline are expected console errors, nothing else.
    browsing.allow(r"^WebSocket connection to .* failed: .*net::ERR_INTERNET_DISCONNECTED")

    await phone.context.set_offline(True)
    await expect(conn).to_have_attribute("data-state", "offline")
    await until(lambda: phone_sid not in live.conns, "the server saw the phone's socket close")
    # Socket.IO is retrying now; a ballot made meanwhile must show the offline state.
    await expect(conn).to_have_attribute("data-state", "connecting")
    await phone.get_by_role("button", name="Tea", exact=True).click()
    await expect(conn).to_have_attribute("data-state", "offline", timeout=1000)
    await expect(conn).to_have_text("Offline. Your vote will be sent when the connection is back.")
    await expect(phone.get_by_text("Sending your vote…")).to_be_visible()
    await expect(phone.get_by_role("button", name="Tea", exact=True)).to_be_disabled()
    assert await tally_total(svc, room.q) is None
    await expect(screen.get_by_test_id("total")).to_have_text("0")

    await phone.context.set_offline(False)
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible(timeout=RECONNECT)
    await expect(conn).to_have_attribute("data-state", "connected")
    await expect_counts(screen, [0, 1], 1)
    assert await tally_total(svc, room.q) == "1"
    # The same phone again (its device is kept): still counted once, no way to vote twice.
    await phone.reload()
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect(phone.get_by_role("button", name="Tea", exact=True)).to_have_count(0)
    await expect_counts(screen, [0, 1], 1)
    assert await tally_total(svc, room.q) == "1"


async def test_multiple_choice_then_rating(browsing: Browsing, node: Node, svc: Services) -> None:
    room = await make_room(
        svc,
        {
            "title": "Pick two topics",
            "kind": "multiple",
            "options": "Parks,Buses,Housing,Schools",
            "max_choices": 2,
        },
        {"title": "Rate the talk", "kind": "rating", "options": ""},
        open_=False,
    )
    multiple, rating = room.questions
    await store.act(svc, multiple, Action.OPEN)
    screen = await open_presenter(browsing, node, room)
    phone = await open_phone(browsing, node, room)
    await expect(phone.get_by_text("Choose up to 2.")).to_be_visible()
    submit = phone.get_by_role("button", name="Submit vote", exact=True)
    await expect(submit).to_be_disabled()

    def option(label: str) -> Any:
        return phone.get_by_role("button", name=label, exact=True)

    await option("Parks").click()
    await option("Housing").click()
    # Two at most: the others now look and say they are unavailable, and a third is refused.
    await expect(option("Schools")).to_have_attribute("aria-disabled", "true")
    await option("Schools").click(force=True)
    for label, pressed in (("Parks", "true"), ("Buses", "false"), ("Housing", "true")):
        await expect(option(label)).to_have_attribute("aria-pressed", pressed)
    await expect(option("Schools")).to_have_attribute("aria-pressed", "false")
    await option("Parks").click()  # changed my mind
    await option("Buses").click()
    await submit.click()
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect_counts(screen, [0, 1, 1, 0], 1)
    await expect_counts(phone, [0, 1, 1, 0], 1)

    # The host moves on: the phone follows to the rating question without a reload.
    await store.act(svc, multiple, Action.CLOSE)
    await store.act(svc, rating, Action.OPEN)
    await expect(screen.locator("#q-title")).to_have_text("Rate the talk")
    await expect(phone.get_by_role("heading", name="Rate the talk")).to_be_visible()
    await expect(phone.locator(".options.rating button")).to_have_text(["1", "2", "3", "4", "5"])
    await vote(phone, "4")
    await expect_counts(screen, [0, 0, 0, 1, 0], 1)
    assert await tally_total(svc, multiple) == "1"
    assert await tally_total(svc, rating) == "1"


async def test_korean_phone_and_switching_to_english(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "점심 메뉴", "options": "비빔밥,냉면"})
    phone = await browsing.phone("ko-KR")
    await phone.goto(f"{node.url}/")
    await expect(phone.locator("html")).to_have_attribute("lang", "ko")
    await join_by_form(phone, node, room, ("방 번호", "비밀번호", "참여하기"))
    await expect(phone.locator("#conn")).to_have_text("연결됨")
    await phone.get_by_role("button", name="냉면", exact=True).click()
    await expect(phone.get_by_text("투표가 집계되었습니다.")).to_be_visible()
    await expect_counts(phone, [0, 1], 1)
    await shot(phone, "phone-ko.png")

    await phone.goto(f"{node.url}/?lang=en")
    await expect(phone.locator("html")).to_have_attribute("lang", "en")
    await expect(phone.get_by_label("Room", exact=True)).to_be_visible()
    await expect(phone.get_by_label("Password", exact=True)).to_be_visible()
    # Remembered: the vote page is now in English too, and still knows this phone voted.
    await phone.goto(vote_url(node, room))
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    # The language links keep the page's own link (its key): switching stays on the page.
    await phone.get_by_role("link", name="한국어").click()
    await expect(phone.locator("html")).to_have_attribute("lang", "ko")
    await expect(phone).to_have_url(re.compile(rf"/j/{room.number}\?.*key="))
    await expect(phone.get_by_text("투표가 집계되었습니다.")).to_be_visible()


async def test_markup_in_titles_and_labels_is_shown_as_text(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    info = await store.create_room(svc, title=XSS, password="pw")
    q = await store.add_question(svc, info.id, build_question(XSS, "single", [XSS_OPTION, "Safe"]))
    await store.act(svc, q.id, Action.OPEN)
    room = Room(info, [q.id])
    screen = await open_presenter(browsing, node, room)
    phone = await open_phone(browsing, node, room)

    await expect(phone).to_have_title(f"{XSS} · mVoting")
    await expect(phone.locator("#room-title")).to_have_text(XSS)
    await expect(phone.locator("#q-title")).to_have_text(XSS)
    await vote(phone, XSS_OPTION)
    await expect(phone.locator(".bar-label").first).to_have_text(XSS_OPTION)

    await expect(screen.locator(".room-title")).to_have_text(XSS)
    await expect(screen.locator("#q-title")).to_have_text(XSS)
    await expect(screen.locator(".bar-label")).to_have_text([XSS_OPTION, "Safe"])
    await expect_counts(screen, [1, 0], 1)
    for page in (phone, screen):
        await expect(
            page.locator("main img, main script:not([type='application/json']):not([src])")
        ).to_have_count(0)
    assert browsing.dialogs == []
