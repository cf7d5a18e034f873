"""Notifications in Chromium, in English and in Korean, each chosen on the site by a
browser that asks for the other language: a citizen chooses "Transport" under "Notify
me" on the account page and allows notifications on the device (the service worker at
/sw.js registers with scope /, push.js subscribes and sends the subscription); on a
poll's page they are told of a new transport poll live, its Web Push message reaches
the push service and the service worker shows it in their language; on the inbox page
a further poll arrives live and is marked read; every page axe-clean.

Playwright's browser contexts are incognito-like, where Chromium has no Push API
(https://crbug.com/41124656), and its subscriptions would go to Google's FCM, which
this machine cannot reach. The page's ``PushManager.prototype.subscribe`` is replaced
by one that answers with a subscription of the test's local push service
(``tests.pushservice``, which checks the server's VAPID token and decrypts the message
with the subscription's keys); the message it decrypted is then handed to the service
worker by DevTools (``ServiceWorker.deliverPushMessage``), as a browser would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from live.engines import db
from live.jobs import JobWorker
from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_poll_page import TEXT
from tests.conftest import Node
from tests.live.citizenry import PASSWORD, citizen, make_citizen
from tests.live.test_polls import poll_body, wait_status
from tests.pushservice import PushService, running_push_service

KIM, PARK = "010-2345-6789", "010-5555-1234"

WORDS = {
    "en-US": {
        "lang": "en",
        "browser": "ko-KR",
        "notify_me": "Notify me of new polls",
        "transport": "Transport",
        "save": "Save",
        "saved": "Saved: new polls for you will be in your inbox.",
        "allow": "Allow notifications on this device",
        "push_on": "This device shows notifications of new polls.",
        "pushed": "A new poll in an area you follow",
        "live": "New poll: {title}",
        "reason": "In an area you follow",
        "mark_read": "Mark as read",
    },
    "ko-KR": {
        "lang": "ko",
        "browser": "en-US",
        "notify_me": "새 투표 알림 받기",
        "transport": "대중교통",
        "save": "저장",
        "saved": "저장했습니다. 나에게 해당하는 새 투표가 알림함에 옵니다.",
        "allow": "이 기기에서 알림 허용",
        "push_on": "이 기기에 새 투표 알림이 표시됩니다.",
        "pushed": "관심 분야의 새 투표",
        "live": "새 투표: {title}",
        "reason": "관심 분야",
        "mark_read": "읽음으로 표시",
    },
}

#: A ``PushManager`` whose subscription is the local push service's (kept across
#: pages in localStorage); what push.js asked it for is in ``window.__pushAsked``.
FAKE_PUSH = """(sub) => {
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const made = () => ({
    endpoint: sub.endpoint,
    expirationTime: null,
    toJSON: () => sub,
    unsubscribe: async () => { localStorage.removeItem("test-push"); return true; },
  });
  window.__pushAsked = [];
  PushManager.prototype.subscribe = async function (options) {
    window.__pushAsked.push({
      userVisibleOnly: options.userVisibleOnly,
      key: b64(options.applicationServerKey),
    });
    localStorage.setItem("test-push", "1");
    return made();
  };
  PushManager.prototype.getSubscription = async function () {
    return localStorage.getItem("test-push") ? made() : null;
  };
}"""


@pytest.fixture
async def pushsvc() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


async def _shown_notifications(page: Page) -> list[list[str]]:
    shown: list[list[str]] = []
    for _ in range(50):
        shown = await page.evaluate(
            """async () => {
                const reg = await navigator.serviceWorker.getRegistration("/");
                return (await reg.getNotifications())
                  .map((n) => [n.title, n.body, n.data.url, n.lang]);
            }"""
        )
        if shown:
            break
        await page.wait_for_timeout(100)
    return shown


async def _open_poll(node: Node, svc: Services, **extra: Any) -> dict[str, Any]:
    async with citizen(node.url, PARK) as park:
        r = await park.http.post("/api/polls", json=poll_body(**extra))
        assert r.status_code == 201, r.text
        poll: dict[str, Any] = r.json()["poll"]
    await wait_status(svc, poll["id"], "open")
    return poll


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
async def test_a_citizen_allows_notifications_and_is_told_of_new_polls_in_their_language(
    browsing: Browsing,
    node: Node,
    svc: Services,
    jobs: JobWorker,
    pushsvc: PushService,
    locale: str,
) -> None:
    t, w = TEXT[locale], WORDS[locale]
    await make_citizen(svc, KIM)
    await make_citizen(svc, PARK)
    elsewhere = await _open_poll(node, svc, area="culture", title="A mural for the library?")
    sub = pushsvc.subscribe()

    page = await browsing.phone(w["browser"])  # the browser asks for the other language
    await page.add_init_script(f"({FAKE_PUSH})({json.dumps(sub)})")
    await page.context.grant_permissions(["notifications"], origin=node.url)
    # The citizen chooses their language on the site (the header's link: ?lang=).
    await page.goto(f"{node.url}/citizen/signin?next=/citizen&lang={w['lang']}")
    await page.get_by_label(t["phone"]).fill(KIM)
    await page.get_by_label(t["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=t["sign_in"], exact=True).click()
    await expect(page.locator("html")).to_have_attribute("lang", w["lang"])

    form = page.locator("[data-notify-form]")
    await form.get_by_label(w["notify_me"]).check()
    await form.get_by_label(w["transport"], exact=True).check()
    await form.get_by_role("button", name=w["save"]).click()
    await expect(page.locator("[data-notify-status]")).to_have_text(w["saved"])
    await browsing.assert_accessible(page)

    # Allowing notifications subscribes with the server's key and sends the subscription.
    await page.get_by_role("button", name=w["allow"]).click()
    status = page.locator("[data-push-status]")
    await expect(status).to_have_text(w["push_on"], timeout=15000)
    scope = await page.evaluate(
        """async () => {
            const reg = await navigator.serviceWorker.getRegistration("/");
            await navigator.serviceWorker.ready;
            return reg ? reg.scope : null;
        }"""
    )
    assert scope == f"{node.url}/"
    async with httpx.AsyncClient(base_url=node.url) as anyone:
        key = (await anyone.get("/api/push/key")).json()["key"]
    assert await page.evaluate("window.__pushAsked") == [{"userVisibleOnly": True, "key": key}]
    t_subs = db.push_subscriptions.c
    async with svc.engine.connect() as conn:
        kept = (await conn.execute(sa.select(t_subs.endpoint, t_subs.p256dh, t_subs.auth))).all()
    assert [tuple(r) for r in kept] == [
        (sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"])
    ]
    await page.reload()
    await expect(status).to_have_text(w["push_on"])

    # On another poll's page, a new transport poll is told live.
    await page.goto(f"{node.url}/polls/{elsewhere['id']}")
    notice = page.get_by_test_id("live-notice")
    await expect(notice).to_have_attribute("data-listening", "yes", timeout=15000)
    await expect(notice).to_have_attribute("role", "status")
    poll = await _open_poll(node, svc, area="transport", title="Night buses on line 7?")
    link = notice.get_by_role("link")
    await expect(link).to_have_text(w["live"].format(title=poll["title"]), timeout=15000)
    await expect(link).to_have_attribute("href", f"/polls/{poll['id']}")
    await browsing.assert_accessible(page)

    # Its push message reached the push service, in the chosen language ...
    for _ in range(100):
        if pushsvc.to(sub["endpoint"]):
            break
        await page.wait_for_timeout(100)
    [message] = pushsvc.to(sub["endpoint"])
    body = message.json()
    assert body["title"] == "Night buses on line 7?" and body["poll"] == poll["id"]
    assert body["lang"] == w["lang"] and body["body"] == w["pushed"]
    assert pushsvc.refused == []

    # ... and the service worker shows it in that language, not the browser's.
    cdp = await page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await page.wait_for_timeout(200)
    [registration] = [r for r in registrations if r["scopeURL"] == f"{node.url}/"]
    for data in (body, {**body, "lang": None, "body": None}):  # the cookie is enough
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": node.url,
                "registrationId": registration["registrationId"],
                "data": message.data.decode() if data is body else json.dumps(data),
            },
        )
        shown = await _shown_notifications(page)
        assert shown == [["Night buses on line 7?", w["pushed"], f"/polls/{poll['id']}", w["lang"]]]
        await page.evaluate(
            """async () => {
                const reg = await navigator.serviceWorker.getRegistration("/");
                (await reg.getNotifications()).forEach((n) => n.close());
            }"""
        )

    # The inbox keeps it; a further poll arrives live there, and is marked read.
    await page.goto(f"{node.url}/inbox")
    items = page.get_by_test_id("inbox").locator("li")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text(w["reason"])
    await expect(page.locator("[data-unread-count]")).to_have_text("1")
    await browsing.assert_accessible(page)
    await page.wait_for_function("() => window.mv && document.readyState === 'complete'")
    await page.wait_for_timeout(300)
    await _open_poll(node, svc, area="transport", title="A tram for Jongno?")
    await expect(page.locator("[data-live-notice]")).to_have_text(
        w["live"].format(title="A tram for Jongno?"), timeout=15000
    )
    await expect(items).to_have_count(2)
    top = items.first
    await expect(top.get_by_role("link")).to_have_text("A tram for Jongno?")
    await expect(page.locator("[data-unread-count]")).to_have_text("2")
    await top.get_by_role("button", name=w["mark_read"]).click()
    await expect(page.locator("[data-unread-count]")).to_have_text("1")
    await expect(top.get_by_role("button")).to_have_count(0)
    await browsing.assert_accessible(page)

    await page.reload()
    await expect(page.get_by_test_id("inbox").locator("li")).to_have_count(2)
    await expect(page.locator("[data-unread-count]")).to_have_text("1")
