"""What every process opens: Redis (bundled or external), the SQL archive, the scripts.

The web app's lifespan, the worker and the command line all go through
``open_services``, so they find the same bundled Valkey and archive for a data dir.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine

from live.engines import bundled, db
from live.engines.cluster import ClusterClient
from live.keys import Keys
from live.settings import Settings

log = logging.getLogger("mvoting")

LUA_DIR = Path(__file__).parent / "lua"


@dataclass
class Scripts:
    """One Lua script per atomic change; each touches the keys of one hash tag."""

    cast: Any
    snapshot: Any
    transition: Any
    edit_draft: Any
    delete_draft: Any
    reorder: Any
    unlist: Any
    audience: Any
    code: Any
    draw: Any
    release: Any
    lease: Any  #: the archive worker's, one per followed question in a pipeline (``live.worker``)
    limit: Any  #: ``live.limits``' script, for the join's batched checks (``ScriptBatcher``)


@dataclass
class Services:
    settings: Settings
    # redis-py's annotations do not follow ``decode_responses=True`` (every reply is
    # ``bytes | str``); we decode, so the client is typed loosely on purpose.
    redis: Any
    engine: AsyncEngine
    keys: Keys
    scripts: Scripts
    redis_url: str
    # The cast batcher's client (``live.cast``): one pipeline in flight, timed as a whole,
    # so without redis-py's timer per reply. On a cluster, ``redis`` itself.
    cast_redis: Any
    valkey: bundled.EmbeddedValkey | None = None

    @property
    def secret(self) -> bytes:
        return self.settings.secret.reveal()


def _load_script(client: Redis | RedisCluster, name: str) -> Any:
    source = (LUA_DIR / f"{name}.lua").read_text()
    return client.register_script(source)


class ReadTimedConnection(aioredis.Connection):
    """A connection whose ``socket_timeout`` bounds its reads only. redis-py bounds each
    send with ``asyncio.wait_for``, which on Python 3.11 makes a task per command: py-spy
    found it the largest single cost of a join. A send seldom waits (the socket's buffer
    takes it); a stopped or unreachable server shows on the read, which stays bounded as
    before (``math.inf``, pub/sub's blocking read, still waits for ever)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._read_timeout = self.socket_timeout
        self.socket_timeout = None

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 - redis-py's own signature
        **kwargs: Any,
    ) -> Any:
        if timeout is not None:  # the caller's own (pub/sub's polls, its blocking read)
            return await super().read_response(disable_decoding, timeout, **kwargs)
        # As ``socket_timeout`` for the read alone: redis-py drops the connection when it
        # runs out (an explicit ``timeout`` would keep it, its reply still to come).
        self.socket_timeout = self._read_timeout
        try:
            return await super().read_response(disable_decoding, None, **kwargs)
        finally:
            self.socket_timeout = None


def redis_client(
    url: str, pool_size: int, *, cluster: bool = False, timed_per_reply: bool = True
) -> Redis | RedisCluster:
    """A client of one server, or of the cluster ``url`` names one node of.

    A burst of thousands of ballots must queue for a connection, not fail with "Too many
    connections" as redis-py's default (non-blocking) pool does, and as its cluster
    client does when a node's pool is used up: see ``ClusterClient``.

    ``timed_per_reply=False``: no read timeout of redis-py's (it arms a timer for every
    reply, a pipeline of 256 casts included); the caller times its calls as a whole.
    """
    if cluster:
        return ClusterClient.from_url(url, pool_size=pool_size, decode_responses=True)
    extra: dict[str, Any] = (
        {"connection_class": ReadTimedConnection} if timed_per_reply else {"socket_timeout": None}
    )
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=pool_size, timeout=30, decode_responses=True, **extra
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it


def resolve_redis(
    settings: Settings, *, start: bool = True
) -> tuple[str, bundled.EmbeddedValkey | None]:
    """The Redis URL to use: ``REDIS_URL``, or the data dir's bundled Valkey."""
    if settings.redis_url:
        return settings.redis_url, None
    if start:
        valkey = bundled.find_or_start(settings.data_dir)
    else:
        found = bundled.find_running(settings.data_dir)
        if found is None:
            raise bundled.EmbeddedError(f"no bundled Valkey runs for {settings.data_dir}")
        valkey = found
    return valkey.url, valkey


@contextlib.asynccontextmanager
async def open_services(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    """Open Redis and the archive; stop a bundled Valkey this call started on exit."""
    url, valkey = resolve_redis(settings)
    client = redis_client(url, settings.redis_pool, cluster=settings.redis_cluster)
    cast_client = client if settings.redis_cluster else redis_client(url, 2, timed_per_reply=False)
    engine = db.create_engine(settings.archive_url)
    try:
        await client.ping()
        if migrate:
            await db.migrate(settings.archive_url)
        scripts = Scripts(*(_load_script(client, f.name) for f in fields(Scripts)))
        # Into every server's cache now (on a cluster, every primary's): else the first
        # ballots of a burst find the cast script on some nodes and not on others.
        for f in fields(Scripts):
            await client.script_load(getattr(scripts, f.name).script)
        yield Services(
            settings, client, engine, Keys(settings.key_prefix), scripts, url, cast_client, valkey
        )
    finally:
        if cast_client is not client:
            await cast_client.aclose()
        await client.aclose()
        await engine.dispose()
        if valkey is not None:
            valkey.stop()
