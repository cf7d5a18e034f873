#!/usr/bin/env python3
"""One large room on one web process: every attendee votes within a few seconds and then
watches the live tally on their phone, as a hall does when the presenter opens a question.

It starts (and stops at the end, also on Ctrl-C or failure) one bundled Valkey and
``mvoting serve`` with its archive worker and local witnesses (``bench.py``'s helpers).
For each size of ``--sizes`` (Seoul's largest single vote, 3,290, and 10,000 by default)
it runs a warm-up burst and ``--bursts`` measured ones, each ``loadtests/burst.py
--watch`` on a fresh room with one open question: all attendees join, all vote at one
moment, and every one of them reads the question's tallies after its ack until the watch
ends. After each burst the question is closed and the worker must archive and finalize it.

Per burst it reads the node's ``/metrics`` before and after, for the seconds it spent
handing tallies to attendees (``mvoting_tally_delivery_seconds``): the attendees' rate
adapts to the room so that this stays under ``MVOTING_TALLY_SHARE_PCT`` of a core
(``live/wire/pacing.py``), while the presenter and hosts get every snapshot.

A burst is clean when every attendee connected and was accepted, the tally total and the
archive hold exactly that many ballots, every attendee's screen showed the full count, no
connection dropped, and the presenter showed the full count at most ``LAG_BAR`` seconds
after the last ack. It prints each burst, medians per size, then one line of JSON. Exit
status 1 when a burst was not clean, 2 when something could not be started.

The room's limit of ballots per network address (``MVOTING_BALLOTS_PER_ADDRESS``, 5,000)
is lifted for the run: every attendee here comes from 127.0.0.1.

Usage:
  bigroom.py [--sizes 3290,10000] [--bursts 3] [--procs 2] [--watch 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench import (
    BURST,
    Server,
    _fmt,
    bundled,
    code_version,
    raise_open_files_limit,
    report_load,
    report_logs,
    run_guarded,
    run_json,
    start_mvoting,
    stop_all,
    wait_quiet,
)

#: The bar for the presenter: the full count at most this long after the last ack.
LAG_BAR = 0.5
#: The metrics read around each burst (their ``_total`` samples).
DELIVERY_SECONDS = "mvoting_tally_delivery_seconds_total"
DELIVERIES = "mvoting_tally_deliveries_total"


def read_metrics(server: Server) -> dict[str, float]:
    """The node's counters of tally deliveries, from its ``/metrics``."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {DELIVERY_SECONDS: 0.0, DELIVERIES: 0.0}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in out:
            out[name] = float(value)
    return out


def run_burst(server: Server, n: int, i: int, a: argparse.Namespace) -> dict[str, Any]:
    target = server.next_target(i)
    wait_quiet([server.pid, *server.side.values()])
    before = read_metrics(server)
    cmd = [
        sys.executable, str(BURST), "--url", server.url, "--room", target.room,
        "--password", target.password, "--question", target.question,
        "--attendees", str(n), "--procs", str(a.procs), "--pid", str(server.pid),
        "--watch", str(a.watch), f"--presenter={target.presenter}",
    ]  # fmt: skip
    done, failure = run_json(cmd, 180 + n / 50, "burst.py")
    result: dict[str, Any] = {"attendees": n, "question": target.question}
    if done is None:
        result.update({"failed": failure, "errors": 1, "accepted": 0, "connected": 0})
        return result
    result.update(done)
    after = read_metrics(server)
    delivery = after[DELIVERY_SECONDS] - before[DELIVERY_SECONDS]
    final, burst = result.get("final_tally_s"), result.get("burst_s")
    result["tally_lag_s"] = round(final - burst, 3) if final is not None and burst else None
    last_screen = result.get("watch_final_s")
    result["delivery_s"] = round(delivery, 3)
    result["deliveries"] = int(after[DELIVERIES] - before[DELIVERIES])
    # The share of a core the attendees' tallies took, from the first ballot until the
    # last screen showed the full count.
    result["delivery_share"] = round(delivery / last_screen, 3) if last_screen else None
    assert server.after_burst is not None
    result.update(server.after_burst(target))
    return result


def problems(r: dict[str, Any]) -> list[str]:
    """What keeps a burst from being clean; nothing when it is."""
    n = r["attendees"]
    if "failed" in r:
        return [f"failed: {r['failed']}"]
    found = []
    for key in ("connected", "accepted", "tally_total", "archived", "watch_saw_final"):
        if r.get(key) != n:
            found.append(f"{key} {r.get(key)} != {n}")
    if r.get("errors") or r.get("watch_dropped"):
        found.append(f"errors {r.get('errors')}, dropped {r.get('watch_dropped')}")
    if not r.get("finalized"):
        found.append("not finalized")
    lag = r.get("tally_lag_s")
    if lag is None or lag > LAG_BAR:
        found.append(f"presenter's full count {lag} s after the last ack (bar {LAG_BAR} s)")
    return found


def burst_line(label: str, r: dict[str, Any]) -> str:
    if "failed" in r:
        return f"{r['attendees']:>6} {label:8} FAILED: {r['failed']}"
    text = (
        f"{r['attendees']:>6} {label:8} {r.get('accepted')}/{r.get('connected')} accepted, "
        f"archived {r.get('archived')}, {r.get('errors')} errors, "
        f"{r.get('watch_dropped')} dropped; burst {_fmt(r.get('burst_s'))} s, "
        f"ack p50/p99 {_fmt(r.get('ack_p50_ms'), 0)}/{_fmt(r.get('ack_p99_ms'), 0)} ms; "
        f"presenter +{_fmt(r.get('tally_lag_s'))} s after the last ack; "
        f"{r.get('watch_saw_final')} screens had the full count, the last "
        f"{_fmt(r.get('watch_final_s'))} s after the first ballot, "
        f"{_fmt(r.get('watch_frames_per_attendee'), 1)} tallies each; "
        f"delivery {_fmt(r.get('delivery_share'))} of a core; "
        f"web {_fmt(r.get('cpu_ms_per_1k'), 0)} ms/1k, {_fmt(r.get('kib_per_conn'), 1)} KiB/conn"
    )
    wrong = problems(r)
    return text + (f"  NOT CLEAN: {'; '.join(wrong)}" if wrong else "")


ROWS = (
    ("accepted (of the attendees)", "accepted"),
    ("burst_s (first ballot -> last ack)", "burst_s"),
    ("ack p50, ms", "ack_p50_ms"),
    ("ack p99, ms", "ack_p99_ms"),
    ("presenter: last ack -> full count, s", "tally_lag_s"),
    ("screens with the full count", "watch_saw_final"),
    ("first ballot -> median screen full, s", "watch_final_p50_s"),
    ("first ballot -> last screen full, s", "watch_final_s"),
    ("tallies per attendee", "watch_frames_per_attendee"),
    ("tally delivery, share of a core", "delivery_share"),
    ("web cpu ms per 1k ballots", "cpu_ms_per_1k"),
    ("web rss with all connected, MB", "server_rss_mb"),
    ("close -> archive finalized, s", "close_to_final_s"),
)


def summary(results: dict[int, list[dict[str, Any]]], a: argparse.Namespace) -> dict[str, Any]:
    med: dict[int, dict[str, float | None]] = {}
    for n, bursts in results.items():
        med[n] = {}
        for _, key in ROWS:
            values = [b[key] for b in bursts if isinstance(b.get(key), int | float)]
            med[n][key] = round(statistics.median(values), 3) if values else None
    share = os.environ.get("MVOTING_TALLY_SHARE_PCT", "10")
    print()
    print(
        f"median of {a.bursts} measured bursts per size, burst.py --procs {a.procs} "
        f"--watch {a.watch}; attendees' tally share setting {share} % of a core"
    )
    print(f"{'attendees':40}" + "".join(f"{n:>12}" for n in results))
    for label, key in ROWS:
        print(f"{label:40}" + "".join(f"{_fmt(med[n][key]):>12}" for n in results))
    return {"medians": {str(n): m for n, m in med.items()}, "share_pct_setting": share}


def run(a: argparse.Namespace) -> int:
    warning = raise_open_files_limit(max(a.sizes))
    if warning:
        print(f"bigroom: WARNING: {warning}", file=sys.stderr)
    version = code_version()
    print(f"bigroom: measuring commit {version['head'] or '?'}", flush=True)
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-bigroom-"))
    os.environ["MVOTING_BALLOTS_PER_ADDRESS"] = "0"  # one address for every attendee here
    valkey = None
    servers: list[Server] = []
    try:
        valkey = bundled.find_or_start(tmp / "valkey")
        print(f"bigroom: Valkey {valkey.url} (pid {valkey.pid}), scratch {tmp}", flush=True)
        server = start_mvoting(tmp, valkey.url)
        servers.append(server)
        print(f"bigroom: mvoting on {server.url}, web pid {server.pid}", flush=True)
        results: dict[int, list[dict[str, Any]]] = {}
        warmups: dict[int, dict[str, Any]] = {}
        failed: list[str] = []
        for n in a.sizes:
            warmups[n] = run_burst(server, n, len(warmups) * 100, a)
            print(burst_line("warm-up", warmups[n]), flush=True)
            results[n] = []
            for i in range(1, a.bursts + 1):
                r = run_burst(server, n, len(warmups) * 100 + i, a)
                results[n].append(r)
                print(burst_line(f"burst {i}", r), flush=True)
            failed += [f"{n} warm-up"] * bool(problems(warmups[n]))
            failed += [f"{n} burst {i}" for i, r in enumerate(results[n], 1) if problems(r)]
        report = summary(results, a)
        report_logs("bigroom", servers)
        loadavg = report_load("bigroom", load0, "shared by the load generator and the node")
        if failed:
            print("bigroom: NOT CLEAN: " + ", ".join(failed), file=sys.stderr)
        print(
            json.dumps(
                {
                    "bench": "bigroom",
                    "sizes": a.sizes,
                    "bursts": a.bursts,
                    "procs": a.procs,
                    "watch_s": a.watch,
                    "cpus": os.cpu_count(),
                    "code": version,
                    "loadavg": loadavg,
                    **report,
                    "warmups": {str(n): r for n, r in warmups.items()},
                    "results": {str(n): r for n, r in results.items()},
                    "failed": failed,
                    "ok": not failed,
                }
            ),
            flush=True,
        )
        return 1 if failed else 0
    finally:
        stop_all(servers, valkey, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="3290,10000", help="attendees per room, comma-separated")
    ap.add_argument("--bursts", type=int, default=3, help="measured bursts per size")
    ap.add_argument("--procs", type=int, default=2, help="burst.py load-generator processes")
    ap.add_argument("--watch", type=float, default=8.0, help="seconds the screens are read")
    a = ap.parse_args(argv)
    try:
        a.sizes = [int(s) for s in a.sizes.split(",")]
    except ValueError:
        ap.error("--sizes takes numbers separated by commas, e.g. 3290,10000")
    if not all(2 <= n <= 20_000 for n in a.sizes) or not 1 <= a.bursts <= 20 or a.procs < 1:
        ap.error("--sizes 2..20,000 each, --bursts 1..20, --procs at least 1")
    if not 1 <= a.watch <= 60:
        ap.error("--watch is 1 to 60 seconds")
    return run_guarded("bigroom", run, a)


if __name__ == "__main__":
    sys.exit(main())
