#!/usr/bin/env python3
"""The join storm: a hall of N attendees opens the link within a few seconds while the
vote is already running, and every one of them watches the live tally.

Attendees connect at ``--rate`` per second (3,000 in 10 s by default), join, cast their
ballot at once and keep reading the ``tally`` events until the end, so the later joins
land on a server that is already broadcasting to the earlier ones. Against mvoting and
the Node.js peer of ``loadtests/peer`` in the same run (``make bench-joins``), it prints
one line per server and a JSON line:

  joined, refused        attendees whose join was acknowledged ``ok``; refusals by code
                         (none is the target: above all no ``unavailable`` for want of a
                         pooled connection)
  join_p50_ms, join_p99_ms, join_max_ms   join sent -> its ack
  connect_p99_ms         websocket opened -> Socket.IO namespace connected
  accepted, tally_total  ballots acknowledged; the largest total the watchers saw
  watching               attendees that received at least one tally after their ballot
  storm_s                first connect -> last join ack
  server_rss_mb          the web process's memory at the end of the storm
  ratio_to_peer          join p50 and p99 against the peer's

    .venv/bin/python loadtests/joinstorm.py --attendees 3000 --rate 300
    make bench-joins JOINS_ARGS="--only mvoting"

Needs Node.js for the peer. Bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import (
    BenchError,
    Server,
    bundled,
    raise_open_files_limit,
    run_guarded,
    start_servers,
    stop_all,
)
from burst import call, open_socket, recv_packet

#: Seconds a connect or a join may take before it counts as an error.
STEP_S = 60.0
#: Seconds the attendees keep watching after the last join.
WATCH_S = 3.0


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def _attendee(
    url: str,
    creds: dict[str, str],
    question: str,
    stop: asyncio.Event,
    seen: dict[str, Any],
    counting: bool,
) -> None:
    """One attendee: connect, join, vote, watch. A ``counting`` one also reads the totals
    the tallies carry (a few do: parsing every frame of every socket would load this
    generator more than the server)."""
    try:
        t0 = time.perf_counter()
        ws = await asyncio.wait_for(open_socket(url, "/socket.io/"), STEP_S)
        t1 = time.perf_counter()
        joined = await asyncio.wait_for(call(ws, 1, "join", creds), STEP_S)
        t2 = time.perf_counter()
    except Exception as e:  # every failure is reported by kind
        seen["errors"].append(f"connect: {type(e).__name__}")
        return
    seen["connect"].append(t1 - t0)
    if not joined or not joined.get("ok"):
        code = ((joined or {}).get("error") or {}).get("code", "no_ack")
        seen["refused"][code] = seen["refused"].get(code, 0) + 1
        await ws.close()
        return
    seen["join"].append(t2 - t1)
    seen["last_join"] = max(seen["last_join"], time.perf_counter())
    vote = {"question": question, "choices": [random.randrange(4)]}
    try:
        ack = await asyncio.wait_for(call(ws, 2, "vote", vote), STEP_S)
        if ack and ack.get("ok"):
            seen["accepted"] += 1
        watched = False
        while not stop.is_set():
            try:
                packet = await asyncio.wait_for(recv_packet(ws), 0.5)
            except TimeoutError:
                continue
            if not packet.startswith('42["tally"'):
                continue
            if not watched:
                watched = True
                seen["watching"] += 1
            if counting:
                total = int(json.loads(packet[2:])[1].get("total", 0))
                seen["tally_total"] = max(seen["tally_total"], total)
    except Exception as e:  # a dropped connection is an error of the storm
        seen["errors"].append(f"watch: {type(e).__name__}")
    finally:
        await ws.close()


async def storm(server: Server, n: int, rate: int) -> dict[str, Any]:
    target = server.next_target(0)
    creds = {"room": target.room, "password": target.password}
    seen: dict[str, Any] = {
        "connect": [], "join": [], "refused": {}, "errors": [], "accepted": 0,
        "watching": 0, "last_join": 0.0, "tally_total": 0,
    }  # fmt: skip
    stop = asyncio.Event()
    started = time.perf_counter()
    tasks = []
    for i in range(n):
        tasks.append(
            asyncio.create_task(
                _attendee(server.url, creds, target.question, stop, seen, i % 50 == 0)
            )
        )
        pause = started + (i + 1) / rate - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
    deadline = time.perf_counter() + STEP_S
    while len(seen["join"]) + sum(seen["refused"].values()) + len(seen["errors"]) < n:
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.05)
    rss = _rss_mb(server.pid)
    await asyncio.sleep(WATCH_S)
    stop.set()
    await asyncio.wait(tasks, timeout=STEP_S)
    return {
        "attendees": n,
        "joined": len(seen["join"]),
        "refused": seen["refused"],
        "errors": len(seen["errors"]),
        "first_errors": seen["errors"][:3],
        "join_p50_ms": _pct(seen["join"], 0.5),
        "join_p99_ms": _pct(seen["join"], 0.99),
        "join_max_ms": _pct(seen["join"], 1.0),
        "connect_p99_ms": _pct(seen["connect"], 0.99),
        "accepted": seen["accepted"],
        "tally_total": seen["tally_total"],
        "watching": seen["watching"],
        "storm_s": round(seen["last_join"] - started, 2) if seen["last_join"] else None,
        "server_rss_mb": rss,
    }


def run(a: argparse.Namespace) -> int:
    warning = raise_open_files_limit(a.attendees)
    if warning:
        print(f"joinstorm: WARNING: {warning}", file=sys.stderr)
    wanted = ["mvoting", "peer"] if a.only is None else [a.only]
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-joinstorm-"))
    valkey = None
    servers: list[Server] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        valkey = bundled.find_or_start(tmp / "valkey")
        start_servers(servers, tmp, valkey.url, wanted, None)
        for s in servers:
            r = asyncio.run(storm(s, a.attendees, a.rate))
            results[s.name] = r
            print(
                f"joinstorm: {s.name:8} joined {r['joined']}/{r['attendees']} in "
                f"{r['storm_s']} s, refused {r['refused'] or 'none'}, errors {r['errors']}; "
                f"join p50/p99/max {r['join_p50_ms']}/{r['join_p99_ms']}/{r['join_max_ms']} "
                f"ms; {r['watching']} watching; tally {r['tally_total']} of "
                f"{r['accepted']} acked; rss {r['server_rss_mb']} MB",
                flush=True,
            )
        ok = all(
            r["joined"] == a.attendees
            and not r["refused"]
            and not r["errors"]
            and r["tally_total"] == r["accepted"] == a.attendees
            for r in results.values()
        )
        ratio = None
        if {"mvoting", "peer"} <= results.keys():
            mv, peer = results["mvoting"], results["peer"]
            ratio = {
                k: round(mv[k] / peer[k], 2) if mv[k] and peer[k] else None
                for k in ("join_p50_ms", "join_p99_ms")
            }
            print(f"joinstorm: mvoting / peer: {ratio}", flush=True)
        print(json.dumps({"bench": "joinstorm", "rate": a.rate, "results": results,
                          "ratio_to_peer": ratio, "ok": ok}), flush=True)  # fmt: skip
        return 0 if ok else 1
    finally:
        stop_all(servers, valkey, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--attendees", type=int, default=3000)
    ap.add_argument("--rate", type=int, default=300, help="new attendees per second")
    ap.add_argument("--only", choices=["mvoting", "peer"], help="storm one server only")
    a = ap.parse_args(argv)
    if a.attendees < 1 or a.rate < 1:
        ap.error("--attendees and --rate must be at least 1")
    return run_guarded("joinstorm", run, a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"joinstorm: {exc}", file=sys.stderr)
        sys.exit(2)
