"""Password hashing (argon2) off the event loop, in a bounded pool of low-priority threads.

One argon2 hash or check takes ~0.2 s of CPU (four lanes, four threads) and 64 MiB on
purpose. Run on the event loop it would stall every socket of the node; run in
asyncio's default executor, a few dozen sign-ins at once take every core from the loop
(vote acks went from ~1 ms to ~20 ms with 16) and a gigabyte of memory. So hashing has
threads of its own (``MVOTING_HASH_THREADS``), on Linux at the lowest CPU priority, so
the loop's thread wins a busy core; at most ``MVOTING_HASH_QUEUE`` more wait, and the
next is refused ``unavailable`` at once instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from live.settings import Settings
from rooms.errors import N_, ErrorCode, VotingError, bad_request, phrase

T = TypeVar("T")

_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters

MIN_PASSWORD = 8
MAX_PASSWORD = 200


def check_new(password: object, what: str = N_("a password")) -> str:
    """A password to be set: text of 8 to 200 characters, else ``bad_request``."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise bad_request(
            N_("{what} has {min} to {max} characters"),
            what=phrase(what),
            min=MIN_PASSWORD,
            max=MAX_PASSWORD,
        )
    return password


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the e-mail is unknown, so that both failures cost the same
    (made once, in a hashing thread: not at import, which every command would pay)."""
    return _hasher.hash("not a password")


def _lowest_priority() -> None:
    # Linux schedules threads one by one: a thread's nice value is its own, and the
    # threads libargon2 starts for its lanes inherit it.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class HashPool:
    def __init__(self, threads: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(
            threads, thread_name_prefix="argon2", initializer=_lowest_priority
        )
        self._room = threads + queue
        self._admitted = 0
        self._lock = threading.Lock()  # released from the pool's threads
        self._executor.submit(_dummy_hash)  # ready before the first unknown e-mail

    def _release(self, _done: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._admitted >= self._room:
                raise VotingError(ErrorCode.UNAVAILABLE, retry_after=1)
            self._admitted += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            with self._lock:
                self._admitted -= 1
            raise
        # Released when the thread is done, not when the awaiting request is cancelled:
        # a hash under way holds its thread and memory until it ends.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)


@functools.cache
def _pool(threads: int, queue: int) -> HashPool:
    return HashPool(threads, queue)


def pool_of(settings: Settings) -> HashPool:
    """The process's hashing pool (one per configuration: the CPU is the process's)."""
    return _pool(settings.hash_threads, settings.hash_queue)


async def hash_password(settings: Settings, password: str) -> str:
    return await pool_of(settings).run(_hasher.hash, password)


def _matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify(settings: Settings, stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no stored hash, the dummy's cost."""
    return await pool_of(settings).run(_matches, stored, password)
