"""The ``mvoting`` command, driven as a user drives it: subprocesses, HTTP, Socket.IO.

One ``serve`` (with its bundled Valkey and archive worker) is shared by the module for the
tests that only need a running server; the tests that stop servers or need an empty data
dir use data dirs of their own. Every process started here, and every process a started
``serve`` started in turn (its worker, its Valkey), is stopped in teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis

from tests.conftest import connect

ROOT = Path(__file__).resolve().parents[2]
BURST = ROOT / "loadtests" / "burst.py"
CLI = [sys.executable, "-m", "live.cli"]
STARTUP_S = 30.0  # serve: a cold start runs migrations and starts Valkey; ~1 s normally
STOP_S = 15.0  # uvicorn's graceful shutdown is 5 s, the worker gets 10 s at most
RESULT_KEYS = {"room", "password", "key", "question", "join_url", "presenter_url"}

T = TypeVar("T")


# --- processes -------------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    """This environment without settings that would point the command elsewhere."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "DATABASE_URL"} and not k.startswith("MVOTING_")
    }


def mvoting(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def mvoting_json(*args: str, rc: int = 0) -> Any:
    done = mvoting(*args, "--json")
    assert done.returncode == rc, f"mvoting {args}: rc {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout)


def free_port() -> int:
    import socket

    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != 6379:
            return port


def poll(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.05) -> T:
    """``probe()`` until it returns something other than None/False, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in {"Z", "X"}


def children(pid: int) -> list[int]:
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in raw.split()]


def processes_of(data: Path) -> dict[int, str]:
    """Live processes that belong to the data dir ``data``: its Valkey (which rewrites its
    command line, so it is known by its working directory) and anything naming it."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not alive(int(entry.name)):
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if cwd == str(data / "valkey") or str(data) in cmdline.split():
            found[int(entry.name)] = comm
    return found


def valkey_servers_of(data: Path) -> list[int]:
    return sorted(p for p, comm in processes_of(data).items() if comm == "valkey-server")


def kill_leftovers(data: Path) -> list[int]:
    """SIGKILL whatever still runs for ``data`` (after a failed test); return their pids."""
    pids = sorted(processes_of(data))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@dataclass
class Serve:
    """One ``mvoting serve`` process; its output goes to files next to the data dir."""

    data: Path
    port: int
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    worker: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> list[str]:
        return self.out.read_text().splitlines()

    def logs(self) -> str:
        return f"stdout:\n{self.out.read_text()}\nstderr:\n{self.err.read_text()[-3000:]}"

    def healthz(self) -> int | None:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code
        except httpx.TransportError:
            return None

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}\n{self.logs()}")
            return self.healthz() == 200 and f"mvoting is serving on {self.url}" in self.output()

        try:
            poll(f"serve on {self.url}", ready, STARTUP_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None
        self.worker = next(
            (p for p in children(self.pid) if "worker" in _cmdline(p)),
            None,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_S) -> tuple[int, float]:
        """Send ``sig``; return the exit status and how long the exit took."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"serve ignored signal {sig} for {timeout}s\n{self.logs()}"
            ) from None
        return rc, time.monotonic() - start


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


@dataclass
class Spawner:
    """Starts ``serve`` processes, logging under ``base``, and stops all of them at the end,
    with whatever they left running: their own children, and any process of a data dir
    under ``base`` (a data dir elsewhere may belong to a server still in use)."""

    base: Path
    started: list[Serve] = field(default_factory=list)

    def serve(self, data: Path, *extra: str) -> Serve:
        n = len(self.started)
        out, err = self.base / f"serve{n}.out", self.base / f"serve{n}.err"
        port = free_port()
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(
                [*CLI, "serve", "--data", str(data), "--port", str(port), *extra],
                cwd=ROOT,
                env=cli_env(),
                stdin=subprocess.DEVNULL,
                stdout=o,
                stderr=e,
            )
        s = Serve(data, port, proc, out, err)
        self.started.append(s)
        s.wait_ready()
        return s

    def close(self) -> None:
        for s in reversed(self.started):
            if s.proc.poll() is None:
                left = children(s.pid)
                with contextlib.suppress(AssertionError):
                    s.stop()
                for pid in left:
                    if alive(pid):
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
            s.proc.wait()
        for data in {s.data for s in self.started}:
            if data.is_relative_to(self.base):
                kill_leftovers(data)


@contextlib.contextmanager
def spawner(base: Path) -> Iterator[Spawner]:
    sp = Spawner(base)
    try:
        yield sp
    finally:
        sp.close()


@dataclass
class Shared:
    data: Path
    serve: Serve


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """The module's ``serve``, on a data dir of its own."""
    base = tmp_path_factory.mktemp("cli-shared")
    with spawner(base) as sp:
        data = base / "data"
        yield Shared(data, sp.serve(data))


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawner]:
    with spawner(tmp_path) as sp:
        yield sp


def valkey_client(data: Path) -> redis.Redis:
    port = read_json(data / "run" / "valkey.json")["port"]
    return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)


def create_room(data: Path, *, options: str = "A,B,C,D", question: str = "Lunch?") -> Any:
    body = mvoting_json(
        "room", "create", "--data", str(data), "--title", "Town hall",
        "--question", question, "--options", options, "--open",
    )  # fmt: skip
    assert set(body) == RESULT_KEYS, body
    return body


def run_burst(
    serve: Serve, room: dict[str, Any], attendees: int, *, presenter: bool = False
) -> dict[str, Any]:
    """The benchmark's JSON line for ``attendees`` ballots on the room's question; with
    ``presenter`` its presenter's screen joins with the room's presenter token."""
    token = parse_qs(urlsplit(room["presenter_url"]).query)["token"][0]
    options = {
        "--url": serve.url,
        "--room": room["room"],
        "--password": room["password"],
        "--question": room["question"],
        "--attendees": str(attendees),
        "--options": "4",
        "--pid": str(serve.pid),
    }
    # ``--presenter=``: a token may start with a dash.
    token_arg = [f"--presenter={token}"] if presenter else []
    done = subprocess.run(
        [sys.executable, str(BURST), *(x for pair in options.items() for x in pair), *token_arg],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def question_results(data: Path, room: str, qid: str) -> dict[str, Any]:
    body = mvoting_json("room", "results", room, "--data", str(data))
    assert body["room"] == room
    (found,) = [q for q in body["questions"] if q["id"] == qid]
    return dict(found)


def assert_clean_burst(result: dict[str, Any], n: int) -> None:
    assert result["connected"] == n, result
    assert result["accepted"] == n, result
    assert result["rejected"] == {}, result
    assert result["errors"] == 0, result
    assert result["final_tally_s"] is not None, result
    assert result["versions_monotonic"] is True, result


def listening_addresses(port: int) -> set[str]:
    """Addresses with a listening TCP socket on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                if table == "tcp":
                    found.add(".".join(str(b) for b in reversed(bytes.fromhex(addr))))
                else:
                    found.add(f"v6:{addr}")
    return found


# --- 1. serve --------------------------------------------------------------------------


def test_serve_starts_with_its_own_bundled_valkey(shared: Shared) -> None:
    serve, data = shared.serve, shared.data
    assert serve.healthz() == 200
    assert httpx.get(f"{serve.url}/healthz", timeout=5).json() == {"ok": True}
    assert f"mvoting is serving on {serve.url}" in serve.output()
    assert read_json(data / "run" / "web.json") == {"url": serve.url, "pid": serve.pid}

    info = read_json(data / "run" / "valkey.json")
    assert set(info) == {"port", "pid"}
    assert info["port"] != 6379
    assert valkey_servers_of(data) == [info["pid"]]
    assert info["pid"] in children(serve.pid)  # this serve started it
    assert listening_addresses(info["port"]) == {"127.0.0.1"}
    with valkey_client(data) as r:
        assert r.config_get("bind") == {"bind": "127.0.0.1"}
        assert r.config_get("port") == {"port": str(info["port"])}
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("appendfsync") == {"appendfsync": "always"}
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert r.config_get("dir") == {"dir": str(data / "valkey")}
        aof_dir = data / "valkey" / r.config_get("appenddirname")["appenddirname"]
        aof_name = r.config_get("appendfilename")["appendfilename"]
    # The append-only file: a base and an incremental part, both under DATA/valkey.
    manifest = (aof_dir / f"{aof_name}.manifest").read_text().split("\n")
    parts = {line.split()[1]: line.split()[-1] for line in manifest if line}
    assert sorted(parts.values()) == ["b", "i"], manifest
    assert all((aof_dir / name).is_file() for name in parts)
    assert serve.worker is not None and "live.cli worker" in _cmdline(serve.worker)


# --- 2. room create --------------------------------------------------------------------


async def test_room_create_prints_working_links(shared: Shared) -> None:
    url = shared.serve.url
    body = create_room(shared.data, options="A,B,C")
    number, qid = body["room"], body["question"]
    assert len(number) == 6 and number.isdigit()
    assert len(body["password"]) == 8 and body["password"].isdigit()
    assert body["join_url"] == f"{url}/j/{number}?key={body['key']}"
    prefix = f"{url}/present/{number}?token="
    assert body["presenter_url"].startswith(prefix)
    token = body["presenter_url"][len(prefix) :]

    # The printed credentials are the room's: key, password and presenter token all join.
    async with connect(url) as a, connect(url) as b, connect(url) as host:
        by_key = await a.join(number, key=body["key"])
        assert by_key["ok"] and by_key["role"] == "attendee"
        assert [(q["id"], q["title"], q["status"]) for q in by_key["questions"]] == [
            (qid, "Lunch?", "open")
        ]
        assert [o["label"] for o in by_key["questions"][0]["options"]] == ["A", "B", "C"]
        assert (await b.join(number, password=body["password"]))["ok"]
        by_token = await host.join(number, presenter=token)
        assert by_token["ok"] and by_token["role"] == "host"
        assert (await a.vote(qid, [2]))["ok"]
    results = question_results(shared.data, number, qid)
    assert (results["counts"], results["total"], results["status"]) == ([0, 0, 1], 1, "open")


async def test_a_ranking_made_on_the_command_line_gives_points_and_average_places(
    shared: Shared,
) -> None:
    body = mvoting_json(
        "room", "create", "--data", str(shared.data), "--title", "Council",
        "--question", "Which first?", "--kind", "ranking", "--options", "Parks,Buses,Libraries",
        "--open",
    )  # fmt: skip
    number, qid = body["room"], body["question"]
    async with connect(shared.serve.url) as a, connect(shared.serve.url) as b:
        for c, order in ((a, [1, 0, 2]), (b, [1, 2, 0])):
            assert (await c.join(number, key=body["key"]))["ok"]
            assert (await c.vote(qid, order))["ok"]
    results = question_results(shared.data, number, qid)
    assert (results["kind"], results["counts"], results["total"]) == ("ranking", [1, 4, 1], 2)
    assert results["average_place"] == [2.5, 1.0, 2.5]
    done = mvoting("room", "results", number, "--data", str(shared.data))
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if qid in x]
    assert "points=[1, 4, 1] average_place=[2.5, 1.0, 2.5] total=2" in line, line


# --- 3. burst, results, close, archive -------------------------------------------------


def test_burst_of_300_then_close_and_archive(shared: Shared) -> None:
    data = shared.data
    room = create_room(data)
    qid = room["question"]
    assert_clean_burst(run_burst(shared.serve, room, 300, presenter=True), 300)

    live = question_results(data, room["room"], qid)
    assert (live["title"], live["status"], live["total"]) == ("Lunch?", "open", 300)
    assert len(live["counts"]) == 4 and sum(live["counts"]) == 300
    assert (live["verification"], live["reason"]) == ("pending", "The poll is open.")

    done = mvoting("question", "close", qid, "--data", str(data))
    assert (done.returncode, done.stdout) == (0, f"{qid}: closed\n"), done.stderr

    # serve's local witnesses cosign the poll's log; the verdict follows the archiving.
    final = poll(
        "the worker to finalize the question and judge its log",
        lambda: (
            (r := question_results(data, room["room"], qid))["verification"] != "pending"
            and r["finalized"]
            and r
        ),
        timeout=20,
        every=0.2,
    )
    assert final == {
        "id": qid,
        "title": "Lunch?",
        "status": "closed",
        "kind": "single",
        "counts": live["counts"],
        "total": 300,
        "archived": 300,
        "finalized": True,
        "log": live["log"],
        "verification": "completed",
        "reason": "",
    }


# --- 4. a second node on the same data dir ---------------------------------------------


async def test_second_serve_shares_the_valkey(shared: Shared, spawn: Spawner) -> None:
    data, node1 = shared.data, shared.serve
    valkey_json = (data / "run" / "valkey.json").read_bytes()
    valkey_pid = read_json(data / "run" / "valkey.json")["pid"]
    room = create_room(data, options="Red,Green,Blue")
    qid = room["question"]
    token = room["presenter_url"].split("?token=", 1)[1]

    node2 = spawn.serve(data)
    assert node2.port != node1.port
    assert (data / "run" / "valkey.json").read_bytes() == valkey_json
    assert valkey_servers_of(data) == [valkey_pid]
    assert valkey_pid not in children(node2.pid)
    # The links keep naming the node that was there first.
    assert read_json(data / "run" / "web.json") == {"url": node1.url, "pid": node1.pid}

    # A ballot cast through node 2 reaches a presenter connected to node 1.
    async with connect(node1.url) as presenter, connect(node2.url) as voter:
        assert (await presenter.join(room["room"], presenter=token))["ok"]
        assert (await voter.join(room["room"], key=room["key"]))["ok"]
        assert (await voter.vote(qid, [1]))["ok"]
        await presenter.wait_for(lambda: any(t["total"] == 1 for t in presenter.tallies(qid)))
        assert presenter.tallies(qid)[-1]["counts"] == [0, 1, 0]

    # Stopping node 2 leaves node 1, its Valkey and its links alone.
    rc, _ = node2.stop(signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM, node2.logs()
    assert alive(valkey_pid)
    assert (data / "run" / "valkey.json").read_bytes() == valkey_json
    assert read_json(data / "run" / "web.json") == {"url": node1.url, "pid": node1.pid}
    assert node1.healthz() == 200
    assert create_room(data)["join_url"].startswith(f"{node1.url}/j/")


# --- 5. stopping: SIGTERM, SIGINT; the data survives -----------------------------------


def assert_stopped_cleanly(serve: Serve, sig: signal.Signals) -> None:
    """``sig`` stops ``serve`` in time, and the worker and Valkey it started with it."""
    valkey_pid = read_json(serve.data / "run" / "valkey.json")["pid"]
    assert valkey_pid in children(serve.pid)  # this serve started the data dir's Valkey
    assert serve.worker is not None
    rc, took = serve.stop(sig)
    assert rc == 128 + sig, f"exit status {rc} after {sig!r}\n{serve.logs()}"
    assert took < STOP_S
    assert not alive(valkey_pid), f"Valkey {valkey_pid} outlived serve ({sig!r})"
    assert not alive(serve.worker), f"worker {serve.worker} outlived serve ({sig!r})"
    assert processes_of(serve.data) == {}
    assert sorted(p.name for p in (serve.data / "run").iterdir()) == ["valkey.lock"]


@pytest.mark.timeout(90)
def test_stop_with_sigterm_and_sigint_keeps_the_ballots(tmp_path: Path, spawn: Spawner) -> None:
    data = tmp_path / "data"
    first = spawn.serve(data)
    room = create_room(data)
    qid = room["question"]
    assert_clean_burst(run_burst(first, room, 300), 300)
    assert_stopped_cleanly(first, signal.SIGTERM)

    # Started again on the same data dir, the ballots are there (append-only file).
    second = spawn.serve(data)
    after = question_results(data, room["room"], qid)
    assert (after["status"], after["total"], sum(after["counts"])) == ("open", 300, 300)
    assert_stopped_cleanly(second, signal.SIGINT)

    # With no serve running the command starts the data dir's Valkey itself, reads the
    # same ballots, and stops it again.
    assert question_results(data, room["room"], qid) == after
    assert processes_of(data) == {}


# --- 6. bad input ----------------------------------------------------------------------


def test_unknown_room_and_question(tmp_path: Path) -> None:
    data = tmp_path / "data"
    body = mvoting_json("room", "results", "999999", "--data", str(data), rc=1)
    assert body["ok"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == "unknown_room"
    assert "999999" in body["error"]["message"]

    body = mvoting_json("question", "open", "NONEXISTENT", "--data", str(data), rc=1)
    assert body["ok"] is False
    assert body["error"]["code"] == "not_found"
    assert "NONEXISTENT" in body["error"]["message"]

    done = mvoting("question", "open", "NONEXISTENT", "--data", str(data))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip().endswith("(not_found)"), done.stderr
    assert processes_of(data) == {}  # the Valkey each command started is stopped again


def test_bad_question_creates_nothing(shared: Shared, tmp_path: Path) -> None:
    def rooms() -> tuple[list[str], int]:
        with valkey_client(shared.data) as r:
            numbers = sorted(r.scan_iter(match="mv:roomnum:*"))
        db = shared.data / "mvoting.db"
        with contextlib.closing(sqlite3.connect(db)) as conn:
            (count,) = conn.execute("SELECT count(*) FROM rooms").fetchone()
        return numbers, count

    before = rooms()
    args = ["--title", "T", "--question", "Q", "--kind", "vs", "--options", "A,B,C", "--open"]
    body = mvoting_json("room", "create", "--data", str(shared.data), *args, rc=1)
    assert body["ok"] is False
    assert body["error"]["code"] == "bad_request"
    assert rooms() == before

    # On an empty data dir it is refused before anything is started or written.
    fresh = tmp_path / "fresh"
    body = mvoting_json("room", "create", "--data", str(fresh), *args, rc=1)
    assert body["error"]["code"] == "bad_request"
    assert not (fresh / "mvoting.db").exists()
    assert not (fresh / "run").exists() and not (fresh / "valkey").exists()


def test_the_hang_up_benchmark_meters_each_round() -> None:
    """``loadtests/hangup.py`` starts its own server, and every round's closes are metered."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "loadtests" / "hangup.py"), "--only", "mvoting",
         "--attendees", "40", "--rounds", "2", "--quiet", "0.2"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    rounds = report["servers"]["mvoting"]["rounds"]
    assert len(rounds) == 2
    assert all(r["wall_s"] > 0 and r["cpu_us"] >= 0 for r in rounds)
    assert "per hang-up" in done.stdout


def test_the_hang_up_benchmark_refuses_an_empty_run() -> None:
    for bad in (["--rounds", "0"], ["--attendees", "0"]):
        done = subprocess.run(
            [sys.executable, str(ROOT / "loadtests" / "hangup.py"), *bad],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert "--attendees and --rounds must be at least 1" in done.stderr
        assert "hangup: measuring" not in done.stdout  # nothing was started
