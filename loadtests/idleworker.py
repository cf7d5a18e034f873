#!/usr/bin/env python3
"""The archive worker's cost while nothing arrives: CPU per open question followed.

Starts a bundled Valkey of its own (never port 6379) and a SQLite archive in a scratch
directory, opens ``--questions`` questions (each stream holds its opening, archived at
once), runs one ``ArchiveWorker`` for ``--seconds`` with no ballots and prints the CPU
it took, in cores: the passes' round trips and replies, nothing else. No witnesses, no
scheduled jobs.

    loadtests/idleworker.py --questions 50 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from live import store
from live.engines import bundled
from live.services import open_services
from live.settings import load_settings
from live.worker import ArchiveWorker
from rooms.questions import Action, build_question


async def idle_cores(questions: int, seconds: float) -> float:
    with tempfile.TemporaryDirectory(prefix="mvoting-idleworker-") as scratch:
        server = bundled.find_or_start(Path(scratch) / "valkey")
        if server.port == 6379:
            raise SystemExit("a Valkey of our own was not started")
        try:
            settings = load_settings(
                {},
                MVOTING_DATA=str(Path(scratch) / "data"),
                REDIS_URL=server.url,
                MVOTING_SECRET="idleworker",
                MVOTING_KEY_PREFIX="idle:",
            )
            async with open_services(settings) as svc:
                room = await store.create_room(svc, title="Room", password="pw")
                for _ in range(questions):
                    spec = build_question("Q", "single", "A,B,C")
                    question = await store.add_question(svc, room.id, spec)
                    await store.act(svc, question.id, Action.OPEN)
                task = asyncio.create_task(ArchiveWorker(svc, "idle").run())
                await asyncio.sleep(3)  # the openings archived, the pause at its longest
                cpu, wall = time.process_time(), time.monotonic()
                await asyncio.sleep(seconds)
                cores = (time.process_time() - cpu) / (time.monotonic() - wall)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return cores
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=int, default=50, help="open questions followed")
    ap.add_argument("--seconds", type=float, default=15.0, help="seconds measured")
    args = ap.parse_args()
    cores = asyncio.run(idle_cores(args.questions, args.seconds))
    print(f"idleworker: {args.questions} open questions, idle: {cores:.3f} of a core")


if __name__ == "__main__":
    main()
