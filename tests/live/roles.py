"""Everyone who may ask something of mvoting, signed in once, and fresh things for them to
act on: a room (with its owner's co-host), a poll, a comment, a draw, a roster group.

The roles: an ``attendee`` (holds a room's join link), the ``presenter`` link (a hall's
PC: the presenter token, and the join link its screen shows), the room's ``host`` (its
owner) and ``cohost``, a ``removed_cohost`` (a co-host the owner removed, who read the
room's links while hosting it), an ``other_host`` of no part in the room, ``anonymous``;
in the city, a ``citizen``, a department's ``official``, a ``monitor`` (a citizen of the
monitoring group) and an ``admin`` (an administrator).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from live import cohosts, draws, officials, store
from live.clock import new_id, now_ms
from live.moderation import monitors, reports
from live.moderation.monitors import Moderator
from live.polls import store as polls
from live.rosters import imports
from live.rosters import store as rosters
from live.services import Services
from rooms.comments import Action as Moderation
from rooms.comments import Target
from rooms.draws import build_draw
from rooms.questions import Action, build_question
from tests.live.citizenry import citizen, make_citizen, official
from tests.live.hosting import signed_in

ROLES = (
    "attendee",
    "presenter",
    "host",
    "cohost",
    "removed_cohost",
    "other_host",
    "anonymous",
    "citizen",
    "official",
    "monitor",
    "admin",
)

#: What each role was given of a case's room: ``key`` (the join link's), ``token`` (the
#: presenter link's). The hosts read both from the room's API; a presenter screen shows
#: the join link.
HOLDS = {
    "attendee": {"key"},
    "presenter": {"key", "token"},
    "host": {"key", "token"},
    "cohost": {"key", "token"},
    "removed_cohost": {"key", "token"},
}

#: Which of the room's presenter tokens a role holds, where it is not the current one.
OLD_TOKEN = {"removed_cohost": "old_presenter"}

#: The phone number of a roster group's member.
MEMBER = "010-5555-0101"

#: A roster file of one member.
ROSTER = f"phone,name\n{MEMBER},Kim\n".encode()

#: A case's state: the ids and secrets of what it made, by name.
State = dict[str, str]

#: The host actions that bring a new question to each state.
_STEPS = {
    "draft": (),
    "open": (Action.OPEN,),
    "closed": (Action.OPEN, Action.CLOSE),
    "revealed": (Action.OPEN, Action.REVEAL),
}


@dataclass
class World:
    url: str
    svc: Services
    http: dict[str, httpx.AsyncClient]  #: each role's browser, with its cookies
    ids: dict[str, str]  #: the host id of each host role, the citizen id of each citizen

    def cookies(self, role: str) -> dict[str, str]:
        """The role's cookies as a header, for a socket from the same browser."""
        jar = "; ".join(f"{c.name}={c.value}" for c in self.http[role].cookies.jar)
        return {"Cookie": jar} if jar else {}

    def credentials(self, role: str, s: State) -> State:
        """The room's secrets as the role holds them ("" for one it was never given)."""
        held = HOLDS.get(role, set())
        return {
            "key": s.get("key", "") if "key" in held else "",
            "token": s.get(OLD_TOKEN.get(role, "presenter"), "") if "token" in held else "",
        }

    async def room_state(self, room_id: str) -> dict[str, Any]:
        """The room as its owner reads it."""
        r = await self.http["host"].get(f"/api/rooms/{room_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def question(self, s: State, name: str) -> dict[str, Any] | None:
        """The room's question ``name`` as its owner reads it (None once deleted)."""
        listed = (await self.room_state(s["room"]))["questions"]
        return next((q for q in listed if q["id"] == s[name]), None)

    async def poll(self, poll_id: str) -> httpx.Response:
        """The poll as anyone reads it."""
        return await self.http["anonymous"].get(f"/api/polls/{poll_id}")

    # --- what a case acts on ---------------------------------------------------------

    async def room(self, *questions: str, kind: str = "single") -> State:
        """A room of the host's, with the co-host in it (and the removed co-host out of it
        again) and a question in each state named (``q0``, ``q1``, ...)."""
        svc = self.svc
        info = await store.create_room(
            svc, title="Board meeting", password="pw", owner_id=self.ids["host"]
        )
        for role in ("cohost", "removed_cohost"):
            invitation = await cohosts.invite(svc, info.id, self.ids["host"])
            await cohosts.accept(svc, invitation.token, self.ids[role])
        await cohosts.remove(svc, info.id, self.ids["removed_cohost"])
        # The removal renewed the presenter token: the removed co-host holds the old one.
        renewed = await store.room_by_id(svc, info.id)
        assert renewed is not None and renewed["presenter"] != info.presenter
        s = {"room": info.id, "number": info.number, "key": info.key}
        s["presenter"], s["old_presenter"] = renewed["presenter"], info.presenter
        s["cohost"] = self.ids["cohost"]
        options = "" if kind in ("text", "survey") else "A,B,C"
        parts = [{"title": "Venue", "kind": "single", "options": ["Hall", "Library"]}]
        for n, status in enumerate(questions):
            spec = build_question(f"Q{n}", kind, options, parts=parts if kind == "survey" else None)
            q = await store.add_question(svc, info.id, spec)
            for action in _STEPS[status]:
                await store.act(svc, q.id, action)
            s[f"q{n}"] = q.id
        return s

    async def invitation(self) -> State:
        """A room, and an unused invitation to it."""
        s = await self.room()
        made = await cohosts.invite(self.svc, s["room"], self.ids["host"])
        return {**s, "invitation": made.token}

    async def draw(self, *, committed: bool = False, drawn: bool = False) -> State:
        """A room with a draw of two slots: a draft, committed, or with a slot drawn."""
        s = await self.room()
        d = await draws.create_draw(self.svc, s["room"], build_draw("Seats", ["A", "B"]))
        for step in ("commit", "draw")[: 2 if drawn else 1 if committed else 0]:
            r = await self.http["host"].post(f"/api/draws/{d.id}/{step}", json={})
            assert r.status_code == 200, r.text
        return {**s, "draw": d.id}

    async def draws(self) -> State:
        """A room with a draft draw and a committed one."""
        s = await self.draw()
        committed = await self.draw_in(s["room"])
        return {**s, "committed": committed}

    async def draw_in(self, room_id: str) -> str:
        d = await draws.create_draw(self.svc, room_id, build_draw("Prizes", ["A", "B"]))
        r = await self.http["host"].post(f"/api/draws/{d.id}/commit", json={})
        assert r.status_code == 200, r.text
        return d.id

    async def group(self, *, member: bool = False, second: bool = False) -> State:
        """A roster group of the host's (with ``MEMBER`` in it), and a ``second`` one."""
        host = self.ids["host"]
        made = await rosters.create_group(self.svc, host, f"Members {new_id()}")
        s = {"group": made.id, "name": made.name}
        if member:
            await rosters.add_number(self.svc, made.id, host, MEMBER, None)
        if second:
            s["to"] = (await rosters.create_group(self.svc, host, f"Others {new_id()}")).id
        return s

    async def upload(self) -> State:
        """A roster file the host uploaded, waiting for its check."""
        return {"upload": await imports.start(self.svc, self.ids["host"], "members.csv", ROSTER)}

    async def uploads(self) -> State:
        """How many roster uploads are kept."""
        pattern = self.svc.keys.roster_upload("*")
        return {"uploads": str(len([k async for k in self.svc.redis.scan_iter(match=pattern)]))}

    async def general_poll(self, *, hidden: bool = False) -> State:
        """A general poll of the citizen's (hidden by a monitor if ``hidden``)."""
        s = {"poll": await self._poll("citizen", "general")}
        if hidden:
            await reports.act(
                self.svc, Moderator("cli"), Target.POLL, s["poll"], Moderation.HIDE, "spam"
            )
        return s

    async def policy_poll(self, *, status: str = "scheduled") -> State:
        """A policy poll of the official's department, scheduled, open or closed."""
        poll_id = await self._poll("official", "policy_decision")
        if status in ("open", "closed"):
            await polls.open_poll(self.svc, poll_id)
        if status == "closed":
            await polls.close_poll(self.svc, poll_id)
        found = await polls.load_poll(self.svc, poll_id)
        assert found is not None
        return {"poll": poll_id, "room": found.room_id, "q0": found.question_ids[0]}

    async def _poll(self, author: str, kind: str) -> str:
        body = {
            "kind": kind,
            "title": "What shall the park's new café serve?",
            "area": "culture",
            "closes_ms": now_ms() + 3_600_000,
            "questions": [{"title": "Pick one", "options": "Tea,Coffee,Juice"}],
        }
        r = await self.http[author].post("/api/polls", json=body)
        assert r.status_code == 201, r.text
        poll_id: str = r.json()["poll"]["id"]
        return poll_id

    async def comment(self) -> State:
        """The citizen's comment on their general poll."""
        s = await self.general_poll()
        r = await self.http["citizen"].post(
            f"/api/polls/{s['poll']}/comments", json={"body": "Tea, surely."}
        )
        assert r.status_code == 201, r.text
        return {**s, "comment": r.json()["comment"]["id"]}


@contextlib.asynccontextmanager
async def populated(url: str, svc: Services) -> AsyncIterator[World]:
    """A browser for every role, signed in as it; a room whose links the attendee and the
    presenter opened."""
    async with contextlib.AsyncExitStack() as stack:
        http: dict[str, httpx.AsyncClient] = {}
        ids: dict[str, str] = {}
        for role in ("host", "cohost", "removed_cohost", "other_host"):
            host = await stack.enter_async_context(signed_in(url, f"{role}@authz.example.org"))
            http[role], ids[role] = host.http, host.id
        department = await officials.create_department(svc, "Welfare Policy Division")
        for role, login, kind in (
            ("official", "welfare.kim", officials.Role.OFFICIAL),
            ("admin", "admin.lee", officials.Role.ADMIN),
        ):
            made, once = await officials.create_official(
                svc, login, role=kind, department=department.name
            )
            http[role] = (await stack.enter_async_context(official(url, login, once))).http
            ids[role] = made.host_id
        for role, phone in (("citizen", "010-2345-6789"), ("monitor", "010-9876-5432")):
            await make_citizen(svc, phone)
            person = await stack.enter_async_context(citizen(url, phone))
            http[role], ids[role] = person.http, person.id
        await monitors.add_monitor(svc, by="cli", citizen_id=ids["monitor"])
        for role in ("attendee", "presenter", "anonymous"):
            http[role] = await stack.enter_async_context(httpx.AsyncClient(base_url=url))
        world = World(url, svc, http, ids)
        seen = await world.room("open")
        r = await http["attendee"].get(f"/j/{seen['number']}?key={seen['key']}")
        assert r.status_code == 200, r.text
        r = await http["presenter"].get(f"/present/{seen['number']}?token={seen['presenter']}")
        assert r.status_code == 200, r.text
        yield world
