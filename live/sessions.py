"""Host sessions kept server-side, so that signing out ends one and a password change or
an operator ends them all.

The signed cookie only names the host and a random session id; the session itself is a
Valkey key that holds the host's session generation at sign-in and expires with the
session (``MVOTING_SESSION_DAYS``). A cookie is honoured while its key exists and holds
the host's current generation: signing out deletes the key, and raising the generation
ends every session begun before, with nothing to enumerate. The host's keys share the
hash tag ``{h:<host id>}``, so the check is one MGET on a cluster too.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any

from live.services import Services

#: Cookie session fields.
HOST = "host"
SESSION = "sid"


async def generation(svc: Services, host_id: str) -> int:
    return int(await svc.redis.get(svc.keys.host_generation(host_id)) or 0)


async def begin(
    svc: Services, cookie: MutableMapping[str, Any], host_id: str, generation: int
) -> None:
    """Sign ``cookie`` in as ``host_id``, as of ``generation`` (read before the password
    was checked: a password changed meanwhile has raised it, and this session is void)."""
    sid = secrets.token_urlsafe(18)
    ttl = svc.settings.session_days * 86400
    await svc.redis.set(svc.keys.host_session(host_id, sid), generation, ex=ttl)
    cookie.pop("csrf", None)  # a form token of before the sign-in is not carried over
    cookie[HOST] = host_id
    cookie[SESSION] = sid


async def host_of(svc: Services, cookie: MutableMapping[str, Any]) -> str | None:
    """The signed-in host of ``cookie``; a session ended server-side is cleared from it."""
    host_id, sid = cookie.get(HOST), cookie.get(SESSION)
    if not isinstance(host_id, str) or not isinstance(sid, str):
        if host_id is not None:
            cookie.clear()  # a cookie of before server-side sessions
        return None
    began, current = await svc.redis.mget(
        [svc.keys.host_session(host_id, sid), svc.keys.host_generation(host_id)]
    )
    if began is None or int(began) != int(current or 0):
        cookie.clear()
        return None
    return host_id


async def end(svc: Services, cookie: MutableMapping[str, Any]) -> None:
    """Sign this cookie out: its session is gone for every copy of the cookie."""
    host_id, sid = cookie.get(HOST), cookie.get(SESSION)
    if isinstance(host_id, str) and isinstance(sid, str):
        await svc.redis.delete(svc.keys.host_session(host_id, sid))
    cookie.clear()


async def end_all(svc: Services, host_id: str) -> int:
    """End every session of the host; the new generation (later sessions use it)."""
    new: int = await svc.redis.incr(svc.keys.host_generation(host_id))
    return new
