"""The moderation log: every action a monitor (or the command line) takes, appended in
the same transaction as the action and never changed, so the log and the state agree.

Monitors and administrators read it (``entries``) and export it as CSV
(``live.web.moderation``). An entry holds who (``actor``), what (``action``), on what
(``target_kind``, ``target_id``), when (``at_ms``) and why (``reason``); ``detail`` holds
what the action changed, never a secret or a phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from live.clock import now_ms
from live.engines import db
from live.services import Services

#: Entries one page of the log shows.
PAGE = 100


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at_ms: int
    actor: str
    action: str
    target_kind: str
    target_id: str
    reason: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at_ms": self.at_ms,
            "actor": self.actor,
            "action": self.action,
            "target_kind": self.target_kind,
            "target_id": self.target_id,
            "reason": self.reason,
            "detail": self.detail,
        }


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    target_kind: str,
    target_id: str,
    reason: str = "",
    **detail: Any,
) -> None:
    """Append one entry inside the caller's transaction (``conn``)."""
    await conn.execute(
        db.moderation_log.insert().values(
            at_ms=now_ms(),
            actor=actor,
            action=action,
            target_kind=target_kind,
            target_id=target_id,
            reason=reason[:500],
            detail=detail,
        )
    )


async def entries(svc: Services, *, before: int | None = None, limit: int = PAGE) -> list[Entry]:
    """The newest entries first; ``before`` a ``seq`` to page back from."""
    query = sa.select(db.moderation_log).order_by(db.moderation_log.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(db.moderation_log.c.seq < before)
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [_entry(r) for r in rows]


async def every_entry(svc: Services) -> list[Entry]:
    """The whole log, oldest first (the export)."""
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(sa.select(db.moderation_log).order_by("seq"))).all()
    return [_entry(r) for r in rows]


def _entry(r: sa.Row[Any]) -> Entry:
    return Entry(
        int(r.seq),
        int(r.at_ms),
        str(r.actor),
        str(r.action),
        str(r.target_kind),
        str(r.target_id),
        str(r.reason),
        dict(r.detail or {}),
    )
