"""Changing a question before it opens: edit its definition, or delete it.

Only a draft may change: once a question has opened, ballots were cast against its
definition. Each change is made in SQL only while the row is still a draft and in Redis
only while the live hash still says ``draft`` (checked and changed in one script on the
question's keys), inside the SQL transaction, so a host opening the question at the same
moment either sees the edit or refuses it. A deleted question then leaves its room's list
in a second step (a room's keys and a question's keys are on different cluster slots);
in between, a join skips it as it skips any id without a live definition.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from live import agenda, store
from live.engines import db
from live.services import Services
from rooms.errors import N_, VotingError, invalid_state, not_found
from rooms.questions import QuestionSpec, Status


def _not_draft(action: str) -> VotingError:
    if action == "delete":
        return invalid_state(N_("Only a draft question can be deleted: this one has opened."))
    return invalid_state(N_("Only a draft question can be edited: this one has opened."))


async def draft(svc: Services, qid: str, action: str) -> store.LiveQuestion:
    """The question if it is a draft; else ``not_found`` or ``invalid_state``."""
    q = await store.load_question(svc, qid)
    if q is None:
        raise not_found(N_("question {id}"), qid)
    if q.status is not Status.DRAFT:
        raise _not_draft(action)
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
            raise _not_draft("edit")
        status = await svc.scripts.edit_draft(
            keys=[key],
            args=[
                orjson.dumps(spec.as_dict()).decode(),
                len(spec.options),
                spec.max_choices,
                str(spec.kind),
                spec.max_ballots,
                store.survey_limits(spec),
            ],
        )
        if status != str(Status.DRAFT):
            raise _not_draft("edit")
    updated = store.LiveQuestion(q.id, q.room_id, spec, Status.DRAFT, q.revealed)
    await store.publish_question(svc, updated)
    return updated


async def delete(svc: Services, q: store.LiveQuestion) -> list[str]:
    """Delete the draft ``q``, which must hold no ballots; return the room's new list."""
    qt, k = db.questions, svc.keys
    async with svc.engine.begin() as conn:
        archived = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(db.ballots)
            .where(db.ballots.c.question_id == q.id)
        )
        if archived:
            raise invalid_state(N_("The question holds ballots: it cannot be deleted."))
        done = await conn.execute(
            qt.delete().where(qt.c.id == q.id, qt.c.status == str(Status.DRAFT))
        )
        if done.rowcount != 1:
            raise _not_draft("delete")
        status = await svc.scripts.delete_draft(
            keys=[
                k.question(q.id),
                k.tally(q.id),
                k.voters(q.id),
                k.stream(q.id),
                k.tick(q.id),
                k.dead_letter(q.id),
            ],
        )
        if status != str(Status.DRAFT):
            raise _not_draft("delete")
        order: list[str] = await svc.scripts.unlist(
            keys=[k.room(q.room_id), k.room_questions(q.room_id)], args=[q.id]
        )
        await svc.redis.srem(k.archiving(), q.id)
    await agenda.publish_order(svc, q.room_id, order)
    return order
