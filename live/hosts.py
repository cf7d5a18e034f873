"""Host accounts: sign-up, sign-in and password change, with argon2-hashed passwords.

Guessing is limited in Valkey (``live.limits``, as joins are), so the limits hold across
nodes: failures per e-mail address and per client address for sign-in (past the limit
the account or address is locked for a window, doubling), sign-ups per client address. An
unknown e-mail and a wrong password get the same answer after the same work (the dummy
hash is checked), and are counted alike. Sign-up with an e-mail in use still says so:
without a mail channel there is no other way to tell its owner, and a sign-up signs in
at once; the per-address limit bounds how fast addresses can be tried that way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa

from live import limits, passwords, sessions
from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.errors import N_, ErrorCode, VotingError, bad_request, conflict

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


#: How a refused sign-in of a host reads (its code is ``bad_credentials``).
WRONG_PASSWORD = N_("The e-mail, login or password is wrong.")


@dataclass(frozen=True)
class Host:
    id: str
    email: str
    name: str


@dataclass(frozen=True)
class SignedIn:
    host: Host
    generation: int  #: the host's session generation, read before the password was checked
    #: Made with a one-time password (``live.officials``): it is to be changed first.
    must_change_password: bool = False


def _signin_subjects(svc: Services, address: str | None, email: str) -> list[limits.Subject]:
    """A sign-in counts against its client address and the account's e-mail (keyed, so no
    address appears in a key name), known or not."""
    account = hmac.new(svc.secret, b"signin:" + email.encode(), hashlib.sha256).hexdigest()[:32]
    return limits.sign_in_subjects(svc.settings, svc.keys, "signin", address, account)


async def sign_up(
    svc: Services, email: object, password: object, name: object = "", *, address: str | None
) -> SignedIn:
    if not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()) or len(email) > 320:
        raise bad_request(N_("give a valid e-mail address"))
    password = passwords.check_new(password)
    if not isinstance(name, str) or len(name) > 200:
        raise bad_request(N_("name must be text of at most 200 characters"))
    subject = limits.Subject(
        svc.keys.limit("signup", f"addr:{limits.client_address(address)}"),
        limits.quota(svc.settings.signup_address_limit, 3600),
    )
    await limits.check(svc.redis, [subject])
    email = email.strip().lower()
    host = Host(new_id(), email, name.strip() or email.split("@")[0])
    # Hashed before it counts: a node too busy to hash (``unavailable``) tried nothing.
    password_hash = await passwords.hash_password(svc.settings, password)
    await limits.count(svc.redis, [subject])
    try:
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.hosts.insert().values(
                    id=host.id,
                    email=host.email,
                    name=host.name,
                    password_hash=password_hash,
                    created_ms=now_ms(),
                )
            )
    except sa.exc.IntegrityError:
        raise conflict(N_("An account with this e-mail exists; sign in instead.")) from None
    return SignedIn(host, 0)


async def _row_by_email(svc: Services, email: str) -> sa.Row[tuple[object, ...]] | None:
    async with svc.engine.connect() as conn:
        return (await conn.execute(sa.select(db.hosts).where(db.hosts.c.email == email))).first()


async def _hash_of(svc: Services, host_id: str) -> str | None:
    async with svc.engine.connect() as conn:
        found: str | None = await conn.scalar(
            sa.select(db.hosts.c.password_hash).where(db.hosts.c.id == host_id)
        )
    return found


async def _checked(
    svc: Services, email: str, password: str, address: str | None, check: str | None = None
) -> SignedIn:
    """The host whose e-mail and password these are, counted against both limits.

    ``check``: only this host id may match (a password change).
    """
    subjects = _signin_subjects(svc, address, email)
    # A locked subject costs no hashing; the outcome is counted, and told only if no
    # subject got locked meanwhile, after the hash: guesses sent at once are all checked
    # against the failures counted before them.
    await limits.check(svc.redis, subjects)
    row = await _row_by_email(svc, email)
    stored = row.password_hash if row is not None else None
    matched = await passwords.verify(svc.settings, stored, password)  # or ``unavailable``
    # The same reads whether the e-mail is known or not. The generation is read before
    # the hash is read again: a password changed in between raises the generation after
    # storing the new hash, so either the hash differs here or the session is void.
    host_id = row.id if row is not None else ""
    began = await sessions.generation(svc, host_id or "none")
    current = await _hash_of(svc, host_id)
    failed = row is None or not matched or current != stored or bool(check and row.id != check)
    verdict = await limits.attempt(svc.redis, subjects, failed=failed)
    if verdict.refused:
        raise verdict.error()
    if failed or row is None:
        raise VotingError(ErrorCode.BAD_CREDENTIALS, sentence=WRONG_PASSWORD)
    await limits.forget(svc.redis, subjects[1])  # the owner: their typos are forgiven
    return SignedIn(Host(row.id, row.email, row.name), began, bool(row.must_change_password))


async def sign_in(
    svc: Services, email: object, password: object, *, address: str | None
) -> SignedIn:
    if not isinstance(email, str) or not isinstance(password, str):
        raise bad_request(N_("give an e-mail and a password"))
    return await _checked(svc, email.strip().lower(), password, address)


async def change_password(
    svc: Services, host_id: str, current: object, new: object, *, address: str | None
) -> int:
    """Give the host a new password and end every session of theirs; the generation a
    session begun now has."""
    if not isinstance(current, str):
        raise bad_request(N_("give the current password"))
    new = passwords.check_new(new, N_("the new password"))
    host = await host_by_id(svc, host_id)
    if host is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    await _checked(svc, host.email, current, address, check=host_id)
    old_hash = await _hash_of(svc, host_id)
    new_hash = await passwords.hash_password(svc.settings, new)
    async with svc.engine.begin() as conn:
        done = await conn.execute(
            db.hosts.update()
            .where(db.hosts.c.id == host_id, db.hosts.c.password_hash == old_hash)
            .values(password_hash=new_hash, must_change_password=False)
        )
    if done.rowcount != 1:  # another change came first
        raise conflict(N_("The password was changed meanwhile."))
    return await sessions.end_all(svc, host_id)


def _host(row: sa.Row[tuple[object, ...]] | None) -> Host | None:
    return Host(str(row.id), str(row.email), str(row.name)) if row else None


async def host_by_id(svc: Services, host_id: str) -> Host | None:
    async with svc.engine.connect() as conn:
        row = (await conn.execute(sa.select(db.hosts).where(db.hosts.c.id == host_id))).first()
    return _host(row)


async def host_by_email(svc: Services, email: str) -> Host | None:
    return _host(await _row_by_email(svc, email.strip().lower()))
