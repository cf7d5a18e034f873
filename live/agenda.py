"""A room's prepared list in the archive and the live state: reorder it, move through it.

The SQL ``position`` is the record; the Redis list ``room_questions`` is what a join
reads. A new order replaces the list in one script (``reorder.lua``), so a join sees the
old order or the new one, never a mix.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from live import store
from live.engines import db
from live.services import Services
from rooms.agenda import check_order, next_draft
from rooms.errors import ErrorCode, VotingError
from rooms.questions import Action, Status


def _changed_meanwhile() -> VotingError:
    return VotingError(ErrorCode.CONFLICT, detail="The question list changed meanwhile; try again.")


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


async def advance(
    svc: Services, room_id: str
) -> tuple[store.LiveQuestion | None, store.LiveQuestion]:
    """Close the current question if open, open the next draft after it; return both.

    Refused with ``invalid_state``, changing nothing, when no draft question follows.
    """
    room = await store.room_by_id(svc, room_id)
    if room is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="room", id=room_id)
    qs = await store.load_questions(svc, await store.question_ids(svc, room_id))
    current = room.get("current") or None
    target = next_draft([x.id for x in qs], {x.id: x.status for x in qs}, current)
    closed = None
    if any(x.id == current and x.status is Status.OPEN for x in qs):
        assert current is not None
        closed = await store.act(svc, current, Action.CLOSE)
    opened = await store.act(svc, target, Action.OPEN)
    return closed, opened


async def publish_order(svc: Services, room_id: str, order: list[str]) -> None:
    """Announce the room's list after a reorder or a deletion (``{"t": "order"}``)."""
    event: dict[str, Any] = {"t": "order", "room": room_id, "questions": order}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))
