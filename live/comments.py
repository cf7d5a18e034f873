"""Comments on citywide polls: posted, edited, deleted and paged here, shown live to
everyone on the poll's page.

A new, changed or removed comment is published on the events channel (``t: comment``);
every web node hands it to the sockets of the poll's page, encoded once
(``live.sockets``). A comment says whether its author has a ballot on the poll (the
voters set of any of its questions holds the author's keyed reference), never how they
voted.

A thread is paged newest first by ``(created_ms, id)``: the cursor of a page names its
last top-level comment, so comments posted in the same millisecond are neither skipped
nor repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from live import limits
from live.clock import new_id, now_ms
from live.engines import db
from live.moderation import words
from live.polls.store import Poll, load_poll
from live.services import Services
from rooms.comments import (
    MAX_REPLIES,
    PAGE,
    Comment,
    CommentStatus,
    check_body,
    may_edit,
    takes_comments,
)
from rooms.errors import N_, ErrorCode, VotingError, bad_request, not_found
from rooms.identity import citizen_identity, voter_ref

#: Comments one citizen may post in an hour, on all polls.
POSTS_PER_HOUR = 60


def shown_name(name: str) -> str:
    """A citizen's name as comments show it: its first and last letters, the rest
    masked ("김*수", "J**n"), as the city's own boards do."""
    name = " ".join(name.split())
    if len(name) <= 1:
        return name or "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


async def open_poll_for_comments(svc: Services, poll_id: str) -> tuple[Poll, Any]:
    """The poll and its row, if it takes comments now; else the refusal."""
    poll = await load_poll(svc, poll_id)
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    db.polls.c.comments, db.polls.c.moderation, db.polls.c.moderation_reason
                ).where(db.polls.c.id == poll_id)
            )
        ).first()
    if poll is None or row is None or row.moderation == "deleted":
        raise not_found(N_("poll {id}"), poll_id)
    if row.moderation == "hidden":
        raise VotingError(ErrorCode.POLL_HIDDEN, reason=row.moderation_reason or "")
    if not takes_comments(poll.spec.kind, row.comments):
        raise VotingError(ErrorCode.COMMENTS_OFF)
    return poll, row


async def post(
    svc: Services, poll_id: str, citizen_id: str, body: object, parent_id: object = None
) -> Comment:
    text = check_body(body)
    if parent_id is not None and not isinstance(parent_id, str):
        raise bad_request(N_("{name} must be text"), name="parent")
    poll, _ = await open_poll_for_comments(svc, poll_id)
    await words.refuse_prohibited(svc, text)
    per_hour = limits.quota(POSTS_PER_HOUR, 3600, 3600)
    await limits.count(
        svc.redis, [limits.Subject(svc.keys.limit("comments", citizen_id), per_hour)]
    )
    comment_id = new_id()
    async with svc.engine.begin() as conn:
        if parent_id is not None:
            parent = (
                await conn.execute(
                    sa.select(db.comments.c.poll_id, db.comments.c.parent_id).where(
                        db.comments.c.id == parent_id
                    )
                )
            ).first()
            if parent is None or parent.poll_id != poll_id:
                raise not_found(N_("comment {id}"), parent_id)
            if parent.parent_id is not None:
                raise bad_request(N_("A reply answers a comment, not another reply."))
            replies = await conn.scalar(
                sa.select(sa.func.count()).where(db.comments.c.parent_id == parent_id)
            )
            if int(replies or 0) >= MAX_REPLIES:
                raise bad_request(
                    N_("This comment has taken its {limit} replies."), limit=MAX_REPLIES
                )
        await conn.execute(
            db.comments.insert().values(
                id=comment_id,
                poll_id=poll_id,
                parent_id=parent_id,
                citizen_id=citizen_id,
                body=text,
                created_ms=now_ms(),
                status=str(CommentStatus.VISIBLE),
            )
        )
    made = await load_comment(svc, comment_id, viewer=citizen_id)
    assert made is not None
    await publish(svc, poll, made)
    return made


async def _own(svc: Services, comment_id: str, citizen_id: str) -> sa.Row[Any]:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(db.comments).where(db.comments.c.id == comment_id))
        ).first()
    if row is None or row.status == CommentStatus.DELETED:
        raise not_found(N_("comment {id}"), comment_id)
    if row.citizen_id != citizen_id:
        raise VotingError(
            ErrorCode.NOT_AUTHOR, sentence=N_("Only its author can change a comment.")
        )
    return row


async def edit(svc: Services, comment_id: str, citizen_id: str, body: object) -> Comment:
    text = check_body(body)
    row = await _own(svc, comment_id, citizen_id)
    if row.status != CommentStatus.VISIBLE:
        raise VotingError(ErrorCode.POLL_HIDDEN, sentence=N_("The monitors hid this comment."))
    may_edit(int(row.created_ms), now_ms())
    poll, _ = await open_poll_for_comments(svc, row.poll_id)
    await words.refuse_prohibited(svc, text)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.comments.update()
            .where(db.comments.c.id == comment_id)
            .values(body=text, edited_ms=now_ms())
        )
    changed = await load_comment(svc, comment_id, viewer=citizen_id)
    assert changed is not None
    await publish(svc, poll, changed)
    return changed


async def delete_own(svc: Services, comment_id: str, citizen_id: str) -> Comment:
    row = await _own(svc, comment_id, citizen_id)
    return await set_status(svc, row.id, CommentStatus.DELETED, "", viewer=citizen_id)


async def set_status(
    svc: Services,
    comment_id: str,
    status: CommentStatus,
    reason: str,
    *,
    viewer: str | None = None,
    conn: Any = None,
) -> Comment:
    """Delete, hide or restore a comment (its author or a monitor); a deleted comment's
    text is gone for good, a hidden one's kept for the monitors."""
    values: dict[str, Any] = {"status": str(status), "status_reason": reason}
    if status is CommentStatus.DELETED:
        values["body"] = ""
    update = db.comments.update().where(db.comments.c.id == comment_id).values(**values)
    if conn is not None:
        await conn.execute(update)
    else:
        async with svc.engine.begin() as own:
            await own.execute(update)
    return await changed(svc, comment_id, viewer=viewer)


async def changed(svc: Services, comment_id: str, *, viewer: str | None = None) -> Comment:
    """Publish a comment's new state; the comment as ``viewer`` sees it."""
    found = await load_comment(svc, comment_id, viewer=viewer)
    if found is None:
        raise not_found(N_("comment {id}"), comment_id)
    poll = await load_poll(svc, found.poll_id)
    if poll is not None:
        await publish(svc, poll, found)
    return found


async def publish(svc: Services, poll: Poll, comment: Comment) -> None:
    public = comment.public()
    public["mine"] = False  # each page knows its own comments
    event = {"t": "comment", "room": poll.room_id, "comment": public}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))


def _query() -> sa.Select[Any]:
    return sa.select(db.comments, db.citizens.c.name.label("author_name")).outerjoin(
        db.citizens, db.citizens.c.id == db.comments.c.citizen_id
    )


async def load_comment(svc: Services, comment_id: str, *, viewer: str | None) -> Comment | None:
    async with svc.engine.connect() as conn:
        row = (await conn.execute(_query().where(db.comments.c.id == comment_id))).first()
    if row is None:
        return None
    poll = await load_poll(svc, row.poll_id)
    voted = await _voted(svc, poll, [row])
    return _comment(row, viewer, voted)


def parse_cursor(raw: str | None) -> tuple[int, str | None] | None:
    """``before``: ``<created_ms>.<id>`` of the last top-level comment of the page before;
    ``<created_ms>`` alone (as older clients send it) pages from before that millisecond."""
    if raw is None:
        return None
    ms, dot, cid = raw.partition(".")
    good_id = cid.isascii() and cid.isalnum() and len(cid) <= 32
    if not ms.isdigit() or len(ms) > 15 or (dot and not good_id):
        raise bad_request(N_("before is the cursor the last page gave"))
    return int(ms), cid if dot else None


async def thread(
    svc: Services,
    poll_id: str,
    *,
    viewer: str | None,
    before: tuple[int, str | None] | None = None,
) -> tuple[list[Comment], str | None]:
    """A page of the poll's comments: ``PAGE`` top-level ones, newest first, each followed
    by its replies (oldest first); and the cursor of the next page (None: no more)."""
    poll = await load_poll(svc, poll_id)
    if poll is None:
        raise not_found(N_("poll {id}"), poll_id)
    c = db.comments.c
    top = _query().where(c.poll_id == poll_id, c.parent_id.is_(None))
    if before is not None:
        ms, cid = before
        top = top.where(
            c.created_ms < ms
            if cid is None
            else sa.or_(c.created_ms < ms, sa.and_(c.created_ms == ms, c.id < cid))
        )
    top = top.order_by(db.comments.c.created_ms.desc(), db.comments.c.id.desc()).limit(PAGE + 1)
    async with svc.engine.connect() as conn:
        heads = (await conn.execute(top)).all()
        more = len(heads) > PAGE
        heads = heads[:PAGE]
        replies = (
            (
                await conn.execute(
                    _query()
                    .where(db.comments.c.parent_id.in_([h.id for h in heads]))
                    .order_by(db.comments.c.created_ms, db.comments.c.id)
                )
            ).all()
            if heads
            else []
        )
    voted = await _voted(svc, poll, [*heads, *replies])
    by_parent: dict[str, list[Any]] = {}
    for r in replies:
        by_parent.setdefault(r.parent_id, []).append(r)
    out: list[Comment] = []
    for h in heads:
        out.append(_comment(h, viewer, voted))
        out.extend(_comment(r, viewer, voted) for r in by_parent.get(h.id, []))
    return out, (f"{heads[-1].created_ms}.{heads[-1].id}" if more else None)


async def _voted(svc: Services, poll: Poll | None, rows: Sequence[Any]) -> set[str]:
    """The citizens among the rows' authors with a ballot on any question of the poll."""
    authors = sorted({r.citizen_id for r in rows if r.citizen_id})
    if poll is None or not poll.question_ids or not authors:
        return set()
    asked = [(cid, qid) for cid in authors for qid in poll.question_ids]
    pipe = svc.redis.pipeline(transaction=False)
    for cid, qid in asked:
        pipe.sismember(svc.keys.voters(qid), voter_ref(svc.secret, qid, citizen_identity(cid)))
    found = await pipe.execute()
    return {cid for (cid, _), yes in zip(asked, found, strict=True) if yes}


def _comment(row: Any, viewer: str | None, voted: set[str]) -> Comment:
    return Comment(
        id=row.id,
        poll_id=row.poll_id,
        parent_id=row.parent_id,
        author=shown_name(row.author_name or ""),
        mine=viewer is not None and row.citizen_id == viewer,
        voted=row.citizen_id in voted,
        body=row.body,
        created_ms=int(row.created_ms),
        edited_ms=int(row.edited_ms) if row.edited_ms is not None else None,
        status=CommentStatus(row.status),
        status_reason=row.status_reason or "",
    )
