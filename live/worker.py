"""The archive worker: drains each question's ballot stream into the SQL archive.

For every question in the archiving set it reads new entries with a consumer group,
inserts them idempotently (``(question, ballot id)`` is unique, the ballot id is the
stream entry id), and acknowledges them only after the commit. So:

- a worker killed between commit and ack re-reads its own pending entries when it
  restarts under the same name, and the inserts are no-ops;
- entries a dead consumer left pending are taken over with ``XAUTOCLAIM``;
- an entry the archive refuses goes to the question's dead-letter stream, never nowhere.

When a question is closed and nothing of its stream is left unread or pending, the
worker records ``archived_count`` and ``tally_total`` on the question and stops
following it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import redis.exceptions
import sqlalchemy as sa

from live import db
from live.clock import now_ms
from live.keys import ARCHIVE_GROUP
from live.services import Services

log = logging.getLogger("mvoting.worker")

BATCH = 500
CLAIM_IDLE_MS = 30_000
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
    ) -> None:
        self.svc = svc
        self.name = name or default_name()
        self.poll = poll
        self.batch = batch
        self.claim_idle_ms = claim_idle_ms
        self._groups: set[str] = set()
        self._recovered: set[str] = set()

    async def run(self) -> None:
        """Pass over the streams for ever: quickly while ballots flow, slowly when idle.

        An idle pass costs a few round trips per followed question, so the pause doubles
        from ``poll`` up to ``IDLE_POLL`` while nothing arrives (archiving is behind the
        ack anyway: a burst's first ballots wait at most that long for their row).
        """
        log.info("archive worker %s started", self.name)
        backoff = 0.1
        pause = self.poll
        while True:
            try:
                busy = await self.pass_once()
                backoff = 0.1
                if busy:
                    pause = self.poll
                else:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, max(self.poll, IDLE_POLL))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("archive pass failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def pass_once(self) -> bool:
        """One pass over every followed question; True if any ballot was archived."""
        busy = False
        for qid in sorted(await self.svc.redis.smembers(self.svc.keys.archiving())):
            busy |= await self.drain(qid)
        return busy

    async def drain(self, qid: str) -> bool:
        r, k = self.svc.redis, self.svc.keys
        stream = k.stream(qid)
        await self._ensure_group(qid)
        archived = False
        if qid not in self._recovered:
            # Our own pending entries first: we may have died between commit and ack.
            # Reading from "0" returns a batch of them; each pass acks what it read.
            while entries := await self._read(qid, "0"):
                archived |= await self._archive(qid, entries)
            self._recovered.add(qid)
        _, claimed, _ = await r.xautoclaim(
            stream,
            ARCHIVE_GROUP,
            self.name,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=self.batch,
        )
        archived |= await self._archive(qid, claimed)
        while True:
            entries = await self._read(qid, ">")
            if not entries:
                break
            archived |= await self._archive(qid, entries)
        if not archived:
            await self._finalize_if_closed(qid)
        return archived

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

    async def _read(self, qid: str, start: str) -> list[tuple[str, dict[str, str]]]:
        try:
            reply = await self.svc.redis.xreadgroup(
                ARCHIVE_GROUP, self.name, {self.svc.keys.stream(qid): start}, count=self.batch
            )
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" in str(exc):  # the question was reset: its stream is new
                self._groups.discard(qid)
                return []
            raise
        if not reply:
            return []
        entries: list[tuple[str, dict[str, str]]] = reply[0][1]
        return [(eid, fields) for eid, fields in entries if fields]

    async def _archive(self, qid: str, entries: list[Any]) -> bool:
        if not entries:
            return False
        rows, dead = [], []
        for eid, fields in entries:
            try:
                rows.append(
                    {
                        "question_id": qid,
                        "ballot_id": eid,
                        "voter_ref": fields["v"],
                        "choices": [int(c) for c in fields["c"].split(",")],
                        "cast_ms": int(fields["t"]),
                        "nonce": fields["n"],
                        "receipt": fields["r"],
                    }
                )
            except (KeyError, ValueError):
                dead.append((eid, fields))
        if rows:
            async with self.svc.engine.begin() as conn:
                await conn.execute(db.insert_ignoring_duplicates(conn, db.ballots), rows)
        r, k = self.svc.redis, self.svc.keys
        for eid, fields in dead:
            log.error("ballot %s of %s refused by the archive; kept in dead letters", eid, qid)
            await r.xadd(k.dead_letter(qid), {"id": eid, **fields})
        # Acknowledge only after the commit: an unacknowledged entry is read again.
        await r.xack(k.stream(qid), ARCHIVE_GROUP, *[eid for eid, _ in entries])
        return True

    async def _finalize_if_closed(self, qid: str) -> None:
        r, k = self.svc.redis, self.svc.keys
        status = await r.hget(k.question(qid), "status")
        if status == "open":
            return
        pending = await r.xpending(k.stream(qid), ARCHIVE_GROUP)
        if pending["pending"]:
            return
        total = int(await r.hget(k.tally(qid), "total") or 0)
        async with self.svc.engine.begin() as conn:
            archived = (
                await conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(db.ballots)
                    .where(db.ballots.c.question_id == qid)
                )
                or 0
            )
            if archived < total:
                return  # entries still in flight between XADD and our read
            await conn.execute(
                db.questions.update()
                .where(db.questions.c.id == qid)
                .values(archived_count=archived, tally_total=total, finalized_ms=now_ms())
            )
        if archived != total:
            log.error(
                "question %s: archive holds %d ballots, the tally says %d", qid, archived, total
            )
        await r.srem(k.archiving(), qid)
        self._recovered.discard(qid)
        log.info("question %s closed: archived %d == tally %d", qid, archived, total)


async def run_worker(
    svc: Services,
    name: str | None = None,
    *,
    batch: int = BATCH,
    claim_idle_ms: int = CLAIM_IDLE_MS,
) -> None:
    await ArchiveWorker(svc, name, batch=batch, claim_idle_ms=claim_idle_ms).run()
