"""Co-hosts: invited by the owner, they run the room; only the owner manages its hosts."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from live.engines import db
from live.services import Services
from tests.conftest import Node, connect
from tests.live.hosting import (
    Host,
    add_question,
    assert_error,
    create_room,
    room_state,
    signed_in,
)


async def _invite(owner: Host, room_id: str) -> str:
    r = await owner.http.post(f"/api/rooms/{room_id}/invitations")
    assert r.status_code == 201, r.text
    token: str = r.json()["invitation"]["token"]
    return token


async def _hosts(http: httpx.AsyncClient, room_id: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/rooms/{room_id}/hosts")
    assert r.status_code == 200, r.text
    hosts: list[dict[str, Any]] = r.json()["hosts"]
    return hosts


async def _room_hosts_rows(svc: Services) -> list[tuple[str, str, str]]:
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.room_hosts.c.room_id, db.room_hosts.c.host_id, db.room_hosts.c.role)
        )
        return sorted((r.room_id, r.host_id, r.role) for r in rows)


async def test_invited_cohost_runs_the_room_but_does_not_manage_its_hosts(
    node: Node, svc: Services
) -> None:
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        signed_in(node.url, "cohost@example.org") as cohost,
    ):
        room = await create_room(owner.http)
        r = await owner.http.post(f"/api/rooms/{room['id']}/invitations")
        assert r.status_code == 201, r.text
        invitation = r.json()["invitation"]
        assert set(invitation) == {"token", "url"}
        assert invitation["url"] == f"{node.url}/host/invite/{invitation['token']}"
        assert_error(await cohost.http.get(f"/api/rooms/{room['id']}"), 403, "forbidden")

        r = await cohost.http.post(f"/api/invitations/{invitation['token']}/accept")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "ok": True,
            "room": {"id": room["id"], "number": room["number"], "title": "Board meeting"},
            "role": "cohost",
        }
        mine = {"id": room["id"], "number": room["number"], "title": "Board meeting"}
        assert (await cohost.http.get("/api/rooms")).json()["rooms"] == [{**mine, "role": "cohost"}]
        assert (await owner.http.get("/api/rooms")).json()["rooms"] == [{**mine, "role": "owner"}]

        # The co-host runs the room: questions, actions, the list, results.
        state = await room_state(cohost.http, room["id"])
        assert state["room"]["role"] == "cohost"
        q = await add_question(cohost.http, room["id"], title="Lunch?")
        async with connect(node.url) as attendee:
            await attendee.join(room["number"], key=room["key"])
            r = await cohost.http.post(f"/api/rooms/{room['id']}/next")
            assert r.json()["opened"]["id"] == q["id"]
            assert (await attendee.vote(q["id"], [1]))["ok"]
        assert (await cohost.http.post(f"/api/questions/{q['id']}/close")).status_code == 200
        assert (await cohost.http.get(f"/api/questions/{q['id']}/export.csv")).status_code == 200
        summary = (await cohost.http.get(f"/api/rooms/{room['id']}/summary")).json()["summary"]
        assert summary["questions"][0]["total"] == 1

        hosts = [
            {"id": owner.id, "name": "owner", "email": owner.email, "role": "owner"},
            {"id": cohost.id, "name": "cohost", "email": cohost.email, "role": "cohost"},
        ]
        for who, can_manage in ((owner, True), (cohost, False)):
            body = (await who.http.get(f"/api/rooms/{room['id']}/hosts")).json()
            assert [{k: h[k] for k in ("id", "name", "email", "role")} for h in body["hosts"]] == (
                hosts
            )
            assert body["can_manage"] is can_manage

        # ... but does not manage its hosts: every refusal leaves the hosts as they were.
        before = await _room_hosts_rows(svc)
        assert_error(
            await cohost.http.post(f"/api/rooms/{room['id']}/invitations"), 403, "not_owner"
        )
        for target in (owner.id, cohost.id):
            r = await cohost.http.delete(f"/api/rooms/{room['id']}/hosts/{target}")
            assert_error(r, 403, "not_owner")
        assert await _room_hosts_rows(svc) == before
        async with svc.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(db.invitations)) == 1

        # The owner removes the co-host, who loses the room at once.
        r = await owner.http.delete(f"/api/rooms/{room['id']}/hosts/{cohost.id}")
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()["hosts"]] == [owner.id]
        assert_error(await cohost.http.get(f"/api/rooms/{room['id']}"), 403, "forbidden")
        assert_error(await cohost.http.post(f"/api/questions/{q['id']}/reveal"), 403, "forbidden")
        assert (await cohost.http.get("/api/rooms")).json()["rooms"] == []
        assert await _room_hosts_rows(svc) == [(room["id"], owner.id, "owner")]


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        pytest.param("owner", 409, "conflict", id="the-owner"),
        pytest.param("nobody", 404, "not_found", id="not-a-host"),
        pytest.param("stranger", 404, "not_found", id="a-host-of-another-room"),
    ],
)
async def test_owner_cannot_remove_the_owner_or_a_non_host(
    node: Node, svc: Services, target: str, status: int, code: str
) -> None:
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        signed_in(node.url, "stranger@example.org") as stranger,
    ):
        room = await create_room(owner.http)
        await create_room(stranger.http)
        before = await _room_hosts_rows(svc)
        host_id = {"owner": owner.id, "nobody": "nosuchhost", "stranger": stranger.id}[target]

        r = await owner.http.delete(f"/api/rooms/{room['id']}/hosts/{host_id}")

        assert_error(r, status, code)
        assert await _room_hosts_rows(svc) == before
        assert [h["id"] for h in await _hosts(owner.http, room["id"])] == [owner.id]


async def test_accepting_is_idempotent_for_hosts_and_single_use_for_others(
    node: Node, svc: Services
) -> None:
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        signed_in(node.url, "first@example.org") as first,
        signed_in(node.url, "second@example.org") as second,
        httpx.AsyncClient(base_url=node.url) as anonymous,
    ):
        room = await create_room(owner.http)
        token = await _invite(owner, room["id"])
        accept = f"/api/invitations/{token}/accept"

        # The owner trying the link is harmless and leaves it unused.
        r = await owner.http.post(accept)
        assert (r.status_code, r.json()["role"]) == (200, "owner")
        assert_error(await anonymous.post(accept), 401, "unauthorized")
        assert_error(await first.http.post("/api/invitations/nosuchtoken/accept"), 404, "not_found")
        assert await _room_hosts_rows(svc) == [(room["id"], owner.id, "owner")]

        # The first to accept joins; accepting again changes nothing.
        for _ in range(2):
            r = await first.http.post(accept)
            assert (r.status_code, r.json()["role"]) == (200, "cohost")
        rows = await _room_hosts_rows(svc)
        assert sorted(rows) == sorted(
            [(room["id"], owner.id, "owner"), (room["id"], first.id, "cohost")]
        )
        # Anyone else finds the link used.
        message = assert_error(await second.http.post(accept), 409, "conflict")
        assert message == "This invitation has been used already."
        # A removed co-host cannot come back through the link they used.
        await owner.http.delete(f"/api/rooms/{room['id']}/hosts/{first.id}")
        assert_error(await first.http.post(accept), 409, "conflict")
        assert await _room_hosts_rows(svc) == [(room["id"], owner.id, "owner")]
        async with svc.engine.connect() as conn:
            used = (await conn.execute(sa.select(db.invitations))).one()
        assert (used.accepted_by, used.created_by, used.room_id) == (first.id, owner.id, room["id"])


async def test_of_hosts_accepting_one_link_at_once_exactly_one_joins(
    node: Node, svc: Services
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        owner = await stack.enter_async_context(signed_in(node.url, "owner@example.org"))
        others = [
            await stack.enter_async_context(signed_in(node.url, f"h{i}@example.org"))
            for i in range(6)
        ]
        room = await create_room(owner.http)
        token = await _invite(owner, room["id"])

        replies = await asyncio.gather(
            *(h.http.post(f"/api/invitations/{token}/accept") for h in others)
        )

        assert sorted(r.status_code for r in replies) == [200] + [409] * 5
        winner = next(h for h, r in zip(others, replies, strict=True) if r.status_code == 200)
        assert [h["id"] for h in await _hosts(owner.http, room["id"])] == [owner.id, winner.id]


async def test_a_stranger_sees_no_hosts_and_invites_nobody(node: Node, svc: Services) -> None:
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        signed_in(node.url, "stranger@example.org") as stranger,
    ):
        room = await create_room(owner.http)
        assert_error(await stranger.http.get(f"/api/rooms/{room['id']}/hosts"), 403, "forbidden")
        r = await stranger.http.post(f"/api/rooms/{room['id']}/invitations")
        assert_error(r, 403, "forbidden")
        assert_error(await stranger.http.get("/api/rooms/nosuchroom/hosts"), 404, "not_found")
        async with svc.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(db.invitations)) == 0


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def test_migration_makes_each_owner_a_host_of_their_rooms(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    cfg = _alembic(f"sqlite+aiosqlite:///{path}")
    # Alembic's env runs its own event loop: give it a thread.
    await asyncio.to_thread(command.upgrade, cfg, "0001")
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO hosts VALUES ('h1', 'a@example.org', 'a', 'x', 1)")
        for room_id, owner in (("r1", "'h1'"), ("r2", "NULL")):
            conn.execute(
                f"INSERT INTO rooms VALUES ('{room_id}', '12345{room_id[1]}', 'T', 'pw', "
                f"'key{room_id}', 'p', {owner}, 1, 7)"
            )

    await asyncio.to_thread(command.upgrade, cfg, "head")

    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT * FROM room_hosts").fetchall() == [("r1", "h1", "owner", 7)]
        assert conn.execute("SELECT count(*) FROM invitations").fetchone() == (0,)
    await asyncio.to_thread(command.downgrade, cfg, "0001")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"room_hosts", "invitations"}.isdisjoint(tables) and "rooms" in tables


def _token(presenter_url: str) -> str:
    return httpx.URL(presenter_url).params["token"]


async def test_a_removed_cohost_loses_the_presenter_link_they_read_and_the_hosts_keep_theirs(
    node: Node, svc: Services
) -> None:
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        signed_in(node.url, "cohost@example.org") as cohost,
    ):
        room = await create_room(owner.http)
        token = await _invite(owner, room["id"])
        assert (await cohost.http.post(f"/api/invitations/{token}/accept")).status_code == 200
        seen = _token((await room_state(cohost.http, room["id"]))["room"]["presenter_url"])
        async with connect(node.url) as theirs, connect(node.url) as ours:
            assert (await theirs.join(room["number"], presenter=seen))["role"] == "host"
            assert (await ours.join(room["number"], presenter=seen))["role"] == "host"

            r = await owner.http.delete(f"/api/rooms/{room['id']}/hosts/{cohost.id}")
            assert r.status_code == 200, r.text
            # Every screen joined by the old link is let go of and told to join again.
            for screen in (theirs, ours):
                await screen.wait_for(lambda s=screen: ("rejoin", {"room": room["id"]}) in s.events)
            draft = await add_question(owner.http, room["id"], title="Secret agenda")
            assert (await theirs.vote(draft["id"], [0]))["error"]["code"] == "not_joined"

            # The old link opens nothing; the hosts read the new one, which works.
            again = await theirs.join(room["number"], presenter=seen)
            assert again["error"]["code"] == "bad_credentials", again
            page = await cohost.http.get(f"/present/{room['number']}?token={seen}")
            assert page.status_code == 404
            new = _token((await room_state(owner.http, room["id"]))["room"]["presenter_url"])
            assert new != seen
            assert (await ours.join(room["number"], presenter=new))["role"] == "host"
            await owner.http.patch(f"/api/questions/{draft['id']}", json={"title": "Agenda"})
            await ours.wait_for(
                lambda: any(e == "question" and d["id"] == draft["id"] for e, d in ours.events)
            )
            assert not any(e == "question" for e, _ in theirs.events)
    async with svc.engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(db.rooms.c.presenter_token).where(db.rooms.c.id == room["id"])
        )
    assert stored == new
