"""Notifications in Chromium: a citizen chooses "Transport" under "Notify me" on the
account page, allows notifications on the device (the service worker at /sw.js
registers with scope /), and on the inbox page sees a transport poll arrive live, then
marks it read; every page axe-clean.

Playwright's browser contexts are incognito-like, where Chromium has no Push API
(it says so on the console, https://crbug.com/41124656), and its subscriptions would go
to Google's FCM, which this machine cannot reach: ``pushManager.subscribe`` fails, and
the page says so. A push message is instead handed to the service worker by DevTools
(``ServiceWorker.deliverPushMessage``), which it shows as a notification. Encrypted
messages themselves are tested against a real local push service in
tests/live/test_notify.py."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import expect

from live.jobs import JobWorker
from live.services import Services
from tests.browser.conftest import Browsing
from tests.browser.test_poll_page import TEXT, sign_in
from tests.conftest import Node
from tests.live.citizenry import citizen, make_citizen
from tests.live.test_polls import poll_body

KIM, PARK = "010-2345-6789", "010-5555-1234"


async def test_a_citizen_follows_transport_and_sees_a_new_poll_arrive_in_the_inbox(
    browsing: Browsing, node: Node, svc: Services, jobs: JobWorker
) -> None:
    t = TEXT["en-US"]
    await make_citizen(svc, KIM)
    await make_citizen(svc, PARK)
    page = await browsing.phone()
    browsing.allow(r"does not support the Push API in incognito mode")
    await page.context.grant_permissions(["notifications"], origin=node.url)
    await sign_in(page, node, t, "/citizen")

    form = page.locator("[data-notify-form]")
    await form.get_by_label("Notify me of new polls").check()
    await form.get_by_label("Transport", exact=True).check()
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("[data-notify-status]")).to_have_text(
        "Saved: new polls for you will be in your inbox."
    )
    await browsing.assert_accessible(page)

    await page.get_by_role("button", name="Allow notifications on this device").click()
    status = page.locator("[data-push-status]")
    await expect(status).not_to_have_text("Asking the browser…", timeout=15000)
    scope = await page.evaluate(
        """async () => {
            const reg = await navigator.serviceWorker.getRegistration("/");
            await navigator.serviceWorker.ready;
            return reg ? reg.scope : null;
        }"""
    )
    assert scope == f"{node.url}/"
    pushed = (await status.text_content() or "").strip()
    assert pushed in ("This device shows notifications of new polls.",) or pushed.startswith(
        "Notifications could not be turned on."
    ), pushed

    # A push message delivered to the service worker (by DevTools, as a push service
    # would) is shown as a notification naming the poll.
    cdp = await page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await page.wait_for_timeout(200)
    [registration] = [r for r in registrations if r["scopeURL"] == f"{node.url}/"]
    message = {
        "notice": "n1",
        "poll": "p1",
        "title": "Night buses?",
        "reason": "area",
        "texts": {"en": "A new poll in an area you follow", "ko": "관심 분야의 새 투표"},
        "url": "/polls/p1",
    }
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": node.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(message),
        },
    )
    shown: list[list[str]] = []
    for _ in range(50):
        shown = await page.evaluate(
            """async () => {
                const reg = await navigator.serviceWorker.getRegistration("/");
                return (await reg.getNotifications()).map((n) => [n.title, n.body, n.data.url]);
            }"""
        )
        if shown:
            break
        await page.wait_for_timeout(100)
    assert shown == [["Night buses?", "A new poll in an area you follow", "/polls/p1"]]

    await page.goto(f"{node.url}/inbox")
    await expect(page.locator("[data-inbox-empty]")).to_be_visible()
    await expect(page.locator("[data-unread-count]")).to_have_text("0")
    await browsing.assert_accessible(page)
    # The socket asked for notices (the ack sets the count) before the poll opens.
    await page.wait_for_function("() => window.mv && document.readyState === 'complete'")
    async with citizen(node.url, PARK) as park:
        await page.wait_for_timeout(300)
        r = await park.http.post(
            "/api/polls", json=poll_body(area="transport", title="Night buses on line 7?")
        )
        assert r.status_code == 201, r.text
    await expect(page.locator("[data-live-notice]")).to_have_text(
        "New poll: Night buses on line 7?", timeout=15000
    )
    item = page.get_by_test_id("inbox").locator("li")
    await expect(item).to_have_count(1)
    await expect(item.get_by_role("link")).to_have_text("Night buses on line 7?")
    await expect(page.locator("[data-unread-count]")).to_have_text("1")
    await item.get_by_role("button", name="Mark as read").click()
    await expect(page.locator("[data-unread-count]")).to_have_text("0")
    await expect(item.get_by_role("button")).to_have_count(0)
    await browsing.assert_accessible(page)

    await page.reload()
    await expect(page.get_by_test_id("inbox").locator("li")).to_have_count(1)
    await expect(page.locator("[data-unread-count]")).to_have_text("0")
