#!/usr/bin/env python3
"""Many attendees connected and idle: does one process hold them all, and at what cost?

N attendees connect over Socket.IO (websocket), join one room, then stay idle for
--seconds answering Engine.IO heartbeats, the way a hall waits between questions. Prints
one JSON line: connected, dropped (connections the server closed), the server's resident
memory and growth per connection, and its CPU while idle.

    loadtests/idle.py --url http://127.0.0.1:8000 --room 123456 --password pw \\
        --attendees 10000 --seconds 60 --procs 4 --pid SERVER_PID

Needs only ``websockets``. Bounded in count and time, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import time
from typing import Any

import websockets


def _ws_url(url: str) -> str:
    return url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + (
        "/socket.io/?EIO=4&transport=websocket"
    )


async def _attendee(a: Any, stop_at: float, counts: dict[str, int]) -> None:
    try:
        ws = await websockets.connect(
            _ws_url(a.url), ping_interval=None, open_timeout=120, close_timeout=1, max_size=None
        )
        await ws.recv()  # the Engine.IO open packet
        await ws.send("40")
        while not (await ws.recv()).startswith("40"):
            pass
        await ws.send("421" + json.dumps(["join", {"room": a.room, "password": a.password}]))
        while True:
            m = await ws.recv()
            if m == "2":
                await ws.send("3")
            elif m.startswith("431"):
                if '"ok":true' not in m:
                    counts["refused"] += 1
                    await ws.close()
                    return
                break
    except Exception:  # the report counts every failure kind
        counts["failed"] += 1
        return
    counts["connected"] += 1
    try:
        while True:
            left = stop_at - time.time()
            if left <= 0:
                break
            try:
                m = await asyncio.wait_for(ws.recv(), timeout=min(left, 5))
            except TimeoutError:
                continue
            if m == "2":  # the server's heartbeat
                await ws.send("3")
                counts["pings"] += 1
    except websockets.ConnectionClosed:
        counts["dropped"] += 1
        return
    await ws.close()


def _worker(a: Any, n: int, ready_by: float, stop_at: float, q: Any) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def run() -> None:
        counts = {"connected": 0, "failed": 0, "refused": 0, "dropped": 0, "pings": 0}
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(_attendee(a, stop_at, counts)))
            if i % 100 == 99:
                await asyncio.sleep(0.1 * a.procs)
        await asyncio.gather(*tasks)
        q.put(counts)

    asyncio.run(run())


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--room", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--attendees", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=60.0, help="idle time once all joined")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--pid", type=int, required=True, help="the server process to meter")
    a = ap.parse_args()
    rss0 = _rss_kib(a.pid)
    connect_time = a.attendees / 400 + 10
    ready_by = time.time() + connect_time
    stop_at = ready_by + a.seconds
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    per = [a.attendees // a.procs + (i < a.attendees % a.procs) for i in range(a.procs)]
    procs = [ctx.Process(target=_worker, args=(a, n, ready_by, stop_at, q)) for n in per]
    for p in procs:
        p.start()
    while time.time() < ready_by:
        time.sleep(0.2)
    rss1, cpu1 = _rss_kib(a.pid), _cpu_s(a.pid)
    while time.time() < stop_at - 1:
        time.sleep(0.2)
    rss2, cpu2 = _rss_kib(a.pid), _cpu_s(a.pid)
    parts = [q.get() for _ in procs]
    for p in procs:
        p.join()
    total = {k: sum(p[k] for p in parts) for k in parts[0]}
    idle_s = max(0.001, a.seconds - 1)
    print(
        json.dumps(
            {
                "attendees": a.attendees,
                **total,
                "idle_s": round(idle_s, 1),
                "server_rss_mb": round(rss2 / 1024, 1),
                "kib_per_conn": round((rss1 - rss0) / max(1, total["connected"]), 1),
                "idle_cpu_ms_per_s": round((cpu2 - cpu1) * 1000 / idle_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
