"""A host prepares and runs a room from the console alone, in real headless Chromium."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from PIL import Image
from playwright.async_api import Page, expect

from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import shot
from tests.conftest import Node


def _png(path: Path) -> Path:
    Image.new("RGB", (64, 48), (29, 78, 216)).save(path, "PNG")
    return path


async def _add_question(console: Page, title: str, kind: str, options: list[str]) -> None:
    count = await console.locator(".question-item").count()
    await console.get_by_label("Question", exact=True).fill(title)
    await console.get_by_label("Kind").select_option(kind)
    labels = console.locator(".opt-label")
    while await labels.count() < len(options):
        await console.get_by_role("button", name="Add option").click()
    for i, text in enumerate(options):
        await labels.nth(i).fill(text)
    await console.get_by_role("button", name="Add question").click()
    await expect(console.locator(".question-item")).to_have_count(count + 1)


async def test_a_host_prepares_and_runs_a_room_from_the_console(
    browsing: Browsing, node: Node, tmp_path: Path
) -> None:
    console = await browsing.screen()
    await console.goto(f"{node.url}/host")
    await console.get_by_role("link", name="Create one").click()
    await console.get_by_label("E-mail").fill("lecturer@example.org")
    await console.get_by_label("Password").fill("correct horse")
    await console.get_by_role("button", name="Create account").click()
    await console.get_by_label("Title").fill("Monday lecture")
    await console.get_by_role("button", name="Create room").click()
    await expect(console.get_by_role("heading", name="Monday lecture")).to_be_visible()
    await expect(console.locator("#conn")).to_have_attribute("data-state", "connected")

    # A question with an image and option descriptions, then a yes/no question.
    await console.get_by_label("Image", exact=True).first.set_input_files(_png(tmp_path / "q.png"))
    await expect(console.locator("#console-status")).to_have_text("Saved.")
    await console.locator(".opt-desc").first.fill("Steamed, with kimchi")
    await _add_question(console, "Lunch?", "single", ["Rice", "Noodles", "Salad"])
    # A question without receipts: voters then get no code and no proof to show anyone.
    await console.get_by_label("Offer voters a receipt").uncheck()
    await _add_question(console, "Was the pace right?", "yesno", [])
    await expect(console.get_by_label("Offer voters a receipt")).to_be_checked()  # form reset
    items = console.locator(".question-item h3")
    await expect(items).to_have_text(["Lunch?", "Was the pace right?"])
    await console.get_by_role("button", name="Move down: Lunch?").click()
    await expect(items).to_have_text(["Was the pace right?", "Lunch?"])
    await console.get_by_role("button", name="Move up: Lunch?").click()
    await expect(items).to_have_text(["Lunch?", "Was the pace right?"])

    # The presenter screen opens from the console's link; the phone from its join link.
    screen = await browsing.screen()
    await screen.goto(
        await console.get_by_role("link", name="Open presenter screen").get_attribute("href") or ""
    )
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    join_link = await console.locator(".room-facts a").get_attribute("href") or ""
    phone = await browsing.phone()
    await phone.goto(join_link)
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")

    await console.get_by_role("button", name="Next question").click()
    await expect(console.locator(".question-item").first).to_have_attribute("data-status", "open")
    await expect(screen.locator("#q-title")).to_have_text("Lunch?")
    await expect(phone.locator("img.q-image")).to_have_attribute(
        "src", re.compile(r"^/media/[0-9a-f]{64}\.png$")
    )
    await phone.get_by_role("button", name="Noodles").click()
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect(screen.get_by_test_id("option-count")).to_have_text(["0", "1", "0"])
    first = console.locator(".question-item").first
    await expect(first.locator(".bar-count")).to_have_text(["0", "1", "0"])
    await expect(first.locator(".total")).to_have_text("1")

    # Next: the first closes, the yes/no question opens on every screen by itself.
    await console.get_by_role("button", name="Next question").click()
    await expect(screen.locator("#q-title")).to_have_text("Was the pace right?")
    await phone.get_by_role("button", name="Yes").click()
    await expect(screen.get_by_test_id("total")).to_have_text("1")
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
    await expect(phone.get_by_test_id("receipt")).to_have_count(0)
    # The closed question: its log is being judged (no worker here) and can be exported.
    await expect(first.get_by_test_id("verification")).to_have_attribute("data-status", "pending")
    await expect(first.get_by_role("link", name="Log for recount")).to_have_attribute(
        "href", re.compile(r"^/ledger/[0-9a-f]{16}/export$")
    )
    await shot(console, "console.png")

    # Exports and the printable summary carry the counts.
    room_id = console.url.rsplit("/", 1)[-1]
    qid = await first.get_attribute("data-question")
    reply = await console.request.get(f"{node.url}/api/questions/{qid}/export.csv")
    rows = list(csv.reader(io.StringIO((await reply.body()).decode("utf-8-sig"))))
    assert [r[:2] for r in rows if r and r[0] in ("Rice", "Noodles", "Salad")] == [
        ["Rice", "0"],
        ["Noodles", "1"],
        ["Salad", "0"],
    ]
    await console.goto(f"{node.url}/host/rooms/{room_id}/summary")
    await expect(console.locator(".summary-question h2")).to_have_text(
        ["1. Lunch?", "2. Was the pace right?"]
    )
    await expect(console.locator(".summary-question tfoot td.num")).to_have_text(["1", "1"])
