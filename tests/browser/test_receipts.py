"""Receipts in the browser: a phone votes, downloads its proof, the poll closes with a
verification badge on the projector and the phone, and /verify checks the proof here."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from live import store
from live.services import open_services
from live.settings import Settings
from rooms.questions import Action
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import open_phone, open_presenter, shot, vote
from tests.conftest import Node, running_worker
from tests.live.helpers import make_room


async def download_receipt(phone: Page, base: str, folder: Path) -> Path:
    link = phone.get_by_test_id("receipt-download")
    await expect(link).to_be_visible()
    # The proof is ready once the ballot is archived and a checkpoint signed (~a second).
    for _ in range(50):
        response = await phone.request.get(base + (await link.get_attribute("href") or ""))
        if response.ok:
            break
        assert (await response.json())["error"]["code"] == "not_logged_yet"
        await phone.wait_for_timeout(100)
    async with phone.expect_download() as info:
        await link.click()
    download = await info.value
    path = folder / download.suggested_filename
    await download.save_as(path)
    return path


async def test_a_voter_checks_the_receipt_on_verify_after_the_poll_is_verified(
    browsing: Browsing, witnessed: Settings, witnessed_node: Node, tmp_path: Path
) -> None:
    node = witnessed_node
    async with open_services(witnessed) as svc, running_worker(svc):
        room = await make_room(svc, {"title": "Budget priority", "options": "Parks,Roads,Schools"})
        screen = await open_presenter(browsing, node, room)
        phone = await open_phone(browsing, node, room)
        other = await open_phone(browsing, node, room)
        await vote(phone, "Schools")
        await vote(other, "Parks")
        code = await phone.get_by_test_id("receipt").inner_text()
        await expect(phone.get_by_text("anyone you show it to can see your choice")).to_be_visible()
        receipt = await download_receipt(phone, node.url, tmp_path)
        assert receipt.name == f"receipt-{code}.tlog-proof"

        await store.act(svc, room.q, Action.CLOSE)
        badge = screen.get_by_test_id("verification")
        await expect(badge).to_have_attribute("data-status", "completed", timeout=20_000)
        await expect(badge).to_contain_text("Verification completed")
        await expect(phone.get_by_test_id("verification")).to_contain_text("Verification completed")
        await shot(screen, "presenter-verified.png")

        checker = await browsing.phone()
        await checker.goto(f"{node.url}/verify")
        await checker.get_by_label("Receipt file").set_input_files(receipt)
        await checker.get_by_role("button", name="Check", exact=True).click()
        result = checker.get_by_test_id("verify-result")
        await expect(result).to_have_attribute("data-ok", "true")
        await expect(result).to_contain_text("This receipt is valid.")
        await expect(result).to_contain_text(f"Ballot {code} chose Schools in “Budget priority”.")
        await expect(result).to_contain_text("its final log of 4 entries contains it")
        await shot(checker, "verify.png")

        # One character of the ballot changed: the receipt no longer checks out.
        text = receipt.read_text()
        head, _, rest = text.partition("extra ")
        flipped = rest[0].translate(str.maketrans("ABCDEFGHIJ", "BCDEFGHIJA")) + rest[1:]
        if flipped == rest:
            flipped = ("B" if rest[0] != "B" else "C") + rest[1:]
        await checker.reload()
        await checker.get_by_label("Or paste the receipt").fill(head + "extra " + flipped)
        await checker.get_by_role("button", name="Check", exact=True).click()
        await expect(result).to_have_attribute("data-ok", "false")
        await expect(result).to_contain_text("This receipt does not check out.")


async def test_the_korean_verify_page_names_a_yes_no_choice_in_korean(
    browsing: Browsing, witnessed: Settings, witnessed_node: Node, tmp_path: Path
) -> None:
    """A yes/no stores "Yes" and "No"; /verify in Korean reads the ballot as 예 or 아니요,
    for a receipt file and for a receipt the phone kept alike."""
    node = witnessed_node
    async with open_services(witnessed) as svc, running_worker(svc):
        room = await make_room(svc, {"title": "예산안 채택?", "kind": "yesno", "options": ""})
        phone = await open_phone(browsing, node, room, "ko-KR")
        await phone.get_by_role("button", name="아니요", exact=True).click()
        await expect(phone.get_by_text("투표가 집계되었습니다.")).to_be_visible()
        code = await phone.get_by_test_id("receipt").inner_text()
        receipt = await download_receipt(phone, node.url, tmp_path)
        chose = f"투표 {code}: “예산안 채택?”에서 아니요을(를) 선택했습니다."

        checker = await browsing.phone("ko-KR")
        await checker.goto(f"{node.url}/verify")
        await checker.get_by_label("영수증 파일").set_input_files(receipt)
        await checker.get_by_role("button", name="확인", exact=True).click()
        result = checker.get_by_test_id("verify-result")
        await expect(result).to_have_attribute("data-ok", "true")
        await expect(result).to_contain_text("이 영수증은 유효합니다.")
        await expect(result).to_contain_text(chose)
        await expect(result).not_to_contain_text("No")

        # The phone's own list, checked from its storage: the same words.
        await phone.goto(f"{node.url}/verify")
        kept = phone.get_by_test_id("my-receipt")
        await expect(kept).to_have_count(1)
        await kept.get_by_role("button", name="확인 예산안 채택?", exact=True).click()
        await expect(kept.get_by_test_id("verify-result")).to_contain_text(chose)
        await browsing.assert_accessible(phone)
