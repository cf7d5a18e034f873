"""A poll's discussion in Chromium, in English and Korean: a citizen comments and another
sees it at once, replies and reports it; a monitor clears the report on the monitors'
page and the comment turns into a notice on every open page; a long thread written in
one millisecond shows whole through "Older comments"; axe-clean."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

import live.comments
from live.clock import now_ms
from live.jobs import JobWorker
from live.moderation import monitors
from live.services import Services
from rooms.comments import PAGE
from tests.browser.conftest import Browsing, citizen_page
from tests.conftest import Node
from tests.live.citizenry import citizen, make_citizen

KIM, LEE, PARK = "010-2345-6789", "010-9876-5432", "010-1111-2222"

TEXT = {
    "en-US": {
        "sign_in": "Sign in",
        "phone": "Mobile number",
        "password": "Password",
        "comment": "Your comment",
        "post": "Post",
        "reply": "Reply",
        "your_reply": "Your reply",
        "report": "Report",
        "why": "Why are you reporting this?",
        "send_report": "Send the report",
        "thanks": "Thank you: the monitors will look at it.",
        "reason": "Reason (the author is told)",
        "hide": "Hide",
        "hidden": "This comment was hidden by the monitors.",
        "reports": "1 reports",
        "voted": "Voted",
        "log_hidden": "Hidden",
        "advertising": "Advertising or selling",
        "empty": "No reports are waiting.",
        "older": "Older comments",
    },
    "ko-KR": {
        "sign_in": "로그인",
        "phone": "휴대전화 번호",
        "password": "비밀번호",
        "comment": "내 댓글",
        "post": "올리기",
        "reply": "답글",
        "your_reply": "내 답글",
        "report": "신고",
        "why": "신고 사유를 골라 주세요.",
        "send_report": "신고 보내기",
        "thanks": "감사합니다. 모니터링단이 살펴보겠습니다.",
        "reason": "사유 (작성자에게 알려집니다)",
        "hide": "숨기기",
        "hidden": "모니터링단이 숨긴 댓글입니다.",
        "reports": "신고 1건",
        "voted": "참여함",
        "log_hidden": "숨김",
        "advertising": "광고나 판매",
        "empty": "처리할 신고가 없습니다.",
        "older": "이전 댓글",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_citizens_discuss_a_poll_live_and_a_monitor_clears_a_reported_comment(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker, locale: str
) -> None:
    t = TEXT[locale]
    for phone in (KIM, LEE, PARK):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node.url, PARK) as park:
        r = await kim.http.post(
            "/api/polls",
            json={
                "title": "Night buses on weekdays?",
                "area": "transport",
                "closes_ms": now_ms() + 3_600_000,
                "questions": [{"title": "Run them?", "options": "Yes,No"}],
            },
        )
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        await monitors.add_monitor(svc, by="cli", citizen_id=park.id)
    url = f"/polls/{poll['id']}"

    writer = await citizen_page(browsing, node, locale, KIM, url)
    reader = await citizen_page(browsing, node, locale, LEE, url)
    for page in (writer, reader):
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    await writer.get_by_role("button", name="Yes", exact=True).click()

    await writer.get_by_label(t["comment"]).fill("Cheap flights at example.com!")
    await writer.get_by_role("button", name=t["post"], exact=True).click()
    mine = writer.get_by_test_id("comment").filter(has_text="Cheap flights")
    await expect(mine).to_be_visible()
    await expect(mine.get_by_test_id("voted")).to_have_text(t["voted"])
    theirs = reader.get_by_test_id("comment").filter(has_text="Cheap flights")
    await expect(theirs).to_be_visible()  # live, without a reload
    await browsing.assert_accessible(reader)

    await theirs.get_by_role("button", name=t["reply"]).click()
    await reader.get_by_label(t["your_reply"]).fill("Please stay on the subject.")
    await reader.get_by_role("button", name=t["post"], exact=True).last.click()
    await expect(writer.get_by_text("Please stay on the subject.")).to_be_visible()

    await theirs.get_by_role("button", name=t["report"], exact=True).click()
    await reader.get_by_label(t["why"]).select_option("commercial")
    await reader.get_by_role("button", name=t["send_report"]).click()
    await expect(reader.get_by_text(t["thanks"])).to_be_visible()
    await browsing.assert_accessible(reader)

    monitor = await citizen_page(browsing, node, locale, PARK, "/monitor")
    queued = monitor.get_by_test_id("queued")
    await expect(queued).to_have_count(1)
    await expect(queued.get_by_test_id("report-count")).to_have_text(t["reports"])
    await expect(queued).to_contain_text(t["advertising"])
    await expect(queued.get_by_test_id("queued-text")).to_have_text("Cheap flights at example.com!")
    await browsing.assert_accessible(monitor)
    await queued.get_by_label(t["reason"]).fill("Advertising")
    await queued.get_by_role("button", name=f"{t['hide']}:").click()
    await expect(monitor.get_by_text(t["empty"])).to_be_visible()
    await expect(monitor.get_by_test_id("log-row").first).to_contain_text(t["log_hidden"])
    await expect(monitor.get_by_test_id("log-row").first).to_contain_text("Advertising")

    for page in (writer, reader):
        notice = page.get_by_test_id("comment-notice")
        await expect(notice).to_contain_text(t["hidden"])
        await expect(notice).to_contain_text("Advertising")
        await expect(page.get_by_text("Cheap flights")).to_have_count(0)
    await writer.reload()
    await expect(writer.get_by_test_id("comment-notice")).to_contain_text("Advertising")
    await browsing.assert_accessible(writer)


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_older_comments_written_in_one_millisecond_all_show_once(
    browsing: Browsing,
    node: Node,
    svc: Services,
    jobs: JobWorker,
    locale: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = TEXT[locale]
    await make_citizen(svc, KIM)
    at = now_ms()
    async with citizen(node.url, KIM) as kim:
        r = await kim.http.post(
            "/api/polls",
            json={
                "title": "Night buses on weekdays?",
                "area": "transport",
                "closes_ms": at + 3_600_000,
                "questions": [{"title": "Run them?", "options": "Yes,No"}],
            },
        )
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        monkeypatch.setattr(live.comments, "now_ms", lambda: at)
        url = f"/api/polls/{poll['id']}/comments"
        for i in range(PAGE + 3):
            assert (await kim.http.post(url, json={"body": f"Note {i}"})).status_code == 201

    page = await browsing.phone(locale)
    await page.goto(f"{node.url}/polls/{poll['id']}")
    shown = page.get_by_test_id("comment-body")
    await expect(shown).to_have_count(PAGE)
    older = page.get_by_role("button", name=t["older"])
    await older.click()
    await expect(shown).to_have_count(PAGE + 3)
    await expect(older).to_be_hidden()
    bodies = await shown.all_text_contents()
    assert sorted(bodies) == sorted(f"Note {i}" for i in range(PAGE + 3))
    await browsing.assert_accessible(page)
