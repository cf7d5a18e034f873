#!/usr/bin/env python3
"""The burst benchmark: mvoting and the Node.js Socket.IO peer, measured in one run.

It starts everything it needs and stops it all at the end (also on Ctrl-C or failure):

- one bundled Valkey (``live.engines.bundled.find_or_start``) in a temporary data directory,
  shared by both servers under distinct key prefixes (mvoting ``bench:mv:``, the peer its
  own ``bq:<run>:``);
- mvoting: ``mvoting serve --data <tmp> --port P`` (its archive worker beside it) with
  ``REDIS_URL`` pointing at that Valkey;
- the peer: ``node server.js P REDIS_URL`` from a copy of ``loadtests/peer`` kept in
  ``loadtests/.peer/`` (``npm ci`` there when its files change).

For each server, on one fresh process: a warm-up burst (its ``kib_per_conn`` is the memory
figure), then ``--bursts`` measured bursts, each on a fresh question, every one run by
``loadtests/burst.py --attendees N --pid <web pid>``. The measured bursts of the two
servers alternate (mvoting, peer, mvoting, ...) so that the other load on the machine
weighs on both alike; before each burst the benchmark waits until the server, its worker
and Valkey are quiet (the previous burst's archiving done).

CPU and memory figures are the web process's only (for mvoting: the uvicorn process, not
the archive worker). The worker's and Valkey's CPU are metered apart, from about when the
ballots start until all is quiet again, less what each spends idle (measured just before
the burst), and printed as their own figures. After each mvoting burst the question is
closed (``mvoting question close``) and the benchmark waits for the worker to finalize it,
then checks archive count == tally == accepted.

It prints each burst, then per server the median of the measured bursts, the ratios
mvoting/peer, and a last line of JSON with everything. Exit status 1 when a burst had
errors, accepted != attendees, the presenter never saw the full count, or (mvoting) the
archive does not hold every accepted ballot; 2 when something could not be started.

Usage:
  bench.py [--attendees 2000] [--bursts 3] [--procs 1] [--only mvoting|peer] [--keep]
           [--burst-client PATH] [--peer DIR]

``--burst-client`` and ``--peer`` swap in another load generator (same command line and
JSON line as ``loadtests/burst.py``) or another peer (a folder with ``server.js``,
``package.json`` and ``package-lock.json``, started as ``node server.js PORT REDIS_URL 4``),
to check that they give the same figures on the same build.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BURST = HERE / "burst.py"
PEER_SRC = HERE / "peer"
PEER_DIR = HERE / ".peer"
PEER_FILES = ("package.json", "package-lock.json", "server.js")
PEER_ROOM, PEER_PASSWORD = "100200", "bench"
MV_PREFIX = "bench:mv:"
OPTIONS = "A,B,C,D"  # burst.py's default --options 4; the peer's default too

sys.path.insert(0, str(ROOT))
from live.engines import bundled  # noqa: E402 - after the repo root is on the path

#: How long a server may take to answer after it was started.
START_S = 60.0
#: How long to wait for the server, worker and Valkey to fall quiet before a burst.
QUIET_S = 60.0
#: "Quiet": all metered processes together below this share of one CPU over 0.5 s.
QUIET_CPU = 0.10
#: How long the worker may take to archive and finalize a closed question.
FINALIZE_S = 60.0
#: burst.py's default --connect-rate (new connections per second).
CONNECT_RATE = 500
#: File descriptors the benchmark and each server need beyond one per attendee.
FD_MARGIN = 1024


class BenchError(Exception):
    pass


# --- processes --------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: a new session (Ctrl-C is ours to handle, in order) and
    SIGTERM when the benchmark dies, so nothing outlives a killed run."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process's group, then SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _subcommand(pid: int) -> str | None:
    """The mvoting subcommand process ``pid`` runs (``worker``, ``witness``), if any."""
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    names = [Path(a.decode(errors="replace")).name for a in argv]
    for entry in ("mvoting", "live.cli"):  # the script, or ``python -m live.cli``
        if entry in names[:3] and names.index(entry) + 1 < len(names):
            return names[names.index(entry) + 1]
    return None


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in bundled.RESERVED_PORTS:
            return port


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def raise_open_files_limit(attendees: int) -> str | None:
    """Raise the soft limit on open files (inherited by every child) to what ``attendees``
    connections need, as far as the hard limit allows; a warning if that is not enough."""
    need = attendees + FD_MARGIN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        print(f"bench: raised the open-files limit from {soft} to {new} (hard limit {hard})")
        soft = new
    if soft != resource.RLIM_INFINITY and soft < need:
        return (
            f"the hard open-files limit is {hard}, below the {need} that {attendees} attendees "
            "need: expect connection errors (raise it with `ulimit -Hn` as root)"
        )
    return None


# --- the servers ------------------------------------------------------------------------


@dataclass
class Target:
    """Where one burst goes: a room and an open question in it."""

    room: str
    password: str
    question: str
    presenter: str = ""  #: the room's presenter token, if the server has one


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    next_target: Callable[[int], Target]
    #: Run after each burst, once the servers are quiet: figures to add to its result.
    after_burst: Callable[[Target], dict[str, Any]] | None = None
    #: Processes metered apart from the web process, by label (mvoting: its worker).
    side: dict[str, int] = field(default_factory=dict)
    warmup: dict[str, Any] | None = None
    bursts: list[dict[str, Any]] = field(default_factory=list)
    hand: list[str] = field(default_factory=list)  # how to run a burst by hand (--keep)

    @property
    def pid(self) -> int:
        return self.proc.pid


def _wait_ready(name: str, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"{name} did not answer {url} in {START_S:.0f} s:\n{_tail(log)}")
        time.sleep(0.1)


def _mvoting_env(redis_url: str) -> dict[str, str]:
    env = {**os.environ, "REDIS_URL": redis_url, "MVOTING_KEY_PREFIX": MV_PREFIX}
    for name in ("DATABASE_URL", "MVOTING_PUBLIC_URL", "MVOTING_DATA"):
        env.pop(name, None)  # the temp data dir's SQLite, this run's own links
    return env


def _mvoting_bin() -> str:
    exe = Path(sys.executable).with_name("mvoting")
    if not exe.exists():
        raise BenchError(f"{exe} not found: run `make install` first")
    return str(exe)


def start_mvoting(
    tmp: Path,
    redis_url: str,
    *,
    name: str = "mvoting",
    worker: bool = True,
    port: int | None = None,
) -> Server:
    """``mvoting serve`` on ``tmp/mvoting``; more nodes of the same data dir and Valkey
    under other names (``loadtests/scale.py``), e.g. with ``worker=False``; ``port``
    again to restart a node where its clients look for it (``loadtests/storm.py``)."""
    data = tmp / "mvoting"
    port = port or _free_port()
    log = tmp / f"{name}.log"
    env = _mvoting_env(redis_url)
    cmd = [_mvoting_bin(), "serve", "--data", str(data), "--port", str(port)]
    if not worker:
        cmd.append("--no-worker")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"

    def next_target(i: int) -> Target:
        made = subprocess.run(
            [
                _mvoting_bin(),
                "room",
                "create",
                "--data",
                str(data),
                "--title",
                f"Bench {i}",
                "--question",
                f"Burst {i}",
                "--options",
                OPTIONS,
                "--open",
                "--json",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if made.returncode != 0:
            raise BenchError(f"mvoting room create failed: {made.stdout}{made.stderr}")
        body = json.loads(made.stdout.strip().splitlines()[-1])
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(body["presenter_url"]).query)
        return Target(body["room"], body["password"], body["question"], token["token"][0])

    def cli(*argv: str) -> dict[str, Any]:
        done = subprocess.run(
            [_mvoting_bin(), *argv, "--data", str(data), "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BenchError(f"mvoting {' '.join(argv)} failed: {done.stdout}{done.stderr}")
        body: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return body

    def close_and_check(target: Target) -> dict[str, Any]:
        """Close the question (as a presenter would) and wait until the worker has
        archived every ballot and finalized it: the archive count, and how long it took."""
        t0 = time.monotonic()
        cli("question", "close", target.question)
        while True:
            found = cli("room", "results", target.room)["questions"]
            q = next(q for q in found if q["id"] == target.question)
            if q["finalized"] or time.monotonic() - t0 > FINALIZE_S:
                break
            time.sleep(0.5)
        return {
            "tally_total": q["total"],
            "archived": q["archived"],
            "finalized": q["finalized"],
            "close_to_final_s": round(time.monotonic() - t0, 1),
        }

    server = Server(name, url, proc, log, next_target, close_and_check)
    _wait_ready(name, proc, f"{url}/healthz", log)
    # serve's children: the archive worker and, unless a policy is configured, the local
    # witnesses (``mvoting witness``); the worker is the one run as ``mvoting worker``.
    children = {pid: _subcommand(pid) for pid in _children(proc.pid)}
    workers = [pid for pid, sub in children.items() if sub == "worker"]
    if worker and len(workers) == 1:
        server.side["worker"] = workers[0]
    # The local witnesses cosign the ledger's checkpoints: part of the whole system's cost.
    for i, pid in enumerate(sorted(p for p, sub in children.items() if sub == "witness"), 1):
        server.side[f"witness{i}"] = pid
    server.hand = [
        f"REDIS_URL={redis_url} MVOTING_KEY_PREFIX={MV_PREFIX} {_mvoting_bin()} room create "
        f"--data {data} --title Hand --question Q --options {OPTIONS} --open --json",
    ]
    return server


def prepare_peer(source: Path) -> Path:
    """``loadtests/.peer``: a copy of the peer in ``source`` with its two packages."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise BenchError("the Node.js peer needs `node` and `npm` (Node.js >= 18) on PATH")
    digest = hashlib.sha256()
    for name in PEER_FILES:
        digest.update((source / name).read_bytes())
    stamp = PEER_DIR / "node_modules" / ".bench-stamp"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return PEER_DIR
    PEER_DIR.mkdir(exist_ok=True)
    for name in PEER_FILES:
        shutil.copyfile(source / name, PEER_DIR / name)
    print("bench: npm ci for the Node.js peer (socket.io, ioredis)", flush=True)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"npm ci failed in {PEER_DIR}:\n{done.stdout}{done.stderr}")
    stamp.write_text(digest.hexdigest())
    return PEER_DIR


def start_peer(tmp: Path, redis_url: str, peer_dir: Path) -> Server:
    port = _free_port()
    log = tmp / "peer.log"
    node = shutil.which("node") or "node"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [node, "server.js", str(port), redis_url, "4"],
            cwd=peer_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    server = Server("peer", url, proc, log, lambda i: Target(PEER_ROOM, PEER_PASSWORD, f"q{i + 1}"))
    _wait_ready("peer", proc, f"{url}/socket.io/?EIO=4&transport=polling", log)
    return server


def start_servers(
    servers: list[Server], tmp: Path, redis_url: str, wanted: list[str], peer_dir: Path | None
) -> None:
    """Start the ``wanted`` servers ("mvoting", "peer") one by one into ``servers``, so that
    the caller's ``finally`` stops those that started if a later one fails."""
    for name in wanted:
        if name == "mvoting":
            servers.append(start_mvoting(tmp, redis_url))
        else:
            servers.append(start_peer(tmp, redis_url, peer_dir or prepare_peer(PEER_SRC)))


# --- bursts -----------------------------------------------------------------------------


def burst_command(server: Server, target: Target, a: argparse.Namespace) -> list[str]:
    return [
        sys.executable, str(a.burst_client), "--url", server.url, "--room", target.room,
        "--password", target.password, "--question", target.question,
        "--attendees", str(a.attendees), "--procs", str(a.procs), "--pid", str(server.pid),
        *([f"--presenter={target.presenter}"] if target.presenter else []),
    ]  # fmt: skip


def run_json(
    cmd: list[str], timeout: float, name: str, meanwhile: Callable[[], None] | None = None
) -> tuple[dict[str, Any] | None, str]:
    """Run a load generator; return its last output line as JSON, or None and why not.

    ``meanwhile`` runs once it has started, before waiting for it (to meter from then)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        try:
            if meanwhile is not None:
                meanwhile()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            err.write(f"\n{name} timed out".encode())
        finally:
            _stop(proc, 5)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode(errors="replace").strip().splitlines()
        tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
    try:
        return json.loads(lines[-1]), ""
    except (IndexError, ValueError):
        return None, " | ".join(tail) or f"{name} exited {proc.returncode}"


def wait_quiet(pids: list[int]) -> float:
    """Wait until ``pids`` together use under QUIET_CPU of a core; the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < QUIET_S:
        c0 = sum(_cpu_seconds(p) for p in pids)
        time.sleep(0.5)
        if (sum(_cpu_seconds(p) for p in pids) - c0) / 0.5 < QUIET_CPU:
            break
    return time.monotonic() - start


def idle_rates(pids: dict[str, int], seconds: float = 2.0) -> dict[str, float]:
    """CPU seconds per second each process spends doing nothing in particular (the
    worker polls its streams every 50 ms): subtracted from its figures per burst."""
    before = {k: _cpu_seconds(p) for k, p in pids.items()}
    time.sleep(seconds)
    return {k: (_cpu_seconds(p) - before[k]) / seconds for k, p in pids.items()}


def run_burst(server: Server, n: int, a: argparse.Namespace, valkey_pid: int) -> dict[str, Any]:
    """One burst.py run on a fresh question; its JSON line plus this benchmark's figures.

    The worker and Valkey are metered from about when the ballots start (burst.py waits
    0.5 s for its presenter, then N / 500 + 3 s for everyone to connect) until everything
    is quiet again, less their idle rate (measured just before) over that time."""
    target = server.next_target(n)
    side = {**server.side, "valkey": valkey_pid}
    everyone = [server.pid, *side.values()]
    wait_quiet(everyone)
    idle = idle_rates(side)
    ballots_at = time.monotonic() + 0.5 + a.attendees / CONNECT_RATE + 3.0
    start: dict[str, Any] = {}

    def when_ballots_start() -> None:
        time.sleep(max(0.0, ballots_at - time.monotonic()))
        start["cpu"] = {k: _cpu_seconds(p) for k, p in side.items()}
        start["t0"] = time.monotonic()

    done, failure = run_json(
        burst_command(server, target, a), 120 + a.attendees / 50, "burst.py", when_ballots_start
    )
    result: dict[str, Any] = {"question": target.question}
    if done is None:
        result.update({"failed": failure, "errors": 1, "accepted": 0, "connected": 0})
        return result
    result.update(done)
    before, t0 = start["cpu"], start["t0"]
    result["quiet_after_s"] = round(wait_quiet(everyone), 1)
    elapsed = time.monotonic() - t0
    final, burst = result.get("final_tally_s"), result.get("burst_s")
    result["tally_lag_s"] = round(final - burst, 3) if final is not None and burst else None
    accepted = result.get("accepted") or 0
    for label, pid in side.items():
        spent = max(0.0, _cpu_seconds(pid) - before[label] - idle.get(label, 0.0) * elapsed)
        result[f"{label}_cpu_s"] = round(spent, 2)
        result[f"{label}_cpu_ms_per_1k"] = round(spent * 1e6 / accepted, 1) if accepted else None
        result[f"{label}_idle_ms_per_s"] = round(idle[label] * 1000, 1)
    witnesses = [result[f"{label}_cpu_s"] for label in side if label.startswith("witness")]
    if witnesses and accepted:
        result["witnesses_cpu_ms_per_1k"] = round(sum(witnesses) * 1e6 / accepted, 1)
    web = result.get("cpu_ms_per_1k")
    if isinstance(web, int | float):
        # The whole system a ballot costs: web, worker (archive, ledger) and witnesses;
        # Valkey apart (the peer's Valkey does the same work: one script per ballot).
        result["system_cpu_ms_per_1k"] = round(
            web
            + (result.get("worker_cpu_ms_per_1k") or 0.0)
            + (result.get("witnesses_cpu_ms_per_1k") or 0.0),
            1,
        )
    if server.after_burst is not None:
        result.update(server.after_burst(target))
    return result


def clean(result: dict[str, Any], attendees: int) -> bool:
    return (
        "failed" not in result
        and result.get("errors") == 0
        and result.get("accepted") == attendees
        and result.get("final_tally_s") is not None
        and result.get("archived", attendees) == attendees
    )


# --- report -----------------------------------------------------------------------------


Clean = Callable[[dict[str, Any], int], bool]


def unclean_bursts(
    runs: dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]]]],
    attendees: int,
    is_clean: Clean = clean,
) -> list[str]:
    """``"<name> warm-up"``, ``"<name> burst 2"``: the runs that ``is_clean`` refuses."""
    return [
        f"{name} {label}"
        for name, (warmup, bursts) in runs.items()
        for label, r in [
            ("warm-up", warmup or {}),
            *((f"burst {i + 1}", b) for i, b in enumerate(bursts)),
        ]
        if not is_clean(r, attendees)
    ]


def report_logs(prog: str, servers: list[Server]) -> None:
    """Say which servers logged warnings or errors, with the first one."""
    for s in servers:
        noted = [
            ln
            for ln in _tail(s.log, 100_000).splitlines()
            if "ERROR" in ln or "Traceback" in ln or "WARNING" in ln
        ]
        if noted:
            print(f"{prog}: {s.name}'s log has {len(noted)} warning/error lines: {noted[0][:200]}")


def report_load(prog: str, before: tuple[float, ...], why: str) -> list[float]:
    """Print the load average before and after the run; return both, rounded."""
    after = os.getloadavg()
    print(
        f"{prog}: load average {before[0]:.2f} before, {after[0]:.2f} after "
        f"({os.cpu_count()} CPUs; {why})"
    )
    return [round(before[0], 2), round(after[0], 2)]


MEDIANS = (
    "burst_s", "ballots_per_s", "cpu_ms_per_1k", "tally_lag_s", "final_tally_s",
    "ack_p50_ms", "ack_p99_ms", "worker_cpu_ms_per_1k", "valkey_cpu_ms_per_1k",
    "quiet_after_s", "close_to_final_s", "server_rss_mb", "witnesses_cpu_ms_per_1k",
    "system_cpu_ms_per_1k",
)  # fmt: skip


def medians(bursts: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in MEDIANS:
        values = [b[key] for b in bursts if isinstance(b.get(key), int | float)]
        out[key] = round(statistics.median(values), 3) if values else None
    warm = [b["kib_per_conn"] for b in bursts if isinstance(b.get("kib_per_conn"), int | float)]
    out["kib_per_conn_measured"] = round(statistics.median(warm), 1) if warm else None
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return round(a / b, 2)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:.0f}"
    return str(v)


def burst_line(name: str, label: str, r: dict[str, Any]) -> str:
    if "failed" in r:
        return f"{name:8} {label:8} FAILED: {r['failed']}"
    text = (
        f"{name:8} {label:8} {r['question'][:12]:12} burst {_fmt(r.get('burst_s'))} s"
        f"  {_fmt(r.get('ballots_per_s'), 0)}/s  cpu {_fmt(r.get('cpu_ms_per_1k'), 0)} ms/1k"
        f"  lag {_fmt(r.get('tally_lag_s'))} s  ack p50/p99 {_fmt(r.get('ack_p50_ms'), 1)}/"
        f"{_fmt(r.get('ack_p99_ms'), 1)} ms"
        f"  {r.get('accepted')}/{r.get('connected')}/{r.get('errors')}"
        f"  rss {_fmt(r.get('server_rss_mb'), 1)} MB  {_fmt(r.get('kib_per_conn'), 1)} KiB/conn"
    )
    if "worker_cpu_ms_per_1k" in r:
        text += (
            f"  worker {_fmt(r['worker_cpu_ms_per_1k'], 0)} ms/1k"
            f" (idle {_fmt(r.get('worker_idle_ms_per_s'), 0)} ms/s)"
        )
    if "witnesses_cpu_ms_per_1k" in r:
        text += f"  witnesses {_fmt(r['witnesses_cpu_ms_per_1k'], 0)} ms/1k"
    if "system_cpu_ms_per_1k" in r and "worker_cpu_ms_per_1k" in r:
        text += f"  system {_fmt(r['system_cpu_ms_per_1k'], 0)} ms/1k"
    text += f"  valkey {_fmt(r.get('valkey_cpu_ms_per_1k'), 0)} ms/1k"
    if "archived" in r:
        text += (
            f"  archived {r['archived']}/{r['tally_total']}"
            f"{'' if r['finalized'] else ' NOT finalized'} {r['close_to_final_s']} s after close"
        )
    if r.get("rejected"):
        text += f"  rejected {r['rejected']}"
    if r.get("first_errors"):
        text += f"  first errors {r['first_errors']}"
    return text


def summary(servers: list[Server], a: argparse.Namespace) -> dict[str, Any]:
    rows = (
        ("burst_s (first ballot -> last ack)", "burst_s", None, ""),
        ("ballots_per_s", "ballots_per_s", "ballots_per_s", ">= 1x"),
        ("cpu_ms_per_1k (web process)", "cpu_ms_per_1k", "cpu_ms_per_1k", "<= 0.8x"),
        ("last ack -> full count, s", "tally_lag_s", "tally_lag_s", "<= 0.3 s"),
        ("kib_per_conn (warm-up)", "kib_per_conn", "kib_per_conn", "< 1x"),
        ("kib_per_conn (measured bursts)", "kib_per_conn_measured", None, ""),
        ("rss with all connected, MB", "server_rss_mb", None, ""),
        ("ack p50, ms", "ack_p50_ms", "ack_p50_ms", "<= 1x"),
        ("ack p99, ms", "ack_p99_ms", "ack_p99_ms", "<= 1x"),
        ("worker cpu ms/1k (apart)", "worker_cpu_ms_per_1k", None, ""),
        ("witnesses cpu ms/1k (apart)", "witnesses_cpu_ms_per_1k", None, ""),
        ("whole system cpu ms/1k", "system_cpu_ms_per_1k", "system_cpu_ms_per_1k", "<= 1.2x"),
        ("valkey cpu ms/1k (apart)", "valkey_cpu_ms_per_1k", None, ""),
        ("close -> archive finalized, s", "close_to_final_s", None, ""),
    )
    report: dict[str, Any] = {}
    for s in servers:
        m = medians(s.bursts)
        m["kib_per_conn"] = (s.warmup or {}).get("kib_per_conn")
        m["server_rss_mb_warmup"] = (s.warmup or {}).get("server_rss_mb")
        report[s.name] = m
    names = [s.name for s in servers]
    both = {"mvoting", "peer"} <= set(names)
    ratios = {}
    if both:
        for key in (
            "cpu_ms_per_1k", "kib_per_conn", "tally_lag_s", "burst_s", "ballots_per_s",
            "ack_p50_ms", "ack_p99_ms",
        ):  # fmt: skip
            ratios[key] = ratio(report["mvoting"][key], report["peer"][key])
        # The whole of mvoting (web, worker, witnesses) against the peer's web process,
        # which is all the peer has.
        ratios["system_cpu_ms_per_1k"] = ratio(
            report["mvoting"].get("system_cpu_ms_per_1k"), report["peer"]["cpu_ms_per_1k"]
        )
    print()
    print(
        f"median of {a.bursts} measured bursts, {a.attendees} attendees, "
        f"burst.py --procs {a.procs}; KiB/conn from the warm-up burst"
    )
    head = f"{'':36}" + "".join(f"{n:>12}" for n in names)
    if both:
        head += f"{'mvoting/peer':>14}  target"
    print(head)
    for label, key, ratio_key, budget in rows:
        line = f"{label:36}" + "".join(f"{_fmt(report[n].get(key), 3):>12}" for n in names)
        if both:
            r = ratios.get(ratio_key) if ratio_key else None
            line += f"{_fmt(r, 2):>14}  {budget}" if ratio_key else ""
        print(line)
    for s in servers:
        per = ", ".join(
            f"{b.get('accepted')}/{b.get('connected')}/{b.get('errors')}" for b in s.bursts
        )
        print(f"{s.name:8} accepted/connected/errors per measured burst: {per}")
    if both:
        lag = report["mvoting"]["tally_lag_s"]

        def at_most(key: str, bar: float) -> bool:
            value = ratios.get(key)
            return value is not None and value <= bar

        targets = {
            "web cpu <= 0.8x peer": at_most("cpu_ms_per_1k", 0.8),
            "ballots/s >= peer": (ratios.get("ballots_per_s") or 0) >= 1,
            "ack p50 <= peer": at_most("ack_p50_ms", 1),
            "ack p99 <= peer": at_most("ack_p99_ms", 1),
            "memory per connection < peer": at_most("kib_per_conn", 0.999),
            "whole system <= 1.2x peer's web": at_most("system_cpu_ms_per_1k", 1.2),
            "last ack -> full count <= 0.3 s": lag is not None and lag <= 0.3,
        }
        print(
            "targets (docs/performance.md), in this run's medians: "
            + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items())
        )
        return {"medians": report, "ratios_mvoting_over_peer": ratios, "targets": targets}
    return {"medians": report, "ratios_mvoting_over_peer": ratios}


# --- the run ----------------------------------------------------------------------------


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the ``finally`` clauses stop what was started."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, raise_interrupt)
    # Also when started in the background by a shell, which ignores SIGINT there.
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
        signal.signal(signal.SIGINT, old_int)


def code_version() -> dict[str, Any]:
    """The commit measured, and the files of live/ and rooms/ that differ from it."""

    def git(*argv: str) -> str:
        done = subprocess.run(
            ["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "live", "rooms").splitlines()
    head = git("rev-parse", "--short", "HEAD").strip()
    return {"head": head, "changed": [c[3:] for c in changed if c.strip()]}


def run(a: argparse.Namespace) -> int:
    if not a.burst_client.is_file():
        raise BenchError(f"{a.burst_client}: no such load generator")
    if not all((a.peer / name).is_file() for name in PEER_FILES):
        raise BenchError(f"{a.peer}: a peer folder holds {', '.join(PEER_FILES)}")
    warning = raise_open_files_limit(a.attendees)
    if warning:
        print(f"bench: WARNING: {warning}", file=sys.stderr)
    wanted = ["mvoting", "peer"] if a.only is None else [a.only]
    peer_dir = prepare_peer(a.peer) if "peer" in wanted else None
    version = code_version()
    dirty = (
        f", with uncommitted changes to {len(version['changed'])} files of live/ and rooms/"
        if version["changed"]
        else ""
    )
    print(f"bench: measuring commit {version['head'] or '?'}{dirty}", flush=True)
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-bench-"))
    valkey = None
    servers: list[Server] = []
    try:
        valkey = bundled.find_or_start(tmp / "valkey")
        print(f"bench: Valkey {valkey.url} (pid {valkey.pid}), scratch {tmp}", flush=True)
        start_servers(servers, tmp, valkey.url, wanted, peer_dir)
        for s in servers:
            side = "".join(f", {k} pid {p} metered apart" for k, p in s.side.items())
            print(f"bench: {s.name} on {s.url}, web pid {s.pid} metered{side}", flush=True)
            if s.name == "mvoting" and "worker" not in s.side:
                print("bench: mvoting's worker process was not found; not metered")

        for s in servers:
            s.warmup = run_burst(s, 0, a, valkey.pid)
            print(burst_line(s.name, "warm-up", s.warmup), flush=True)
        for i in range(1, a.bursts + 1):
            for s in servers:
                r = run_burst(s, i, a, valkey.pid)
                s.bursts.append(r)
                print(burst_line(s.name, f"burst {i}", r), flush=True)

        report = summary(servers, a)
        failed = unclean_bursts({s.name: (s.warmup, s.bursts) for s in servers}, a.attendees)
        report_logs("bench", servers)
        loadavg = report_load("bench", load0, "other work on the machine makes the figures noisy")
        if failed:
            print(
                f"bench: FAILED (errors, accepted != {a.attendees}, or no full count): "
                + ", ".join(failed),
                file=sys.stderr,
            )
        everything = {
            "bench": "burst",
            "attendees": a.attendees,
            "bursts": a.bursts,
            "procs": a.procs,
            "cpus": os.cpu_count(),
            "code": version,
            "loadavg": loadavg,
            "metered": "web process only (mvoting: uvicorn; worker and valkey apart)",
            **report,
            "servers": {
                s.name: {"pid": s.pid, "side_pids": s.side, "warmup": s.warmup, "bursts": s.bursts}
                for s in servers
            },
            "failed": failed,
            "ok": not failed,
        }
        print(json.dumps(everything), flush=True)
        if a.keep:
            keep_running(servers, a, valkey.url, valkey.pid)
        return 1 if failed else 0
    finally:
        stop_all(servers, valkey, tmp)


def stop_all(servers: list[Server], valkey: Any, tmp: Path) -> None:
    """Stop the servers (and any side process one failed to stop), Valkey; remove ``tmp``."""
    for s in servers:
        _stop(s.proc, 20)
        for pid in s.side.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    if valkey is not None:
        valkey.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def keep_running(servers: list[Server], a: argparse.Namespace, redis_url: str, vpid: int) -> None:
    """Print how to profile the running servers, then wait for Ctrl-C."""
    py = Path(sys.executable)
    spy = py.with_name("py-spy")
    print(
        "\nbench: --keep: the servers stay up until Ctrl-C (or SIGTERM to "
        f"pid {os.getpid()}). Valkey: {redis_url} (pid {vpid})."
    )
    for s in servers:
        side = "".join(f", {k} pid {p}" for k, p in s.side.items())
        print(f"\n{s.name}: {s.url}, web pid {s.pid}{side}, log {s.log}")
        target = s.next_target(a.bursts + 1)
        if s.hand:
            print("  a fresh room and question for each burst:\n    " + "\n    ".join(s.hand))
        else:
            print(f"  a fresh question for each burst: q{a.bursts + 3}, q{a.bursts + 4}, ...")
        print("  a burst:\n    " + " ".join(burst_command(s, target, a)))
        if s.name == "mvoting":
            print(
                f"  profile it (start first, then run the burst):\n    {spy} record "
                f"-o flame.svg --rate 250 --pid {s.pid} --duration 20"
            )
    sys.stdout.flush()
    try:
        while all(s.proc.poll() is None for s in servers):
            time.sleep(1)
        print("bench: a server exited; stopping the rest", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nbench: stopping the servers")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--attendees", type=int, default=2000, help="attendees per burst")
    ap.add_argument("--bursts", type=int, default=3, help="measured bursts per server")
    ap.add_argument("--procs", type=int, default=1, help="burst.py load-generator processes")
    ap.add_argument("--only", choices=["mvoting", "peer"], help="measure one server only")
    ap.add_argument("--keep", action="store_true", help="leave the servers running (for profiling)")
    ap.add_argument(
        "--burst-client", type=Path, default=BURST, help="the load generator (default: ours)"
    )
    ap.add_argument("--peer", type=Path, default=PEER_SRC, help="the peer's folder (default: ours)")
    a = ap.parse_args(argv)
    if a.attendees < 1 or a.procs < 1 or a.bursts < (0 if a.keep else 1):
        ap.error("--attendees, --procs and --bursts must be at least 1 (--bursts 0 with --keep)")
    return run_guarded("bench", run, a)


def run_guarded(name: str, run: Callable[[argparse.Namespace], int], a: argparse.Namespace) -> int:
    """Run a benchmark; SIGTERM as Ctrl-C; exit 2 if it cannot start, 130 if interrupted."""
    try:
        with terminate_as_interrupt():
            return run(a)
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
