#!/usr/bin/env python3
"""The citywide day: a participatory budget's citizens vote over one simulated day.

Seoul's scale by default: 250,000 citizens, 50 polls open at once, the day's 24 hours
compressed into ``--minutes`` of wall time. Each citizen casts one ballot on one poll,
chosen with a skewed popularity (Zipf, ``--skew``: poll k draws 1/k^s of the ballots), at
a moment drawn from the day's profile (``profile``): a quiet night (2 % of the ballots
from 00:00 to 06:00), a trickle through the day, a morning peak at 08:30, a lunch peak at
12:30 and the day's highest at 20:30 (a third of the ballots in its hour), the peaks'
width chosen so that the busiest minute of the simulated day has 10 times the mean rate.

Everything runs here, started and stopped by this script: a bundled 3-node Valkey
Cluster (never port 6379), a bundled single Valkey for the scheduled jobs (arq needs one
server: ``MVOTING_JOBS_REDIS_URL``), a fresh PostgreSQL database ``mvcity_<hex>`` at
127.0.0.1:5432 (dropped at the end), ``mvoting serve`` (its archive worker, ledger, jobs
and local witnesses) and ``--nodes`` - 1 more web nodes without a worker, configured by
the data directory's ``.env``. The citizens' accounts are inserted in bulk into the
``citizens`` table (``phone_ref`` by the project's pepper function, one shared password
hash: nobody signs in by password) and their sessions begun with ``live.sessions.begin``
in Valkey, each signed into the session cookie the way the session middleware signs it;
no sign-up, no text message. The polls are made with ``live.polls.store.create_poll`` and
opened by the jobs. ``loadtests/cityvoters.py`` (``--procs`` processes) plays the voters.

Measured throughout, one line every ``--interval`` seconds of wall time: ballots acked,
refused and failed; ack p50/p99 (vote sent -> ack); **archive lag** p50/p99 (the
ballot's ``cast_ms``, stamped by the web node before its ack, -> its row committed in
the archive with its ledger entry, seen by polling the ``ballots`` table every 0.2 s:
an upper bound by up to a poll period); the resident memory of every process (web nodes,
worker, witnesses, each Valkey, the load generators). At the end every poll is closed
and, once the worker finalized it, checked: ballots acked == live tally total ==
archived count == archive rows == ballot entries of its ledger log (and the log's size
== those + its opening and closing).

Exit status 1 if a ballot was lost or doubled, a voter not served, or the archive lag
p99 over 2 s in any interval; 2 if something could not start; 130 if interrupted.

    cityday.py --citizens 5000 --minutes 2        # small
    cityday.py                                    # 250,000 over 20 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import json
import math
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from bench import (
    MV_PREFIX,
    ROOT,
    BenchError,
    Server,
    _cpu_seconds,
    _die_with_parent,
    _stop,
    bundled,
    code_version,
    raise_open_files_limit,
    report_load,
    report_logs,
    run_guarded,
    start_mvoting,
    stop_all,
)
from burst import rss_kib
from itsdangerous import TimestampSigner

from live import passwords, sessions, store
from live.clock import new_id, now_ms
from live.engines import db
from live.engines.bundled_cluster import EmbeddedCluster, start_cluster
from live.polls import store as polls
from live.services import Services, open_services
from live.settings import load_settings
from rooms.areas import Area
from rooms.citizens.phones import normalise, phone_ref
from rooms.polls import Author, PollKind, PollSpec
from rooms.questions import build_question
from rooms.visibility import Visibility

HERE = Path(__file__).resolve().parent
VOTERS = HERE / "cityvoters.py"
PG = "postgresql://postgres@127.0.0.1:5432"
OPTIONS = "A,B,C,D"
PEAK_TO_MEAN = 10.0
#: The bar: archive lag p99 in every interval.
LAG_BAR_S = 2.0
#: Memory is "flat" when it grows less than this over the last third of the day.
FLAT = 0.05
DAY_S = 86_400
BINS = 1440  # the profile's resolution: one simulated minute


# --- the day -------------------------------------------------------------------------------


def _shape(hour: float, width: float) -> float:
    """The day's rate at ``hour`` (relative): a floor, low at night and higher from 07:00
    to 23:00, and three peaks whose widths scale with ``width``."""

    def bump(mu: float, sd: float) -> float:
        return math.exp(-0.5 * ((hour - mu) / (sd * width)) ** 2)

    def ramp(at: float) -> float:  # 0 before ``at``, 1 an hour after, smoothly
        x = min(max(hour - at, 0.0), 1.0)
        return x * x * (3 - 2 * x)

    awake = ramp(6.5) * (1 - ramp(22.5))
    return (
        0.01  # the night
        + 0.05 * awake  # the day's trickle
        + 0.45 * bump(8.5, 0.8)  # the morning commute
        + 0.25 * bump(12.5, 0.6)  # lunch
        + 1.00 * bump(20.5, 1.0)  # the evening, the day's peak
    )


def profile(peak_to_mean: float = PEAK_TO_MEAN) -> list[float]:
    """Each simulated minute's share of the day's ballots: ``_shape`` with the peaks'
    width that makes the busiest minute ``peak_to_mean`` times the mean (by bisection)."""

    def minutes(width: float) -> list[float]:
        return [_shape((i + 0.5) * 24 / BINS, width) for i in range(BINS)]

    def ratio(width: float) -> float:
        w = minutes(width)
        return max(w) * len(w) / sum(w)

    lo, hi = 0.02, 5.0  # wider peaks, a lower ratio
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ratio(mid) > peak_to_mean else (lo, mid)
    w = minutes(lo)
    total = sum(w)
    return [x / total for x in w]


def plan_day(
    citizens: int, polls: int, seconds: float, skew: float, rng: random.Random
) -> tuple[list[float], list[int]]:
    """Each citizen's moment (wall seconds from the start, sorted) and poll index."""
    shares = profile()
    cum = []
    acc = 0.0
    for s in shares:
        acc += s
        cum.append(acc)
    moments = []
    for _ in range(citizens):
        i = min(bisect.bisect_left(cum, rng.random() * acc), BINS - 1)
        moments.append((i + rng.random()) / BINS * seconds)
    moments.sort()
    weights = [1 / (k + 1) ** skew for k in range(polls)]
    chosen = rng.choices(range(polls), weights=weights, k=citizens)
    return moments, chosen


# --- set-up --------------------------------------------------------------------------------


async def _administer(statement: str) -> None:
    """One statement on the server's ``postgres`` database (databases are made there)."""
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(name: str) -> None:
    await _administer(f'CREATE DATABASE "{name}"')


async def drop_database(name: str) -> None:
    await _administer(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def phone_of(i: int) -> str:
    return f"010-{1000 + i // 10_000:04d}-{i % 10_000:04d}"


async def make_citizens(svc: Services, n: int) -> list[str]:
    """``n`` + 1 citizens in bulk (the last one authors the polls); their ids."""
    pepper = svc.settings.phone_pepper.reveal()
    shared = await passwords.hash_password(svc.settings, secrets.token_urlsafe(24))
    at = now_ms()
    ids = [new_id() for _ in range(n + 1)]
    chunk = 5000
    async with svc.engine.begin() as conn:
        for start in range(0, n + 1, chunk):
            rows = [
                {
                    "id": ids[i],
                    "phone_ref": phone_ref(pepper, normalise(phone_of(i))),
                    "name": "",
                    "password_hash": shared,
                    "created_ms": at,
                }
                for i in range(start, min(n + 1, start + chunk))
            ]
            await conn.execute(db.citizens.insert(), rows)
    return ids


async def begin_sessions(svc: Services, ids: list[str]) -> list[str]:
    """A session for each citizen (``live.sessions.begin``) and its signed cookie."""
    signer = TimestampSigner(svc.settings.secret.reveal().decode())
    cookies: list[str] = []
    batch = 500
    for start in range(0, len(ids), batch):
        jars: list[dict[str, Any]] = [{} for _ in ids[start : start + batch]]
        await asyncio.gather(
            *(
                sessions.begin(svc, jar, cid, 0, sessions.CITIZENS)
                for jar, cid in zip(jars, ids[start : start + batch], strict=True)
            )
        )
        for jar in jars:  # as starlette's SessionMiddleware signs the session
            data = base64.b64encode(json.dumps(jar).encode())
            cookies.append(signer.sign(data).decode())
    return cookies


async def make_polls(svc: Services, author: str, n: int, minutes: float) -> list[dict[str, Any]]:
    opens = now_ms()
    closes = opens + int((minutes + 60) * 60_000)
    made = []
    areas = list(Area)
    for k in range(n):
        spec = PollSpec(
            PollKind.GENERAL,
            f"Budget proposal {k + 1}",
            "Which of the district's projects should the budget fund first?",
            areas[k % len(areas)],
            ("budget",),
            opens,
            closes,
            Visibility.LIVE,
        )
        question = build_question(f"Proposal {k + 1}: your pick", "single", OPTIONS)
        poll = await polls.create_poll(svc, spec, [question], Author(citizen_id=author))
        made.append({"id": poll.id, "question": poll.question_ids[0], "options": 4})
    return made


async def wait_open(svc: Services, ids: list[str], within: float = 90) -> None:
    deadline = time.monotonic() + within
    while True:
        async with svc.engine.connect() as conn:
            n = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(db.polls)
                .where(db.polls.c.id.in_(ids), db.polls.c.status == "open")
            )
        if n == len(ids):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"only {n} of {len(ids)} polls opened in {within:.0f} s")
        await asyncio.sleep(0.2)


# --- measuring -----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


class Archive:
    """Polls the ``ballots`` table: each new row's lag (seen now - its ``cast_ms``)."""

    def __init__(self, url: str, start_at: float, interval: float) -> None:
        self.url, self.start_at, self.interval = url, start_at, interval
        self.last = 0
        self.count = 0
        self.lags: list[float] = []
        self.by_interval: dict[int, list[float]] = {}
        self.conn: asyncpg.Connection | None = None

    async def poll(self) -> None:
        if self.conn is None:
            self.conn = await asyncpg.connect(self.url)
        while True:
            rows = await self.conn.fetch(
                "SELECT id, cast_ms FROM ballots WHERE id > $1 ORDER BY id LIMIT 50000", self.last
            )
            if not rows:
                return
            seen = time.time()
            k = max(0, int((seen - self.start_at) // self.interval))
            bucket = self.by_interval.setdefault(k, [])
            for r in rows:
                lag = max(0.0, seen - r["cast_ms"] / 1000)
                self.lags.append(lag)
                bucket.append(lag)
            self.last = rows[-1]["id"]
            self.count += len(rows)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class Loaders:
    """The load generators' report lines, read as they come."""

    def __init__(self, outs: list[Path]) -> None:
        self.outs = outs
        self.pos = [0] * len(outs)
        self.partial = [""] * len(outs)
        self.bins: dict[int, list[dict[str, Any]]] = {}
        self.finals: list[dict[str, Any]] = []

    def read(self) -> None:
        for i, path in enumerate(self.outs):
            try:
                with open(path) as f:
                    f.seek(self.pos[i])
                    text = f.read()
                    self.pos[i] = f.tell()
            except FileNotFoundError:
                continue
            text = self.partial[i] + text
            lines = text.split("\n")
            self.partial[i] = lines.pop()
            for line in lines:
                if not line:
                    continue
                m = json.loads(line)
                if m.get("final"):
                    self.finals.append(m)
                else:
                    self.bins.setdefault(m["k"], []).append(m)

    def interval(self, k: int) -> dict[str, Any]:
        parts = self.bins.get(k, [])
        out: dict[str, Any] = {"reports": len(parts), "started": 0, "accepted": 0}
        refused: dict[str, int] = {}
        errors: dict[str, int] = {}
        acks: list[float] = []
        connects: list[float] = []
        joins: list[float] = []
        for p in parts:
            connects += p.get("connect_ms", [])
            joins += p.get("join_ms", [])
            out["started"] += p["started"]
            out["accepted"] += p["accepted"]
            for c, n in p["refused"].items():
                refused[c] = refused.get(c, 0) + n
            for c, n in p["errors"].items():
                errors[c] = errors.get(c, 0) + n
            acks += p["ack_ms"]
        out["refused"], out["errors"], out["ack_ms"] = refused, errors, acks
        out["connect_ms"], out["join_ms"] = connects, joins
        out["late_max_s"] = max((p["late_max_s"] for p in parts), default=0.0)
        out["inflight_max"] = sum(p["inflight_max"] for p in parts)
        return out


def memory(pids: dict[str, int]) -> dict[str, float]:
    return {label: round(rss_kib([pid]) / 1024, 1) for label, pid in pids.items()}


def _f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def sim_clock(t: float, seconds: float) -> str:
    s = min(max(t, 0.0), seconds) / seconds * DAY_S
    return f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}"


async def check_polls(
    svc: Services, made: list[dict[str, Any]], acked: dict[str, int]
) -> list[dict[str, Any]]:
    """Per poll: acked, live tally, archived count, archive rows, ballot entries of its
    log and the log's size, once finalized."""
    out = []
    async with svc.engine.connect() as conn:
        for p in made:
            qid = p["question"]
            q = (await conn.execute(sa.select(db.questions).where(db.questions.c.id == qid))).one()
            rows = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(db.ballots)
                .where(db.ballots.c.question_id == qid)
            )
            size, logged, verification = None, None, None
            if q.log_id is not None:
                log = (
                    await conn.execute(
                        sa.select(db.ledger_logs).where(db.ledger_logs.c.id == q.log_id)
                    )
                ).one()
                size, verification = log.size, log.verification
                e, b = db.ledger_entries, db.ballots
                logged = await conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(e.join(b, b.c.receipt == e.c.leaf_hash))
                    .where(e.c.log_id == q.log_id, b.c.question_id == qid)
                )
            loaded = await store.load_question(svc, qid)
            tally = (await store.tallies(svc, [loaded]))[qid] if loaded is not None else {}
            live = int(tally.get("total", 0))
            want = acked.get(p["id"], 0)
            exact = (
                want == live == q.archived_count == rows == logged
                and size == (logged or 0) + 2
                and q.finalized_ms is not None
            )
            out.append(
                {
                    "poll": p["id"], "acked": want, "tally": live, "archived": q.archived_count,
                    "rows": rows, "logged": logged, "log_size": size,
                    "finalized": q.finalized_ms is not None, "verification": verification,
                    "exact": exact,
                }
            )  # fmt: skip
    return out


async def wait_finalized(svc: Services, qids: list[str], within: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        async with svc.engine.connect() as conn:
            n = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(db.questions)
                .where(db.questions.c.id.in_(qids), db.questions.c.finalized_ms.is_not(None))
            )
        if n == len(qids):
            break
        await asyncio.sleep(0.5)
    return round(time.monotonic() - t0, 1)


# --- the run -------------------------------------------------------------------------------


def write_env(
    data: Path, cluster: EmbeddedCluster, jobs_url: str, database: str, extra: list[str]
) -> None:
    data.mkdir(parents=True, exist_ok=True)
    lines = {
        "MVOTING_REDIS_CLUSTER": "1",
        "MVOTING_JOBS_REDIS_URL": jobs_url,
        "DATABASE_URL": f"{PG}/{database}",
        "MVOTING_SECRET": secrets.token_urlsafe(32),
        "MVOTING_PHONE_PEPPER": secrets.token_urlsafe(32),
        # Every voter comes from 127.0.0.1 here; a city's come from many addresses.
        "MVOTING_BALLOTS_PER_ADDRESS": "0",
        **dict(x.split("=", 1) for x in extra),
    }
    (data / ".env").write_text("".join(f"{k}={v}\n" for k, v in lines.items()))


async def day(a: argparse.Namespace, tmp: Path, cluster: EmbeddedCluster, jobs: Any) -> int:
    database = f"mvcity_{secrets.token_hex(4)}"
    data = tmp / "mvoting"
    write_env(data, cluster, jobs.url, database, a.set)
    await create_database(database)
    print(f"cityday: database {database} at {PG}", flush=True)
    servers: list[Server] = []
    loaders: list[subprocess.Popen[bytes]] = []
    try:
        settings = load_settings(
            {}, MVOTING_DATA=str(data), REDIS_URL=cluster.url, MVOTING_KEY_PREFIX=MV_PREFIX
        )
        async with open_services(settings) as svc:
            return await _day(a, tmp, svc, database, cluster, jobs, servers, loaders)
    finally:
        for p in loaders:
            _stop(p, 5)
        stop_all(servers, None, tmp / "none")
        await drop_database(database)
        print(f"cityday: database {database} dropped", flush=True)


async def _day(
    a: argparse.Namespace,
    tmp: Path,
    svc: Services,
    database: str,
    cluster: EmbeddedCluster,
    jobs: Any,
    servers: list[Server],
    loaders: list[subprocess.Popen[bytes]],
) -> int:
    rng = random.Random(a.seed)
    seconds = a.minutes * 60
    t0 = time.monotonic()
    ids = await make_citizens(svc, a.citizens)
    t1 = time.monotonic()
    author, voters = ids[-1], ids[:-1]
    cookies = await begin_sessions(svc, voters)
    t2 = time.monotonic()
    print(
        f"cityday: {a.citizens} citizens inserted in bulk in {t1 - t0:.1f} s, "
        f"their sessions begun in Valkey in {t2 - t1:.1f} s",
        flush=True,
    )
    for i in range(a.nodes):
        servers.append(
            start_mvoting(tmp, cluster.url, name=f"web{i + 1}", worker=(i == 0))
        )  # fmt: skip
    node = servers[0]
    if "worker" not in node.side:
        raise BenchError("the archive worker of `mvoting serve` was not found")
    made = await make_polls(svc, author, a.polls, a.minutes)
    await wait_open(svc, [p["id"] for p in made])
    print(f"cityday: {len(made)} polls open", flush=True)
    moments, chosen = plan_day(a.citizens, a.polls, seconds, a.skew, rng)
    order = list(range(a.citizens))
    rng.shuffle(order)  # who votes when: citizens in no particular order
    plan = write_plan(tmp, moments, chosen, [cookies[i] for i in order], made)

    pids: dict[str, int] = {}
    for s in servers:
        pids[s.name] = s.pid
        for label, pid in s.side.items():
            pids[label] = pid
    for i, proc in enumerate(cluster.processes):
        pids[f"valkey{i + 1}"] = proc.pid
    pids["valkey-jobs"] = jobs.pid
    start_at = time.time() + 3.0 + 0.2 * a.procs
    outs = [tmp / f"voters{i}.jsonl" for i in range(a.procs)]
    loaders += start_loaders(a, tmp, plan, servers, start_at, outs)
    for i, proc in enumerate(loaders):
        pids[f"load{i + 1}"] = proc.pid
    print(
        f"cityday: the day starts: {a.citizens} voters over {a.minutes} min "
        f"(mean {a.citizens / seconds:.1f}/s, busiest minute {a.citizens / seconds * 10:.0f}/s)"
        f", {a.procs} load process(es), processes {pids}",
        flush=True,
    )
    archive = Archive(f"{PG}/{database}", start_at, a.interval)
    feed = Loaders(outs)
    mem0 = memory(pids)
    cpu_prev = {label: _cpu_seconds(pid) for label, pid in pids.items()}
    intervals: list[dict[str, Any]] = []
    cpu0 = time.process_time()
    k = 0
    drain_deadline: float | None = None
    while True:
        await archive.poll()
        feed.read()
        now = time.time()
        day_over = all(p.poll() is not None for p in loaders)
        if now >= start_at + (k + 1) * a.interval + 1.0:
            iv = feed.interval(k)
            lags = archive.by_interval.get(k, [])
            mem = memory(pids)
            cpu_now = {  # an exited process (a load generator, done) keeps its last reading
                label: max(_cpu_seconds(pid), cpu_prev[label]) for label, pid in pids.items()
            }
            busy = {
                label: round((cpu_now[label] - cpu_prev[label]) / a.interval, 3) for label in pids
            }
            cpu_prev = cpu_now
            iv.update(
                cpu_cores=busy,
                k=k,
                end_s=round((k + 1) * a.interval, 1),
                sim=sim_clock((k + 1) * a.interval, seconds),
                archived=len(lags),
                lag_p50_s=pct(lags, 50),
                lag_p99_s=pct(lags, 99),
                lag_max_s=max(lags, default=None),
                rss_mb=mem,
            )
            intervals.append(iv)
            print(interval_line(iv, a.interval), flush=True)
            k += 1
        if day_over:
            if drain_deadline is None:
                feed.read()
                drain_deadline = time.monotonic() + a.drain
            acked = sum(sum(f["accepted_by_poll"].values()) for f in feed.finals)
            caught_up = archive.count >= acked
            printed = k > max([*feed.bins, *archive.by_interval, -1])
            if printed and (caught_up or time.monotonic() > drain_deadline):
                break
        await asyncio.sleep(0.2)
    mem_end = memory(pids)
    feed.read()
    finals = feed.finals
    acked_by_poll: dict[str, int] = {}
    per_second: dict[int, int] = {}
    for f in finals:
        for pid, n in f["accepted_by_poll"].items():
            acked_by_poll[pid] = acked_by_poll.get(pid, 0) + n
        for sec, n in f["per_second"].items():
            per_second[int(sec)] = per_second.get(int(sec), 0) + n
    # Close every poll (its questions close; the worker archives what is left and
    # finalizes each), then check each one.
    t_close = time.monotonic()
    for p in made:
        await polls.close_poll(svc, p["id"])
    finalized_s = await wait_finalized(svc, [p["question"] for p in made], a.drain)
    while True:  # the last ballots' lag, if any came after the day's intervals
        n = archive.count
        await archive.poll()
        if archive.count == n:
            break
    await archive.close()
    checks = await check_polls(svc, made, acked_by_poll)
    report = summarise(a, intervals, archive, finals, per_second, checks, pids, mem0, mem_end)
    report["close_to_finalized_s"] = finalized_s
    report["close_wall_s"] = round(time.monotonic() - t_close, 1)
    report["orchestrator_cpu_s"] = round(time.process_time() - cpu0, 2)
    report_logs("cityday", servers)
    report["log_errors"] = log_errors(servers)
    for s, found in report["log_errors"].items():
        for line, n in found.items():
            print(f"cityday: {s}'s log: {n} x {line}")
    return print_report(a, report, intervals, checks)


def log_errors(servers: list[Server]) -> dict[str, dict[str, int]]:
    """Per server, its logged errors: each traceback's last line (or the ERROR line), counted."""
    found: dict[str, dict[str, int]] = {}
    for s in servers:
        counts: dict[str, int] = {}
        lines = s.log.read_text(errors="replace").splitlines() if s.log.exists() else []
        for i, line in enumerate(lines):
            key = None
            if " ERROR " in line:
                key = re.sub(r" ?\[connection=\w+\]", "", line.split(" ERROR ", 1)[1])[:160]
            elif line.startswith("Traceback"):
                j = i + 1
                while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                    j += 1
                key = lines[j][:160] if j < len(lines) else None
            if key:
                counts[key] = counts.get(key, 0) + 1
        found[s.name] = counts
    return found


def write_plan(
    tmp: Path,
    moments: list[float],
    chosen: list[int],
    cookies: list[str],
    made: list[dict[str, Any]],
) -> Path:
    """The voters' plan (one a line, in time order) and the polls, for ``cityvoters.py``."""
    plan = tmp / "plan.tsv"
    with open(plan, "w") as f:
        for at, poll, cookie in zip(moments, chosen, cookies, strict=True):
            f.write(f"{at:.4f}\t{poll}\t{cookie}\n")
    (tmp / "polls.json").write_text(json.dumps(made))
    return plan


def start_loaders(
    a: argparse.Namespace,
    tmp: Path,
    plan: Path,
    servers: list[Server],
    start_at: float,
    outs: list[Path],
) -> list[subprocess.Popen[bytes]]:
    started = []
    for i in range(a.procs):
        cmd = [
            sys.executable, str(VOTERS), "--plan", str(plan), "--polls", str(tmp / "polls.json"),
            *(x for s in servers for x in ("--url", s.url)), "--start-at", str(start_at),
            "--interval", str(a.interval), "--concurrency", str(a.concurrency),
            "--slice", str(i), "--procs", str(a.procs), "--out", str(outs[i]),
        ]  # fmt: skip
        with open(tmp / f"voters{i}.log", "wb") as log:
            started.append(
                subprocess.Popen(
                    cmd,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent,
                )  # fmt: skip
            )
    return started


def interval_line(iv: dict[str, Any], interval: float) -> str:
    mem = iv["rss_mb"]
    valkeys = "/".join(f"{v:.0f}" for k, v in mem.items() if k.startswith("valkey"))
    webs = "/".join(f"{v:.0f}" for k, v in mem.items() if k.startswith("web"))
    wit = sum(v for k, v in mem.items() if k.startswith("witness"))
    loads = "/".join(f"{v:.0f}" for k, v in mem.items() if k.startswith("load"))
    refused = sum(iv["refused"].values())
    errors = sum(iv["errors"].values())
    cpu = iv["cpu_cores"]

    def cores(prefix: str) -> str:
        return f"{sum(v for k, v in cpu.items() if k.startswith(prefix)):.2f}"

    return (
        f"[{iv['end_s']:6.0f} s  {iv['sim']}]  acked {iv['accepted']:5d} "
        f"({iv['accepted'] / interval:6.1f}/s)  refused {refused} errors {errors}"
        f"  ack p50/p99 {_f(pct(iv['ack_ms'], 50), 0)}/{_f(pct(iv['ack_ms'], 99), 0)} ms"
        f"  archived {iv['archived']:5d} lag p50/p99 {_f(iv['lag_p50_s'])}/{_f(iv['lag_p99_s'])} s"
        f"  connect/join p99 {_f(pct(iv['connect_ms'], 99), 0)}/{_f(pct(iv['join_ms'], 99), 0)} ms"
        f"  late {_f(iv['late_max_s'], 1)} s  conn {iv['inflight_max']}"
        f"  cores web {cores('web')} worker {cores('worker')} witnesses {cores('witness')}"
        f" valkey {cores('valkey')} load {cores('load')}"
        f"  rss MB web {webs} worker {mem.get('worker', 0):.0f} witnesses {wit:.0f}"
        f" valkey {valkeys} load {loads}"
    )


def summarise(
    a: argparse.Namespace,
    intervals: list[dict[str, Any]],
    archive: Archive,
    finals: list[dict[str, Any]],
    per_second: dict[int, int],
    checks: list[dict[str, Any]],
    pids: dict[str, int],
    mem0: dict[str, float],
    mem_end: dict[str, float],
) -> dict[str, Any]:
    seconds = a.minutes * 60
    accepted = sum(iv["accepted"] for iv in intervals)
    refused: dict[str, int] = {}
    errors: dict[str, int] = {}
    acks: list[float] = []
    connects: list[float] = []
    joins: list[float] = []
    cpu_s: dict[str, float] = {}
    for iv in intervals:
        connects += iv["connect_ms"]
        joins += iv["join_ms"]
        for label, share in iv["cpu_cores"].items():
            cpu_s[label] = cpu_s.get(label, 0.0) + share * a.interval
        for c, n in iv["refused"].items():
            refused[c] = refused.get(c, 0) + n
        for c, n in iv["errors"].items():
            errors[c] = errors.get(c, 0) + n
        acks += iv["ack_ms"]
    acked_final = sum(sum(f["accepted_by_poll"].values()) for f in finals)
    day_ivs = [iv for iv in intervals if iv["end_s"] <= seconds + a.interval]
    rates = [iv["accepted"] / a.interval for iv in day_ivs]
    with_lag = [iv for iv in intervals if iv["lag_p99_s"] is not None]
    worst = max(with_lag, key=lambda iv: iv["lag_p99_s"], default=None)
    # Memory: at the start, after warm-up (the first third of the day), at the start of
    # the last third, and at the end (the load over, before the polls are closed).
    third = max(1, len(day_ivs) // 3)
    warm = day_ivs[third - 1]["rss_mb"] if day_ivs else mem0
    late = day_ivs[2 * third - 1]["rss_mb"] if len(day_ivs) >= 2 * third else warm
    mem_rows = {}
    for label in pids:
        if not mem_end.get(label):  # a load generator exits with the day: its last reading
            seen = [iv["rss_mb"].get(label) for iv in intervals if iv["rss_mb"].get(label)]
            mem_end[label] = seen[-1] if seen else 0.0
        base = late.get(label) or 0.0
        growth = (mem_end.get(label, 0.0) - base) / base if base else None
        mem_rows[label] = {
            "start": mem0.get(label), "after_warmup": warm.get(label),
            "last_third_start": late.get(label), "end": mem_end.get(label),
            "peak": max((iv["rss_mb"].get(label, 0.0) for iv in intervals), default=None),
            "last_third_growth": round(growth, 3) if growth is not None else None,
            "flat": growth is not None and growth < FLAT,
        }  # fmt: skip
    lag_bar = bool(with_lag) and all(iv["lag_p99_s"] <= LAG_BAR_S for iv in with_lag)
    return {
        "citizens": a.citizens,
        "minutes": a.minutes,
        "polls": a.polls,
        "voters_planned": a.citizens,
        "loaders_reported": len(finals),
        "accepted": accepted,
        "accepted_final": acked_final,
        "refused": refused,
        "errors": errors,
        "first_errors": [e for f in finals for e in f["first_errors"]][:5],
        "ballots_per_s_mean": round(accepted / seconds, 1),
        "ballots_per_s_peak_interval": round(max(rates, default=0.0), 1),
        "ballots_per_s_peak_second": max(per_second.values(), default=0),
        "peak_to_mean_interval": round(max(rates) / (accepted / seconds), 2) if accepted else None,
        "ack_p50_ms": pct(acks, 50),
        "ack_p99_ms": pct(acks, 99),
        "ack_max_ms": max(acks, default=None),
        "connect_p50_ms": pct(connects, 50),
        "connect_p99_ms": pct(connects, 99),
        "join_p50_ms": pct(joins, 50),
        "join_p99_ms": pct(joins, 99),
        "cpu_ms_per_ballot": {
            label: round(v * 1000 / accepted, 2) if accepted else None for label, v in cpu_s.items()
        },
        "archived_seen": archive.count,
        "lag_p50_s": _r(pct(archive.lags, 50)),
        "lag_p99_s": _r(pct(archive.lags, 99)),
        "lag_max_s": _r(max(archive.lags, default=None)),
        "lag_worst_interval": (
            {
                "end_s": worst["end_s"],
                "p50_s": _r(worst["lag_p50_s"]),
                "p99_s": _r(worst["lag_p99_s"]),
            }
            if worst
            else None
        ),  # fmt: skip
        "lag_bar_met": lag_bar,
        "late_max_s": max((iv["late_max_s"] for iv in intervals), default=0.0),
        "memory_mb": mem_rows,
        "loadgen_cpu_s": [f["cpu_s"] for f in finals],
        "polls_exact": sum(c["exact"] for c in checks),
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def print_report(
    a: argparse.Namespace,
    r: dict[str, Any],
    intervals: list[dict[str, Any]],
    checks: list[dict[str, Any]],
) -> int:
    print()
    print(
        f"citizens {r['citizens']} over {r['minutes']} min on {r['polls']} polls; voters "
        f"planned {r['voters_planned']}; ballots accepted {r['accepted']}; refused "
        f"{r['refused'] or 0}; errors {r['errors'] or 0}"
    )
    if r["first_errors"]:
        print(f"  first errors: {r['first_errors']}")
    print(
        f"ballots/s: mean {r['ballots_per_s_mean']}, peak {r['ballots_per_s_peak_interval']} "
        f"over {a.interval:.0f} s ({r['peak_to_mean_interval']}x the mean), "
        f"{r['ballots_per_s_peak_second']} in the busiest second"
    )
    print(
        f"ack p50/p99/max: {r['ack_p50_ms']}/{r['ack_p99_ms']}/{r['ack_max_ms']} ms (vote sent"
        f" -> ack); connect p50/p99 {r['connect_p50_ms']}/{r['connect_p99_ms']} ms, join "
        f"p50/p99 {r['join_p50_ms']}/{r['join_p99_ms']} ms"
    )
    print(
        "cpu ms per ballot over the day: "
        + ", ".join(f"{k} {_f(v)}" for k, v in r["cpu_ms_per_ballot"].items())
    )
    w = r["lag_worst_interval"] or {}
    print(
        f"archive lag (cast -> archived and logged) p50/p99/max: {r['lag_p50_s']}/"
        f"{r['lag_p99_s']}/{r['lag_max_s']} s over {r['archived_seen']} ballots; worst "
        f"interval p99 {w.get('p99_s')} s (ending at {w.get('end_s')} s); bar p99 <= "
        f"{LAG_BAR_S} s in every interval: {'met' if r['lag_bar_met'] else 'NOT met'}"
    )
    print(f"voters started late by at most {r['late_max_s']} s (bounded concurrency)")
    print(
        f"memory MB (start / after warm-up / last third's start / end / peak; flat = last "
        f"third's growth < {FLAT:.0%}):"
    )
    for label, m in r["memory_mb"].items():
        print(
            f"  {label:12} {_f(m['start'], 1):>7} {_f(m['after_warmup'], 1):>7} "
            f"{_f(m['last_third_start'], 1):>7} {_f(m['end'], 1):>7} {_f(m['peak'], 1):>7}"
            f"  growth {_f(m['last_third_growth'], 3)}  {'flat' if m['flat'] else 'NOT flat'}"
        )
    print(
        f"closing the polls: finalized {r['close_to_finalized_s']} s after the close; "
        f"load generator cpu s {r['loadgen_cpu_s']}"
    )
    print("per poll: acked / live tally / archived / archive rows / logged / log size")
    for c in checks:
        mark = "exact" if c["exact"] else "NOT EXACT"
        print(
            f"  {c['poll']}  {c['acked']} / {c['tally']} / {c['archived']} / {c['rows']} / "
            f"{c['logged']} / {c['log_size']} (+2: opening, closing)  {mark}"
            f"  log {c['verification']}"
        )
    failed = []
    if r["polls_exact"] != len(checks):
        failed.append(f"{len(checks) - r['polls_exact']} polls not exact (lost or doubled)")
    if r["refused"]:
        failed.append(f"ballots refused: {r['refused']}")
    if r["errors"] or r["accepted"] != r["voters_planned"]:
        failed.append(f"voters not served: {r['voters_planned'] - r['accepted']}")
    if not r["lag_bar_met"]:
        failed.append(f"archive lag p99 over {LAG_BAR_S} s")
    print(f"cityday: {'FAILED: ' + '; '.join(failed) if failed else 'ok'}")
    lists = ("ack_ms", "connect_ms", "join_ms")
    slim = [{k: v for k, v in iv.items() if k not in lists} for iv in intervals]
    for iv, full in zip(slim, intervals, strict=True):
        for key in lists:
            iv[key.replace("_ms", "_p50_ms")] = pct(full[key], 50)
            iv[key.replace("_ms", "_p99_ms")] = pct(full[key], 99)
    print(
        json.dumps(
            {
                "bench": "cityday",
                **r,
                "code": code_version(),
                "intervals": slim,
                "polls_checked": checks,
                "failed": failed,
                "ok": not failed,
            }
        ),  # fmt: skip
        flush=True,
    )
    return 1 if failed else 0


def run(a: argparse.Namespace) -> int:
    warning = raise_open_files_limit(a.concurrency * a.procs)
    if warning:
        print(f"cityday: WARNING: {warning}", file=sys.stderr)
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-cityday-"))
    cluster = jobs = None
    try:
        try:
            cluster = start_cluster(tmp / "cluster")
            jobs = bundled.find_or_start(tmp / "jobs")
        except bundled.EmbeddedError as exc:
            raise BenchError(f"Valkey did not start: {exc}") from exc
        print(
            f"cityday: Valkey Cluster on ports {cluster.ports}, jobs' Valkey {jobs.url}, "
            f"scratch {tmp}",
            flush=True,
        )
        try:
            code = asyncio.run(day(a, tmp, cluster, jobs))
        except (OSError, asyncpg.PostgresError) as exc:
            raise BenchError(f"PostgreSQL at {PG}: {exc}") from exc
        report_load("cityday", load0, "other work on the machine makes the figures noisy")
        return code
    finally:
        if jobs is not None:
            jobs.stop()
        if cluster is not None:
            cluster.stop()
        stop_all([], None, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--citizens", type=int, default=250_000, help="citizens, one ballot each")
    ap.add_argument("--minutes", type=float, default=20.0, help="wall minutes for the 24 h day")
    ap.add_argument("--polls", type=int, default=50, help="polls open at once")
    ap.add_argument("--skew", type=float, default=1.0, help="Zipf exponent of poll popularity")
    ap.add_argument("--nodes", type=int, default=1, help="web nodes (the first runs the worker)")
    ap.add_argument("--procs", type=int, default=1, help="load-generating processes")
    ap.add_argument("--concurrency", type=int, default=500, help="voters connected at most, each")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds per report line")
    ap.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the archive")
    ap.add_argument("--seed", type=int, default=1, help="the day's random seed")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every mvoting process (the data directory's .env); repeatable",
    )
    a = ap.parse_args(argv)
    if a.citizens < 1 or a.polls < 1 or a.minutes <= 0 or a.nodes < 1 or a.procs < 1:
        ap.error("--citizens, --polls, --nodes, --procs at least 1; --minutes above 0")
    if any("=" not in x for x in a.set):
        ap.error("--set takes NAME=VALUE")
    if a.citizens > 1_000_000:
        ap.error("--citizens at most 1,000,000 (the phone numbers the bulk set-up makes)")
    return run_guarded("cityday", run, a)


if __name__ == "__main__":
    sys.exit(main())
