"""What each process counts, for Prometheus: the metric objects and ``GET /metrics``.

Every web node serves ``/metrics`` in the Prometheus text format. The counters are
process-wide (prometheus-client's default registry); the hot paths only increment a child
made once here (``Outcomes``), with no label lookup and no await per ballot. Stream lag
is read from Valkey when scraped (``stream_lag``), for a bounded number of questions.

Several processes: the archive worker is a process of its own (``mvoting worker``, also
the one ``mvoting serve`` starts beside it). With ``PROMETHEUS_MULTIPROC_DIR`` set (an
empty directory, the same for every process of the machine, set before they start) each
process writes its values to files there and every web node's ``/metrics`` adds them up
(prometheus-client's multiprocess mode). Without it, ``mvoting worker --metrics-port``
serves the worker's own metrics (``serve_worker_metrics``), for Prometheus to scrape as
one more target. ``docs/reliability.md`` (Observability) says why.

Nothing here tells a result: ballots are counted by outcome, never by choice, and no
tally is read. Still, the metrics are for the operators' monitoring, not the public: a
request that came through a reverse proxy (it carries the proxy's ``X-Forwarded-For``,
``Forwarded`` or ``X-Real-IP``) is answered 404, as if there were no such page; Prometheus
scrapes each node at its own address. (deploy/nginx also refuses the path itself.)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.keys import ARCHIVE_GROUP
from rooms.errors import ErrorCode

if TYPE_CHECKING:
    from live.services import Services

# The ``_created`` series (a timestamp per counter and histogram) would double what a
# scrape carries, and PromQL has no use for them: ``rate`` sees counter resets.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: What a reverse proxy adds to the requests it passes on (nginx, ingress-nginx, the
#: usual load balancers); a client cannot take out what its proxy adds.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")

#: Followed questions whose stream lag ``/metrics`` reads, at most (the open ones are
#: labelled by their id): a scrape costs a round trip and a bounded answer.
LAG_QUESTIONS = 50


class Outcomes:
    """Accepted and refused counts of one kind of request, the refusals by error code.

    Every child is made here, once: counting an outcome is one increment."""

    def __init__(self, name: str, what: str) -> None:
        self.accepted = Counter(f"{name}_accepted", f"{what} accepted")
        refused = Counter(f"{name}_refused", f"{what} refused, by error code", ["code"])
        self.refused = {code: refused.labels(code=code.value) for code in ErrorCode}


# --- web nodes -----------------------------------------------------------------------------

BALLOTS = Outcomes("mvoting_ballots", "Ballots (vote events)")
JOINS = Outcomes("mvoting_joins", "Join attempts")
#: By the transport the connection opened with ("websocket", or "polling", which may
#: upgrade later).
CONNECTIONS = Gauge(
    "mvoting_connections",
    "Socket.IO connections open on the node, by the transport they opened with",
    ["transport"],
    multiprocess_mode="livesum",
)
CONNECTED = {t: CONNECTIONS.labels(transport=t) for t in ("websocket", "polling")}
BROADCAST_DELAY = Histogram(
    "mvoting_broadcast_delay_seconds",
    "From the first ballot a tally snapshot carries until the snapshot is published",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0),
)
TALLY_DELIVERIES = Counter(
    "mvoting_tally_deliveries", "Tally snapshots handed to the node's connections"
)
COMMENT_DELIVERIES = Counter(
    "mvoting_comment_deliveries", "Comment events handed to the connections on polls' pages"
)
#: What the attendees' tally pacing (``live.wire.pacing``) keeps to a share of a core.
TALLY_DELIVERY_SECONDS = Counter(
    "mvoting_tally_delivery_seconds",
    "Seconds the node spent handing tally snapshots to attendees (the paced deliveries)",
)
RATE_LIMITED = Counter(
    "mvoting_rate_limited", "Attempts refused because a subject is locked, by kind", ["kind"]
)

# --- the archive worker --------------------------------------------------------------------

ARCHIVED = Counter(
    "mvoting_archived_entries", "Stream entries (ballots, openings, closings) archived and acked"
)
DEAD_LETTERS = Counter("mvoting_dead_letters", "Stream entries the archive refused")
ARCHIVE_PASSES = Counter("mvoting_archive_passes", "Archive passes completed")
ARCHIVE_FAILURES = Counter("mvoting_archive_failures", "Archive passes that failed")
CHECKPOINT_SECONDS = Histogram(
    "mvoting_checkpoint_seconds",
    "Signing and storing one checkpoint of a log",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CHECKPOINT_FAILURES = Counter("mvoting_checkpoint_failures", "Checkpoints that failed")
COSIGN_SECONDS = Histogram(
    "mvoting_cosignature_seconds",
    "One witness's answer to a checkpoint, by witness",
    ["witness"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
#: outcome: "cosigned"; "refused" (it saw another view of the log, or would not take
#: it); "missing" (no answer, or an error)
COSIGNATURES = Counter(
    "mvoting_cosignatures",
    "Witnesses' answers to checkpoints, by witness and outcome",
    ["witness", "outcome"],
)


# --- scraping ------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR``: where every process of the machine writes its values."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_stopped() -> None:
    """In multiprocess mode, drop this process's live gauges (its connections) from the
    machine's sums; its counters stay counted. Called as a web node stops."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def registry() -> CollectorRegistry:
    """What ``/metrics`` reports: this process's metrics, or every process's in the
    multiprocess directory."""
    if multiprocess_dir() is None:
        return REGISTRY
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return merged


async def stream_lag(svc: Services) -> Metric:
    """Stream entries not yet archived (unread by the worker's group, or read and not yet
    acknowledged), per open question: at most ``LAG_QUESTIONS`` followed questions are
    read, and only open ones carry their id; the rest (closed ones still draining) add
    up under ``question="closed"``."""
    r, k = svc.redis, svc.keys
    family = GaugeMetricFamily(
        "mvoting_stream_lag_entries",
        "Ballot stream entries not yet archived, by open question",
        labels=["question"],
    )
    followed = sorted(await r.smembers(k.archiving()))[:LAG_QUESTIONS]
    if not followed:
        return family
    pipe = r.pipeline(transaction=False)
    for qid in followed:
        pipe.hget(k.question(qid), "status")
        pipe.xlen(k.stream(qid))
        pipe.xinfo_groups(k.stream(qid))
    replies = await pipe.execute(raise_on_error=False)
    closed = 0
    for i, qid in enumerate(followed):
        status, length, groups = replies[3 * i : 3 * i + 3]
        lag = _unarchived(length, groups)
        if status == "open":
            family.add_metric([qid], lag)
        else:
            closed += lag
    family.add_metric(["closed"], closed)
    return family


def _unarchived(length: Any, groups: Any) -> int:
    """Entries of a stream the archive group has not acknowledged: those it has not read
    (``lag``) and those read but not acknowledged (``pending``), from ``XINFO GROUPS``.
    Before a worker made the group, the whole stream (``length``, its ``XLEN``)."""
    entries = length if isinstance(length, int) else 0
    group = None
    if not isinstance(groups, Exception):  # an error: no stream yet
        group = next((g for g in groups if g.get("name") == ARCHIVE_GROUP), None)
    if group is None:
        return entries
    lag = group.get("lag")
    if lag is None:  # unknown to the server (entries were deleted): from what it read
        lag = max(entries - int(group.get("entries-read") or 0), 0)
    return int(group.get("pending") or 0) + int(lag)


class _Read:
    """A collector of families read already (asynchronously, before rendering)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


async def metrics(request: Request) -> Response:
    """The Prometheus text format: the processes' counters, then the streams' lag; to
    requests straight to the node only (``PROXY_HEADERS``)."""
    if any(name in request.headers for name in PROXY_HEADERS):
        raise HTTPException(status_code=404)
    body = generate_latest(registry())
    svc: Services | None = request.app.state.services
    if svc is not None:
        read = CollectorRegistry(auto_describe=False)
        read.register(_Read([await stream_lag(svc)]))
        body += generate_latest(read)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


routes = [Route("/metrics", metrics, methods=["GET"])]


def serve_worker_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve this process's metrics on ``host:port`` from a thread (the worker, when no
    multiprocess directory gathers them into the web nodes' ``/metrics``)."""
    start_http_server(port, addr=host, registry=registry())
