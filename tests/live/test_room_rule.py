"""A room's rule (who may vote: its on-site code, a poll's target) reaches every question,
those added while it changes too: the cast script reads it from each question."""

from __future__ import annotations

import asyncio

from live import store
from live.services import Services
from rooms.questions import build_question


async def test_questions_added_while_the_rule_changes_all_end_with_the_rooms_rule(
    svc: Services,
) -> None:
    info = await store.create_room(svc, title="Hall", password="pw")
    for rounds in range(20):
        rule = {"s": 1} if rounds % 2 == 0 else {}
        adds = [
            store.add_question(svc, info.id, build_question(f"Q{rounds}.{i}", "yesno"))
            for i in range(8)
        ]
        await asyncio.gather(*adds[:4], store.set_room_rule(svc, info.id, rule), *adds[4:])
        room_rule = await svc.redis.hget(svc.keys.room(info.id), "target")
        assert (room_rule is not None) is bool(rule)
        for qid in await store.question_ids(svc, info.id):
            assert await svc.redis.hget(svc.keys.question(qid), "target") == room_rule, rounds
