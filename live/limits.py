"""Failed attempts counted per subject in Valkey, with a lock that grows.

A subject is whatever guesses come from or go to: a client address, a room, an account.
Each kind of attempt (joins, host sign-ins, sign-ups, uploads) names its subjects and
gives each a ``Policy``: so many failures per window are free; each failure past them
locks the subject for twice as long as the one before, up to a ceiling. An attempt whose
subject is locked is refused without its outcome being told, so a correct guess made
during a lock is worth nothing. Successes are not counted (a crowd that gets in does
not bring anyone closer to a lock), except for kinds where every attempt costs (a
sign-up, an upload: ``count``), which ``quota`` gives a policy.

The count and the check are one script call (``lua/limit.lua``), on the server that
holds the kind's hash tag, so they hold across web nodes, and many attempts sent at once
cannot all pass the check before the first failure is counted.

``client_address`` names the network a request comes from; ``answer_no_sooner`` makes
every refusal of a kind take the same time, so that how long a refusal took tells
nothing about why.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import NoScriptError

from live.metrics import RATE_LIMITED
from rooms.errors import ErrorCode, VotingError

_SOURCE = (Path(__file__).parent / "lua" / "limit.lua").read_text()
_SHA = hashlib.sha1(_SOURCE.encode()).hexdigest()

#: An IPv6 client is counted by its /64: one subscriber (one phone, one home, one
#: server) is given a whole /64 and can pick any address in it.
IPV6_PREFIX = 64


@dataclass(frozen=True)
class Policy:
    free: int  #: failures a subject may make in one window before the first lock
    window: float  #: seconds; the count starts again this long after the window's first failure
    first_lock: float = 1.0  #: seconds the first failure past ``free`` locks the subject
    longest_lock: float = 900.0  #: the lock doubles with each further failure, up to this

    def args(self) -> list[int]:
        return [
            self.free,
            round(self.window * 1000),
            round(self.first_lock * 1000),
            round(self.longest_lock * 1000),
        ]


def quota(count: int, window: float, longest_lock: float = 86_400.0) -> Policy:
    """``count`` attempts in a window, then a lock for as long as a window, doubling with
    each attempt past it: for kinds where every attempt counts (sign-ups, uploads) or
    where a few failures already say enough (sign-ins)."""
    return Policy(max(count - 1, 0), window, window, max(window, longest_lock))


@dataclass(frozen=True)
class Subject:
    key: str  #: ``Keys.limit(kind, ...)``; all subjects of one attempt are of one kind
    policy: Policy


@dataclass(frozen=True)
class Verdict:
    wait: float  #: > 0: a subject is locked this many more seconds; the attempt was refused
    lock: float  #: seconds this failure locked a subject for (0: none)

    @property
    def refused(self) -> bool:
        return self.wait > 0

    def error(self) -> VotingError:
        return rate_limited(self.wait)


def sign_in_subjects(
    settings: Any, keys: Any, kind: str, address: str | None, account: str
) -> list[Subject]:
    """What a sign-in of ``kind`` counts against: its client address and the account it
    names (``account``: a keyed reference, so no e-mail or number is in a key's name),
    whether or not the account exists."""
    return [
        Subject(
            keys.limit(kind, f"addr:{client_address(address)}"),
            quota(settings.signin_address_limit, settings.signin_window),
        ),
        Subject(
            keys.limit(kind, f"acct:{account}"),
            quota(settings.signin_account_limit, settings.signin_window),
        ),
    ]


async def count(redis: Any, subjects: Sequence[Subject]) -> None:
    """Count an attempt that costs whatever its outcome (a sign-up, an upload) before it
    is made; ``rate_limited`` if a subject is locked."""
    verdict = await attempt(redis, subjects, failed=True)
    if verdict.refused:
        raise verdict.error()


async def check(redis: Any, subjects: Sequence[Subject]) -> None:
    """``rate_limited`` if a subject is locked; counts nothing (before costly work)."""
    verdict = await attempt(redis, subjects, failed=False)
    if verdict.refused:
        raise verdict.error()


async def forget(redis: Any, subject: Subject) -> None:
    """Drop a subject's failures (an account whose owner just proved the password)."""
    await redis.delete(subject.key)


def rate_limited(wait: float) -> VotingError:
    """``rate_limited``, saying in whole seconds (at least one) when to try again."""
    return VotingError(ErrorCode.RATE_LIMITED, retry_after=max(1, math.ceil(wait)))


#: Runs ``lua/limit.lua`` with (keys, args): a ``ScriptBatcher`` (``live.cast``) of a node
#: that checks many joins at once.
Runner = Callable[[list[str], list[Any]], Awaitable[Any]]


async def attempt(
    redis: Any, subjects: Sequence[Subject], *, failed: bool, run: Runner | None = None
) -> Verdict:
    """Check the subjects' locks and, if none holds, count the attempt if it ``failed``.

    The caller decides ``failed`` before asking, but tells the outcome only if the
    verdict does not refuse the attempt. ``run``: how to run the script, if not one call
    on ``redis`` (a crowd's joins go in batches).
    """
    keys = [s.key for s in subjects]
    args: list[Any] = ["1" if failed else "0"]
    for s in subjects:
        args.extend(s.policy.args())
    if run is not None:
        wait, lock = await run(keys, args)
    else:
        try:
            wait, lock = await redis.evalsha(_SHA, len(keys), *keys, *args)
        except NoScriptError:  # a server that restarted or failed over lost its scripts
            wait, lock = await redis.eval(_SOURCE, len(keys), *keys, *args)
    verdict = Verdict(int(wait) / 1000, int(lock) / 1000)
    if verdict.refused and keys:
        RATE_LIMITED.labels(kind=_kind_of(keys[0])).inc()
    return verdict


def _kind_of(key: str) -> str:
    """The kind of attempt a ``Keys.limit`` key counts (``join``, ``signin``...): the
    name in its hash tag, one of the code's few."""
    return key.partition("{lim:")[2].partition("}")[0] or "unknown"


def client_address(client: Any) -> str:
    """The network of an ASGI scope's ``client``: the IPv4 address, or the IPv6 /64.

    Behind a proxy the scope's client is the address uvicorn took from the proxy's
    ``X-Forwarded-For``, for the proxies ``FORWARDED_ALLOW_IPS`` trusts.
    """
    host = client[0] if isinstance(client, list | tuple) and client else client
    if not isinstance(host, str) or not host:
        return "unknown"
    try:
        # The common case, at a twentieth of ``ip_address``'s cost (3 % of a join storm's
        # CPU): a dotted quad, which inet_pton takes only in its canonical form.
        socket.inet_pton(socket.AF_INET, host)
        return host
    except OSError:
        pass
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]  # not an IP (a unix socket, a test client): as given, bounded
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


async def answer_no_sooner(started: float, delay: float) -> None:
    """Sleep until ``delay`` seconds after ``started`` (the event loop's clock)."""
    rest = started + delay - asyncio.get_running_loop().time()
    if rest > 0:
        await asyncio.sleep(rest)
