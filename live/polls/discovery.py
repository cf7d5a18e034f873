"""Finding polls: the list and its filters (area, words, status), "near me" from a geo
index in Valkey, the daily "Hot" badge and the "Recommended" one.

- **Near me**: a poll with a place is in a Valkey geo set from its making until it
  closes (``live.polls.store``); ``nearby`` is one ``GEOSEARCH``, no scan of every poll.
- **Hot**: once a day a job (``live.jobs``) counts each poll's ballots of the last
  24 hours in the archive and keeps the most-voted ``HOT_COUNT`` in a sorted set; the
  badge follows the set.
- **Recommended**: the tags and areas of the polls a signed-in citizen voted in
  (``rooms.discovery.Interests``) rank the open polls they have not voted in. Whether a
  citizen voted in a poll is asked of the poll's voters set with their voter reference:
  nothing records who voted where beyond what the cast path already keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from live.clock import now_ms
from live.engines import db
from live.polls.store import Poll, load_polls
from live.services import Services
from rooms.discovery import HOT_COUNT, Interests, recommended
from rooms.identity import citizen_identity, voter_ref
from rooms.polls import PollStatus

DAY_MS = 86_400_000
#: At most this many polls in one list.
PAGE = 50


async def nearby(
    svc: Services, lat: float, lon: float, radius_km: float
) -> list[tuple[str, float]]:
    """The polls not closed whose place is within ``radius_km`` of the point, nearest first,
    with their distance in km."""
    found = await svc.redis.geosearch(
        svc.keys.polls_near(),
        longitude=lon,
        latitude=lat,
        radius=radius_km,
        unit="km",
        sort="ASC",
        count=PAGE,
        withdist=True,
    )
    return [(str(pid), float(dist)) for pid, dist in found]


async def refresh_hot(svc: Services, at_ms: int | None = None) -> list[str]:
    """Count each poll's ballots of the last day; keep the most-voted as "Hot"."""
    since = (at_ms if at_ms is not None else now_ms()) - DAY_MS
    ballots = sa.func.count(db.ballots.c.id).label("ballots")
    query = (
        sa.select(db.polls.c.id, ballots)
        .join(db.questions, db.questions.c.room_id == db.polls.c.room_id)
        .join(db.ballots, db.ballots.c.question_id == db.questions.c.id)
        .where(db.ballots.c.cast_ms >= since)
        .group_by(db.polls.c.id)
        .order_by(ballots.desc(), db.polls.c.id)
        .limit(HOT_COUNT)
    )
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    key = svc.keys.polls_hot()
    pipe = svc.redis.pipeline(transaction=True)
    pipe.delete(key)
    if rows:
        pipe.zadd(key, {str(r.id): int(r.ballots) for r in rows})
    await pipe.execute()
    return [str(r.id) for r in rows]


async def hot(svc: Services) -> list[str]:
    """The "Hot" polls, most voted first."""
    return [str(p) for p in await svc.redis.zrevrange(svc.keys.polls_hot(), 0, -1)]


async def voted_in(svc: Services, citizen_id: str, polls: Sequence[Poll]) -> set[str]:
    """Which of ``polls`` the citizen voted in (on any of its questions)."""
    identity = citizen_identity(citizen_id)
    asked = [(p.id, q) for p in polls for q in p.question_ids]
    if not asked:
        return set()
    pipe = svc.redis.pipeline(transaction=False)
    for _, qid in asked:
        pipe.sismember(svc.keys.voters(qid), voter_ref(svc.secret, qid, identity))
    found = await pipe.execute()
    return {pid for (pid, _), yes in zip(asked, found, strict=True) if yes}


async def listing(
    svc: Services,
    *,
    area: str | None = None,
    words: str | None = None,
    status: str | None = None,
    ids: Sequence[str] | None = None,
    citizen_id: str | None = None,
    department_id: str | None = None,
) -> list[Poll]:
    """Polls newest first, filtered; ``ids``: these polls only."""
    query = (
        sa.select(db.polls.c.id)
        .where(db.polls.c.moderation.is_(None))  # hidden or deleted by monitors
        .order_by(db.polls.c.created_ms.desc())
        .limit(PAGE)
    )
    if area:
        query = query.where(db.polls.c.area == area)
    if status:
        query = query.where(db.polls.c.status == status)
    if citizen_id:
        query = query.where(db.polls.c.citizen_id == citizen_id)
    if department_id:
        query = query.where(db.polls.c.department_id == department_id)
    if ids is not None:
        query = query.where(db.polls.c.id.in_(list(ids)))
    for word in (words or "").split()[:5]:
        like = f"%{_escape(word)}%"
        query = query.where(
            sa.or_(
                sa.func.lower(db.polls.c.title).like(like.lower(), escape="\\"),
                sa.func.lower(db.polls.c.description).like(like.lower(), escape="\\"),
            )
        )
    async with svc.engine.connect() as conn:
        found = [str(r) for r in (await conn.execute(query)).scalars()]
    return await load_polls(svc, found)


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def badges(
    svc: Services, polls: Sequence[Poll], citizen_id: str | None
) -> dict[str, dict[str, Any]]:
    """For each poll: ``hot`` (its rank, or ``None``), ``recommended`` and ``voted``."""
    hot_ids = await hot(svc)
    voted: set[str] = set()
    picks: list[str] = []
    if citizen_id is not None:
        mine = await listing(svc, status=None)  # the recent polls: where the citizen voted
        voted = await voted_in(svc, citizen_id, mine)
        interests = Interests.of((p.spec.tags, p.spec.area) for p in mine if p.id in voted)
        candidates = [
            (p.id, p.spec.tags, p.spec.area)
            for p in polls
            if p.id not in voted and p.status is not PollStatus.CLOSED
        ]
        picks = recommended(interests, candidates)
    return {
        p.id: {
            "hot": hot_ids.index(p.id) + 1 if p.id in hot_ids else None,
            "recommended": p.id in picks,
            "voted": p.id in voted,
        }
        for p in polls
    }
