"""Co-hosts in the archive: who hosts which room, and invitations to become a co-host.

``rooms.cohosts`` decides; this module reads and writes ``room_hosts`` and
``invitations``. Access is checked against SQL on every request, so a removed co-host
loses the room at once, on every node.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from live import store
from live.clock import now_ms
from live.engines import db
from live.services import Services
from rooms.cohosts import Acceptance, Role, check_removal, decide_acceptance
from rooms.errors import N_, conflict, not_found


@dataclass(frozen=True)
class Invitation:
    token: str
    room_id: str


async def role_of(svc: Services, room_id: str, host_id: str) -> Role | None:
    async with svc.engine.connect() as conn:
        role = await conn.scalar(
            sa.select(db.room_hosts.c.role).where(
                db.room_hosts.c.room_id == room_id, db.room_hosts.c.host_id == host_id
            )
        )
    return Role(role) if role is not None else None


async def rooms_of(svc: Services, host_id: str) -> list[dict[str, Any]]:
    """The rooms this host owns or co-hosts, newest first: ``{id, number, title, role}``."""
    rh, r = db.room_hosts, db.rooms
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(r.c.id, r.c.number, r.c.title, rh.c.role)
            .join(rh, rh.c.room_id == r.c.id)
            .where(rh.c.host_id == host_id)
            .order_by(r.c.created_ms.desc(), r.c.id)
        )
        return [{"id": x.id, "number": x.number, "title": x.title, "role": x.role} for x in rows]


async def hosts_of(svc: Services, room_id: str) -> list[dict[str, Any]]:
    """The room's hosts, owner first: ``{id, name, email, role, since_ms}``."""
    rh, h = db.room_hosts, db.hosts
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(h.c.id, h.c.name, h.c.email, rh.c.role, rh.c.created_ms)
            .join(rh, rh.c.host_id == h.c.id)
            .where(rh.c.room_id == room_id)
            .order_by(sa.case((rh.c.role == str(Role.OWNER), 0), else_=1), rh.c.created_ms)
        )
        return [
            {"id": x.id, "name": x.name, "email": x.email, "role": x.role, "since_ms": x.created_ms}
            for x in rows
        ]


async def invite(svc: Services, room_id: str, created_by: str) -> Invitation:
    token = secrets.token_urlsafe(24)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.invitations.insert().values(
                token=token, room_id=room_id, created_by=created_by, created_ms=now_ms()
            )
        )
    return Invitation(token, room_id)


async def accept(svc: Services, token: str, host_id: str) -> tuple[str, Role]:
    """Make ``host_id`` a co-host of the invitation's room; return the room id and role."""
    inv_t, rh = db.invitations, db.room_hosts
    async with svc.engine.begin() as conn:
        inv = (await conn.execute(sa.select(inv_t).where(inv_t.c.token == token))).first()
        if inv is None:
            raise not_found(N_("invitation with this link"))
        found = await conn.scalar(
            sa.select(rh.c.role).where(rh.c.room_id == inv.room_id, rh.c.host_id == host_id)
        )
        role = Role(found) if found is not None else None
        if decide_acceptance(used_by=inv.accepted_by, role=role) is Acceptance.ALREADY_HOST:
            assert role is not None
            return inv.room_id, role
        now = now_ms()
        # Claim the link only if still unused: of two hosts accepting at once, one joins.
        claimed = await conn.execute(
            inv_t.update()
            .where(inv_t.c.token == token, inv_t.c.accepted_by.is_(None))
            .values(accepted_by=host_id, accepted_ms=now)
        )
        if claimed.rowcount != 1:
            raise conflict(N_("This invitation has been used already."))
        await conn.execute(
            db.insert_ignoring_duplicates(conn, rh).values(
                room_id=inv.room_id, host_id=host_id, role=str(Role.COHOST), created_ms=now
            )
        )
    return inv.room_id, Role.COHOST


async def remove(svc: Services, room_id: str, host_id: str) -> None:
    rh = db.room_hosts
    async with svc.engine.begin() as conn:
        found = await conn.scalar(
            sa.select(rh.c.role).where(rh.c.room_id == room_id, rh.c.host_id == host_id)
        )
        check_removal(Role(found) if found is not None else None, host_id)
        await conn.execute(
            rh.delete().where(
                rh.c.room_id == room_id, rh.c.host_id == host_id, rh.c.role == str(Role.COHOST)
            )
        )
    # The presenter link they saw gave the hosts' view of the room (drafts, the on-site
    # code): it is replaced, and the screens still joined by it are let go of.
    await store.renew_presenter(svc, room_id)
