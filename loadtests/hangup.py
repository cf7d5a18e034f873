#!/usr/bin/env python3
"""Hang-ups: what the web process spends when a hall of attendees closes their sockets.

In ``make bench`` the attendees hang up inside the metered window (``burst.py
--hang-up at-once``), one after another as its reference client does, and for both
servers that costs more than the ballots. This measures that part alone, for mvoting
and the Node.js peer in the same run: ``--attendees`` sockets connect and join a room,
the process is left quiet for ``--quiet`` seconds (mvoting collects its garbage when
quiet: not in the measured part), then the attendees close their websockets one after
another (a close frame, the server's echo, the end of the connection) while the web
process's CPU time is read before and after. Each of ``--rounds`` rounds connects a
fresh set.

It prints, per server, each round's CPU per hang-up (µs) and the wall time the closes
took, their median, the ratio mvoting / peer, and one JSON line.

    hangup.py [--attendees 2000] [--rounds 5] [--only mvoting|peer]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import (
    PEER_SRC,
    BenchError,
    Server,
    _cpu_seconds,
    bundled,
    code_version,
    prepare_peer,
    raise_open_files_limit,
    run_guarded,
    start_servers,
    stop_all,
)
from burst import call, open_socket


async def _round(url: str, room: str, password: str, pid: int, a: argparse.Namespace) -> dict:
    socks: list[Any] = []

    async def attendee() -> None:
        ws = await open_socket(url, "/socket.io/")
        joined = await call(ws, 1, "join", {"room": room, "password": password})
        if not joined or not joined.get("ok"):
            raise BenchError(f"join refused: {joined}")
        socks.append(ws)

    for first in range(0, a.attendees, 100):
        await asyncio.gather(*(attendee() for _ in range(min(100, a.attendees - first))))
    await asyncio.sleep(a.quiet)
    cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
    for ws in socks:
        await ws.close()
    wall = time.perf_counter() - t0
    await asyncio.sleep(0.3)  # the last ones' disconnects run on the server
    cpu = _cpu_seconds(pid) - cpu0
    return {"cpu_us": round(cpu / len(socks) * 1e6, 1), "wall_s": round(wall, 3)}


def measure(server: Server, a: argparse.Namespace) -> dict[str, Any]:
    target = server.next_target(1)
    rounds = [
        asyncio.run(_round(server.url, target.room, target.password, server.pid, a))
        for _ in range(a.rounds)
    ]
    median = statistics.median(r["cpu_us"] for r in rounds)
    shown = "  ".join(f"{r['cpu_us']:.0f} µs / {r['wall_s']:.2f} s" for r in rounds)
    print(f"{server.name:8} per hang-up: {shown}   median {median:.0f} µs", flush=True)
    return {"rounds": rounds, "median_cpu_us": median}


def run(a: argparse.Namespace) -> int:
    warning = raise_open_files_limit(a.attendees)
    if warning:
        print(f"hangup: WARNING: {warning}", file=sys.stderr)
    wanted = ["mvoting", "peer"] if a.only is None else [a.only]
    peer_dir = prepare_peer(PEER_SRC) if "peer" in wanted else None
    version = code_version()
    print(f"hangup: measuring commit {version['head'] or '?'}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-hangup-"))
    valkey = None
    servers: list[Server] = []
    try:
        valkey = bundled.find_or_start(tmp / "valkey")
        start_servers(servers, tmp, valkey.url, wanted, peer_dir)
        results = {s.name: measure(s, a) for s in servers}
        ratio = None
        if len(results) == 2 and results["peer"]["median_cpu_us"]:
            ratio = round(results["mvoting"]["median_cpu_us"] / results["peer"]["median_cpu_us"], 2)
            print(f"mvoting / peer, CPU per hang-up: {ratio}×")
        print(
            json.dumps(
                {
                    "bench": "hangup",
                    "attendees": a.attendees,
                    "rounds": a.rounds,
                    "code": version,
                    "loadavg": [round(x, 2) for x in os.getloadavg()],
                    "servers": results,
                    "ratio_mvoting_over_peer": ratio,
                }
            ),
            flush=True,
        )
        return 0
    finally:
        stop_all(servers, valkey, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attendees", type=int, default=2000, help="sockets per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per server")
    ap.add_argument("--quiet", type=float, default=2.5, help="seconds left quiet before closing")
    ap.add_argument("--only", choices=["mvoting", "peer"], help="measure one server only")
    a = ap.parse_args(argv)
    if a.attendees < 1 or a.rounds < 1:
        ap.error("--attendees and --rounds must be at least 1")
    return run_guarded("hangup", run, a)


if __name__ == "__main__":
    sys.exit(main())
