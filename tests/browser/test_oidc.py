"""Signing in through an outside OpenID Connect provider: a real one, npm's certified
oidc-provider, started by the test on a free port. The first sign-in links the provider's
account to a mobile number proved by a code (to its account, or to a new one); later
ones sign in at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from live.services import Services, open_services
from live.settings import Secret, Settings
from tests.browser.conftest import Browsing
from tests.browser.test_citizen_pages import last_code
from tests.conftest import Node, run_node
from tests.live.citizenry import PASSWORD, make_citizen

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = ROOT / "tests" / "js" / "oidc_provider.mjs"
CLIENT, SECRET = "mvoting", "client-secret-for-tests"
KIM, LEE = "010-2345-6789", "010-9876-5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def provider(port: int, redirect_uri: str) -> Iterator[str]:
    proc = subprocess.Popen(
        ["node", str(PROVIDER), str(port), redirect_uri, CLIENT, SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening"), line
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
async def with_provider(settings: Settings) -> AsyncIterator[tuple[Node, Services]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    configured = settings.with_(
        oidc_issuer=issuer,
        oidc_client_id=CLIENT,
        oidc_client_secret=Secret(SECRET.encode()),
        oidc_name="Test ID",
    )
    async with run_node(configured) as node, open_services(configured) as svc:
        with provider(port, f"{node.url}/citizen/oidc/callback"):
            yield node, svc


async def sign_in_at_provider(page: Page, node: Node, login: str) -> None:
    await page.goto(f"{node.url}/citizen/signin")
    await page.get_by_test_id("oidc").click()
    await page.locator("input[name=login]").fill(login)
    await page.locator("input[name=password]").fill("anything")
    await page.locator("button[type=submit]").click()
    # Then either the provider's consent prompt (the first time in a browser) or straight
    # back here: whichever comes, however slowly.
    await page.wait_for_url(
        lambda url: url.startswith(node.url) or "/interaction/" in url, timeout=30_000
    )
    if "/interaction/" in page.url:
        await page.get_by_role("button", name="Continue").click(timeout=30_000)


async def me(page: Page, node: Node) -> dict[str, str]:
    answer = await page.request.get(f"{node.url}/api/citizens/me")
    body: dict[str, dict[str, str]] = await answer.json()
    return body["citizen"]


async def test_an_outside_account_is_linked_by_a_code_then_signs_in_at_once(
    browsing: Browsing,
    with_provider: tuple[Node, Services],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    node, svc = with_provider
    browsing.allow(r"fonts\.googleapis\.com")  # the provider's own login page asks for them
    await make_citizen(svc, KIM)
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/citizens/session", json={"phone": KIM, "password": PASSWORD})
        kim_id = r.json()["citizen"]["id"]

    # The first time: the provider's account is linked to Kim's number, and so account.
    page = await browsing.phone()
    await sign_in_at_provider(page, node, "kim-at-provider")
    await page.wait_for_url(f"{node.url}/citizen/link?next=/citizen")
    await browsing.assert_accessible(page)
    await page.get_by_label("Mobile number").fill(KIM)
    await page.get_by_role("button", name="Send a code").click()
    await expect(page.get_by_label("Code from the text message")).to_be_focused()
    await page.get_by_label("Code from the text message").fill(last_code(caplog))
    await page.get_by_role("button", name="Link and sign in").click()
    await page.wait_for_url(f"{node.url}/citizen")
    assert (await me(page, node))["id"] == kim_id

    # Later, in another browser: the provider's sign-in alone.
    again = await browsing.phone()
    await sign_in_at_provider(again, node, "kim-at-provider")
    await again.wait_for_url(f"{node.url}/citizen")
    assert (await me(again, node))["id"] == kim_id

    # A provider's account with a number that has no account: a new one, no password.
    other = await browsing.phone()
    await sign_in_at_provider(other, node, "lee-at-provider")
    await other.wait_for_url(f"{node.url}/citizen/link?next=/citizen")
    await other.get_by_label("Mobile number").fill(LEE)
    await other.get_by_role("button", name="Send a code").click()
    await expect(other.get_by_label("Code from the text message")).to_be_focused()
    await other.get_by_label("Code from the text message").fill(last_code(caplog))
    await other.get_by_role("button", name="Link and sign in").click()
    await other.wait_for_url(f"{node.url}/citizen")
    lee = await me(other, node)
    assert lee["id"] != kim_id and lee["name"] == "Citizen lee-at-provider"
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/citizens/session", json={"phone": LEE, "password": PASSWORD})
        assert r.json()["error"]["code"] == "bad_sign_in"  # no password: the provider's only


async def test_a_link_code_needs_a_pending_outside_sign_in(
    with_provider: tuple[Node, Services],
) -> None:
    node, _ = with_provider
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/citizens/codes", json={"purpose": "link", "phone": KIM})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = await http.post("/api/citizens/link", json={"phone": KIM, "code": "123456"})
        assert r.status_code == 401
        r = await http.get("/citizen/oidc/callback?code=forged&state=forged")
        assert r.status_code == 400
        await asyncio.sleep(0)
