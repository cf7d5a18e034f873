"""``GET /metrics``: the Prometheus counters against a real burst over real sockets, the
worker's drain, the ledger's witnesses, and the Grafana dashboard against what is exported.

The counters are the process's, so each test reads them before and after what it does and
checks the difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from live import store
from live.ledger.local_witnesses import LocalWitnesses
from live.services import Services, open_services
from live.settings import Settings
from rooms.questions import Action
from tests.conftest import Client, Node, connect, free_port, run_node, running_worker
from tests.live.helpers import make_room
from tests.live.test_cli import cli_env

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "mvoting.json"

BURST = 30
WAVE = 10  # ballots cast at once
AGAIN = 6  # of them vote a second time
ON_CLOSED = 4  # of them vote on the closed question


@dataclass
class Scrape:
    """One answer of ``/metrics``, parsed: every sample by name and labels."""

    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    families: set[str]

    def get(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labelled(self, name: str, label: str) -> dict[str, float]:
        """The values of ``name`` by the value of its one ``label``."""
        return {
            dict(key)[label]: value
            for (sample, key), value in self.samples.items()
            if sample == name and label in dict(key)
        }


async def scrape(url: str) -> Scrape:
    async with httpx.AsyncClient() as http:
        response = await http.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    families = set()
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return Scrape(response.text, samples, families)


@contextlib.asynccontextmanager
async def polling_connection(url: str) -> AsyncIterator[None]:
    """A Socket.IO connection over Engine.IO long-polling, spoken by hand (the client
    library's polling close waits out its pending GET): open, connect the namespace,
    then close."""
    async with httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert opened.text.startswith("0")
        sid = json.loads(opened.text[1:])["sid"]
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        assert (await http.post("/socket.io/", params=params, content="40")).text == "OK"
        assert (await http.get("/socket.io/", params=params)).text.startswith("40")
        try:
            yield
        finally:
            await http.post("/socket.io/", params=params, content="1")


def saw_total(client: Client, qid: str, total: int) -> bool:
    return any(t["total"] == total for t in client.tallies(qid))


async def until(check: Callable[[], Any], what: str, seconds: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail saying ``what`` did not happen in time."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"waited {seconds} s for {what}") from None


async def test_a_burst_is_counted_by_outcome_code_transport_and_delivery(
    node: Node, svc: Services, clients: Any
) -> None:
    room = await make_room(svc, {}, {})
    live_q, closed_q = room.questions
    await store.act(svc, closed_q, Action.CLOSE)
    before = await scrape(node.url)
    async with (
        clients(node.url, BURST) as voters,
        connect(node.url) as guesser,
        polling_connection(node.url),
    ):
        joined = await asyncio.gather(*(v.join(room.number, password="pw") for v in voters))
        assert all(ack["ok"] for ack in joined)
        wrong = await guesser.join(room.number, password="not-it")
        assert wrong["error"]["code"] == "bad_credentials"
        connected = await scrape(node.url)

        acks: list[dict[str, Any]] = []
        for wave in range(0, BURST, WAVE):  # each wave's snapshot seen before the next
            acks += await asyncio.gather(
                *(v.vote(live_q, [i % 3]) for i, v in enumerate(voters[wave : wave + WAVE]))
            )
            for v in voters:
                await v.wait_for(functools.partial(saw_total, v, live_q, len(acks)))
        again = await asyncio.gather(*(v.vote(live_q, [0]) for v in voters[:AGAIN]))
        closed = await asyncio.gather(*(v.vote(closed_q, [1]) for v in voters[:ON_CLOSED]))
        assert [a["ok"] for a in acks] == [True] * BURST
        assert {a["error"]["code"] for a in again} == {"already_voted"}
        assert {a["error"]["code"] for a in closed} == {"closed"}

        # A snapshot may still be on its way (one more goes out when a ballot came while
        # the last was in flight): read again until what was handed out has arrived.
        scrapes, received = [], []

        async def arrived() -> bool:
            scrapes.append(await scrape(node.url))
            received.append([t for v in voters for t in v.tallies(live_q)])
            now, seen = scrapes[-1], received[-1]
            handed = now.get("mvoting_tally_deliveries_total")
            timed = now.get("mvoting_broadcast_delay_seconds_count")
            return handed - before.get("mvoting_tally_deliveries_total") == len(seen) and (
                timed - before.get("mvoting_broadcast_delay_seconds_count")
                == len({t["version"] for t in seen})
            )

        await until(arrived, "the tallies handed out to reach the voters")
        after, tallies = scrapes[-1], received[-1]

    def delta(name: str, **labels: str) -> float:
        return after.get(name, **labels) - before.get(name, **labels)

    assert delta("mvoting_ballots_accepted_total") == BURST
    assert delta("mvoting_ballots_refused_total", code="already_voted") == AGAIN
    assert delta("mvoting_ballots_refused_total", code="closed") == ON_CLOSED
    refused = {
        code: n - before.get("mvoting_ballots_refused_total", code=code)
        for code, n in after.labelled("mvoting_ballots_refused_total", "code").items()
    }
    assert sum(refused.values()) == AGAIN + ON_CLOSED  # no other code moved
    assert delta("mvoting_joins_accepted_total") == BURST
    assert delta("mvoting_joins_refused_total", code="bad_credentials") == 1
    # Every refusal code has its series from the start, at zero or more.
    assert "unknown_question" in after.labelled("mvoting_joins_refused_total", "code")

    def open_now(scraped: Scrape, transport: str) -> float:
        return scraped.get("mvoting_connections", transport=transport) - before.get(
            "mvoting_connections", transport=transport
        )

    assert open_now(connected, "websocket") == BURST + 1
    assert open_now(connected, "polling") == 1
    # Each tally frame the node handed out reached a voter (above); each snapshot went out
    # once and was timed once.
    published = {t["version"] for t in tallies}
    assert delta("mvoting_broadcast_delay_seconds_count") == len(published) >= BURST // WAVE
    assert delta("mvoting_broadcast_delay_seconds_sum") > 0
    assert delta("mvoting_broadcast_delay_seconds_bucket", le="+Inf") == len(published)

    async def all_gone() -> bool:
        gone = await scrape(node.url)
        return all(open_now(gone, t) == 0 for t in ("websocket", "polling"))

    await until(all_gone, "the connections to close")


async def test_stream_lag_follows_the_worker_and_its_drain_is_counted(
    node: Node, svc: Services, clients: Any
) -> None:
    room = await make_room(svc, {}, {})
    live_q, closed_q = room.questions
    await store.act(svc, closed_q, Action.CLOSE)
    async with clients(node.url, 12) as voters:
        for v in voters:
            assert (await v.join(room.number, password="pw"))["ok"]
        acks = await asyncio.gather(*(v.vote(live_q, [1]) for v in voters))
        assert all(a["ok"] for a in acks)
    entries = {q: await svc.redis.xlen(svc.keys.stream(q)) for q in room.questions}
    assert entries == {live_q: 1 + 12, closed_q: 2}  # openings, ballots, the closing

    before = await scrape(node.url)
    lag = before.labelled("mvoting_stream_lag_entries", "question")
    # Only the open question is named; the closed one, not yet archived, adds up apart.
    assert lag == {live_q: entries[live_q], "closed": entries[closed_q]}
    assert closed_q not in before.text

    async with running_worker(svc):

        async def drained() -> bool:
            now = await scrape(node.url)
            lag = now.labelled("mvoting_stream_lag_entries", "question")
            # The lag is 0 once the entries are acked; the pass that acked them is counted
            # a moment later, at its end.
            passes = now.get("mvoting_archive_passes_total") - before.get(
                "mvoting_archive_passes_total"
            )
            return lag.get(live_q) == 0 and not lag.get("closed") and passes > 0

        await until(drained, "the worker to archive the streams")
        after = await scrape(node.url)

    archived = after.get("mvoting_archived_entries_total") - before.get(
        "mvoting_archived_entries_total"
    )
    assert archived == sum(entries.values())
    assert after.get("mvoting_dead_letters_total") == before.get("mvoting_dead_letters_total")
    assert after.get("mvoting_archive_passes_total") > before.get("mvoting_archive_passes_total")


async def test_checkpoints_and_each_witness_answer_are_timed_and_a_silent_one_is_missing(
    settings: Settings, node: Node, own_witnesses: LocalWitnesses
) -> None:
    *up, silent = own_witnesses.witnesses
    os.kill(silent.pid, signal.SIGSTOP)
    async with open_services(settings.with_(ledger_policy=own_witnesses.policy_path)) as svc:
        room = await make_room(svc)
        before = await scrape(node.url)
        async with running_worker(svc) as worker:
            worker.ledger.witness_timeout = 1.0  # the silent one never answers
            async with connect(node.url) as voter:
                assert (await voter.join(room.number, password="pw"))["ok"]
                assert (await voter.vote(room.q, [2]))["ok"]
            await store.act(svc, room.q, Action.CLOSE)

            async def judged() -> bool:
                q = await store.load_question(svc, room.q)
                return q is not None and q.verification is not None

            await until(judged, "the poll's verdict", seconds=30)
        after = await scrape(node.url)

    def delta(name: str, **labels: str) -> float:
        return after.get(name, **labels) - before.get(name, **labels)

    def answers(name: str) -> dict[str, float]:
        outcomes = ("cosigned", "refused", "missing")
        return {o: delta("mvoting_cosignatures_total", witness=name, outcome=o) for o in outcomes}

    assert delta("mvoting_checkpoint_seconds_count") >= 1
    assert delta("mvoting_checkpoint_failures_total") == 0
    for witness in up:
        counted = answers(witness.name)
        assert counted["cosigned"] >= 1 and counted["refused"] == counted["missing"] == 0
        assert delta("mvoting_cosignature_seconds_count", witness=witness.name) == sum(
            counted.values()
        )
    counted = answers(silent.name)
    assert counted["missing"] >= 1 and counted["cosigned"] == counted["refused"] == 0
    assert delta("mvoting_cosignature_seconds_count", witness=silent.name) == counted["missing"]


async def test_a_join_refused_under_a_lock_is_a_rate_limit_hit_of_its_kind(
    settings: Settings, svc: Services
) -> None:
    room = await make_room(svc)
    async with run_node(settings.with_(join_failures_per_address=2)) as node:
        before = await scrape(node.url)
        codes = []
        # Two failures are free, the third locks the address: then even the password fails.
        for password in ("wrong", "wrong", "wrong", "pw"):
            async with connect(node.url) as c:
                ack = await c.join(room.number, password=password)
                codes.append(ack["error"]["code"])
        after = await scrape(node.url)
    assert codes == ["bad_credentials"] * 3 + ["rate_limited"]

    def delta(name: str, **labels: str) -> float:
        return after.get(name, **labels) - before.get(name, **labels)

    assert delta("mvoting_rate_limited_total", kind="join") == 1
    assert delta("mvoting_joins_refused_total", code="rate_limited") == 1
    assert delta("mvoting_joins_refused_total", code="bad_credentials") == 3
    assert delta("mvoting_joins_accepted_total") == 0


@contextlib.asynccontextmanager
async def worker_process(
    settings: Settings, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[None]:
    """``mvoting worker`` in a process of its own, on the test's Valkey and archive."""
    err = tmp_path / "worker.err"
    with err.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "live.cli", "worker", "--name", "metrics-w", *args],
            cwd=ROOT,
            env={
                **cli_env(),
                "MVOTING_DATA": str(settings.data_dir),
                "REDIS_URL": settings.redis_url or "",
                "MVOTING_SECRET": settings.secret.reveal().decode(),
                "MVOTING_KEY_PREFIX": settings.key_prefix,
                **(env or {}),
            },
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            yield
        except BaseException:
            print(err.read_text()[-2000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            assert await asyncio.wait_for(proc.wait(), 30) == 0


async def cast_some(node: Node, svc: Services, n: int) -> int:
    """``n`` ballots on a new room's question; the entries its stream holds."""
    room = await make_room(svc)
    for i in range(n):
        async with connect(node.url) as voter:
            assert (await voter.join(room.number, password="pw"))["ok"]
            assert (await voter.vote(room.q, [i % 3]))["ok"]
    entries: int = await svc.redis.xlen(svc.keys.stream(room.q))
    assert entries == n + 1  # the opening too
    return entries


async def test_the_worker_alone_serves_its_own_metrics_on_its_port(
    node: Node, svc: Services, settings: Settings, tmp_path: Path
) -> None:
    entries = await cast_some(node, svc, 5)
    port = free_port()
    async with worker_process(settings, tmp_path, "--metrics-port", str(port)):

        async def archived() -> bool:
            try:
                scraped = await scrape(f"http://127.0.0.1:{port}")
            except httpx.ConnectError:
                return False  # not listening yet
            return scraped.get("mvoting_archived_entries_total") == entries

        await until(archived, "the worker's port to count the drain", seconds=20)


async def test_with_a_multiprocess_directory_a_web_node_reports_the_worker_process(
    node: Node,
    svc: Services,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = await cast_some(node, svc, 5)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    async with worker_process(settings, tmp_path, env={"PROMETHEUS_MULTIPROC_DIR": str(shared)}):
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))

        async def archived() -> bool:
            scraped = await scrape(node.url)
            return scraped.get("mvoting_archived_entries_total") == entries

        await until(archived, "the node to read the worker's drain", seconds=20)
    assert any(shared.iterdir())


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    return [
        target["expr"]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


async def test_the_dashboard_shows_every_metric_and_only_metrics_the_app_exports(
    node: Node,
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert dashboard["uid"] == "mvoting" and isinstance(dashboard["schemaVersion"], int)
    assert len({p["id"] for p in panels}) == len(panels)
    datasource = {"type": "prometheus", "uid": "${datasource}"}
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    for panel in panels:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"] == datasource and panel["targets"], panel["title"]
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
    exported = {name for name in (await scrape(node.url)).families if name.startswith("mvoting_")}
    suffixes = re.compile(r"_(bucket|sum|count|total)$")
    shown = {
        suffixes.sub("", name)
        for expr in _exprs(dashboard)
        for name in re.findall(r"\bmvoting_[a-z_]+", expr)
    }
    assert shown == exported
    assert len(exported) >= 17


async def test_metrics_come_only_to_requests_straight_to_the_node_and_tell_no_result(
    node: Node, svc: Services
) -> None:
    room = await make_room(svc, {"visibility": "after_close"})
    async with connect(node.url) as a, connect(node.url) as b:
        for voter in (a, b):
            assert (await voter.join(room.number, password="pw"))["ok"]
            assert (await voter.vote(room.q, [2]))["ok"]
    scraped = await scrape(node.url)
    # The question's one series is its stream's lag (its opening and two ballots): no
    # tally, no count by option, of a question whose results are hidden until it closes.
    about = {
        (name, labels): value
        for (name, labels), value in scraped.samples.items()
        if room.q in dict(labels).values()
    }
    assert about == {("mvoting_stream_lag_entries", frozenset({("question", room.q)})): 3}
    assert not any({"option", "choice"} & dict(labels).keys() for _, labels in scraped.samples)
    async with httpx.AsyncClient(base_url=node.url) as http:
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            proxied = await http.get("/metrics", headers={header: "203.0.113.7"})
            assert proxied.status_code == 404, header
            assert "mvoting_" not in proxied.text
