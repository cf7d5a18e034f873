"""A web node that fails under its attendees: killed mid-burst behind nginx, and restarted
under a room that all comes back at once.

The attendees are ``loadtests/storm.py``'s: one websocket each (one device, one voter),
reconnecting with the back-off of the page's ``io({...})`` call, re-joining with the
device token the first join gave, and sending again, with the same nonce, a ballot whose
ack they did not get. Every process started here is stopped in teardown.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live.test_cli import (
    ROOT,
    Serve,
    create_room,
    free_port,
    mvoting,
    poll,
    question_results,
    spawner,
    valkey_servers_of,
)
from tests.live.test_deploy import Route, nginx_binary, nginx_files, read_routes, running_nginx

STORM = ROOT / "loadtests" / "storm.py"
ATTENDEES = 1000


def accepted_on(node: Serve) -> int:
    """Ballots the node acked ``ok``, from its own ``/metrics``."""
    text = httpx.get(f"{node.url}/metrics", timeout=5).text
    found = re.findall(r"^mvoting_ballots_accepted_total(?:\{[^}]*\})? (\S+)$", text, re.M)
    return int(sum(float(v) for v in found))


async def storm(*args: str, timeout: float, ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(STORM),
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode in ok, err.decode()[-3000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def verdict(q: dict[str, Any]) -> Any:
    v = q["verification"]
    return v.get("status") if isinstance(v, dict) else v


@pytest.mark.timeout(300)
async def test_a_web_node_killed_mid_burst_loses_and_doubles_no_ballot(tmp_path: Path) -> None:
    """nginx in front of two nodes on one Valkey and data dir (the first with the worker
    and the local witnesses); 1,000 attendees through nginx, their ballots spread over a
    few seconds. Mid-burst, once the second node has acked some ballots and while more are
    on their way through it, Valkey is held still for a moment (``SIGSTOP``), so that
    ballots the node has sent on wait there, and the node is killed (``SIGKILL``); then
    Valkey goes on and counts them, with nobody left to hear the acks. Its attendees
    reconnect through nginx (to the survivor), re-join and send again what was not acked:
    ``already_voted`` where the first send counted, ``ok`` where it never reached Valkey."""
    binary = nginx_binary()
    data = tmp_path / "data"
    with spawner(tmp_path) as sp:
        survivor = sp.serve(data)  # the bundled Valkey, the worker, the local witnesses
        doomed = sp.serve(data, "--no-worker")
        (valkey,) = valkey_servers_of(data)
        port = free_port()
        files = nginx_files(
            tmp_path / "nginx",
            f"127.0.0.1:{port}",
            [f"127.0.0.1:{survivor.port}", f"127.0.0.1:{doomed.port}"],
        )
        url = f"http://127.0.0.1:{port}"
        with running_nginx(binary, files, url):
            room = create_room(data)
            qid = room["question"]
            attendees = asyncio.create_task(
                storm(
                    "attend", "--url", url, "--room", room["room"], "--password",
                    room["password"], "--question", qid, "--attendees", str(ATTENDEES),
                    "--spread", "6", "--deadline", "150",
                    timeout=240,
                )
            )  # fmt: skip

            async def killed_mid_burst() -> int:
                while accepted_on(doomed) < ATTENDEES // 8:  # a quarter of its share
                    assert not attendees.done(), attendees.result()
                    await asyncio.sleep(0.05)
                os.kill(valkey, signal.SIGSTOP)
                try:
                    await asyncio.sleep(0.4)  # the node's ballots queue up at Valkey
                    doomed.proc.send_signal(signal.SIGKILL)
                    await asyncio.to_thread(doomed.proc.wait)
                finally:
                    os.kill(valkey, signal.SIGCONT)
                return doomed.proc.returncode

            assert await killed_mid_burst() == -signal.SIGKILL
            result = await attendees

        # Every attendee joined, had its ballot answered, and every lost connection was
        # followed by a re-join.
        assert (result["attendees"], result["joined"], result["answered"]) == (ATTENDEES,) * 3
        assert (result["unfinished"], result["errors"], result["doubled"]) == (0, 0, 0), result
        assert result["drops"] > 0 and result["rejoined"] == result["drops"], result
        resent = result["resent_ok"] + result["resent_already_voted"]
        assert result["first_ok"] + resent == ATTENDEES, result
        assert result["resent_already_voted"] > 0, result  # acks lost with the node
        assert 0 < resent <= result["drops"], result  # sent again only after a loss

        # nginx logs a websocket when it closes: each attendee's first one and each
        # re-join's, and exactly the ones the killed node held were lost. (A re-join that
        # nginx first tried on the dead node is logged with both addresses.)
        doomed_at = f"127.0.0.1:{doomed.port}"

        def websockets() -> list[Route] | None:
            found = [
                r
                for r in read_routes(files.access_log)
                if r.path == "/socket.io/" and r.status == 101
            ]
            return found if len(found) >= ATTENDEES + result["rejoined"] else None

        found = poll("nginx to log the websockets", websockets, timeout=15, every=0.1)
        assert len(found) == ATTENDEES + result["rejoined"]
        assert sum(r.upstream == doomed_at for r in found) == result["drops"]

        # Counted once each: attendee i chose option i mod 4, and the tally holds exactly
        # the ballots that were answered, however many times they were sent.
        live = question_results(data, room["room"], qid)
        assert result["counts"] == [ATTENDEES // 4] * 4
        assert (live["total"], live["counts"]) == (ATTENDEES, result["counts"]), live

        done = mvoting("question", "close", qid, "--data", str(data))
        assert done.returncode == 0, done.stderr
        final = poll(
            "the worker to archive and verify the question",
            lambda: (
                (q := question_results(data, room["room"], qid))["finalized"]
                and verdict(q) not in (None, "pending")
                and q
            ),
            timeout=60,
            every=0.25,
        )
        assert (final["total"], final["archived"], final["counts"]) == (
            ATTENDEES,
            ATTENDEES,
            result["counts"],
        )
        assert verdict(final) == "completed", final


@pytest.mark.timeout(240)
@pytest.mark.parametrize("stop", ["term", "kill", "cut"])
async def test_a_room_comes_back_to_a_restarted_node_once_each_and_its_memory_with_it(
    stop: str,
) -> None:
    """``storm.py restart`` (``make bench-storm`` at a tenth of its size): 200 attendees on
    one node vote, the node is stopped (a deploy's SIGTERM, a crash's SIGKILL) and started
    again on its port, or stays up while every connection to it is cut at once (a venue's
    network), and all of them reconnect at once with the page's back-off. Every one
    re-joins, sends its acked ballot again and hears ``already_voted``; the tally and the
    archive hold 200; the node counts 200 connections with them back and none once they
    left, and its memory with all 200 back is no more than 1.25× before."""
    n = 200
    result = await storm("restart", "--attendees", str(n), "--stop", stop, ok=(0, 1), timeout=200)
    assert result["failed"] == [], result
    assert (result["joined"], result["rejoined"], result["drops"]) == (n, n, n), result
    assert (result["first_ok"], result["resent_already_voted"]) == (n, n), result
    assert (result["doubled"], result["resent_ok"], result["unfinished"]) == (0, 0, 0), result
    assert (result["tally_total"], result["archived"], result["finalized"]) == (n, n, True)
    assert result["counts"] == [n // 4] * 4
    assert (result["connections_after"], result["connections_left_after"]) == (n, 0)
    # The waits follow the page's settings: none came before the first delay's least.
    page = result["backoff"]
    least = page["reconnectionDelay"] * (1 - page["randomizationFactor"]) / 1000
    assert result["rejoin_after_ready_max_s"] is not None
    assert min(result["rejoin_p50_s"], result["rejoin_max_s"]) >= least, result
    assert result["rss_joined_after_mb"] <= 1.25 * result["rss_joined_before_mb"], result


def _storm_module() -> Any:
    spec = importlib.util.spec_from_file_location("storm", STORM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("storm", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["vote.js", "console.js", "present.js", "inbox.js"])
def test_every_page_reconnects_with_the_back_off_the_storm_was_measured_with(page: str) -> None:
    storm_py = _storm_module()
    settings = storm_py.page_settings(ROOT / "static" / "js" / page)
    assert settings == {
        "reconnectionDelay": 1000.0,
        "reconnectionDelayMax": 5000.0,
        "randomizationFactor": 0.5,
    }
    assert settings == storm_py.page_settings()  # vote.js's, which storm.py measures
    # socket.io-client's Backoff with them: attempt k waits 1 s * 2^k, +/- 50 %, at most
    # 5 s; the first waits of a room are spread over a whole second.
    backoff = storm_py.Backoff.of_page()
    firsts = []
    for _ in range(2000):
        waits = [backoff.duration() for _ in range(5)]
        backoff.reset()
        firsts.append(waits[0])
        for k, wait in enumerate(waits):
            assert min(0.5 * 2**k, 5.0) <= wait <= min(1.5 * 2**k, 5.0), waits
    assert min(firsts) < 0.6 and max(firsts) > 1.4


def test_the_official_client_waits_as_storm_py_does_with_the_pages_settings() -> None:
    """socket.io-client itself (tests/js), given vote.js's settings: its Backoff's waits
    for five attempts in a row, 2,000 times, lie where storm.py's do."""
    node_bin = shutil.which("node")
    assert node_bin, "node is not on PATH: this test needs Node.js >= 18"
    settings = _storm_module().page_settings()
    script = """
import("socket.io-client").then(({ Manager }) => {
  const opts = { autoConnect: false, ...JSON.parse(process.argv[1]) };
  const m = new Manager("http://127.0.0.1:9", opts);
  const out = [];
  for (let i = 0; i < 2000; i++) {
    const waits = [];
    for (let k = 0; k < 5; k++) waits.push(m.backoff.duration());
    m.backoff.reset();
    out.push(waits);
  }
  console.log(JSON.stringify(out));
});
"""
    done = subprocess.run(
        [node_bin, "--input-type=module", "-e", script, json.dumps(settings)],
        cwd=ROOT / "tests" / "js",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    runs = [[ms / 1000 for ms in waits] for waits in json.loads(done.stdout)]
    assert len(runs) == 2000
    for waits in runs:
        for k, wait in enumerate(waits):
            assert min(0.5 * 2**k, 5.0) <= wait <= min(1.5 * 2**k, 5.0), waits
    firsts = [waits[0] for waits in runs]
    assert min(firsts) < 0.6 and max(firsts) > 1.4
    assert max(waits[4] for waits in runs) == 5.0  # the cap is the page's
