"""A citizen's notifications, newest first: kept until they are read, and after."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from live.clock import now_ms
from live.engines import db
from live.services import Services
from rooms.errors import N_, bad_request, not_found

PAGE = 20
MAX_PAGE = 100


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "poll": {"id": row.poll_id, "title": row.title, "area": row.area, "status": row.status},
        "reason": row.reason,
        "created_ms": int(row.created_ms),
        "read_ms": None if row.read_ms is None else int(row.read_ms),
    }


def _query() -> sa.Select[Any]:
    n, p = db.notifications, db.polls
    return sa.select(
        n.c.id,
        n.c.poll_id,
        n.c.reason,
        n.c.created_ms,
        n.c.read_ms,
        p.c.title,
        p.c.area,
        p.c.status,
    ).join(p, p.c.id == n.c.poll_id)


def parse_cursor(raw: str | None) -> tuple[int, str] | None:
    """``before``: ``<created_ms>.<id>`` of the last notification of the page before."""
    if raw is None:
        return None
    ms, _, nid = raw.partition(".")
    if not ms.isdigit() or len(ms) > 15 or not nid.isalnum() or len(nid) > 32:
        raise bad_request(N_("before is the cursor the last page gave"))
    return int(ms), nid


async def page(
    svc: Services, citizen_id: str, *, before: tuple[int, str] | None = None, limit: int = PAGE
) -> tuple[list[dict[str, Any]], str | None, int]:
    """A page of the citizen's notifications, the cursor of the next (or ``None``), and
    how many are unread. Notifications of polls the monitors hid are left out."""
    n, p = db.notifications, db.polls
    query = _query().where(n.c.citizen_id == citizen_id, p.c.moderation.is_(None))
    if before is not None:
        ms, nid = before
        query = query.where(
            sa.or_(n.c.created_ms < ms, sa.and_(n.c.created_ms == ms, n.c.id < nid))
        )
    query = query.order_by(n.c.created_ms.desc(), n.c.id.desc()).limit(limit + 1)
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        unread = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(n.join(p, p.c.id == n.c.poll_id))
            .where(n.c.citizen_id == citizen_id, n.c.read_ms.is_(None), p.c.moderation.is_(None))
        )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1].created_ms}.{rows[-1].id}" if more and rows else None
    return [_public(r) for r in rows], cursor, int(unread or 0)


async def unread(svc: Services, citizen_id: str) -> int:
    return (await page(svc, citizen_id, limit=0))[2]


async def mark_read(svc: Services, citizen_id: str, notification_id: str) -> dict[str, Any]:
    """Mark the citizen's notification read (once: a second time keeps the first time)."""
    n = db.notifications
    async with svc.engine.begin() as conn:
        await conn.execute(
            n.update()
            .where(n.c.id == notification_id, n.c.citizen_id == citizen_id, n.c.read_ms.is_(None))
            .values(read_ms=now_ms())
        )
        row = (
            await conn.execute(
                _query().where(n.c.id == notification_id, n.c.citizen_id == citizen_id)
            )
        ).first()
    if row is None:
        raise not_found(N_("notification {id}"), notification_id)
    return _public(row)
