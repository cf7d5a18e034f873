"""Rooms and questions: host actions applied to the archive and the live state.

The SQL archive is the record; Redis holds the live copy that joins and casts read. Every
action writes SQL first, then Redis, then announces the change on the fan-out channel so
that every web node updates its audience (broadcast after commit).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from live.clock import new_id, now_ms
from live.engines import db
from live.schedule import jobs_url, schedule_question_close
from live.services import Services
from rooms.cohosts import Role
from rooms.errors import (
    N_,
    ErrorCode,
    VotingError,
    bad_request,
    conflict,
    invalid_state,
    not_found,
)
from rooms.ledger import log_origin
from rooms.questions import (
    Action,
    Kind,
    QuestionSpec,
    QuestionState,
    Status,
    apply_action,
    deadline,
)
from rooms.visibility import Visibility
from rooms.words import CLOUD_SIZE, MAX_HIDDEN

ROOM_NUMBER_TRIES = 50
PASSWORD_DIGITS = 8


@dataclass(frozen=True)
class RoomInfo:
    id: str
    number: str
    title: str
    password: str
    key: str
    presenter: str
    owner_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "password": self.password,
            "key": self.key,
        }


@dataclass(frozen=True)
class LiveQuestion:
    """A question as the live state holds it."""

    id: str
    room_id: str
    spec: QuestionSpec
    status: Status
    revealed: bool
    log_id: str | None = None  #: the poll's transparency log, once it opened
    #: ``{"status", "problem", "reason"}`` once the worker judged the closed poll's log
    verification: dict[str, Any] | None = None
    #: ms since the epoch: an open question with a duration closes itself then
    closes_at: int | None = None

    @property
    def closed(self) -> bool:
        return self.status is Status.CLOSED

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.as_dict(),
            "status": str(self.status),
            "revealed": self.revealed,
            "log": self.log_id,
            "verification": self.verification,
            "closes_at": self.closes_at,
        }


async def create_room(
    svc: Services, *, title: str, password: str | None = None, owner_id: str | None = None
) -> RoomInfo:
    title = (title or "").strip()
    if not title or len(title) > 500:
        raise bad_request(N_("a room needs a title (500 characters at most)"))
    if password is not None and not (1 <= len(password) <= 64):
        raise bad_request(N_("a room password has 1 to 64 characters"))
    room_id = new_id()
    number = await _claim_number(svc, room_id)
    info = RoomInfo(
        id=room_id,
        number=number,
        title=title,
        password=password or default_password(),
        key=secrets.token_urlsafe(12),
        presenter=secrets.token_urlsafe(18),
        owner_id=owner_id,
    )
    created = now_ms()
    try:
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.rooms.insert().values(
                    id=info.id,
                    number=info.number,
                    title=info.title,
                    password=info.password,
                    join_key=info.key,
                    presenter_token=info.presenter,
                    owner_id=owner_id,
                    active=True,
                    created_ms=created,
                )
            )
            if owner_id is not None:
                await conn.execute(
                    db.room_hosts.insert().values(
                        room_id=room_id, host_id=owner_id, role=str(Role.OWNER), created_ms=created
                    )
                )
    except Exception:
        await svc.redis.delete(svc.keys.room_number(number))
        raise
    await svc.redis.hset(
        svc.keys.room(room_id),
        mapping={
            "id": info.id,
            "number": info.number,
            "title": info.title,
            "password": info.password,
            "key": info.key,
            "presenter": info.presenter,
            "owner": owner_id or "",
            "current": "",
        },
    )
    return info


async def renew_presenter(svc: Services, room_id: str) -> str:
    """Give the room a new presenter token (a co-host left: the link they saw must stop
    working), and tell every node (``{"t": "presenter"}``): the hosts' screens joined by
    the old one are let go of, and join again with the new one if they may have it."""
    token = secrets.token_urlsafe(18)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.rooms.update().where(db.rooms.c.id == room_id).values(presenter_token=token)
        )
    await svc.redis.hset(svc.keys.room(room_id), "presenter", token)
    event = {"t": "presenter", "room": room_id}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))
    return token


def default_password() -> str:
    """Eight random digits: quick to type on a phone's keypad, and 10^8 of them.

    Under the join limits (``live.joins``) a room's password can be tried about 1,000
    times an hour from anywhere (``MVOTING_JOIN_FAILURES_PER_ROOM``): guessing it takes
    5 * 10^7 tries, about 5.7 years, on average; a room open for a day is guessed with a
    chance of 0.024 %.
    """
    return f"{secrets.randbelow(10**PASSWORD_DIGITS):0{PASSWORD_DIGITS}d}"


async def _claim_number(svc: Services, room_id: str) -> str:
    """A six-digit number no active room holds (claimed atomically with SET NX)."""
    for _ in range(ROOM_NUMBER_TRIES):
        number = f"{100_000 + secrets.randbelow(900_000)}"
        if await svc.redis.set(svc.keys.room_number(number), room_id, nx=True):
            return number
    raise VotingError(ErrorCode.UNAVAILABLE)


async def room_by_number(svc: Services, number: str) -> dict[str, str] | None:
    room_id = await svc.redis.get(svc.keys.room_number(number))
    if not room_id:
        return None
    room: dict[str, str] = await svc.redis.hgetall(svc.keys.room(room_id))
    return room or None


async def room_by_id(svc: Services, room_id: str) -> dict[str, str] | None:
    room: dict[str, str] = await svc.redis.hgetall(svc.keys.room(room_id))
    return room or None


def password_matches(
    room: dict[str, str], *, password: str | None, key: str | None, presenter: str | None
) -> str | None:
    """Which credential matched: "password", "key", "presenter", or ``None``."""
    for name, given in (("password", password), ("key", key), ("presenter", presenter)):
        if given is not None and hmac.compare_digest(given.encode(), room[name].encode()):
            return name
    return None


async def add_question(svc: Services, room_id: str, spec: QuestionSpec) -> LiveQuestion:
    room = await room_by_id(svc, room_id)
    if room is None:
        raise not_found(N_("room {id}"), room_id)
    qid = new_id()
    async with svc.engine.begin() as conn:
        # After the last one; not the count, which a deleted question would make repeat.
        last = await conn.scalar(
            sa.select(sa.func.max(db.questions.c.position)).where(db.questions.c.room_id == room_id)
        )
        await conn.execute(
            db.questions.insert().values(
                id=qid,
                room_id=room_id,
                position=0 if last is None else last + 1,
                spec=spec.as_dict(),
                status=str(Status.DRAFT),
                revealed=False,
                created_ms=now_ms(),
            )
        )
    await svc.redis.hset(
        svc.keys.question(qid),
        mapping={
            "room": room_id,
            "status": str(Status.DRAFT),
            "revealed": "0",
            "n": len(spec.options),
            "max": spec.max_choices,
            "kind": str(spec.kind),
            "cap": spec.max_ballots,
            "parts": survey_limits(spec),
            "version": 0,
            "def": orjson.dumps(spec.as_dict()).decode(),
            # Who may vote: the room's rule (a poll's target, a room's on-site code) is
            # every question's, read by the cast script.
            **({"target": room["target"]} if room.get("target") else {}),
        },
    )
    await svc.redis.rpush(svc.keys.room_questions(room_id), qid)
    # A rule changed since the room was read (``set_room_rule`` writes the room's first,
    # then every question it lists): listed now, the question takes the rule as it is.
    rule = await svc.redis.hget(svc.keys.room(room_id), "target")
    if rule != room.get("target"):
        if rule:
            await svc.redis.hset(svc.keys.question(qid), "target", rule)
        else:
            await svc.redis.hdel(svc.keys.question(qid), "target")
    made = LiveQuestion(qid, room_id, spec, Status.DRAFT, False)
    # To the room's hosts only (a draft's events are theirs): every console shows it at once.
    await publish_question(svc, made)
    return made


async def set_room_rule(svc: Services, room_id: str, rule: Mapping[str, Any]) -> None:
    """Who may vote on the room's questions (``rooms.eligibility.rule_of``; ``{}``: anyone
    who joined), for the questions it has and those it will have: the room's first, then
    the questions it lists (a question added meanwhile reads the room's again once listed,
    ``add_question``)."""
    value = orjson.dumps(rule).decode() if rule else None
    if value:
        await svc.redis.hset(svc.keys.room(room_id), "target", value)
    else:
        await svc.redis.hdel(svc.keys.room(room_id), "target")
    ids = await question_ids(svc, room_id)
    pipe = svc.redis.pipeline(transaction=False)
    for qid in ids:
        if value:
            pipe.hset(svc.keys.question(qid), "target", value)
        else:
            pipe.hdel(svc.keys.question(qid), "target")
    await pipe.execute()


def survey_limits(spec: QuestionSpec) -> str:
    """A survey's parts as the cast script reads them: "size:most:required" for each, comma
    separated ("" for another kind)."""
    return ",".join(f"{p.size}:{p.max_choices}:{int(p.required)}" for p in spec.parts)


def asks_site_code(room: Mapping[str, str]) -> bool:
    """Whether the room's rule takes ballots only from those who showed its on-site code."""
    rule = room.get("target")
    return rule is not None and orjson.loads(rule).get("s") == 1


async def question_ids(svc: Services, room_id: str) -> list[str]:
    ids: list[str] = await svc.redis.lrange(svc.keys.room_questions(room_id), 0, -1)
    return ids


async def load_questions(svc: Services, ids: list[str]) -> list[LiveQuestion]:
    pipe = svc.redis.pipeline(transaction=False)
    for qid in ids:
        pipe.hmget(
            svc.keys.question(qid),
            "room",
            "def",
            "status",
            "revealed",
            "log",
            "verification",
            "closes",
        )
    rows = await pipe.execute()
    out = []
    for qid, (room, spec, status, revealed, log_id, verdict, closes) in zip(ids, rows, strict=True):
        if spec is None:
            continue
        out.append(
            LiveQuestion(
                qid,
                room,
                QuestionSpec.from_dict(orjson.loads(spec)),
                Status(status),
                revealed == "1",
                log_id or None,
                orjson.loads(verdict) if verdict else None,
                int(closes) if closes and status == str(Status.OPEN) else None,
            )
        )
    return out


async def load_question(svc: Services, qid: str) -> LiveQuestion | None:
    found = await load_questions(svc, [qid])
    return found[0] if found else None


async def tallies(svc: Services, questions: list[LiveQuestion]) -> dict[str, dict[str, Any]]:
    """Current ``{version, total, counts}`` of each question (one round trip); an
    open-text question has ``words`` (the cloud's ``[answer, count]``, most first, none
    hidden) and ``distinct`` (how many answers differ) instead of ``counts``."""
    k = svc.keys
    pipe = svc.redis.pipeline(transaction=False)
    for q in questions:
        pipe.hgetall(k.tally(q.id))
        pipe.hget(k.question(q.id), "version")
        if q.spec.kind is Kind.TEXT:
            # Hidden answers are at most MAX_HIDDEN: the cloud is within this many.
            last = CLOUD_SIZE + MAX_HIDDEN - 1
            pipe.smembers(k.hidden(q.id))
            pipe.zrange(k.words(q.id), 0, last, withscores=True, score_cast_func=int)
            pipe.zcard(k.words(q.id))
    raw = iter(await pipe.execute())
    out = {}
    for q in questions:
        counts: dict[str, str] = next(raw)
        tally: dict[str, Any] = {
            "question": q.id,
            "version": int(next(raw) or 0),
            "total": int(counts.get("total", 0)),
        }
        if q.spec.kind is Kind.TEXT:
            hidden, ranked, distinct = next(raw), next(raw), next(raw)
            shown = [[w, -n] for w, n in ranked if w not in hidden]  # scored minus counts
            tally.update(words=shown[:CLOUD_SIZE], distinct=distinct)
        else:
            tally["counts"] = [int(counts.get(str(i), 0)) for i in range(len(q.spec.options))]
        out[q.id] = tally
    return out


async def act(svc: Services, qid: str, action: Action) -> LiveQuestion:
    """Apply a host's action; announce it to every node. ``rooms`` decides, Lua applies."""
    q = await load_question(svc, qid)
    if q is None:
        raise not_found(N_("question {id}"), qid)
    new = apply_action(QuestionState(q.status, q.revealed), action)
    if action is Action.OPEN and deadline(q.spec, 0) is not None:
        if jobs_url(svc) is None:
            raise invalid_state(
                N_(
                    "A question that closes by itself needs the scheduled jobs: "
                    "set MVOTING_JOBS_REDIS_URL."
                )
            )
        if q.spec.closes_at_ms and q.spec.closes_at_ms <= now_ms() + 1000:
            raise invalid_state(
                N_("The question's closing time has passed: change or clear it, then open it.")
            )
    if action is Action.RESET:
        await _check_drained(svc, q)
    at = now_ms()
    # A poll's first opening starts its transparency log; a reset ends it (the next
    # opening starts another, since witnesses never see a log shrink).
    log_id = q.log_id or (secrets.token_hex(8) if action is Action.OPEN else None)
    async with svc.engine.begin() as conn:
        values: dict[str, Any] = {"status": str(new.status), "revealed": new.revealed}
        if action is Action.OPEN:
            values.update(opened_ms=at, log_id=log_id)
            if q.log_id is None and log_id is not None:
                await conn.execute(
                    db.ledger_logs.insert().values(
                        id=log_id,
                        question_id=qid,
                        origin=log_origin(svc.settings.ledger_name, log_id),
                        size=0,
                        receipts=q.spec.receipts,
                        created_ms=at,
                    )
                )
        elif action is Action.CLOSE:
            values["closed_ms"] = at
        elif action is Action.RESET:
            log_id = None
            values.update(
                opened_ms=None,
                closed_ms=None,
                archived_count=None,
                tally_total=None,
                finalized_ms=None,
                log_id=None,
            )
            await conn.execute(db.ballots.delete().where(db.ballots.c.question_id == qid))
        await conn.execute(db.questions.update().where(db.questions.c.id == qid).values(**values))
    k = svc.keys
    applied = await svc.scripts.transition(
        keys=[
            k.question(qid),
            k.voters(qid),
            k.tally(qid),
            k.stream(qid),
            k.words(qid),
            k.hidden(qid),
        ],
        args=[
            str(q.status),
            str(new.status),
            "1" if new.revealed else "0",
            "1" if action is Action.RESET else "0",
            *_ledger_marker(q, action, at, log_id),
        ],
    )
    if not applied:
        raise conflict(N_("The question changed meanwhile; try again."))
    if action is Action.OPEN:
        await svc.redis.sadd(k.archiving(), qid)
    # The definition as it is now: a draft edited since we read it opens as edited.
    fresh = await load_question(svc, qid)
    spec = fresh.spec if fresh is not None else q.spec
    closes_at = await _deadline(svc, qid, spec, action, at, log_id, fresh, q.log_id)
    updated = LiveQuestion(
        qid, q.room_id, spec, new.status, new.revealed, log_id, closes_at=closes_at
    )
    await publish_question(svc, updated, reset=action is Action.RESET)
    # After the question's own event, so that every screen knows it before following it:
    # an opening makes it current; a reset takes it back into preparation, off the screens.
    if action is Action.OPEN:
        await set_current(svc, q.room_id, qid)
    elif action is Action.RESET:
        room = await room_by_id(svc, q.room_id)
        if room is not None and room.get("current") == qid:
            await set_current(svc, q.room_id, None)
    # A forced snapshot: after a reset the zeros, after a reveal the counts, at once.
    await snapshot(svc, qid, force=True)
    return updated


async def _deadline(
    svc: Services,
    qid: str,
    spec: QuestionSpec,
    action: Action,
    at: int,
    log_id: str | None,
    fresh: LiveQuestion | None,
    opened: str | None,
) -> int | None:
    """When the question closes itself: set at its opening, for a question with a
    duration or a closing time (``rooms.questions.deadline``), and scheduled as a job
    (``live.jobs``); kept while it stays open. The cast script refuses ballots from that
    moment, and the minute's sweep closes it if the job was lost (``deadlines``)."""
    closes_at = deadline(spec, at) if action is Action.OPEN else None
    if closes_at is not None and log_id is not None:
        pipe = svc.redis.pipeline(transaction=False)
        pipe.hset(svc.keys.question(qid), "closes", closes_at)
        pipe.zadd(svc.keys.deadlines(), {f"{qid}|{log_id}": closes_at})
        await pipe.execute()
        await schedule_question_close(svc, qid, log_id, closes_at)
        return closes_at
    if action in (Action.CLOSE, Action.RESET):
        pipe = svc.redis.pipeline(transaction=False)
        pipe.hdel(svc.keys.question(qid), "closes")
        if opened is not None:
            pipe.zrem(svc.keys.deadlines(), f"{qid}|{opened}")
        await pipe.execute()
        return None
    return fresh.closes_at if fresh is not None else None


async def set_current(svc: Services, room_id: str, qid: str | None) -> None:
    """Make ``qid`` the room's current question (``None``: none, the agenda is over) and
    tell every screen of the room (``{"t": "room"}``, the ``room`` event)."""
    await svc.redis.hset(svc.keys.room(room_id), "current", qid or "")
    event = {"t": "room", "room": room_id, "current": qid}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))


def _ledger_marker(q: LiveQuestion, action: Action, at: int, log_id: str | None) -> list[str]:
    """What the transition writes into the ballot stream for the ledger (``lua/transition``).

    An opening carries the definition and the log; a closing is marked in the same atomic
    step that stops ballots, so every ballot accepted precedes it in the stream, and the
    script records the tally at that moment.
    """
    if action is Action.OPEN and log_id is not None:
        return ["open", str(at), log_id, orjson.dumps(q.spec.as_dict()).decode()]
    if action is Action.CLOSE:
        return ["close", str(at), str(len(q.spec.options))]
    return [""]


async def _check_drained(svc: Services, q: LiveQuestion) -> None:
    total = int(await svc.redis.hget(svc.keys.tally(q.id), "total") or 0)
    if total == 0:
        return
    async with svc.engine.connect() as conn:
        archived = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(db.ballots)
            .where(db.ballots.c.question_id == q.id)
        )
    if archived != total:
        raise VotingError(ErrorCode.NOT_DRAINED)


async def publish_question(svc: Services, q: LiveQuestion, *, reset: bool = False) -> None:
    event = {"t": "question", "room": q.room_id, "question": q.public(), "reset": reset}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))


async def snapshot(svc: Services, qid: str, *, force: bool = False) -> int:
    """Publish a tally snapshot unless one went out within the interval.

    Returns 0 when published, else the milliseconds to wait before trying again.
    """
    k = svc.keys
    interval = max(1, int(svc.settings.tally_interval * 1000))
    wait: int = await svc.scripts.snapshot(
        keys=[k.question(qid), k.tally(qid), k.tick(qid), k.words(qid), k.hidden(qid)],
        args=[interval, k.events(), qid, "1" if force else "0", CLOUD_SIZE],
    )
    return wait


async def results(svc: Services, room_id: str) -> list[dict[str, Any]]:
    """Each question's live counts and total, and how many ballots the archive holds."""
    qs = await load_questions(svc, await question_ids(svc, room_id))
    live = await tallies(svc, qs)
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.ballots.c.question_id, sa.func.count())
            .where(db.ballots.c.question_id.in_([q.id for q in qs]))
            .group_by(db.ballots.c.question_id)
        )
        archived = {qid: n for qid, n in rows}
        final = {
            r.id: r
            for r in await conn.execute(
                sa.select(
                    db.questions.c.id,
                    db.questions.c.archived_count,
                    db.questions.c.tally_total,
                    db.questions.c.finalized_ms,
                ).where(db.questions.c.room_id == room_id)
            )
        }
    out = []
    for q in qs:
        t = live[q.id]
        f = final.get(q.id)
        out.append(
            {
                "id": q.id,
                "title": q.spec.title,
                "status": str(q.status),
                "kind": str(q.spec.kind),
                # Open text: the cloud's [answer, count] pairs (the 50 most given, shown).
                "counts": t["counts"] if "counts" in t else t["words"],
                "total": t["total"],
                "archived": archived.get(q.id, 0),
                "finalized": bool(f is not None and f.finalized_ms is not None),
                "log": q.log_id,
                **verification_of(q),
                **_ranking_figures(q, t),
            }
        )
    return out


def _ranking_figures(q: LiveQuestion, t: dict[str, Any]) -> dict[str, Any]:
    """A ranking's counts are Borda points: each option's average place too (1 is first;
    ``None`` before any ballot). Nothing for another kind."""
    if q.spec.kind is not Kind.RANKING:
        return {}
    n, total = len(q.spec.options), t["total"]
    return {"average_place": [round(n - p / total, 2) if total else None for p in t["counts"]]}


def verification_of(q: LiveQuestion) -> dict[str, Any]:
    """``{"verification", "reason"}``: the worker's verdict on the poll's log; pending until
    it has judged the closed poll; None for a poll without a log (never opened)."""
    if q.verification is not None:
        return {"verification": q.verification["status"], "reason": q.verification["reason"]}
    if q.log_id is None:
        return {"verification": None, "reason": ""}
    reason = "The poll is open." if q.status is Status.OPEN else "The log is being checked."
    return {"verification": "pending", "reason": reason}


def visibility_of(q: LiveQuestion) -> Visibility:
    return q.spec.visibility
