"""Attempts counted per subject in a fixed window, in Valkey, so a limit holds across nodes.

A counter key per (kind, subject) is raised *before* the attempt it admits: a thousand
guesses sent at once are counted as a thousand, not let through while the first is
still being checked. Its window starts with its first attempt and ends with the key's
expiry, so a refusal can say how long to wait. Each key is its own hash slot, so the
script runs on a Redis Cluster too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from redis.exceptions import NoScriptError

from live.services import Services
from rooms.errors import ErrorCode, VotingError

# KEYS[1] the counter; ARGV[1] +1 (an attempt) or -1 (give one back); ARGV[2] window ms.
# A counter that expired is not given back to: that would leave one without a window.
_SCRIPT = """
local delta = tonumber(ARGV[1])
if delta < 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local count = redis.call('INCRBY', KEYS[1], delta)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {count, ttl}
"""
_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()


@dataclass(frozen=True)
class Limit:
    kind: str  #: part of the key: what is counted ("signin-account", ...)
    count: int  #: attempts admitted per window
    window: float  #: seconds


async def _run(svc: Services, key: str, delta: int, window: float) -> tuple[int, int]:
    args = (key, delta, int(window * 1000))
    try:
        reply = await svc.redis.evalsha(_SHA, 1, *args)
    except NoScriptError:
        reply = await svc.redis.eval(_SCRIPT, 1, *args)
    return int(reply[0]), int(reply[1])


async def attempt(svc: Services, limit: Limit, subject: str) -> None:
    """Count one attempt of ``subject``; past the limit refuse it, ``rate_limited`` with
    ``retry_after`` (whole seconds until the window ends)."""
    count, ttl_ms = await _run(svc, svc.keys.throttle(limit.kind, subject), 1, limit.window)
    if count > limit.count:
        raise VotingError(ErrorCode.RATE_LIMITED, retry_after=max(1, -(-ttl_ms // 1000)))


async def give_back(svc: Services, limit: Limit, subject: str) -> None:
    """Uncount an attempt that turned out legitimate (e.g. a successful sign-in)."""
    await _run(svc, svc.keys.throttle(limit.kind, subject), -1, limit.window)


async def clear(svc: Services, limit: Limit, subject: str) -> None:
    await svc.redis.delete(svc.keys.throttle(limit.kind, subject))


def secret_subject(svc: Services, value: str) -> str:
    """A subject that must not appear in a key name (an e-mail address): keyed hash."""
    return hmac.new(svc.secret, b"throttle:" + value.encode(), hashlib.sha256).hexdigest()[:32]
