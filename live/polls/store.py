"""Polls kept in the archive, each with a room of its own in the live core.

Making a poll makes its room (flagged ``poll`` in the room's hash, so that no one joins
it by number and password: citizens join by the poll's id, signed in) and its
questions, stores the poll, and schedules its opening and closing (``live.jobs``).
Opening and closing act on every question of the room, as a host would; both are
idempotent, so a job run twice, or late, changes nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from live import store
from live.clock import new_id, now_ms
from live.engines import db
from live.moderation import words
from live.rosters import store as rosters
from live.rosters.polls import attach
from live.schedule import jobs_url, schedule_poll
from live.services import Services
from rooms.areas import Area
from rooms.eligibility import Target, rule_of
from rooms.errors import N_, ErrorCode, VotingError, bad_request, not_found
from rooms.polls import (
    MAX_QUESTIONS,
    Author,
    Place,
    PollKind,
    PollSpec,
    PollStatus,
    Reflection,
    check_author,
    check_reflecting,
    may_manage,
)
from rooms.questions import Action, QuestionSpec, Status
from rooms.visibility import Visibility

log = logging.getLogger("mvoting.polls")


@dataclass(frozen=True)
class Poll:
    id: str
    room_id: str
    spec: PollSpec
    status: PollStatus
    owner: Author
    question_ids: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        s = self.spec
        return {
            "id": self.id,
            "kind": str(s.kind),
            "title": s.title,
            "description": s.description,
            "area": str(s.area),
            "tags": list(s.tags),
            "visibility": str(s.visibility),
            "opens_ms": s.opens_ms,
            "closes_ms": s.closes_ms,
            "place": {"lat": s.place.lat, "lon": s.place.lon} if s.place else None,
            "image": s.image,
            "image_alt": s.image_alt,
            "status": str(self.status),
            "target": _public_target(s.target),
            "department": self.owner.department_id,
            "questions": list(self.question_ids),
        }


async def create_poll(
    svc: Services, spec: PollSpec, questions: list[QuestionSpec], author: Author
) -> Poll:
    """Make the poll and its room and questions; schedule its opening and closing."""
    check_author(spec.kind, author, spec.target)
    await _check_departments(svc, spec.target)
    if spec.target.groups:  # before anything is made: a group not the author's is refused
        assert author.host_id is not None
        await rosters.check_groups(svc, spec.target.groups, author.host_id)
    if jobs_url(svc) is None:
        raise VotingError(ErrorCode.UNAVAILABLE)  # polls open and close by the jobs
    if not 1 <= len(questions) <= MAX_QUESTIONS:
        raise bad_request(N_("a poll has 1 to {n} questions"), n=MAX_QUESTIONS)
    await words.refuse_prohibited(svc, *_texts(spec, questions))  # before anything is made
    room = await store.create_room(svc, title=spec.title, owner_id=author.host_id)
    poll_id = new_id()
    rule = rule_of_poll(svc, spec)
    if rule:  # before its questions, which take the room's rule
        await store.set_room_rule(svc, room.id, rule)
    qids = []
    for q in questions:
        # The poll's mode of showing results is every question's.
        added = await store.add_question(svc, room.id, _with_visibility(q, spec))
        qids.append(added.id)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.polls.insert().values(
                id=poll_id,
                room_id=room.id,
                kind=str(spec.kind),
                title=spec.title,
                description=spec.description,
                area=str(spec.area),
                tags=list(spec.tags),
                visibility=str(spec.visibility),
                opens_ms=spec.opens_ms,
                closes_ms=spec.closes_ms,
                lat=spec.place.lat if spec.place else None,
                lon=spec.place.lon if spec.place else None,
                image=spec.image,
                image_alt=spec.image_alt,
                citizen_id=author.citizen_id,
                host_id=author.host_id,
                department_id=author.department_id,
                status=str(PollStatus.SCHEDULED),
                created_ms=now_ms(),
                target=None if spec.target.open_to_all else spec.target.as_dict(),
                comments=spec.comments,
            )
        )
    if spec.target.groups:
        assert author.host_id is not None  # check_author: only officials target groups
        await attach(svc, poll_id, qids, spec.target.groups, author.host_id)
    await svc.redis.hset(svc.keys.room(room.id), "poll", poll_id)
    await svc.redis.hset(
        svc.keys.poll(poll_id),
        mapping={
            "room": room.id,
            "number": room.number,
            # an internal vote's voters are officials, signed in as hosts
            "voters": "officials" if spec.target.officials else "citizens",
        },
    )
    if spec.place is not None:  # "near me" finds it until it closes
        await svc.redis.geoadd(svc.keys.polls_near(), (spec.place.lon, spec.place.lat, poll_id))
    await schedule_poll(svc, poll_id, spec.opens_ms, spec.closes_ms)
    return Poll(poll_id, room.id, spec, PollStatus.SCHEDULED, author, tuple(qids))


def _texts(spec: PollSpec, questions: list[QuestionSpec]) -> list[str]:
    """What a poll says, each text checked for prohibited words on its own."""
    texts = [spec.title, spec.description, spec.image_alt, *spec.tags]
    for q in questions:
        texts += [q.title, q.description, q.image_alt, *(p.title for p in q.parts)]
        texts += [t for o in q.options for t in (o.label, o.description, o.image_alt)]
    return texts


def rule_of_poll(svc: Services, poll: PollSpec | Poll) -> dict[str, Any]:
    """The rule the poll's questions carry (``rooms.eligibility.rule_of``)."""
    spec = poll.spec if isinstance(poll, Poll) else poll
    return rule_of(spec.target, place=_where(spec), year=_year(svc, spec.opens_ms))


def _where(spec: PollSpec) -> tuple[float, float] | None:
    return None if spec.place is None else (spec.place.lat, spec.place.lon)


def _year(svc: Services, ms: int) -> int:
    """The year in the city's time zone at ``ms`` (age bands are counted in it)."""
    return datetime.fromtimestamp(ms / 1000, svc.settings.zone).year


async def _check_departments(svc: Services, target: Target) -> None:
    if not target.departments:
        return
    async with svc.engine.connect() as conn:
        found = set(
            (
                await conn.execute(
                    sa.select(db.departments.c.id).where(
                        db.departments.c.id.in_(target.departments)
                    )
                )
            ).scalars()
        )
    for missing in target.departments:
        if missing not in found:
            raise not_found(N_("department {id}"), missing)


def _public_target(target: Target) -> dict[str, Any] | None:
    """Who may vote, as anyone may read it: roster groups are counted, not named."""
    if target.open_to_all:
        return None
    shown = target.as_dict()
    shown["groups"] = len(target.groups)
    return shown


def _with_visibility(q: QuestionSpec, spec: PollSpec) -> QuestionSpec:
    return replace(q, visibility=spec.visibility)


def _poll(row: sa.Row[Any], question_ids: tuple[str, ...] = ()) -> Poll:
    spec = PollSpec(
        kind=PollKind(row.kind),
        title=row.title,
        description=row.description,
        area=Area(row.area),
        tags=tuple(row.tags or ()),
        opens_ms=int(row.opens_ms),
        closes_ms=int(row.closes_ms),
        visibility=Visibility(row.visibility),
        place=Place(row.lat, row.lon) if row.lat is not None and row.lon is not None else None,
        image=row.image,
        image_alt=row.image_alt,
        target=Target.from_dict(row.target),
        comments=row.comments,
    )
    owner = Author(row.citizen_id, row.host_id, row.department_id)
    return Poll(row.id, row.room_id, spec, PollStatus(row.status), owner, question_ids)


async def load_poll(svc: Services, poll_id: str) -> Poll | None:
    async with svc.engine.connect() as conn:
        row = (await conn.execute(sa.select(db.polls).where(db.polls.c.id == poll_id))).first()
        if row is None:
            return None
        qids = (
            await conn.execute(
                sa.select(db.questions.c.id)
                .where(db.questions.c.room_id == row.room_id)
                .order_by(db.questions.c.position)
            )
        ).scalars()
        return _poll(row, tuple(qids))


async def load_polls(svc: Services, poll_ids: list[str]) -> list[Poll]:
    """The polls of these ids, in this order (an unknown id is left out)."""
    if not poll_ids:
        return []
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(sa.select(db.polls).where(db.polls.c.id.in_(poll_ids)))).all()
        by_room = {r.room_id: r for r in rows}
        qids: dict[str, list[str]] = {r.room_id: [] for r in rows}
        found = await conn.execute(
            sa.select(db.questions.c.room_id, db.questions.c.id)
            .where(db.questions.c.room_id.in_(list(by_room)))
            .order_by(db.questions.c.position)
        )
        for room_id, qid in found:
            qids[room_id].append(qid)
    polls = {r.id: _poll(r, tuple(qids[r.room_id])) for r in rows}
    return [polls[i] for i in poll_ids if i in polls]


async def poll_for(svc: Services, poll_id: str, who: Author) -> Poll:
    """The poll, if ``who`` may change it; else ``not_found`` or ``not_author``."""
    poll = await load_poll(svc, poll_id)
    if poll is None:
        raise not_found(N_("poll {id}"), poll_id)
    if not may_manage(poll.spec.kind, poll.owner, who):
        raise VotingError(ErrorCode.NOT_AUTHOR)
    return poll


async def edit_poll(
    svc: Services, poll_id: str, title: str, description: str, tags: tuple[str, ...]
) -> Poll:
    """Change what a poll says of itself (who may: ``poll_for``)."""
    await words.refuse_prohibited(svc, title, description, *tags)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.polls.update()
            .where(db.polls.c.id == poll_id)
            .values(title=title, description=description, tags=list(tags))
        )
    poll = await load_poll(svc, poll_id)
    if poll is None:
        raise not_found(N_("poll {id}"), poll_id)
    return poll


async def publish_reflection(
    svc: Services, poll_id: str, reflection: Reflection, who: Author
) -> Reflection:
    """Publish (or correct) how the closed policy poll's result was reflected; only its
    department's officials may."""
    poll = await poll_for(svc, poll_id, who)
    check_reflecting(poll.spec.kind, poll.status)
    assert who.host_id is not None  # an official: ``poll_for`` checked the department
    values = {
        "text": reflection.text,
        "reflected_on": reflection.reflected_on,
        "link": reflection.link,
        "host_id": who.host_id,
        "published_ms": now_ms(),
    }
    async with svc.engine.begin() as conn:
        done = await conn.execute(
            db.reflections.update().where(db.reflections.c.poll_id == poll_id).values(**values)
        )
        if done.rowcount == 0:
            await conn.execute(db.reflections.insert().values(poll_id=poll_id, **values))
    return reflection


async def reflection_of(svc: Services, poll_id: str) -> Reflection | None:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(db.reflections).where(db.reflections.c.poll_id == poll_id))
        ).first()
    return Reflection(row.text, row.reflected_on, row.link) if row is not None else None


async def reflections(svc: Services, limit: int = 100) -> list[tuple[Poll, Reflection, int]]:
    """The published reflections, newest first: each with its poll and when it was
    published."""
    async with svc.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(db.reflections)
                .order_by(db.reflections.c.published_ms.desc())
                .limit(limit)
            )
        ).all()
    found = {p.id: p for p in await load_polls(svc, [r.poll_id for r in rows])}
    return [
        (found[r.poll_id], Reflection(r.text, r.reflected_on, r.link), int(r.published_ms))
        for r in rows
        if r.poll_id in found
    ]


async def catch_up(svc: Services) -> int:
    """Open and close every poll past its time; how many moved."""
    at = now_ms()
    async with svc.engine.connect() as conn:
        late_open = (
            (
                await conn.execute(
                    sa.select(db.polls.c.id).where(
                        db.polls.c.status == str(PollStatus.SCHEDULED), db.polls.c.opens_ms <= at
                    )
                )
            )
            .scalars()
            .all()
        )
        late_close = (
            (
                await conn.execute(
                    sa.select(db.polls.c.id).where(
                        db.polls.c.status != str(PollStatus.CLOSED), db.polls.c.closes_ms <= at
                    )
                )
            )
            .scalars()
            .all()
        )
    moved = 0
    for poll_id in late_close:
        moved += await close_poll(svc, poll_id)
    for poll_id in late_open:
        if poll_id not in late_close:
            moved += await open_poll(svc, poll_id)
    if moved:
        log.warning("caught up with %d polls past their times", moved)
    return moved


async def _set_status(svc: Services, poll: Poll, status: PollStatus) -> bool:
    """Move the poll to ``status`` unless it is there or past it; whether it moved."""
    order = [PollStatus.SCHEDULED, PollStatus.OPEN, PollStatus.CLOSED]
    before = [str(s) for s in order[: order.index(status)]]
    stamp = "opened_ms" if status is PollStatus.OPEN else "closed_ms"
    async with svc.engine.begin() as conn:
        done = await conn.execute(
            db.polls.update()
            .where(db.polls.c.id == poll.id, db.polls.c.status.in_(before))
            .values(status=str(status), **{stamp: now_ms()})
        )
    return bool(done.rowcount)


async def open_poll(svc: Services, poll_id: str) -> bool:
    """Open every draft question of the poll; whether the poll was opened now."""
    poll = await load_poll(svc, poll_id)
    if poll is None or poll.status is not PollStatus.SCHEDULED:
        return False
    for qid in poll.question_ids:
        q = await store.load_question(svc, qid)
        if q is not None and q.status is Status.DRAFT:
            await store.act(svc, qid, Action.OPEN)
            # The poll's closing time is its questions' deadline: the cast script refuses
            # ballots from then on, whenever the closing job comes.
            await svc.redis.hset(svc.keys.question(qid), "closes", poll.spec.closes_ms)
    moved = await _set_status(svc, poll, PollStatus.OPEN)
    if moved:
        log.info("poll %s opened", poll_id)
    return moved


async def close_poll(svc: Services, poll_id: str) -> bool:
    """Close every open question of the poll (open first ones never opened, so that each
    has its log); whether the poll was closed now."""
    poll = await load_poll(svc, poll_id)
    if poll is None or poll.status is PollStatus.CLOSED:
        return False
    if poll.status is PollStatus.SCHEDULED:
        await open_poll(svc, poll_id)
    for qid in poll.question_ids:
        q = await store.load_question(svc, qid)
        if q is not None and q.status is Status.OPEN:
            await store.act(svc, qid, Action.CLOSE)
    moved = await _set_status(svc, poll, PollStatus.CLOSED)
    await svc.redis.zrem(svc.keys.polls_near(), poll_id)
    if moved:
        log.info("poll %s closed", poll_id)
    return moved
