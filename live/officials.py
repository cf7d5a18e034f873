"""Departments of the city and the hosts who act for them: officials (who open policy
polls in their department's name) and administrators.

Accounts are made by an operator (``mvoting admin``), never by sign-up: an official's
account is a host account with a one-time password, which must be changed at the first
sign-in (``hosts.must_change_password``) before anything else is allowed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from live import passwords
from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.errors import N_, bad_request, conflict, not_found

_LOGIN = re.compile(r"[a-z0-9][a-z0-9._@+-]{2,99}")
MAX_DEPARTMENT = 200


class Role(StrEnum):
    OFFICIAL = "official"  #: acts for one department
    ADMIN = "admin"  #: sees every department and official


@dataclass(frozen=True)
class Department:
    id: str
    name: str


@dataclass(frozen=True)
class Official:
    host_id: str
    login: str
    role: Role
    department: Department | None
    must_change_password: bool = False


def _department_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_DEPARTMENT:
        raise bad_request(N_("a department's name has 1 to {max} characters"), max=MAX_DEPARTMENT)
    return " ".join(name.split())


def _login(login: object) -> str:
    text = login.strip().lower() if isinstance(login, str) else ""
    if not _LOGIN.fullmatch(text):
        raise bad_request(N_("a login has 3 to 100 letters, digits and . _ @ + - (no spaces)"))
    return text


async def create_department(svc: Services, name: object) -> Department:
    department = Department(new_id(), _department_name(name))
    try:
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.departments.insert().values(
                    id=department.id, name=department.name, created_ms=now_ms()
                )
            )
    except sa.exc.IntegrityError:
        raise conflict(N_("There is a department of that name already.")) from None
    return department


async def department_by_name(svc: Services, name: object) -> Department:
    wanted = _department_name(name)
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(db.departments).where(db.departments.c.name == wanted))
        ).first()
    if row is None:
        raise not_found(N_("department {id}"), wanted)
    return Department(str(row.id), str(row.name))


async def department_by_id(svc: Services, department_id: str) -> Department | None:
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(db.departments).where(db.departments.c.id == department_id)
            )
        ).first()
    return Department(str(row.id), str(row.name)) if row is not None else None


async def create_official(
    svc: Services, login: object, *, role: Role, department: object = None
) -> tuple[Official, str]:
    """A new official (of the named department) or administrator, and the one-time
    password to give them; it must be changed at the first sign-in."""
    name = _login(login)
    dept = await department_by_name(svc, department) if role is Role.OFFICIAL else None
    one_time = secrets.token_urlsafe(12)
    password_hash = await passwords.hash_password(svc.settings, one_time)
    host_id = new_id()
    try:
        async with svc.engine.begin() as conn:
            await conn.execute(
                db.hosts.insert().values(
                    id=host_id,
                    email=name,
                    name=name,
                    password_hash=password_hash,
                    created_ms=now_ms(),
                    must_change_password=True,
                )
            )
            await conn.execute(
                db.officials.insert().values(
                    host_id=host_id,
                    department_id=dept.id if dept else None,
                    role=str(role),
                    created_ms=now_ms(),
                )
            )
    except sa.exc.IntegrityError:
        raise conflict(N_("An account with this login exists already.")) from None
    return Official(host_id, name, role, dept, True), one_time


def _query() -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(
            db.officials.c.host_id,
            db.officials.c.role,
            db.hosts.c.email.label("login"),
            db.hosts.c.must_change_password,
            db.departments.c.id.label("department_id"),
            db.departments.c.name.label("department_name"),
        )
        .join(db.hosts, db.hosts.c.id == db.officials.c.host_id)
        .outerjoin(db.departments, db.departments.c.id == db.officials.c.department_id)
    )


def _official(row: sa.Row[tuple[object, ...]]) -> Official:
    dept = (
        Department(str(row.department_id), str(row.department_name))
        if row.department_id is not None
        else None
    )
    return Official(
        str(row.host_id), str(row.login), Role(str(row.role)), dept, bool(row.must_change_password)
    )


async def official_of(svc: Services, host_id: str) -> Official | None:
    """The host's place in the city, if any."""
    async with svc.engine.connect() as conn:
        row = (await conn.execute(_query().where(db.officials.c.host_id == host_id))).first()
    return _official(row) if row is not None else None


async def directory(svc: Services) -> tuple[list[Department], list[Official]]:
    """Every department (by name) and every official and administrator (by department,
    then login)."""
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(sa.select(db.departments).order_by(db.departments.c.name))).all()
        people = (
            await conn.execute(
                _query().order_by(db.departments.c.name.nulls_first(), db.hosts.c.email)
            )
        ).all()
    return [Department(str(r.id), str(r.name)) for r in rows], [_official(r) for r in people]
