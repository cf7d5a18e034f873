#!/usr/bin/env python3
"""The burst: N attendees vote at once on one question, the way a hall answers when the
presenter opens it, and a presenter's screen watches the count arrive.

Attendees connect over Socket.IO (Engine.IO v4 on a websocket, raw frames, no client
library), join one room, and once all have joined every one casts a single ballot at the
same wall-clock moment. With several ``--url`` attendee i goes to node i mod k, and one
presenter per node watches ``tally`` events: each node must show the full count, also of
ballots cast through the others. The presenter's screen joins with ``--presenter TOKEN``
(the room's presenter token, as a projector opens the presenter link) where the server
has one, else with the attendees' credentials: a server may pace the tallies of
attendees' phones (mvoting does, docs/protocol.md) but not the projector's. Any server
that speaks the core of the live protocol (``join``, ``vote``, ``tally``;
docs/protocol.md) can be measured, mvoting or the Node.js peer in ``loadtests/peer``.

It prints one JSON line:

  connected, accepted    attendees that joined; ballots acknowledged ``ok``
  rejected, errors       refusals by code; failures (first_errors: the first three)
  burst_s                first ballot sent -> last ack received, over all nodes
  ballots_per_s          accepted / burst_s
  final_tally_s          first ballot sent -> *every* presenter saw a total >= accepted
  ack_p50_ms, ack_p99_ms per ballot, vote sent -> its ack
  tally_events           tally events the presenters received from the first ballot on
  versions_monotonic     every presenter's tally versions only grew
  server_cpu_s           CPU seconds of the ``--pid`` processes from the first ballot until
                         every presenter saw the full count; cpu_ms_per_1k per 1,000
                         accepted ballots
  server_rss_mb          their resident memory with everyone connected; kib_per_conn its
                         growth per connected attendee (from just before they connect)
  per_url                per node: attendees, connected, accepted, errors, burst_s,
                         final_tally_s, tally_events, versions_monotonic
  go_skew_ms             spread of the moment the load-generating processes released
                         their ballots (0 with --procs 1: one event loop releases all)
  cpu_s, cpu_ms_per_1k_by  the same window for each ``--meter LABEL=PID``, apart
  loadgen_cpu_s          this load generator's own CPU in the window
  window_s, cores_busy   the metered window and each core's busy share in it
                         (/proc/stat); machine_cpu_s their sum, irq_cpu_s the interrupts'

When the attendees hang up (``--hang-up``): ``at-once`` (the default) each load process
closes its sockets as soon as its last ack is in, inside the metered window, as a hall
empties after the vote; ``after`` only once the window is metered, so the figures leave
out the disconnects (``make bench-scale`` uses that).

With ``--watch S`` every attendee reads the question's tallies after its ack, as its phone
would show them, until S seconds after its process's last ack: ``watchers``,
``watch_saw_final`` (those whose highest total was the full count), ``watch_dropped``
(closed while watching), ``watch_final_p50_s`` and ``watch_final_s`` (first ballot -> the
full count on the median and the last of those screens), ``watch_frames_per_attendee``
and ``server_cpu_watch_s`` (the ``--pid`` processes' CPU until the watch ended).

The baseline of the count is the question's tally in the presenter's join ack (as the live
protocol gives it) or else 0: against a server that does not report it, use a fresh
question for every burst.

    loadtests/burst.py --url http://127.0.0.1:8000 --room 123456 --password pw \\
        --question QID --attendees 2000 --pid SERVER_PID
    loadtests/burst.py --url http://127.0.0.1:8001 --url http://127.0.0.1:8002 ... \\
        --meter node-a=PID_A --meter node-b=PID_B --hang-up after

Needs only ``websockets``. Bounded in count and time (every wait has a limit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

#: Seconds a connect or a join may take, and all the ballots together once released,
#: before what is left counts as errors. The ballots share one deadline rather than a
#: timer each: a timer (or ``wait_for``'s task) per vote is work in the load generator at
#: the very moment of the burst, which spreads the ballots out and makes the server under
#: test look slower than it is.
STEP_S = 120.0


def ws_url(url: str, path: str) -> str:
    base = url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
    return f"{base}{path}?EIO=4&transport=websocket"


async def recv_packet(ws: ClientConnection) -> str:
    """The next Socket.IO packet, answering Engine.IO pings on the way."""
    while True:
        msg = await ws.recv()
        assert isinstance(msg, str)
        if msg == "2":
            await ws.send("3")
            continue
        return msg


async def open_socket(url: str, path: str) -> ClientConnection:
    ws = await websockets.connect(
        ws_url(url, path), max_size=None, ping_interval=None, open_timeout=60, close_timeout=1
    )
    first = await ws.recv()
    if not isinstance(first, str) or not first.startswith("0"):
        raise RuntimeError(f"unexpected Engine.IO open packet {first[:80]!r}")
    await ws.send("40")
    while True:
        m = await recv_packet(ws)
        if m.startswith("40"):
            return ws
        if m.startswith("44"):
            raise RuntimeError(f"namespace connect refused: {m[:200]}")


async def call(ws: ClientConnection, ack_id: int, event: str, payload: Any) -> Any:
    """Emit an event with an ack id and wait for its ack, skipping other packets."""
    await ws.send(f"42{ack_id}" + json.dumps([event, payload], separators=(",", ":")))
    prefix = f"43{ack_id}"
    while True:
        m = await recv_packet(ws)
        if m.startswith(prefix):
            body = json.loads(m[len(prefix) :])
            return body[0] if body else None


def _creds(a: argparse.Namespace, *, presenter: bool = False) -> dict[str, str]:
    if presenter and a.presenter:
        return {"room": a.room, "presenter": a.presenter}
    if a.key:
        return {"room": a.room, "key": a.key}
    return {"room": a.room, "password": a.password}


async def attendee(
    url: str,
    a: argparse.Namespace,
    go: asyncio.Event,
    mine: dict[str, Any],
    lat: list[float],
    opened: list[ClientConnection],
    watching: list[list[Any]] | None = None,
    watchers: list[asyncio.Task[None]] | None = None,
) -> None:
    assert (watching is None) == (watchers is None)
    try:
        ws = await asyncio.wait_for(open_socket(url, a.path), STEP_S)
        opened.append(ws)
        joined = await asyncio.wait_for(call(ws, 1, "join", _creds(a)), STEP_S)
        if not joined or not joined.get("ok"):
            mine["errors"].append(f"join: {joined}")
            return
    except Exception as e:  # the report counts every failure kind
        mine["errors"].append(f"connect: {type(e).__name__}: {e}")
        return
    mine["connected"] += 1
    await go.wait()
    payload = {"question": a.question, "choices": [random.randrange(a.options)]}
    t = time.perf_counter()
    try:
        ack = await call(ws, 2, "vote", payload)
    except Exception as e:  # counted as an error
        mine["errors"].append(f"vote: {type(e).__name__}: {e}")
        return
    done = time.perf_counter()
    lat.append(done - t)
    mine["last_ack"] = max(mine["last_ack"], done)
    if ack and ack.get("ok"):
        mine["accepted"] += 1
    else:
        code = (ack or {}).get("error", {}).get("code", "no_ack")
        mine["rejected"][code] = mine["rejected"].get(code, 0) + 1
    if watching is not None:
        seen = [0, -1, 0.0]  # tally frames, the highest total, when it first came
        watching.append(seen)
        watchers.append(asyncio.create_task(watch(ws, a.question, seen)))


async def watch(ws: ClientConnection, question: str, seen: list[Any]) -> None:
    """An attendee's screen after the vote: it reads every ``tally`` of the question until
    cancelled (the worker's watch ends), keeping the highest total and when it came."""
    try:
        while True:
            m = await recv_packet(ws)
            if not m.startswith("42"):
                continue
            ev = json.loads(m[2:])
            if ev and ev[0] == "tally" and isinstance(ev[1], dict):
                if ev[1].get("question") != question:
                    continue
                seen[0] += 1
                total = int(ev[1].get("total", 0))
                if total > seen[1]:
                    seen[1], seen[2] = total, time.time()
    except websockets.ConnectionClosed:
        seen[1] = -2  # dropped while watching


async def _hang_up(opened: list[ClientConnection]) -> None:
    for ws in opened:
        await ws.close()


def worker(a: argparse.Namespace, first: int, n: int, start_at: float, q: Any, leave: Any) -> None:
    """One load-generating process: attendees first .. first+n-1, ballots at start_at.

    With ``--hang-up at-once`` they hang up as soon as the last of them has its ack, before
    the process reports; with ``after``, only once ``leave`` is set (the window metered)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def run() -> None:
        per = [
            {"connected": 0, "accepted": 0, "rejected": {}, "errors": [], "last_ack": 0.0}
            for _ in a.url
        ]
        lat: list[float] = []
        opened: list[ClientConnection] = []
        watching: list[list[Any]] | None = [] if a.watch else None
        watchers: list[asyncio.Task[None]] | None = [] if a.watch else None
        go = asyncio.Event()
        tasks = []
        for i in range(first, first + n):
            j = i % len(a.url)
            tasks.append(
                asyncio.create_task(
                    attendee(a.url[j], a, go, per[j], lat, opened, watching, watchers)
                )
            )
            if i % max(1, a.connect_rate // 20) == 0:
                await asyncio.sleep(0.05 * a.procs)
        while time.time() < start_at:  # noqa: ASYNC110 - a wall-clock moment, shared
            await asyncio.sleep(0.005)
        go_wall, t0, cpu0 = time.time(), time.perf_counter(), time.process_time()
        go.set()
        _, late = await asyncio.wait(tasks, timeout=STEP_S)
        for task in late:
            task.cancel()
        if late:
            per[0]["errors"].extend([f"vote: no ack within {STEP_S:.0f} s"] * len(late))
        cpu = time.process_time() - cpu0
        for p in per:
            p["burst_s"] = p["last_ack"] - t0 if p["last_ack"] else 0.0
            del p["last_ack"]
        if a.hang_up == "at-once" and watchers is None:
            await _hang_up(opened)
        q.put({"per": per, "lat": lat, "go_wall": go_wall, "cpu_s": cpu})
        if watchers is not None and watching is not None:
            # Until --watch seconds after this process's last ack (its hall has voted).
            last_ack = max((p["burst_s"] for p in per), default=0.0)
            await asyncio.sleep(max(0.0, go_wall + last_ack + a.watch - time.time()))
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            q.put({"watch": [tuple(w) for w in watching]})
            if a.hang_up == "at-once":
                await _hang_up(opened)
        if a.hang_up == "after":
            await asyncio.get_running_loop().run_in_executor(None, leave.wait, a.settle + 60)
            await _hang_up(opened)

    asyncio.run(run())


async def presenter(
    url: str, a: argparse.Namespace, stop: asyncio.Event, seen: list[tuple[float, int, Any]]
) -> None:
    ws = await open_socket(url, a.path)
    joined = await call(ws, 1, "join", _creds(a, presenter=True))
    if not joined or not joined.get("ok"):
        raise RuntimeError(f"the presenter on {url} could not join: {joined}")
    for qn in joined.get("questions") or []:
        if (
            isinstance(qn, dict)
            and qn.get("id") == a.question
            and isinstance(qn.get("tally"), dict)
        ):
            seen.append((0.0, int(qn["tally"].get("total", 0)), None))
    while not stop.is_set():
        try:
            m = await asyncio.wait_for(recv_packet(ws), 0.2)
        except TimeoutError:
            continue
        except websockets.ConnectionClosed as e:
            seen.append((time.time(), -1, f"presenter on {url} disconnected: {e}"))
            return
        if m.startswith("42"):
            ev = json.loads(m[2:])
            if (
                ev
                and ev[0] == "tally"
                and isinstance(ev[1], dict)
                and ev[1].get("question") == a.question
            ):
                seen.append((time.time(), int(ev[1].get("total", 0)), ev[1].get("version")))
    await ws.close()


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pids: list[int]) -> int:
    """Resident memory of ``pids`` together, in KiB (VmRSS)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            pass
    return total


def core_ticks() -> list[tuple[int, int, int]]:
    """(busy, total, irq + softirq) jiffies per core from /proc/stat."""
    out = []
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                v = [int(x) for x in values] + [0] * 8
                idle = v[3] + v[4]  # idle + iowait
                total = sum(v[:8])  # without guest time, already counted in user
                out.append((total - idle, total, v[5] + v[6]))
    return out


def _monotonic(versions: list[int]) -> bool:
    return all(b > a for a, b in zip(versions, versions[1:], strict=False))


async def main(a: argparse.Namespace) -> dict[str, Any]:
    meters = dict(m.split("=", 1) for m in a.meter)
    pids = {label: int(pid) for label, pid in meters.items()}
    stop = asyncio.Event()
    seen: list[list[tuple[float, int, Any]]] = [[] for _ in a.url]
    pres = [asyncio.create_task(presenter(u, a, stop, seen[j])) for j, u in enumerate(a.url)]
    await asyncio.sleep(0.5)
    rss0 = rss_kib(a.pid)
    for t in pres:
        if t.done():
            t.result()  # a presenter that could not join: its exception
    ctx = mp.get_context("fork")
    q, leave = ctx.Queue(), ctx.Event()
    sizes = [a.attendees // a.procs + (i < a.attendees % a.procs) for i in range(a.procs)]
    firsts = [sum(sizes[:i]) for i in range(a.procs)]
    start_at = time.time() + a.attendees / a.connect_rate + 3.0
    procs = [
        ctx.Process(target=worker, args=(a, f, n, start_at, q, leave), daemon=True)
        for f, n in zip(firsts, sizes, strict=True)
    ]
    for p in procs:
        p.start()
    while time.time() < start_at:  # noqa: ASYNC110 - a wall-clock moment, shared
        await asyncio.sleep(0.005)
    t0, cores0, pt0 = time.time(), core_ticks(), time.process_time()
    cpu0 = {label: cpu_seconds(pid) for label, pid in pids.items()}
    server0, rss1 = sum(cpu_seconds(pid) for pid in a.pid), rss_kib(a.pid)
    bases = [max((tot for ts, tot, _ in s if ts < t0), default=0) for s in seen]
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + a.attendees / 20 + 120
    parts: list[dict[str, Any]] = []
    watched: list[dict[str, Any]] = []  # with --watch, a second report of each process

    async def reports(of: list[dict[str, Any]]) -> None:
        while len(of) < len(procs):
            left = max(1.0, deadline - time.monotonic())
            m = await asyncio.wait_for(loop.run_in_executor(None, q.get, True, left), left)
            (watched if "watch" in m else parts).append(m)

    await reports(parts)
    accepted = sum(x["accepted"] for part in parts for x in part["per"])

    def full(j: int) -> bool:
        return any(tot >= bases[j] + accepted and ts >= t0 for ts, tot, _ in seen[j])

    settle = time.time() + a.settle
    while time.time() < settle and not all(full(j) for j in range(len(a.url))):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    t1, cores1 = time.time(), core_ticks()
    cpu1 = {label: cpu_seconds(pid) for label, pid in pids.items()}
    server_cpu = sum(cpu_seconds(pid) for pid in a.pid) - server0
    presenter_cpu = time.process_time() - pt0
    watch: dict[str, Any] = {}
    if a.watch:
        deadline = time.monotonic() + a.watch + 60
        await reports(watched)
        watch = _watch_figures(watched, max(bases, default=0) + accepted, t0)
        watch["server_cpu_watch_s"] = round(sum(cpu_seconds(pid) for pid in a.pid) - server0, 2)
    stop.set()
    leave.set()
    await asyncio.gather(*pres)
    for p in procs:
        await loop.run_in_executor(None, p.join, 30)

    lat = sorted(x for part in parts for x in part["lat"])
    per_url = []
    all_versions_ok = True
    finals = []
    for j, url in enumerate(a.url):
        mine = [part["per"][j] for part in parts]
        final = next(
            (ts - t0 for ts, tot, _ in seen[j] if tot >= bases[j] + accepted and ts >= t0), None
        )
        finals.append(final)
        versions = [v for ts, _, v in seen[j] if ts >= t0 and isinstance(v, int)]
        all_versions_ok = all_versions_ok and _monotonic(versions)
        per_url.append(
            {
                "url": url,
                "attendees": len(range(j, a.attendees, len(a.url))),
                "connected": sum(x["connected"] for x in mine),
                "accepted": sum(x["accepted"] for x in mine),
                "errors": sum(len(x["errors"]) for x in mine),
                "burst_s": round(max(x["burst_s"] for x in mine), 3),
                "final_tally_s": round(final, 3) if final is not None else None,
                "tally_events": sum(1 for ts, _, _ in seen[j] if ts >= t0),
                "versions_monotonic": _monotonic(versions),
            }
        )
    rejected: dict[str, int] = {}
    for part in parts:
        for x in part["per"]:
            for k, v in x["rejected"].items():
                rejected[k] = rejected.get(k, 0) + v
    errors = [e for part in parts for x in part["per"] for e in x["errors"]]
    dropped = [note for s in seen for _, tot, note in s if tot == -1]
    burst = max((x["burst_s"] for part in parts for x in part["per"]), default=0.0)
    go_walls = [part["go_wall"] for part in parts]
    window = t1 - t0
    pairs = list(zip(cores0, cores1, strict=True))
    busy = [(c1[0] - c0[0]) / max(1, c1[1] - c0[1]) for c0, c1 in pairs]
    irq = sum((c1[2] - c0[2]) / max(1, c1[1] - c0[1]) for c0, c1 in pairs) * window
    cpu = {label: round(cpu1[label] - cpu0[label], 2) for label in pids}
    connected = sum(u["connected"] for u in per_url)
    metered = bool(a.pid)
    return {
        "attendees": a.attendees,
        "urls": len(a.url),
        "procs": a.procs,
        "connected": connected,
        "accepted": accepted,
        "rejected": rejected,
        "errors": len(errors) + len(dropped),
        "first_errors": (dropped + errors)[:3],
        "burst_s": round(burst, 3),
        "ballots_per_s": round(accepted / burst, 1) if burst else 0,
        "final_tally_s": (
            round(max(finals), 3) if finals and all(f is not None for f in finals) else None
        ),
        "ack_p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
        "ack_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)
        if lat
        else None,
        "tally_events": sum(u["tally_events"] for u in per_url),
        "versions_monotonic": all_versions_ok,
        "server_cpu_s": round(server_cpu, 2) if metered else None,
        "cpu_ms_per_1k": round(server_cpu * 1e6 / accepted, 1) if metered and accepted else None,
        "server_rss_mb": round(rss1 / 1024, 1) if metered else None,
        "kib_per_conn": round((rss1 - rss0) / max(1, connected), 1) if metered else None,
        "go_skew_ms": round((max(go_walls) - min(go_walls)) * 1000, 1) if go_walls else None,
        "per_url": per_url,
        "window_s": round(window, 3),
        "cpu_s": cpu,
        "cpu_ms_per_1k_by": {
            k: round(v * 1e6 / accepted, 1) if accepted else None for k, v in cpu.items()
        },
        "loadgen_cpu_s": round(sum(part["cpu_s"] for part in parts) + presenter_cpu, 2),
        "cores_busy": [round(b, 3) for b in busy],
        "machine_cpu_s": round(sum(busy) * window, 2),
        "irq_cpu_s": round(irq, 2),
        **watch,
    }


def _watch_figures(watched: list[dict[str, Any]], final: int, t0: float) -> dict[str, Any]:
    """What the attendees' screens saw (--watch): how many had the full count, when."""
    seen = [w for part in watched for w in part["watch"]]
    had = sorted(at - t0 for _, top, at in seen if top >= final)
    return {
        "watchers": len(seen),
        "watch_saw_final": len(had),
        "watch_dropped": sum(1 for _, top, _ in seen if top == -2),
        "watch_final_p50_s": round(had[len(had) // 2], 3) if had else None,
        "watch_final_s": round(had[-1], 3) if had else None,
        "watch_frames_per_attendee": round(sum(f for f, _, _ in seen) / len(seen), 2)
        if seen
        else None,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--url", action="append", required=True, help="a web node; repeat: attendee i -> i mod k"
    )
    ap.add_argument("--path", default="/socket.io/")
    ap.add_argument("--room", required=True)
    ap.add_argument("--password", default="")
    ap.add_argument("--key", default="", help="join key from a QR link, instead of a password")
    ap.add_argument(
        "--presenter", default="", help="the room's presenter token, for the presenter's screen"
    )
    ap.add_argument("--question", required=True)
    ap.add_argument("--options", type=int, default=4)
    ap.add_argument("--attendees", type=int, default=2000)
    ap.add_argument("--procs", type=int, default=1, help="load-generating processes")
    ap.add_argument("--connect-rate", type=int, default=500, help="new connections per second")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds to wait for full counts")
    ap.add_argument(
        "--pid", type=int, action="append", default=[], help="a server process to meter (repeat)"
    )
    ap.add_argument(
        "--hang-up",
        choices=("at-once", "after"),
        default="at-once",
        help="attendees hang up at their last ack (in the window) or after it is metered",
    )
    ap.add_argument(
        "--meter", action="append", default=[], metavar="LABEL=PID", help="a process to meter"
    )
    ap.add_argument(
        "--watch",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="attendees read the tally after their vote until SECONDS after the last ack",
    )
    args = ap.parse_args()
    if args.attendees < 1 or args.procs < 1 or not 1 <= args.attendees <= 50_000:
        sys.exit("burst.py: --attendees (1..50,000) and --procs must be at least 1")
    if any("=" not in m or not m.split("=", 1)[1].isdigit() for m in args.meter):
        sys.exit("burst.py: --meter takes LABEL=PID")
    print(json.dumps(asyncio.run(main(args))), flush=True)
