"""Production mode: an external Redis and PostgreSQL instead of the bundled Valkey and SQLite.

Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust auth, database ``test``) and
Redis on 127.0.0.1:6379. The session gets a database of its own (dropped at the end) and
a key prefix of its own on Redis (its keys deleted at the end). When either server is not
reachable the tests fail, unless ``MVOTING_SKIP_EXTERNAL=1`` is set: then they skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from live import store
from live.ledger.local_witnesses import LocalWitnesses
from live.services import open_services
from live.settings import load_settings
from rooms.identity import voter_ref
from rooms.ledger import derive_signer
from rooms.questions import Action, build_question
from tests.conftest import connect, run_node, running_worker

REDIS_URL = "redis://127.0.0.1:6379/0"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
SECRET = "x"


@dataclass
class External:
    database: str = ""
    prefix: str = ""
    problem: str = ""

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.database}"


def _unreachable(what: str, exc: BaseException) -> External:
    message = (
        f"{what} is not reachable ({type(exc).__name__}: {exc}). The production-mode tests "
        "need PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379; "
        "set MVOTING_SKIP_EXTERNAL=1 to skip them."
    )
    if os.environ.get("MVOTING_SKIP_EXTERNAL") == "1":
        pytest.skip(message)
    return External(problem=message)


@pytest.fixture(scope="session")
async def external() -> AsyncIterator[External]:
    """A fresh PostgreSQL database and Redis key prefix for the session."""
    try:
        client = aioredis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
        try:
            await client.ping()
        finally:
            await client.aclose()
    except (OSError, aioredis.RedisError) as exc:
        yield _unreachable("Redis at 127.0.0.1:6379", exc)
        return
    try:
        admin = await asyncpg.connect(**PG, database="test", timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        yield _unreachable("PostgreSQL at 127.0.0.1:5432 (database test)", exc)
        return
    database = f"mvtest_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    prefix = f"mvtest-{secrets.token_hex(6)}:"
    try:
        yield External(database, prefix)
    finally:
        admin = await asyncpg.connect(**PG, database="test", timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()
        client = aioredis.from_url(REDIS_URL)
        try:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@contextlib.asynccontextmanager
async def archive(ext: External) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(**PG, database=ext.database, timeout=5)
    try:
        yield conn
    finally:
        await conn.close()


async def poll(what: str, probe: Any, timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await probe()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def test_production_mode_archives_into_postgresql(
    external: External, tmp_path: Path, witnesses: LocalWitnesses
) -> None:
    if external.problem:
        pytest.fail(external.problem, pytrace=False)
    settings = load_settings(
        {},
        REDIS_URL=REDIS_URL,
        DATABASE_URL=external.database_url,
        MVOTING_DATA=str(tmp_path),
        MVOTING_SECRET=SECRET,
        MVOTING_KEY_PREFIX=external.prefix,
    )
    assert settings.archive_url.startswith("postgresql+asyncpg://")
    # The ledger on PostgreSQL too, witnessed by the session's witnesses.
    witnesses.add_operator(derive_signer(SECRET.encode(), settings.ledger_name).verifier().vkey())
    settings = settings.with_(ledger_policy=witnesses.policy_path)
    picks = [0, 1, 0, 2, 0, 1, 2, 0, 0, 1]  # ten voters: counts [5, 3, 2]

    async with open_services(settings) as svc, run_node(settings) as node, running_worker(svc):
        assert svc.valkey is None and svc.redis_url == REDIS_URL
        room = await store.create_room(svc, title="Council", password="pw")
        spec = build_question("Budget?", "single", "Yes,No,Abstain")
        q = await store.add_question(svc, room.id, spec)
        await store.act(svc, q.id, Action.OPEN)

        async with contextlib.AsyncExitStack() as stack:
            presenter = await stack.enter_async_context(connect(node.url))
            assert (await presenter.join(room.number, presenter=room.presenter))["ok"]
            voters = [await stack.enter_async_context(connect(node.url)) for _ in picks]
            joins = await asyncio.gather(*(v.join(room.number, password="pw") for v in voters))
            assert all(j["ok"] for j in joins), joins
            acks = await asyncio.gather(
                *(v.vote(q.id, [c]) for v, c in zip(voters, picks, strict=True))
            )
            assert all(a["ok"] for a in acks), acks
            await presenter.wait_for(
                lambda: any(t["total"] == len(picks) for t in presenter.tallies(q.id))
            )
            assert presenter.tallies(q.id)[-1]["counts"] == [5, 3, 2]
            again = await voters[0].vote(q.id, [1])
            assert again["error"]["code"] == "already_voted"

        await store.act(svc, q.id, Action.CLOSE)

        async with archive(external) as pg:
            final = await poll(
                "the worker to finalize the question",
                lambda: pg.fetchrow(
                    "SELECT status, archived_count, tally_total, closed_ms IS NOT NULL AS closed"
                    " FROM questions WHERE id = $1 AND finalized_ms IS NOT NULL",
                    q.id,
                ),
            )
            assert dict(final) == {
                "status": "closed",
                "archived_count": 10,
                "tally_total": 10,
                "closed": True,
            }
            judged = await poll(
                "the worker to judge the poll's log",
                lambda: pg.fetchrow(
                    "SELECT id, verification, (SELECT count(*) FROM ledger_entries e"
                    " WHERE e.log_id = l.id) AS entries FROM ledger_logs l"
                    " WHERE question_id = $1 AND verification IS NOT NULL",
                    q.id,
                ),
            )
            # The opening, ten ballots, the closing: judged completed on PostgreSQL.
            assert (judged["verification"], judged["entries"]) == ("completed", 12)
            q_log = judged["id"]
            rows = await pg.fetch(
                "SELECT voter_ref, choices, receipt FROM ballots WHERE question_id = $1", q.id
            )
            (room_title,) = await pg.fetchrow("SELECT title FROM rooms WHERE id = $1", room.id)

        # One row per voter; each voter's reference is the keyed hash of its device.
        refs = [voter_ref(SECRET.encode(), q.id, j["device"].split(".")[0]) for j in joins]
        assert len(rows) == 10 and len({r["voter_ref"] for r in rows}) == 10
        assert {r["voter_ref"]: json.loads(r["choices"]) for r in rows} == {
            ref: [c] for ref, c in zip(refs, picks, strict=True)
        }
        assert {r["voter_ref"]: r["receipt"] for r in rows} == {
            ref: a["receipt"] for ref, a in zip(refs, acks, strict=True)
        }
        assert room_title == "Council"
        assert await store.results(svc, room.id) == [
            {
                "id": q.id,
                "title": "Budget?",
                "status": "closed",
                "kind": "single",
                "counts": [5, 3, 2],
                "total": 10,
                "archived": 10,
                "finalized": True,
                "log": q_log,
                "verification": "completed",
                "reason": "",
            }
        ]
        # The live state is on the external Redis, under this session's prefix.
        raw = aioredis.from_url(REDIS_URL, decode_responses=True)
        try:
            assert await raw.hget(f"{external.prefix}{{r:{room.id}}}:meta", "number") == room.number
            tally = await raw.hgetall(f"{external.prefix}{{q:{q.id}}}:tally")
            assert tally == {"0": "5", "1": "3", "2": "2", "total": "10"}
        finally:
            await raw.aclose()

    # No bundled Valkey was started for the data dir.
    assert not (tmp_path / "run" / "valkey.json").exists()
    assert not (tmp_path / "valkey").exists()
    assert not (tmp_path / "mvoting.db").exists()
