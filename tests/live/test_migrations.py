"""Processes that start together migrate one empty archive without tripping over each other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
PROCESSES = 4


async def _migrate_at_once(url: str) -> list[tuple[int, bytes]]:
    code = f"from live.engines.db import migrate_sync; migrate_sync({url!r})"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for p in procs:
        _, err = await p.communicate()
        results.append((p.returncode or 0, err))
    return results


async def test_sqlite_archive_is_migrated_once(tmp_path: Path) -> None:
    db = tmp_path / "mvoting.db"
    results = await _migrate_at_once(f"sqlite+aiosqlite:///{db}")
    assert [rc for rc, _ in results] == [0] * PROCESSES, [e.decode()[-400:] for _, e in results]
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("select version_num from alembic_version").fetchall() == [(_head(),)]
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"hosts", "rooms", "questions", "ballots", "room_hosts", "invitations"} <= tables


@contextlib.asynccontextmanager
async def _migrated_postgresql() -> AsyncIterator[asyncpg.Connection]:
    """A fresh database on the machine's PostgreSQL, migrated by several processes at
    once; a connection to it; dropped afterwards."""
    try:
        admin = await asyncpg.connect(**PG, database="test", timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if os.environ.get("MVOTING_SKIP_EXTERNAL") == "1":
            pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
        raise
    database = f"mvtest_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
        results = await _migrate_at_once(url)
        assert [rc for rc, _ in results] == [0] * PROCESSES, [e.decode()[-400:] for _, e in results]
        conn = await asyncpg.connect(**PG, database=database, timeout=5)
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


@pytest.mark.timeout(90)
async def test_postgresql_archive_is_migrated_once() -> None:
    async with _migrated_postgresql() as conn:
        assert await conn.fetch("select version_num from alembic_version") == [(_head(),)]


def _head() -> str:
    versions = Path(__file__).resolve().parents[2] / "live" / "engines" / "migrations" / "versions"
    names = sorted(p.name for p in versions.glob("[0-9]*.py"))
    return names[-1].split("_", 1)[0]


def test_the_tables_the_code_queries_are_the_tables_the_migrations_make(tmp_path: Path) -> None:
    """``live.engines.db``'s tables mirror the migrations: Alembic finds nothing to add,
    drop or change between an archive migrated to head and them."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from live.engines import db

    path = tmp_path / "mvoting.db"
    db.migrate_sync(f"sqlite+aiosqlite:///{path}")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    engine.dispose()
    assert diff == []


_LOG_ROW = (
    "insert into moderation_log (actor, action, target_kind, target_id, reason, at_ms, detail) "
    "values ('cli', 'add_monitor', 'citizen', 'c1', '', 1, '{}')"
)


def test_the_sqlite_moderation_log_refuses_updates_and_deletes(tmp_path: Path) -> None:
    import sqlite3

    from live.engines.db import migrate_sync

    path = tmp_path / "mvoting.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute(_LOG_ROW)
        for change in (
            "update moderation_log set reason = 'rewritten'",
            "delete from moderation_log",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(change)
        assert conn.execute("select reason from moderation_log").fetchall() == [("",)]


@pytest.mark.timeout(90)
async def test_the_postgresql_moderation_log_refuses_updates_and_deletes() -> None:
    async with _migrated_postgresql() as conn:
        await conn.execute(_LOG_ROW)
        for change in (
            "update moderation_log set reason = 'rewritten'",
            "delete from moderation_log",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(change)
        assert await conn.fetch("select reason from moderation_log") == [("",)]
