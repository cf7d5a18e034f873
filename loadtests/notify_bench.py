"""How long the notification job takes for one new poll and many citizens.

    .venv/bin/python loadtests/notify_bench.py                      # 10,000 notified
    .venv/bin/python loadtests/notify_bench.py --citizens 2000 --push 200 --others 0

Makes a fresh data dir (bundled Valkey, SQLite archive), ``--citizens`` citizens who
follow "transport" and ``--others`` who follow only "culture", ``--push`` of the first
ones with a Web Push subscription at a real local push service (``tests.pushservice``:
each message's VAPID token checked and its body decrypted), then opens one transport
poll through the real job worker and waits for ``live.notify.fanout`` to mark it
notified. Prints the job's time from the poll's opening, and per citizen notified.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live.clock import new_id, now_ms
from live.engines import db
from live.jobs import running_jobs
from live.polls import store as polls
from live.services import open_services
from live.settings import load_settings
from rooms.areas import Area
from rooms.polls import Author, PollKind, PollSpec
from rooms.questions import build_question
from rooms.visibility import Visibility
from tests.pushservice import running_push_service


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="mvoting-notify-bench-") as d:
        settings = load_settings({}, MVOTING_DATA=str(Path(d) / "data"), MVOTING_SECRET="bench")
        async with open_services(settings) as svc, running_push_service() as service:
            at = now_ms()
            rows = [
                {
                    "id": new_id(),
                    "phone_ref": secrets.token_hex(16),
                    "name": "",
                    "created_ms": at,
                    "interests": ["transport", "housing"] if i < args.citizens else ["culture"],
                }
                for i in range(args.citizens + args.others + 1)
            ]
            author = str(rows.pop()["id"])
            async with svc.engine.begin() as conn:
                await conn.execute(db.citizens.insert(), [{"id": author, **_anon()}])
                for i in range(0, len(rows), 2000):
                    await conn.execute(db.citizens.insert(), rows[i : i + 2000])
                subs = []
                for row in rows[: args.push]:
                    sub = service.subscribe()
                    subs.append(
                        {
                            "id": new_id(),
                            "citizen_id": row["id"],
                            "endpoint": sub["endpoint"],
                            "p256dh": sub["keys"]["p256dh"],
                            "auth": sub["keys"]["auth"],
                            "created_ms": at,
                            "failures": 0,
                        }
                    )
                if subs:
                    await conn.execute(db.push_subscriptions.insert(), subs)
            start = now_ms() + 500
            spec = PollSpec(
                PollKind.GENERAL,
                "Night buses?",
                "",
                Area.TRANSPORT,
                (),
                start,
                start + 3_600_000,
                Visibility.LIVE,
            )
            async with running_jobs(svc):
                poll = await polls.create_poll(
                    svc, spec, [build_question("Yes?", "yesno")], Author(citizen_id=author)
                )
                while not await svc.redis.exists(svc.keys.notified(poll.id)):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                done = time.time() * 1000
            async with svc.engine.connect() as conn:
                opened = await conn.scalar(
                    sa.select(db.polls.c.opened_ms).where(db.polls.c.id == poll.id)
                )
                made = await conn.scalar(sa.select(sa.func.count()).select_from(db.notifications))
            assert opened is not None and made
            took = (done - opened) / 1000
            assert made == args.citizens, (made, args.citizens)
            assert len(service.messages) == args.push and not service.refused, service.refused
            print(
                f"{made} citizens notified ({args.others} others left out, {args.push} Web Push "
                f"messages decrypted by the local push service) in {took:.2f} s from the "
                f"poll's opening: {took / made * 1e6:.0f} µs per citizen"
            )


def _anon() -> dict[str, object]:
    return {"phone_ref": secrets.token_hex(16), "name": "", "created_ms": now_ms()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=10_000, help="citizens notified")
    parser.add_argument("--others", type=int, default=10_000, help="citizens left out")
    parser.add_argument("--push", type=int, default=1_000, help="of them with a subscription")
    asyncio.run(main(parser.parse_args()))
