"""Roster groups in the archive, and the roster sets of the polls that target them.

A group belongs to the host who made it; its members are phone references
(``rooms.citizens.phones.phone_ref``: the same function as citizens' accounts, so a
citizen's ``phone_ref`` is their roster entry's) with the name the file or the host gave.
A poll that targets groups (``live.rosters.polls.attach``) gets a copy of their members in
each question's ``keys.roster`` set, which the cast script checks. While the poll is not
closed every change of a group follows into those sets: an added number is added; a
removed one is removed unless another group of the same poll still has it.

Every change of a host's groups, and of the sets that follow them, is made holding the
host's roster lock (``locked``), so that a removal's "does another group still have it"
is not undone by an addition happening at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.citizens import phones
from rooms.errors import N_, ErrorCode, VotingError, conflict, invalid_state, not_found
from rooms.polls import PollStatus
from rooms.rosters import check_group_name, check_member_name

#: Members written, or references copied to a roster set, per statement.
BATCH = 1_000
#: A lock is taken back from a holder that did not give it back (a process that died).
LOCK_MS = 30_000
LOCK_WAIT_S = 15.0

groups_t = db.roster_groups
members_t = db.roster_members
links_t = db.roster_polls


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    size: int

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "size": self.size}


@dataclass(frozen=True)
class Member:
    ref: str  #: the phone reference (never the number)
    name: str

    def public(self) -> dict[str, Any]:
        return {"member": self.ref, "name": self.name}


def reference(svc: Services, phone: object) -> str:
    """The reference of the number as typed (any way of writing it); ``invalid_phone``
    if it is no mobile number. The same as a citizen's account's for that number."""
    return phones.phone_ref(svc.settings.phone_pepper.reveal(), phones.normalise(phone))


@contextlib.asynccontextmanager
async def locked(svc: Services, host_id: str) -> AsyncIterator[None]:
    """Hold the host's roster lock (waiting for it at most ``LOCK_WAIT_S``)."""
    key, token = svc.keys.roster_lock(host_id), secrets.token_hex(8)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_S
    while not await svc.redis.set(key, token, nx=True, px=LOCK_MS):
        if loop.time() > deadline:
            raise VotingError(ErrorCode.UNAVAILABLE)
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        await svc.scripts.release(keys=[key], args=[token])


def _size() -> Any:
    return (
        sa.select(sa.func.count())
        .where(members_t.c.group_id == groups_t.c.id)
        .scalar_subquery()
        .label("size")
    )


async def groups_of(svc: Services, host_id: str) -> list[Group]:
    """The host's groups, by name."""
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(groups_t.c.id, groups_t.c.name, _size())
            .where(groups_t.c.host_id == host_id)
            .order_by(groups_t.c.name)
        )
        return [Group(r.id, r.name, int(r.size)) for r in rows]


async def group_for(svc: Services, group_id: str, host_id: str) -> Group:
    """The host's group ``group_id``; ``not_found`` for another host's, as for none."""
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(groups_t.c.id, groups_t.c.name, _size()).where(
                    groups_t.c.id == group_id, groups_t.c.host_id == host_id
                )
            )
        ).first()
    if row is None:
        raise not_found(N_("roster group {id}"), group_id)
    return Group(row.id, row.name, int(row.size))


async def check_groups(svc: Services, group_ids: Iterable[str], host_id: str) -> None:
    """Every one of ``group_ids`` is the host's; else ``not_found`` for the first that is not."""
    wanted = list(dict.fromkeys(group_ids))
    async with svc.engine.connect() as conn:
        found = set(
            (
                await conn.execute(
                    sa.select(groups_t.c.id).where(
                        groups_t.c.id.in_(wanted), groups_t.c.host_id == host_id
                    )
                )
            ).scalars()
        )
    for group_id in wanted:
        if group_id not in found:
            raise not_found(N_("roster group {id}"), group_id)


async def members_of(svc: Services, group_id: str, *, limit: int, offset: int = 0) -> list[Member]:
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(members_t.c.phone_ref, members_t.c.name)
            .where(members_t.c.group_id == group_id)
            .order_by(members_t.c.name, members_t.c.phone_ref)
            .limit(limit)
            .offset(offset)
        )
        return [Member(r.phone_ref, r.name) for r in rows]


async def polls_of(svc: Services, group_id: str) -> list[dict[str, str]]:
    """The polls that target the group: id, title, status."""
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.polls.c.id, db.polls.c.title, db.polls.c.status)
            .join(links_t, links_t.c.poll_id == db.polls.c.id)
            .where(links_t.c.group_id == group_id)
            .order_by(db.polls.c.created_ms.desc())
        )
        return [{"id": r.id, "title": r.title, "status": r.status} for r in rows]


async def _name_free(conn: AsyncConnection, host_id: str, name: str, but: str = "") -> None:
    taken = (
        await conn.execute(
            sa.select(groups_t.c.id).where(
                groups_t.c.host_id == host_id, groups_t.c.name == name, groups_t.c.id != but
            )
        )
    ).first()
    if taken is not None:
        raise conflict(N_("you have a group named {name} already"), name=name)


async def create_group(svc: Services, host_id: str, name: object) -> Group:
    text = check_group_name(name)
    group_id = new_id()
    async with svc.engine.begin() as conn:
        await _name_free(conn, host_id, text)
        await conn.execute(
            groups_t.insert().values(id=group_id, host_id=host_id, name=text, created_ms=now_ms())
        )
    return Group(group_id, text, 0)


async def group_named(svc: Services, host_id: str, name: str) -> Group | None:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(groups_t.c.id).where(
                    groups_t.c.host_id == host_id, groups_t.c.name == name
                )
            )
        ).first()
    return None if row is None else await group_for(svc, row.id, host_id)


async def rename_group(svc: Services, group_id: str, host_id: str, name: object) -> Group:
    await group_for(svc, group_id, host_id)
    text = check_group_name(name)
    async with svc.engine.begin() as conn:
        await _name_free(conn, host_id, text, but=group_id)
        await conn.execute(groups_t.update().where(groups_t.c.id == group_id).values(name=text))
    return await group_for(svc, group_id, host_id)


async def delete_group(svc: Services, group_id: str, host_id: str) -> None:
    """Delete the group, its members and its links to closed polls; refused while a poll
    that is not closed targets it (its voters would change under it)."""
    await group_for(svc, group_id, host_id)
    async with locked(svc, host_id):
        for poll in await polls_of(svc, group_id):
            if poll["status"] != PollStatus.CLOSED:
                raise invalid_state(
                    N_("the poll {title} targets this group until it closes"),
                    title=poll["title"],
                )
        async with svc.engine.begin() as conn:
            await conn.execute(links_t.delete().where(links_t.c.group_id == group_id))
            await conn.execute(members_t.delete().where(members_t.c.group_id == group_id))
            await conn.execute(groups_t.delete().where(groups_t.c.id == group_id))


async def _targeting(conn: AsyncConnection, group_id: str) -> dict[str, list[str]]:
    """The polls not closed that target the group, each with its questions' ids."""
    rows = await conn.execute(
        sa.select(db.polls.c.id, db.questions.c.id.label("qid"))
        .join(links_t, links_t.c.poll_id == db.polls.c.id)
        .join(db.questions, db.questions.c.room_id == db.polls.c.room_id)
        .where(links_t.c.group_id == group_id, db.polls.c.status != str(PollStatus.CLOSED))
    )
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r.id, []).append(r.qid)
    return found


async def _copy(svc: Services, question_ids: Sequence[str], refs: Sequence[str]) -> None:
    for start in range(0, len(refs), BATCH):
        chunk = refs[start : start + BATCH]
        for qid in question_ids:
            await svc.redis.sadd(svc.keys.roster(qid), *chunk)


async def add_members(svc: Services, group_id: str, members: Sequence[tuple[str, str]]) -> int:
    """Add ``(reference, name)`` pairs (one already in the group keeps its name), and
    copy them into the roster sets of the group's polls not closed; how many were new.

    The caller holds the group's host's lock (``locked``)."""
    added = 0
    at = now_ms()
    for start in range(0, len(members), BATCH):
        chunk = members[start : start + BATCH]
        async with svc.engine.begin() as conn:
            before = await _count(conn, group_id)
            await conn.execute(
                db.insert_ignoring_duplicates(conn, members_t),
                [
                    {"group_id": group_id, "phone_ref": r, "name": n, "added_ms": at}
                    for r, n in chunk
                ],
            )
            added += await _count(conn, group_id) - before
            targeting = await _targeting(conn, group_id)
        refs = [r for r, _ in chunk]
        for qids in targeting.values():
            await _copy(svc, qids, refs)
    return added


async def _count(conn: AsyncConnection, group_id: str) -> int:
    n = await conn.scalar(
        sa.select(sa.func.count()).select_from(members_t).where(members_t.c.group_id == group_id)
    )
    return int(n or 0)


async def remove_members(svc: Services, group_id: str, refs: Sequence[str]) -> int:
    """Remove the references from the group, and from the roster sets of its polls not
    closed where no other group of the poll has them; how many were in the group.

    The caller holds the group's host's lock (``locked``)."""
    async with svc.engine.begin() as conn:
        gone = (
            await conn.execute(
                members_t.delete().where(
                    members_t.c.group_id == group_id, members_t.c.phone_ref.in_(refs)
                )
            )
        ).rowcount
        targeting = await _targeting(conn, group_id)
        kept: dict[str, set[str]] = {}
        for poll_id in targeting:
            others = sa.select(links_t.c.group_id).where(
                links_t.c.poll_id == poll_id, links_t.c.group_id != group_id
            )
            kept[poll_id] = set(
                (
                    await conn.execute(
                        sa.select(members_t.c.phone_ref).where(
                            members_t.c.group_id.in_(others), members_t.c.phone_ref.in_(refs)
                        )
                    )
                ).scalars()
            )
    for poll_id, qids in targeting.items():
        dropped = [r for r in refs if r not in kept[poll_id]]
        if dropped:
            for qid in qids:
                await svc.redis.srem(svc.keys.roster(qid), *dropped)
    return int(gone or 0)


async def member(svc: Services, group_id: str, ref: str) -> Member | None:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(members_t.c.phone_ref, members_t.c.name).where(
                    members_t.c.group_id == group_id, members_t.c.phone_ref == ref
                )
            )
        ).first()
    return None if row is None else Member(row.phone_ref, row.name)


async def add_number(
    svc: Services, group_id: str, host_id: str, phone: object, name: object
) -> Member:
    """Add a number typed by the host (kept as its reference only)."""
    await group_for(svc, group_id, host_id)
    ref, text = reference(svc, phone), check_member_name(name)
    async with locked(svc, host_id):
        if await add_members(svc, group_id, [(ref, text)]) == 0:
            raise conflict(N_("this number is in the group already"))
    return Member(ref, text)


async def remove_member(svc: Services, group_id: str, host_id: str, ref: str) -> None:
    await group_for(svc, group_id, host_id)
    async with locked(svc, host_id):
        if await remove_members(svc, group_id, [ref]) == 0:
            raise not_found(N_("such a number in the group"))


async def move_member(
    svc: Services, group_id: str, host_id: str, ref: str, to_group: str
) -> Member:
    """Move a member, with its name, to another of the host's groups."""
    await group_for(svc, group_id, host_id)
    await group_for(svc, to_group, host_id)
    if to_group == group_id:
        raise invalid_state(N_("the number is in that group already"))
    async with locked(svc, host_id):
        found = await member(svc, group_id, ref)
        if found is None:
            raise not_found(N_("such a number in the group"))
        # Added first: a poll that targets both groups never loses the number between.
        await add_members(svc, to_group, [(found.ref, found.name)])
        await remove_members(svc, group_id, [ref])
    return found


async def link_poll(
    svc: Services, poll_id: str, question_ids: Sequence[str], group_ids: Sequence[str]
) -> None:
    """Record that the poll targets the groups and copy their members, once each, into
    every question's roster set. The caller holds the groups' host's lock."""
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.insert_ignoring_duplicates(conn, links_t),
            [{"poll_id": poll_id, "group_id": g} for g in group_ids],
        )
    after = ""
    while True:
        async with svc.engine.connect() as conn:
            refs = list(
                (
                    await conn.execute(
                        sa.select(members_t.c.phone_ref)
                        .where(members_t.c.group_id.in_(group_ids), members_t.c.phone_ref > after)
                        .group_by(members_t.c.phone_ref)
                        .order_by(members_t.c.phone_ref)
                        .limit(BATCH)
                    )
                ).scalars()
            )
        if not refs:
            return
        await _copy(svc, question_ids, refs)
        after = refs[-1]
