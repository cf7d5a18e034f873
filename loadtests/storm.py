#!/usr/bin/env python3
"""Attendees who come back: reconnection with the pages' back-off, and the storm after a
web node restarts.

Each attendee is one device (one websocket, raw Engine.IO v4 frames as in ``burst.py``):
it connects, joins with its device token once it has one (``auth.device``, as vote.js
does), casts one ballot with a nonce of its own, and stays connected. Whenever its
connection drops it does what the official Socket.IO client does with the settings of
static/js/vote.js's ``io({...})`` call (read from that file, so this measures what the
page does): it waits ``reconnectionDelay`` × 2^attempt, spread by
``randomizationFactor``, at most ``reconnectionDelayMax``, before each attempt; re-joins;
and sends again the ballot whose ack it did not get, with the same nonce, as vote.js
keeps it ``pending``. With ``--resend`` it also sends again a ballot that *was*
acknowledged, after each re-join: every such resend must be ``already_voted``, and any
``ok`` is a ballot counted twice (``doubled``).

Two commands:

``attend``: the attendees alone, against any URL (a node, or nginx in front of several);
ballots spread over ``--spread`` seconds. Prints one JSON line when every attendee has
a final answer to its ballot and every dropped one has re-joined (or at ``--deadline``):

  attendees, joined       attendees; those that joined at least once
  first_ok                ballots acked ``ok`` on their first send
  resent_ok               ballots sent again (ack lost) and acked ``ok``: the first never
                          reached Valkey
  resent_already_voted    ballots sent again and refused ``already_voted``: the first
                          counted, its ack was lost
  doubled                 an ``ok`` to a ballot already acked ``ok``, or one the re-join
                          listed as voted: must be 0
  counts                  per option, the ballots acked (``ok`` or ``already_voted``);
                          attendee i chooses option i mod ``--options``
  drops, rejoined         connections lost; re-joins after a loss
  rejoin_p50_s, _p99_s, _max_s  from a loss to the re-join's ack
  unfinished, errors      attendees without a final answer or not re-joined; failures

``restart`` (``make bench-storm``): starts one bundled Valkey, node A (``mvoting serve``
with the worker) and node B (``--no-worker``, same data dir); N attendees join node B and
vote; then node B is stopped (``--stop term``: SIGTERM, a deploy; ``kill``: SIGKILL, a
crash) and started again on the same port, or (``cut``) it stays up and every attendee's
connection is cut at once, as when the venue's network drops; all N reconnect at once.
Every attendee sends its ballot again after re-joining (``--resend``). Printed: the
re-join times from the loss (p50/p99/max) and from the node's first answer, doubled
ballots, tally and archive (after closing, the worker's count), node B's resident memory
(VmRSS) idle before, with N joined before the restart, at its peak during the storm, with
N joined again after it, and once they have left; its CPU seconds from its first answer
until all were back (``storm_cpu_s`` in ``storm_wall_s``); the connections its
``/metrics`` counts with N back and once they left (N and 0: no lost one left behind).
Exit status 1 when an attendee did not re-join within 10 s of the node answering, a
ballot was doubled, the tally or the archive is not N, the connections are not N and 0,
or the memory with N joined after is more than 1.25× before.

    loadtests/storm.py attend --url http://127.0.0.1:8080 --room R --password P \\
        --question Q --attendees 1000 --spread 4
    loadtests/storm.py restart --attendees 2000 --procs 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import re
import resource
import secrets
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "static" / "js" / "vote.js"
#: A re-join must come within this long of the restarted node's first answer.
REJOIN_BAR_S = 10.0
#: With N joined after the storm, the node's memory may be this much above before.
MEMORY_BAR = 1.25
CONTEXT = mp.get_context("fork")
STEP_S = 20.0  # one connect, join or vote may take this long before it counts as lost


# --- the page's back-off -----------------------------------------------------------------


def page_settings(page: Path = PAGE) -> dict[str, float]:
    """``reconnectionDelay``, ``reconnectionDelayMax`` (ms) and ``randomizationFactor`` of
    the page's ``io({...})`` call."""
    call = re.search(r"\bio\(\{(.*?)\}\);", page.read_text(), re.S)
    if call is None:
        raise SystemExit(f"storm.py: no io({{...}}) call in {page}")
    found = dict(re.findall(r"\b(reconnection\w*|randomizationFactor):\s*([\d.]+)", call[1]))
    names = ("reconnectionDelay", "reconnectionDelayMax", "randomizationFactor")
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"storm.py: {page}'s io({{...}}) does not set {', '.join(missing)}")
    return {n: float(found[n]) for n in names}


@dataclass
class Backoff:
    """socket.io-client's ``Backoff`` (``contrib/backo2.js``), in seconds."""

    delay: float
    delay_max: float
    jitter: float
    attempts: int = 0

    @classmethod
    def of_page(cls, page: Path = PAGE) -> Backoff:
        s = page_settings(page)
        return cls(
            s["reconnectionDelay"] / 1000,
            s["reconnectionDelayMax"] / 1000,
            s["randomizationFactor"],
        )

    def duration(self) -> float:
        ms = self.delay * 2**self.attempts
        self.attempts += 1
        if self.jitter:
            rand = random.random()
            deviation = rand * self.jitter * ms
            ms = ms - deviation if int(rand * 10) & 1 == 0 else ms + deviation
        return min(ms, self.delay_max)

    def reset(self) -> None:
        self.attempts = 0


# --- one attendee ---------------------------------------------------------------------


def ws_url(url: str) -> str:
    base = url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
    return f"{base}/socket.io/?EIO=4&transport=websocket"


async def recv_packet(ws: ClientConnection) -> str:
    """The next Socket.IO packet, answering Engine.IO pings on the way."""
    while True:
        msg = await ws.recv()
        assert isinstance(msg, str)
        if msg == "2":
            await ws.send("3")
            continue
        return msg


async def open_socket(url: str, auth: dict[str, str] | None) -> ClientConnection:
    ws = await websockets.connect(
        ws_url(url), max_size=None, ping_interval=None, open_timeout=STEP_S, close_timeout=1
    )
    try:
        first = await ws.recv()
        if not isinstance(first, str) or not first.startswith("0"):
            raise RuntimeError(f"unexpected Engine.IO open packet {first[:80]!r}")
        await ws.send("40" + (json.dumps(auth) if auth else ""))
        while True:
            m = await recv_packet(ws)
            if m.startswith("40"):
                return ws
            if m.startswith("44"):
                raise RuntimeError(f"namespace connect refused: {m[:200]}")
    except BaseException:
        await ws.close()
        raise


async def call(ws: ClientConnection, ack_id: int, event: str, payload: Any) -> Any:
    await ws.send(f"42{ack_id}" + json.dumps([event, payload], separators=(",", ":")))
    return await _ack(ws, ack_id)


@dataclass
class Attendee:
    index: int
    choice: int
    nonce: str = field(default_factory=lambda: secrets.token_hex(16))
    device: str | None = None
    joined: bool = False
    connected: bool = False
    answer: str | None = None  #: ``ok`` or ``already_voted``: the ballot is counted
    first_ok: bool = False
    resent_ok: int = 0
    resent_already_voted: int = 0
    doubled: int = 0
    sends: int = 0
    drops: int = 0
    rejoins: list[float] = field(default_factory=list)  #: seconds from a loss to re-join
    rejoined_at: list[float] = field(default_factory=list)  #: wall clock of each re-join
    errors: list[str] = field(default_factory=list)
    cut: bool = False  #: its connection was cut (``--stop cut``)
    attempts_failed: list[str] = field(default_factory=list)  #: connects that failed, why

    def settled(self, drops: int) -> bool:
        return self.answer is not None and self.connected and len(self.rejoins) >= drops

    async def vote(self, ws: ClientConnection, a: argparse.Namespace, voted: bool) -> None:
        """Send the ballot (counted as sent once the frame is written) and hear its ack."""
        resend = self.sends > 0
        payload = {"question": a.question, "choices": [self.choice], "nonce": self.nonce}
        ack_id = 2 + self.sends
        await ws.send(f"42{ack_id}" + json.dumps(["vote", payload], separators=(",", ":")))
        self.sends += 1
        ack = await asyncio.wait_for(_ack(ws, ack_id), STEP_S)
        code = "ok" if ack and ack.get("ok") else (ack or {}).get("error", {}).get("code")
        if code == "ok" and (self.answer is not None or voted):
            self.doubled += 1
        elif code == "ok":
            self.answer = "ok"
            self.first_ok = not resend
            self.resent_ok += resend
        elif code == "already_voted" and resend:
            self.resent_already_voted += 1
            self.answer = self.answer or "already_voted"
        else:
            self.errors.append(f"vote: {code}")

    async def run(
        self, a: argparse.Namespace, vote_at: float, stop: asyncio.Event, cut: asyncio.Event
    ) -> None:
        backoff = Backoff.of_page()
        creds = {"room": a.room, "password": a.password}
        lost_at: float | None = None
        while not stop.is_set():
            try:
                auth = {"device": self.device} if self.device else None
                ws = await asyncio.wait_for(open_socket(a.url, auth), STEP_S)
            except Exception as e:  # refused, 502 from nginx, a timeout: try again later
                self.attempts_failed.append(f"{type(e).__name__}: {e}"[:160])
                await asyncio.sleep(backoff.duration())
                continue
            try:
                joined = await asyncio.wait_for(call(ws, 1, "join", creds), STEP_S)
                if not joined or not joined.get("ok"):
                    self.errors.append(f"join: {json.dumps(joined)[:120]}")
                    await ws.close()
                    await asyncio.sleep(backoff.duration())
                    continue
                backoff.reset()
                self.device, self.joined, self.connected = joined["device"], True, True
                if lost_at is not None:
                    self.rejoins.append(time.monotonic() - lost_at)
                    self.rejoined_at.append(time.time())
                    lost_at = None
                voted = a.question in joined.get("voted", [])
                if self.answer is None or (a.resend and self.sends > 0):
                    if self.sends == 0:
                        await _listen(ws, vote_at - time.time())
                    await self.vote(ws, a, voted)
                await self._stay(ws, stop, cut)
            except (websockets.ConnectionClosed, OSError, TimeoutError):
                pass
            finally:
                await ws.close()
            if not stop.is_set():
                self.connected = False
                self.drops += 1
                lost_at = time.monotonic()
                await asyncio.sleep(backoff.duration())

    async def _stay(self, ws: ClientConnection, stop: asyncio.Event, cut: asyncio.Event) -> None:
        """Connected, answering pings, until ``stop`` or the connection drops; the first
        time ``cut`` is set, the connection is dropped here, as a venue's network drops."""
        reading = asyncio.ensure_future(_drain(ws))
        waits = {reading, asyncio.ensure_future(stop.wait())}
        if not self.cut:
            waits.add(asyncio.ensure_future(cut.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in waits - {reading}:
            w.cancel()
        if reading.done():
            reading.result()  # ConnectionClosed: the connection dropped
        reading.cancel()
        if cut.is_set() and not self.cut and not stop.is_set():
            self.cut = True
            ws.transport.abort()  # no close frame: gone, as when the Wi-Fi goes
            raise ConnectionResetError("cut")


async def _drain(ws: ClientConnection) -> None:
    while True:
        await recv_packet(ws)


async def _listen(ws: ClientConnection, seconds: float) -> None:
    """Connected for ``seconds``, answering pings; ConnectionClosed if it drops."""
    reading = asyncio.ensure_future(_drain(ws))
    await asyncio.wait({reading}, timeout=max(0.0, seconds))
    if reading.done():
        reading.result()
    reading.cancel()


async def _ack(ws: ClientConnection, ack_id: int) -> Any:
    prefix = f"43{ack_id}"
    while True:
        m = await recv_packet(ws)
        if m.startswith(prefix):
            body = json.loads(m[len(prefix) :])
            return body[0] if body else None


def _attend(a: argparse.Namespace, first: int, n: int, start: float, q: Any, cut: Any) -> None:
    """One load-generating process: attendees first .. first+n-1; when ``cut`` (a
    process-shared event) is set, each drops its connection once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def run() -> None:
        stop, cutting = asyncio.Event(), asyncio.Event()

        async def watch_cut() -> None:
            while not cut.is_set():  # noqa: ASYNC110 - a multiprocessing event
                await asyncio.sleep(0.05)
            cutting.set()

        watching = asyncio.create_task(watch_cut())
        people = [Attendee(i, i % a.options) for i in range(first, first + n)]
        tasks = []
        for k, person in enumerate(people):
            vote_at = start + a.spread * random.random()
            tasks.append(asyncio.create_task(person.run(a, vote_at, stop, cutting)))
            if k % 25 == 24:
                await asyncio.sleep(25 / a.connect_rate)
        deadline = time.monotonic() + a.deadline
        told = False
        while time.monotonic() < deadline:
            if not told and all(p.answer and p.connected for p in people):
                q.put({"voted": True})
                told = True
            if all(p.settled(a.drops) for p in people):
                q.put({"settled": True})
                await asyncio.sleep(a.hold)
                break
            await asyncio.sleep(0.1)
        stop.set()
        watching.cancel()
        await asyncio.wait(tasks, timeout=10)
        q.put({"people": [vars(p) for p in people]})

    asyncio.run(run())


def attend(
    a: argparse.Namespace, on_voted: Any = None, on_settled: Any = None, cut: Any = None
) -> dict[str, Any]:
    """Run ``a.attendees`` over ``a.procs`` processes; ``on_voted()`` once all have voted
    and are connected (it may stop a node, or set ``cut``, an event of ``CONTEXT``: the
    attendees go on meanwhile), in a thread; ``on_settled()`` once all are done,
    ``a.hold`` seconds before they hang up."""
    ctx = CONTEXT
    q = ctx.Queue()
    cut = cut if cut is not None else ctx.Event()
    sizes = [a.attendees // a.procs + (i < a.attendees % a.procs) for i in range(a.procs)]
    firsts = [sum(sizes[:i]) for i in range(a.procs)]
    start = time.time() + a.attendees / a.connect_rate + 2.0
    procs = [
        ctx.Process(target=_attend, args=(a, f, n, start, q, cut), daemon=True)
        for f, n in zip(firsts, sizes, strict=True)
    ]
    for p in procs:
        p.start()
    people: list[dict[str, Any]] = []
    voted, settled, parts = 0, 0, 0
    while parts < len(procs):
        msg = q.get(timeout=a.deadline + 60)
        if "voted" in msg:
            voted += 1
            if voted == len(procs) and on_voted is not None:
                threading.Thread(target=on_voted, daemon=True).start()
        elif "settled" in msg:
            settled += 1
            if settled == len(procs) and on_settled is not None:
                threading.Thread(target=on_settled, daemon=True).start()
        else:
            people.extend(msg["people"])
            parts += 1
    for p in procs:
        p.join(10)
    return summarize(people, a)


def _pct(xs: list[float], p: float) -> float | None:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))], 3) if xs else None


def _kinds(failures: Any) -> dict[str, int]:
    """Failures by kind (the exception's name and its message's first words)."""
    kinds: dict[str, int] = {}
    for f in failures:
        kind = " ".join(f.split()[:4])
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5])


def summarize(people: list[dict[str, Any]], a: argparse.Namespace) -> dict[str, Any]:
    rejoins = [s for p in people for s in p["rejoins"]]
    counts = [0] * a.options
    for p in people:
        if p["answer"]:
            counts[p["choice"]] += 1
    errors = [e for p in people for e in p["errors"]]
    return {
        "attendees": len(people),
        "joined": sum(p["joined"] for p in people),
        "answered": sum(p["answer"] is not None for p in people),
        "first_ok": sum(p["first_ok"] for p in people),
        "resent_ok": sum(p["resent_ok"] for p in people),
        "resent_already_voted": sum(p["resent_already_voted"] for p in people),
        "doubled": sum(p["doubled"] for p in people),
        "counts": counts,
        "drops": sum(p["drops"] for p in people),
        "rejoined": len(rejoins),
        "rejoin_p50_s": _pct(rejoins, 0.5),
        "rejoin_p99_s": _pct(rejoins, 0.99),
        "rejoin_max_s": round(max(rejoins), 3) if rejoins else None,
        "rejoin_walls": [t for p in people for t in p["rejoined_at"]],
        "unfinished": sum(
            not (p["answer"] and p["connected"] and len(p["rejoins"]) >= a.drops) for p in people
        ),
        "attempts_failed": sum(len(p["attempts_failed"]) for p in people),
        "why_attempts_failed": _kinds(f for p in people for f in p["attempts_failed"]),
        "errors": len(errors),
        "first_errors": errors[:3],
        "backoff": page_settings(),
    }


# --- the restart benchmark -----------------------------------------------------------


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connections(url: str) -> int:
    """The ``mvoting_connections`` a node's ``/metrics`` counts, all transports."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        text = r.read().decode()
    found = re.findall(r"^mvoting_connections(?:\{[^}]*\})? (\S+)$", text, re.M)
    return int(sum(float(v) for v in found))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return round(kib / 1024, 1)


def restart(a: argparse.Namespace) -> int:
    sys.path.insert(0, str(HERE))
    from bench import (  # the servers' helpers, only for this command
        _stop,
        bundled,
        raise_open_files_limit,
        start_mvoting,
        stop_all,
    )

    warning = raise_open_files_limit(a.attendees)
    if warning:
        print(f"storm: WARNING: {warning}", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-storm-"))
    valkey, nodes = None, []
    finished = threading.Event()
    try:
        valkey = bundled.find_or_start(tmp / "valkey")
        nodes.append(start_mvoting(tmp, valkey.url, name="node-a"))
        nodes.append(start_mvoting(tmp, valkey.url, name="node-b", worker=False))
        node_a, node_b = nodes
        port = int(node_b.url.rsplit(":", 1)[1])
        target = node_a.next_target(0)
        a.url, a.room, a.password, a.question = (
            node_b.url, target.room, target.password, target.question
        )  # fmt: skip
        a.resend, a.drops = True, 1
        print(f"storm: {a.attendees} attendees on node B {node_b.url}; {page_settings()}")
        figures: dict[str, Any] = {"rss_idle_before_mb": rss_mb(node_b.pid)}
        restarted: dict[str, Any] = {}
        # PR_SET_PDEATHSIG (bench.py) stops a node when the *thread* that started it ends:
        # the thread that restarts node B lives until the end of the run (``finished``).

        def restart_node_b() -> None:
            time.sleep(2.0)  # settled: everyone joined and voted
            figures["rss_joined_before_mb"] = rss_mb(nodes[1].pid)
            figures["stop_wall"] = time.time()
            if a.stop == "cut":  # the node stays; every connection to it drops at once
                cut.set()
            elif a.stop == "kill":
                os.killpg(nodes[1].proc.pid, signal.SIGKILL)
                nodes[1].proc.wait()
            else:
                _stop(nodes[1].proc, 20)
            figures["stopped_wall"] = figures["started_wall"] = time.time()
            if a.stop != "cut":
                nodes[1] = start_mvoting(tmp, valkey.url, name="node-b2", worker=False, port=port)
            restarted["ready_wall"] = time.time()
            restarted["cpu0"] = cpu_s(nodes[1].pid)
            peak, pid = 0.0, nodes[1].pid
            while "done" not in restarted:
                peak = max(peak, rss_mb(pid))
                time.sleep(0.2)
            figures["rss_peak_mb"] = peak
            finished.wait()

        def rss_after() -> None:
            restarted["done"] = True
            if "cpu0" in restarted:
                figures["storm_cpu_s"] = round(cpu_s(nodes[1].pid) - restarted["cpu0"], 2)
                figures["storm_wall_s"] = round(time.time() - restarted["ready_wall"], 2)
            time.sleep(a.hold / 2)  # the storm's garbage collected, the node quiet
            figures["rss_joined_after_mb"] = rss_mb(nodes[1].pid)
            figures["connections_after"] = connections(nodes[1].url)

        cut = CONTEXT.Event()
        result = attend(a, on_voted=restart_node_b, on_settled=rss_after, cut=cut)
        walls = result.pop("rejoin_walls")
        if "ready_wall" in restarted and walls:
            after = [t - restarted["ready_wall"] for t in walls]
            result["rejoin_after_ready_p50_s"] = _pct(after, 0.5)
            result["rejoin_after_ready_p99_s"] = _pct(after, 0.99)
            result["rejoin_after_ready_max_s"] = round(max(after), 3)
            result["stop_s"] = round(figures.pop("stopped_wall") - figures.pop("stop_wall"), 3)
            result["restart_s"] = round(restarted["ready_wall"] - figures["started_wall"], 3)
        time.sleep(3.0)  # they hung up; the node let go of them
        figures["connections_left_after"] = connections(nodes[1].url)
        figures["rss_left_after_mb"] = rss_mb(nodes[1].pid)
        final = nodes[0].after_burst(target) if nodes[0].after_burst else {}
        report = {"bench": "storm", "stop": a.stop, **result, **figures, **final}
        report.pop("started_wall", None)
        failed, missed = [], []
        if result["rejoined"] < a.attendees or result["unfinished"] or result["errors"]:
            failed.append("not every attendee re-joined")
        if result["doubled"]:
            failed.append("a ballot counted twice")
        if (final.get("tally_total"), final.get("archived")) != (a.attendees, a.attendees):
            failed.append("tally or archive is not N")
        if (figures.get("connections_after"), figures["connections_left_after"]) != (
            a.attendees,
            0,
        ):
            failed.append("the node counts connections that are gone")
        if (report.get("rejoin_after_ready_max_s") or 1e9) > REJOIN_BAR_S:
            missed.append(f"a re-join came later than {REJOIN_BAR_S:.0f} s after the restart")
        joined_before = figures.get("rss_joined_before_mb") or 0
        joined_after = figures.get("rss_joined_after_mb") or 0
        if not joined_before or joined_after > MEMORY_BAR * joined_before:
            missed.append(f"memory with N joined after > {MEMORY_BAR}× before")
        report["failed"], report["bars_missed"] = failed, missed
        print(json.dumps(report), flush=True)
        return 1 if failed or missed else 0
    finally:
        finished.set()
        stop_all(nodes, valkey, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True)
    at = sub.add_parser("attend", help="attendees that reconnect, against a URL")
    at.add_argument("--url", required=True)
    at.add_argument("--room", required=True)
    at.add_argument("--password", required=True)
    at.add_argument("--question", required=True)
    at.add_argument("--resend", action="store_true", help="send an acked ballot again too")
    at.add_argument("--drops", type=int, default=0, help="losses each attendee must see")
    at.add_argument("--spread", type=float, default=0.0, help="seconds the ballots spread over")
    re_ = sub.add_parser("restart", help="N attendees on a node that is restarted")
    re_.add_argument(
        "--stop",
        choices=("term", "kill", "cut"),
        default="term",
        help="SIGTERM node B (a deploy), SIGKILL it (a crash), or keep it and cut every "
        "connection to it at once (the venue's network drops)",
    )
    for p in (at, re_):
        p.add_argument("--attendees", type=int, default=2000)
        p.add_argument("--options", type=int, default=4)
        p.add_argument("--procs", type=int, default=1, help="load-generating processes")
        p.add_argument("--connect-rate", type=int, default=500, help="new connections a second")
        p.add_argument("--deadline", type=float, default=90.0, help="seconds in all, at most")
        p.add_argument("--hold", type=float, default=0.0, help="seconds connected once done")
    a = ap.parse_args(argv)
    if a.command == "restart":
        a.spread, a.hold = 0.0, max(a.hold, 6.0)
        return restart(a)
    result = attend(a)
    del result["rejoin_walls"]
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
