"""The job queue (arq): scheduling what must happen at a time, with or without traffic:
a poll's opening and closing, a question's closing at the end of its duration.

Jobs are enqueued deferred to their times, under job ids of their own, so scheduling
again is a no-op and any node may do it; ``live.jobs`` runs them. Arguments are
JSON, never pickles. The queue lives on the same Valkey as the rest, under the key
prefix; arq needs one server, not a cluster (``MVOTING_JOBS_REDIS_URL`` names one
beside a cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from live.services import Services
from rooms.errors import ErrorCode, VotingError


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)


def jobs_url(svc: Services) -> str | None:
    """The server of the job queue: ``MVOTING_JOBS_REDIS_URL``, else the one Valkey of
    ``REDIS_URL`` (``None`` on a cluster: arq's transactions span keys of many slots)."""
    if svc.settings.jobs_redis_url:
        return svc.settings.jobs_redis_url
    return None if svc.settings.redis_cluster else svc.redis_url


def queue(svc: Services) -> ArqRedis:
    """A client of the job queue; it owns its connections (``aclose`` closes them)."""
    url = jobs_url(svc)
    if url is None:
        raise VotingError(ErrorCode.UNAVAILABLE)
    client = ArqRedis(
        ConnectionPool.from_url(url),
        job_serializer=dumps,
        job_deserializer=loads,
        default_queue_name=svc.keys.jobs(),
    )
    client.auto_close_connection_pool = True
    return client


@contextlib.asynccontextmanager
async def job_queue(svc: Services) -> AsyncIterator[ArqRedis]:
    """A client of the job queue for the block, closed on leaving it, even when the block
    is cancelled: a close cut short would leave its connections to the garbage collector."""
    client = queue(svc)
    try:
        yield client
    finally:
        await asyncio.shield(client.aclose())


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


async def schedule_poll(svc: Services, poll_id: str, opens_ms: int, closes_ms: int) -> None:
    """Enqueue the poll's opening and closing at their times (again: no new jobs)."""
    prefix = svc.keys.prefix
    async with job_queue(svc) as client:
        await client.enqueue_job(
            "open_poll", poll_id, _job_id=f"{prefix}open:{poll_id}", _defer_until=_at(opens_ms)
        )
        await client.enqueue_job(
            "close_poll", poll_id, _job_id=f"{prefix}close:{poll_id}", _defer_until=_at(closes_ms)
        )


async def schedule_question_close(svc: Services, qid: str, log_id: str, at_ms: int) -> None:
    """Enqueue the closing of a question with a duration, for this opening of it (a
    question reset and opened again has another log, and another job)."""
    async with job_queue(svc) as client:
        await client.enqueue_job(
            "close_question",
            qid,
            log_id,
            _job_id=f"{svc.keys.prefix}qclose:{qid}:{log_id}",
            _defer_until=_at(at_ms),
        )
