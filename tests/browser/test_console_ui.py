"""The host console's page in real headless Chromium, in English and Korean: the current
question and the actions each question offers, the status line, the empty state, editing
a draft, images and their descriptions, translated words, the room's workbook, a phone."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from PIL import Image
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import shot
from tests.conftest import Node

LOCALES = ["en-US", "ko-KR"]
#: What the page says, by locale (the catalog's translations).
WORDS: dict[str, dict[str, str]] = {
    "en-US": {
        "empty": "No questions yet. Add the first one below.",
        "next": "Next question",
        "previous": "Previous question",
        "make_current": "Make current",
        "current": "Current question",
        "reveal": "Reveal results",
        "hide": "Hide results",
        "edit": "Edit",
        "move_up": "Move up",
        "move_down": "Move down",
        "saved": "Saved.",
        "now": "Now on every screen: {title}",
        "over": "The agenda is over: no question is current.",
        "single_live": "Single choice · Everyone, live",
        "yesno_after_close": "Yes / no · Everyone after voting closes",
        "multiple_after_vote": "Multiple choice · Each voter after voting",
        "vs_live": "VS (two sides) · Everyone, live",
        "draft": "Draft",
        "open": "Open for voting",
        "closed": "Closed",
        "shown": "Results shown",
        "add_title": "Add a question",
        "add_submit": "Add question",
        "edit_title": "Edit question",
        "edit_submit": "Save changes",
        "cancel": "Cancel",
        "question": "Question",
        "image": "Image",
        "image_alt": "Image description (for screen readers)",
        "remove_image": "Remove image",
        "option": "Option",
        "alt_required": "Option 2 is an image without a label: describe the image for "
        "those who cannot see it.",
        "refused": "option 2 is an image without a label",
        "yes_no": "Yes,No",
        "sides": "Side A,Side B",
        "workbook": "Download all results (Excel)",
    },
    "ko-KR": {
        "empty": "아직 질문이 없습니다. 아래에서 첫 질문을 추가하세요.",
        "next": "다음 질문",
        "previous": "이전 질문",
        "make_current": "현재 질문으로",
        "current": "현재 질문",
        "reveal": "결과 공개",
        "hide": "결과 숨기기",
        "edit": "편집",
        "move_up": "위로",
        "move_down": "아래로",
        "saved": "저장했습니다.",
        "now": "이제 모든 화면에 표시됩니다: {title}",
        "over": "모든 질문을 마쳤습니다. 현재 질문이 없습니다.",
        "single_live": "단일 선택 · 모두에게 실시간 공개",
        "yesno_after_close": "찬성 / 반대 · 투표 마감 후 모두에게 공개",
        "multiple_after_vote": "복수 선택 · 투표한 사람에게만 투표 후 공개",
        "vs_live": "VS (두 편 대결) · 모두에게 실시간 공개",
        "draft": "준비 중",
        "open": "투표 중",
        "closed": "마감됨",
        "shown": "결과 공개됨",
        "add_title": "질문 추가",
        "add_submit": "질문 추가하기",
        "edit_title": "질문 편집",
        "edit_submit": "변경 사항 저장",
        "cancel": "취소",
        "question": "질문",
        "image": "이미지",
        "image_alt": "이미지 설명 (화면 낭독기용)",
        "remove_image": "이미지 삭제",
        "option": "보기",
        "alt_required": "보기 2은(는) 이름 없는 이미지입니다. 이미지를 볼 수 없는 사람을 위해 "
        "이미지 설명을 입력하세요.",
        "refused": "선택지 2은(는) 이름 없는 이미지입니다",
        "yes_no": "예,아니요",
        "sides": "A측,B측",
        "workbook": "전체 결과 내려받기 (Excel)",
    },
}
#: A question's kind, visibility or status as the server spells them: never on the page.
RAW_CODES = re.compile(
    r"\b(draft|open|closed|single|multiple|yesno|vs|rating|live|after_vote|after_close)\b"
)


def _png(path: Path, colour: tuple[int, int, int] = (29, 78, 216)) -> Path:
    Image.new("RGB", (64, 48), colour).save(path, "PNG")
    return path


async def _api(page: Page, node: Node, method: str, path: str, body: Any = None) -> Any:
    try:
        reply = await page.request.fetch(f"{node.url}{path}", method=method, data=body)
    except PlaywrightError as error:
        # A kept-alive connection the server closed as it idled (uvicorn's keep-alive,
        # 5 s) just as this reused it: a browser sends a GET again on a new connection,
        # Playwright's request context does not.
        if method != "GET" or "ECONNRESET" not in str(error):
            raise
        reply = await page.request.fetch(f"{node.url}{path}", method=method, data=body)
    assert reply.ok, await reply.text()
    return await reply.json()


async def _console(browsing: Browsing, node: Node, locale: str, *, phone: bool = False) -> Page:
    """A signed-in host's new room, its console open and connected."""
    page = await (browsing.phone(locale) if phone else browsing.screen(locale))
    await _api(
        page, node, "POST", "/api/hosts", {"email": "h@example.org", "password": "correct horse"}
    )
    room = (await _api(page, node, "POST", "/api/rooms", {"title": "Board"}))["room"]
    await page.goto(f"{node.url}/host/rooms/{room['id']}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    return page


def _room_id(page: Page) -> str:
    return page.url.rsplit("/", 1)[-1]


async def _add(page: Page, node: Node, **question: Any) -> str:
    """A draft added over the API, then the console reloaded (no event announces a new
    draft: the console lists what it added itself, and what it finds on loading)."""
    count = await page.locator(".question-item").count()
    url = f"/api/rooms/{_room_id(page)}/questions"
    qid = str((await _api(page, node, "POST", url, question))["question"]["id"])
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    await expect(page.locator(".question-item")).to_have_count(count + 1)
    return qid


def _item(page: Page, title: str) -> Locator:
    return page.locator(".question-item").filter(has=page.get_by_role("heading", name=title))


async def _expect_values(inputs: Locator, values: list[str]) -> None:
    await expect(inputs).to_have_count(len(values))
    for i, value in enumerate(values):
        await expect(inputs.nth(i)).to_have_value(value)


def _button(item: Locator, name: str) -> Locator:
    return item.get_by_role("button", name=name, exact=True)


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_current_question_and_the_actions_each_question_offers(
    browsing: Browsing, node: Node, locale: str
) -> None:
    w = WORDS[locale]
    page = await _console(browsing, node, locale)
    status = page.locator("#console-status")

    # The empty state is a sentence beside the list, not a numbered item.
    empty = page.locator("p#no-questions")
    await expect(empty).to_be_visible()
    await expect(empty).to_have_text(w["empty"])
    await expect(page.locator("#question-list li")).to_have_count(0)
    await expect(page.locator("#question-list")).to_be_hidden()
    await expect(page.get_by_role("button", name=w["previous"])).to_be_disabled()
    await browsing.assert_accessible(page)

    await _add(page, node, title="Alpha", kind="single", options=["a", "b"], visibility="live")
    await expect(empty).to_be_hidden()
    await _add(page, node, title="Beta", kind="yesno", visibility="after_close")
    await _add(
        page, node, title="Gamma", kind="multiple", options=["x", "y", "z"], visibility="after_vote"
    )
    alpha, beta, gamma = (_item(page, t) for t in ("Alpha", "Beta", "Gamma"))
    # Kind, visibility and status in words, never in the server's codes.
    await expect(alpha.get_by_test_id("question-facts")).to_have_text(w["single_live"])
    await expect(beta.get_by_test_id("question-facts")).to_have_text(w["yesno_after_close"])
    await expect(gamma.get_by_test_id("question-facts")).to_have_text(w["multiple_after_vote"])
    await expect(alpha.locator(".badge")).to_have_text([w["draft"]])
    await expect(page.locator("#question-list [aria-current]")).to_have_count(0)
    for item in (alpha, beta, gamma):
        await expect(_button(item, w["make_current"])).to_be_visible()
        await expect(_button(item, w["hide"])).to_have_count(0)
    # A live question's results are never hidden: nothing to reveal.
    await expect(_button(alpha, w["reveal"])).to_have_count(0)
    await expect(_button(beta, w["reveal"])).to_be_visible()

    # Next: the first question opens and is marked current, for eyes and screen readers.
    await page.get_by_role("button", name=w["next"]).click()
    await expect(alpha).to_have_attribute("aria-current", "true")
    await expect(alpha.locator(".badge.current")).to_have_text(w["current"])
    await expect(alpha.locator(".badge")).to_have_text([w["current"], w["open"]])
    await expect(page.locator("#question-list [aria-current]")).to_have_count(1)
    await expect(_button(alpha, w["make_current"])).to_have_count(0)
    await expect(_button(beta, w["make_current"])).to_be_visible()
    await expect(status).to_have_text(w["now"].format(title="Alpha"))
    # The status line clears itself after a few seconds: it never stays stale.
    await expect(status).to_have_text("", timeout=10_000)
    await browsing.assert_accessible(page)

    # Make current on a draft opens it; its hidden results can be revealed, then hidden.
    await _button(gamma, w["make_current"]).click()
    await expect(gamma).to_have_attribute("aria-current", "true")
    await expect(alpha).not_to_have_attribute("aria-current", "true")
    await expect(gamma.locator(".badge")).to_have_text([w["current"], w["open"]])
    await _button(gamma, w["reveal"]).click()
    await expect(gamma.locator(".badge")).to_have_text([w["current"], w["open"], w["shown"]])
    await expect(_button(gamma, w["reveal"])).to_have_count(0)
    await expect(status).to_have_text(w["saved"])
    # The next action clears the last one's word at once (moving says nothing itself).
    await page.get_by_role("button", name=f"{w['move_up']}: Gamma").click()
    await expect(status).to_have_text("", timeout=2_000)
    await expect(page.locator(".question-item h3")).to_have_text(["Alpha", "Gamma", "Beta"])
    await _button(gamma, w["hide"]).click()
    await expect(_button(gamma, w["hide"])).to_have_count(0)
    await expect(_button(gamma, w["reveal"])).to_be_visible()
    await page.get_by_role("button", name=f"{w['move_down']}: Gamma").click()
    await expect(page.locator(".question-item h3")).to_have_text(["Alpha", "Beta", "Gamma"])

    # Previous: the nearest question before that has run (Beta has not) becomes current.
    await page.get_by_role("button", name=w["previous"]).click()
    await expect(alpha).to_have_attribute("aria-current", "true")
    await expect(status).to_have_text(w["now"].format(title="Alpha"))
    await expect(alpha.locator(".badge")).to_have_text([w["current"], w["open"]])
    # Next closes Alpha and opens Beta; Next on Beta (no draft after it) ends the agenda.
    await page.get_by_role("button", name=w["next"]).click()
    await expect(beta).to_have_attribute("aria-current", "true")
    await expect(alpha.locator(".badge")).to_have_text([w["closed"]])
    await page.get_by_role("button", name=w["next"]).click()
    await expect(status).to_have_text(w["over"])
    await expect(page.locator("#question-list [aria-current]")).to_have_count(0)
    await expect(beta.locator(".badge")).to_have_text([w["closed"]])
    # A closed question's results are everyone's: neither revealed nor hidden any more.
    for item in (alpha, beta):
        await expect(_button(item, w["reveal"])).to_have_count(0)
        await expect(_button(item, w["hide"])).to_have_count(0)
    await browsing.assert_accessible(page)
    if locale == "ko-KR":  # English words ("Everyone, live") may spell a code by chance
        text = await page.locator("#question-list").inner_text()
        assert not RAW_CODES.search(text), text
    await shot(page, f"console-agenda-{locale}.png")


@pytest.mark.parametrize("locale", LOCALES)
async def test_editing_a_draft_and_cancelling(browsing: Browsing, node: Node, locale: str) -> None:
    w = WORDS[locale]
    page = await _console(browsing, node, locale)
    await _add(page, node, title="Lunch?", kind="single", options=["Rice", "Noodles"])
    heading = page.locator("#add-title")
    submit = page.locator("#question-form button[type=submit]")
    cancel = page.get_by_role("button", name=w["cancel"], exact=True)
    title = page.get_by_label(w["question"], exact=True)
    await expect(heading).to_have_text(w["add_title"])
    await expect(cancel).to_be_hidden()

    await _button(_item(page, "Lunch?"), w["edit"]).click()
    await expect(heading).to_have_text(w["edit_title"])
    await expect(submit).to_have_text(w["edit_submit"])
    await expect(cancel).to_be_visible()
    await expect(title).to_have_value("Lunch?")
    await _expect_values(page.locator(".opt-label"), ["Rice", "Noodles"])
    await expect(title).to_be_focused()
    await browsing.assert_accessible(page)

    # Cancel: the form adds again, empty.
    await cancel.click()
    await expect(heading).to_have_text(w["add_title"])
    await expect(submit).to_have_text(w["add_submit"])
    await expect(cancel).to_be_hidden()
    await expect(title).to_have_value("")
    await _expect_values(page.locator(".opt-label"), ["", ""])

    # Save: the draft changes, and the form is back to adding.
    await _button(_item(page, "Lunch?"), w["edit"]).click()
    await title.fill("Dinner?")
    await submit.click()
    await expect(page.locator(".question-item h3")).to_have_text(["Dinner?"])
    await expect(heading).to_have_text(w["add_title"])
    await expect(submit).to_have_text(w["add_submit"])
    await expect(cancel).to_be_hidden()
    await expect(title).to_have_value("")
    await expect(page.locator("#console-status")).to_have_text(w["saved"])
    await browsing.assert_accessible(page)


@pytest.mark.parametrize("locale", LOCALES)
async def test_images_their_descriptions_and_their_removal(
    browsing: Browsing, node: Node, locale: str, tmp_path: Path
) -> None:
    w = WORDS[locale]
    page = await _console(browsing, node, locale)
    status = page.locator("#console-status")
    form = page.locator("#question-form")
    await form.get_by_label(w["question"], exact=True).fill("Lunch?")
    # The question's image: a thumbnail, a way to remove it, a description.
    await form.get_by_label(w["image"], exact=True).first.set_input_files(_png(tmp_path / "q.png"))
    await expect(status).to_have_text(w["saved"])
    await expect(page.locator("#q-image-thumb")).to_be_visible()
    await form.locator("#q-image-alt").fill("A chart of last week's lunches")
    await expect(page.get_by_label(w["image_alt"]).first).to_have_value(
        "A chart of last week's lunches"
    )
    await expect(page.locator("#q-image-thumb")).to_have_attribute(
        "alt", "A chart of last week's lunches"
    )
    # Option 1: a label and an image; option 2: an image alone, which needs a description.
    options = page.locator("#option-inputs > li")
    await options.nth(0).locator(".opt-label").fill("Rice")
    await options.nth(0).locator("input[type=file]").set_input_files(_png(tmp_path / "r.png"))
    await expect(options.nth(0).locator(".thumb")).to_be_visible()
    await options.nth(0).get_by_label(w["image_alt"]).fill("A bowl of rice")
    await (
        options.nth(1)
        .locator("input[type=file]")
        .set_input_files(_png(tmp_path / "n.png", (200, 30, 30)))
    )
    alt2 = options.nth(1).get_by_label(w["image_alt"])
    await expect(alt2).to_be_visible()
    await expect(alt2).to_have_attribute("required", "")
    await browsing.assert_accessible(page)

    await form.locator("button[type=submit]").click()
    error = page.locator("#form-error")
    await expect(error).to_have_text(w["alt_required"])
    await expect(alt2).to_have_attribute("aria-invalid", "true")
    await expect(alt2).to_be_focused()
    await expect(page.locator(".question-item")).to_have_count(0)
    await browsing.assert_accessible(page)
    # A page that did not check (its rule dropped here) meets the server's refusal, shown.
    browsing.allow(r"status of 400 \(Bad Request\) \(.*/api/rooms/\w+/questions\)")
    await alt2.evaluate("input => { input.required = false; }")
    await form.locator("button[type=submit]").click()
    await expect(error).to_contain_text(w["refused"])
    await expect(page.locator(".question-item")).to_have_count(0)

    await alt2.fill("A plate of noodles")
    await expect(alt2).not_to_have_attribute("aria-invalid", "true")
    await form.locator("button[type=submit]").click()
    item = _item(page, "Lunch?")
    await expect(item).to_be_visible()
    await expect(error).to_be_hidden()
    thumbs = item.locator("img.thumb")
    await expect(thumbs).to_have_count(3)
    alts = ["A chart of last week's lunches", "A bowl of rice", "A plate of noodles"]
    assert [await t.get_attribute("alt") for t in await thumbs.all()] == alts
    for t in await thumbs.all():
        assert re.fullmatch(r"/media/[0-9a-f]{64}\.png", await t.get_attribute("src") or "")
    assert await thumbs.first.evaluate("img => img.complete && img.naturalWidth") == 64
    await browsing.assert_accessible(page)

    # Editing shows the images with their descriptions; removing one removes it.
    await _button(item, w["edit"]).click()
    await expect(page.locator("#q-image-thumb")).to_be_visible()
    await expect(page.locator("#q-image-alt")).to_have_value(alts[0])
    await expect(options.locator(".thumb")).to_have_count(2)
    await expect(options.nth(1).get_by_label(w["image_alt"])).to_have_value(alts[2])
    await expect(options.nth(1).locator(".thumb")).to_have_attribute("alt", alts[2])
    await browsing.assert_accessible(page)
    await page.locator("#q-image-row").get_by_role("button", name=w["remove_image"]).click()
    await expect(page.locator("#q-image-row")).to_be_hidden()
    await options.nth(0).get_by_role("button", name=w["remove_image"]).click()
    await expect(options.nth(0).locator(".image-row")).to_be_hidden()
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#add-title")).to_have_text(w["add_title"])
    await expect(item.locator("img.thumb")).to_have_count(1)
    await expect(item.locator("img.thumb")).to_have_attribute("alt", "A plate of noodles")
    await shot(page, f"console-images-{locale}.png")


async def test_yes_no_and_blank_sides_read_in_korean(
    browsing: Browsing, node: Node, tmp_path: Path
) -> None:
    w = WORDS["ko-KR"]
    page = await _console(browsing, node, "ko-KR")
    upload = await page.request.post(
        f"{node.url}/api/media",
        multipart={
            "file": {
                "name": "a.png",
                "mimeType": "image/png",
                "buffer": _png(tmp_path / "a.png").read_bytes(),
            }
        },
    )
    assert upload.ok, await upload.text()
    image = (await upload.json())["media"]["path"]
    await _add(page, node, title="속도는 적당했나요?", kind="yesno", visibility="after_close")
    sides = [{"label": "", "image": image, "image_alt": "파란 상자"}] * 2
    await _add(page, node, title="어느 쪽?", kind="vs", options=sides, visibility="live")
    yesno, vs = _item(page, "속도는 적당했나요?"), _item(page, "어느 쪽?")
    await expect(yesno.locator(".bar-label")).to_have_text(w["yes_no"].split(","))
    await expect(vs.locator(".bar-label")).to_have_text(w["sides"].split(","))
    await expect(vs.locator(".thumb-caption")).to_have_text(w["sides"].split(","))
    await expect(yesno.get_by_test_id("question-facts")).to_have_text(w["yesno_after_close"])
    await expect(vs.get_by_test_id("question-facts")).to_have_text(w["vs_live"])
    await expect(yesno.locator(".badge")).to_have_text([w["draft"]])
    # Editing the VS question: its blank sides say what they will be called.
    await _button(vs, w["edit"]).click()
    labels = page.locator(".opt-label")
    await expect(labels.nth(0)).to_have_attribute("placeholder", "A측")
    await expect(labels.nth(1)).to_have_attribute("placeholder", "B측")
    # Editing the yes/no question into another kind starts from its labels in Korean.
    await _button(yesno, w["edit"]).click()
    await page.locator("#q-kind").select_option("single")
    await _expect_values(labels, w["yes_no"].split(","))
    text = await page.locator("#question-list").inner_text()
    assert not RAW_CODES.search(text), text
    await browsing.assert_accessible(page)


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_room_card_links_the_rooms_workbook(
    browsing: Browsing, node: Node, locale: str
) -> None:
    page = await _console(browsing, node, locale)
    await _add(page, node, title="Lunch?", kind="single", options=["Rice", "Noodles"])
    link = page.locator("section[aria-labelledby=room-title]").get_by_role(
        "link", name=WORDS[locale]["workbook"]
    )
    await expect(link).to_have_attribute("href", f"/api/rooms/{_room_id(page)}/export.xlsx")
    await expect(link).to_have_attribute("download", "")
    async with page.expect_download() as caught:
        await link.click()
    download = await caught.value
    assert download.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO((await download.path()).read_bytes()))
    assert len(book.worksheets) == 2  # the summary, and the one question


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_console_fits_a_phone(
    browsing: Browsing, node: Node, locale: str, tmp_path: Path
) -> None:
    w = WORDS[locale]
    page = await _console(browsing, node, locale, phone=True)
    long = "Renewable infrastructure investment with community ownership " * 3
    await _add(page, node, title=long.strip(), kind="single", options=["a", "b"])
    await _add(
        page, node, title="지역 주민이 함께 소유하고 운영하는 재생에너지 기반 시설", kind="yesno"
    )
    await page.get_by_role("button", name=w["next"]).click()
    await expect(page.locator("#question-list [aria-current=true]")).to_have_count(1)
    await _button(page.locator(".question-item").nth(1), w["edit"]).click()
    await page.locator("#q-image").set_input_files(_png(tmp_path / "q.png"))
    await expect(page.locator("#q-image-thumb")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the console is {width}px wide on a 390px phone"
    for name in (w["previous"], w["next"], w["edit_submit"], w["cancel"]):
        box = await page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 44
    await browsing.assert_accessible(page)
    await shot(page, f"console-phone-{locale}.png")
