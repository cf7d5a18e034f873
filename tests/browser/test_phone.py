"""The attendee's phone at 390x844, in English and Korean: what it chose and its receipts
are kept on the device, the join form, multiple choice at its maximum, result bars and
rating buttons measured as laid out, translated yes/no labels; axe-core on every page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from live import store
from live.services import Services, open_services
from live.settings import Settings
from rooms.questions import Action, build_question
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import (
    expect_counts,
    open_phone,
    open_presenter,
    shot,
    until,
    vote,
    vote_url,
)
from tests.conftest import Node, running_worker
from tests.live.helpers import Room, make_room

LOCALES = ["en-US", "ko-KR"]
COUNTED = {"en-US": "Your vote was counted.", "ko-KR": "투표가 집계되었습니다."}


async def room_with(svc: Services, *questions: dict[str, Any], open_first: bool = True) -> Room:
    """A room whose questions are built with any of ``build_question``'s arguments."""
    info = await store.create_room(svc, title="Room", password="pw")
    ids = []
    for spec in questions:
        args = dict(spec)
        q = await store.add_question(
            svc, info.id, build_question(args.pop("title"), args.pop("kind"), **args)
        )
        ids.append(q.id)
    if open_first:
        await store.act(svc, ids[0], Action.OPEN)
    return Room(info, ids)


async def box(page: Page, selector: str) -> dict[str, float]:
    found = await page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not laid out"
    return found


async def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    return list(
        await page.locator(selector).evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height}; })"
        )
    )


async def lines_of(page: Page, selector: str) -> list[int]:
    """How many lines each element's text takes (its height over its line height)."""
    return list(
        await page.locator(selector).evaluate_all(
            "els => els.map(e => { const s = getComputedStyle(e);"
            " const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.5;"
            " return Math.round(e.getBoundingClientRect().height / line); })"
        )
    )


async def test_the_phone_shows_what_it_chose_after_voting_and_after_a_reload(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await room_with(
        svc,
        {"title": "Which language next?", "kind": "single", "options": "Python,Rust,Go"},
        {"title": "Pick two", "kind": "multiple", "options": "Parks,Buses,Housing"}
        | {"max_choices": 2},
    )
    single, multiple = room.questions
    phone = await open_phone(browsing, node, room)
    await vote(phone, "Rust")
    mine = phone.get_by_test_id("my-choice")
    await expect(mine).to_have_text("You chose: Rust")
    await phone.reload()
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect(mine).to_have_text("You chose: Rust")
    await expect(phone.get_by_test_id("receipt")).to_have_text(re.compile(r"^[0-9a-f]{12}$"))

    # Another phone (its own storage) voted too, but says nothing of this one's choice.
    other = await open_phone(browsing, node, room)
    await vote(other, "Go")
    await expect(other.get_by_test_id("my-choice")).to_have_text("You chose: Go")
    await expect(mine).to_have_text("You chose: Rust")

    await store.act(svc, single, Action.CLOSE)
    await store.act(svc, multiple, Action.OPEN)
    await expect(phone.get_by_role("heading", name="Pick two")).to_be_visible()
    await phone.get_by_role("button", name="Buses", exact=True).click()
    await phone.get_by_role("button", name="Parks", exact=True).click()
    await phone.get_by_role("button", name="Submit vote", exact=True).click()
    await expect(mine).to_have_text("You chose: Parks, Buses")
    await phone.reload()
    await expect(mine).to_have_text("You chose: Parks, Buses")


async def test_a_ballot_queued_offline_highlights_its_choice(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    live = node.live
    room = await make_room(svc, {"title": "Coffee or tea?", "options": "Coffee,Tea"})
    before = set(live.conns)
    phone = await open_phone(browsing, node, room)
    (sid,) = set(live.conns) - before
    browsing.allow(r"^WebSocket connection to .* failed: .*net::ERR_INTERNET_DISCONNECTED")
    await phone.context.set_offline(True)
    await until(lambda: sid not in live.conns, "the server saw the phone's socket close")
    await phone.get_by_role("button", name="Tea", exact=True).click()
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "offline")
    tea = phone.get_by_role("button", name="Tea", exact=True)
    coffee = phone.get_by_role("button", name="Coffee", exact=True)
    await expect(tea).to_be_disabled()
    await expect(tea).to_have_attribute("data-chosen", "true")
    await expect(coffee).not_to_have_attribute("data-chosen", "true")
    await expect(phone.get_by_test_id("my-choice")).to_have_text("You chose: Tea")
    # The chosen one is drawn at full strength in the brand colour; the others greyed.
    look = "e => { const s = getComputedStyle(e); return [s.opacity, s.backgroundColor]; }"
    assert await tea.evaluate(look) == ["1", "rgb(29, 78, 216)"]
    assert (await coffee.evaluate(look))[0] == "0.55"
    await shot(phone, "phone-offline-queued.png")

    await phone.context.set_offline(False)
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible(timeout=15_000)
    await expect(phone.get_by_test_id("my-choice")).to_have_text("You chose: Tea")


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_join_form_shows_the_password_and_one_message_for_a_wrong_one(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    room = await make_room(svc)
    browsing.allow(r"status of 400 \(Bad Request\) \(http://[^ ]+/join\)$")  # the refusals
    phone = await browsing.phone(locale)
    await phone.goto(f"{node.url}/")
    number, password = phone.locator("#room"), phone.locator("#password")
    await expect(number).to_have_attribute("inputmode", "numeric")
    for name, value in (
        ("type", "text"),
        ("autocomplete", "off"),
        ("autocapitalize", "off"),
        ("spellcheck", "false"),
    ):
        await expect(password).to_have_attribute(name, value)
    await expect(password).not_to_have_attribute("inputmode", re.compile(".*"))
    await browsing.assert_accessible(phone)

    await number.fill(room.number)
    await password.fill("wrong1")
    await phone.locator("form button[type=submit]").click()
    alert = phone.get_by_role("alert")
    await expect(alert).to_have_count(1)
    wrong = {
        "en-US": "The room number or password is wrong.",
        "ko-KR": "방 번호 또는 비밀번호가 틀렸습니다.",
    }
    await expect(alert).to_have_text(wrong[locale])
    # One answer for both fields: neither is marked wrong, both point to the message.
    for field in (number, password):
        await expect(field).not_to_have_attribute("aria-invalid", "true")
        await expect(field).to_have_attribute("aria-describedby", re.compile(r"\bjoin-error\b"))
    assert await number.evaluate("e => getComputedStyle(e).borderColor") != "rgb(185, 28, 28)"
    await expect(number).to_have_value(room.number)
    await expect(password).to_have_value("wrong1")  # visible, to correct a typo
    await browsing.assert_accessible(phone)

    # A malformed number is the room field's own fault: that one is marked.
    await number.fill("12")
    await phone.locator("form button[type=submit]").click()
    await expect(phone.locator("#room")).to_have_attribute("aria-invalid", "true")
    await expect(phone.locator("#password")).not_to_have_attribute("aria-invalid", "true")

    await phone.locator("#room").fill(room.number)
    await phone.locator("#password").fill("pw")
    await phone.locator("form button[type=submit]").click()
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")


@pytest.mark.parametrize("locale", LOCALES)
async def test_multiple_choice_counts_picks_and_greys_the_rest_at_the_maximum(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    room = await make_room(
        svc,
        {
            "title": "Pick two",
            "kind": "multiple",
            "options": "Parks,Buses,Housing,Schools",
            "max_choices": 2,
        },
    )
    phone = await open_phone(browsing, node, room, locale)
    count = phone.get_by_test_id("pick-count")
    await expect(count).to_have_attribute("aria-live", "polite")
    of = {"en-US": "{n} of 2 chosen", "ko-KR": "2개 중 {n}개 선택"}[locale]
    await expect(count).to_have_text(of.format(n=0))

    def option(label: str) -> Any:
        return phone.get_by_role("button", name=label, exact=True)

    await option("Parks").click()
    await expect(count).to_have_text(of.format(n=1))
    await expect(option("Buses")).not_to_have_attribute("aria-disabled", "true")
    await option("Housing").click()
    await expect(count).to_have_text(of.format(n=2))
    await expect(option("Housing")).to_be_focused()  # updated in place: focus stays
    for label in ("Buses", "Schools"):
        await expect(option(label)).to_have_attribute("aria-disabled", "true")
        await expect(option(label)).to_have_class(re.compile(r"\bunavailable\b"))
        assert float(await option(label).evaluate("e => getComputedStyle(e).opacity")) < 0.6
    for label in ("Parks", "Housing"):
        await expect(option(label)).not_to_have_attribute("aria-disabled", "true")
        assert await option(label).evaluate("e => getComputedStyle(e).opacity") == "1"
    await option("Schools").click(force=True)  # refused
    await expect(option("Schools")).to_have_attribute("aria-pressed", "false")
    await expect(count).to_have_text(of.format(n=2))
    await browsing.assert_accessible(phone)
    await shot(phone, f"phone-multiple-full-{locale}.png")

    await option("Parks").click()  # one fewer: the others can be picked again
    await expect(count).to_have_text(of.format(n=1))
    await expect(option("Schools")).not_to_have_attribute("aria-disabled", "true")


async def test_results_on_a_phone_put_each_label_above_a_full_width_bar(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    word = "Internationalization"
    korean = "국제화 프로그램 운영"
    room = await make_room(svc, {"title": "Topics", "options": f"{word},conference,{korean}"})
    screen = await open_presenter(browsing, node, room)
    phone = await open_phone(browsing, node, room)
    await vote(phone, "conference")
    await expect_counts(phone, [0, 1, 0], 1)

    card = await box(phone, "section.card")
    tracks = await boxes(phone, "#results .bar-track")
    labels = await boxes(phone, "#results .bar-label")
    figures = await boxes(phone, "#results .bar-figures")
    for track, label, figure in zip(tracks, labels, figures, strict=True):
        assert track["width"] >= 0.8 * card["width"], (track, card)
        assert track["y"] >= label["y"] + label["height"] - 1, "the bar is under its label"
        assert abs(figure["y"] - label["y"]) < label["height"], "figures on the label's line"
    assert await lines_of(phone, "#results .bar-label") == [1, 1, 1], "a label broke"
    await shot(phone, "phone-results.png")

    # The projector keeps label, bar and figures on one line.
    (first, *_) = await boxes(screen, "#bars .bar-label")
    (bar, *_) = await boxes(screen, "#bars .bar-track")
    assert bar["x"] > first["x"] + first["width"] and abs(bar["y"] - first["y"]) < first["height"]

    ko = await open_phone(browsing, node, room, "ko-KR")
    await ko.get_by_role("button", name="conference", exact=True).click()
    await expect_counts(ko, [0, 2, 0], 2)
    label = ko.locator("#results .bar-label").nth(2)
    assert await label.evaluate("e => getComputedStyle(e).wordBreak") == "keep-all"
    word_break = "e => getComputedStyle(e).wordBreak"
    assert await ko.locator("#q-title").evaluate(word_break) == "keep-all"
    # An English page breaks words as usual.
    assert await phone.locator("#q-title").evaluate(word_break) == "normal"


@pytest.mark.parametrize("locale", LOCALES)
async def test_rating_buttons_are_even_rows_with_end_labels_and_results_show_the_average(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    room = await room_with(
        svc,
        {"title": "Rate the talk", "kind": "rating", "scale": 5},
        {"title": "Rate the venue", "kind": "rating", "scale": 10},
    )
    five, ten = room.questions
    screen = await open_presenter(browsing, node, room)
    phone = await open_phone(browsing, node, room, locale)
    buttons = "[data-testid=rating-row] button"
    await expect(phone.locator(buttons)).to_have_text(["1", "2", "3", "4", "5"])
    row = await boxes(phone, buttons)
    assert len({round(b["width"]) for b in row}) == 1, row
    assert len({round(b["y"]) for b in row}) == 1, "one row"
    ends_en, ends_ko = ("Not at all", "Very much"), ("전혀 아니다", "매우 그렇다")
    low, high = ends_ko if locale == "ko-KR" else ends_en
    ends = phone.locator(".rating-ends span")
    await expect(ends).to_have_text([low, high])
    left, right = await boxes(phone, ".rating-ends span")
    assert abs(left["x"] - row[0]["x"]) < 2
    assert abs((right["x"] + right["width"]) - (row[-1]["x"] + row[-1]["width"])) < 2
    assert left["y"] >= row[0]["y"] + row[0]["height"], "the end labels are under the buttons"
    await browsing.assert_accessible(phone)

    await phone.get_by_role("button", name="4", exact=True).click()
    await expect(phone.get_by_text(COUNTED[locale])).to_be_visible()
    mine = {"en-US": "Your rating: 4", "ko-KR": "내 평가: 4"}[locale]
    await expect(phone.get_by_test_id("my-choice")).to_have_text(mine)
    other = await open_phone(browsing, node, room)
    await other.get_by_role("button", name="5", exact=True).click()
    await expect(other.get_by_text(COUNTED["en-US"])).to_be_visible()
    average = {"en-US": "Average 4.5 · 2 ratings", "ko-KR": "평균 4.5 · 2명 평가"}[locale]
    await expect(phone.get_by_test_id("rating-average")).to_have_text(average)
    await expect(other.get_by_test_id("rating-average")).to_have_text("Average 4.5 · 2 ratings")
    await expect(screen.get_by_test_id("rating-average")).to_have_text("Average 4.5 · 2 ratings")
    await expect_counts(screen, [0, 0, 0, 1, 1], 2)
    await browsing.assert_accessible(phone)

    await store.act(svc, five, Action.CLOSE)
    await store.act(svc, ten, Action.OPEN)
    await expect(phone.locator(buttons)).to_have_count(10)
    row = await boxes(phone, buttons)
    assert len({round(b["width"]) for b in row}) == 1, row
    tops = sorted({round(b["y"]) for b in row})
    assert len(tops) == 2, "two rows"
    assert [sum(round(b["y"]) == y for b in row) for y in tops] == [5, 5]
    await shot(phone, f"phone-rating-10-{locale}.png")
    await expect(screen.get_by_test_id("rating-average")).to_have_text("No ratings yet")


async def test_yes_no_labels_are_shown_in_korean(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await room_with(svc, {"title": "예산안을 채택할까요?", "kind": "yesno"})
    phone = await open_phone(browsing, node, room, "ko-KR")
    await expect(phone.locator(".options button")).to_have_text(["예", "아니요"])
    await browsing.assert_accessible(phone)
    await phone.get_by_role("button", name="예", exact=True).click()
    await expect(phone.get_by_text(COUNTED["ko-KR"])).to_be_visible()
    await expect(phone.get_by_test_id("my-choice")).to_have_text("내 선택: 예")
    await expect(phone.locator("#results .bar-label")).to_have_text(["예", "아니요"])
    await expect(phone.locator("#results .bar").first).to_have_attribute(
        "aria-label", re.compile(r"^예: 1 ")
    )
    await browsing.assert_accessible(phone)
    await shot(phone, "phone-yesno-ko.png")

    english = await open_phone(browsing, node, room)
    await expect(english.locator(".options button")).to_have_text(["Yes", "No"])


async def receipt_ready(page: Page, base: str, leaf: str) -> None:
    """Wait until the worker has logged the ballot and a checkpoint holds it."""
    for _ in range(100):
        response = await page.request.get(f"{base}/ledger/receipt/{leaf}")
        if response.ok:
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"the receipt {leaf} was never ready")


@pytest.mark.parametrize("locale", LOCALES)
async def test_receipts_are_kept_on_the_device_and_checked_on_verify(
    browsing: Browsing,
    witnessed: Settings,
    witnessed_node: Node,
    tmp_path: Path,
    locale: str,
) -> None:
    node = witnessed_node
    ko = locale == "ko-KR"
    async with open_services(witnessed) as svc, running_worker(svc):
        room = await room_with(
            svc,
            {"title": "Lunch?", "kind": "single", "options": "Rice,Noodles"},
            {"title": "Adopt the budget?", "kind": "yesno", "visibility": "after_close"},
            open_first=False,
        )
        lunch, budget = room.questions
        await store.act(svc, lunch, Action.OPEN)
        await store.act(svc, budget, Action.OPEN)
        phone = await open_phone(browsing, node, room, locale)
        await expect(phone.get_by_role("heading", name="Adopt the budget?")).to_be_visible()
        await phone.get_by_role("button", name="예" if ko else "Yes", exact=True).click()
        await expect(phone.get_by_text(COUNTED[locale])).to_be_visible()
        budget_code = await phone.get_by_test_id("receipt").inner_text()
        await browsing.assert_accessible(phone)

        # Back on the first question (its link), the vote page shows that receipt again.
        await store.act(svc, lunch, Action.CLOSE)
        await store.act(svc, lunch, Action.OPEN)
        await expect(phone.get_by_role("heading", name="Lunch?")).to_be_visible()
        await phone.get_by_role("button", name="Noodles", exact=True).click()
        await expect(phone.get_by_text(COUNTED[locale])).to_be_visible()
        code = phone.get_by_test_id("receipt")
        lunch_code = await code.inner_text()
        await phone.reload()
        await expect(code).to_have_text(lunch_code)
        await expect(phone.get_by_test_id("receipt-download")).to_be_visible()
        stored = await phone.evaluate("JSON.parse(localStorage.getItem('mv_receipts'))")
        assert [(r["title"], r["room"], r["labels"]) for r in stored] == [
            ("Adopt the budget?", room.number, ["예" if ko else "Yes"]),
            ("Lunch?", room.number, ["Noodles"]),
        ]
        for r in stored:
            assert r["url"] == f"/ledger/receipt/{r['leaf']}" and r["question"] in room.questions
            assert r["time"].endswith("Z")
        await receipt_ready(phone, node.url, stored[1]["leaf"])

        await phone.goto(f"{node.url}/verify")
        title = "이 기기에 저장된 내 영수증" if ko else "Your receipts on this device"
        await expect(phone.get_by_role("heading", name=title)).to_be_visible()
        kept = phone.get_by_test_id("my-receipt")
        await expect(kept).to_have_count(2)
        await expect(kept.nth(0)).to_contain_text(lunch_code)  # newest first
        await expect(kept.nth(1)).to_contain_text(budget_code)
        await browsing.assert_accessible(phone)

        check, remove = ("확인", "이 기기에서 삭제") if ko else ("Check", "Remove from this device")
        await phone.get_by_role("button", name=f"{check} Lunch?", exact=True).click()
        result = kept.nth(0).get_by_test_id("verify-result")
        await expect(result).to_have_attribute("data-ok", "true")
        await expect(result).to_contain_text(f"{lunch_code}")
        await expect(result).to_contain_text("Noodles")

        # Hidden until the close: no proof yet, but the log's signed promise of the ballot,
        # checked at once; the receipt stays listed.
        await phone.get_by_role("button", name=f"{check} Adopt the budget?", exact=True).click()
        promised = kept.nth(1).get_by_test_id("verify-result")
        await expect(promised).to_have_attribute("data-ok", "true")
        await expect(promised).to_contain_text(
            "기록이 이 표를 보관하겠다고 약속했습니다." if ko else "promised to keep this ballot"
        )
        await expect(promised).to_contain_text(budget_code)
        await browsing.assert_accessible(phone)
        await shot(phone, f"verify-kept-{locale}.png")

        await store.act(svc, budget, Action.CLOSE)
        await receipt_ready(phone, node.url, stored[0]["leaf"])
        await phone.get_by_role("button", name=f"{check} Adopt the budget?", exact=True).click()
        result = kept.nth(1).get_by_test_id("verify-result")
        await expect(result).to_have_attribute("data-ok", "true")
        await expect(result).to_contain_text(budget_code)

        await phone.get_by_role("button", name=f"{remove} Lunch?", exact=True).click()
        await expect(kept).to_have_count(1)
        await expect(kept).to_contain_text(budget_code)
        await phone.reload()
        await expect(kept).to_have_count(1)
        await phone.get_by_role("button", name=f"{remove} Adopt the budget?", exact=True).click()
        await expect(phone.locator("#my-receipts")).to_be_hidden()

        # The vote page still shows what it chose (the choice is kept apart from receipts).
        await phone.goto(vote_url(node, room))
        await expect(phone.get_by_test_id("my-choice")).to_have_text(
            "내 선택: Noodles" if ko else "You chose: Noodles"
        )


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_phone_follows_the_current_question_and_reaches_the_other_open_ones(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    room = await room_with(
        svc,
        {"title": "Lunch?", "kind": "single", "options": "Rice,Noodles"},
        {"title": "Dinner?", "kind": "single", "options": "Soup,Bread"},
        open_first=False,
    )
    lunch, dinner = room.questions
    await store.act(svc, lunch, Action.OPEN)
    await store.act(svc, dinner, Action.OPEN)
    phone = await open_phone(browsing, node, room, locale)
    heading = phone.locator("#q-title")
    await expect(heading).to_have_text("Dinner?")  # the one opened last is current
    others = phone.get_by_test_id("other-open")
    await expect(others.get_by_role("button")).to_have_text(["Lunch?"])
    await browsing.assert_accessible(phone)

    await others.get_by_role("button", name="Lunch?").click()
    await expect(heading).to_have_text("Lunch?")
    await phone.get_by_role("button", name="Noodles", exact=True).click()
    await expect(phone.get_by_text(COUNTED[locale])).to_be_visible()
    await expect(others.get_by_role("button")).to_have_text(["Dinner?"])

    # The host makes a question current (the room's `room` event): every phone follows.
    sio = node.live.sio
    await sio.emit("room", {"current": dinner}, room=f"r:{room.info.id}")
    await expect(heading).to_have_text("Dinner?")
    voted = "투표함" if locale == "ko-KR" else "voted"
    await expect(others.get_by_role("button")).to_have_text([f"Lunch? · {voted}"])
    await sio.emit("room", {"current": None}, room=f"r:{room.info.id}")
    await expect(phone.locator(".waiting")).to_be_visible()
    await expect(others.get_by_role("button")).to_have_count(2)
    await browsing.assert_accessible(phone)
