"""Real headless Chromium, driven by Playwright's async API in the session's event loop.

The browser is Debian's ``chromium`` (``make browser`` installs it); Playwright never
downloads one here. Each test gets a ``Browsing`` helper that opens phone and presenter
contexts, collects page errors, console errors and dialogs from every page it opens, and
closes everything at the end; a test fails if any page logged an error it did not expect.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from live.jobs import JobWorker, running_jobs
from live.services import Services
from tests.conftest import Node
from tests.live.citizenry import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
#: axe-core from npm (``tests/js``, installed by ``make test``), run inside the pages.
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
#: The rules axe-core checks: WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
SCREEN = {"viewport": {"width": 1280, "height": 720}}


def chromium_path() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail(
            "Chromium is not installed: the browser tests need Debian's chromium at "
            "/usr/bin/chromium. Run `make browser` (as root: apt-get install -y chromium "
            "fonts-noto-cjk). `playwright install` is not used by this project.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session."""
    path = chromium_path()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Browsing:
    """Contexts and pages of one test, with everything they reported."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    async def phone(self, locale: str = "en-US") -> Page:
        """A fresh phone (its own cookies and storage, so its own voter)."""
        return await self._page(locale=locale, **PHONE)

    async def screen(self, locale: str = "en-US") -> Page:
        """A desktop browser, as the presenter's projector."""
        return await self._page(locale=locale, **SCREEN)

    def allow(self, pattern: str) -> None:
        """Tolerate console errors matching ``pattern`` (e.g. refused reconnects)."""
        self.allowed.append(re.compile(pattern))

    async def _page(self, **options: Any) -> Page:
        context = await self.browser.new_context(**options)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror {page.url}: {exc}"))
        page.on("console", lambda msg: self._console(page, msg))
        page.on("dialog", lambda dialog: self._dialog(dialog))
        return page

    def _console(self, page: Page, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        where = msg.location.get("url", "") if msg.location else ""
        if where.endswith("/favicon.ico"):
            return
        text = f"{msg.text} ({where or page.url})"
        if any(p.search(text) for p in self.allowed):
            return
        self.errors.append(f"console error: {text}")

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        try:
            await dialog.dismiss()
        except PlaywrightError:  # the page went away meanwhile
            pass

    async def accessibility(self, page: Page) -> list[str]:
        """axe-core's WCAG A/AA violations on ``page`` as it is now, one line per node."""
        if not await page.evaluate("typeof window.axe === 'object'"):
            await page.evaluate(AXE.read_text(encoding="utf-8"))
        result = await page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}"
            for v in result["violations"]
            for node in v["nodes"]
        ]

    async def assert_accessible(self, page: Page) -> None:
        """Fail with axe-core's findings if ``page`` has any WCAG A/AA violation."""
        found = await self.accessibility(page)
        assert not found, f"axe-core on {page.url}:\n" + "\n".join(found)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        self.contexts.clear()


@pytest.fixture
async def browsing(browser: Browser, node: Node) -> AsyncIterator[Browsing]:
    """Pages of one test; closed before ``node`` stops, so no page sees its server go."""
    b = Browsing(browser)
    try:
        yield b
    finally:
        await b.close()
    assert not b.dialogs, f"pages opened dialogs: {b.dialogs}"
    assert not b.errors, "pages reported errors:\n" + "\n".join(b.errors)


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    """The scheduled jobs (a poll's opening and closing, imports, notifications)."""
    async with running_jobs(svc) as worker:
        yield worker


#: The citizen sign-in form's labels, by page language.
SIGN_IN = {
    "en-US": {"phone": "Mobile number", "password": "Password", "sign_in": "Sign in"},
    "ko-KR": {"phone": "휴대전화 번호", "password": "비밀번호", "sign_in": "로그인"},
}


async def citizen_page(browsing: Browsing, node: Node, locale: str, phone: str, url: str) -> Page:
    """A phone signed in as the citizen of ``phone`` (``PASSWORD``), at ``url``."""
    t = SIGN_IN[locale]
    page = await browsing.phone(locale)
    await page.goto(f"{node.url}/citizen/signin?next={url}")
    await page.get_by_label(t["phone"]).fill(phone)
    await page.get_by_label(t["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=t["sign_in"], exact=True).click()
    await page.wait_for_url(f"{node.url}{url}")
    return page
