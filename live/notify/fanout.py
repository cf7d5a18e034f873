"""The fan-out job: a poll that opened notifies its audience, in batches, off the web.

``notify_poll`` is enqueued by ``live.jobs`` when a poll opens (its job id is the
poll's, so enqueuing twice is a no-op while it waits or runs). For each batch of the
audience (``audience.batches``) it inserts the notifications at once (a citizen
notified before is left alone: one per citizen and poll), publishes one ``notices``
event for the ones it made (``channel``: each node writes the frames to its sockets),
and sends the Web Push messages of those (``push``), each in the language its citizen
chose (``languages``). A batch is ``Settings.notify_batch`` citizens. Once done it marks
the poll notified; a run after that, or after the poll closed, does nothing.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from arq.connections import ArqRedis
from arq.worker import func

from live.catalogs import translations
from live.clock import new_id, now_ms
from live.engines import db
from live.notify import audience, languages, push
from live.polls import store as polls
from live.schedule import job_queue
from live.services import Services
from rooms.errors import N_
from rooms.polls import PollStatus

log = logging.getLogger("mvoting.notify")

#: The job's name in the queue.
JOB = "notify_poll"
#: How long a poll stays marked notified (a job enqueued later finds the mark).
DONE_TTL_S = 30 * 86400

#: What the push message says, by reason (in the citizen's language, and in each).
REASONS = {
    "area": N_("A new poll in an area you follow"),
    "district": N_("A new poll for your district"),
    "place": N_("A new poll near your saved place"),
}


async def enqueue(svc: Services, poll_id: str, client: ArqRedis | None = None) -> None:
    """Queue the poll's notifications (again while it is queued or running: no-op); by
    ``client`` (a job's ``ctx["redis"]``), else by a client of its own."""
    if client is None:
        async with job_queue(svc) as own:
            await enqueue(svc, poll_id, own)
        return
    await client.enqueue_job(JOB, poll_id, _job_id=f"{svc.keys.prefix}notify:{poll_id}")


#: A poll opened this recently without its notifications is told by the sweep.
CATCH_UP_MS = 3_600_000


async def catch_up(svc: Services, client: ArqRedis | None = None) -> int:
    """Queue the notifications of every poll opened within ``CATCH_UP_MS`` that is not
    marked notified (opened by the sweep, its opening job lost); how many were queued."""
    p = db.polls.c
    async with svc.engine.connect() as conn:
        found = (
            (
                await conn.execute(
                    sa.select(p.id).where(
                        p.status == str(PollStatus.OPEN), p.opened_ms >= now_ms() - CATCH_UP_MS
                    )
                )
            )
            .scalars()
            .all()
        )
    queued = 0
    for poll_id in found:
        if not await svc.redis.exists(svc.keys.notified(poll_id)):
            await enqueue(svc, poll_id, client)
            queued += 1
    return queued


@cache
def _texts(reason: str) -> dict[str, str]:
    return {lang: translations(lang).gettext(REASONS[reason]) for lang in languages.LANGUAGES}


def message(poll_id: str, title: str, notice_id: str, reason: str, lang: str | None) -> bytes:
    """A push message's body: the poll, why it is sent, its sentence in every language
    (``texts``) and, when the citizen's language is known, that language and its
    sentence (``lang``, ``body``)."""
    texts = _texts(reason)
    body: dict[str, object] = {
        "notice": notice_id,
        "poll": poll_id,
        "title": title,
        "reason": reason,
        "texts": texts,
        "url": f"/polls/{poll_id}",
    }
    if lang is not None:
        body["lang"], body["body"] = lang, texts[lang]
    return push.payload(body)


async def _insert(
    svc: Services, poll_id: str, batch: list[audience.Recipient], at: int
) -> list[tuple[str, str, str]]:
    """Insert the batch's notifications; ``(citizen, id, reason)`` of those made now."""
    made = {new_id(): r for r in batch}
    n = db.notifications
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.insert_ignoring_duplicates(conn, n),
            [
                {
                    "id": nid,
                    "citizen_id": r.citizen_id,
                    "poll_id": poll_id,
                    "reason": r.reason,
                    "created_ms": at,
                }
                for nid, r in made.items()
            ],
        )
        kept = set((await conn.execute(sa.select(n.c.id).where(n.c.id.in_(list(made))))).scalars())
    return [(made[i].citizen_id, i, made[i].reason) for i in made if i in kept]


async def notify(svc: Services, poll_id: str, *, batch: int | None = None) -> int:
    """Notify the open poll's audience, ``batch`` citizens at a time (by default
    ``Settings.notify_batch``); how many notifications were made."""
    if await svc.redis.exists(svc.keys.notified(poll_id)):
        return 0
    poll = await polls.load_poll(svc, poll_id)
    if poll is None or poll.status is not PollStatus.OPEN:
        return 0
    async with svc.engine.connect() as conn:
        moderated = await conn.scalar(
            sa.select(db.polls.c.moderation).where(db.polls.c.id == poll_id)
        )
    if moderated is not None:
        return 0
    started = time.perf_counter()
    shown = {"id": poll.id, "title": poll.spec.title, "area": str(poll.spec.area)}
    size = batch or svc.settings.notify_batch
    total = 0
    async with push.PushSender(svc) as sender:
        async for found in audience.batches(svc, poll, size=size):
            at = now_ms()
            made = await _insert(svc, poll.id, found, at)
            if not made:
                continue
            total += len(made)
            event = {"t": "notices", "poll": shown, "created_ms": at, "to": made}
            await svc.redis.publish(svc.keys.events(), orjson.dumps(event))
            langs = await languages.chosen(svc, [citizen for citizen, _, _ in made])
            payloads = {
                citizen: message(poll.id, poll.spec.title, nid, reason, langs.get(citizen))
                for citizen, nid, reason in made
            }
            await sender.send_to(list(payloads), payloads)
        counts = sender.counts
    await svc.redis.set(svc.keys.notified(poll_id), str(total), ex=DONE_TTL_S)
    log.info(
        "poll %s: %d notified in %.2fs; %d pushed, %d subscriptions gone, %d failed",
        poll_id,
        total,
        time.perf_counter() - started,
        counts.sent,
        counts.gone,
        counts.failed,
    )
    return total


async def _job(ctx: dict[str, Any], poll_id: str) -> int:
    return await notify(ctx["svc"], poll_id)


#: Registered in ``live.jobs.JobWorker`` beside the polls' jobs.
JOBS = [func(_job, name=JOB, max_tries=5)]
