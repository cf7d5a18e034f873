"""Host accounts against guessing, and sessions that end server-side.

Sign-in is limited per e-mail and per client address in Valkey (every test's node has a
key prefix of its own, so the counts start at zero); password hashing has a bounded
pool; a session cookie stops working once signed out, after a password change, or when
an operator ends the host's sessions from the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from live.passwords import pool_of
from live.settings import Settings
from tests.conftest import Node, run_node
from tests.live.hosting import assert_error

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse"


def _rate_limited(r: httpx.Response, window: int = 900) -> int:
    """The refusal's ``retry_after``, once it is a well-formed ``rate_limited``."""
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "retry_after"}
    assert error["code"] == "rate_limited"
    retry_after: int = error["retry_after"]
    assert error["message"] == f"Too many failed attempts; try again in {retry_after} s."
    assert 1 <= retry_after <= window
    assert r.headers["retry-after"] == str(retry_after)
    return retry_after


async def _sign_up(http: httpx.AsyncClient, email: str) -> None:
    r = await http.post("/api/hosts", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text


async def _sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/session", json={"email": email, "password": password})


@pytest.fixture
async def http(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.url) as client:
        yield client


# --- guessing ---------------------------------------------------------------------------


async def test_ten_wrong_guesses_lock_the_account_even_for_the_right_password(
    node: Node, http: httpx.AsyncClient
) -> None:
    await _sign_up(http, "a@example.org")
    for _ in range(9):
        assert_error(await _sign_in(http, "a@example.org", "wrong guess"), 401, "bad_credentials")
    # A success clears the account's count...
    assert (await _sign_in(http, "a@example.org", PASSWORD)).status_code == 200
    for _ in range(10):
        assert_error(await _sign_in(http, "A@example.org ", "wrong guess"), 401, "bad_credentials")

    # ...but past ten failures the right password is refused too, until the window ends.
    _rate_limited(await _sign_in(http, "a@example.org", PASSWORD))
    _rate_limited(await _sign_in(http, "a@example.org", "wrong guess"))

    # The console's form gives the same answer, as a page.
    async with httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as browser:
        page = await browser.get("/host/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        r = await browser.post(
            "/host/signin",
            data={"email": "a@example.org", "password": PASSWORD, "csrf": token.group(1)},
        )
    assert r.status_code == 429
    assert "Too many failed attempts; try again in " in r.text
    # Another account is not locked.
    await _sign_up(http, "b@example.org")
    assert (await _sign_in(http, "b@example.org", PASSWORD)).status_code == 200


async def test_an_unknown_e_mail_is_counted_and_answered_like_a_known_one(
    http: httpx.AsyncClient,
) -> None:
    await _sign_up(http, "known@example.org")
    for _ in range(10):
        known = await _sign_in(http, "known@example.org", "wrong guess")
        unknown = await _sign_in(http, "nobody@example.org", "wrong guess")
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert_error(unknown, 401, "bad_credentials")

    assert _rate_limited(await _sign_in(http, "known@example.org", "wrong guess")) > 0
    assert _rate_limited(await _sign_in(http, "nobody@example.org", "wrong guess")) > 0


async def test_one_address_gets_thirty_sign_in_attempts_per_window(
    http: httpx.AsyncClient,
) -> None:
    # Spread over many accounts, one address's guesses are limited all the same.
    for i in range(30):
        assert_error(
            await _sign_in(http, f"u{i}@example.org", "wrong guess"), 401, "bad_credentials"
        )
    _rate_limited(await _sign_in(http, "u30@example.org", "wrong guess"))


async def test_one_address_makes_ten_accounts_an_hour(http: httpx.AsyncClient) -> None:
    for i in range(10):
        await _sign_up(http, f"new{i}@example.org")
    r = await http.post("/api/hosts", json={"email": "new10@example.org", "password": PASSWORD})
    _rate_limited(r, window=3600)
    # Nothing was made: the e-mail is still free once the limit is lifted.
    assert_error(await _sign_in(http, "new10@example.org", PASSWORD), 401, "bad_credentials")


async def test_a_sign_in_past_the_hashing_queue_is_refused_at_once(settings: Settings) -> None:
    busy = settings.with_(hash_threads=1, hash_queue=1)
    pool = pool_of(busy)
    async with run_node(busy) as node, httpx.AsyncClient(base_url=node.url) as http:
        await _sign_up(http, "h@example.org")
        # The thread and the one place in the queue are taken (as by two slow sign-ins).
        held = [asyncio.create_task(pool.run(time.sleep, 1.5)) for _ in range(2)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        r = await _sign_in(http, "h@example.org", PASSWORD)
        waited = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert r.json()["error"] == {
            "code": "unavailable",
            "message": "The service is not available right now; try again.",
            "retry_after": 1,
        }
        assert r.headers["retry-after"] == "1"
        assert waited < 1.0  # answered, not queued behind the held ones
        await asyncio.gather(*held)
        # Not counted as a guess, and served again once a place is free.
        assert (await _sign_in(http, "h@example.org", PASSWORD)).status_code == 200


# --- sessions ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _replaying(node: Node, cookie: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends a copy of someone's session cookie."""
    async with httpx.AsyncClient(base_url=node.url, cookies={"mv_session": cookie}) as c:
        yield c


async def test_a_cookie_replayed_after_sign_out_is_refused(
    node: Node, http: httpx.AsyncClient
) -> None:
    await _sign_up(http, "s@example.org")
    stolen = http.cookies["mv_session"]
    async with _replaying(node, stolen) as thief:
        assert (await thief.get("/api/rooms")).status_code == 200

        assert (await http.delete("/api/session")).json() == {"ok": True}

        assert_error(await thief.get("/api/rooms"), 401, "unauthorized")
        assert_error(await thief.post("/api/rooms", json={"title": "T"}), 401, "unauthorized")
    # Signing in again starts a new session; the old cookie stays dead.
    assert (await _sign_in(http, "s@example.org", PASSWORD)).status_code == 200
    assert (await http.get("/api/rooms")).status_code == 200
    async with _replaying(node, stolen) as thief:
        assert_error(await thief.get("/api/rooms"), 401, "unauthorized")


async def test_a_console_sign_out_ends_the_session_for_every_copy(node: Node) -> None:
    async with httpx.AsyncClient(base_url=node.url, headers={"origin": node.url}) as browser:
        await _sign_up(browser, "c@example.org")
        page = await browser.get("/host")
        assert page.status_code == 200
        stolen = browser.cookies["mv_session"]
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        r = await browser.post("/host/signout", data={"csrf": token.group(1)})
        assert (r.status_code, r.headers["location"]) == (303, "/")
    async with _replaying(node, stolen) as thief:
        r = await thief.get("/host")
    assert (r.status_code, r.headers["location"]) == (303, "/host/signin?next=/host")


async def test_a_password_change_ends_every_other_session(node: Node) -> None:
    async with (
        httpx.AsyncClient(base_url=node.url) as laptop,
        httpx.AsyncClient(base_url=node.url) as phone,
    ):
        await _sign_up(laptop, "p@example.org")
        assert (await _sign_in(phone, "p@example.org", PASSWORD)).status_code == 200
        before = laptop.cookies["mv_session"]

        r = await laptop.post(
            "/api/session/password", json={"password": "wrong guess", "new_password": "x" * 12}
        )
        assert_error(r, 401, "bad_credentials")
        r = await laptop.post(
            "/api/session/password", json={"password": PASSWORD, "new_password": "short"}
        )
        assert_error(r, 400, "bad_request")
        assert (await phone.get("/api/rooms")).status_code == 200  # nothing changed yet

        r = await laptop.post(
            "/api/session/password", json={"password": PASSWORD, "new_password": "new battery"}
        )
        assert (r.status_code, r.json()) == (200, {"ok": True})

        assert (await laptop.get("/api/rooms")).status_code == 200  # in a new session
        assert_error(await phone.get("/api/rooms"), 401, "unauthorized")
        async with _replaying(node, before) as thief:
            assert_error(await thief.get("/api/rooms"), 401, "unauthorized")
        assert_error(await _sign_in(phone, "p@example.org", PASSWORD), 401, "bad_credentials")
        assert (await _sign_in(phone, "p@example.org", "new battery")).status_code == 200
    async with httpx.AsyncClient(base_url=node.url) as anonymous:
        r = await anonymous.post(
            "/api/session/password", json={"password": PASSWORD, "new_password": "x" * 12}
        )
    assert_error(r, 401, "unauthorized")


def _mvoting(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line on the test's own stores (its Valkey, key prefix and data dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVOTING_")}
    env.update(
        REDIS_URL=str(settings.redis_url),
        MVOTING_KEY_PREFIX=settings.key_prefix,
        MVOTING_SECRET="test-secret",
        MVOTING_DATA=str(settings.data_dir),
    )
    return subprocess.run(
        [sys.executable, "-m", "live.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_an_operator_ends_every_session_of_a_host(
    node: Node, settings: Settings, http: httpx.AsyncClient
) -> None:
    await _sign_up(http, "o@example.org")
    async with httpx.AsyncClient(base_url=node.url) as other:
        await _sign_up(other, "other@example.org")

        done = await asyncio.to_thread(
            _mvoting, settings, "host", "sessions", "end", "O@example.org"
        )

        assert (done.returncode, done.stdout) == (0, "ended every session of o@example.org\n")
        assert_error(await http.get("/api/rooms"), 401, "unauthorized")
        assert (await other.get("/api/rooms")).status_code == 200  # only that host's
    assert (await _sign_in(http, "o@example.org", PASSWORD)).status_code == 200
    assert (await http.get("/api/rooms")).status_code == 200

    missing = await asyncio.to_thread(
        _mvoting, settings, "host", "sessions", "end", "nobody@example.org", "--json"
    )
    assert missing.returncode == 1
    assert missing.stdout.strip() == (
        '{"ok": false, "error": {"code": "not_found", '
        '"message": "There is no host nobody@example.org."}}'
    )
