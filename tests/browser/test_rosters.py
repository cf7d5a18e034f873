"""Rosters in Chromium, in English and Korean: an official uploads a CSV of good and bad
rows, reads the preview (how many numbers will be saved, each refused row and why, in
the page's language) and saves it into a new group; imports a 50,000-row workbook in the
background and watches its progress reach the end; edits the first group (adds, removes
and moves a number); opens a poll only for that group, on which a citizen whose number
is on it votes and one whose number was moved away is refused."""

from __future__ import annotations

import csv
import datetime
import io
import re

import openpyxl  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from live.engines import db
from live.jobs import JobWorker
from live.services import Services
from rooms.citizens.phones import normalise
from tests.browser.conftest import Browsing
from tests.conftest import Node
from tests.live.citizenry import PASSWORD, make_citizen, make_official, official

pytestmark = pytest.mark.timeout(240)

KIM, LEE, PARK, CHOI = "010-2345-6789", "010-9876-5432", "010-2222-3333", "010-3333-4444"
LOGIN = "roster.kim"
BIG = 50_000

WORDS = {
    "en-US": {
        "login": "E-mail or login",
        "password": "Password",
        "sign_in": "Sign in",
        "phone": "Mobile number",
        "file": "File",
        "check": "Check the file",
        "accepted": "3 numbers will be saved.",
        "refused": "3 rows are refused:",
        "landline": "not a mobile number",
        "no_group": "(none)",
        "not_a_number": "not a phone number",
        "duplicate": "the same number as row 2",
        "new_name": "Name of the new group",
        "save": "Save",
        "saved": "Saved.",
        "residents_added": "Residents: 3 numbers added",
        "city_added": f"City: {BIG} numbers added",
        "reading": "Reading the file: row",
        "saving": "Saving:",
        "size": "{n} numbers",
        "add_phone": "Phone number",
        "add_name": "Name (optional)",
        "add": "Add",
        "remove": "Remove",
        "move": "Move",
        "move_to": "Move to",
        "removed": "Removed.",
        "moved": "Moved.",
        "who": "Who may vote (optional: every signed-in citizen)",
        "open": "Open the poll",
        "counted": "Your vote was counted.",
        "not_eligible": "You are not eligible to vote on this question.",
    },
    "ko-KR": {
        "login": "이메일 또는 아이디",
        "password": "비밀번호",
        "sign_in": "로그인",
        "phone": "휴대전화 번호",
        "file": "파일",
        "check": "파일 확인",
        "accepted": "번호 3개가 저장됩니다.",
        "refused": "3개 행이 거부되었습니다:",
        "landline": "휴대전화 번호가 아님",
        "no_group": "(없음)",
        "not_a_number": "전화번호가 아님",
        "duplicate": "2행과 같은 번호",
        "new_name": "새 그룹 이름",
        "save": "저장",
        "saved": "저장했습니다.",
        "residents_added": "Residents: 번호 3개 추가",
        "city_added": f"City: 번호 {BIG}개 추가",
        "reading": "파일을 읽는 중:",
        "saving": "저장 중:",
        "size": "번호 {n}개",
        "add_phone": "전화번호",
        "add_name": "이름 (선택)",
        "add": "추가",
        "remove": "삭제",
        "move": "옮기기",
        "move_to": "옮길 그룹",
        "removed": "삭제했습니다.",
        "moved": "옮겼습니다.",
        "who": "투표할 수 있는 사람 (선택: 로그인한 모든 시민)",
        "open": "투표 열기",
        "counted": "투표가 집계되었습니다.",
        "not_eligible": "이 질문에 투표할 자격이 없습니다.",
    },
}


def csv_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def big_workbook() -> bytes:
    """A workbook of ``BIG`` distinct mobile numbers under a header."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["전화번호", "이름"])
    i = written = 0
    while written < BIG:
        number = f"010-{5000 + i // 10_000:04d}-{i % 10_000:04d}"
        i += 1
        try:
            normalise(number)
        except Exception:
            continue
        sheet.append([number, f"시민 {written}"])
        written += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def choose(page: Page, w: dict[str, str], name: str, data: bytes, mime: str) -> None:
    await page.get_by_label(w["file"], exact=True).set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


#: Records every text and value the progress bar shows, as the page changes it.
WATCH_PROGRESS = """() => {
  window.seenProgress = [];
  const bar = document.querySelector("#progress [role=progressbar]");
  new MutationObserver(() => {
    window.seenProgress.push([bar.getAttribute("aria-valuetext"),
                              Number(bar.getAttribute("aria-valuenow"))]);
  }).observe(bar, {attributes: true});
}"""


async def citizen_signs_in(page: Page, node: Node, w: dict[str, str], phone: str, url: str) -> None:
    await page.goto(f"{node.url}/citizen/signin?next={url}")
    await page.get_by_label(w["phone"]).fill(phone)
    await page.get_by_label(w["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=w["sign_in"], exact=True).click()
    await page.wait_for_url(f"{node.url}{url}")


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_an_official_imports_and_edits_a_roster_and_only_its_numbers_vote(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    w = WORDS[locale]
    once = await make_official(svc, LOGIN, "Civil Affairs Division")
    async with official(node.url, LOGIN, once):
        pass  # the one-time password is now PASSWORD
    for phone in (KIM, LEE):
        await make_citizen(svc, phone)

    desk = await browsing.screen(locale)
    await desk.goto(f"{node.url}/host/signin?next=/host/rosters")
    await desk.get_by_label(w["login"]).fill(LOGIN)
    await desk.get_by_label(w["password"]).fill(PASSWORD)
    await desk.get_by_role("button", name=w["sign_in"], exact=True).click()
    await desk.wait_for_url(f"{node.url}/host/rosters")
    await browsing.assert_accessible(desk)

    # A CSV of good and bad rows: previewed, nothing saved yet.
    rows = [
        ["전화번호", "이름"],
        [KIM, "Kim Minji"],
        ["02-123-4567", "City Hall"],  # a landline
        ["hello", "Nobody"],
        ["+82 10 2345 6789", "Kim again"],  # row 2's number, written otherwise
        [LEE, "Lee Jiwoo"],
        [PARK, "Park Seojun"],
    ]
    await choose(desk, w, "residents.csv", csv_file(rows), "text/csv")
    await desk.get_by_role("button", name=w["check"]).click()
    await expect(desk.get_by_test_id("accepted")).to_have_text(w["accepted"])
    await expect(desk.locator("#refused-text")).to_have_text(w["refused"])
    refused = desk.get_by_test_id("refused").locator("tbody tr")
    await expect(refused).to_have_count(3)
    await expect(refused.nth(0).locator("td")).to_have_text(["3", "A3", "City Hall", w["landline"]])
    await expect(refused.nth(1).locator("td")).to_have_text(
        ["4", "A4", "Nobody", w["not_a_number"]]
    )
    await expect(refused.nth(2).locator("td")).to_have_text(
        ["5", "A5", "Kim again", w["duplicate"]]
    )
    # The rows taken, by row and name: never their numbers.
    taken = desk.get_by_test_id("sample").locator("tbody tr")
    await expect(taken).to_have_count(3)
    await expect(taken.nth(0).locator("td")).to_have_text(["2", "Kim Minji", w["no_group"]])
    await expect(taken.nth(2).locator("td")).to_have_text(["7", "Park Seojun", w["no_group"]])
    preview_text = await desk.locator("#preview").inner_text()
    assert "1234" not in preview_text and "5678" not in preview_text
    await browsing.assert_accessible(desk)
    async with svc.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(db.roster_groups)) == 0

    await desk.get_by_label(w["new_name"]).fill("Residents")
    await desk.locator("#confirm-form").get_by_role("button", name=w["save"]).click()
    await expect(desk.locator("#result-text")).to_have_text(w["saved"])
    saved = desk.get_by_test_id("saved-groups").get_by_role("link")
    await expect(saved).to_have_text([w["residents_added"]])
    residents_url = await saved.get_attribute("href")
    assert residents_url and residents_url.startswith("/host/rosters/")
    await browsing.assert_accessible(desk)

    # A large workbook, read and saved by the jobs while the page shows how far they are.
    await desk.reload()
    await desk.evaluate(WATCH_PROGRESS)
    await choose(
        desk,
        w,
        "city.xlsx",
        big_workbook(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    await desk.get_by_role("button", name=w["check"]).click()
    await expect(desk.get_by_test_id("accepted")).to_have_text(
        re.compile(rf"^\D*{BIG}\D*$"), timeout=90_000
    )
    await expect(desk.get_by_test_id("refused")).to_be_hidden()
    await desk.get_by_label(w["new_name"]).fill("City")
    await desk.locator("#confirm-form").get_by_role("button", name=w["save"]).click()
    await expect(desk.get_by_test_id("saved-groups").get_by_role("link")).to_have_text(
        [w["city_added"]], timeout=90_000
    )
    bar = desk.locator("#progress [role=progressbar]")
    await expect(bar).to_have_attribute("aria-valuenow", "100")
    await expect(bar).to_have_attribute("aria-valuetext", w["saved"])
    seen: list[tuple[str, int]] = [tuple(s) for s in await desk.evaluate("window.seenProgress")]
    reading = [pct for text, pct in seen if text.startswith(w["reading"])]
    saving = [pct for text, pct in seen if text.startswith(w["saving"])]
    # Each stage was seen part way, never going back.
    assert any(0 < pct < 100 for pct in reading + saving), seen
    assert reading == sorted(reading) and saving == sorted(saving), seen
    assert seen[-1] == (w["saved"], 100), seen
    await browsing.assert_accessible(desk)

    # The first group edited: a number added, one removed, one moved to the other group.
    await desk.goto(f"{node.url}{residents_url}")
    await expect(desk.locator("#group-size")).to_have_text(w["size"].format(n=3))
    members = desk.get_by_test_id("members").locator("li")
    await expect(members).to_have_count(3)
    await browsing.assert_accessible(desk)
    await desk.get_by_label(w["add_phone"]).fill(CHOI)
    await desk.get_by_label(w["add_name"]).fill("Choi Yuna")
    await desk.locator("#add-form").get_by_role("button", name=w["add"]).click()
    await expect(desk.locator("#group-size")).to_have_text(w["size"].format(n=4))
    await expect(members.filter(has_text="Choi Yuna")).to_have_count(1)

    park = members.filter(has_text="Park Seojun")
    await park.get_by_role("button", name=w["remove"], exact=True).click()
    await expect(desk.locator("#group-status")).to_have_text(w["removed"])
    await expect(park).to_have_count(0)
    lee = members.filter(has_text="Lee Jiwoo")
    await lee.get_by_label(w["move_to"]).select_option(label="City")
    await lee.get_by_role("button", name=w["move"], exact=True).click()
    await expect(desk.locator("#group-status")).to_have_text(w["moved"])
    await expect(lee).to_have_count(0)
    await expect(desk.locator("#group-size")).to_have_text(w["size"].format(n=2))
    await browsing.assert_accessible(desk)
    await desk.reload()
    await expect(members).to_have_count(2)
    await expect(members.filter(has_text="Kim Minji")).to_have_count(1)
    await expect(members.filter(has_text="Choi Yuna")).to_have_count(1)

    # A poll only for that group: Kim, on it, votes; Lee, moved away, is refused.
    await desk.goto(f"{node.url}/polls/new")
    # Only an official's policy poll may target roster groups.
    await desk.locator("#kind").select_option("policy_reference")
    await desk.locator("#title").fill("Which park gets the new benches?")
    await desk.locator("#area").select_option("environment")
    closes = datetime.datetime.now(datetime.UTC).astimezone() + datetime.timedelta(hours=2)
    await desk.locator("#closes").fill(closes.strftime("%Y-%m-%dT%H:%M:%S"))
    await desk.locator("#q-title").fill("Which park?")
    await desk.locator("#q-options").fill("Hangang\nSeoul Forest")
    await desk.get_by_text(w["who"]).click()
    await desk.get_by_label("Residents (2)", exact=True).check()
    await browsing.assert_accessible(desk)
    await desk.get_by_role("button", name=w["open"]).click()
    await desk.wait_for_url(re.compile(r"/polls/(?!new$)[a-z0-9]+$"))
    poll_url = desk.url.removeprefix(node.url)

    kim = await browsing.phone(locale)
    await citizen_signs_in(kim, node, w, KIM, poll_url)
    await expect(kim.get_by_test_id("not-for-you")).to_have_count(0)
    await expect(kim.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15000)
    await kim.get_by_role("button", name="Seoul Forest", exact=True).click()
    await expect(kim.get_by_text(w["counted"])).to_be_visible()
    await browsing.assert_accessible(kim)

    lee_phone = await browsing.phone(locale)
    await citizen_signs_in(lee_phone, node, w, LEE, poll_url)
    await expect(lee_phone.get_by_test_id("not-for-you")).to_have_text(w["not_eligible"])
    await expect(lee_phone.locator("#conn")).to_have_attribute(
        "data-state", "connected", timeout=15000
    )
    await lee_phone.get_by_role("button", name="Hangang", exact=True).click()
    await expect(lee_phone.locator("#stage").get_by_role("status")).to_have_text(w["not_eligible"])
    await expect(lee_phone.get_by_text(w["counted"])).to_have_count(0)
    # The ballot was not counted: Kim's alone is, on both pages.
    for page in (lee_phone, kim):
        await expect(page.get_by_test_id("option-count")).to_have_text(["0", "1"])
    await browsing.assert_accessible(lee_phone)
