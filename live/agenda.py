"""A room's prepared list in the archive and the live state: reorder it, move through it.

The SQL ``position`` is the record; the Redis list ``room_questions`` is what a join
reads. A new order replaces the list in one script (``reorder.lua``), so a join sees the
old order or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from live import store
from live.engines import db
from live.services import Services
from rooms.agenda import Step, check_order, step_next, step_previous, step_to
from rooms.errors import N_, VotingError, conflict, not_found
from rooms.questions import Action, Status


def _changed_meanwhile() -> VotingError:
    return conflict(N_("The question list changed meanwhile; try again."))


async def reorder(svc: Services, room_id: str, wanted: object) -> list[str]:
    """Put the room's questions in the order ``wanted`` (exactly the room's ids)."""
    q = db.questions
    async with svc.engine.begin() as conn:
        rows = await conn.execute(
            sa.select(q.c.id).where(q.c.room_id == room_id).order_by(q.c.position, q.c.created_ms)
        )
        order = check_order([r.id for r in rows], wanted)
        if not order:
            return order
        await conn.execute(
            q.update().where(q.c.id == sa.bindparam("qid")).values(position=sa.bindparam("pos")),
            [{"qid": qid, "pos": i} for i, qid in enumerate(order)],
        )
        # Still inside the SQL transaction: if the live list moved on, both stay as they were.
        await _replace_live_list(svc, room_id, order)
    await publish_order(svc, room_id, order)
    return order


async def _replace_live_list(svc: Services, room_id: str, order: list[str]) -> None:
    if not await svc.scripts.reorder(keys=[svc.keys.room_questions(room_id)], args=order):
        raise _changed_meanwhile()


@dataclass(frozen=True)
class Moved:
    """What a move through the agenda did, and the room's current question after it."""

    closed: store.LiveQuestion | None
    opened: store.LiveQuestion | None
    current: str | None


async def advance(svc: Services, room_id: str) -> Moved:
    """*Next*: close the current question if open, open the next draft after it; on the
    last question, close it and end the agenda (no current question).

    Refused with ``invalid_state``, changing nothing, when there is nothing left to do.
    """
    return await _move(svc, room_id, step_next)


async def back(svc: Services, room_id: str) -> Moved:
    """*Previous*: the question before the current one that has run becomes current."""
    return await _move(svc, room_id, step_previous)


async def make_current(svc: Services, room_id: str, wanted: object) -> Moved:
    """A host shows ``wanted`` (an open or closed question; a draft opens; ``None``: none)."""
    return await _move(svc, room_id, lambda order, statuses, _: step_to(order, statuses, wanted))


async def _move(
    svc: Services,
    room_id: str,
    decide: Callable[[list[str], dict[str, Status], str | None], Step],
) -> Moved:
    room = await store.room_by_id(svc, room_id)
    if room is None:
        raise not_found(N_("room {id}"), room_id)
    qs = await store.load_questions(svc, await store.question_ids(svc, room_id))
    current = room.get("current") or None
    step = decide([x.id for x in qs], {x.id: x.status for x in qs}, current)
    closed = await store.act(svc, step.close, Action.CLOSE) if step.close else None
    # An opening makes its question current by itself (``store.act``).
    opened = await store.act(svc, step.open, Action.OPEN) if step.open else None
    if opened is None and step.current != current:
        await store.set_current(svc, room_id, step.current)
    return Moved(closed, opened, step.current)


async def publish_order(svc: Services, room_id: str, order: list[str]) -> None:
    """Announce the room's list after a reorder or a deletion (``{"t": "order"}``)."""
    event: dict[str, Any] = {"t": "order", "room": room_id, "questions": order}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))
