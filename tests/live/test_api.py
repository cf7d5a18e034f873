"""The host JSON API: accounts, rooms, questions, and every action on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from live.engines import db
from live.services import Services
from tests.conftest import Node, connect


@pytest.fixture
async def http(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.url) as client:
        yield client


async def _signed_up(http: httpx.AsyncClient, email: str = "host@example.org") -> dict[str, Any]:
    r = await http.post("/api/hosts", json={"email": email, "password": "correct horse"})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _room(http: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    r = await http.post("/api/rooms", json={"title": "Board meeting", **extra})
    assert r.status_code == 201, r.text
    room: dict[str, Any] = r.json()["room"]
    return room


def _error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] == code
    assert body["error"]["message"]


async def test_host_runs_a_question_through_its_life(
    node: Node, http: httpx.AsyncClient, svc: Services
) -> None:
    await _signed_up(http)
    room = await _room(http, password="4321")
    assert room["number"].isdigit() and len(room["number"]) == 6
    assert room["password"] == "4321"
    assert room["join_url"] == f"{node.url}/j/{room['number']}?key={room['key']}"
    assert room["presenter_url"].startswith(f"{node.url}/present/{room['number']}?token=")
    r = await http.post(
        f"/api/rooms/{room['id']}/questions",
        json={
            "title": "Where to?",
            "kind": "multiple",
            "max_choices": 2,
            "options": ["Park", {"label": "Museum", "description": "The new one"}, "Zoo"],
        },
    )
    assert r.status_code == 201, r.text
    q = r.json()["question"]
    assert q["options"][1] == {
        "label": "Museum",
        "description": "The new one",
        "image": "",
        "image_alt": "",
    }
    assert (q["status"], q["max_choices"], q["kind"]) == ("draft", 2, "multiple")

    async with connect(node.url) as attendee:
        await attendee.join(room["number"], key=room["key"])
        r = await http.post(f"/api/questions/{q['id']}/open")
        assert r.json()["question"]["status"] == "open"
        await attendee.wait_for(lambda: any(e == "question" for e, _ in attendee.events))
        assert (await attendee.vote(q["id"], [0, 2]))["ok"]
        r = await http.post(f"/api/questions/{q['id']}/close")
        assert r.json()["question"]["status"] == "closed"
        await attendee.wait_for(
            lambda: (
                [d["status"] for e, d in attendee.events if e == "question"] == ["open", "closed"]
            )
        )
    listing = (await http.get(f"/api/rooms/{room['id']}")).json()
    assert listing["questions"][0]["tally"]["counts"] == [1, 0, 1]
    assert listing["questions"][0]["tally"]["total"] == 1
    r = await http.post(f"/api/questions/{q['id']}/reveal")
    assert r.json()["question"]["revealed"] is True
    rooms = (await http.get("/api/rooms")).json()["rooms"]
    assert [x["id"] for x in rooms] == [room["id"]]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param({"title": "", "options": "A,B"}, "title", id="empty-title"),
        pytest.param({"title": "Q", "options": ["A"]}, "two options", id="one-option"),
        pytest.param({"title": "Q", "kind": "vs", "options": "A,B,C"}, "two sides", id="vs-3"),
        pytest.param({"title": "Q", "kind": "poll", "options": "A,B"}, "kind", id="bad-kind"),
        pytest.param(
            {"title": "Q", "options": "A,B", "max_choices": 2},
            "max_choices",
            id="max-choices-on-single",
        ),
        pytest.param(
            {"title": "Q", "kind": "multiple", "options": "A,B", "max_choices": 3},
            "max_choices",
            id="max-choices-above-options",
        ),
        pytest.param({"title": "Q", "kind": "rating", "scale": 11}, "scale", id="rating-11"),
        pytest.param(
            {"title": "Q", "options": "A,B", "visibility": "never"},
            "visibility",
            id="bad-visibility",
        ),
    ],
)
async def test_bad_questions_are_refused_and_nothing_is_added(
    http: httpx.AsyncClient, svc: Services, body: dict[str, Any], detail: str
) -> None:
    await _signed_up(http)
    room = await _room(http)
    r = await http.post(f"/api/rooms/{room['id']}/questions", json=body)
    _error(r, 400, "bad_request")
    assert detail in r.json()["error"]["message"]
    assert (await http.get(f"/api/rooms/{room['id']}")).json()["questions"] == []


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        pytest.param(b'{"title": ', "application/json", 400, id="truncated-json"),
        pytest.param(b"[1, 2]", "application/json", 400, id="json-not-an-object"),
        # Not JSON at all: refused at the edge (415), before the API reads it.
        pytest.param(b"title=x", "application/x-www-form-urlencoded", 415, id="a-form"),
    ],
)
async def test_malformed_bodies_are_refused(
    http: httpx.AsyncClient, svc: Services, content: bytes, content_type: str, status: int
) -> None:
    await _signed_up(http)
    r = await http.post("/api/rooms", content=content, headers={"content-type": content_type})
    _error(r, status, "bad_request")
    assert (await http.get("/api/rooms")).json()["rooms"] == []


async def test_accounts_sign_in_and_out(http: httpx.AsyncClient, svc: Services) -> None:
    await _signed_up(http, "a@example.org")
    _error(
        await http.post("/api/hosts", json={"email": "A@example.org", "password": "x" * 9}),
        409,
        "conflict",
    )
    _error(
        await http.post("/api/hosts", json={"email": "nope", "password": "x" * 9}),
        400,
        "bad_request",
    )
    _error(
        await http.post("/api/hosts", json={"email": "b@example.org", "password": "short"}),
        400,
        "bad_request",
    )
    assert (await http.delete("/api/session")).json() == {"ok": True}
    _error(await http.get("/api/rooms"), 401, "unauthorized")
    _error(
        await http.post("/api/session", json={"email": "a@example.org", "password": "wrong!!!"}),
        401,
        "bad_credentials",
    )
    _error(
        await http.post("/api/session", json={"email": "x@example.org", "password": "whatever"}),
        401,
        "bad_credentials",
    )
    r = await http.post(
        "/api/session", json={"email": "a@example.org", "password": "correct horse"}
    )
    assert r.json()["host"]["email"] == "a@example.org"
    assert (await http.get("/api/rooms")).status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    async with svc.engine.connect() as conn:
        stored = await conn.scalar(sa.select(db.hosts.c.password_hash))
    assert stored.startswith("$argon2") and "correct horse" not in stored


async def test_another_host_cannot_touch_my_room(node: Node, svc: Services) -> None:
    async with (
        httpx.AsyncClient(base_url=node.url) as me,
        httpx.AsyncClient(base_url=node.url) as other,
    ):
        await _signed_up(me, "me@example.org")
        await _signed_up(other, "other@example.org")
        room = await _room(me)
        q = (
            await me.post(
                f"/api/rooms/{room['id']}/questions", json={"title": "Q", "kind": "yesno"}
            )
        ).json()["question"]
        assert [o["label"] for o in q["options"]] == ["Yes", "No"]
        _error(await other.get(f"/api/rooms/{room['id']}"), 403, "forbidden")
        _error(await other.post(f"/api/questions/{q['id']}/open"), 403, "forbidden")
        _error(
            await other.post(f"/api/rooms/{room['id']}/questions", json={"title": "X"}),
            403,
            "forbidden",
        )
        assert (await me.get(f"/api/rooms/{room['id']}")).json()["questions"][0][
            "status"
        ] == "draft"


async def test_actions_that_do_not_apply_are_refused(
    http: httpx.AsyncClient, svc: Services
) -> None:
    await _signed_up(http)
    room = await _room(http)
    q = (
        await http.post(f"/api/rooms/{room['id']}/questions", json={"title": "Q", "options": "A,B"})
    ).json()["question"]
    _error(await http.post(f"/api/questions/{q['id']}/close"), 409, "invalid_state")
    assert (await http.post(f"/api/questions/{q['id']}/open")).status_code == 200
    _error(await http.post(f"/api/questions/{q['id']}/open"), 409, "invalid_state")
    _error(await http.post(f"/api/questions/{q['id']}/reset"), 409, "invalid_state")
    _error(await http.post(f"/api/questions/{q['id']}/launch"), 404, "not_found")
    _error(await http.post("/api/questions/nosuchquestion/open"), 404, "not_found")
    _error(await http.get("/api/rooms/nosuchroom"), 404, "not_found")
    state = (await http.get(f"/api/rooms/{room['id']}")).json()["questions"][0]
    assert state["status"] == "open"


async def test_healthz_answers_when_ready(http: httpx.AsyncClient) -> None:
    r = await http.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"ok": True})
