"""Departments and officials: made by ``mvoting admin`` on the command line, signed in
with a password that works once, and listed to administrators only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from live import officials
from live.services import Services
from live.settings import Settings
from tests.conftest import Node
from tests.live.test_cli import ROOT, cli_env


def admin(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``mvoting admin ...`` as an operator runs it, against the test's Valkey and archive."""
    env = {
        **cli_env(),
        "MVOTING_DATA": str(settings.data_dir),
        "REDIS_URL": settings.redis_url or "",
        "MVOTING_SECRET": settings.secret.reveal().decode(),
        "MVOTING_KEY_PREFIX": settings.key_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "live.cli", "admin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def made(settings: Settings, *args: str) -> dict[str, Any]:
    done = admin(settings, *args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    body: dict[str, Any] = json.loads(done.stdout)
    return body


async def csrf_of(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


@pytest.fixture
async def city_staff(node: Node, svc: Services) -> dict[str, str]:
    """Two departments, an official of one of them and an administrator (made as the
    command does, in-process); their one-time passwords."""
    for name in ("Welfare Policy Division", "Transport Division"):
        await officials.create_department(svc, name)
    kim, kim_password = await officials.create_official(
        svc, "Welfare.Kim", role=officials.Role.OFFICIAL, department="Welfare Policy Division"
    )
    assert kim.login == "welfare.kim"
    _, lee_password = await officials.create_official(svc, "admin.lee", role=officials.Role.ADMIN)
    return {"welfare.kim": kim_password, "admin.lee": lee_password}


def test_the_admin_commands_make_departments_and_officials(settings: Settings) -> None:
    for name in ("Welfare Policy Division", "Transport Division"):
        assert made(settings, "create-department", name)["department"]["name"] == name
    official = made(
        settings,
        "create-official",
        "--department",
        "Welfare Policy Division",
        "--login",
        "Welfare.Kim",
    )
    assert (official["login"], official["role"], official["department"]) == (
        "welfare.kim",
        "official",
        "Welfare Policy Division",
    )
    boss = made(settings, "create-admin", "--login", "admin.lee")
    assert boss["department"] is None and boss["role"] == "admin"
    assert official["password"] != boss["password"] and len(official["password"]) >= 16
    plain = admin(
        settings, "create-official", "--department", "Transport Division", "--login", "bus.park"
    )
    assert plain.returncode == 0
    assert "one-time password: " in plain.stdout and "must then be changed" in plain.stdout


async def test_bad_admin_commands_say_why_and_change_nothing(
    city_staff: dict[str, str], settings: Settings
) -> None:
    again = admin(settings, "create-department", "Welfare Policy Division")
    assert again.returncode == 1 and "There is a department of that name already." in again.stderr
    nowhere = admin(settings, "create-official", "--department", "Parks", "--login", "parks.choi")
    assert nowhere.returncode == 1 and "There is no department Parks." in nowhere.stderr
    taken = admin(settings, "create-admin", "--login", "welfare.kim")
    assert taken.returncode == 1 and "An account with this login exists already." in taken.stderr
    spaced = admin(settings, "create-admin", "--login", "two words")
    assert spaced.returncode == 1 and "no spaces" in spaced.stderr
    listed = made(settings, "list")
    assert listed["departments"] == ["Transport Division", "Welfare Policy Division"]
    assert [(p["login"], p["role"], p["department"]) for p in listed["officials"]] == [
        ("admin.lee", "admin", None),
        ("welfare.kim", "official", "Welfare Policy Division"),
    ]
    assert all(p["must_change_password"] for p in listed["officials"])


async def test_a_one_time_password_opens_only_the_password_change(
    city_staff: dict[str, str], node: Node
) -> None:
    once = city_staff["welfare.kim"]
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/session", json={"email": "welfare.kim", "password": once})
        assert r.status_code == 200 and r.json()["must_change_password"] is True
        r = await http.get("/api/rooms")
        assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
        r = await http.post("/api/rooms", json={"title": "Not yet"})
        assert r.json()["error"]["code"] == "password_change_required"
        r = await http.post(
            "/api/session/password", json={"password": once, "new_password": "welfare first!"}
        )
        assert r.status_code == 200, r.text
        assert (await http.get("/api/rooms")).status_code == 200
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/session", json={"email": "welfare.kim", "password": once})
        assert r.json()["error"]["code"] == "bad_credentials"
        r = await http.post(
            "/api/session", json={"email": "welfare.kim", "password": "welfare first!"}
        )
        assert r.json()["must_change_password"] is False


async def test_the_console_sends_a_first_sign_in_to_the_password_page(
    city_staff: dict[str, str], node: Node
) -> None:
    once = city_staff["admin.lee"]
    async with httpx.AsyncClient(base_url=node.url) as http:
        csrf = await csrf_of(http, "/host/signin")
        r = await http.post(
            "/host/signin",
            data={"csrf": csrf, "email": "admin.lee", "password": once, "next": "/host/directory"},
        )
        assert (
            r.status_code == 303 and r.headers["location"] == "/host/password?next=/host/directory"
        )
        r = await http.get("/host")  # every console page leads to the password page
        assert r.status_code == 303 and r.headers["location"].startswith("/host/password")
        csrf = await csrf_of(http, "/host/password")
        form = {
            "csrf": csrf,
            "password": once,
            "new_password": "admin first!",
            "confirm": "admin firs!",
            "next": "/host/directory",
        }
        r = await http.post("/host/password", data=form)
        assert (
            r.status_code == 400
            and "The request is malformed: the two new passwords differ." in r.text
        )
        r = await http.post("/host/password", data={**form, "confirm": "admin first!"})
        assert r.status_code == 303 and r.headers["location"] == "/host/directory"
        page = await http.get("/host/directory")
        assert page.status_code == 200
        for name in ("Welfare Policy Division", "Transport Division", "welfare.kim", "admin.lee"):
            assert name in page.text
        assert "Not yet changed" in page.text  # welfare.kim's


async def test_only_administrators_see_the_directory(
    city_staff: dict[str, str], node: Node
) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.get("/host/directory")
        assert r.status_code == 303 and r.headers["location"].startswith("/host/signin")
        await http.post(
            "/api/session", json={"email": "welfare.kim", "password": city_staff["welfare.kim"]}
        )
        await http.post(
            "/api/session/password",
            json={"password": city_staff["welfare.kim"], "new_password": "welfare first!"},
        )
        r = await http.get("/host/directory")
        assert r.status_code == 403 and "administrators can see this page." in r.text
        r = await http.post(
            "/api/hosts", json={"email": "someone@example.org", "password": "a password"}
        )
    async with httpx.AsyncClient(base_url=node.url) as http:
        await http.post(
            "/api/session", json={"email": "someone@example.org", "password": "a password"}
        )
        assert (await http.get("/host/directory")).status_code == 403
