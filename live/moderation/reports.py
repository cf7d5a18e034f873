"""Citizens' reports and what monitors do about them.

A citizen reports a poll or a comment once (a second report of the same target is
``conflict``). Monitors see a queue of targets with open reports, the most reported
first (then the one reported longest ago), each with its text and the reasons given.
An action (``rooms.comments.Action``) resolves the target's open reports and is logged
with its reason in the same transaction (``audit``); the author sees the action and its
reason on their own comment or poll and on their account page (``actions_on``).

Deleting a poll removes it from citizens' sight and closes it; its ballots and its log
stay, and the log still verifies (the ledger never deletes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from live import comments
from live.clock import new_id, now_ms
from live.engines import db
from live.moderation import audit
from live.moderation.monitors import Moderator
from live.polls import store as poll_store
from live.services import Services
from rooms.comments import (
    Action,
    CommentStatus,
    ReportReason,
    Target,
    check_note,
)
from rooms.errors import N_, bad_request, conflict, invalid_state, not_found
from rooms.polls import PollStatus

#: Targets one page of the queue holds.
QUEUE_PAGE = 50
#: Open reports one citizen may have at once.
MAX_OPEN_REPORTS = 100


@dataclass(frozen=True, slots=True)
class Queued:
    kind: Target
    id: str
    reports: int
    first_ms: int
    reasons: dict[str, int]
    notes: list[str]
    title: str  #: the poll's title, or the comment's text
    poll_id: str
    state: str  #: "visible", "hidden" or "deleted"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "id": self.id,
            "reports": self.reports,
            "first_ms": self.first_ms,
            "reasons": self.reasons,
            "notes": self.notes,
            "text": self.title,
            "poll": self.poll_id,
            "state": self.state,
        }


async def _exists(conn: Any, kind: Target, target_id: str) -> str | None:
    """The target's poll id if it exists (and is not deleted), else None."""
    if kind is Target.POLL:
        row = (
            await conn.execute(
                sa.select(db.polls.c.id, db.polls.c.moderation).where(db.polls.c.id == target_id)
            )
        ).first()
        return None if row is None or row.moderation == "deleted" else str(row.id)
    row = (
        await conn.execute(
            sa.select(db.comments.c.poll_id, db.comments.c.status).where(
                db.comments.c.id == target_id
            )
        )
    ).first()
    return None if row is None or row.status == CommentStatus.DELETED else str(row.poll_id)


async def report(
    svc: Services, citizen_id: str, kind: Target, target_id: str, reason: ReportReason, note: object
) -> None:
    text = check_note(note)
    try:
        async with svc.engine.begin() as conn:
            if await _exists(conn, kind, target_id) is None:
                raise not_found(
                    N_("poll {id}") if kind is Target.POLL else N_("comment {id}"), target_id
                )
            open_ = await conn.scalar(
                sa.select(sa.func.count()).where(
                    db.reports.c.citizen_id == citizen_id, db.reports.c.resolved_ms.is_(None)
                )
            )
            if int(open_ or 0) >= MAX_OPEN_REPORTS:
                raise bad_request(
                    N_("You have {limit} reports waiting for the monitors already."),
                    limit=MAX_OPEN_REPORTS,
                )
            # One report per citizen and target, ever: the unique key refuses the second.
            await conn.execute(
                db.reports.insert().values(
                    id=new_id(),
                    target_kind=str(kind),
                    target_id=target_id,
                    citizen_id=citizen_id,
                    reason=str(reason),
                    note=text,
                    created_ms=now_ms(),
                )
            )
    except sa.exc.IntegrityError:
        raise conflict(N_("You have reported this already.")) from None


async def poll_moderation(svc: Services, poll_id: str) -> tuple[str | None, str]:
    """A poll's moderation state ("hidden", "deleted" or None) and its reason."""
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(db.polls.c.moderation, db.polls.c.moderation_reason).where(
                    db.polls.c.id == poll_id
                )
            )
        ).first()
    if row is None:
        return None, ""
    return row.moderation, row.moderation_reason or ""


async def queue(svc: Services) -> list[Queued]:
    """Targets with open reports: the most reported first, then the longest waiting."""
    r = db.reports
    counted = (
        sa.select(
            r.c.target_kind,
            r.c.target_id,
            sa.func.count().label("n"),
            sa.func.min(r.c.created_ms).label("first_ms"),
        )
        .where(r.c.resolved_ms.is_(None))
        .group_by(r.c.target_kind, r.c.target_id)
        .order_by(sa.desc("n"), sa.asc("first_ms"), r.c.target_id)
        .limit(QUEUE_PAGE)
    )
    async with svc.engine.connect() as conn:
        heads = (await conn.execute(counted)).all()
        details = (
            await conn.execute(
                sa.select(r.c.target_kind, r.c.target_id, r.c.reason, r.c.note).where(
                    r.c.resolved_ms.is_(None),
                    r.c.target_id.in_([h.target_id for h in heads]),
                )
            )
        ).all()
        poll_ids = [h.target_id for h in heads if h.target_kind == Target.POLL]
        comment_ids = [h.target_id for h in heads if h.target_kind == Target.COMMENT]
        polls = {
            p.id: p
            for p in (
                await conn.execute(
                    sa.select(db.polls.c.id, db.polls.c.title, db.polls.c.moderation).where(
                        db.polls.c.id.in_(poll_ids)
                    )
                )
            ).all()
        }
        found = {
            c.id: c
            for c in (
                await conn.execute(
                    sa.select(
                        db.comments.c.id,
                        db.comments.c.body,
                        db.comments.c.poll_id,
                        db.comments.c.status,
                    ).where(db.comments.c.id.in_(comment_ids))
                )
            ).all()
        }
    out = []
    for h in heads:
        kind = Target(h.target_kind)
        reasons: dict[str, int] = {}
        notes = []
        for d in details:
            if (d.target_kind, d.target_id) == (h.target_kind, h.target_id):
                reasons[d.reason] = reasons.get(d.reason, 0) + 1
                if d.note:
                    notes.append(d.note)
        if kind is Target.POLL:
            p = polls.get(h.target_id)
            text, poll_id = (p.title, p.id) if p else ("", h.target_id)
            state = (p.moderation if p else None) or "visible"
        else:
            c = found.get(h.target_id)
            text, poll_id = (c.body, c.poll_id) if c else ("", "")
            state = c.status if c else "deleted"
        out.append(
            Queued(
                kind, h.target_id, int(h.n), int(h.first_ms), reasons, notes, text, poll_id, state
            )
        )
    return out


async def act(
    svc: Services, who: Moderator, kind: Target, target_id: str, action: Action, reason: str
) -> dict[str, Any]:
    """Apply a monitor's action; resolve the target's open reports; log it."""
    async with svc.engine.begin() as conn:
        poll_id = await _exists(conn, kind, target_id)
        if poll_id is None:
            raise not_found(
                N_("poll {id}") if kind is Target.POLL else N_("comment {id}"), target_id
            )
        resolved = (
            await conn.execute(
                db.reports.update()
                .where(
                    db.reports.c.target_kind == str(kind),
                    db.reports.c.target_id == target_id,
                    db.reports.c.resolved_ms.is_(None),
                )
                .values(resolved_ms=now_ms())
            )
        ).rowcount
        if kind is Target.POLL:
            await _act_on_poll(conn, target_id, action, reason)
        else:
            await _act_on_comment(conn, target_id, action, reason)
        await audit.record(
            conn,
            who.actor,
            str(action),
            str(kind),
            target_id,
            reason,
            poll=poll_id,
            reports_resolved=int(resolved or 0),
        )
    if kind is Target.COMMENT and action is not Action.DISMISS:
        await comments.changed(svc, target_id)
    if kind is Target.POLL and action is Action.DELETE:
        await poll_store.close_poll(svc, target_id)
    if kind is Target.POLL and action in (Action.HIDE, Action.DELETE, Action.RESTORE):
        await _show_or_hold(svc, target_id, action, reason)
    return {"kind": str(kind), "id": target_id, "action": str(action), "resolved": resolved}


async def _show_or_hold(svc: Services, poll_id: str, action: Action, reason: str) -> None:
    """A hidden or deleted poll is held on every node: sockets refuse to join it
    (``live.sockets``), the cast script refuses ballots from pages that joined before, and
    "near me" no longer finds it; a restored one is found and takes ballots again."""
    poll = await poll_store.load_poll(svc, poll_id)
    questions = poll.question_ids if poll is not None else ()
    pipe = svc.redis.pipeline(transaction=False)
    if action is Action.RESTORE:
        pipe.hdel(svc.keys.poll(poll_id), "moderation", "moderation_reason")
        for qid in questions:
            pipe.hdel(svc.keys.question(qid), "held")
        place = poll.spec.place if poll is not None else None
        if place is not None and poll is not None and poll.status is not PollStatus.CLOSED:
            pipe.geoadd(svc.keys.polls_near(), (place.lon, place.lat, poll_id))
    else:
        state = "hidden" if action is Action.HIDE else "deleted"
        pipe.zrem(svc.keys.polls_near(), poll_id)
        pipe.hset(
            svc.keys.poll(poll_id), mapping={"moderation": state, "moderation_reason": reason}
        )
        for qid in questions:
            pipe.hset(svc.keys.question(qid), "held", state)
    await pipe.execute()


async def _act_on_poll(conn: Any, poll_id: str, action: Action, reason: str) -> None:
    row = (
        await conn.execute(sa.select(db.polls.c.moderation).where(db.polls.c.id == poll_id))
    ).first()
    current = row.moderation if row is not None else None
    if action is Action.RESTORE and current != "hidden":
        raise invalid_state(N_("Only a hidden poll can be restored."))
    if action is Action.DISMISS:
        return
    by_action: dict[Action, dict[str, Any]] = {
        Action.HIDE: {"moderation": "hidden", "moderation_reason": reason},
        Action.DELETE: {"moderation": "deleted", "moderation_reason": reason},
        Action.RESTORE: {"moderation": None, "moderation_reason": None},
    }
    values = by_action[action]
    await conn.execute(
        db.polls.update().where(db.polls.c.id == poll_id).values(**values, moderated_ms=now_ms())
    )


async def _act_on_comment(conn: Any, comment_id: str, action: Action, reason: str) -> None:
    row = (
        await conn.execute(sa.select(db.comments.c.status).where(db.comments.c.id == comment_id))
    ).first()
    if action is Action.RESTORE and (row is None or row.status != CommentStatus.HIDDEN):
        raise invalid_state(N_("Only a hidden comment can be restored."))
    status = {
        Action.HIDE: CommentStatus.HIDDEN,
        Action.DELETE: CommentStatus.DELETED,
        Action.RESTORE: CommentStatus.VISIBLE,
    }.get(action)
    if status is not None:
        values: dict[str, Any] = {
            "status": str(status),
            "status_reason": "" if status is CommentStatus.VISIBLE else reason,
        }
        if status is CommentStatus.DELETED:
            values["body"] = ""
        await conn.execute(
            db.comments.update().where(db.comments.c.id == comment_id).values(**values)
        )


async def actions_on(svc: Services, citizen_id: str) -> list[dict[str, Any]]:
    """What monitors did to the citizen's polls and comments, newest first (their notice)."""
    log = db.moderation_log
    mine_polls = sa.select(db.polls.c.id).where(db.polls.c.citizen_id == citizen_id)
    mine_comments = sa.select(db.comments.c.id).where(db.comments.c.citizen_id == citizen_id)
    query = (
        sa.select(log)
        .where(
            log.c.action.in_([str(Action.HIDE), str(Action.DELETE), str(Action.RESTORE)]),
            sa.or_(
                sa.and_(log.c.target_kind == str(Target.POLL), log.c.target_id.in_(mine_polls)),
                sa.and_(
                    log.c.target_kind == str(Target.COMMENT), log.c.target_id.in_(mine_comments)
                ),
            ),
        )
        .order_by(log.c.seq.desc())
        .limit(50)
    )
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "action": r.action,
            "kind": r.target_kind,
            "id": r.target_id,
            "poll": (r.detail or {}).get("poll"),
            "reason": r.reason,
            "at_ms": int(r.at_ms),
        }
        for r in rows
    ]
