#!/usr/bin/env python3
"""Scale-out benchmark: one web process against two on the same Valkey, in one run.

It starts (and stops at the end, also on Ctrl-C or failure) one bundled Valkey, node A =
``mvoting serve --data D --port P1`` with its archive worker and node B = ``mvoting
serve --data D --port P2 --no-worker`` on the same data dir and Valkey (``bench.py``'s
helpers). Every burst is ``loadtests/burst.py`` on a fresh room and open question:

- one node:  all N attendees on node A (node B up, idle);
- two nodes: attendee i on node i mod 2, the room spread over both, all ballots at once.

A warm-up burst of each, then ``--bursts`` measured bursts of each, alternating (one,
two, one, ...) so that other load on the machine weighs on both alike; before each burst
it waits until the nodes, the worker and Valkey are quiet. After each burst it closes the
question and waits for the worker to archive and finalize it: every ballot exactly once
means accepted == tally total == archived == N, and each node's presenter saw the full
count with versions in order.

It prints each burst, medians per mode, the **scaling efficiency** (one node's web CPU per
ballot over the two nodes' summed, target >= 0.9: what predicts a second node's gain where
each has cores of its own), the **cross-node cost** per 1,000 ballots (web and Valkey CPU
the second node adds: fan-out of tallies and events, cache refreshes), the ratio two/one
of ballots per second (>= 1.7 where the nodes have cores of their own; this machine's two
cores, shared with the load generator and Valkey, cannot show it), CPU per 1,000 ballots
per node (of the ballots cast through that node), the load generator's CPU and how busy
each core was; then one line of JSON.
Exit status 1 when a burst was not clean, 2 when something could not be started.

Usage:
  scale.py [--attendees 2000] [--bursts 3] [--procs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    BenchError,
    Server,
    Target,
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
    unclean_bursts,
    wait_quiet,
)
from bench import (
    clean as bench_clean,
)

BURST = Path(__file__).resolve().parent / "burst.py"
MODES = {"one": "one node", "two": "two nodes"}
BAR = 1.7
#: Scaling efficiency to reach: one node's web CPU per ballot over two nodes' summed.
EFFICIENCY_BAR = 0.9
NODES = ("node-a", "node-b")


def run_burst(
    mode: str, n: int, a: argparse.Namespace, nodes: list[Server], valkey_pid: int
) -> dict[str, Any]:
    node_a, node_b = nodes
    target: Target = node_a.next_target(n)
    urls = [node_a.url] if mode == "one" else [node_a.url, node_b.url]
    meters = {"node-a": node_a.pid, "node-b": node_b.pid, **node_a.side, "valkey": valkey_pid}
    wait_quiet(list(meters.values()))
    cmd = [
        sys.executable, str(BURST), "--hang-up", "after", *(x for u in urls for x in ("--url", u)),
        "--room", target.room, "--password", target.password, "--question", target.question,
        "--attendees", str(a.attendees), "--procs", str(a.procs), f"--presenter={target.presenter}",
        *(x for k, p in meters.items() for x in ("--meter", f"{k}={p}")),
    ]  # fmt: skip
    done, failure = run_json(cmd, 120 + a.attendees / 50, "burst.py")
    result: dict[str, Any] = {"mode": mode, "question": target.question}
    if done is None:
        return {**result, "failed": failure, "errors": 1, "accepted": 0, "connected": 0}
    result.update(done)
    accepted = result["accepted"] or 0
    final, burst = result.get("final_tally_s"), result.get("burst_s")
    result["tally_lag_s"] = round(final - burst, 3) if final is not None and burst else None
    by_node = {NODES[j]: u["accepted"] for j, u in enumerate(result["per_url"])}
    cpu = result["cpu_s"]
    for node in NODES:
        own = by_node.get(node, 0)
        # Per 1,000 ballots cast through this node; an idle node: per 1,000 of the burst.
        result[f"{node}_ms_per_1k"] = round(cpu[node] * 1e6 / (own or accepted or 1), 1)
    result["web_ms_per_1k"] = round((cpu["node-a"] + cpu["node-b"]) * 1e6 / max(1, accepted), 1)
    result["valkey_ms_per_1k"] = round(cpu["valkey"] * 1e6 / max(1, accepted), 1)
    result["loadgen_ms_per_1k"] = round(result["loadgen_cpu_s"] * 1e6 / max(1, accepted), 1)
    servers_s = sum(cpu.values())
    result["servers_cpu_s"] = round(servers_s, 2)
    result["other_cpu_s"] = round(
        max(0.0, result["machine_cpu_s"] - servers_s - result["loadgen_cpu_s"]), 2
    )
    # If each node had a core of its own (load generator and Valkey elsewhere), the
    # burst could not take less than the busiest node's CPU time: the CPU-bound rate.
    busiest = max(cpu[node] for node in NODES[: len(urls)])
    result["cpu_bound_per_s"] = round(accepted / busiest, 1) if busiest > 0 else None
    assert node_a.after_burst is not None
    result.update(node_a.after_burst(target))
    return result


def clean(r: dict[str, Any], attendees: int) -> bool:
    """``bench.clean``, and every attendee connected, versions in order, all archived."""
    return (
        bench_clean(r, attendees)
        and r.get("connected") == attendees
        and r.get("versions_monotonic") is True
        and r.get("tally_total") == attendees
        and r.get("archived") == attendees
        and r.get("finalized") is True
    )


def burst_line(label: str, r: dict[str, Any]) -> str:
    name = f"{MODES[r['mode']]:9} {label:8}"
    if "failed" in r:
        return f"{name} FAILED: {r['failed']}"
    cpu = r["cpu_s"]
    nodes = "  ".join(
        f"{u['accepted']}/{u['connected']}/{u['errors']} full count {_fmt(u['final_tally_s'])} s"
        for u in r["per_url"]
    )
    busy = "/".join(f"{b * 100:.0f}" for b in r["cores_busy"])
    text = (
        f"{name} burst {_fmt(r['burst_s'])} s  {_fmt(r['ballots_per_s'], 0)}/s"
        f"  ack p50/p99 {_fmt(r['ack_p50_ms'], 1)}/{_fmt(r['ack_p99_ms'], 1)} ms"
        f"  cpu s: A {cpu['node-a']} B {cpu['node-b']} worker {cpu.get('worker', '-')}"
        f" valkey {cpu['valkey']} loadgen {r['loadgen_cpu_s']} other {r['other_cpu_s']}"
        f" in {r['window_s']} s, cores {busy} % busy"
        f"  per node a/c/e: {nodes}"
        f"  total {r['tally_total']} archived {r['archived']}"
        f"{'' if r['finalized'] else ' NOT finalized'}"
    )
    if r.get("procs", 1) > 1:
        text += f"  go skew {r['go_skew_ms']} ms"
    if not r.get("versions_monotonic", True):
        text += "  versions NOT monotonic"
    if r.get("rejected"):
        text += f"  rejected {r['rejected']}"
    if r.get("first_errors"):
        text += f"  first errors {r['first_errors']}"
    return text


ROWS = (
    ("ballots_per_s", "ballots_per_s"),
    ("burst_s (first ballot -> last ack)", "burst_s"),
    ("last ack -> full count on all, s", "tally_lag_s"),
    ("ack p50, ms", "ack_p50_ms"),
    ("ack p99, ms", "ack_p99_ms"),
    ("node A cpu ms/1k (its ballots)", "node-a_ms_per_1k"),
    ("node B cpu ms/1k (its ballots)", "node-b_ms_per_1k"),
    ("web cpu ms/1k (A + B, all)", "web_ms_per_1k"),
    ("valkey cpu ms/1k", "valkey_ms_per_1k"),
    ("node A cpu s", "cpu:node-a"),
    ("node B cpu s", "cpu:node-b"),
    ("worker cpu s (in the window)", "cpu:worker"),
    ("valkey cpu s", "cpu:valkey"),
    ("load generator cpu s", "loadgen_cpu_s"),
    ("load generator cpu ms/1k", "loadgen_ms_per_1k"),
    ("other processes cpu s", "other_cpu_s"),
    ("irq + softirq (machine, charged to any)", "irq_cpu_s"),
    ("metered window, s", "window_s"),
    ("machine cpu s in the window", "machine_cpu_s"),
    ("core 0 busy, %", "core:0"),
    ("core 1 busy, %", "core:1"),
    ("cpu-bound rate (N / busiest node cpu)", "cpu_bound_per_s"),
    ("go skew between loader procs, ms", "go_skew_ms"),
)


def _value(r: dict[str, Any], key: str) -> Any:
    if key.startswith("cpu:"):
        return r.get("cpu_s", {}).get(key[4:])
    if key.startswith("core:"):
        cores = r.get("cores_busy") or []
        i = int(key[5:])
        return cores[i] * 100 if i < len(cores) else None
    return r.get(key)


def medians(bursts: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for _, key in ROWS:
        values = [v for b in bursts if isinstance(v := _value(b, key), int | float)]
        out[key] = round(statistics.median(values), 3) if values else None
    return out


def summary(results: dict[str, list[dict[str, Any]]], a: argparse.Namespace) -> dict[str, Any]:
    med = {mode: medians(results[mode]) for mode in MODES}
    one, two = med["one"]["ballots_per_s"], med["two"]["ballots_per_s"]
    ratio = round(two / one, 2) if one and two else None
    c1, c2 = med["one"]["cpu_bound_per_s"], med["two"]["cpu_bound_per_s"]
    cpu_ratio = round(c2 / c1, 2) if c1 and c2 else None
    print()
    print(
        f"median of {a.bursts} measured bursts per mode, {a.attendees} attendees, "
        f"burst.py --procs {a.procs}, {os.cpu_count()} CPUs shared by everything"
    )
    print(f"{'':40}{'one node':>12}{'two nodes':>12}{'two/one':>10}")
    for label, key in ROWS:
        if key.startswith("core:") and int(key[5:]) >= (os.cpu_count() or 1):
            continue
        r = None
        if med["one"][key] and med["two"][key] is not None:
            r = round(med["two"][key] / med["one"][key], 2)  # type: ignore[operator]
        print(f"{label:40}{_fmt(med['one'][key]):>12}{_fmt(med['two'][key]):>12}{_fmt(r, 2):>10}")
    for mode, name in MODES.items():
        per = ", ".join(
            f"{b.get('accepted')}/{b.get('connected')}/{b.get('errors')}"
            f" total {b.get('tally_total')} archived {b.get('archived')}"
            for b in results[mode]
        )
        print(f"{name:9} accepted/connected/errors per measured burst: {per}")
    # What predicts the gain of a second node where each has cores of its own: the CPU a
    # ballot costs summed over both nodes, against one node's (this machine's two cores
    # cannot show the throughput itself: the load generator and Valkey share them).
    w1, w2 = med["one"]["web_ms_per_1k"], med["two"]["web_ms_per_1k"]
    efficiency = round(w1 / w2, 2) if w1 and w2 else None
    cross = round(w2 - w1, 1) if w1 is not None and w2 is not None else None
    v1, v2 = med["one"]["valkey_ms_per_1k"], med["two"]["valkey_ms_per_1k"]
    cross_valkey = round(v2 - v1, 1) if v1 is not None and v2 is not None else None
    met = "met" if efficiency is not None and efficiency >= EFFICIENCY_BAR else "NOT met"
    print(
        f"scaling efficiency (one node's web cpu per ballot / two nodes' summed): "
        f"{_fmt(efficiency, 2)} (target >= {EFFICIENCY_BAR}: {met})"
    )
    print(
        f"cross-node cost per 1,000 ballots (two nodes - one): web {_fmt(cross, 1)} ms, "
        f"valkey {_fmt(cross_valkey, 1)} ms (fan-out of tallies and events, cache refresh)"
    )
    verdict = "met" if ratio is not None and ratio >= BAR else "NOT met"
    print(
        f"ballots/s two nodes / one node: {_fmt(ratio, 2)} (bar >= {BAR}: {verdict}; "
        "two cores shared with the load generator cannot show it: informational)"
    )
    print(
        f"cpu-bound rate two / one (each node on a core of its own, projected from CPU "
        f"time): {_fmt(cpu_ratio, 2)}"
    )
    return {
        "medians": med,
        "ratio_two_over_one": ratio,
        "cpu_bound_ratio": cpu_ratio,
        "scaling_efficiency": efficiency,
        "cross_node_web_ms_per_1k": cross,
        "cross_node_valkey_ms_per_1k": cross_valkey,
    }


def run(a: argparse.Namespace) -> int:
    warning = raise_open_files_limit(a.attendees)
    if warning:
        print(f"scale: WARNING: {warning}", file=sys.stderr)
    version = code_version()
    print(f"scale: measuring commit {version['head'] or '?'}", flush=True)
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mvoting-scale-"))
    valkey = None
    nodes: list[Server] = []
    try:
        valkey = bundled.find_or_start(tmp / "valkey")
        print(f"scale: Valkey {valkey.url} (pid {valkey.pid}), scratch {tmp}", flush=True)
        nodes.append(start_mvoting(tmp, valkey.url, name="node-a"))
        nodes.append(start_mvoting(tmp, valkey.url, name="node-b", worker=False))
        for s in nodes:
            side = "".join(f", {k} pid {p}" for k, p in s.side.items())
            print(f"scale: {s.name} on {s.url}, web pid {s.pid}{side}", flush=True)
        if "worker" not in nodes[0].side:
            raise BenchError("node A's archive worker was not found")

        results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        warmups = {}
        for mode in MODES:
            warmups[mode] = run_burst(mode, len(warmups), a, nodes, valkey.pid)
            print(burst_line("warm-up", warmups[mode]), flush=True)
        for i in range(1, a.bursts + 1):
            for mode in MODES:
                r = run_burst(mode, 2 * i + (mode == "two"), a, nodes, valkey.pid)
                results[mode].append(r)
                print(burst_line(f"burst {i}", r), flush=True)

        report = summary(results, a)
        failed = unclean_bursts(
            {MODES[m]: (warmups[m], results[m]) for m in MODES}, a.attendees, clean
        )
        report_logs("scale", nodes)
        loadavg = report_load("scale", load0, "shared by the load generator, Valkey and the nodes")
        if failed:
            print(
                "scale: FAILED (errors, accepted/total/archived != "
                f"{a.attendees}, no full count or versions out of order): " + ", ".join(failed),
                file=sys.stderr,
            )
        print(
            json.dumps(
                {
                    "bench": "scale",
                    "attendees": a.attendees,
                    "bursts": a.bursts,
                    "procs": a.procs,
                    "cpus": os.cpu_count(),
                    "code": version,
                    "loadavg": loadavg,
                    **report,
                    "warmups": warmups,
                    "results": results,
                    "failed": failed,
                    "ok": not failed,
                }
            ),
            flush=True,
        )
        return 1 if failed else 0
    finally:
        stop_all(nodes, valkey, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--attendees", type=int, default=2000, help="attendees per burst")
    ap.add_argument("--bursts", type=int, default=3, help="measured bursts per mode")
    ap.add_argument("--procs", type=int, default=1, help="burst.py load-generator processes")
    a = ap.parse_args(argv)
    if not 2 <= a.attendees <= 20_000 or a.procs < 1 or not 1 <= a.bursts <= 20:
        ap.error("--attendees 2..20,000, --bursts 1..20, --procs at least 1")
    return run_guarded("scale", run, a)


if __name__ == "__main__":
    sys.exit(main())
