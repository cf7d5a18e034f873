"""The presenter screen fits any question on a projector, and a host drives it by keys.

Rooms are prepared by a host through the HTTP API in the screen's own browser (the common
case: the lecturer opens the projector from the console, signed in, on the same laptop).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from live.services import Services
from rooms.questions import MAX_LABEL, MAX_OPTIONS, MAX_RANKED, MAX_TITLE
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import open_phone, shot
from tests.conftest import Node, connect
from tests.live.helpers import Room, make_room

SIZES = [(1920, 1080), (1280, 720)]
_EN = "Renewable infrastructure investment with community ownership and long-term maintenance "
_KO = (
    "지역 주민이 함께 소유하고 운영하는 재생에너지 기반 시설에 대한 장기적인 투자와 유지 관리 계획 "
)


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (640, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


async def _api(page: Page, node: Node, method: str, path: str, **kw: Any) -> dict[str, Any]:
    reply = await page.request.fetch(f"{node.url}{path}", method=method, **kw)
    assert reply.ok, await reply.text()
    body: dict[str, Any] = await reply.json()
    return body


async def sign_up(page: Page, node: Node) -> None:
    """A new host, signed in in ``page``'s browser."""
    await _api(
        page,
        node,
        "POST",
        "/api/hosts",
        data={"email": "lecturer@example.org", "password": "correct horse"},
    )


async def host_room(
    page: Page, node: Node, *questions: dict[str, Any], signed_up: bool = False
) -> dict[str, Any]:
    """A room of a host signed in in ``page``'s browser, its first question opened."""
    if not signed_up:
        await sign_up(page, node)
    room: dict[str, Any] = (
        await _api(page, node, "POST", "/api/rooms", data={"title": "Lecture"})
    )["room"]
    for q in questions:
        await _api(page, node, "POST", f"/api/rooms/{room['id']}/questions", data=q)
    await _api(page, node, "POST", f"/api/rooms/{room['id']}/next")
    return room


async def upload(page: Page, node: Node, colour: tuple[int, int, int]) -> str:
    body = await _api(
        page,
        node,
        "POST",
        "/api/media",
        multipart={"file": {"name": "i.png", "mimeType": "image/png", "buffer": _png(colour)}},
    )
    path: str = body["media"]["path"]
    return path


def _long(text: str, n: int, i: int) -> str:
    return (f"{i + 1}. " + text * 4)[:n].rstrip()


async def _worst(page: Page, node: Node, case: str) -> str:
    """Prepare the case; return the title the screen should show."""
    if case == "max-options":
        title = ("Which of these projects should the council fund next year? " * 10)[:MAX_TITLE]
        options = [_long(_EN, MAX_LABEL, i) for i in range(MAX_OPTIONS)]
        await host_room(page, node, {"title": title, "options": options})
    elif case == "rating":
        title = "How clear was today's lecture?"
        await host_room(page, node, {"title": title, "kind": "rating", "scale": 10})
    elif case == "images":
        title = "Which design should the new library have?"
        await sign_up(page, node)
        image = await upload(page, node, (29, 78, 216))
        options = [
            {
                "label": _long(_EN, 90, i),
                "description": (_EN * 3)[:300],
                "image": await upload(page, node, (200, 40 * i, 90)),
            }
            for i in range(6)
        ]
        await host_room(
            page,
            node,
            {"title": title, "description": (_EN * 8)[:700], "image": image, "options": options},
            signed_up=True,
        )
    elif case in ("ranking", "ranking-korean"):
        # The most options a ranking has, each label as long as it may be, and ballots, so
        # that every option has points and an average place to show (the longest figures).
        text, n = (_EN, MAX_LABEL) if case == "ranking" else (_KO, 120)
        title = ("Put next year's council projects in order of priority, most urgent first. " * 6)[
            :MAX_TITLE
        ]
        options = [_long(text, n, i) for i in range(MAX_RANKED)]
        room = await host_room(page, node, {"title": title, "kind": "ranking", "options": options})
        qid = (await _api(page, node, "GET", f"/api/rooms/{room['id']}"))["room"]["current"]
        for shift in (3, 11, 17):
            async with connect(node.url) as attendee:
                await attendee.join(room["number"], key=room["key"])
                order = [(i + shift) % MAX_RANKED for i in range(MAX_RANKED)]
                assert (await attendee.vote(qid, order))["ok"]
    else:
        title = "내년에 시의회가 가장 먼저 지원해야 할 사업은 무엇입니까? " * 3
        options = [_long(_KO, 120, i) for i in range(24)]
        await host_room(page, node, {"title": title, "options": options})
    return title.strip()


async def _measure(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate("""() => {
        const inside = (e) => { const r = e.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
            && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5; };
        const d = document.documentElement;
        return {
          scroll: [d.scrollWidth, d.scrollHeight, innerWidth, innerHeight],
          qr: inside(document.querySelector('[data-testid=join-qr]')),
          number: inside(document.querySelector('[data-testid=room-number]')),
          bars: [...document.querySelectorAll('#bars .bar')].map(inside),
          tracks: [...document.querySelectorAll('#bars .bar-track')].map(inside),
          figures: [...document.querySelectorAll('#bars .bar-figures')].map(inside),
          method: [...document.querySelectorAll('#bars .bar-method')].map(inside),
          title: inside(document.getElementById('q-title')),
        };
    }""")
    return found


async def assert_fits(
    screen: Page, name: str, check: Callable[[Page], Awaitable[None]] | None = None
) -> None:
    """At each projector size: no scroll, join details and title on screen, ``check``
    passes; a screenshot named after ``name`` and the size."""
    for width, height in SIZES:
        await screen.set_viewport_size({"width": width, "height": height})
        await screen.wait_for_function(
            "() => { const d = document.documentElement; return d.scrollHeight <= innerHeight"
            " && d.scrollWidth <= innerWidth; }"
        )
        m = await _measure(screen)
        assert m["qr"] and m["number"] and m["title"], f"{name} at {width}x{height}: {m}"
        if check is not None:
            await check(screen)
        await shot(screen, f"{name}-{width}x{height}.png")


@pytest.mark.parametrize(
    "case", ["max-options", "rating", "images", "korean", "ranking", "ranking-korean"]
)
async def test_the_worst_questions_fit_a_projector_at_both_sizes(
    browsing: Browsing, node: Node, case: str
) -> None:
    locale = "ko-KR" if case in ("korean", "ranking-korean") else "en-US"
    screen = await browsing.screen(locale)
    title = await _worst(screen, node, case)
    room = (await _api(screen, node, "GET", "/api/rooms"))["rooms"][0]
    await screen.goto(
        (await _api(screen, node, "GET", f"/api/rooms/{room['id']}"))["room"]["presenter_url"]
    )
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(screen.locator("#q-title")).to_have_text(title)
    expected = {"max-options": MAX_OPTIONS, "rating": 10, "images": 6, "korean": 24}.get(
        case, MAX_RANKED
    )
    await expect(screen.locator("#bars .bar")).to_have_count(expected)
    if case.startswith("ranking"):  # every figure there: three ballots counted, the method
        await expect(screen.get_by_test_id("total")).to_have_text("3")
        await expect(screen.get_by_test_id("ranking-method")).to_be_visible()
        await expect(screen.get_by_test_id("option-average").first).to_contain_text(".")
    if case == "images":
        await expect(screen.locator("#bars img.bar-img")).to_have_count(6)
        await expect(screen.locator("#q-image")).to_be_visible()
        await screen.wait_for_function(
            "[...document.images].every((i) => i.complete && i.naturalWidth > 0)"
        )
    for width, height in SIZES:
        await screen.set_viewport_size({"width": width, "height": height})
        await screen.wait_for_function(
            "() => { const d = document.documentElement; return d.scrollHeight <= innerHeight"
            " && d.scrollWidth <= innerWidth; }"
        )
        m = await _measure(screen)
        sw, sh, iw, ih = m["scroll"]
        assert sw <= iw and sh <= ih, f"{case} at {width}x{height} scrolls: {m['scroll']}"
        assert m["qr"] and m["number"], f"{case} at {width}x{height}: join details cut off"
        assert m["title"], f"{case} at {width}x{height}: title cut off"
        assert len(m["bars"]) == expected and all(m["bars"]) and all(m["tracks"]), (
            f"{case} at {width}x{height}: bars outside the screen: {m['bars']}"
        )
        assert all(m["figures"]) and all(m["method"]), (
            f"{case} at {width}x{height}: figures outside the screen: {m['figures']}"
        )
        await shot(screen, f"projector-{case}-{width}x{height}.png")
        await browsing.assert_accessible(screen)


async def test_a_hosts_keys_drive_the_agenda_and_reveal(browsing: Browsing, node: Node) -> None:
    screen = await browsing.screen()
    room = await host_room(
        screen,
        node,
        {"title": "Warm-up", "options": "A,B"},
        {"title": "Adopt the budget?", "kind": "yesno", "visibility": "after_close"},
    )
    details = await _api(screen, node, "GET", f"/api/rooms/{room['id']}")
    await screen.goto(details["room"]["presenter_url"])
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(screen.locator("#q-title")).to_have_text("Warm-up")
    hint = screen.get_by_test_id("key-hint")
    await expect(hint).to_contain_text("next")
    await expect(hint).to_contain_text("reveal")
    await browsing.assert_accessible(screen)

    # Next, by the right arrow: the warm-up closes, the budget opens with hidden results.
    # (Previous, ← and PageUp: ``test_the_previous_key_goes_back_a_question``.)
    await screen.keyboard.press("ArrowRight")
    await expect(screen.locator("#q-title")).to_have_text("Adopt the budget?")
    await expect(screen.get_by_text("Results are hidden.")).to_be_visible()
    await expect(screen.locator("#bars")).to_be_hidden()
    await expect(screen.get_by_test_id("total")).to_be_hidden()

    await screen.keyboard.press("r")
    await expect(screen.locator("#bars")).to_be_visible()
    await expect(screen.get_by_text("Results are hidden.")).to_be_hidden()
    await expect(screen.get_by_test_id("total")).to_have_text("0")

    await screen.keyboard.press("f")
    await screen.wait_for_function("document.fullscreenElement !== null")
    await screen.keyboard.press("f")
    await screen.wait_for_function("document.fullscreenElement === null")


async def test_the_previous_key_goes_back_a_question(browsing: Browsing, node: Node) -> None:
    screen = await browsing.screen()
    room = await host_room(
        screen,
        node,
        {"title": "First", "options": "A,B"},
        {"title": "Second", "options": "A,B"},
        {"title": "Third", "options": "A,B"},
    )
    details = await _api(screen, node, "GET", f"/api/rooms/{room['id']}")
    first, second, third = (q["id"] for q in details["questions"])

    async def current() -> str | None:
        """The room's current question, and every question's status, by the API."""
        now = await _api(screen, node, "GET", f"/api/rooms/{room['id']}")
        statuses.update({q["id"]: q["status"] for q in now["questions"]})
        found: str | None = now["room"]["current"]
        return found

    statuses: dict[str, str] = {}

    await screen.goto(details["room"]["presenter_url"])
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(screen.locator("#q-title")).to_have_text("First")
    # Opened in order: the first, then the second and the third by the next key.
    for title in ("Second", "Third"):
        await screen.keyboard.press("ArrowRight")
        await expect(screen.locator("#q-title")).to_have_text(title)
    assert await current() == third

    # PageUp, then ←: back to the questions that ran, as they are (closed).
    await screen.keyboard.press("PageUp")
    await expect(screen.locator("#q-title")).to_have_text("Second")
    assert await current() == second
    await screen.keyboard.press("ArrowLeft")
    await expect(screen.locator("#q-title")).to_have_text("First")
    assert await current() == first
    # Nothing opened or closed on the way back; no key failed.
    assert statuses == {first: "closed", second: "closed", third: "open"}
    await expect(screen.locator("#key-status")).to_have_text("")


async def test_without_a_host_session_the_keys_are_absent(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "First"}, {"title": "Second"}, open_=False)
    await _open_first(svc, room)
    screen = await _presenter(browsing, node, room)
    hint = screen.get_by_test_id("key-hint")
    await expect(hint).not_to_contain_text("next")
    await screen.keyboard.press("ArrowRight")
    await screen.keyboard.press("r")
    await screen.keyboard.press("PageDown")
    # Nothing moved (the page reported no error either: the fixture checks).
    await expect(screen.locator("#q-title")).to_have_text("First")


async def _open_first(svc: Services, room: Room) -> None:
    from live import store
    from rooms.questions import Action

    await store.act(svc, room.q, Action.OPEN)


async def _presenter(browsing: Browsing, node: Node, room: Room, locale: str = "en-US") -> Page:
    from tests.browser.test_lecture_poll import presenter_url

    screen = await browsing.screen(locale)
    await screen.goto(presenter_url(node, room))
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    return screen


async def test_the_audience_and_the_ballots_count_live_across_nodes(
    browsing: Browsing, node: Node, node_b: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "Lunch?", "options": "Rice,Noodles,Salad"})
    screen = await _presenter(browsing, node, room)
    audience = screen.get_by_test_id("audience")
    await expect(audience).to_have_text("0 connected")
    first = await open_phone(browsing, node, room)
    second = await open_phone(browsing, node_b, room)
    await expect(audience).to_have_text("2 connected")
    await first.get_by_role("button", name="Noodles", exact=True).click()
    await expect(screen.get_by_test_id("total")).to_have_text("1")
    await second.context.close()
    await expect(audience).to_have_text("1 connected")
    await browsing.assert_accessible(screen)


async def test_the_presenter_in_korean_is_accessible_and_fits(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"title": "점심 메뉴는?", "options": "비빔밥,냉면,김치찌개"})
    screen = await _presenter(browsing, node, room, "ko-KR")
    await expect(screen.get_by_test_id("audience")).to_have_text("0명 접속 중")
    for width, height in SIZES:
        await screen.set_viewport_size({"width": width, "height": height})
        m = await _measure(screen)
        assert m["qr"] and m["number"] and all(m["bars"])
        await browsing.assert_accessible(screen)


async def test_the_readme_screenshot(browsing: Browsing, node: Node, svc: Services) -> None:
    """docs/presenter.png: a realistic question with live bars at 1280x720."""
    room = await make_room(
        svc,
        {
            "title": "Which language should the next course teach?",
            "options": "Python,Rust,Go,TypeScript",
        },
        password="48213907",
    )
    screen = await _presenter(browsing, node, room)
    for choice in ("Rust", "Python", "Rust", "Go"):
        phone = await open_phone(browsing, node, room)
        await phone.get_by_role("button", name=choice, exact=True).click()
        await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect(screen.get_by_test_id("total")).to_have_text("4")
    await expect(screen.get_by_test_id("audience")).to_have_text("4 connected")
    path = await shot(screen, "presenter-readme.png")
    assert path.exists()
