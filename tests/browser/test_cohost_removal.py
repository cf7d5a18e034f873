"""A co-host removed while the room runs: the owner's console and presenter screen join
again with the renewed presenter link by themselves; a screen opened with only the old
link says to open it again from the console."""

from __future__ import annotations

from playwright.async_api import Page, expect

from live.sessions import COOKIE
from tests.browser.conftest import Browsing
from tests.conftest import Node
from tests.live.hosting import Host, create_room, signed_in


async def _as(page: Page, node: Node, host: Host) -> Page:
    """The page's browser signed in as ``host`` (its session cookie)."""
    value = host.http.cookies.get(COOKIE)
    assert value
    await page.context.add_cookies([{"name": COOKIE, "value": value, "url": node.url}])
    return page


async def test_the_hosts_screens_follow_a_renewed_presenter_link(
    browsing: Browsing, node: Node
) -> None:
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        signed_in(node.url, "cohost@example.org") as cohost,
    ):
        room = await create_room(owner.http)
        r = await owner.http.post(f"/api/rooms/{room['id']}/invitations")
        token = r.json()["invitation"]["token"]
        assert (await cohost.http.post(f"/api/invitations/{token}/accept")).status_code == 200

        console = await _as(await browsing.screen(), node, owner)
        await console.goto(f"{node.url}/host/rooms/{room['id']}")
        await expect(console.locator("#conn")).to_have_attribute("data-state", "connected")
        link = console.get_by_role("link", name="Open presenter screen")
        old = await link.get_attribute("href") or ""
        projector = await _as(await browsing.screen(), node, owner)
        await projector.goto(old)
        await expect(projector.locator("#conn")).to_have_attribute("data-state", "connected")
        hall = await browsing.screen()  # a hall's PC: the link alone, no host signed in
        await hall.goto(old)
        await expect(hall.locator("#conn")).to_have_attribute("data-state", "connected")

        r = await owner.http.delete(f"/api/rooms/{room['id']}/hosts/{cohost.id}")
        assert r.status_code == 200, r.text

        await expect(link).not_to_have_attribute("href", old)
        await expect(console.locator("#conn")).to_have_attribute("data-state", "connected")
        await expect(hall.get_by_role("alert")).to_have_text(
            "This presenter link is not valid: open it again from the host console."
        )
        await expect(hall.locator("#conn")).to_have_attribute("data-state", "offline")
        # The owner's own projector read the new link and follows the room still.
        await owner.http.post(
            f"/api/rooms/{room['id']}/questions",
            json={"title": "Lunch?", "kind": "single", "options": ["Rice", "Noodles"]},
        )
        await owner.http.post(f"/api/rooms/{room['id']}/next")
        await expect(projector.locator("#q-title")).to_have_text("Lunch?")
        await expect(projector.locator("#conn")).to_have_attribute("data-state", "connected")
        await browsing.assert_accessible(hall)
