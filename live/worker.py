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
import math
import socket
import time
from pathlib import Path
from typing import Any

import orjson
import redis.exceptions
import sqlalchemy as sa

from live.cast import ScriptBatcher
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
#: What a pass asks of a stream in a round (``ArchiveWorker._round``): our own pending
#: entries, those other consumers left pending, the new ones.
RECOVER, CLAIM, READ = "recover", "claim", "read"


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
        self._claimed_at: dict[str, float] = {}  # question -> when its claiming last ended
        self._leases = ScriptBatcher(svc, "lease")
        #: question -> (its stream's last entry when closed, the judging of its log)
        self._judging: dict[str, tuple[str, asyncio.Task[Verdict | None]]] = {}
        self._judged = asyncio.Event()  # set as a judging ends
        self._backlog = False  # the last pass ran out of time with entries still to read
        #: The leases last taken or renewed (``_leased``): when, of which questions, ours.
        self._leased_at = -math.inf
        self._asked: set[str] = set()
        self._mine: list[str] = []
        #: Told of each completed pass (``live.health``): the process's sign of life.
        self.heartbeat: Heartbeat | None = None

    async def run(self) -> None:
        """Pass over the streams for ever: quickly while ballots flow, slowly when idle.

        An idle pass costs a few round trips and a few replies per followed question, so
        the pause doubles from ``poll`` up to ``IDLE_POLL`` while nothing arrives (archiving
        is behind the ack anyway: a burst's first ballots wait at most that long for their
        row). While ballots arrive, a pass starts ``poll`` after the last one started: a
        pass drains what it finds, so the next one straight away would find a ballot or
        two and pay every question's round trips for them. Only a pass that left a
        backlog (it ran out of time) is followed at once.
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
                started = time.monotonic()
                busy = await self.pass_once()
                ARCHIVE_PASSES.inc()
                if self.heartbeat is not None:
                    self.heartbeat.beat()
                backoff = 0.1
                if busy:
                    pause = self.poll
                    if not self._backlog:
                        await self._pause(started + self.poll - time.monotonic())
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
                self._leased_at = -math.inf  # and its leases renewed before it reads
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less: until a log's judging ends, whose verdict the next
        pass then takes at once."""
        if seconds <= 0:
            return
        self._judged.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._judged.wait()

    async def pass_once(self) -> bool:
        """One pass over every followed question; True if any ballot was archived.

        Its round trips do not grow with the questions followed: one pipeline takes or
        renews every lease, one reads every leased stream (and its question's status).
        Only the streams that returned entries cost more: one transaction archives them
        all, one pipeline acknowledges them, two trim them; a stream that filled its batch
        is read again in the next round, with the others that did.

        The leases are renewed once a quarter of a lease has passed since they were (or a
        question is new to the worker), not at every pass; the rounds stop half a lease
        after the renewal: a backlog read on for longer could be read by a worker taking
        over the expired lease meanwhile."""
        r, k = self.svc.redis, self.svc.keys
        mine = await self._leased(sorted(await r.smembers(k.archiving())))
        held_until = self._leased_at + self.lease_ms / 2000
        await self._ensure_groups(mine)
        steps = {qid: self._first_step(qid) for qid in mine}
        statuses: dict[str, str | None] = {}
        asked: dict[str, str | None] | None = statuses  # in the first round
        archived: set[str] = set()
        while steps and time.monotonic() < held_until:
            found, steps = await self._round(steps, asked)
            asked = None
            if found:
                await self._archive(found)
                archived |= found.keys()
        self._backlog = bool(steps)  # streams still to read when the time ran out
        await self._trim(sorted(archived))
        for qid, status in statuses.items():
            if qid not in archived and status != "open":
                await self._finalize_if_closed(qid)
        await self.ledger.flush()
        return bool(archived)

    async def _leased(self, qids: list[str]) -> list[str]:
        """The questions among ``qids`` whose lease is ours, renewed if due."""
        now = time.monotonic()
        if now >= self._leased_at + self.lease_ms / 4000 or not self._asked.issuperset(qids):
            self._mine = await self._hold_leases(qids)
            self._asked, self._leased_at = set(qids), now
        followed = set(qids)
        return [qid for qid in self._mine if qid in followed]

    async def _hold_leases(self, qids: list[str]) -> list[str]:
        """Take or renew each question's lease, all in one pipeline (``lua/lease.lua``);
        the questions whose lease is ours. One taken afresh is a takeover."""
        key, args = self.svc.keys.ledger_lease, [self.name, self.lease_ms]
        replies = await asyncio.gather(*(self._leases.run_script([key(q)], args) for q in qids))
        for qid, reply in zip(qids, replies, strict=True):
            if reply == 2:
                self._taken_over.add(qid)
        return [qid for qid, reply in zip(qids, replies, strict=True) if reply]

    def _first_step(self, qid: str) -> str:
        """What a pass reads first of a leased stream (``_round``).

        Our own pending entries first: we may have died between commit and ack. Then,
        taking over the lease, what others left pending, whatever its age: their holder
        let the lease expire, so it no longer reads them; else, every ``claim_idle_ms / 2``,
        what a consumer left pending that long. Then what is new."""
        if qid not in self._recovered:
            return RECOVER
        due = self._claimed_at.get(qid, -math.inf) + self.claim_idle_ms / 2000
        return CLAIM if qid in self._taken_over or time.monotonic() >= due else READ

    async def _round(
        self, steps: dict[str, str], statuses: dict[str, str | None] | None
    ) -> tuple[dict[str, list[Any]], dict[str, str]]:
        """One command per stream (its step), all in one pipeline, with each question's
        status into ``statuses`` if asked: the entries each stream returned, and the
        step each stream takes next, if it has one this pass."""
        r, k = self.svc.redis, self.svc.keys
        pipe = r.pipeline(transaction=False)
        for qid, step in steps.items():
            if step == CLAIM:
                idle = 0 if qid in self._taken_over else self.claim_idle_ms
                pipe.xautoclaim(
                    k.stream(qid), ARCHIVE_GROUP, self.name, idle, start_id="0-0", count=self.batch
                )
            else:
                start = "0" if step == RECOVER else ">"
                pipe.xreadgroup(ARCHIVE_GROUP, self.name, {k.stream(qid): start}, count=self.batch)
        if statuses is not None:
            for qid in steps:
                pipe.hget(k.question(qid), "status")
        replies = await pipe.execute(raise_on_error=False)
        if statuses is not None:
            for qid, status in zip(steps, replies[len(steps) :], strict=True):
                if isinstance(status, Exception):
                    raise status
                statuses[qid] = status
        found: dict[str, list[Any]] = {}
        after: dict[str, str] = {}
        for (qid, step), reply in zip(steps.items(), replies, strict=False):
            if isinstance(reply, redis.exceptions.ResponseError) and "NOGROUP" in str(reply):
                self._groups.discard(qid)  # the question was reset: its stream is new
                await self._ensure_groups([qid])  # else its closing check fails on it
                continue
            if isinstance(reply, Exception):
                raise reply
            if step == CLAIM:
                entries = list(reply[1])
                if len(entries) < self.batch:  # all claimed
                    self._taken_over.discard(qid)
                    self._claimed_at[qid] = time.monotonic()
                    after[qid] = READ
                else:
                    after[qid] = CLAIM
            else:
                read = reply[0][1] if reply else []
                entries = [(eid, fields) for eid, fields in read if fields]
                if step == READ:
                    if len(read) == self.batch:
                        after[qid] = READ
                elif entries and len(read) == self.batch:  # more of our own pending
                    after[qid] = RECOVER
                else:
                    self._recovered.add(qid)
                    after[qid] = self._first_step(qid)
            if entries:
                found[qid] = entries
        return found, after

    async def _trim(self, qids: list[str]) -> None:
        """Drop the streams' entries that are archived: those below the oldest one still
        pending (read by some consumer, not acknowledged), or, with none pending, below the
        last one read. Never by length: a length cap drops ballots not yet archived
        (``tests/live/test_archive.py`` shows both).

        The last read is asked before what is pending: an entry read in between is pending
        then, or acknowledged, so with none pending all up to the last read are archived."""
        if not qids:
            return
        r, k = self.svc.redis, self.svc.keys
        pipe = r.pipeline(transaction=False)
        for qid in qids:
            pipe.xinfo_groups(k.stream(qid))
            pipe.xpending(k.stream(qid), ARCHIVE_GROUP)
        replies = await pipe.execute()
        pipe = r.pipeline(transaction=False)
        for qid, groups, pending in zip(qids, replies[::2], replies[1::2], strict=True):
            if pending["pending"]:
                floor = pending["min"]
            else:
                floor = next(
                    (g["last-delivered-id"] for g in groups if g["name"] == ARCHIVE_GROUP), ""
                )
            if floor and floor != "0-0":
                pipe.xtrim(k.stream(qid), minid=floor, approximate=False)
        await pipe.execute()

    async def _ensure_groups(self, qids: list[str]) -> None:
        """Create the consumer group of each stream not seen yet, in one pipeline."""
        new = [qid for qid in qids if qid not in self._groups]
        if not new:
            return
        pipe = self.svc.redis.pipeline(transaction=False)
        for qid in new:
            pipe.xgroup_create(self.svc.keys.stream(qid), ARCHIVE_GROUP, id="0", mkstream=True)
        for reply in await pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply
        self._groups.update(new)

    async def _archive(self, found: dict[str, list[Any]]) -> None:
        """Archive each stream's entries, all in one transaction, then acknowledge them.

        The ledger locks each log's row as it appends (``Ledger.append``): in the order of
        the question ids, so that two transactions never wait on each other's."""
        parsed: dict[str, list[Item]] = {}
        refused: dict[str, list[Any]] = {}
        for qid, entries in found.items():
            for eid, fields in entries:
                try:
                    item = _item(qid, eid, fields)
                except (KeyError, ValueError, TypeError, orjson.JSONDecodeError):
                    refused.setdefault(qid, []).append((eid, fields))
                else:  # a stream of refused entries only has nothing to append
                    parsed.setdefault(qid, []).append(item)
        logs: list[str] = []
        async with self.svc.engine.begin() as conn:
            for qid in sorted(parsed):
                if (log_id := await self.ledger.append(conn, qid, parsed[qid])) is not None:
                    logs.append(log_id)
        r, k = self.svc.redis, self.svc.keys
        if refused:  # kept before they are acknowledged: in a round of their own
            pipe = r.pipeline(transaction=False)
            for qid, entries in refused.items():
                for eid, fields in entries:
                    log.error(
                        "ballot %s of %s refused by the archive; kept in dead letters", eid, qid
                    )
                    pipe.xadd(k.dead_letter(qid), {"id": eid, **fields})
            await pipe.execute()
        # Acknowledge only after the commit: an unacknowledged entry is read again.
        pipe = r.pipeline(transaction=False)
        for qid, entries in found.items():
            pipe.xack(k.stream(qid), ARCHIVE_GROUP, *[eid for eid, _ in entries])
        await pipe.execute()
        dead_letters = sum(len(entries) for entries in refused.values())
        ARCHIVED.inc(sum(len(entries) for entries in found.values()) - dead_letters)
        DEAD_LETTERS.inc(dead_letters)
        for log_id in logs:
            await self.ledger.after_append(log_id)

    async def _finalize_if_closed(self, qid: str) -> None:
        """Have a question the pass found not open and nothing to archive judged once
        its stream is drained, and stop following it once its verdict is in."""
        r, k = self.svc.redis, self.svc.keys
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
