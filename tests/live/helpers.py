"""Small helpers shared by the live tests: rooms made through the store, state snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from live import store
from live.engines import db
from live.services import Services
from rooms.questions import Action, build_question


@dataclass
class Room:
    info: store.RoomInfo
    questions: list[str]

    @property
    def number(self) -> str:
        return self.info.number

    @property
    def q(self) -> str:
        return self.questions[0]


async def make_room(
    svc: Services, *specs: dict[str, Any], password: str = "pw", open_: bool = True
) -> Room:
    """A room with one question per spec (default: single choice A,B,C), opened."""
    info = await store.create_room(svc, title="Room", password=password)
    ids = []
    for spec in specs or ({},):
        args = {"title": "Q", "kind": "single", "options": "A,B,C", **spec}
        q = await store.add_question(
            svc,
            info.id,
            build_question(
                args["title"],
                args["kind"],
                args["options"],
                max_choices=args.get("max_choices"),
                visibility=args.get("visibility", "live"),
                max_ballots=args.get("max_ballots"),
            ),
        )
        if open_:
            await store.act(svc, q.id, Action.OPEN)
        ids.append(q.id)
    return Room(info, ids)


async def live_state(svc: Services, qid: str) -> dict[str, Any]:
    """Everything a ballot could change: tally, voters, stream, status."""
    k = svc.keys
    return {
        "tally": await svc.redis.hgetall(k.tally(qid)),
        "voters": sorted(await svc.redis.smembers(k.voters(qid))),
        "stream": await stream_ballots(svc, qid),
        "status": await svc.redis.hget(k.question(qid), "status"),
    }


async def stream_ballots(svc: Services, qid: str) -> int:
    """Ballots in the question's stream (its openings and closings are entries too)."""
    entries = await svc.redis.xrange(svc.keys.stream(qid))
    return sum("k" not in fields for _, fields in entries)


async def archived(svc: Services, qid: str) -> int:
    """How many of the question's ballots the SQL archive holds."""
    async with svc.engine.connect() as conn:
        n = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(db.ballots)
            .where(db.ballots.c.question_id == qid)
        )
    return int(n or 0)
