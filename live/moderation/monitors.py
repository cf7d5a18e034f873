"""Who moderates: the city's administrators always, and the monitors they appoint -- staff
(a host account, ``mvoting admin add-monitor --login``) and citizens of the monitoring
group (``--phone``). Each action names its ``Moderator`` in the moderation log.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from live import officials
from live.clock import new_id, now_ms
from live.engines import db
from live.moderation import audit
from live.services import Services


@dataclass(frozen=True, slots=True)
class Moderator:
    """A signed-in monitor: ``actor`` is how the moderation log names them."""

    actor: str  #: "host:<id>" or "citizen:<id>"
    admin: bool = False


async def moderator_of(
    svc: Services, *, host_id: str | None = None, citizen_id: str | None = None
) -> Moderator | None:
    """The account as a moderator, or None if it moderates nothing."""
    if host_id is not None:
        official = await officials.official_of(svc, host_id)
        if official is not None and official.role is officials.Role.ADMIN:
            return Moderator(f"host:{host_id}", admin=True)
        where = db.monitors.c.host_id == host_id
        actor = f"host:{host_id}"
    elif citizen_id is not None:
        where = db.monitors.c.citizen_id == citizen_id
        actor = f"citizen:{citizen_id}"
    else:
        return None
    async with svc.engine.connect() as conn:
        found = (await conn.execute(sa.select(db.monitors.c.id).where(where))).first()
    return Moderator(actor) if found is not None else None


async def add_monitor(
    svc: Services, *, by: str, host_id: str | None = None, citizen_id: str | None = None
) -> bool:
    """Appoint an account (False if it was a monitor already); logged."""
    if (host_id is None) == (citizen_id is None):
        raise ValueError("one account: a host or a citizen")
    kind, account = ("host", host_id) if host_id else ("citizen", citizen_id)
    async with svc.engine.begin() as conn:
        where = (
            db.monitors.c.host_id == host_id if host_id else db.monitors.c.citizen_id == citizen_id
        )
        if (await conn.execute(sa.select(db.monitors.c.id).where(where))).first():
            return False
        await conn.execute(
            db.monitors.insert().values(
                id=new_id(),
                host_id=host_id,
                citizen_id=citizen_id,
                added_by=by,
                added_ms=now_ms(),
            )
        )
        await audit.record(conn, by, "add_monitor", kind, str(account))
    return True


async def remove_monitor(
    svc: Services, *, by: str, host_id: str | None = None, citizen_id: str | None = None
) -> bool:
    kind, account = ("host", host_id) if host_id else ("citizen", citizen_id)
    async with svc.engine.begin() as conn:
        where = (
            db.monitors.c.host_id == host_id if host_id else db.monitors.c.citizen_id == citizen_id
        )
        gone = (await conn.execute(db.monitors.delete().where(where))).rowcount
        if gone:
            await audit.record(conn, by, "remove_monitor", kind, str(account))
    return bool(gone)
