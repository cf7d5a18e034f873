"""A citizen signs up with a code, signs out and in, mistypes a code and changes number,
in Chromium on a phone, in English and in Korean; every page axe-clean. The code is read
where the console provider writes it: the server's log."""

from __future__ import annotations

import logging
import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Browsing
from tests.conftest import Node

TEXT = {
    "en-US": {
        "send": "Send a code",
        "phone": "Mobile number",
        "new_phone": "New mobile number",
        "code": "Code from the text message",
        "name": "Name shown to others (optional)",
        "password": "Password",
        "create": "Create account",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "sent": "A code was sent to the number. It is valid for 10 minutes.",
        "wrong": "The code is wrong. Tries left before a lock: 4.",
        "change": "Change the number",
        "changed": "The account now uses the new number.",
        "bad_sign_in": "The phone number or password is wrong.",
    },
    "ko-KR": {
        "send": "인증번호 보내기",
        "phone": "휴대전화 번호",
        "new_phone": "새 휴대전화 번호",
        "code": "문자로 받은 인증번호",
        "name": "다른 사람에게 보일 이름(선택)",
        "password": "비밀번호",
        "create": "계정 만들기",
        "sign_in": "로그인",
        "sign_out": "로그아웃",
        "sent": "번호로 인증번호를 보냈습니다. 10분 동안 유효합니다.",
        "wrong": "인증번호가 틀렸습니다. 잠기기 전까지 남은 횟수: 4회.",
        "change": "번호 바꾸기",
        "changed": "이제 계정이 새 번호를 씁니다.",
        "bad_sign_in": "휴대전화 번호 또는 비밀번호가 틀렸습니다.",
    },
}


def last_code(caplog: pytest.LogCaptureFixture) -> str:
    lines = [r.getMessage() for r in caplog.records if r.name == "mvoting.sms"]
    assert lines, "no code was written to the log"
    found = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", lines[-1])
    assert found, lines[-1]
    return found[-1]


async def ask_for_code(page: Page, t: dict[str, str], caplog: pytest.LogCaptureFixture) -> str:
    before = len(caplog.records)
    await page.get_by_role("button", name=t["send"]).click()
    await expect(page.locator("[data-sent-status]")).to_have_text(t["sent"])
    await expect(page.get_by_label(t["code"])).to_be_focused()
    assert len(caplog.records) > before
    return last_code(caplog)


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_citizen_signs_up_signs_in_and_changes_number_in_the_browser(
    browsing: Browsing, node: Node, locale: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    t = TEXT[locale]
    browsing.allow(r"status of 401")  # the refusals the test provokes
    page = await browsing.phone(locale)
    await page.goto(f"{node.url}/citizen/signup")
    await browsing.assert_accessible(page)
    await expect(page.get_by_label(t["code"])).to_be_hidden()
    await page.get_by_label(t["phone"]).fill("010-2345-6789")
    code = await ask_for_code(page, t, caplog)
    await browsing.assert_accessible(page)
    # A mistyped code: the server's sentence in the page's language; nothing changes.
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    await page.get_by_label(t["code"]).fill(wrong)
    await page.get_by_label(t["name"]).fill("Kim")
    await page.get_by_label(t["password"], exact=True).fill("correct horse battery")
    await page.get_by_role("button", name=t["create"]).click()
    await expect(page.get_by_role("alert")).to_have_text(t["wrong"])
    assert page.url.endswith("/citizen/signup")
    await page.get_by_label(t["code"]).fill(code)
    await page.get_by_role("button", name=t["create"]).click()
    await page.wait_for_url(f"{node.url}/citizen")
    await expect(page.locator("[data-citizen-name]")).to_have_text("Kim")
    await browsing.assert_accessible(page)

    # Signed out, then in again with the number written another way.
    await page.get_by_role("button", name=t["sign_out"]).click()
    await page.wait_for_url(re.compile(r"/citizen/signin$"))
    await browsing.assert_accessible(page)
    await page.get_by_label(t["phone"]).fill("+82 10 2345 6789")
    await page.get_by_label(t["password"]).fill("not the password")
    await page.get_by_role("button", name=t["sign_in"], exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text(t["bad_sign_in"])
    await page.get_by_label(t["password"]).fill("correct horse battery")
    await page.get_by_role("button", name=t["sign_in"], exact=True).click()
    await page.wait_for_url(f"{node.url}/citizen")

    # A new number, after the password again.
    await page.get_by_label(t["new_phone"]).fill("010-3456-7890")
    await page.get_by_label(t["password"]).fill("correct horse battery")
    code = await ask_for_code(page, t, caplog)
    await page.get_by_label(t["code"]).fill(code)
    await page.get_by_role("button", name=t["change"]).click()
    await expect(page.get_by_text(t["changed"])).to_be_visible()
    await browsing.assert_accessible(page)
    other = await browsing.phone(locale)
    await other.goto(f"{node.url}/citizen/signin")
    await other.get_by_label(t["phone"]).fill("01034567890")
    await other.get_by_label(t["password"]).fill("correct horse battery")
    await other.get_by_role("button", name=t["sign_in"], exact=True).click()
    await other.wait_for_url(f"{node.url}/citizen")
    await expect(other.locator("[data-citizen-name]")).to_have_text("Kim")
