"""The host console's pages over HTTP: forms, access, summary, invitations, origins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from live.services import Services
from live.settings import Settings
from tests.conftest import Node, run_node


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.fixture
async def browser(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that sends Origin like a browser's same-site form post."""
    async with httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as c:
        yield c


async def _sign_up(c: httpx.AsyncClient, email: str = "host@example.org") -> None:
    token = _csrf((await c.get("/host/signup")).text)
    r = await c.post(
        "/host/signup",
        data={
            "email": email,
            "password": "correct horse",
            "name": "Kim",
            "csrf": token,
            "next": "/host",
        },
    )
    assert (r.status_code, r.headers["location"]) == (303, "/host")


async def _new_room(c: httpx.AsyncClient, title: str = "Board") -> str:
    token = _csrf((await c.get("/host")).text)
    r = await c.post("/host/rooms", data={"title": title, "password": "", "csrf": token})
    assert r.status_code == 303
    return str(r.headers["location"])


async def test_console_needs_a_signed_in_host(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/host")
    assert (r.status_code, r.headers["location"]) == (303, "/host/signin?next=/host")
    r = await browser.get("/host/rooms/abc")
    assert r.headers["location"] == "/host/signin?next=/host/rooms/abc"


async def test_a_host_signs_up_creates_a_room_and_opens_its_console(
    browser: httpx.AsyncClient, svc: Services
) -> None:
    await _sign_up(browser)
    console = await _new_room(browser, "Board <b>meeting</b>")
    page = await browser.get(console)
    assert page.status_code == 200
    assert "Board &lt;b&gt;meeting&lt;/b&gt;" in page.text and "<b>meeting" not in page.text
    assert 'data-testid="console-room-number"' in page.text and "<svg" in page.text
    listing = await browser.get("/host")
    assert console.removeprefix("/host/rooms/") in listing.text
    # The form's hint says what an empty password gives: the rooms' own default length.
    password = page.text.split("</dt><dd>", 1)[1].split("<")[0]
    assert len(password) == 8 and password.isdigit(), password
    assert "Leave empty for eight random digits." in listing.text
    summary = await browser.get(console + "/summary")
    assert summary.status_code == 200 and "No questions yet." in summary.text
    korean = await browser.get("/host?lang=ko")
    assert "비워 두면 임의의 여덟 자리 숫자가 정해집니다." in korean.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param(
            {"password": "wrong password"},
            "The e-mail, login or password is wrong.",
            id="wrong-password",
        ),
        pytest.param(
            {"email": "nobody@example.org"},
            "The e-mail, login or password is wrong.",
            id="unknown-account",
        ),
        pytest.param({"csrf": "forged"}, "the form expired", id="forged-csrf"),
    ],
)
async def test_sign_in_refusals(
    browser: httpx.AsyncClient, form: dict[str, str], message: str
) -> None:
    await _sign_up(browser)
    await browser.post("/host/signout", data={"csrf": _csrf((await browser.get("/host")).text)})
    token = _csrf((await browser.get("/host/signin")).text)
    data = {"email": "host@example.org", "password": "correct horse", "csrf": token, **form}
    r = await browser.post("/host/signin", data=data)
    assert r.status_code == 400 and message in r.text
    assert (await browser.get("/host")).status_code == 303  # still signed out


async def test_sign_in_never_redirects_off_site(browser: httpx.AsyncClient) -> None:
    await _sign_up(browser)
    await browser.post("/host/signout", data={"csrf": _csrf((await browser.get("/host")).text)})
    for evil in ("https://evil.example/", "//evil.example/host", "/hostile"):
        page = await browser.get(f"/host/signin?next={evil}")
        r = await browser.post(
            "/host/signin",
            data={
                "email": "host@example.org",
                "password": "correct horse",
                "csrf": _csrf(page.text),
                "next": evil,
            },
        )
        assert (
            r.headers["location"] in ("/host", "/hostile") and "evil" not in r.headers["location"]
        )
        await browser.post("/host/signout", data={"csrf": _csrf((await browser.get("/host")).text)})


async def test_another_host_cannot_open_my_console(node: Node) -> None:
    async with (
        httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as me,
        httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as other,
    ):
        await _sign_up(me, "me@example.org")
        await _sign_up(other, "other@example.org")
        console = await _new_room(me)
        assert (await other.get(console)).status_code == 403
        assert (await other.get(console + "/summary")).status_code == 403
        assert (await other.get("/host/rooms/nosuchroom")).status_code == 404


async def test_an_invitation_makes_a_co_host(node: Node) -> None:
    async with (
        httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as owner,
        httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as guest,
    ):
        await _sign_up(owner, "owner@example.org")
        await _sign_up(guest, "guest@example.org")
        console = await _new_room(owner)
        room_id = console.removeprefix("/host/rooms/")
        invite = (await owner.post(f"/api/rooms/{room_id}/invitations")).json()["invitation"]
        path = invite["url"].removeprefix(node.url)
        assert path == f"/host/invite/{invite['token']}"
        page = await guest.get(path)
        assert "Join as co-host" in page.text
        r = await guest.post(path, data={"csrf": _csrf(page.text)})
        assert (r.status_code, r.headers["location"]) == (303, console)
        assert (await guest.get(console)).status_code == 200
        again = await guest.post("/host/invite/nosuchtoken", data={"csrf": _csrf(page.text)})
        assert again.status_code == 400 and 'role="alert"' in again.text


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        pytest.param("https://evil.example", 403, id="another-site"),
        pytest.param(None, 201, id="no-origin-header"),
        pytest.param("same", 201, id="same-origin"),
    ],
)
async def test_unsafe_requests_from_another_site_are_refused(
    node: Node, origin: str | None, status: int
) -> None:
    async with httpx.AsyncClient(base_url=node.url) as c:
        await c.post("/api/hosts", json={"email": "h@example.org", "password": "correct horse"})
        headers = {} if origin is None else {"origin": node.url if origin == "same" else origin}
        r = await c.post("/api/rooms", json={"title": "T"}, headers=headers)
        assert r.status_code == status
        if status == 403:
            assert r.json()["error"]["code"] == "forbidden"
        rooms = (await c.get("/api/rooms")).json()["rooms"]
        assert len(rooms) == (0 if status == 403 else 1)


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        pytest.param(None, False, id="plain-http"),
        pytest.param("https://vote.example.org", True, id="behind-tls"),
    ],
)
async def test_the_session_cookie_is_secure_behind_tls(
    settings: Settings, public_url: str | None, secure: bool
) -> None:
    async with (
        run_node(settings.with_(public_url=public_url)) as node,
        httpx.AsyncClient(base_url=node.url) as c,
    ):
        r = await c.post("/api/hosts", json={"email": "t@example.org", "password": "x" * 9})
    cookie = r.headers["set-cookie"].lower()
    assert "mv_session=" in cookie and "httponly" in cookie
    assert ("; secure" in cookie) is secure
