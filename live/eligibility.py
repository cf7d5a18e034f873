"""What the web node knows of a voter, for the cast script to decide who may vote
(``rooms.eligibility``): a citizen's profile and number reference, an official's
department, and the profile's reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from live.clock import now_ms
from live.engines import db
from live.officials import official_of
from live.services import Services
from rooms.eligibility import District, Facts, Gender, Job, Profile, check_profile, decide
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
    async with svc.engine.begin() as conn:
        done = await conn.execute(
            db.citizens.update().where(db.citizens.c.id == citizen_id).values(**values)
        )
    if done.rowcount != 1:
        raise not_found(N_("citizen {id}"), citizen_id)
    return profile


async def citizen_facts(svc: Services, citizen_id: str) -> Facts:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(db.citizens.c.phone_ref, *_PROFILE).where(db.citizens.c.id == citizen_id)
            )
        ).first()
    if row is None:
        return Facts()
    return Facts(phone=str(row.phone_ref), profile=_profile(row))


async def official_facts(svc: Services, host_id: str) -> Facts:
    official = await official_of(svc, host_id)
    if official is None or official.department is None:
        return Facts()
    return Facts(department=official.department.id)


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
        facts = await official_facts(svc, host_id)
    else:
        if citizen_id is None:
            return ErrorCode.UNAUTHORIZED
        facts = await citizen_facts(svc, citizen_id)
    if not rule:
        return None
    on_roster = False
    if rule.get("r") == 1 and facts.phone and first_question is not None:
        on_roster = bool(await svc.redis.sismember(svc.keys.roster(first_question), facts.phone))
    return decide(rule, facts.as_arg(), on_roster=on_roster)
