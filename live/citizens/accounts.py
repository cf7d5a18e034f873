"""Citizens' accounts: sign-up with a code sent to the number, sign-in, reset by code,
change of number after the password is given again.

Every entry point takes the number as typed and keeps it only as long as a code takes to
go out: what is looked up, stored and limited is its reference (``phone_ref``, keyed with
the pepper). Sign-up sends a code whether or not the number has an account (the
conflict is told once the code proves the number is the caller's); a reset for a number
with no account answers the same and sends nothing. Sign-ins are limited as hosts' are,
per client address and per number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from live import eligibility, limits, passwords, sessions
from live.citizens import codes
from live.citizens.sms import sender_for
from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.areas import Area
from rooms.citizens import phones
from rooms.citizens.codes import Purpose, check_code
from rooms.errors import N_, ErrorCode, VotingError, bad_request, conflict

MAX_NAME = 100


@dataclass(frozen=True)
class Citizen:
    id: str
    name: str


@dataclass(frozen=True)
class SignedIn:
    citizen: Citizen
    generation: int  #: the session generation, read before the password was checked


def _ref(svc: Services, phone: object) -> tuple[str, str]:
    """The number in E.164 and its reference; ``invalid_phone`` if it is none."""
    e164 = phones.normalise(phone)
    return e164, phones.phone_ref(svc.settings.phone_pepper.reveal(), e164)


def _name(name: object) -> str:
    if name is None:
        return ""
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
        raise bad_request(N_("name must be text of at most {max} characters"), max=MAX_NAME)
    return " ".join(name.split())


async def _row(svc: Services, where: sa.ColumnElement[bool]) -> sa.Row[tuple[object, ...]] | None:
    async with svc.engine.connect() as conn:
        return (await conn.execute(sa.select(db.citizens).where(where))).first()


def _citizen(row: sa.Row[tuple[object, ...]]) -> Citizen:
    return Citizen(str(row.id), str(row.name))


async def citizen_by_id(svc: Services, citizen_id: str) -> Citizen | None:
    row = await _row(svc, db.citizens.c.id == citizen_id)
    return _citizen(row) if row is not None else None


async def citizen_by_phone(svc: Services, phone: object) -> Citizen | None:
    """The account of a mobile number (``invalid_phone`` if it is none)."""
    _, ref = _ref(svc, phone)
    row = await _row(svc, db.citizens.c.phone_ref == ref)
    return _citizen(row) if row is not None else None


async def areas_of(svc: Services, citizen_id: str) -> list[Area] | None:
    """The areas of interest the citizen chose (``None``: all of them)."""
    row = await _row(svc, db.citizens.c.id == citizen_id)
    if row is None or row.areas is None:
        return None
    return [Area(a) for a in row.areas if a in set(Area)]


async def set_areas(svc: Services, citizen_id: str, areas: object) -> list[Area] | None:
    """Choose the areas to see: a list of area names, or ``None`` for every area."""
    if areas is not None:
        if not isinstance(areas, list) or not all(isinstance(a, str) for a in areas):
            raise bad_request(N_("areas is a list of areas of interest, or null"))
        try:
            chosen = sorted({Area(a) for a in areas}, key=list(Area).index)
        except ValueError:
            allowed = ", ".join(a.value for a in Area)
            raise bad_request(
                N_("{name} is one of {allowed}"), name="areas", allowed=allowed
            ) from None
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.citizens.update()
            .where(db.citizens.c.id == citizen_id)
            .values(areas=None if areas is None else [str(a) for a in chosen])
        )
    return await areas_of(svc, citizen_id)


async def send_code(
    svc: Services,
    purpose: object,
    phone: object,
    *,
    address: str | None,
    translate: Callable[[str], str],
    citizen_id: str | None = None,
    password: object = None,
    login: str | None = None,
) -> codes.Sent:
    """Send a one-time code for ``purpose`` to ``phone``. A change of number needs the
    signed-in citizen and their password (checked, and counted, as a sign-in); a link,
    an outside account waiting to be linked (``login``: its reference)."""
    try:
        kind = Purpose(str(purpose))
    except ValueError:
        raise bad_request(N_("purpose is signup, reset, change or link")) from None
    e164, ref = _ref(svc, phone)
    holder, deliver = "", True
    if kind is Purpose.CHANGE:
        if citizen_id is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        row = await _row(svc, db.citizens.c.id == citizen_id)
        if row is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        await _checked(svc, str(row.phone_ref), password, address, check=citizen_id)
        if row.phone_ref == ref:
            raise bad_request(N_("this is already your account's number"))
        holder = citizen_id
    elif kind is Purpose.RESET:
        deliver = await _row(svc, db.citizens.c.phone_ref == ref) is not None
    elif kind is Purpose.LINK:
        if login is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        holder = login
    return await codes.send(
        svc,
        sender_for(svc.settings),
        kind,
        e164,
        ref,
        address=address,
        translate=translate,
        holder=holder,
        deliver=deliver,
    )


async def sign_up(
    svc: Services,
    phone: object,
    code: object,
    password: object,
    name: object = None,
    *,
    address: str | None,
) -> SignedIn:
    """A new account for the number the code was sent to; signed in at once."""
    _, ref = _ref(svc, phone)
    typed = check_code(code)
    password = passwords.check_new(password)
    display = _name(name)
    subject = limits.Subject(
        svc.keys.limit("signup", f"addr:{limits.client_address(address)}"),
        limits.quota(svc.settings.signup_address_limit, 3600),
    )
    await limits.check(svc.redis, [subject])
    await codes.use(svc, Purpose.SIGN_UP, ref, typed, address=address)
    password_hash = await passwords.hash_password(svc.settings, password)
    await limits.count(svc.redis, [subject])
    citizen = Citizen(new_id(), display)
    try:
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.citizens.insert().values(
                    id=citizen.id,
                    phone_ref=ref,
                    name=citizen.name,
                    password_hash=password_hash,
                    created_ms=now_ms(),
                )
            )
    except sa.exc.IntegrityError:
        raise conflict(N_("This number has an account already; sign in instead.")) from None
    return SignedIn(citizen, 0)


def _signin_subjects(svc: Services, address: str | None, ref: str) -> list[limits.Subject]:
    return limits.sign_in_subjects(svc.settings, svc.keys, "csignin", address, ref[:32])


async def _checked(
    svc: Services, ref: str, password: object, address: str | None, check: str | None = None
) -> SignedIn:
    """The citizen whose number and password these are, counted against both limits (as
    a host's sign-in: ``live.hosts``). ``check``: only this citizen may match."""
    if not isinstance(password, str):
        raise bad_request(N_("give the password"))
    subjects = _signin_subjects(svc, address, ref)
    await limits.check(svc.redis, subjects)
    row = await _row(svc, db.citizens.c.phone_ref == ref)
    stored = row.password_hash if row is not None else None
    matched = await passwords.verify(svc.settings, stored, password)
    citizen_id = str(row.id) if row is not None else ""
    began = await sessions.generation(svc, citizen_id or "none", sessions.CITIZENS)
    again = await _row(svc, db.citizens.c.phone_ref == ref)
    current = again.password_hash if again is not None else None
    failed = row is None or not matched or current != stored or bool(check and citizen_id != check)
    verdict = await limits.attempt(svc.redis, subjects, failed=failed)
    if verdict.refused:
        raise verdict.error()
    if failed or row is None:
        raise VotingError(ErrorCode.BAD_SIGN_IN)
    await limits.forget(svc.redis, subjects[1])
    return SignedIn(_citizen(row), began)


async def sign_in(
    svc: Services, phone: object, password: object, *, address: str | None
) -> SignedIn:
    try:
        _, ref = _ref(svc, phone)
    except VotingError:
        raise VotingError(ErrorCode.BAD_SIGN_IN) from None
    return await _checked(svc, ref, password, address)


async def reset_password(
    svc: Services, phone: object, code: object, password: object, *, address: str | None
) -> SignedIn:
    """A new password for the number's account, by the code sent to it; every session of
    the account ends, and the caller is signed in anew."""
    _, ref = _ref(svc, phone)
    typed = check_code(code)
    password = passwords.check_new(password, N_("the new password"))
    await codes.use(svc, Purpose.RESET, ref, typed, address=address)
    row = await _row(svc, db.citizens.c.phone_ref == ref)
    if row is None:  # no code is sent for a number with no account
        raise VotingError(ErrorCode.CODE_EXPIRED)
    new_hash = await passwords.hash_password(svc.settings, password)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.citizens.update().where(db.citizens.c.id == row.id).values(password_hash=new_hash)
        )
    generation = await sessions.end_all(svc, str(row.id), sessions.CITIZENS)
    return SignedIn(_citizen(row), generation)


@dataclass(frozen=True)
class Login:
    """An outside identity provider's account: its issuer and subject."""

    issuer: str
    subject: str
    name: str = ""

    @property
    def ref(self) -> str:
        """What a link code is bound to (the code's digest is keyed: nothing to read)."""
        return hashlib.sha256(f"{self.issuer}\n{self.subject}".encode()).hexdigest()[:32]


async def citizen_of_login(svc: Services, login: Login) -> Citizen | None:
    async with svc.engine.connect() as conn:
        citizen_id = await conn.scalar(
            sa.select(db.citizen_logins.c.citizen_id).where(
                db.citizen_logins.c.issuer == login.issuer,
                db.citizen_logins.c.subject == login.subject,
            )
        )
    return await citizen_by_id(svc, str(citizen_id)) if citizen_id is not None else None


async def link_login(
    svc: Services, login: Login, phone: object, code: object, *, address: str | None
) -> SignedIn:
    """Link an outside account to the number a link code went to: to the number's account,
    or to a new one (with no password) if it has none; signed in as that account."""
    _, ref = _ref(svc, phone)
    typed = check_code(code)
    await codes.use(svc, Purpose.LINK, ref, typed, address=address, holder=login.ref)
    row = await _row(svc, db.citizens.c.phone_ref == ref)
    async with svc.engine.begin() as conn:
        if row is None:
            citizen = Citizen(new_id(), _name(login.name[:MAX_NAME]))
            await conn.execute(
                db.citizens.insert().values(
                    id=citizen.id,
                    phone_ref=ref,
                    name=citizen.name,
                    password_hash=None,
                    created_ms=now_ms(),
                )
            )
        else:
            citizen = _citizen(row)
        try:
            await conn.execute(
                db.citizen_logins.insert().values(
                    issuer=login.issuer,
                    subject=login.subject,
                    citizen_id=citizen.id,
                    created_ms=now_ms(),
                )
            )
        except sa.exc.IntegrityError:
            raise conflict(N_("This outside account is linked already; sign in with it.")) from None
    generation = await sessions.generation(svc, citizen.id, sessions.CITIZENS)
    return SignedIn(citizen, generation)


async def change_phone(
    svc: Services, citizen_id: str, phone: object, code: object, *, address: str | None
) -> None:
    """Move the account to the number the change code was sent to."""
    _, ref = _ref(svc, phone)
    typed = check_code(code)
    await codes.use(svc, Purpose.CHANGE, ref, typed, address=address, holder=citizen_id)
    try:
        async with eligibility.citizen_change(svc, citizen_id) as conn:
            done = await conn.execute(
                db.citizens.update().where(db.citizens.c.id == citizen_id).values(phone_ref=ref)
            )
    except sa.exc.IntegrityError:
        raise conflict(N_("This number belongs to another account.")) from None
    if done.rowcount != 1:
        raise VotingError(ErrorCode.UNAUTHORIZED)
