#!/usr/bin/env python3
"""The archive worker's cost per open question followed, idle or with ballots trickling.

Starts a bundled Valkey of its own (never port 6379) and a SQLite archive in a scratch
directory, opens ``--questions`` questions (each stream holds its opening, archived at
once) and runs one ``ArchiveWorker`` on a thread and event loop of its own for
``--seconds``. With ``--rate 0`` nothing arrives: the CPU is the passes' round trips and
replies. With ``--rate R`` the main thread casts R ballots a second through the real cast
script, spread over the questions, as a citywide day's quiet hours do; at the end every
ballot must be archived. Only the worker's thread is metered (its CPU clock). No
witnesses, no scheduled jobs.

    loadtests/idleworker.py --questions 50 --seconds 15
    loadtests/idleworker.py --questions 50 --seconds 15 --rate 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from live import store
from live.cast import CastBatcher, do_cast
from live.engines import bundled, db
from live.services import open_services
from live.settings import Settings, load_settings
from live.worker import ArchiveWorker
from rooms.questions import Action, build_question


class WorkerThread(threading.Thread):
    """One archive worker on its own event loop, its services its own."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.ready = threading.Event()
        self._done: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._done = asyncio.get_running_loop(), asyncio.Event()
        async with open_services(self.settings) as svc:
            worker = ArchiveWorker(svc, "bench")
            task = asyncio.create_task(worker.run())
            self.ready.set()
            await self._done.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def cpu(self) -> float:
        """The thread's CPU time so far, in seconds."""
        assert self.ident is not None
        return time.clock_gettime(time.pthread_getcpuclockid(self.ident))

    def stop(self) -> None:
        if self._loop is not None and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
        self.join(10)


@dataclass
class Figures:
    cores: float
    ballots: int
    archived: int


async def measure(questions: int, seconds: float, rate: float) -> Figures:
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
                qids = []
                for _ in range(questions):
                    spec = build_question("Q", "single", "A,B,C")
                    question = await store.add_question(svc, room.id, spec)
                    await store.act(svc, question.id, Action.OPEN)
                    qids.append(question.id)
                worker = WorkerThread(settings)
                worker.start()
                worker.ready.wait(30)
                await asyncio.sleep(3)  # the openings archived, the pause at its longest
                batcher = CastBatcher(svc)
                cpu, wall = worker.cpu(), time.monotonic()
                cast = 0
                while (now := time.monotonic()) < wall + seconds:
                    due = int((now - wall) * rate)
                    while cast < due:
                        qid = qids[cast % len(qids)]
                        await do_cast(batcher, qid, f"voter-{cast}", (cast % 3,), None)
                        cast += 1
                    await asyncio.sleep(0.01 if rate else seconds)
                cores = (worker.cpu() - cpu) / (time.monotonic() - wall)
                archived = 0
                for _ in range(100):  # the last ballots archived (within 10 s)
                    async with svc.engine.connect() as conn:
                        archived = int(
                            await conn.scalar(sa.select(sa.func.count()).select_from(db.ballots))
                            or 0
                        )
                    if archived >= cast:
                        break
                    await asyncio.sleep(0.1)
                worker.stop()
                return Figures(cores, cast, archived)
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=int, default=50, help="open questions followed")
    ap.add_argument("--seconds", type=float, default=15.0, help="seconds measured")
    ap.add_argument("--rate", type=float, default=0.0, help="ballots cast a second")
    args = ap.parse_args()
    f = asyncio.run(measure(args.questions, args.seconds, args.rate))
    said = "idle" if not args.rate else f"{args.rate:g} ballots/s"
    print(f"idleworker: {args.questions} open questions, {said}: {f.cores:.3f} of a core", end="")
    if f.ballots:
        per = f.cores * args.seconds / f.ballots * 1000
        print(f", {per:.1f} ms per ballot; archived {f.archived}/{f.ballots}")
    else:
        print()
    if f.archived < f.ballots:
        raise SystemExit("idleworker: ballots were not archived")


if __name__ == "__main__":
    main()
