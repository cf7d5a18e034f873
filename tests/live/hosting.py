"""Helpers for tests of the host API over HTTP: signed-in clients, rooms, refusals."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests import secrets_seen


@dataclass
class Host:
    http: httpx.AsyncClient  #: keeps the session cookie
    id: str
    email: str


@contextlib.asynccontextmanager
async def signed_in(url: str, email: str) -> AsyncIterator[Host]:
    """A newly signed-up host's HTTP client."""
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/api/hosts", json={"email": email, "password": "correct horse"})
        assert r.status_code == 201, r.text
        yield Host(http, r.json()["host"]["id"], email)


async def create_room(http: httpx.AsyncClient, title: str = "Board meeting") -> dict[str, Any]:
    r = await http.post("/api/rooms", json={"title": title})
    assert r.status_code == 201, r.text
    room: dict[str, Any] = r.json()["room"]
    presenter = parse_qs(urlsplit(room.get("presenter_url", "")).query).get("token", [])
    secrets_seen.saw("a room's credential", room.get("password"), room.get("key"), *presenter)
    return room


async def add_question(http: httpx.AsyncClient, room_id: str, **body: Any) -> dict[str, Any]:
    r = await http.post(
        f"/api/rooms/{room_id}/questions", json={"title": "Q", "options": "A,B,C", **body}
    )
    assert r.status_code == 201, r.text
    question: dict[str, Any] = r.json()["question"]
    return question


async def room_state(http: httpx.AsyncClient, room_id: str) -> dict[str, Any]:
    r = await http.get(f"/api/rooms/{room_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def assert_error(r: httpx.Response, status: int, code: str) -> str:
    """The refusal's message, once its status, shape and code are as expected."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"ok", "error"} and body["ok"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message
    return message
