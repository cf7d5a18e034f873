"""How each process says it is alive and ready: to systemd, to Kubernetes, to the others.

- **systemd** (``Type=notify``, ``WatchdogSec=``): ``notify`` sends ``READY=1`` once a
  process serves, and ``watchdog`` sends ``WATCHDOG=1`` while it is alive -- for a web node,
  while its event loop turns; for the worker, while its archive passes complete. A process
  that stops sending is restarted. No-ops outside systemd (no ``NOTIFY_SOCKET``).
- **Other processes**: the worker keeps a heartbeat key (``Keys.heartbeat``) that expires
  when it stops; a web node's ``/readyz`` lists the workers it sees.
- **Kubernetes**: the web node's ``/healthz`` (alive) and ``/readyz`` (Valkey and the
  database answer, the archive's migrations at head); the worker touches ``alive_file``
  after each pass, which an exec probe checks the age of.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from live.clock import now_ms
from live.services import Services

log = logging.getLogger("mvoting.health")

#: Seconds between two heartbeats; a heartbeat key lives ``HEARTBEAT_TTL`` seconds.
HEARTBEAT_EVERY = 5.0
HEARTBEAT_TTL = 30


def notify(message: str) -> bool:
    """Send one sd_notify message (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``) to the
    service manager; False if there is none or it cannot be reached."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("could not notify the service manager: %s", exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between two ``WATCHDOG=1`` (half systemd's ``WatchdogSec``), or None if no
    watchdog is asked for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return max(int(usec) / 2e6, 0.1)


async def watchdog(alive: Callable[[], bool] = lambda: True) -> None:
    """Tell systemd the process lives, every half of its ``WatchdogSec``, while ``alive()``."""
    every = watchdog_interval()
    if every is None:
        return
    while True:
        if alive():
            notify("WATCHDOG=1")
        await asyncio.sleep(every)


class Heartbeat:
    """The worker's sign of life: ``beat()`` after each pass; ``run()`` publishes it."""

    def __init__(
        self, svc: Services, name: str, *, alive_file: Path | None = None, stale: float = 60.0
    ) -> None:
        self.svc = svc
        self.name = name
        self.alive_file = alive_file
        self.stale = stale
        self.last = time.monotonic()
        self.passes = 0

    def beat(self) -> None:
        self.last = time.monotonic()
        self.passes += 1
        if self.alive_file is not None:
            try:
                self.alive_file.touch()
            except OSError as exc:
                log.warning("could not touch %s: %s", self.alive_file, exc)

    def fresh(self) -> bool:
        return time.monotonic() - self.last < self.stale

    async def run(self) -> None:
        key = self.svc.keys.heartbeat("worker", self.name)
        watching = asyncio.create_task(watchdog(self.fresh), name="watchdog")
        try:
            while True:
                if self.fresh():
                    body = {"at_ms": now_ms(), "passes": self.passes, "pid": os.getpid()}
                    try:
                        await self.svc.redis.set(key, orjson.dumps(body), ex=HEARTBEAT_TTL)
                    except Exception as exc:  # Valkey away: the archive pass says so too
                        log.debug("heartbeat not written: %s", exc)
                await asyncio.sleep(HEARTBEAT_EVERY)
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching


async def workers_seen(svc: Services) -> list[dict[str, object]]:
    """The workers whose heartbeat is live: name, seconds since it beat, passes."""
    head = svc.keys.heartbeat("worker", "")
    found = []
    async for key in svc.redis.scan_iter(match=head + "*", count=100):
        raw = await svc.redis.get(key)
        if raw is None:
            continue
        body = orjson.loads(raw)
        name = key.decode() if isinstance(key, bytes) else str(key)
        found.append(
            {
                "name": name[len(head) :],
                "age_s": round(max(now_ms() - int(body["at_ms"]), 0) / 1000, 1),
                "passes": body.get("passes", 0),
            }
        )
    return sorted(found, key=lambda w: str(w["name"]))
