"""What the web node knows of a voter, for the cast script to decide who may vote
(``rooms.eligibility``): a citizen's profile and number reference, an official's
department, and the profile's reads and writes.

A join of a targeted poll needs these facts, and a citywide day has thousands of joins:
they are kept in Valkey beside the account's sessions (``Keys.facts``), read in the same
MGET as the session check (``live.sessions.account_and_facts``), and read from the
database only when none are kept. Every change of a citizen's number or profile keeps the
new facts (``citizen_change``), so the next join sees them, on every node. An official's
department is set when the account is made and never changes (``live.officials``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from live.clock import now_ms
from live.engines import db
from live.officials import official_of
from live.services import Services
from live.sessions import CITIZENS, HOSTS, Kind
from rooms.eligibility import (
    District,
    Facts,
    Gender,
    Job,
    Profile,
    check_profile,
    decide,
    needs_account,
)
from rooms.errors import N_, ErrorCode, not_found


def _profile(row: Any) -> Profile:
    return Profile(
        birth_year=None if row.birth_year is None else int(str(row.birth_year)),
        gender=None if row.gender is None else Gender(str(row.gender)),
        district=None if row.district is None else District(str(row.district)),
        job=None if row.job is None else Job(str(row.job)),
    )


_PROFILE = (
    db.citizens.c.birth_year,
    db.citizens.c.gender,
    db.citizens.c.district,
    db.citizens.c.job,
)


async def profile_of(svc: Services, citizen_id: str) -> Profile:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(*_PROFILE).where(db.citizens.c.id == citizen_id))
        ).first()
    if row is None:
        raise not_found(N_("citizen {id}"), citizen_id)
    return _profile(row)


async def set_profile(svc: Services, citizen_id: str, data: object) -> Profile:
    """Replace the citizen's profile with the one ``data`` gives (``bad_request`` and no
    change for a wrong value). It counts from the citizen's next join of a poll."""
    year = datetime.fromtimestamp(now_ms() / 1000, svc.settings.zone).year
    profile = check_profile(data, year=year)
    values = profile.as_dict()
    async with citizen_change(svc, citizen_id) as conn:
        done = await conn.execute(
            db.citizens.update().where(db.citizens.c.id == citizen_id).values(**values)
        )
    if done.rowcount != 1:
        raise not_found(N_("citizen {id}"), citizen_id)
    return profile


def _kept(facts: Facts) -> str:
    return orjson.dumps(facts.as_arg()).decode()


def _ttl(svc: Services) -> int:
    """Kept as long as a session lasts: facts no session can use any more expire."""
    return svc.settings.session_days * 86400


@asynccontextmanager
async def citizen_change(svc: Services, citizen_id: str) -> AsyncIterator[AsyncConnection]:
    """A transaction that changes the citizen's number or profile, and keeps the facts it
    leaves before it commits: the row stays locked from the change to the commit, so two
    changes keep theirs in the order they commit, and a join that read the row before
    keeps its own only if nothing is kept (``voter_facts``). Should the transaction fail,
    nothing is kept: the next join reads the row."""
    key = svc.keys.facts(CITIZENS.tag, citizen_id)
    try:
        async with svc.engine.begin() as conn:
            yield conn
            facts = await _citizen_facts(conn, citizen_id)
            await svc.redis.set(key, _kept(facts), ex=_ttl(svc))
    except BaseException:
        await svc.redis.delete(key)
        raise


async def _citizen_facts(conn: AsyncConnection, citizen_id: str) -> Facts:
    row = (
        await conn.execute(
            sa.select(db.citizens.c.phone_ref, *_PROFILE).where(db.citizens.c.id == citizen_id)
        )
    ).first()
    if row is None:
        return Facts()
    return Facts(phone=str(row.phone_ref), profile=_profile(row))


async def citizen_facts(svc: Services, citizen_id: str) -> Facts:
    async with svc.engine.connect() as conn:
        return await _citizen_facts(conn, citizen_id)


async def official_facts(svc: Services, host_id: str) -> Facts:
    official = await official_of(svc, host_id)
    if official is None or official.department is None:
        return Facts()
    return Facts(department=official.department.id)


async def voter_facts(svc: Services, kind: Kind, account_id: str, kept: str | None) -> Facts:
    """The account's facts: ``kept`` (what Valkey keeps of them, read with the session:
    ``live.sessions.account_and_facts``), else the database's, then kept unless a change
    kept newer ones meanwhile (a change overwrites, this never does)."""
    if kept is not None:
        return Facts.of_account(orjson.loads(kept))
    if kind is CITIZENS:
        facts = await citizen_facts(svc, account_id)
    else:
        facts = await official_facts(svc, account_id)
    await svc.redis.set(svc.keys.facts(kind.tag, account_id), _kept(facts), nx=True, ex=_ttl(svc))
    return facts


async def decision_for(
    svc: Services,
    rule: dict[str, Any],
    first_question: str | None,
    *,
    citizen_id: str | None,
    host_id: str | None,
    officials_vote: bool,
) -> ErrorCode | None:
    """What the cast script would answer this viewer on a poll's question with ``rule``,
    before any position or on-site code is sent: ``None`` (they may vote), or the
    refusal to explain (``unauthorized`` when no one who could vote is signed in)."""
    if officials_vote:
        if host_id is None:
            return ErrorCode.UNAUTHORIZED
        kind, account_id = HOSTS, host_id
    else:
        if citizen_id is None:
            return ErrorCode.UNAUTHORIZED
        kind, account_id = CITIZENS, citizen_id
    if not needs_account(rule):
        return decide(rule, {})  # what it asks is told by the ballot or the join
    kept = await svc.redis.get(svc.keys.facts(kind.tag, account_id))
    facts = await voter_facts(svc, kind, account_id, kept)
    on_roster = False
    if rule.get("r") == 1 and facts.phone and first_question is not None:
        on_roster = bool(await svc.redis.sismember(svc.keys.roster(first_question), facts.phone))
    return decide(rule, facts.as_arg(), on_roster=on_roster)
