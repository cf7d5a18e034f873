"""Changing a question before it opens: edit its definition, or delete it.

Only a draft may change: once a question has opened, ballots were cast against its
definition. Each change is made in SQL only while the row is still a draft and in Redis
only while the live hash still says ``draft`` (WATCH), inside the SQL transaction, so a
host opening the question at the same moment either sees the edit or refuses it.
"""

from __future__ import annotations

import orjson
import redis.exceptions
import sqlalchemy as sa

from live import agenda, db, store
from live.services import Services
from rooms.errors import ErrorCode, VotingError
from rooms.questions import QuestionSpec, Status


def _not_draft(action: str, status: str) -> VotingError:
    return VotingError(ErrorCode.INVALID_STATE, action=action, status=status)


async def draft(svc: Services, qid: str, action: str) -> store.LiveQuestion:
    """The question if it is a draft; else ``not_found`` or ``invalid_state``."""
    q = await store.load_question(svc, qid)
    if q is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="question", id=qid)
    if q.status is not Status.DRAFT:
        raise _not_draft(action, str(q.status))
    return q


async def edit(svc: Services, q: store.LiveQuestion, spec: QuestionSpec) -> store.LiveQuestion:
    """Give the draft ``q`` the definition ``spec``; announce it to the room."""
    qt = db.questions
    key = svc.keys.question(q.id)
    async with svc.engine.begin() as conn:
        done = await conn.execute(
            qt.update()
            .where(qt.c.id == q.id, qt.c.status == str(Status.DRAFT))
            .values(spec=spec.as_dict())
        )
        if done.rowcount != 1:
            raise _not_draft("edit", "no longer a draft")
        try:
            async with svc.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                status = await pipe.hget(key, "status")
                if status != str(Status.DRAFT):
                    raise _not_draft("edit", str(status))
                pipe.multi()
                pipe.hset(
                    key,
                    mapping={
                        "def": orjson.dumps(spec.as_dict()).decode(),
                        "n": len(spec.options),
                        "max": spec.max_choices,
                    },
                )
                await pipe.execute()
        except redis.exceptions.WatchError:
            raise _not_draft("edit", "changing") from None
    updated = store.LiveQuestion(q.id, q.room_id, spec, Status.DRAFT, q.revealed)
    await store.publish_question(svc, updated)
    return updated


async def delete(svc: Services, q: store.LiveQuestion) -> list[str]:
    """Delete the draft ``q``, which must hold no ballots; return the room's new list."""
    qt, k = db.questions, svc.keys
    room_key, list_key = k.room(q.room_id), k.room_questions(q.room_id)
    async with svc.engine.begin() as conn:
        archived = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(db.ballots)
            .where(db.ballots.c.question_id == q.id)
        )
        if archived:
            raise _not_draft("delete", "holding ballots")
        done = await conn.execute(
            qt.delete().where(qt.c.id == q.id, qt.c.status == str(Status.DRAFT))
        )
        if done.rowcount != 1:
            raise _not_draft("delete", "no longer a draft")
        try:
            async with svc.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(k.question(q.id), k.tally(q.id), room_key)
                status = await pipe.hget(k.question(q.id), "status")
                if status != str(Status.DRAFT):
                    raise _not_draft("delete", str(status))
                if int(await pipe.hget(k.tally(q.id), "total") or 0):
                    raise _not_draft("delete", "holding ballots")
                current = await pipe.hget(room_key, "current")
                pipe.multi()
                pipe.delete(
                    k.question(q.id),
                    k.voters(q.id),
                    k.tally(q.id),
                    k.stream(q.id),
                    k.tick(q.id),
                    k.dead_letter(q.id),
                )
                pipe.lrem(list_key, 0, q.id)
                pipe.srem(k.archiving(), q.id)
                if current == q.id:
                    pipe.hset(room_key, "current", "")
                pipe.lrange(list_key, 0, -1)
                replies = await pipe.execute()
        except redis.exceptions.WatchError:
            raise _not_draft("delete", "changing") from None
    order: list[str] = replies[-1]
    await agenda.publish_order(svc, q.room_id, order)
    return order
