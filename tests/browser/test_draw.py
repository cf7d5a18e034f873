"""A lot drawing from the console, live on the presenter screen, and re-run in the browser
on its public page: in English and in Korean."""

from __future__ import annotations

import base64
import os
import re
import signal

import orjson
import pytest
from playwright.async_api import Page, expect

from live.ledger.local_witnesses import LocalWitnesses
from live.settings import Settings
from rooms.draws import pick
from rooms.ledger import canonical
from rooms.tlog.merkle import MerkleLog, leaf_hash
from tests.browser.conftest import Browsing
from tests.conftest import Node, run_node

#: What the pages say, by locale: (label, button or text) as a reader sees it.
WORDS = {
    "en-US": {
        "email": "E-mail",
        "password": "Password",
        "create_account": "Create account",
        "room_title": "Title",
        "create_room": "Create room",
        "presenter": "Open presenter screen",
        "draw_title": "Title of the draw",
        "slots": "Slots, one per line",
        "blanks": "Blank slots (they win nothing)",
        "save": "Save slots",
        "commit": "Commit and show",
        "draw": "Draw",
        "reveal": "Reveal the seed",
        "blank": "Blank",
        "committed": "Committed: the slots and the seed are fixed.",
        "matches": "The draw checks out",
        "left": "of 4 slots left",
    },
    "ko-KR": {
        "email": "이메일",
        "password": "비밀번호",
        "create_account": "계정 만들기",
        "room_title": "제목",
        "create_room": "방 만들기",
        "presenter": "발표 화면 열기",
        "draw_title": "추첨 제목",
        "slots": "항목 (한 줄에 하나)",
        "blanks": "꽝 (당첨 없음) 개수",
        "save": "항목 저장",
        "commit": "확정하고 화면에 표시",
        "draw": "추첨",
        "reveal": "시드 공개",
        "blank": "꽝",
        "committed": "확정됨: 항목과 시드가 고정되었습니다.",
        "matches": "추첨이 검증되었습니다",
        "left": "4개 중",
    },
}


async def _console(browsing: Browsing, node: Node, locale: str, email: str) -> Page:
    w = WORDS[locale]
    console = await browsing.screen(locale)
    lang = "ko" if locale.startswith("ko") else "en"
    await console.goto(f"{node.url}/host/signup?lang={lang}")
    await console.get_by_label(w["email"]).fill(email)
    await console.get_by_label(w["password"], exact=True).fill("correct horse")
    await console.get_by_role("button", name=w["create_account"]).click()
    await console.get_by_label(w["room_title"], exact=True).fill("Year-end party")
    await console.get_by_role("button", name=w["create_room"]).click()
    await expect(console.locator("#conn")).to_have_attribute("data-state", "connected")
    return console


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_host_draws_lots_the_screen_shows_them_and_the_page_rechecks_them(
    browsing: Browsing, node: Node, locale: str
) -> None:
    w = WORDS[locale]
    console = await _console(browsing, node, locale, f"draw-{locale}@example.org")
    screen = await browsing.screen(locale)
    await screen.goto(
        await console.get_by_role("link", name=w["presenter"]).get_attribute("href") or ""
    )
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(screen.locator("#draw-panel")).to_be_hidden()

    # Set up, then edit before committing.
    await console.get_by_label(w["draw_title"]).fill("Door prizes")
    await console.get_by_label(w["slots"]).fill("Bicycle\nTablet")
    await console.get_by_role("button", name=w["save"]).click()
    view = console.get_by_test_id("draw-view")
    await expect(view.locator(".draw-slots li")).to_have_text(["Bicycle", "Tablet"])
    await console.get_by_label(w["slots"]).fill("Bicycle\nTablet\nMug")
    await console.get_by_label(w["blanks"]).fill("1")
    await console.get_by_role("button", name=w["save"]).click()
    await expect(view.locator(".draw-slots li")).to_have_text(
        ["Bicycle", "Tablet", "Mug", w["blank"]]
    )
    await expect(screen.locator("#draw-panel")).to_be_hidden()  # a draft is not shown

    await console.get_by_role("button", name=w["commit"]).click()
    commitment = screen.get_by_test_id("draw-commitment")
    await expect(commitment).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    await expect(screen.locator("#question-panel")).to_be_hidden()
    await expect(screen.get_by_test_id("draw-state")).to_have_text(w["committed"])
    await expect(console.get_by_label(w["slots"])).to_be_hidden()  # no more edits
    await browsing.assert_accessible(screen)

    for count in (1, 2):
        await console.get_by_role("button", name=w["draw"], exact=True).click()
        await expect(screen.get_by_test_id("draw-picks").locator("li")).to_have_count(count)
    await expect(screen.locator(".draw-left")).to_contain_text(w["left"])
    latest = await screen.get_by_test_id("draw-latest").text_content()
    picks = (
        await screen.get_by_test_id("draw-picks").locator(".draw-pick-label").all_text_contents()
    )
    assert latest == picks[-1] and len(set(picks)) == 2
    assert set(picks) <= {"Bicycle", "Tablet", "Mug", w["blank"]}

    await console.get_by_role("button", name=w["reveal"]).click()
    seed = screen.get_by_test_id("draw-seed")
    await expect(seed).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    link = await screen.get_by_test_id("draw-link").get_attribute("href") or ""
    assert "/draws/" in link
    await browsing.assert_accessible(console)

    # The public page re-runs the draw in the browser, with WebCrypto.
    page = await browsing.phone(locale)
    await page.goto(link)
    check = page.get_by_test_id("draw-check")
    await expect(check).to_have_attribute("data-result", "match")
    await expect(check).to_contain_text(w["matches"])
    shown = await page.get_by_test_id("draw-picks").locator(".draw-pick-label").all_text_contents()
    assert shown == picks
    await expect(page.get_by_test_id("draw-seed")).to_have_text(await seed.text_content() or "")
    # The beacon: the root of the commitment and the checkpoint of it, shown line by line.
    await expect(page.get_by_test_id("draw-beacon")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    note = page.get_by_test_id("draw-witnessed").locator("code")
    await expect(note.nth(1)).to_have_text("1")
    await expect(note.nth(3)).to_contain_text("\u2014 ")
    await browsing.assert_accessible(page)


async def test_the_public_page_says_so_when_the_served_log_does_not_re_run(
    browsing: Browsing, node: Node
) -> None:
    """The browser does not trust the server: a log whose seed was swapped is refused."""
    console = await _console(browsing, node, "en-US", "draw-tamper@example.org")
    await console.get_by_label("Title of the draw").fill("Seats")
    await console.get_by_label("Slots, one per line").fill("A\nB\nC")
    await console.get_by_role("button", name="Save slots").click()
    await console.get_by_role("button", name="Commit and show").click()
    await console.get_by_role("button", name="Draw", exact=True).click()
    await expect(console.get_by_test_id("draw-picks").locator("li")).to_have_count(1)
    await console.get_by_role("button", name="Reveal the seed").click()
    link = await console.get_by_test_id("draw-link").get_attribute("href") or ""

    page = await browsing.phone()

    async def tampered(route: object) -> None:
        response = await route.fetch()  # type: ignore[attr-defined]
        body = await response.json()
        last = body["entries"][-1]
        body["entries"][-1] = re.sub(r'"seed":"[0-9a-f]+"', '"seed":"' + "0" * 64 + '"', last)
        await route.fulfill(response=response, json=body)  # type: ignore[attr-defined]

    logs = re.compile(r".*/draws/[a-z0-9]+/log$")
    await page.route(logs, tampered)
    await page.goto(link)
    check = page.get_by_test_id("draw-check")
    await expect(check).to_have_attribute("data-result", "root_mismatch")
    await expect(check).to_contain_text("The draw does not check out")

    async def early(route: object) -> None:
        """The draw re-run from the root of the commitment alone, known with the seed, and
        a checkpoint line that matches the changed entries (the page checks no signature)."""
        response = await route.fetch()  # type: ignore[attr-defined]
        body = await response.json()
        entries = [e.encode() for e in body["entries"]]
        first = orjson.loads(entries[2])
        seed = orjson.loads(entries[-1])["seed"]
        root = leaf_hash(entries[0])
        first.update(size=1, beacon=root.hex(), slot=pick(seed, root, 0, [], 3))
        entries[2] = canonical(first)
        lines = body["checkpoint"].split("\n")
        lines[2] = base64.b64encode(MerkleLog(map(leaf_hash, entries)).root()).decode()
        body.update(checkpoint="\n".join(lines), entries=[e.decode() for e in entries])
        await route.fulfill(response=response, json=body)  # type: ignore[attr-defined]

    await page.unroute(logs)
    await page.route(logs, early)
    await page.reload()
    await expect(check).to_have_attribute("data-result", "early_beacon")
    await expect(check).to_contain_text("draw 1 takes as its beacon the log's root at tree size 1")


async def test_the_console_says_the_draw_waits_for_the_witnesses_quorum(
    browsing: Browsing, settings: Settings, own_witnesses: LocalWitnesses
) -> None:
    """Two of four witnesses stopped (the quorum is three): committed, but nothing drawn
    until they are back, and the console says why."""
    one, two, *_ = own_witnesses.witnesses
    browsing.allow(r"status of 409")
    async with run_node(settings.with_(ledger_policy=own_witnesses.policy_path)) as node:
        console = await _console(browsing, node, "en-US", "draw-quorum@example.org")
        await console.get_by_label("Title of the draw").fill("Seats")
        await console.get_by_label("Slots, one per line").fill("A\nB\nC")
        await console.get_by_role("button", name="Save slots").click()
        await expect(console.get_by_role("button", name="Commit and show")).to_be_visible()
        for witness in (one, two):
            os.kill(witness.pid, signal.SIGSTOP)
        try:
            await console.get_by_role("button", name="Commit and show").click()
            waiting = console.get_by_test_id("draw-unwitnessed")
            await expect(waiting).to_contain_text(
                "The witnesses have not cosigned the commitment yet", timeout=20_000
            )
            await expect(waiting).to_contain_text("quorum: 3 of 4")
            await console.get_by_role("button", name="Draw", exact=True).click()
            await expect(console.locator("#draw-status")).to_contain_text(
                "not yet cosigned by the witnesses", timeout=20_000
            )
            await expect(console.get_by_test_id("draw-picks").locator("li")).to_have_count(0)
        finally:
            for witness in (one, two):
                os.kill(witness.pid, signal.SIGCONT)
        await console.get_by_role("button", name="Draw", exact=True).click()
        await expect(console.get_by_test_id("draw-picks").locator("li")).to_have_count(
            1, timeout=20_000
        )
        await expect(console.get_by_test_id("draw-unwitnessed")).to_have_count(0)
        await browsing.close()  # before this node stops
