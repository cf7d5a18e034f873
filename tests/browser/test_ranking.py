"""Ranking questions in real headless Chromium, in English and Korean: phones at 390x844
put the options in order by keyboard (Move up / Move down) and by dragging, submit, see
their own order again after a reload, and every screen shows the Borda points, ranks and
average places, with the method named and no percentage; axe-core on the form and the
results."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import open_phone, presenter_url, shot
from tests.browser.test_phone import room_with
from tests.conftest import Node

OPTIONS = "Parks,Buses,Libraries"
WORDS = {
    "en-US": {
        "counted": "Your vote was counted.",
        "up": "Move {} up",
        "down": "Move {} down",
        "moved": "{} is now {} of 3.",
        "submit": "Submit my ranking",
        "yours": "Your ranking:",
        "ranks": ["1st", "2nd", "3rd"],
        "points": ["3 points", "2 points", "1 point"],
        "averages": ["average place 1.5", "average place 2.0", "average place 2.5"],
        "method": "Borda count: first place gets 2 points, last none.",
    },
    "ko-KR": {
        "counted": "투표가 집계되었습니다.",
        "up": "{} 위로 이동",
        "down": "{} 아래로 이동",
        "moved": "‘{}’ 항목이 이제 3개 중 {}입니다.",
        "submit": "순위 제출하기",
        "yours": "내가 정한 순위:",
        "ranks": ["1위", "2위", "3위"],
        "points": ["3점", "2점", "1점"],
        "averages": ["평균 1.5위", "평균 2.0위", "평균 2.5위"],
        "method": "보르다 방식: 1위는 2점, 마지막 순위는 0점을 받습니다.",
    },
}


def items(page: Page) -> Locator:
    return page.get_by_test_id("rank-item").locator(".rank-label")


async def drag(page: Page, label: str, below: str) -> None:
    """Drags option ``label`` by its handle with the mouse to just below option ``below``."""
    grip = page.get_by_test_id("rank-item").filter(has_text=label).get_by_test_id("rank-grip")
    start = await grip.bounding_box()
    target = await page.get_by_test_id("rank-item").filter(has_text=below).bounding_box()
    assert start is not None and target is not None
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    end_y = target["y"] + target["height"] * 0.9
    await page.mouse.move(start["x"] + start["width"] / 2, end_y, steps=12)
    await page.mouse.up()


async def touch_drag(page: Page, label: str, above: str) -> None:
    """Drags option ``label`` by its handle with a finger (CDP touch events) to just above
    option ``above``."""
    grip = page.get_by_test_id("rank-item").filter(has_text=label).get_by_test_id("rank-grip")
    start = await grip.bounding_box()
    target = await page.get_by_test_id("rank-item").filter(has_text=above).bounding_box()
    assert start is not None and target is not None
    cdp = await page.context.new_cdp_session(page)
    x = start["x"] + start["width"] / 2
    y0 = start["y"] + start["height"] / 2
    y1 = target["y"] + target["height"] * 0.1

    async def touch(kind: str, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    await touch("touchStart", y0)
    for k in range(1, 13):
        await touch("touchMove", y0 + (y1 - y0) * k / 12)
    await touch("touchEnd", y1)
    await cdp.detach()


async def expect_results(page: Page, words: dict[str, object]) -> None:
    """Libraries 3 points, Buses 2, Parks 1 (ballots [2, 0, 1] and [1, 2, 0])."""
    await expect(page.get_by_test_id("option-points")).to_have_text(words["points"])
    await expect(page.get_by_test_id("option-rank")).to_have_text(words["ranks"])
    await expect(page.get_by_test_id("ranked-option").locator(".bar-name")).to_have_text(
        ["Libraries", "Buses", "Parks"]
    )
    await expect(page.get_by_test_id("option-average")).to_have_text(words["averages"])
    await expect(page.get_by_test_id("ranking-method")).to_have_text(str(words["method"]))
    results = page.locator("#bars, #results").first
    assert "%" not in await results.inner_text()


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_phones_rank_by_keys_and_by_dragging_and_screens_show_borda_points(
    browsing: Browsing, node: Node, svc: Services, locale: str
) -> None:
    words = WORDS[locale]
    room = await room_with(svc, {"title": "Which first?", "kind": "ranking", "options": OPTIONS})
    screen = await browsing.screen(locale)
    await screen.goto(presenter_url(node, room))
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")

    # By keys: Libraries up twice, focus staying on its button; each move announced.
    keys = await open_phone(browsing, node, room, locale)
    await expect(items(keys)).to_have_text(["Parks", "Buses", "Libraries"])
    await browsing.assert_accessible(keys)
    up = keys.get_by_role("button", name=str(words["up"]).format("Libraries"), exact=True)
    await up.focus()
    await keys.keyboard.press("Enter")
    status = keys.get_by_test_id("rank-status")
    await expect(status).to_have_text(str(words["moved"]).format("Libraries", words["ranks"][1]))
    await expect(up).to_be_focused()
    await keys.keyboard.press("Enter")
    await expect(status).to_have_text(str(words["moved"]).format("Libraries", words["ranks"][0]))
    await expect(items(keys)).to_have_text(["Libraries", "Parks", "Buses"])
    await expect(up).to_have_attribute("aria-disabled", "true")  # first: it goes no higher
    await keys.keyboard.press("Enter")
    await expect(items(keys)).to_have_text(["Libraries", "Parks", "Buses"])
    await browsing.assert_accessible(keys)
    await keys.get_by_role("button", name=str(words["submit"]), exact=True).focus()
    await keys.keyboard.press("Enter")
    await expect(keys.get_by_text(str(words["counted"]))).to_be_visible()

    # By dragging: Parks by its handle to the bottom (mouse), then Libraries above Buses
    # (a finger).
    dragged = await open_phone(browsing, node, room, locale)
    await drag(dragged, "Parks", "Libraries")
    await expect(items(dragged)).to_have_text(["Buses", "Libraries", "Parks"])
    await expect(dragged.get_by_test_id("rank-status")).to_have_text(
        str(words["moved"]).format("Parks", words["ranks"][2])
    )
    await touch_drag(dragged, "Libraries", "Buses")
    await expect(items(dragged)).to_have_text(["Libraries", "Buses", "Parks"])
    await touch_drag(dragged, "Buses", "Libraries")
    await expect(items(dragged)).to_have_text(["Buses", "Libraries", "Parks"])
    await dragged.get_by_role("button", name=str(words["submit"]), exact=True).click()
    await expect(dragged.get_by_text(str(words["counted"]))).to_be_visible()

    # Libraries 2 + 1, Buses 0 + 2, Parks 1 + 0: sorted by points on every screen.
    await expect(screen.get_by_test_id("total")).to_have_text("2")
    await expect_results(screen, words)
    await shot(screen, f"ranking-projector-{locale}.png")
    await expect_results(keys, words)
    await browsing.assert_accessible(keys)

    # Each phone keeps its own order, and shows it after a reload.
    for phone, order in ((keys, ["Libraries", "Parks", "Buses"]),
                         (dragged, ["Buses", "Libraries", "Parks"])):  # fmt: skip
        await phone.reload()
        await expect(phone.get_by_text(str(words["counted"]))).to_be_visible()
        mine = phone.get_by_test_id("my-choice")
        await expect(mine).to_contain_text(str(words["yours"]))
        await expect(mine.get_by_test_id("my-ranking").locator("li")).to_have_text(order)
        await expect_results(phone, words)
    await shot(keys, f"ranking-phone-{locale}.png")
    await browsing.assert_accessible(dragged)
