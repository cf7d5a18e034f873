"""Scheduled jobs on arq: a poll opens and closes itself at its times, with no web
traffic, within a second of the deadline.

``JobWorker`` runs arq's worker inside ``mvoting worker`` (and the worker ``serve``
starts), looking at the queue every ``POLL_DELAY`` seconds; ``live.schedule``
enqueues. A cron job refreshes the daily "Hot" badge at midnight in
``MVOTING_TIMEZONE`` (and once when the worker starts). The jobs are idempotent
(``live.polls.store``): one run late, or twice, changes nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from arq.cron import cron
from arq.worker import Retry, Worker, func

from live import store
from live.clock import now_ms
from live.notify import fanout as notify_fanout
from live.polls import discovery
from live.polls import store as polls
from live.rosters import imports as roster_imports
from live.schedule import dumps, loads, queue
from live.services import Services
from rooms.errors import VotingError
from rooms.questions import Action, Status

log = logging.getLogger("mvoting.jobs")

#: Seconds between two looks at the queue: a deadline is met within about this.
POLL_DELAY = 0.2


#: A job that failed (the archive busy, Valkey failing over) is tried again this many
#: times, RETRY_S apart; the minute's sweep catches whatever is still late after that.
TRIES = 10
RETRY_S = 2

#: Seconds a job under way is given to end on its own when the worker stops, and again
#: once arq has cancelled it, before its connections are closed.
STOP_GRACE_S = 3.0


async def _open(ctx: dict[str, Any], poll_id: str) -> bool:
    try:
        opened = await polls.open_poll(ctx["svc"], poll_id)
        # Its audience is told by a job of its own (``live.notify``), in batches; opened
        # by the sweep before, it is told now (a poll told already is marked, left alone).
        await notify_fanout.enqueue(ctx["svc"], poll_id, ctx.get("redis"))
        return opened
    except Exception as exc:
        log.warning("opening poll %s failed (%s); trying again", poll_id, type(exc).__name__)
        raise Retry(defer=RETRY_S) from exc


async def _close(ctx: dict[str, Any], poll_id: str) -> bool:
    try:
        return await polls.close_poll(ctx["svc"], poll_id)
    except Exception as exc:
        log.warning("closing poll %s failed (%s); trying again", poll_id, type(exc).__name__)
        raise Retry(defer=RETRY_S) from exc


async def _close_question(ctx: dict[str, Any], qid: str, log_id: str) -> bool:
    """The end of a question's duration: close it if it is still open, in the opening the
    job was scheduled for (a reset and a new opening have a log of their own)."""
    svc = ctx["svc"]
    try:
        q = await store.load_question(svc, qid)
        if q is None or q.status is not Status.OPEN or q.log_id != log_id:
            return False
        await store.act(svc, qid, Action.CLOSE)
        return True
    except VotingError:
        return False  # closed meanwhile, by a host or another node
    except Exception as exc:
        log.warning("closing question %s failed (%s); trying again", qid, type(exc).__name__)
        raise Retry(defer=RETRY_S) from exc


async def _sweep(ctx: dict[str, Any]) -> int:
    """Every minute: open and close whatever poll is past its time and was not (a job
    lost with a Valkey that lost its data, or one that failed every try)."""
    moved = await polls.catch_up(ctx["svc"])
    await notify_fanout.catch_up(ctx["svc"], ctx.get("redis"))  # polls opened here too
    return moved + await _overdue_questions(ctx)


async def _overdue_questions(ctx: dict[str, Any]) -> int:
    """Close the questions past their deadline whose closing job was lost (the cast
    script has refused their ballots since the deadline all the same)."""
    svc = ctx["svc"]
    due = await svc.redis.zrangebyscore(svc.keys.deadlines(), "-inf", now_ms(), start=0, num=100)
    closed = 0
    for entry in due:
        qid, _, log_id = str(entry).partition("|")
        try:
            closed += await _close_question(ctx, qid, log_id)
        except Retry:
            continue  # the next sweep tries again
        await svc.redis.zrem(svc.keys.deadlines(), entry)
    return closed


async def _hot(ctx: dict[str, Any]) -> list[str]:
    """The daily "Hot" badge (``live.polls.discovery``)."""
    return await discovery.refresh_hot(ctx["svc"])


class JobWorker:
    """arq's worker over the project's queue, run as a task of the worker process."""

    def __init__(self, svc: Services, *, poll_delay: float = POLL_DELAY) -> None:
        self.svc = svc
        self._poll_delay = poll_delay
        self._client = queue(svc)
        self._worker = self._make_worker()

    def _make_worker(self) -> Worker:
        svc, poll_delay = self.svc, self._poll_delay
        return Worker(
            functions=[
                func(_open, name="open_poll", max_tries=TRIES),
                func(_close, name="close_poll", max_tries=TRIES),
                func(_hot, name="refresh_hot"),
                func(_close_question, name="close_question", max_tries=TRIES),
                *roster_imports.JOBS,
                *notify_fanout.JOBS,
            ],
            cron_jobs=[
                # The "Hot" badge: at each midnight of the city's zone, and at start.
                cron(_hot, name="daily_hot", hour=0, minute=0, run_at_startup=True),
                cron(_sweep, name="sweep_polls", second=30, run_at_startup=True),
            ],
            timezone=svc.settings.zone,  # type: ignore[arg-type]
            redis_pool=self._client,
            queue_name=svc.keys.jobs(),
            poll_delay=poll_delay,
            handle_signals=False,
            max_jobs=10,
            keep_result=60,
            job_serializer=dumps,
            job_deserializer=loads,
            ctx={"svc": svc},
        )

    async def run(self) -> None:
        """Run arq's worker; if it stops on an error (Valkey unreachable), say so and start
        again, waiting longer each time: the archive worker beside it goes on.

        arq's loop runs as a task of its own (``_main``): cancelled, this task ends it
        (``_end``) and closes the worker, however long arq takes to notice."""
        backoff = 0.5
        try:
            while True:
                try:
                    await self._main()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "the job worker stopped (%s); again in %.1fs", type(exc).__name__, backoff
                    )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                await self._close()
                self._client = queue(self.svc)
                self._worker = self._make_worker()
        finally:
            await self._close()

    async def _main(self) -> None:
        main = asyncio.create_task(self._worker.main(), name="jobs-main")
        try:
            await asyncio.wait({main})
        finally:
            await _end(main)
        main.result()

    async def _close(self) -> None:
        # A job under way is let end first: cancelled in a database call or between its
        # last command and arq's record of it, its task outlives arq's close, and a
        # connection it opens again after ours are closed is never closed.
        await self._jobs_ended()
        # A job cancelled before it began leaves arq's close a CancelledError: the
        # connections are closed all the same.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self._worker.close()
        await self._jobs_ended()
        await asyncio.shield(self._client.aclose())

    async def _jobs_ended(self) -> None:
        running = [
            t
            for t in (*self._worker.tasks.values(), *self._worker.job_tasks.values())
            if not t.done()
        ]
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE_S)


async def _end(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` until it is done.

    One cancellation is not always enough for arq's loop: now and then (a test's teardown
    in five or so) the request is used up inside it and ``Worker.main`` polls on, its
    task marked as cancelling but never ending, and whoever awaits it waits forever. A
    cancellation is sent again every half second until the loop ends."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)


@contextlib.asynccontextmanager
async def running_jobs(svc: Services, **kwargs: Any) -> AsyncIterator[JobWorker]:
    """A ``JobWorker`` running as a task for the duration of the block."""
    worker = JobWorker(svc, **kwargs)
    task = asyncio.create_task(worker.run(), name="jobs")
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
