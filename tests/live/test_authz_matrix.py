"""Who may do what: every role (``tests.live.roles``) against every host, poll, monitor
and administrator action, over HTTP and the socket, from one table (``ACTIONS``).

A row names the action, how it is asked (``"POST /api/..."`` or ``"SOCKET join"``, the
path and body filled from what the case made and what the role holds), what it acts on
(``given``), and for every role the outcome: ``OK`` (the action is done) or the refusal
(its status and code). ``effect`` then reads the state back as the one allowed to change
it: an allowed case finds the change made, a refused one finds nothing changed (and a
read that was refused leaks nothing). Each case makes its own room, poll or comment; the
signed-in people are the module's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from live import cohosts, comments, draws, media, store
from live.clock import new_id, now_ms
from live.engines import bundled, db
from live.moderation import words
from live.rosters import store as rosters
from live.services import Services, open_services
from live.settings import Settings, load_settings
from rooms.comments import Comment
from rooms.media import media_name
from tests.conftest import Client, connect, run_node
from tests.live.hosting import assert_error
from tests.live.roles import MEMBER, ROLES, ROSTER, State, World, populated

# --- outcomes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    def __repr__(self) -> str:
        return "OK"


@dataclass(frozen=True)
class Refused:
    status: int | None  #: the HTTP status; None for a socket's ack
    code: str | None  #: the error's code; None for a page, which has its status alone


Outcome = Allowed | Refused

OK = Allowed()
UNAUTHORIZED = Refused(401, "unauthorized")
FORBIDDEN = Refused(403, "forbidden")
NOT_OWNER = Refused(403, "not_owner")
NOT_FOUND = Refused(404, "not_found")
NOT_OFFICIAL = Refused(403, "not_official")
NOT_AUTHOR = Refused(403, "not_author")
NOT_MONITOR = Refused(403, "not_monitor")
BAD_CREDENTIALS = Refused(401, "bad_credentials")
WRONG_LINK = Refused(None, "bad_credentials")  #: a socket's join
TO_SIGN_IN = Refused(303, None)  #: a page sends whoever is signed out to sign in
REFUSED_PAGE = Refused(403, None)

#: Who has no account signed in; who has a host account; who a citizen's.
SIGNED_OUT = ("attendee", "presenter", "anonymous")
HOST_ACCOUNTS = ("host", "cohost", "removed_cohost", "other_host", "official", "admin")
#: The hosts of no part in a case's room.
STRANGERS = ("removed_cohost", "other_host", "official", "admin")
#: Who holds a room's presenter link: a co-host keeps what they read while hosting it.
TOKEN_HOLDERS = ("presenter", "host", "cohost")  # a removed co-host's token was renewed
CITIZENS = ("citizen", "monitor")


def by_role(**given: Outcome | tuple[Outcome, tuple[str, ...]]) -> dict[str, Outcome]:
    """Every role's outcome: ``role=outcome``, or ``name=(outcome, roles)`` for a group."""
    found: dict[str, Outcome] = {}
    for name, value in given.items():
        outcome, roles = value if isinstance(value, tuple) else (value, (name,))
        for role in roles:
            assert role not in found, f"{role} given twice"
            found[role] = outcome
    assert set(found) == set(ROLES), f"no outcome for {set(ROLES) - set(found)}"
    return found


def room_hosts(**more: Outcome) -> dict[str, Outcome]:
    """The room's owner and co-host may; another host is ``forbidden``; the rest are to
    sign in as a host first (``more``: a role's outcome otherwise)."""
    assert set(more) <= set(ROLES), set(more) - set(ROLES)
    return {
        **by_role(
            host=OK,
            cohost=OK,
            strangers=(FORBIDDEN, STRANGERS),
            rest=(UNAUTHORIZED, SIGNED_OUT + CITIZENS),
        ),
        **more,
    }


def owner_only() -> dict[str, Outcome]:
    return room_hosts(cohost=NOT_OWNER)


def any_host() -> dict[str, Outcome]:
    return by_role(hosts=(OK, HOST_ACCOUNTS), rest=(UNAUTHORIZED, SIGNED_OUT + CITIZENS))


def group_owner() -> dict[str, Outcome]:
    """A roster group is its host's alone: another host (a co-host too) finds none."""
    return by_role(
        host=OK,
        others=(NOT_FOUND, ("cohost", *STRANGERS)),
        rest=(UNAUTHORIZED, SIGNED_OUT + CITIZENS),
    )


def citizens_author() -> dict[str, Outcome]:
    """A citizen's poll or comment: its author may; another citizen (a monitor too) is not
    its author; a host account is no citizen."""
    return by_role(citizen=OK, monitor=NOT_AUTHOR, rest=(UNAUTHORIZED, SIGNED_OUT + HOST_ACCOUNTS))


def department() -> dict[str, Outcome]:
    """A policy poll: the department's official may; any other account is no official."""
    return by_role(
        official=OK,
        others=(
            NOT_OFFICIAL,
            ("host", "cohost", "removed_cohost", "other_host", "admin", *CITIZENS),
        ),
        rest=(UNAUTHORIZED, SIGNED_OUT),
    )


def moderators() -> dict[str, Outcome]:
    return by_role(
        monitor=OK,
        admin=OK,
        others=(
            NOT_MONITOR,
            ("host", "cohost", "removed_cohost", "other_host", "official", "citizen"),
        ),
        rest=(UNAUTHORIZED, SIGNED_OUT),
    )


def page_of(*allowed: str) -> dict[str, Outcome]:
    """A page: for ``allowed``; refused to other accounts of its kind; the signed-out
    (and, for a host's page, citizens) are sent to sign in."""
    outcomes: dict[str, Outcome] = {role: OK for role in allowed}
    signed_in = HOST_ACCOUNTS if allowed[0] in HOST_ACCOUNTS else HOST_ACCOUNTS + CITIZENS
    for role in ROLES:
        if role not in outcomes:
            outcomes[role] = REFUSED_PAGE if role in signed_in else TO_SIGN_IN
    return outcomes


def joined_with(*holders: str) -> dict[str, Outcome]:
    """A socket's join: for the roles holding the credential."""
    return {role: OK if role in holders else WRONG_LINK for role in ROLES}


# --- a case, and what it reads back ----------------------------------------------------


@dataclass
class Reply:
    status: int | None  #: None for a socket's ack
    body: Any  #: the JSON body or the ack; None for a page or a file
    text: str
    headers: httpx.Headers
    client: Client | None = None  #: the socket, still connected
    response: httpx.Response | None = None


@dataclass
class Case:
    world: World
    role: str
    state: State
    reply: Reply
    done: bool  #: whether the role was allowed

    @property
    def svc(self) -> Services:
        return self.world.svc

    async def question(self, name: str = "q0") -> dict[str, Any] | None:
        return await self.world.question(self.state, name)

    async def status(self, name: str = "q0") -> str:
        q = await self.question(name)
        assert q is not None
        status: str = q["status"]
        return status

    async def room(self) -> dict[str, Any]:
        found: dict[str, Any] = (await self.world.room_state(self.state["room"]))["room"]
        return found

    async def draw(self) -> draws.LiveDraw:
        d = await draws.load_draw(self.svc, self.state["draw"])
        assert d is not None
        return d

    async def count(self, column: sa.Column[Any], value: str) -> int:
        async with self.svc.engine.connect() as conn:
            found = await conn.scalar(
                sa.select(sa.func.count()).select_from(column.table).where(column == value)
            )
        return int(found or 0)


Given = Callable[[World], Awaitable[State]]
Effect = Callable[[Case], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    action: str
    ask: str  #: "METHOD /path" or "SOCKET event", filled from the case's state
    given: Given
    effect: Effect
    expect: dict[str, Outcome]
    #: A JSON template; or a callable of the state giving the JSON, or a file's bytes.
    body: Any = None
    kind: str = "image/png"  #: the content type of a file's bytes


async def _nothing(w: World) -> State:
    return {}


async def _nonce(w: World) -> State:
    return {"nonce": f"authz{new_id()}"}


def _image(nonce: str) -> bytes:
    """A small PNG of its own colour: its stored name is the hash of its bytes."""
    digest = hashlib.sha256(nonce.encode()).digest()
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (digest[0], digest[1], digest[2])).save(buf, format="PNG")
    return buf.getvalue()


# Effects. Each states what the one allowed changes, and that a refusal left it as it was.


async def _read(c: Case, secret: str) -> None:
    """A read: the allowed see ``secret``; a refusal does not hold it."""
    assert (secret in c.reply.text) is c.done


def _reads(field: str) -> Effect:
    async def effect(c: Case) -> None:
        await _read(c, c.state[field])

    return effect


def _reads_text(text: str) -> Effect:
    async def effect(c: Case) -> None:
        await _read(c, text)

    return effect


def _serves(kind: str) -> Effect:
    """A file: served as ``kind`` to the allowed; a refusal is a JSON error, no file."""

    async def effect(c: Case) -> None:
        assert c.reply.headers["content-type"].startswith(kind) is c.done

    return effect


def _becomes(name: str, done: str, before: str) -> Effect:
    """The question ``name``'s status: ``done`` once allowed, else still ``before``."""

    async def effect(c: Case) -> None:
        assert await c.status(name) == (done if c.done else before)

    return effect


def _revealed(done: bool, before: bool) -> Effect:
    async def effect(c: Case) -> None:
        q = await c.question()
        assert q is not None and q["revealed"] is (done if c.done else before)

    return effect


def _current(done: str | None, before: str | None) -> Effect:
    async def effect(c: Case) -> None:
        wanted = done if c.done else before
        assert (await c.room())["current"] == (c.state[wanted] if wanted else None)

    return effect


async def _room_made(c: Case) -> None:
    assert await c.count(db.rooms.c.title, c.state["nonce"]) == int(c.done)


async def _question_added(c: Case) -> None:
    listed = (await c.world.room_state(c.state["room"]))["questions"]
    assert [q["title"] for q in listed] == (["Added"] if c.done else [])


async def _question_edited(c: Case) -> None:
    q = await c.question()
    assert q is not None and q["title"] == ("Edited" if c.done else "Q0")


async def _question_deleted(c: Case) -> None:
    assert (await c.question() is None) is c.done


async def _answer_hidden(c: Case) -> None:
    q = await c.question()
    assert q is not None and q["hidden"] == (["spam"] if c.done else [])


async def _reordered(c: Case) -> None:
    listed = (await c.world.room_state(c.state["room"]))["questions"]
    names = ["q1", "q0"] if c.done else ["q0", "q1"]
    assert [q["id"] for q in listed] == [c.state[n] for n in names]


async def _invited(c: Case) -> None:
    # The co-hosts' own invitations, used, and one more if allowed.
    assert await c.count(db.invitations.c.room_id, c.state["room"]) == 2 + int(c.done)


async def _cohost_removed(c: Case) -> None:
    role = await cohosts.role_of(c.svc, c.state["room"], c.world.ids["cohost"])
    assert (role is None) is c.done


async def _invitation_used(c: Case) -> None:
    """A host of no part in the room joins by the link; a host of it leaves it unused."""
    i = db.invitations
    async with c.svc.engine.connect() as conn:
        used = await conn.scalar(
            sa.select(i.c.accepted_by).where(i.c.token == c.state["invitation"])
        )
    joins = c.done and c.role not in ("host", "cohost")
    assert used == (c.world.ids[c.role] if joins else None)
    if joins:
        role = await cohosts.role_of(c.svc, c.state["room"], c.world.ids[c.role])
        assert role == "cohost"


async def _draw_made(c: Case) -> None:
    assert len(await draws.room_draws(c.svc, c.state["room"])) == int(c.done)


async def _draw_edited(c: Case) -> None:
    d = await c.draw()
    assert (d.spec.title, len(d.spec.slots)) == (("Renamed", 3) if c.done else ("Seats", 2))


def _draw_state(done: str, before: str) -> Effect:
    async def effect(c: Case) -> None:
        assert str((await c.draw()).state) == (done if c.done else before)

    return effect


async def _slot_drawn(c: Case) -> None:
    assert len((await c.draw()).picks) == int(c.done)


async def _draws_listed(c: Case) -> None:
    """The room's hosts see its draft too; the presenter link, the committed draw only."""
    if not c.done:
        assert c.state["committed"] not in c.reply.text
        return
    listed = [d["id"] for d in c.reply.body["draws"]]
    hosting = c.role in ("host", "cohost")
    shown = ["draw", "committed"] if hosting else ["committed"]
    assert sorted(listed) == sorted(c.state[n] for n in shown)


async def _site_required(c: Case) -> None:
    assert (await c.room())["site"] is c.done


async def _site_code_shown(c: Case) -> None:
    assert isinstance(c.reply.body.get("code"), str) is c.done


async def _image_stored(c: Case) -> None:
    name = media_name(hashlib.sha256(_image(c.state["nonce"])).hexdigest(), "png")
    assert (media.file_of(c.svc.settings, name) is not None) is c.done


async def _group_made(c: Case) -> None:
    assert await c.count(db.roster_groups.c.name, c.state["nonce"]) == int(c.done)


async def _group(c: Case) -> rosters.Group | None:
    try:
        return await rosters.group_for(c.svc, c.state["group"], c.world.ids["host"])
    except Exception:
        return None


async def _group_renamed(c: Case) -> None:
    group = await _group(c)
    assert group is not None and (group.name == "Renamed") is c.done


async def _group_deleted(c: Case) -> None:
    assert (await _group(c) is None) is c.done


async def _member_added(c: Case) -> None:
    group = await _group(c)
    assert group is not None and group.size == int(c.done)


async def _sizes(c: Case) -> tuple[int, ...]:
    host = c.world.ids["host"]
    found = [await rosters.group_for(c.svc, c.state[n], host) for n in ("group", "to")]
    return tuple(g.size for g in found)


async def _member_removed(c: Case) -> None:
    group = await _group(c)
    assert group is not None and group.size == 1 - int(c.done)


async def _member_moved(c: Case) -> None:
    assert await _sizes(c) == ((0, 1) if c.done else (1, 0))


async def _upload_kept(c: Case) -> None:
    assert int((await c.world.uploads())["uploads"]) == int(c.state["uploads"]) + int(c.done)


async def _poll_made(c: Case) -> None:
    assert await c.count(db.polls.c.title, c.state["nonce"]) == int(c.done)


async def _poll_renamed(c: Case) -> None:
    r = await c.world.poll(c.state["poll"])
    assert (r.json()["poll"]["title"] == "Renamed") is c.done


async def _reflected(c: Case) -> None:
    r = await c.world.poll(c.state["poll"])
    assert (r.json()["poll"]["reflection"] is not None) is c.done


async def _poll_question_closed(c: Case) -> None:
    q = await store.load_question(c.svc, c.state["q0"])
    assert q is not None and str(q.status) == ("closed" if c.done else "open")


def _poll_read_as(done: int, before: int) -> Effect:
    """The poll's status code as anyone reads it (hidden: 410, deleted: 404)."""

    async def effect(c: Case) -> None:
        assert (await c.world.poll(c.state["poll"])).status_code == (done if c.done else before)

    return effect


async def _comment_hidden(c: Case) -> None:
    found = await comments.load_comment(c.svc, c.state["comment"], viewer=None)
    assert found is not None and str(found.status) == ("hidden" if c.done else "visible")


async def _comment(c: Case) -> Comment:
    found = await comments.load_comment(c.svc, c.state["comment"], viewer=None)
    assert found is not None
    return found


async def _comment_edited(c: Case) -> None:
    assert (await _comment(c)).body == ("Coffee, then." if c.done else "Tea, surely.")


async def _comment_deleted(c: Case) -> None:
    assert str((await _comment(c)).status) == ("deleted" if c.done else "visible")


async def _word_listed(c: Case, listed_if_done: bool) -> None:
    listed = [w.word for w in await words.listed(c.svc)]
    assert (c.state["nonce"] in listed) is (c.done is listed_if_done)


async def _word_added(c: Case) -> None:
    await _word_listed(c, True)


async def _word_removed(c: Case) -> None:
    await _word_listed(c, False)


async def _listed_word(w: World) -> State:
    s = await _nonce(w)
    await words.add(w.svc, [s["nonce"]], by="cli")
    return s


def _page_shows(text: str) -> Effect:
    """A page: the allowed see ``text``; the signed-out are sent to sign in."""

    async def effect(c: Case) -> None:
        assert (text in c.reply.text) is c.done
        if c.reply.status == 303:
            assert c.reply.headers["location"].startswith("/host/signin?next=/")

    return effect


def _page_reads(field: str) -> Effect:
    """A host's page of the room: its presenter link for the room's hosts alone."""

    async def effect(c: Case) -> None:
        await _page_shows(c.state[field])(c)

    return effect


async def _presenter_keys(c: Case) -> None:
    """The presenter screen, for whoever holds its link; the keys that drive the agenda
    only where the browser is signed in as a host of the room."""
    assert (f'"presenter": "{c.state["presenter"]}"' in c.reply.text) is c.done
    assert (f'"control": {{"room": "{c.state["room"]}"}}' in c.reply.text) is (
        c.done and c.role in ("host", "cohost")
    )


def _joined(role: str, shown: tuple[str, ...]) -> Effect:
    """A join: its ack's role and the questions it lists (a draft to the hosts alone); a
    refused connection is in no room (its vote is ``not_joined``)."""

    async def effect(c: Case) -> None:
        client = c.reply.client
        assert client is not None
        if c.done:
            ack = c.reply.body
            assert ack["role"] == role and ack["room"]["id"] == c.state["room"]
            assert [q["id"] for q in ack["questions"]] == [c.state[n] for n in shown]
        else:
            vote = await client.vote(c.state["q0"], [0])
            assert vote["ok"] is False and vote["error"]["code"] == "not_joined"

    return effect


async def _subscribed(c: Case) -> None:
    """A citizen's socket hears of new polls for them: the ack says how many are unread."""
    assert isinstance(c.reply.body.get("unread"), int) is c.done


async def _site_room(w: World) -> State:
    s = await w.room()
    await store.set_room_rule(w.svc, s["room"], {"s": 1})
    return s


def _poll_body(kind: str) -> Callable[[State], dict[str, Any]]:
    def body(s: State) -> dict[str, Any]:
        return {
            "kind": kind,
            "title": s["nonce"],
            "area": "culture",
            "closes_ms": now_ms() + 3_600_000,
            "questions": [{"title": "Pick one", "options": "Tea,Coffee"}],
        }

    return body


def _moderation(kind: str, target: str, action: str) -> dict[str, Any]:
    return {"kind": kind, "id": "{" + target + "}", "action": action, "reason": "spam"}


# --- the table -------------------------------------------------------------------------

ACTIONS = [
    # rooms and questions (``live/web/api.py``)
    Row("create_room", "POST /api/rooms", _nonce, _room_made, any_host(), {"title": "{nonce}"}),
    Row(
        "read_room", "GET /api/rooms/{room}", lambda w: w.room("draft"), _reads("key"), room_hosts()
    ),
    Row(
        "add_question",
        "POST /api/rooms/{room}/questions",
        lambda w: w.room(),
        _question_added,
        room_hosts(),
        {"title": "Added", "options": "A,B"},
    ),
    Row(
        "edit_question",
        "PATCH /api/questions/{q0}",
        lambda w: w.room("draft"),
        _question_edited,
        room_hosts(),
        {"title": "Edited"},
    ),
    Row(
        "delete_question",
        "DELETE /api/questions/{q0}",
        lambda w: w.room("draft"),
        _question_deleted,
        room_hosts(),
    ),
    Row(
        "open_question",
        "POST /api/questions/{q0}/open",
        lambda w: w.room("draft"),
        _becomes("q0", "open", "draft"),
        room_hosts(),
    ),
    Row(
        "close_question",
        "POST /api/questions/{q0}/close",
        lambda w: w.room("open"),
        _becomes("q0", "closed", "open"),
        room_hosts(),
    ),
    Row(
        "reveal_results",
        "POST /api/questions/{q0}/reveal",
        lambda w: w.room("open"),
        _revealed(True, False),
        room_hosts(),
    ),
    Row(
        "hide_results",
        "POST /api/questions/{q0}/hide",
        lambda w: w.room("revealed"),
        _revealed(False, True),
        room_hosts(),
    ),
    Row(
        "reset_question",
        "POST /api/questions/{q0}/reset",
        lambda w: w.room("closed"),
        _becomes("q0", "draft", "closed"),
        room_hosts(),
    ),
    Row(
        "hide_answers",
        "POST /api/questions/{q0}/answers",
        lambda w: w.room("open", kind="text"),
        _answer_hidden,
        room_hosts(),
        {"answers": ["spam"], "hidden": True},
    ),
    Row(
        "next_question",
        "POST /api/rooms/{room}/next",
        lambda w: w.room("draft"),
        _current("q0", None),
        room_hosts(),
    ),
    Row(
        "previous_question",
        "POST /api/rooms/{room}/previous",
        lambda w: w.room("closed", "open"),
        _current("q0", "q1"),
        room_hosts(),
    ),
    Row(
        "current_question",
        "POST /api/rooms/{room}/current",
        lambda w: w.room("open", "draft"),
        _current("q1", "q0"),
        room_hosts(),
        {"question": "{q1}"},
    ),
    Row(
        "reorder",
        "POST /api/rooms/{room}/order",
        lambda w: w.room("draft", "draft"),
        _reordered,
        room_hosts(),
        {"questions": ["{q1}", "{q0}"]},
    ),
    Row(
        "export_question",
        "GET /api/questions/{q0}/export.csv",
        lambda w: w.room("closed"),
        _serves("text/csv"),
        room_hosts(),
    ),
    Row(
        "export_survey_ballots",
        "GET /api/questions/{q0}/ballots.csv",
        lambda w: w.room("closed", kind="survey"),
        _serves("text/csv"),
        room_hosts(),
    ),
    Row(
        "export_room",
        "GET /api/rooms/{room}/export.xlsx",
        lambda w: w.room("closed"),
        _serves("application/vnd.openxmlformats"),
        room_hosts(),
    ),
    Row(
        "room_summary",
        "GET /api/rooms/{room}/summary",
        lambda w: w.room("closed"),
        _reads_text("Board meeting"),
        room_hosts(),
    ),
    Row(
        "list_hosts",
        "GET /api/rooms/{room}/hosts",
        lambda w: w.room(),
        _reads_text("cohost@authz.example.org"),
        room_hosts(),
    ),
    Row(
        "invite_cohost",
        "POST /api/rooms/{room}/invitations",
        lambda w: w.room(),
        _invited,
        owner_only(),
    ),
    Row(
        "remove_cohost",
        "DELETE /api/rooms/{room}/hosts/{cohost}",
        lambda w: w.room(),
        _cohost_removed,
        owner_only(),
    ),
    Row(
        "accept_invitation",
        "POST /api/invitations/{invitation}/accept",
        lambda w: w.invitation(),
        _invitation_used,
        any_host(),
    ),
    Row(
        "console_page",
        "GET /host/rooms/{room}",
        lambda w: w.room(),
        _page_reads("presenter"),
        page_of("host", "cohost"),
    ),
    Row(
        "summary_page",
        "GET /host/rooms/{room}/summary",
        lambda w: w.room("closed"),
        _page_shows("Board meeting"),
        page_of("host", "cohost"),
    ),
    Row(
        "presenter_page",
        "GET /present/{number}?token={token}",
        lambda w: w.room(),
        _presenter_keys,
        {role: OK if role in TOKEN_HOLDERS else Refused(404, None) for role in ROLES},
    ),
    # lot drawings (``live/web/draws.py``)
    Row(
        "create_draw",
        "POST /api/rooms/{room}/draws",
        lambda w: w.room(),
        _draw_made,
        room_hosts(),
        {"title": "Seats", "slots": ["A", "B"]},
    ),
    Row(
        "edit_draw",
        "PATCH /api/draws/{draw}",
        lambda w: w.draw(),
        _draw_edited,
        room_hosts(),
        {"title": "Renamed", "slots": ["A", "B", "C"]},
    ),
    Row(
        "commit_draw",
        "POST /api/draws/{draw}/commit",
        lambda w: w.draw(),
        _draw_state("committed", "draft"),
        room_hosts(),
        {},
    ),
    Row(
        "draw_slot",
        "POST /api/draws/{draw}/draw",
        lambda w: w.draw(committed=True),
        _slot_drawn,
        room_hosts(),
        {},
    ),
    Row(
        "reveal_draw",
        "POST /api/draws/{draw}/reveal",
        lambda w: w.draw(drawn=True),
        _draw_state("revealed", "committed"),
        room_hosts(),
        {},
    ),
    Row(
        "list_draws",
        "GET /api/draws?room={number}&presenter={token}",
        lambda w: w.draws(),
        _draws_listed,
        room_hosts(
            presenter=OK,
            attendee=BAD_CREDENTIALS,
            anonymous=BAD_CREDENTIALS,
            citizen=BAD_CREDENTIALS,
            monitor=BAD_CREDENTIALS,
        ),
    ),
    # the on-site code (``live/web/sitecodes.py``)
    Row(
        "require_site_code",
        "POST /api/rooms/{room}/site",
        lambda w: w.room(),
        _site_required,
        room_hosts(),
        {"required": True},
    ),
    Row(
        "read_site_code",
        "GET /api/present/{number}/site?token={token}",
        _site_room,
        _site_code_shown,
        by_role(
            holders=(OK, TOKEN_HOLDERS),
            others=(
                NOT_FOUND,
                ("attendee", "removed_cohost", "other_host", "anonymous", "official", "admin"),
            ),
            citizens=(NOT_FOUND, CITIZENS),
        ),
    ),
    # images (``live/web/api.py``)
    Row(
        "upload_image",
        "POST /api/media",
        _nonce,
        _image_stored,
        any_host(),
        lambda s: _image(s["nonce"]),
    ),
    # rosters (``live/web/rosters.py``)
    Row("create_roster", "POST /api/rosters", _nonce, _group_made, any_host(), {"name": "{nonce}"}),
    Row(
        "read_roster",
        "GET /api/rosters/{group}",
        lambda w: w.group(),
        _reads("name"),
        group_owner(),
    ),
    Row(
        "rename_roster",
        "PATCH /api/rosters/{group}",
        lambda w: w.group(),
        _group_renamed,
        group_owner(),
        {"name": "Renamed"},
    ),
    Row(
        "delete_roster",
        "DELETE /api/rosters/{group}",
        lambda w: w.group(),
        _group_deleted,
        group_owner(),
    ),
    Row(
        "add_roster_member",
        "POST /api/rosters/{group}/members",
        lambda w: w.group(),
        _member_added,
        group_owner(),
        {"phone": "010-5555-0101"},
    ),
    Row(
        "remove_roster_member",
        "POST /api/rosters/{group}/members/remove",
        lambda w: w.group(member=True),
        _member_removed,
        group_owner(),
        {"phone": MEMBER},
    ),
    Row(
        "move_roster_member",
        "POST /api/rosters/{group}/members/move",
        lambda w: w.group(member=True, second=True),
        _member_moved,
        group_owner(),
        {"phone": MEMBER, "to": "{to}"},
    ),
    Row(
        "upload_roster",
        "POST /api/rosters/uploads?name=members.csv",
        lambda w: w.uploads(),
        _upload_kept,
        any_host(),
        lambda s: ROSTER,
        kind="text/csv",
    ),
    Row(
        "read_roster_upload",
        "GET /api/rosters/uploads/{upload}",
        lambda w: w.upload(),
        _reads_text('"state"'),
        group_owner(),
    ),
    # citywide polls (``live/web/polls.py``)
    Row(
        "open_general_poll",
        "POST /api/polls",
        _nonce,
        _poll_made,
        by_role(citizens=(OK, CITIZENS), rest=(UNAUTHORIZED, SIGNED_OUT + HOST_ACCOUNTS)),
        _poll_body("general"),
    ),
    Row(
        "open_policy_poll",
        "POST /api/polls",
        _nonce,
        _poll_made,
        department(),
        _poll_body("policy_decision"),
    ),
    Row(
        "edit_general_poll",
        "PATCH /api/polls/{poll}",
        lambda w: w.general_poll(),
        _poll_renamed,
        citizens_author(),
        {"title": "Renamed"},
    ),
    Row(
        "edit_policy_poll",
        "PATCH /api/polls/{poll}",
        lambda w: w.policy_poll(),
        _poll_renamed,
        department(),
        {"title": "Renamed"},
    ),
    Row(
        "publish_reflection",
        "POST /api/polls/{poll}/reflection",
        lambda w: w.policy_poll(status="closed"),
        _reflected,
        department(),
        {"text": "Adopted for every school.", "date": "2027-03-02"},
    ),
    Row(
        "close_poll_question",
        "POST /api/questions/{q0}/close",
        lambda w: w.policy_poll(status="open"),
        _poll_question_closed,
        # A policy poll's room is its author's: the official owns it as a host.
        room_hosts(host=FORBIDDEN, cohost=FORBIDDEN, official=OK),
    ),
    # comments (``live/web/comments.py``): their author's; monitors act through the queue
    Row(
        "edit_comment",
        "PATCH /api/comments/{comment}",
        lambda w: w.comment(),
        _comment_edited,
        citizens_author(),
        {"body": "Coffee, then."},
    ),
    Row(
        "delete_comment",
        "DELETE /api/comments/{comment}",
        lambda w: w.comment(),
        _comment_deleted,
        citizens_author(),
    ),
    # monitors (``live/web/moderation.py``, ``live/web/words.py``)
    Row(
        "moderation_queue",
        "GET /api/moderation/queue",
        _nothing,
        _reads_text('"queue"'),
        moderators(),
    ),
    Row(
        "hide_poll",
        "POST /api/moderation/actions",
        lambda w: w.general_poll(),
        _poll_read_as(410, 200),
        moderators(),
        _moderation("poll", "poll", "hide"),
    ),
    Row(
        "restore_poll",
        "POST /api/moderation/actions",
        lambda w: w.general_poll(hidden=True),
        _poll_read_as(200, 410),
        moderators(),
        _moderation("poll", "poll", "restore"),
    ),
    Row(
        "delete_poll",
        "POST /api/moderation/actions",
        lambda w: w.general_poll(),
        _poll_read_as(404, 200),
        moderators(),
        _moderation("poll", "poll", "delete"),
    ),
    Row(
        "hide_comment",
        "POST /api/moderation/actions",
        lambda w: w.comment(),
        _comment_hidden,
        moderators(),
        _moderation("comment", "comment", "hide"),
    ),
    Row("list_words", "GET /api/moderation/words", _nothing, _reads_text('"words"'), moderators()),
    Row(
        "add_word",
        "POST /api/moderation/words",
        _nonce,
        _word_added,
        moderators(),
        {"word": "{nonce}"},
    ),
    Row(
        "remove_word",
        "DELETE /api/moderation/words",
        _listed_word,
        _word_removed,
        moderators(),
        {"word": "{nonce}"},
    ),
    Row(
        "moderation_log",
        "GET /api/moderation/log",
        _nothing,
        _reads_text('"entries"'),
        moderators(),
    ),
    Row(
        "moderation_log_csv",
        "GET /api/moderation/log.csv",
        _nothing,
        _reads_text("seq,time_utc,actor"),
        moderators(),
    ),
    # pages of the city's staff (``live/web/console.py``, ``polls.py``, ``moderation.py``)
    Row(
        "directory_page",
        "GET /host/directory",
        _nothing,
        _page_shows("welfare.kim"),
        page_of("admin"),
    ),
    Row(
        "department_page",
        "GET /host/polls",
        _nothing,
        _page_shows("Welfare Policy Division"),
        page_of("official"),
    ),
    Row(
        "monitor_page",
        "GET /monitor",
        _nothing,
        _page_shows('id="monitor-data"'),
        page_of("monitor", "admin"),
    ),
    # the socket (``live/sockets.py``): the presenter token is the hosts' view of the room
    Row(
        "join_as_presenter",
        "SOCKET join",
        lambda w: w.room("open", "draft"),
        _joined("host", ("q0", "q1")),
        joined_with(*TOKEN_HOLDERS),
        {"room": "{number}", "presenter": "{token}"},
    ),
    Row(
        "join_with_key",
        "SOCKET join",
        lambda w: w.room("open", "draft"),
        _joined("attendee", ("q0",)),
        joined_with("attendee", "removed_cohost", *TOKEN_HOLDERS),  # the join link stays
        {"room": "{number}", "key": "{key}"},
    ),
    Row(
        "subscribe_notices",
        "SOCKET notices",
        _nothing,
        _subscribed,
        by_role(
            citizens=(OK, CITIZENS),
            rest=(Refused(None, "unauthorized"), SIGNED_OUT + HOST_ACCOUNTS),
        ),
    ),
]


def _cases() -> Iterator[Any]:
    for row, role in itertools.product(ACTIONS, ROLES):
        yield pytest.param(row, role, id=f"{row.action}-{role}")


def test_every_row_gives_every_role_an_outcome_and_names_an_action_once() -> None:
    assert len({row.action for row in ACTIONS}) == len(ACTIONS)
    for row in ACTIONS:
        assert set(row.expect) == set(ROLES), row.action
        assert any(o is OK for o in row.expect.values()), row.action
        assert any(isinstance(o, Refused) for o in row.expect.values()), row.action


# --- the module's node and people ----------------------------------------------------

_prefixes = itertools.count()


@pytest.fixture(scope="module")
def matrix_settings(
    valkey: bundled.EmbeddedValkey, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The module's own data and key prefix; limits meant for one person's day raised, as
    the module's people make hundreds of rooms, polls and images from one address."""
    data: Path = tmp_path_factory.mktemp("authz")
    return load_settings(
        {},
        MVOTING_DATA=str(data / "data"),
        REDIS_URL=valkey.url,
        MVOTING_SECRET="test-secret",
        MVOTING_KEY_PREFIX=f"authz{next(_prefixes)}-{data.name}:",
        MVOTING_REDIS_POOL="64",
        MVOTING_SIGNUP_ADDRESS_LIMIT="100",
        MVOTING_POLLS_PER_DAY="10000",
        MVOTING_MEDIA_UPLOADS_PER_HOUR="10000",
    )


@pytest.fixture(scope="module")
async def world(matrix_settings: Settings) -> AsyncIterator[World]:
    async with (
        open_services(matrix_settings) as svc,
        run_node(matrix_settings) as node,
        populated(node.url, svc) as found,
    ):
        yield found


def _filled(template: Any, values: State) -> Any:
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, list):
        return [_filled(v, values) for v in template]
    if isinstance(template, dict):
        return {k: _filled(v, values) for k, v in template.items()}
    return template


@contextlib.asynccontextmanager
async def asked(w: World, row: Row, role: str, s: State) -> AsyncIterator[Reply]:
    """The role asks for the row's action, as its browser or socket would."""
    values = {**s, **w.credentials(role, s)}
    verb, target = row.ask.split(" ", 1)
    target = target.format_map(values)
    if verb == "SOCKET":
        async with connect(w.url, headers=w.cookies(role)) as client:
            ack = await client.call(target, _filled(row.body, values))
            yield Reply(None, ack, str(ack), httpx.Headers(), client)
        return
    http = w.http[role]
    body = row.body(s) if callable(row.body) else _filled(row.body, values)
    if isinstance(body, bytes):
        r = await http.request(verb, target, content=body, headers={"content-type": row.kind})
    elif body is None:
        r = await http.request(verb, target)
    else:
        r = await http.request(verb, target, json=body)
    is_json = r.headers.get("content-type", "").startswith("application/json")
    yield Reply(r.status_code, r.json() if is_json else None, r.text, r.headers, response=r)


def _check(reply: Reply, outcome: Outcome) -> None:
    if isinstance(outcome, Allowed):
        if reply.status is None:
            assert reply.body["ok"] is True, reply.body
        else:
            assert 200 <= reply.status < 300, reply.text
        return
    if outcome.status is None:  # a socket's ack
        assert reply.body["ok"] is False and reply.body["error"]["code"] == outcome.code
        assert reply.body["error"]["message"]
    elif outcome.code is None:  # a page
        assert reply.status == outcome.status, reply.text[:300]
    else:
        assert reply.response is not None
        assert_error(reply.response, outcome.status, outcome.code)


@pytest.mark.parametrize(("row", "role"), list(_cases()))
async def test_matrix(world: World, row: Row, role: str) -> None:
    state = await row.given(world)
    outcome = row.expect[role]
    async with asked(world, row, role, state) as reply:
        _check(reply, outcome)
        await row.effect(Case(world, role, state, reply, done=outcome is OK))
