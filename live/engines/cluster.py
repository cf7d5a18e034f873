"""The Redis Cluster client: redis-py's ``RedisCluster``, made to behave like our pool.

Three differences from redis-py's own client matter here:

- its pool per node raises ``MaxConnectionsError`` when all its connections are busy,
  where a burst must wait for one (the single-server client uses a blocking pool). So
  every command and pipeline first takes one of ``pool_size`` permits: at most that
  many are in flight, each holding at most one connection per node; the nodes' pools
  are a little larger, for pub/sub connections;
- its ``ping`` asks one node; ours asks every primary (the health check and the start of
  ``open_services`` must notice a node that is down);
- its pipeline refuses ``evalsha``, which ``live.cast`` batches. The refusal is a blanket
  one; the routing it would need is there (``EVALSHA`` goes to the node of its first key,
  and a script's keys must share one slot, as ours share one hash tag), so this pipeline
  sends it as a raw command.

Atomic changes of several keys are Lua scripts, never ``MULTI``: redis-py's cluster
transactions refuse ``RENAME`` and run each queued command in a thread of its own.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster

EXTRA_CONNECTIONS = 16
"""Connections per node beyond ``pool_size``: pub/sub subscriptions, cluster discovery."""

# Set while a task holds a permit: a pipeline that resends a redirected command
# individually must not wait for a second permit (all permits could be waiting so).
_holding: ContextVar[bool] = ContextVar("mvoting_redis_permit", default=False)


class ClusterClient(RedisCluster):
    def __init__(self, *, pool_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs, max_connections=pool_size + EXTRA_CONNECTIONS)
        self._permits = asyncio.Semaphore(pool_size)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if _holding.get():
            return await super().execute_command(*args, **kwargs)
        async with self._permits:
            token = _holding.set(True)
            try:
                return await super().execute_command(*args, **kwargs)
            finally:
                _holding.reset(token)

    async def ping(self, **kwargs: Any) -> bool:
        """Every primary answers (redis-py asks one node): a health check must see them all."""
        answered: bool = await self.execute_command("PING", target_nodes=self.PRIMARIES, **kwargs)
        return answered

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if transaction or shard_hint:
            return super().pipeline(transaction, shard_hint)
        return _Pipeline(self)  # type: ignore[abstract]  # as RedisCluster.pipeline does


class _Pipeline(ClusterPipeline):
    cluster_client: ClusterClient

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self.execute_command("EVALSHA", sha, numkeys, *keys_and_args)

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        if _holding.get():
            return await super().execute(raise_on_error, allow_redirections)
        async with self.cluster_client._permits:
            token = _holding.set(True)
            try:
                return await super().execute(raise_on_error, allow_redirections)
            finally:
                _holding.reset(token)
