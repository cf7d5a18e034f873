"""Log lines: JSON or text, each naming its request (``X-Request-ID``) or its socket
connection, and holding no secret (the whole run's check is in ``tests/conftest.py``)."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live import logs, sessions
from live.engines import bundled
from live.settings import SettingsError, load_settings
from tests import secrets_seen
from tests.conftest import Node, connect
from tests.live.hosting import create_room, signed_in
from tests.live.test_cli import Spawner, spawner

PHONE = "010-3141-5926"
#: The longest request id taken (not a run of one letter: a test's password may be one).
LONGEST = "request-id:" + "0a1b2c3d4e" * 5 + "end"


@pytest.fixture
def text_lines() -> Iterator[io.StringIO]:
    """What the root logger writes in the text format during the test."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.formatter("text"))
    handler.addFilter(logs.Ids())
    logging.getLogger().addHandler(handler)
    try:
        yield out
    finally:
        logging.getLogger().removeHandler(handler)


async def send_code(node: Node, headers: dict[str, str]) -> httpx.Response:
    """A sign-up code, which the console provider writes to the log."""
    secrets_seen.saw_phone(PHONE)
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post(
            "/api/citizens/codes", json={"purpose": "signup", "phone": PHONE}, headers=headers
        )
    assert r.status_code == 202, r.text
    return r


def sms_lines(after: int) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in secrets_seen.LINES.lines[after:]]
    return [line for line in lines if line["logger"] == "mvoting.sms"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        pytest.param("probe-7.a:b_c", True, id="plain"),
        pytest.param(LONGEST, True, id="64-characters"),
        pytest.param(LONGEST + "0", False, id="too-long"),
        pytest.param("a b", False, id="space"),
        pytest.param('"}{"level":"ERROR', False, id="json-breaking"),
        pytest.param("", False, id="empty"),
    ],
)
async def test_a_request_id_is_taken_only_if_short_and_plain(
    node: Node, text_lines: io.StringIO, sent: str, kept: bool
) -> None:
    before = len(secrets_seen.LINES.lines)
    r = await send_code(node, {"X-Request-ID": sent})
    request_id = r.headers["x-request-id"]
    if kept:
        assert request_id == sent
    else:
        assert request_id != sent
        assert len(request_id) == 16 and request_id.isalnum() and request_id.islower()
    (line,) = sms_lines(before)
    assert line["request"] == request_id and "connection" not in line
    assert line["level"] == "WARNING" and "text message to the number" in line["message"]
    (text,) = [t for t in text_lines.getvalue().splitlines() if " mvoting.sms " in t]
    assert f" WARNING mvoting.sms [request={request_id}]: text message to the number" in text


async def test_each_request_has_an_id_of_its_own(node: Node) -> None:
    before = len(secrets_seen.LINES.lines)
    first = (await send_code(node, {})).headers["x-request-id"]
    second = (await send_code(node, {})).headers["x-request-id"]
    assert first != second
    assert [line["request"] for line in sms_lines(before)] == [first, second]


def test_a_secret_in_a_line_is_found() -> None:
    """The run's check finds a secret wherever it is in a line, traceback included."""
    secrets_seen.saw("a device token", "device-token-0123456789")
    kept = secrets_seen.LogLines()
    logger = logging.getLogger("mvoting.test_logs")
    logger.propagate = False  # the run's own lines must stay clean
    logger.addHandler(kept)
    try:
        logger.warning("nothing to hide")
        try:
            raise ValueError("token device-token-0123456789 refused")
        except ValueError:
            logger.exception("a refusal")
    finally:
        logger.removeHandler(kept)
        logger.propagate = True
    assert len(kept.lines) == 2
    assert [leak.what for leak in secrets_seen.leaks(kept.lines)] == ["a device token"]
    assert secrets_seen.leaks(kept.lines)[0].line == kept.lines[1]
    assert json.loads(kept.lines[1])["message"] == "a refusal"


async def test_what_any_client_sends_and_is_given_is_a_secret_of_the_run(node: Node) -> None:
    """The password it signs up with; its session cookie, the session id and the form
    token in it."""
    async with signed_in(node.url, "cookies@example.org") as host:
        page = await host.http.get("/host")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        cookie = host.http.cookies[sessions.COOKIE]
        fields = json.loads(base64.b64decode(cookie.split(".")[0]))
    lines = [
        f"a {token.group(1)}.",
        f"b {fields['sid']}",
        f"c {cookie}",
        "d correct horse",
        "e nothing",
    ]
    assert [(leak.what, leak.line) for leak in secrets_seen.leaks(lines)] == [
        ("a session's csrf", lines[0]),
        ("a session's sid", lines[1]),
        ("a session cookie", lines[2]),
        ("a request's password", lines[3]),
    ]


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    env = {"MVOTING_DATA": str(tmp_path), "MVOTING_LOG_FORMAT": "xml"}
    with pytest.raises(SettingsError, match="MVOTING_LOG_FORMAT: text or json"):
        load_settings(env)
    assert load_settings({**env, "MVOTING_LOG_FORMAT": "JSON"}).log_format == "json"
    assert load_settings({"MVOTING_DATA": str(tmp_path)}).log_format == "text"


# --- a real ``serve`` --------------------------------------------------------------------


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawner]:
    with spawner(tmp_path) as sp:
        yield sp


def serve_lines(err: Path) -> list[dict[str, Any]]:
    """``serve``'s log: every line of its stderr is one JSON object."""
    lines = err.read_text().splitlines()
    assert lines
    return [json.loads(line) for line in lines]


async def test_a_json_serve_logs_one_object_per_line_naming_requests_and_connections(
    spawn: Spawner, valkey: bundled.EmbeddedValkey, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / ".env").write_text(
        "MVOTING_LOG_FORMAT=json\nMVOTING_LOG_LEVEL=debug\nMVOTING_LOCAL_WITNESSES=0\n"
        f"REDIS_URL={valkey.url}\nMVOTING_KEY_PREFIX=logs-{tmp_path.name}:\n"
    )
    serve = spawn.serve(data, "--no-worker")
    secrets_seen.saw("the app's secret", (data / "secret").read_text().strip())
    secrets_seen.saw("the phone pepper", (data / "pepper").read_text().strip())

    async with signed_in(serve.url, "logs@example.org") as host:
        r = await host.http.get("/healthz", headers={"X-Request-ID": "probe-7"})
        assert r.headers["x-request-id"] == "probe-7"
        room = await create_room(host.http)
        joined = await host.http.get(f"/j/{room['number']}?key={room['key']}")
        assert joined.status_code == 200
        r = await host.http.post(f"/api/rooms/{room['id']}/invitations", json={})
        invitation = r.json()["invitation"]["token"]
        secrets_seen.saw("an invitation", invitation)
        assert (await host.http.get(f"/host/invite/{invitation}")).status_code == 200
    async with connect(serve.url, transports=["polling", "websocket"]) as client:
        ack = await client.join(room["number"], password=room["password"])
        assert ack["ok"], ack
        sid = client.sio.get_sid("/")
    serve.stop()

    lines = serve_lines(serve.err)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (probe,) = [line for line in lines if line.get("request") == "probe-7"]
    assert (
        probe["logger"] == "uvicorn.access" and '"GET /healthz HTTP/1.1" 200' in (probe["message"])
    )
    # Every access line names its own request; not the join link's key, nor an invitation.
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert len({line["request"] for line in access}) == len(access) > 4
    (link,) = [line for line in access if f"/j/{room['number']}" in line["message"]]
    assert f'"GET /j/{room["number"]} HTTP/1.1" 200' in link["message"]
    (invited,) = [line for line in access if "/host/invite/" in line["message"]]
    assert '"GET /host/invite/… HTTP/1.1" 200' in invited["message"]
    # The websocket's line has no query: the upgrade's carries the Engine.IO session id.
    (upgrade,) = [line for line in lines if '"WebSocket /socket.io/' in line["message"]]
    assert upgrade["message"].endswith('- "WebSocket /socket.io/" [accepted]')
    # The join's line names its connection by a hash of the Socket.IO id, not by the id.
    (join,) = [line for line in lines if line["message"].startswith("joined room")]
    assert join["connection"] == logs.connection_id(sid) and join["logger"] == "mvoting.sockets"
    assert (
        join["message"] == f"joined room {room['id']} ({room['number']}) as attendee, by password"
    )
    assert sid not in serve.err.read_text()
    assert secrets_seen.leaks(serve.err.read_text().splitlines()) == []
