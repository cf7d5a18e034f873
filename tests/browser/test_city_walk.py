"""The citywide journey in Chromium, in English and Korean: an official signs in with the
password that works once and opens a policy decision poll with a place and a deadline;
a citizen signs up with a code (the console provider's, from the log), finds the poll
near them, votes and follows its tally; the poll closes itself at its deadline and
shows "Verification completed"; the official publishes its reflection, which the
reflection results page lists."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from live.jobs import running_jobs
from live.services import open_services
from live.settings import Settings
from tests.browser.conftest import Browsing
from tests.browser.test_citizen_pages import last_code
from tests.conftest import Node, finished, run_node, running_worker
from tests.live.citizenry import make_official

pytestmark = pytest.mark.timeout(240)

SEOUL_HALL = {"latitude": 37.5663, "longitude": 126.9779}

TEXT = {
    "en-US": {
        "login": "E-mail or login",
        "password": "Password",
        "sign_in": "Sign in",
        "current": "Current password",
        "new": "New password",
        "again": "New password again",
        "save": "Save the new password",
        "policy_polls": "Policy polls of Welfare Policy Division",
        "open_poll": "Open a poll",
        "kind": "Kind of poll",
        "decision": "Policy reflected",
        "title": "Title",
        "area": "Area of interest",
        "welfare": "Welfare",
        "closes": "Closes",
        "here": "Place the poll where I am now",
        "question": "Question",
        "options": "Options, one per line",
        "open": "Open the poll",
        "phone": "Mobile number",
        "send": "Send a code",
        "code": "Code from the text message",
        "create": "Create account",
        "polls": "Polls",
        "near": "Find polls near me",
        "counted": "Your vote was counted.",
        "verified": "Verification completed",
        "reflected": "How the result was reflected",
        "date": "Date",
        "publish": "Publish the reflection",
        "published": "Published:",
        "reflections": "Policy reflection results",
    },
    "ko-KR": {
        "login": "이메일 또는 아이디",
        "password": "비밀번호",
        "sign_in": "로그인",
        "current": "지금 비밀번호",
        "new": "새 비밀번호",
        "again": "새 비밀번호 확인",
        "save": "새 비밀번호 저장",
        "policy_polls": "Welfare Policy Division의 정책 투표",
        "open_poll": "투표 만들기",
        "kind": "투표 종류",
        "decision": "정책 반영",
        "title": "제목",
        "area": "관심 분야",
        "welfare": "복지",
        "closes": "끝나는 때",
        "here": "지금 내 위치에 투표를 둡니다",
        "question": "질문",
        "options": "선택지(한 줄에 하나씩)",
        "open": "투표 열기",
        "phone": "휴대전화 번호",
        "send": "인증번호 보내기",
        "code": "문자로 받은 인증번호",
        "create": "계정 만들기",
        "polls": "투표",
        "near": "내 주변 투표 찾기",
        "counted": "투표가 집계되었습니다.",
        "verified": "검증 완료",
        "reflected": "결과를 반영한 방법",
        "date": "날짜",
        "publish": "반영 결과 게시",
        "published": "게시했습니다.",
        "reflections": "정책 반영 결과",
    },
}


@pytest.fixture
async def city_node(witnessed: Settings) -> AsyncIterator[tuple[Node, Settings]]:
    """A node whose ledger trusts the session's witnesses, where a poll may run seconds,
    with the worker's archive and jobs beside it."""
    quick = witnessed.with_(poll_shortest=2)
    async with run_node(quick) as node:
        # Their teardown is bounded and reports what hangs, as the ``svc`` fixture's is.
        stack = contextlib.AsyncExitStack()
        svc = await stack.enter_async_context(open_services(quick))
        await stack.enter_async_context(running_worker(svc))
        await stack.enter_async_context(running_jobs(svc))
        try:
            yield node, quick
        finally:
            await finished(asyncio.ensure_future(stack.aclose()), "the walk's worker and jobs")


async def local_time_in(page: Page, seconds: int) -> str:
    """The browser's local time ``seconds`` from now, as a datetime-local field takes it."""
    value: str = await page.evaluate(
        """s => { const d = new Date(Date.now() + s * 1000);
                  const p = (n) => String(n).padStart(2, "0");
                  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
                         `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }""",
        seconds,
    )
    return value


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_the_citywide_journey(
    browsing: Browsing,
    city_node: tuple[Node, Settings],
    locale: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    node, settings = city_node
    t = TEXT[locale]
    async with open_services(settings) as svc:
        once = await make_official(svc, "welfare.kim", "Welfare Policy Division")
    browsing.allow(r"status of 40[13]")

    # The citizen signs up with the code and waits on the polls page.
    phone = await browsing.phone(locale)
    await phone.context.grant_permissions(["geolocation"])
    await phone.context.set_geolocation({"latitude": 37.5700, "longitude": 126.9800})
    await phone.goto(f"{node.url}/citizen/signup?next=/polls")
    await phone.get_by_label(t["phone"]).fill("010-2345-6789")
    await phone.get_by_role("button", name=t["send"]).click()
    await expect(phone.get_by_label(t["code"])).to_be_visible()
    await phone.get_by_label(t["code"]).fill(last_code(caplog))
    await phone.get_by_label(t["password"], exact=True).fill("correct horse battery")
    await phone.get_by_role("button", name=t["create"]).click()
    await phone.wait_for_url(f"{node.url}/polls")
    await browsing.assert_accessible(phone)
    # The official: a first sign-in, the password changed, a policy poll opened.
    desk = await browsing.screen(locale)
    await desk.context.grant_permissions(["geolocation"])
    await desk.context.set_geolocation(SEOUL_HALL)
    await desk.goto(f"{node.url}/host/signin")
    await desk.get_by_label(t["login"]).fill("welfare.kim")
    await desk.get_by_label(t["password"]).fill(once)
    await desk.get_by_role("button", name=t["sign_in"], exact=True).click()
    await desk.wait_for_url(re.compile(r"/host/password"))
    await desk.get_by_label(t["current"]).fill(once)
    await desk.get_by_label(t["new"], exact=True).fill("welfare first!")
    await desk.get_by_label(t["again"]).fill("welfare first!")
    await desk.get_by_role("button", name=t["save"]).click()
    await desk.wait_for_url(f"{node.url}/host")
    await desk.get_by_role("link", name=t["policy_polls"]).click()
    await browsing.assert_accessible(desk)
    await desk.get_by_role("link", name=t["open_poll"]).first.click()
    await desk.wait_for_url(f"{node.url}/polls/new")
    await browsing.assert_accessible(desk)
    await desk.get_by_label(t["kind"]).select_option(label=t["decision"])
    await desk.get_by_label(t["title"], exact=True).fill("Free lunches in every school?")
    await desk.get_by_label(t["area"]).select_option(label=t["welfare"])
    await desk.get_by_label(t["closes"]).fill(await local_time_in(desk, 30))
    await desk.get_by_label(t["here"]).check()
    await desk.get_by_label(t["question"], exact=True).fill("Should the city pay?")
    await desk.get_by_label(t["options"]).fill("Yes\nNo")
    await desk.get_by_role("button", name=t["open"]).click()
    await desk.wait_for_url(re.compile(r"/polls/(?!new$)[a-z0-9]+$"))
    poll_url = desk.url

    # The citizen finds the poll near them and votes.
    await phone.get_by_role("button", name=t["near"]).click()
    near = phone.get_by_test_id("near")
    await expect(near.get_by_role("link", name="Free lunches in every school?")).to_be_visible()
    await near.get_by_role("link", name="Free lunches in every school?").click()
    await phone.wait_for_url(poll_url)
    await phone.get_by_role("button", name="Yes", exact=True).click()
    await expect(phone.get_by_text(t["counted"])).to_be_visible()
    await expect(phone.get_by_test_id("option-count")).to_have_text(["1", "0"])
    await browsing.assert_accessible(phone)

    # The deadline passes with no one doing anything: closed, and verified.
    badge = phone.get_by_test_id("verification")
    await expect(badge).to_contain_text(t["verified"], timeout=60_000)

    # The official publishes how the result was reflected.
    await desk.goto(f"{node.url}/host/polls")
    await desk.get_by_label(t["reflected"]).fill("Adopted for every school from March.")
    await desk.get_by_label(t["date"]).fill("2027-03-02")
    await desk.get_by_role("button", name=t["publish"]).click()
    await expect(desk.get_by_role("status").filter(has_text=t["published"])).to_be_visible()
    await desk.goto(f"{node.url}/reflections")
    await expect(desk.get_by_role("heading", name=t["reflections"], level=1)).to_be_visible()
    await expect(desk.get_by_test_id("reflections")).to_contain_text(
        "Adopted for every school from March."
    )
    await browsing.assert_accessible(desk)
