"""The HTTP edge: same-origin checks by scheme, host and port; JSON bodies only on the API;
security headers on every response, Socket.IO's polling included; nothing secret cached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Node, connect

HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


@pytest.fixture
async def host(node: Node) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/hosts", json={"email": "sec@example.org", "password": "pw pw pw"})
        assert r.status_code == 201, r.text
        r = await http.post("/api/rooms", json={"title": "Edge"})
        room = r.json()["room"]
        r = await http.post(
            f"/api/rooms/{room['id']}/questions", json={"title": "Q?", "options": ["A", "B"]}
        )
        room["question"] = r.json()["question"]["id"]
        yield http, room


async def status_of(http: httpx.AsyncClient, room: dict[str, Any]) -> str:
    listed = (await http.get(f"/api/rooms/{room['id']}")).json()["questions"]
    (q,) = [q for q in listed if q["id"] == room["question"]]
    return str(q["status"])


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        pytest.param("{url}", True, id="same-origin"),
        pytest.param("https://{hostport}", False, id="other-scheme"),
        pytest.param("http://{host}:1", False, id="other-port"),
        pytest.param("http://evil.example", False, id="other-host"),
    ],
)
async def test_an_unsafe_request_from_another_origin_is_refused(
    node: Node, host: tuple[httpx.AsyncClient, dict[str, Any]], origin: str, allowed: bool
) -> None:
    http, room = host
    hostport = node.url.split("://", 1)[1]
    sent = origin.format(url=node.url, hostport=hostport, host=hostport.split(":")[0])
    r = await http.post(f"/api/questions/{room['question']}/open", headers={"origin": sent})
    if allowed:
        assert r.status_code == 200, r.text
        assert await status_of(http, room) == "open"
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert await status_of(http, room) == "draft"  # nothing changed


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        pytest.param({}, None, 200, id="no-body"),
        pytest.param({"content-type": "application/json"}, b"{}", 200, id="json"),
        pytest.param({"content-type": "text/plain"}, b"{}", 415, id="text-plain"),
        pytest.param({"content-type": "text/plain"}, None, 415, id="text-plain-no-body"),
        pytest.param({"content-type": "application/x-www-form-urlencoded"}, b"a=1", 415, id="form"),
        pytest.param(
            {"content-type": "multipart/form-data; boundary=x"}, b"--x--", 415, id="multipart"
        ),
        pytest.param({}, b"{}", 415, id="body-without-type"),
    ],
)
async def test_host_actions_take_json_or_nothing(
    host: tuple[httpx.AsyncClient, dict[str, Any]],
    headers: dict[str, str],
    body: bytes | None,
    status: int,
) -> None:
    http, room = host
    r = await http.post(f"/api/questions/{room['question']}/open", headers=headers, content=body)
    assert r.status_code == status, r.text
    if status == 415:
        assert r.json()["error"]["code"] == "bad_request"
        assert await status_of(http, room) == "draft"
    else:
        assert await status_of(http, room) == "open"


async def test_socket_io_polling_responses_carry_the_security_headers(node: Node) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.get("/socket.io/?EIO=4&transport=polling")
    assert r.status_code == 200 and r.text.startswith("0{")
    for name in HEADERS:
        assert r.headers.get(name), name
    assert r.headers["cache-control"] == "no-store"


async def test_answers_holding_room_secrets_are_not_stored(
    node: Node, host: tuple[httpx.AsyncClient, dict[str, Any]]
) -> None:
    http, room = host
    listing = await http.get(f"/api/rooms/{room['id']}")
    assert room["password"] in listing.text
    console = await http.get(f"/host/rooms/{room['id']}")
    present = await http.get(room["presenter_url"])
    join = await http.get(room["join_url"])
    for r in (listing, console, present, join):
        assert r.status_code == 200, r.url
        assert r.headers["cache-control"] == "no-store", r.url
        for name in HEADERS:
            assert r.headers.get(name), (r.url, name)
    # Static files stay cacheable.
    static = await http.get("/static/js/common.js")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"
    async with connect(node.url) as attendee:
        assert (await attendee.join(room["number"], key=room["key"]))["ok"]
