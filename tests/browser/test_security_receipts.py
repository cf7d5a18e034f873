"""A phone's proof follows the results: offered at once where the voter sees them after
voting (the phone's device cookie shows the ledger whose ballot it is), and only once they
are shown where they are hidden until the close."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from live import store
from live.services import open_services
from live.settings import Settings
from rooms.questions import Action
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import open_phone, vote
from tests.browser.test_receipts import download_receipt
from tests.conftest import Node, running_worker
from tests.live.helpers import make_room


async def check(browsing: Browsing, node: Node, receipt: Path) -> Page:
    checker = await browsing.phone()
    await checker.goto(f"{node.url}/verify")
    await checker.get_by_label("Receipt file").set_input_files(receipt)
    await checker.get_by_role("button", name="Check", exact=True).click()
    await expect(checker.get_by_test_id("verify-result")).to_have_attribute("data-ok", "true")
    return checker


async def test_the_phone_offers_its_proof_once_it_may_see_the_results(
    browsing: Browsing, witnessed: Settings, witnessed_node: Node, tmp_path: Path
) -> None:
    node = witnessed_node
    async with open_services(witnessed) as svc, running_worker(svc):
        room = await make_room(
            svc,
            {"title": "Lunch?", "options": "Rice,Noodles", "visibility": "after_vote"},
            {"title": "Adopt the budget?", "options": "Yes,No", "visibility": "after_close"},
            open_=False,
        )
        lunch, budget = room.questions
        await store.act(svc, lunch, Action.OPEN)
        phone = await open_phone(browsing, node, room)
        await vote(phone, "Noodles")
        receipt = await download_receipt(phone, node.url, tmp_path)
        checker = await check(browsing, node, receipt)
        result = checker.get_by_test_id("verify-result")
        await expect(result).to_contain_text("chose Noodles in “Lunch?”")
        await expect(result).to_contain_text("The poll is still open")

        await store.act(svc, budget, Action.OPEN)
        await vote(phone, "Yes")
        later = phone.get_by_test_id("receipt-later")
        await expect(later).to_contain_text("once the results are shown")
        await expect(phone.get_by_test_id("receipt-download")).to_have_count(0)

        await store.act(svc, budget, Action.CLOSE)
        await expect(later).to_have_count(0)
        receipt = await download_receipt(phone, node.url, tmp_path)
        checker = await check(browsing, node, receipt)
        result = checker.get_by_test_id("verify-result")
        await expect(result).to_contain_text("chose Yes in “Adopt the budget?”")
