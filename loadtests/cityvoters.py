#!/usr/bin/env python3
"""The voters of the citywide day (``cityday.py``): one load-generating process.

It reads the day's plan (one voter a line: ``<seconds from the start>\\t<poll index>\\t
<session cookie>``, in time order), takes every ``--procs``-th line from ``--slice``, and
at each voter's moment opens a websocket (raw Engine.IO frames, like ``burst.py``) with
the voter's session cookie, joins the poll (``join {"poll": id}``), votes once on its
question and hangs up. At most ``--concurrency`` voters are connected at once; a voter
whose moment comes while that many are still connected waits (its lateness is counted).

Every ``--interval`` seconds of wall time from ``--start-at`` it appends one JSON line to
``--out`` with what finished in that interval (by the time each voter's ack came):
``started``, ``accepted``, ``refused`` by code, ``errors`` by step, ``ack_ms`` (vote sent
-> its ack, each), ``connect_ms`` (websocket and namespace open) and ``join_ms`` (the
join's ack) of the same voters, ``late_max_s`` (the latest start after its moment) and
``inflight_max``.
Its last line has ``"final": true``: ballots accepted per poll, acks per wall second,
the first errors and its own CPU seconds.

    cityvoters.py --plan PLAN --polls POLLS.json --url http://127.0.0.1:P \\
        --start-at EPOCH_S --out OUT.jsonl [--slice 0 --procs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from burst import call, ws_url

#: Seconds a connect, a join or a vote may take before it counts as an error.
STEP_S = 60.0


class Bins:
    """What finished in each interval of wall time, flushed once the interval is over."""

    def __init__(self, start_at: float, interval: float) -> None:
        self.start_at, self.interval = start_at, interval
        self.bins: dict[int, dict[str, Any]] = {}
        self.flushed = -1
        self.by_poll: dict[str, int] = {}
        self.per_second: dict[int, int] = {}
        self.first_errors: list[str] = []
        self.inflight = 0

    def at(self, wall: float) -> dict[str, Any]:
        k = max(0, int((wall - self.start_at) // self.interval))
        k = max(k, self.flushed + 1)  # a late report goes to the next open interval
        b = self.bins.get(k)
        if b is None:
            b = self.bins[k] = {
                "k": k, "started": 0, "accepted": 0, "refused": {}, "errors": {},
                "ack_ms": [], "connect_ms": [], "join_ms": [], "late_max_s": 0.0, "inflight_max": 0,
            }  # fmt: skip
        return b

    def error(self, step: str, detail: str) -> None:
        b = self.at(time.time())
        b["errors"][step] = b["errors"].get(step, 0) + 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{step}: {detail}"[:200])

    def flush(self, out: Any, upto: int) -> None:
        """Write every interval before ``upto`` (a closed interval with nothing in it too)."""
        for k in range(self.flushed + 1, upto):
            b = self.bins.pop(k, None) or self.at_empty(k)
            out.write(json.dumps(b, separators=(",", ":")) + "\n")
            self.flushed = k
        out.flush()

    def at_empty(self, k: int) -> dict[str, Any]:
        return {
            "k": k, "started": 0, "accepted": 0, "refused": {}, "errors": {}, "ack_ms": [],
            "connect_ms": [], "join_ms": [], "late_max_s": 0.0, "inflight_max": 0,
        }  # fmt: skip


async def open_socket(url: str, path: str, cookie: str) -> ClientConnection:
    ws = await websockets.connect(
        ws_url(url, path),
        additional_headers={"Cookie": f"mv_session={cookie}"},
        max_size=None,
        ping_interval=None,
        open_timeout=STEP_S,
        close_timeout=1,
    )
    try:
        first = await ws.recv()
        if not isinstance(first, str) or not first.startswith("0"):
            raise RuntimeError(f"unexpected Engine.IO open packet {str(first)[:80]!r}")
        await ws.send("40")
        while True:
            m = await ws.recv()
            assert isinstance(m, str)
            if m == "2":
                await ws.send("3")
            elif m.startswith("40"):
                return ws
            elif m.startswith("44"):
                raise RuntimeError(f"namespace connect refused: {m[:200]}")
    except BaseException:
        await ws.close()
        raise


async def voter(
    url: str, a: argparse.Namespace, cookie: str, poll: dict[str, Any], bins: Bins
) -> None:
    bins.inflight += 1
    b = bins.at(time.time())
    b["inflight_max"] = max(b["inflight_max"], bins.inflight)
    try:
        t0 = time.time()
        try:
            ws = await asyncio.wait_for(open_socket(url, a.path, cookie), STEP_S)
        except Exception as e:  # every failure kind is counted
            bins.error("connect", f"{type(e).__name__}: {e}")
            return
        t1 = time.time()
        try:
            joined = await asyncio.wait_for(call(ws, 1, "join", {"poll": poll["id"]}), STEP_S)
            if not joined or not joined.get("ok") or not joined.get("signed_in"):
                bins.error("join", json.dumps(joined)[:160])
                return
            payload = {"question": poll["question"], "choices": [random.randrange(poll["options"])]}
            t = time.time()
            ack = await asyncio.wait_for(call(ws, 2, "vote", payload), STEP_S)
            done = time.time()
            b = bins.at(done)
            b["ack_ms"].append(round((done - t) * 1000, 1))
            b["connect_ms"].append(round((t1 - t0) * 1000, 1))
            b["join_ms"].append(round((t - t1) * 1000, 1))
            if ack and ack.get("ok"):
                b["accepted"] += 1
                bins.by_poll[poll["id"]] = bins.by_poll.get(poll["id"], 0) + 1
                sec = int(done - bins.start_at)
                bins.per_second[sec] = bins.per_second.get(sec, 0) + 1
            else:
                code = (ack or {}).get("error", {}).get("code", "no_ack")
                b["refused"][code] = b["refused"].get(code, 0) + 1
        except Exception as e:  # counted
            bins.error("vote", f"{type(e).__name__}: {e}")
        finally:
            await ws.close()
    finally:
        bins.inflight -= 1


def read_plan(path: Path, part: int, procs: int) -> list[tuple[float, int, str]]:
    mine = []
    with open(path) as f:
        for i, line in enumerate(f):
            if i % procs == part:
                off, poll, cookie = line.rstrip("\n").split("\t")
                mine.append((float(off), int(poll), cookie))
    return mine


async def run(
    a: argparse.Namespace, polls: list[dict[str, Any]], plan: list[tuple[float, int, str]], out: Any
) -> None:
    bins = Bins(a.start_at, a.interval)
    sem = asyncio.Semaphore(a.concurrency)
    tasks: set[asyncio.Task[None]] = set()
    stop = asyncio.Event()
    cpu0 = time.process_time()

    async def flusher() -> None:
        while not stop.is_set():
            now = int((time.time() - a.start_at) // a.interval)
            bins.flush(out, now)
            await asyncio.sleep(0.25)

    flushing = asyncio.create_task(flusher())
    for i, (off, poll, cookie) in enumerate(plan):
        wait = a.start_at + off - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        await sem.acquire()
        now = time.time()
        b = bins.at(now)
        b["started"] += 1
        b["late_max_s"] = round(max(b["late_max_s"], now - a.start_at - off), 3)
        url = a.url[(i * a.procs + a.slice) % len(a.url)]
        task = asyncio.create_task(voter(url, a, cookie, polls[poll], bins))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(lambda _: sem.release())
    while tasks:
        await asyncio.wait(set(tasks))
    stop.set()
    await flushing
    bins.flush(out, max([*bins.bins, bins.flushed]) + 1)
    final = {
        "final": True,
        "voters": len(plan),
        "accepted_by_poll": bins.by_poll,
        "per_second": bins.per_second,
        "first_errors": bins.first_errors,
        "cpu_s": round(time.process_time() - cpu0, 2),
    }
    out.write(json.dumps(final) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--plan", required=True, help="the day's plan (cityday.py writes it)")
    ap.add_argument("--polls", required=True, help="JSON: [{id, question, options}] by index")
    ap.add_argument("--url", action="append", required=True, help="a web node (repeatable)")
    ap.add_argument("--path", default="/socket.io/")
    ap.add_argument("--start-at", type=float, required=True, help="the day's start, epoch s")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds per report line")
    ap.add_argument("--concurrency", type=int, default=500, help="voters connected at most")
    ap.add_argument("--slice", type=int, default=0, help="this process's part of the plan")
    ap.add_argument("--procs", type=int, default=1, help="load processes sharing the plan")
    ap.add_argument("--out", required=True, help="where the report lines go")
    a = ap.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < a.concurrency + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    polls = json.loads(Path(a.polls).read_text())
    plan = read_plan(Path(a.plan), a.slice, a.procs)
    with open(a.out, "w") as out:
        asyncio.run(run(a, polls, plan, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
