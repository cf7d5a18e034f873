"""Sessions of hosts and of citizens, kept server-side, so that signing out ends one and
a password change or an operator ends them all.

The signed cookie only names the account and a random session id, in the fields of its
kind (``HOSTS``, ``CITIZENS``: one browser may hold one of each); the session itself is a
Valkey key that holds the account's session generation at sign-in and expires with the
session (``MVOTING_SESSION_DAYS``). A cookie is honoured while its key exists and holds
the account's current generation: signing out deletes the key, and raising the
generation ends every session begun before, with nothing to enumerate. An account's
keys share the hash tag ``{h:<host id>}`` or ``{c:<citizen id>}``, so the check is one
MGET on a cluster too.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, TimestampSigner

from live.services import Services

#: The cookie the session middleware signs (``live.app``).
COOKIE = "mv_session"


@dataclass(frozen=True)
class Kind:
    account: str  #: the cookie field naming the account
    session: str  #: the cookie field naming the session
    tag: str  #: the letter of the account's hash tag (``Keys.session``)


HOSTS = Kind("host", "sid", "h")
CITIZENS = Kind("citizen", "csid", "c")

#: Cookie session fields of a host (the console's).
HOST = HOSTS.account
SESSION = HOSTS.session


async def generation(svc: Services, account_id: str, kind: Kind = HOSTS) -> int:
    return int(await svc.redis.get(svc.keys.generation(kind.tag, account_id)) or 0)


async def begin(
    svc: Services,
    cookie: MutableMapping[str, Any],
    account_id: str,
    generation: int,
    kind: Kind = HOSTS,
) -> None:
    """Sign ``cookie`` in as ``account_id``, as of ``generation`` (read before the password
    was checked: a password changed meanwhile has raised it, and this session is void)."""
    sid = secrets.token_urlsafe(18)
    ttl = svc.settings.session_days * 86400
    await svc.redis.set(svc.keys.session(kind.tag, account_id, sid), generation, ex=ttl)
    cookie.pop("csrf", None)  # a form token of before the sign-in is not carried over
    cookie[kind.account] = account_id
    cookie[kind.session] = sid


def _clear(cookie: MutableMapping[str, Any], kind: Kind) -> None:
    cookie.pop(kind.account, None)
    cookie.pop(kind.session, None)


async def account_of(
    svc: Services, cookie: MutableMapping[str, Any], kind: Kind = HOSTS
) -> str | None:
    """The signed-in account of ``cookie``; a session ended server-side is cleared from it."""
    account_id, _ = await _checked(svc, cookie, kind, facts=False)
    return account_id


async def account_and_facts(
    svc: Services, cookie: MutableMapping[str, Any], kind: Kind
) -> tuple[str | None, str | None]:
    """``account_of``, and the account's facts kept in Valkey (``Keys.facts``: ``None``
    if none are), read in the same MGET: a targeted poll's join makes one round trip."""
    return await _checked(svc, cookie, kind, facts=True)


async def _checked(
    svc: Services, cookie: MutableMapping[str, Any], kind: Kind, *, facts: bool
) -> tuple[str | None, str | None]:
    account_id, sid = cookie.get(kind.account), cookie.get(kind.session)
    if not isinstance(account_id, str) or not isinstance(sid, str):
        if account_id is not None:
            _clear(cookie, kind)  # a cookie of before server-side sessions
        return None, None
    keys = [svc.keys.session(kind.tag, account_id, sid), svc.keys.generation(kind.tag, account_id)]
    if facts:
        keys.append(svc.keys.facts(kind.tag, account_id))
    began, current, *kept = await svc.redis.mget(keys)
    if began is None or int(began) != int(current or 0):
        _clear(cookie, kind)
        return None, None
    return account_id, kept[0] if kept else None


def read_cookie(svc: Services, value: str) -> dict[str, Any]:
    """The fields of a session cookie's value, as the session middleware reads them (a
    socket has no middleware); ``{}`` for one that is forged, expired or not a session."""
    signer = TimestampSigner(svc.settings.secret.reveal().decode())
    try:
        data = signer.unsign(value.encode(), max_age=svc.settings.session_days * 86400)
        fields = json.loads(base64.b64decode(data))
    except (BadSignature, binascii.Error, ValueError, UnicodeError):
        return {}
    return fields if isinstance(fields, dict) else {}


async def host_of(svc: Services, cookie: MutableMapping[str, Any]) -> str | None:
    return await account_of(svc, cookie, HOSTS)


async def end(svc: Services, cookie: MutableMapping[str, Any], kind: Kind = HOSTS) -> None:
    """Sign this cookie out: its session is gone for every copy of the cookie."""
    account_id, sid = cookie.get(kind.account), cookie.get(kind.session)
    if isinstance(account_id, str) and isinstance(sid, str):
        await svc.redis.delete(svc.keys.session(kind.tag, account_id, sid))
    _clear(cookie, kind)
    cookie.pop("csrf", None)


async def end_all(svc: Services, account_id: str, kind: Kind = HOSTS) -> int:
    """End every session of the account; the new generation (later sessions use it)."""
    new: int = await svc.redis.incr(svc.keys.generation(kind.tag, account_id))
    return new
