"""Which citizens a new poll concerns, read from the archive in batches.

A citizen is in a poll's audience when their notifications are on (``interests`` is a
list) and the poll is

- **place**: placed within the radius of the place they saved;
- **district**: targeted at their home district (the poll's ``target.districts``);
- **area**: in one of their areas of interest;

one reason each, the first that holds in that order. SQL narrows each batch (by the
area's name in the JSON list, the district, a box around the poll's place, and the
poll's target where the profile already tells someone cannot vote); the exact distance
is computed here. No one is told of an internal vote (officials only), of a poll
hidden by the monitors, or of their own poll.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from live.engines import db
from live.notify.interests import MAX_PLACE_RADIUS
from live.polls.store import Poll
from live.services import Services
from rooms.eligibility import birth_years, distance_m

#: Citizens read at once, unless told otherwise (the fan-out: ``Settings.notify_batch``).
BATCH = 1_000


@dataclass(frozen=True, slots=True)
class Recipient:
    citizen_id: str
    reason: str  #: "place" | "district" | "area"


def _box(lat: float, lon: float, metres: float) -> tuple[float, float, float, float]:
    """A lat/lon box holding every point within ``metres`` of the place."""
    dlat = math.degrees(metres / 6_371_008.8)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _conditions(svc: Services, poll: Poll) -> list[sa.ColumnElement[bool]] | None:
    """The WHERE of the poll's audience; ``None``: it has none."""
    spec, c = poll.spec, db.citizens.c
    target = spec.target
    if target.officials:
        return None
    reasons: list[sa.ColumnElement[bool]] = [sa.cast(c.interests, sa.Text).like(f'%"{spec.area}"%')]
    if target.districts:
        reasons.append(c.district.in_([str(d) for d in target.districts]))
    if spec.place is not None:
        south, north, west, east = _box(spec.place.lat, spec.place.lon, MAX_PLACE_RADIUS)
        reasons.append(
            sa.and_(
                c.place_lat.is_not(None),
                c.place_lat.between(south, north),
                c.place_lon.between(west, east),
            )
        )
    where: list[sa.ColumnElement[bool]] = [c.interests.is_not(None), sa.or_(*reasons)]
    # Leave out whom the profile tells cannot vote (an untold field may be told later).
    if target.districts:
        where.append(
            sa.or_(c.district.is_(None), c.district.in_([str(x) for x in target.districts]))
        )
    if target.genders:
        where.append(sa.or_(c.gender.is_(None), c.gender.in_([str(x) for x in target.genders])))
    if target.jobs:
        where.append(sa.or_(c.job.is_(None), c.job.in_([str(x) for x in target.jobs])))
    if target.ages:
        year = datetime.fromtimestamp(spec.opens_ms / 1000, svc.settings.zone).year
        bands = [c.birth_year.between(*birth_years(a, year)) for a in target.ages]
        where.append(sa.or_(c.birth_year.is_(None), *bands))
    if target.groups:
        members = sa.select(db.roster_members.c.phone_ref).where(
            db.roster_members.c.group_id.in_(list(target.groups))
        )
        where.append(c.phone_ref.in_(members))
    if poll.owner.citizen_id is not None:
        where.append(c.id != poll.owner.citizen_id)
    return where


def _reason(poll: Poll, row: Any) -> str:
    spec = poll.spec
    if (
        spec.place is not None
        and row.place_lat is not None
        and row.place_lon is not None
        and distance_m((spec.place.lat, spec.place.lon), (row.place_lat, row.place_lon))
        <= (row.place_radius_m or 0)
    ):
        return "place"
    if spec.target.districts and row.district in {str(d) for d in spec.target.districts}:
        return "district"
    if isinstance(row.interests, list) and str(spec.area) in row.interests:
        return "area"
    return ""


async def batches(
    svc: Services, poll: Poll, *, size: int = BATCH, after: str = ""
) -> AsyncIterator[list[Recipient]]:
    """The poll's audience, ``size`` citizens read at a time in the order of their ids
    (after ``after``: a job tried again goes on where it was)."""
    where = _conditions(svc, poll)
    if where is None:
        return
    c = db.citizens.c
    columns = (c.id, c.interests, c.district, c.place_lat, c.place_lon, c.place_radius_m)
    while True:
        query = sa.select(*columns).where(*where, c.id > after).order_by(c.id).limit(size)
        async with svc.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return
        after = rows[-1].id
        found = [Recipient(r.id, reason) for r in rows if (reason := _reason(poll, r))]
        if found:
            yield found
        if len(rows) < size:
            return
