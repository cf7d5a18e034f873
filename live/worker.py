"""The archive worker: drains each question's ballot stream into the SQL archive.

For every question in the archiving set it reads new entries with a consumer group,
inserts them idempotently (``(question, ballot id)`` is unique, the ballot id is the
stream entry id), and acknowledges them only after the commit. So:

- a worker killed between commit and ack re-reads its own pending entries when it
  restarts under the same name, and the inserts are no-ops;
- entries a dead consumer left pending are taken over with ``XAUTOCLAIM``;
- an entry the archive refuses goes to the question's dead-letter stream, never nowhere;
- what is archived and acknowledged is trimmed from the stream (below the oldest entry
  still pending), so a stream holds only what is still to archive, whatever the count.

The stream also carries the question's openings and closings (``lua/transition.lua``):
with its ballots, in stream order, they are the entries of the poll's transparency log,
appended in the transaction that archives the ballots (``live.ledger.log``). For the order to
be the stream's, one worker at a time follows a question: it holds the question's lease,
and a worker taking over an expired lease first claims every entry left pending.

When a question is closed and nothing of its stream is left unread or pending, the
worker records ``archived_count`` and ``tally_total`` on the question, has the log judged
(``Ledger.verify``), and stops following it once the verdict is not pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path
from typing import Any

import orjson
import redis.exceptions
import sqlalchemy as sa

from live.clock import now_ms
from live.engines import db
from live.health import Heartbeat, notify
from live.jobs import JobWorker
from live.keys import ARCHIVE_GROUP
from live.ledger.log import Item, Ledger
from live.metrics import ARCHIVE_FAILURES, ARCHIVE_PASSES, ARCHIVED, DEAD_LETTERS
from live.schedule import jobs_url
from live.services import Services
from rooms.ballots import Ballot
from rooms.ledger import (
    Problem,
    Verdict,
    Verification,
    answer_counts,
    closing_entry,
    opening_entry,
)
from rooms.tlog.merkle import leaf_hash

log = logging.getLogger("mvoting.worker")

BATCH = 500
CLAIM_IDLE_MS = 30_000
LEASE_MS = 10_000  # a worker that stops renewing its lease loses its questions after this
IDLE_POLL = 0.5  # seconds between passes when nothing arrives


def default_name() -> str:
    return f"{socket.gethostname()}-worker"


class ArchiveWorker:
    def __init__(
        self,
        svc: Services,
        name: str | None = None,
        *,
        poll: float = 0.05,
        batch: int = BATCH,
        claim_idle_ms: int = CLAIM_IDLE_MS,
        lease_ms: int = LEASE_MS,
    ) -> None:
        self.svc = svc
        self.name = name or default_name()
        self.poll = poll
        self.batch = batch
        self.claim_idle_ms = claim_idle_ms
        self.lease_ms = lease_ms
        self.ledger = Ledger(svc)
        self._groups: set[str] = set()
        self._recovered: set[str] = set()
        self._taken_over: set[str] = set()
        #: question -> (its stream's last entry when closed, the judging of its log)
        self._judging: dict[str, tuple[str, asyncio.Task[Verdict | None]]] = {}
        self._judged = asyncio.Event()  # set as a judging ends
        #: Told of each completed pass (``live.health``): the process's sign of life.
        self.heartbeat: Heartbeat | None = None

    async def run(self) -> None:
        """Pass over the streams for ever: quickly while ballots flow, slowly when idle.

        An idle pass costs a few round trips per followed question, so the pause doubles
        from ``poll`` up to ``IDLE_POLL`` while nothing arrives (archiving is behind the
        ack anyway: a burst's first ballots wait at most that long for their row).
        """
        log.info("archive worker %s started", self.name)
        try:
            await self._run()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the judging under way and close the ledger's connections."""
        tasks = [task for _, task in self._judging.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._judging.clear()
        await self.ledger.aclose()

    async def _run(self) -> None:
        backoff = 0.1
        pause = self.poll
        task = asyncio.current_task()
        while True:
            # Python 3.11's asyncio.wait_for, which redis-py wraps around each command,
            # drops a cancellation that arrives as the command completes: the worker,
            # told to stop, would pass on for ever. The request is still counted.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            try:
                busy = await self.pass_once()
                ARCHIVE_PASSES.inc()
                if self.heartbeat is not None:
                    self.heartbeat.beat()
                backoff = 0.1
                if busy:
                    pause = self.poll
                else:
                    await self._pause(pause)
                    pause = min(pause * 2, max(self.poll, IDLE_POLL))
            except asyncio.CancelledError:
                raise
            except Exception:
                ARCHIVE_FAILURES.inc()
                log.exception("archive pass failed; retrying in %.1fs", backoff)
                # What the pass read is pending on us (or its reply was lost with the
                # connection): the next pass archives our own pending entries first,
                # before reading on. Else each failing pass (the archive down) reads one
                # batch more, later ones are logged before it, out of stream order, and
                # once all are read the passes touch no archive, "succeed" and stop
                # backing off while the pending wait CLAIM_IDLE_MS to be claimed.
                self._recovered.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less: until a log's judging ends, whose verdict the next
        pass then takes at once."""
        self._judged.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._judged.wait()

    async def pass_once(self) -> bool:
        """One pass over every followed question; True if any ballot was archived."""
        busy = False
        for qid in sorted(await self.svc.redis.smembers(self.svc.keys.archiving())):
            if await self._hold_lease(qid):
                busy |= await self.drain(qid)
        await self.ledger.flush()
        return busy

    async def _hold_lease(self, qid: str) -> bool:
        """Take or renew the question's lease; False if another worker holds it."""
        r, key = self.svc.redis, self.svc.keys.ledger_lease(qid)
        if await r.set(key, self.name, nx=True, px=self.lease_ms):
            self._taken_over.add(qid)
            return True
        if await r.get(key) == self.name:
            await r.pexpire(key, self.lease_ms)
            return True
        return False

    async def drain(self, qid: str) -> bool:
        await self._ensure_group(qid)
        archived = False
        if qid not in self._recovered:
            # Our own pending entries first: we may have died between commit and ack.
            # Reading from "0" returns a batch of them; each pass acks what it read.
            while entries := await self._read(qid, "0"):
                archived |= await self._archive(qid, entries)
            self._recovered.add(qid)
        # Taking over the lease, what others left pending comes first, whatever its age:
        # their holder let the lease expire, so it no longer reads them.
        idle = 0 if qid in self._taken_over else self.claim_idle_ms
        while True:
            claimed = await self._claim(qid, idle)
            archived |= await self._archive(qid, claimed)
            if len(claimed) < self.batch:
                break
        self._taken_over.discard(qid)
        while True:
            entries = await self._read(qid, ">")
            if not entries:
                break
            archived |= await self._archive(qid, entries)
        if archived:
            await self._trim(qid)
        else:
            await self._finalize_if_closed(qid)
        return archived

    async def _trim(self, qid: str) -> None:
        """Drop the stream's entries that are archived: those below the oldest one still
        pending (read by some consumer, not acknowledged), or, with none pending, below the
        last one read. Never by length: a length cap drops ballots not yet archived
        (``tests/live/test_archive.py`` shows both)."""
        r, stream = self.svc.redis, self.svc.keys.stream(qid)
        pending = await r.xpending(stream, ARCHIVE_GROUP)
        if pending["pending"]:
            floor = pending["min"]
        else:
            groups = await r.xinfo_groups(stream)
            floor = next((g["last-delivered-id"] for g in groups if g["name"] == ARCHIVE_GROUP), "")
        if floor and floor != "0-0":
            await r.xtrim(stream, minid=floor, approximate=False)

    async def _ensure_group(self, qid: str) -> None:
        if qid in self._groups:
            return
        try:
            await self.svc.redis.xgroup_create(
                self.svc.keys.stream(qid), ARCHIVE_GROUP, id="0", mkstream=True
            )
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(qid)

    async def _claim(self, qid: str, idle: int) -> list[tuple[str, dict[str, str]]]:
        """A batch of the entries other consumers left pending for ``idle`` ms, now ours."""
        try:
            _, claimed, _ = await self.svc.redis.xautoclaim(
                self.svc.keys.stream(qid),
                ARCHIVE_GROUP,
                self.name,
                min_idle_time=idle,
                start_id="0-0",
                count=self.batch,
            )
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._groups.discard(qid)  # the question was reset: its stream is new
            await self._ensure_group(qid)
            return []
        return list(claimed)

    async def _read(self, qid: str, start: str) -> list[tuple[str, dict[str, str]]]:
        try:
            reply = await self.svc.redis.xreadgroup(
                ARCHIVE_GROUP, self.name, {self.svc.keys.stream(qid): start}, count=self.batch
            )
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" in str(exc):  # the question was reset: its stream is new
                self._groups.discard(qid)
                await self._ensure_group(qid)  # else this pass's XAUTOCLAIM fails on it
                return []
            raise
        if not reply:
            return []
        entries: list[tuple[str, dict[str, str]]] = reply[0][1]
        return [(eid, fields) for eid, fields in entries if fields]

    async def _archive(self, qid: str, entries: list[Any]) -> bool:
        if not entries:
            return False
        items, dead = [], []
        for eid, fields in entries:
            try:
                items.append(_item(qid, eid, fields))
            except (KeyError, ValueError, TypeError, orjson.JSONDecodeError):
                dead.append((eid, fields))
        log_id = None
        if items:
            async with self.svc.engine.begin() as conn:
                log_id = await self.ledger.append(conn, qid, items)
        r, k = self.svc.redis, self.svc.keys
        for eid, fields in dead:
            log.error("ballot %s of %s refused by the archive; kept in dead letters", eid, qid)
            await r.xadd(k.dead_letter(qid), {"id": eid, **fields})
        # Acknowledge only after the commit: an unacknowledged entry is read again.
        await r.xack(k.stream(qid), ARCHIVE_GROUP, *[eid for eid, _ in entries])
        ARCHIVED.inc(len(entries) - len(dead))
        DEAD_LETTERS.inc(len(dead))
        if log_id is not None:
            await self.ledger.after_append(log_id)
        return True

    async def _finalize_if_closed(self, qid: str) -> None:
        r, k = self.svc.redis, self.svc.keys
        status = await r.hget(k.question(qid), "status")
        if status == "open":
            return
        pending = await r.xpending(k.stream(qid), ARCHIVE_GROUP)
        last = None if pending["pending"] else await self._last_read(qid)
        if last is None:
            return
        # The log is judged in a task of its own (``_judging``): a pass only takes its
        # verdict once it is there. A question closed again since has another last entry.
        judging = self._judging.get(qid)
        if judging is None or judging[0] != last:
            if judging is not None:
                judging[1].cancel()
            task = asyncio.create_task(self._judge(qid))
            task.add_done_callback(lambda _: self._judged.set())
            self._judging[qid] = (last, task)
            return
        if not judging[1].done():
            return
        del self._judging[qid]
        verdict = judging[1].result()
        if verdict is not None and verdict.status is Verification.PENDING:
            if verdict.problem is not Problem.NO_WITNESSES:
                return  # asked again at a later pass, with a growing pause
        await r.srem(k.archiving(), qid)
        # A host who reopened it since we read its status may have added it back first.
        if await r.hget(k.question(qid), "status") == "open":
            await r.sadd(k.archiving(), qid)
        self._recovered.discard(qid)

    async def _judge(self, qid: str) -> Verdict | None:
        """Record the archive's count against the tally, and have the log judged
        (``Ledger.verify``).

        The judging asks the witnesses for their cosignatures, which one slow witness can
        hold up for the whole of ``witness_timeout``: so it runs as a task of its own,
        while the passes archive every other question as ever."""
        r, k = self.svc.redis, self.svc.keys
        tally, options = await r.hgetall(k.tally(qid)), await r.hget(k.question(qid), "n")
        total = int(tally.get("total", 0))
        counts: list[Any] = _counts(tally, int(options or 0))
        if not options or options == "0":  # open text: its count is its words
            words = await r.zrange(k.words(qid), 0, -1, withscores=True, score_cast_func=int)
            counts = answer_counts({w: -n for w, n in words})  # scored minus counts
        async with self.svc.engine.begin() as conn:
            archived = (
                await conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(db.ballots)
                    .where(db.ballots.c.question_id == qid)
                )
                or 0
            )
            await conn.execute(
                db.questions.update()
                .where(db.questions.c.id == qid)
                .values(archived_count=archived, tally_total=total, finalized_ms=now_ms())
            )
        if archived != total:
            log.error(
                "question %s: archive holds %d ballots, the tally says %d", qid, archived, total
            )
        else:
            log.info("question %s closed: archived %d == tally %d", qid, archived, total)
        return await self.ledger.verify(qid, counts, total)

    async def _last_read(self, qid: str) -> str | None:
        """The stream's last entry ("0-0" if it has none) if our group has read it, else
        None.

        The question was seen closed before this is asked, so every ballot it accepted
        is in the stream by now; one cast after our last read is still to come. (The
        archive's count against the tally cannot tell: a row deleted from the archive or
        a tally changed in Valkey would leave the poll waiting for ever, never judged.)
        """
        r, stream = self.svc.redis, self.svc.keys.stream(qid)
        last = await r.xrevrange(stream, count=1)
        if not last:
            return "0-0"
        groups = await r.xinfo_groups(stream)
        read = next((g["last-delivered-id"] for g in groups if g["name"] == ARCHIVE_GROUP), "0-0")
        found: str = last[0][0]
        return found if _stream_id(found) <= _stream_id(read) else None


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def _pairs(flat_json: str) -> dict[str, str]:
    """A hash or sorted set read flat by the transition script (``[k1, v1, k2, v2, ...]``,
    or ``{}`` when empty) as a dict."""
    flat = orjson.loads(flat_json)
    return dict(zip(flat[::2], flat[1::2], strict=True)) if flat else {}


def _counts(tally: dict[str, str], options: int) -> list[int]:
    """Each option's count in a tally hash (``{"0": n, ..., "total": n}``)."""
    return [int(tally.get(str(i), 0)) for i in range(options)]


def _item(qid: str, eid: str, fields: dict[str, str]) -> Item:
    """A stream entry as the ledger appends it; raises if it is not one."""
    kind = fields.get("k", "ballot")
    at = int(fields["t"])
    if kind == "open":
        return Item(eid, kind, opening_entry(qid, at, orjson.loads(fields["d"])))
    if kind == "close":
        tally = _pairs(fields["tally"])
        counts: list[Any] = _counts(tally, int(fields["n"]))
        if fields["n"] == "0":  # open text (no options): the answers and their counts
            counts = answer_counts({w: -int(n) for w, n in _pairs(fields["words"]).items()})
        return Item(eid, kind, closing_entry(qid, at, counts, int(tally.get("total", 0))))
    if kind != "ballot":
        raise ValueError(f"not a stream entry kind: {kind!r}")
    choices: list[Any]
    if "a" in fields:  # an open-text ballot's normalised answers (they hold no comma)
        choices = fields["a"].split(",")
    else:
        choices = [int(c) for c in fields["c"].split(",")]
    ballot = Ballot(qid, tuple(choices), at, fields["v"], fields["n"])
    leaf = ballot.leaf()
    if leaf_hash(leaf).hex() != fields["r"]:  # the receipt its voter was given
        raise ValueError("the receipt is not the ballot's")
    row = {
        "question_id": qid,
        "ballot_id": eid,
        "voter_ref": ballot.voter,
        "choices": choices,
        "cast_ms": at,
        "nonce": ballot.nonce,
        "receipt": fields["r"],
    }
    return Item(eid, kind, leaf, row, fields["r"])


async def run_worker(
    svc: Services,
    name: str | None = None,
    *,
    batch: int = BATCH,
    claim_idle_ms: int = CLAIM_IDLE_MS,
    alive_file: Path | None = None,
) -> None:
    """The archive worker and the scheduled jobs (``live.jobs``), side by side, with its
    heartbeat (``live.health``)."""
    archive = ArchiveWorker(svc, name, batch=batch, claim_idle_ms=claim_idle_ms)
    archive.heartbeat = Heartbeat(svc, archive.name, alive_file=alive_file)
    async with asyncio.TaskGroup() as group:
        group.create_task(archive.run(), name="archive")
        group.create_task(archive.heartbeat.run(), name="heartbeat")
        notify("READY=1")
        if jobs_url(svc) is None:
            log.warning(
                "scheduled jobs are off: on a cluster they need MVOTING_JOBS_REDIS_URL "
                "(one Valkey server); polls will not open or close on time"
            )
        else:
            group.create_task(JobWorker(svc).run(), name="jobs")
