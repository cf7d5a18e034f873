"""The official Socket.IO JavaScript client (npm ``socket.io-client`` v4) against a node.

``tests/js/client.mjs`` joins, votes, waits for the tally, then comes back as the same
attendee with the device token from the join ack (``auth.device``, then the ``mv_device``
cookie). ``make test`` installs its dependencies (``npm ci --prefix tests/js``) first.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from live import store
from live.services import Services
from rooms.questions import Action, build_question
from tests.conftest import Node

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCRIPT = JS_DIR / "client.mjs"
RUN_TIMEOUT = 45.0  # the script bounds each step at 10 s and itself at 40 s


async def run_js_client(args: dict[str, Any]) -> dict[str, Any]:
    node_bin = shutil.which("node")
    assert node_bin, "node is not on PATH: the JS client test needs Node.js >= 18"
    assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), (
        "socket.io-client is not installed: run `make test` or "
        "`npm ci --prefix tests/js --no-audit --no-fund`"
    )
    proc = await asyncio.create_subprocess_exec(
        node_bin,
        str(SCRIPT),
        json.dumps(args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
        raise AssertionError(f"JS client still running after {RUN_TIMEOUT} s") from None
    assert proc.returncode == 0, (
        f"JS client exited {proc.returncode}:\n{err.decode()}\nstdout: {out.decode()}"
    )
    lines = out.decode().strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line, got: {out.decode()!r}"
    result: dict[str, Any] = json.loads(lines[0])
    return result


# python-engineio (4.15.1) does not answer a pending long-poll GET when the client closes
# the session: it returns only at ping_interval + ping_timeout (45 s). The test node's
# graceful-shutdown bound (tests/conftest.py) keeps teardown short all the same.
POLLING_TIMEOUT = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "transports",
    [
        pytest.param(["websocket"], id="websocket"),
        pytest.param(["polling"], id="polling", marks=POLLING_TIMEOUT),
        pytest.param(["polling", "websocket"], id="upgrade"),
    ],
)
async def test_js_client_joins_votes_sees_tally_and_rejoins(
    node: Node, svc: Services, transports: list[str]
) -> None:
    room = await store.create_room(svc, title="Lecture", password="pw")
    q = await store.add_question(svc, room.id, build_question("Lunch?", "single", "A,B,C"))
    await store.act(svc, q.id, Action.OPEN)
    choice = 2

    seen = await run_js_client(
        {
            "url": node.url,
            "room": room.number,
            "password": "pw",
            "question": q.id,
            "choice": choice,
            "transports": transports,
        }
    )

    # Each of the three connections spoke the transport(s) asked for.
    if transports == ["polling", "websocket"]:
        expected = {"opened_with": "polling", "upgraded": True, "ended_on": "websocket"}
    else:
        only = transports[0]
        expected = {"opened_with": only, "upgraded": False, "ended_on": only}
    assert seen["connections"] == [expected] * 3

    join = seen["join"]
    assert join["ok"] is True
    assert join["role"] == "attendee"
    assert join["room"]["number"] == room.number
    assert [item["id"] for item in join["questions"]] == [q.id]
    assert join["questions"][0]["tally"]["total"] == 0
    assert join["voted"] == []
    assert isinstance(join["device"], str) and join["device"]

    vote = seen["vote"]
    assert vote["ok"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", vote["receipt"]), vote

    tally = seen["tally"]
    assert tally["question"] == q.id
    assert tally["total"] == 1
    assert tally["counts"][choice] == 1
    assert tally["counts"] == [0, 0, 1]
    assert all(t["question"] == q.id and t["total"] <= 1 for t in seen["tallies"])

    rejoin = seen["rejoin"]
    assert rejoin["ok"] is True
    assert rejoin["voted"] == [q.id]
    assert rejoin["questions"][0]["tally"]["total"] == 1
    assert seen["revote"]["ok"] is False
    assert seen["revote"]["error"]["code"] == "already_voted"

    cookie_rejoin = seen["cookie_rejoin"]
    assert cookie_rejoin["ok"] is True
    assert cookie_rejoin["voted"] == [q.id]

    # The server saw all three connections end.
    live = node.live
    for _ in range(500):
        if not live.conns:
            break
        await asyncio.sleep(0.01)
    assert live.conns == {}
