"""Helpers for tests of polls: signed-in citizens and officials over HTTP, and their
session cookies for sockets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from live import officials, passwords
from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.citizens.phones import normalise, phone_ref
from tests import secrets_seen

PASSWORD = "correct horse battery"


@dataclass
class Person:
    http: httpx.AsyncClient  #: keeps the session cookie
    id: str

    def cookie_header(self) -> dict[str, str]:
        """The browser's cookies, for a socket that comes from the same browser."""
        jar = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)
        return {"Cookie": jar}


async def make_citizen(svc: Services, phone: str) -> None:
    """A citizen account as sign-up makes one, without the text message."""
    secrets_seen.saw_phone(phone)  # (made in the database: no request sends it)
    ref = phone_ref(svc.settings.phone_pepper.reveal(), normalise(phone))
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.citizens.insert().values(
                id=new_id(),
                phone_ref=ref,
                name="",
                password_hash=await passwords.hash_password(svc.settings, PASSWORD),
                created_ms=now_ms(),
            )
        )


@contextlib.asynccontextmanager
async def citizen(url: str, phone: str) -> AsyncIterator[Person]:
    """A browser signed in as the citizen of ``phone`` (made with ``make_citizen``)."""
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/api/citizens/session", json={"phone": phone, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield Person(http, r.json()["citizen"]["id"])


async def make_official(svc: Services, login: str, department: str) -> str:
    """An official of ``department`` (made if need be) whose password is ``PASSWORD``."""
    try:
        await officials.department_by_name(svc, department)
    except Exception:
        await officials.create_department(svc, department)
    official, once = await officials.create_official(
        svc, login, role=officials.Role.OFFICIAL, department=department
    )
    return once


@contextlib.asynccontextmanager
async def official(url: str, login: str, once: str) -> AsyncIterator[Person]:
    """A browser signed in as the official, its one-time password changed to ``PASSWORD``."""
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/api/session", json={"email": login, "password": once})
        assert r.status_code == 200, r.text
        r = await http.post(
            "/api/session/password", json={"password": once, "new_password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        yield Person(http, login)
