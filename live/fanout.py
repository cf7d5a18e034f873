"""Events between web nodes: one Redis pub/sub channel, delivered to local sockets.

Tally snapshots are published by the snapshot script, question changes by the store;
every node (including the publisher) receives them here and hands them to its sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from live.services import Services

log = logging.getLogger("mvoting.fanout")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Fanout:
    def __init__(
        self, svc: Services, handler: Handler, resumed: Callable[[], None] | None = None
    ) -> None:
        """``resumed`` is called each time the subscription is back after a loss: events
        published meanwhile never reach this node (pub/sub keeps none), so what they
        would have told has to be asked for again."""
        self._svc = svc
        self._handler = handler
        self._resumed = resumed
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Subscribe and deliver forever; reconnect with backoff, logging each retry."""
        backoff = 0.1
        lost = False
        while True:
            pubsub: Any = self._svc.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._svc.keys.events())
                self.ready.set()
                backoff = 0.1
                if lost and self._resumed is not None:
                    log.warning("event subscription is back")
                    self._resumed()
                lost = False
                while True:
                    msg = await pubsub.get_message(timeout=5.0)
                    if msg is None:
                        continue
                    try:
                        event = orjson.loads(msg["data"])
                    except orjson.JSONDecodeError:
                        log.warning("dropped a malformed event: %.200r", msg["data"])
                        continue
                    await self._handler(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.ready.clear()
                lost = True
                log.warning("event subscription lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
