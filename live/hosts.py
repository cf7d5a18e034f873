"""Host accounts: sign-up and sign-in with argon2-hashed passwords."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.errors import ErrorCode, VotingError, bad_request

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_hasher = PasswordHasher()
# Compared against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not a password")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Host:
    id: str
    email: str
    name: str


async def sign_up(svc: Services, email: object, password: object, name: object = "") -> Host:
    if not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()) or len(email) > 320:
        raise bad_request("give a valid e-mail address")
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 200:
        raise bad_request(f"a password has {MIN_PASSWORD} to 200 characters")
    if not isinstance(name, str) or len(name) > 200:
        raise bad_request("name must be text of at most 200 characters")
    email = email.strip().lower()
    host = Host(new_id(), email, name.strip() or email.split("@")[0])
    try:
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.hosts.insert().values(
                    id=host.id,
                    email=host.email,
                    name=host.name,
                    password_hash=await asyncio.to_thread(_hasher.hash, password),
                    created_ms=now_ms(),
                )
            )
    except sa.exc.IntegrityError:
        raise VotingError(
            ErrorCode.CONFLICT, detail="An account with this e-mail exists; sign in instead."
        ) from None
    return host


async def sign_in(svc: Services, email: object, password: object) -> Host:
    if not isinstance(email, str) or not isinstance(password, str):
        raise bad_request("give an e-mail and a password")
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(db.hosts).where(db.hosts.c.email == email.strip().lower()))
        ).first()
    try:
        # argon2 takes ~0.1 s of CPU on purpose: off the event loop, or every socket of
        # this node would stall while a host signs in.
        await asyncio.to_thread(_hasher.verify, row.password_hash if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise VotingError(ErrorCode.BAD_CREDENTIALS) from None
    if row is None:
        raise VotingError(ErrorCode.BAD_CREDENTIALS)
    return Host(row.id, row.email, row.name)


async def host_by_id(svc: Services, host_id: str) -> Host | None:
    async with svc.engine.connect() as conn:
        row = (await conn.execute(sa.select(db.hosts).where(db.hosts.c.id == host_id))).first()
    return Host(row.id, row.email, row.name) if row else None
