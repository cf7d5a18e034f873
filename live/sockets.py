"""The live protocol over python-socketio: ``join``, ``vote`` in; ``tally``, ``question`` out.

Who gets what on this node:
- the Socket.IO room ``r:<room id>`` holds every connection that joined the room
  (``question`` and ``order`` events go there by python-socketio's emit);
- ``live.wire.delivery.Watchers`` holds, per question, the connections that may see its tally
  now; membership follows ``rooms.visibility``: recomputed on join, after a vote, and
  whenever a question changes state. A tally is encoded once and written to each
  watcher's socket as a ready frame (``live.wire.frames``);
- a second ``Watchers``, ``pages``, holds per poll's room the connections that joined the
  poll's page (from the join until they leave the room or disconnect): a ``comment`` is
  encoded once and written to each of them the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from http.cookies import SimpleCookie
from typing import Any

import orjson

from live.audience import Audience
from live.broadcaster import Broadcaster
from live.cast import CastBatcher, ScriptBatcher, do_cast, network_ref
from live.clock import new_id, now_ms
from live.eligibility import voter_facts
from live.errors import error_body
from live.joins import admit, answer_delay
from live.limits import answer_no_sooner, client_address
from live.logs import per_connection
from live.metrics import (
    BALLOTS,
    COMMENT_DELIVERIES,
    CONNECTED,
    JOINS,
    TALLY_DELIVERIES,
    TALLY_DELIVERY_SECONDS,
    Outcomes,
)
from live.notify.channel import NoticeChannel
from live.roomcache import RoomCache, RoomView
from live.services import Services
from live.sessions import CITIZENS, COOKIE, HOSTS, account_and_facts, account_of, read_cookie
from live.store import (
    LiveQuestion,
    load_question,
    load_questions,
    tallies,
)
from live.wire.delivery import Watchers
from live.wire.frames import FrameWriter, event_frame
from live.wire.pacing import Pacing
from live.wire.transport import LiveServer
from rooms.eligibility import Facts, needs_account
from rooms.errors import N_, ErrorCode, VotingError, bad_request, not_found
from rooms.identity import (
    citizen_identity,
    official_identity,
    sign_device,
    verify_device,
    voter_ref,
)
from rooms.protocol import JoinRequest, parse_join, parse_vote
from rooms.questions import QuestionSpec, Status, check_ballot
from rooms.sitecode import check_code, check_pass, site_key, site_pass
from rooms.visibility import Viewer, may_see_question, may_see_tally

log = logging.getLogger("mvoting.sockets")

DEVICE_COOKIE = "mv_device"
#: A tally held for the attendees (``live.wire.pacing``) goes out once no newer one came
#: for this many broadcast intervals: while ballots arrive one comes every interval.
SETTLE_INTERVALS = 1.5
_CACHE_LIMIT = 10_000


class _OrjsonJson:
    """The ``json`` module python-socketio encodes packets with, backed by orjson."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(s: str | bytes, **_: Any) -> Any:
        return orjson.loads(s)


@dataclass(eq=False)
class Conn:
    sid: str
    device: str
    writer: FrameWriter | None = None
    address: str = "unknown"  #: the client's network (``live.limits.client_address``)
    network: str = ""  #: the keyed reference of ``address`` its ballots count under
    transport: str = "polling"  #: what it connected over: "websocket" or "polling"
    refusals: int = 0  #: refused joins so far: each is answered later than the one before
    room_id: str | None = None
    viewer: Viewer = Viewer.ATTENDEE
    voted: set[str] = field(default_factory=set)
    watching: set[str] = field(default_factory=set)
    #: the gettext of the connection's language, for the sentences of refusals
    translate: Callable[[str], str] | None = None
    #: its session cookie's value, read only when it joins a poll (who is signed in)
    session_cookie: str | None = None
    #: who its ballots count as: the device in a room, the citizen in a poll (``None``:
    #: following a poll without signing in)
    voter: str | None = None
    #: what the cast script checks a targeted question's rule against (``Facts``)
    facts: Facts = Facts()
    facts_arg: str = ""  #: ``facts`` as the script reads them, made once per join

    @property
    def first(self) -> bool:
        return self.viewer is Viewer.HOST

    def write(self, frame: bytes) -> bool:
        return self.writer is not None and self.writer.write(frame)


@dataclass(frozen=True)
class _Known:
    room_id: str
    spec: QuestionSpec


class LiveSockets:
    """Socket handlers and delivery for one web node."""

    def __init__(
        self, localize: Callable[[dict[str, Any]], Callable[[str], str]] | None = None
    ) -> None:
        self._localize = localize
        self.sio = LiveServer(
            async_mode="asgi",
            async_handlers=False,
            json=_OrjsonJson,
            ping_interval=25,
            ping_timeout=20,
            max_http_buffer_size=64 * 1024,
        )
        self.svc: Services | None = None
        self.broadcaster: Broadcaster | None = None
        self.batcher: CastBatcher | None = None
        self.limits: ScriptBatcher | None = None  # the joins' checks (``live.limits``)
        self.rooms: RoomCache | None = None
        self.audience: Audience | None = None
        self.conns: dict[str, Conn] = {}
        self.members: defaultdict[str, set[str]] = defaultdict(set)  # room id -> sids
        self.hosts: defaultdict[str, set[str]] = defaultdict(set)  # room id -> hosts' sids
        self.watchers = Watchers()
        self.pages = Watchers()  # a poll's room id -> the connections on the poll's page
        self.pacing: Pacing[tuple[bytes, dict[str, Any]]] = Pacing(1.0)  # the setting's, attached
        self._paced: dict[str, asyncio.TimerHandle] = {}  # question id -> its held tally's timer
        self._tasks: set[asyncio.Task[None]] = set()
        self._known: dict[str, _Known] = {}  # question definitions are fixed once made
        self._versions: dict[str, int] = {}  # question id -> last tally version sent
        self._audiences: dict[str, int] = {}  # room id -> last audience version sent
        self.sio.on("connect", per_connection(self._connect))
        self.sio.on("disconnect", per_connection(self._disconnect))
        self.sio.on("join", self._guarded(self._join, JOINS))
        self.sio.on("vote", self._guarded(self._vote, BALLOTS))
        # A signed-in citizen's notices of new polls (``live.notify.channel``).
        self.notices = NoticeChannel(self)
        self.sio.on("notices", self._guarded(self.notices.subscribe))

    def attach(self, svc: Services, broadcaster: Broadcaster) -> None:
        self.svc = svc
        self.broadcaster = broadcaster
        self.batcher = CastBatcher(svc)
        self.limits = ScriptBatcher(svc, "limit")
        self.rooms = RoomCache(svc)
        self.audience = Audience(svc)
        self.pacing = Pacing(svc.settings.tally_share)

    # --- connection life ---------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        assert self.svc is not None
        token = auth.get("device") if isinstance(auth, dict) else None
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        if token is None:
            token = cookie[DEVICE_COOKIE].value if DEVICE_COOKIE in cookie else None
        device = verify_device(self.svc.secret, token) or new_id(16)
        writer = FrameWriter.for_environ(environ)
        # engineio's REMOTE_ADDR is always 127.0.0.1; the ASGI scope's client is the peer,
        # or behind a trusted proxy the address uvicorn read from X-Forwarded-For.
        scope = environ.get("asgi.scope")
        address = client_address(scope.get("client") if isinstance(scope, dict) else None)
        network = network_ref(self.svc.secret, address)
        translate = self._localize(environ) if self._localize is not None else None
        session = cookie[COOKIE].value if COOKIE in cookie else None
        transport = (
            "websocket"
            if isinstance(scope, dict) and scope.get("type") == "websocket"
            else "polling"
        )
        self.conns[sid] = Conn(
            sid,
            device,
            writer,
            address,
            network,
            transport=transport,
            translate=translate,
            session_cookie=session,
        )
        CONNECTED[transport].inc()
        return True

    async def _disconnect(self, sid: str, *_: Any) -> None:
        conn = self.conns.pop(sid, None)
        self.notices.left(sid)
        if conn is not None:
            CONNECTED[conn.transport].dec()
            for qid in conn.watching:
                self.watchers.discard(qid, conn)
        if conn is not None and conn.room_id is not None:
            self.pages.discard(conn.room_id, conn)
            self._count(conn, leaving=True)
            self._forget_member(conn.room_id, sid)

    def _guarded(self, handler: Any, outcomes: Outcomes | None = None) -> Any:
        """The handler, its refusals answered as error bodies, and counted in
        ``outcomes`` (``live.metrics``) if given. python-socketio passes each of an
        event's arguments to its handler: one that came with two or more is refused
        here, not left unanswered by a TypeError."""

        async def run(sid: str, *args: Any) -> dict[str, Any]:
            try:
                if len(args) > 1:
                    raise bad_request(N_("an event carries one object"))
                result: dict[str, Any] = await handler(sid, args[0] if args else None)
            except VotingError as err:
                if outcomes is not None:
                    outcomes.refused[err.code].inc()
                return error_body(err, self._translate(sid))
            except Exception:
                log.exception("%s failed", handler.__name__)
                if outcomes is not None:
                    outcomes.refused[ErrorCode.UNAVAILABLE].inc()
                return error_body(VotingError(ErrorCode.UNAVAILABLE), self._translate(sid))
            if outcomes is not None:
                outcomes.accepted.inc()
            return result

        run.__name__ = handler.__name__
        return per_connection(run)

    def _translate(self, sid: str) -> Callable[[str], str] | None:
        conn = self.conns.get(sid)
        return conn.translate if conn is not None else None

    # --- join ----------------------------------------------------------------------------

    async def _join(self, sid: str, data: Any) -> dict[str, Any]:
        started = asyncio.get_running_loop().time()
        svc = self._services()
        conn = self.conns.get(sid)
        if conn is None:
            raise VotingError(ErrorCode.NOT_JOINED)
        req = parse_join(data)
        assert self.rooms is not None
        view: RoomView | None
        voter: str | None
        facts = Facts()
        if req.poll is not None:
            view, voter, facts = await self._poll_view(conn, req.poll)
            matched = "poll"
        else:
            view = await self.rooms.get(req.room)
            if view is not None and view.room.get("poll"):
                view = None  # a poll's room is joined by the poll's id, signed in
            voter = conn.device
            try:
                matched = await admit(
                    svc,
                    None if view is None else view.room,
                    req,
                    conn.address,
                    self.limits.run_script if self.limits is not None else None,
                )
            except VotingError:
                # Every refusal takes the same time, whatever the reason, and each one on
                # this connection longer: it reads its next event only after this.
                conn.refusals += 1
                await answer_no_sooner(started, answer_delay(conn.refusals))
                raise
        assert view is not None  # a credential matched: the room exists
        room = view.room
        site_error = None
        # (A poll's follower who is not signed in votes as no one: nothing to check.)
        if voter is not None and (req.site is not None or req.site_pass is not None):
            on_site = self._on_site(room["id"], voter, req)
            if not on_site:
                conn.refusals += 1  # a guessed code waits like a guessed password
                await answer_no_sooner(started, answer_delay(conn.refusals))
                site_error = VotingError(ErrorCode.WRONG_SITE_CODE).as_dict(conn.translate)
            facts = replace(facts, on_site=on_site)
        viewer = Viewer.HOST if matched == "presenter" else Viewer.ATTENDEE
        voted = await self._voted(voter, view.questions)

        await self._leave_room(sid, conn)
        conn.room_id, conn.viewer, conn.voted, conn.voter = room["id"], viewer, voted, voter
        conn.facts = facts
        arg = facts.as_arg()
        conn.facts_arg = orjson.dumps(arg).decode() if arg else ""
        self.members[room["id"]].add(sid)
        if viewer is Viewer.HOST:
            self.hosts[room["id"]].add(sid)
        if req.poll is not None:
            self.pages.add(room["id"], conn)
        self._count(conn, leaving=False)
        await self.sio.enter_room(sid, f"r:{room['id']}")
        log.debug("joined room %s (%s) as %s, by %s", room["id"], room["number"], viewer, matched)
        # An event of the room that went out before this connection entered it is missed:
        # if one came meanwhile (the room's version moved), the room is read again, so
        # that the ack is never older than what the connection hears from now on.
        audience = None
        if viewer is Viewer.HOST and self.audience is not None:
            audience = await self.audience.read(room["id"])
        listed = await self._listing(conn, view.questions)
        for _ in range(3):
            if self.rooms.version(room["id"]) == view.version:
                break
            view = await self.rooms.get(room["number"]) or view
            room = view.room
            conn.voted = await self._voted(voter, view.questions)
            listed = await self._listing(conn, view.questions)
        # (Nothing from here on waits: no event can come between this check and the ack.)
        ack: dict[str, Any] = {
            "ok": True,
            "room": {
                "id": room["id"],
                "number": room["number"],
                "title": room["title"],
                "current": room.get("current") or None,
            },
            "role": str(viewer),
            "questions": listed,
            "voted": sorted(conn.voted),
            "device": sign_device(svc.secret, conn.device),
            # The server's clock, ms: a screen counts down to a question's close by it, not
            # by its own (a hall's PC may be minutes off).
            "now": now_ms(),
        }
        if audience is not None:
            ack["audience"] = audience
        if req.poll is not None:
            ack["poll"] = req.poll
            ack["signed_in"] = voter is not None
        if facts.on_site and voter is not None:
            # A pass given again keeps its date: it lasts from the scan, not the last join.
            now_s = now_ms() / 1000
            kept = req.site_pass is not None and check_pass(
                svc.secret, room["id"], voter, req.site_pass, now_s
            )
            ack["site_pass"] = (
                req.site_pass if kept else site_pass(svc.secret, room["id"], voter, now_s)
            )
        if site_error is not None:
            ack["site_error"] = site_error
        return ack

    async def _listing(self, conn: Conn, questions: list[LiveQuestion]) -> list[dict[str, Any]]:
        """What the join's ack lists of the room's questions, with their tallies; the
        connection watches those it may see."""
        svc = self._services()
        for q in questions:
            self._remember(q)
        for q in questions:
            if self._may_see(conn, q):
                if q.id not in conn.watching:
                    self._watch(conn, q.id)
            elif q.id in conn.watching:
                self._unwatch(conn, q.id)
        # Read the tallies only after entering the rooms: a snapshot published before
        # this read is older than what the ack carries, one published after reaches us.
        current = await tallies(svc, [q for q in questions if q.id in conn.watching])
        listed = []
        for q in questions:
            if not may_see_question(viewer=conn.viewer, draft=q.status is Status.DRAFT):
                continue
            item = q.public()
            if q.id in current:
                item["tally"] = current[q.id]
            listed.append(item)
        return listed

    def _on_site(self, room_id: str, voter: str | None, req: JoinRequest) -> bool:
        """Whether the join shows the room's current on-site code, or the pass an earlier
        join with it gave the same voter."""
        svc = self._services()
        if voter is None:
            return False
        now_s = now_ms() / 1000
        if req.site_pass is not None and check_pass(
            svc.secret, room_id, voter, req.site_pass, now_s
        ):
            return True
        key = site_key(svc.secret, room_id)
        return req.site is not None and check_code(key, req.site, now_s)

    async def _poll_view(self, conn: Conn, poll_id: str) -> tuple[RoomView, str | None, Facts]:
        """A poll's room, who this connection votes as in it, and what is known of them:
        the signed-in citizen of its session cookie (for an internal vote, the signed-in
        official), or no one (it follows the tally). Their facts are read only if the
        poll's rule, as the room holds it at this join, asks about their account."""
        svc = self._services()
        assert self.rooms is not None
        number, voters, hidden, why = await svc.redis.hmget(
            svc.keys.poll(poll_id), ["number", "voters", "moderation", "moderation_reason"]
        )
        view = await self.rooms.get(number) if number else None
        if view is None or hidden == "deleted":
            raise not_found(N_("poll {id}"), poll_id)
        if hidden:  # monitors hid it (``live.moderation.reports``)
            raise VotingError(ErrorCode.POLL_HIDDEN, reason=why or "")
        cookie = read_cookie(svc, conn.session_cookie) if conn.session_cookie else {}
        if not cookie:
            return view, None, Facts()
        kind = HOSTS if voters == "officials" else CITIZENS
        rule = view.room.get("target")  # a poll's, set when it is made
        needs = needs_account(orjson.loads(rule)) if rule else False
        if needs:
            account, kept = await account_and_facts(svc, cookie, kind)
        else:
            account, kept = await account_of(svc, cookie, kind), None
        if account is None:
            return view, None, Facts()
        identity = official_identity(account) if kind is HOSTS else citizen_identity(account)
        return view, identity, await voter_facts(svc, kind, account, kept) if needs else Facts()

    def _count(self, conn: Conn, *, leaving: bool) -> None:
        """An attendee joined or left the room: the hosts' count of the audience follows."""
        if conn.viewer is not Viewer.ATTENDEE or conn.room_id is None or self.audience is None:
            return
        if leaving:
            self.audience.left(conn.room_id)
        else:
            self.audience.joined(conn.room_id)

    async def _voted(self, voter: str | None, questions: list[LiveQuestion]) -> set[str]:
        svc = self._services()
        if not questions or voter is None:
            return set()
        pipe = svc.redis.pipeline(transaction=False)
        for q in questions:
            pipe.sismember(svc.keys.voters(q.id), voter_ref(svc.secret, q.id, voter))
        found = await pipe.execute()
        return {q.id for q, yes in zip(questions, found, strict=True) if yes}

    async def _leave_room(self, sid: str, conn: Conn) -> None:
        if conn.room_id is None:
            return
        await self.sio.leave_room(sid, f"r:{conn.room_id}")
        self.pages.discard(conn.room_id, conn)
        for qid in conn.watching:
            self.watchers.discard(qid, conn)
        conn.watching.clear()
        self._forget_member(conn.room_id, sid)
        self._count(conn, leaving=True)

    def _forget_member(self, room_id: str, sid: str) -> None:
        """The connection is no longer one of the room's members (nor of its hosts)."""
        for index in (self.members, self.hosts):
            sids = index.get(room_id)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del index[room_id]

    # --- vote ----------------------------------------------------------------------------

    async def _vote(self, sid: str, data: Any) -> dict[str, Any]:
        if self.batcher is None or self.broadcaster is None:
            raise VotingError(ErrorCode.UNAVAILABLE)  # the node is still starting
        conn = self.conns.get(sid)
        if conn is None or conn.room_id is None:
            raise VotingError(ErrorCode.NOT_JOINED)
        req = parse_vote(data)
        if conn.viewer is Viewer.HOST:
            raise VotingError(ErrorCode.NOT_ELIGIBLE)
        if conn.voter is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)  # a poll's follower, not signed in
        known = await self._definition(req.question)
        if known is None or known.room_id != conn.room_id:
            raise VotingError(ErrorCode.UNKNOWN_QUESTION, question=req.question)
        choices = check_ballot(known.spec, req.choices, req.answers, req.parts)
        facts = conn.facts_arg
        if req.position is not None:
            lat, lon = req.position
            facts = orjson.dumps({**conn.facts.as_arg(), "lat": lat, "lon": lon}).decode()
        receipt = await do_cast(
            self.batcher,
            req.question,
            conn.voter,
            choices,
            req.nonce,
            network=conn.network,
            facts=facts,
        )
        conn.voted.add(req.question)
        # Watch before announcing, so the snapshot with this very ballot reaches the voter.
        # The cast succeeded, so the question is open; had it been revealed, this
        # connection would be watching already.
        if req.question not in conn.watching and may_see_tally(
            known.spec.visibility, viewer=conn.viewer, closed=False, revealed=False, voted=True
        ):
            self._watch(conn, req.question)
        self.broadcaster.mark(req.question)
        return {"ok": True, "receipt": receipt}

    async def _definition(self, qid: str) -> _Known | None:
        known = self._known.get(qid)
        if known is None:
            q = await load_question(self._services(), qid)
            if q is None:
                return None
            known = self._remember(q)
        return known

    def _remember(self, q: LiveQuestion) -> _Known:
        if len(self._known) >= _CACHE_LIMIT:
            self._known.clear()
        known = self._known[q.id] = _Known(q.room_id, q.spec)
        return known

    # --- visibility ----------------------------------------------------------------------

    @staticmethod
    def _may_see(conn: Conn, q: LiveQuestion) -> bool:
        if not may_see_question(viewer=conn.viewer, draft=q.status is Status.DRAFT):
            return False  # a draft's tally (zeros, one per option) would tell its options
        return may_see_tally(
            q.spec.visibility,
            viewer=conn.viewer,
            closed=q.closed,
            revealed=q.revealed,
            voted=q.id in conn.voted,
        )

    def _watch(self, conn: Conn, qid: str) -> None:
        conn.watching.add(qid)
        self.watchers.add(qid, conn)

    def _unwatch(self, conn: Conn, qid: str) -> None:
        conn.watching.discard(qid)
        self.watchers.discard(qid, conn)

    # --- delivery of fan-out events ------------------------------------------------------

    def resync(self) -> None:
        """The node's event subscription is back after a loss (Valkey restarted, or out
        of reach): the tallies published meanwhile were missed here, so a fresh snapshot
        of every question watched on this node is asked for (published to every node;
        its version only grows, so no client takes it for an older one)."""
        if self.broadcaster is None:
            return
        for qid in self.watchers.questions():
            self.broadcaster.mark(qid)

    async def deliver(self, event: dict[str, Any]) -> None:
        kind = event.get("t")
        if kind == "tally":
            await self._deliver_tally(event)
        elif kind == "question":
            await self._deliver_question(event)
        elif kind == "order":
            await self._deliver_order(event)
        elif kind == "audience":
            await self._deliver_audience(event)
        elif kind == "room":
            await self._deliver_room(event)
        elif kind == "presenter":
            await self._deliver_presenter(event)
        elif kind == "draw":
            await self._deliver_draw(event)
        elif kind == "comment":
            await self._deliver_comment(event)
        elif kind == "notices":
            await self.notices.deliver(event)

    async def _deliver_tally(self, event: dict[str, Any]) -> None:
        qid = event["question"]
        # Two nodes' snapshots may cross on the way; never send an older one after a newer.
        if event["version"] <= self._versions.get(qid, 0):
            return
        self._versions[qid] = event["version"]
        payload: dict[str, Any] = {
            "question": qid,
            "version": event["version"],
            "total": event["total"],
        }
        if "words" in event:  # open text; Lua encodes an empty list as {}
            payload.update(words=event["words"] or [], distinct=event["distinct"])
        else:
            payload["counts"] = event["counts"]
        # Encoded once; written to every watcher that takes a ready frame: the hosts at
        # once, the attendees as the pacing allows (``live.wire.pacing``).
        frame = event_frame("tally", payload)
        TALLY_DELIVERIES.inc(self.watchers.count(qid, first=True))
        slow = self.watchers.deliver(qid, frame, first=True)
        if slow:
            await self.sio.emit("tally", payload, to=slow)
        snapshot = (frame, payload)
        wait = self.pacing.offer(qid, snapshot)
        if not wait:
            await self._tally_attendees(qid, frame, payload)
            return
        # Held until the wait ends, or sooner if nothing newer follows: then the ballots
        # stopped, and this is the count the attendees wait for. One timer per question,
        # re-armed by each tally held.
        settle = SETTLE_INTERVALS * self._services().settings.tally_interval
        timer = self._paced.get(qid)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self._paced[qid] = loop.call_later(min(wait, settle), self._release_held, qid)

    async def _tally_attendees(self, qid: str, frame: bytes, payload: dict[str, Any]) -> None:
        """Hand a tally to the question's attendees."""
        slow = self._frame_attendees(qid, frame)
        if slow:
            await self.sio.emit("tally", payload, to=slow)

    def _frame_attendees(self, qid: str, frame: bytes) -> list[str]:
        """Write a tally's frame to the question's attendees that take ready frames,
        timing it for the pacing; the others' sids, for python-socketio's emit."""
        started = time.perf_counter()
        TALLY_DELIVERIES.inc(self.watchers.count(qid, first=False))
        slow: list[str] = self.watchers.deliver(qid, frame, first=False)
        took = time.perf_counter() - started
        self.pacing.delivered(qid, took)
        TALLY_DELIVERY_SECONDS.inc(took)
        return slow

    def _release_held(self, qid: str) -> None:
        """The wait for ``qid`` ended, or no newer tally came: its attendees get the one
        held for them."""
        self._paced.pop(qid, None)
        held = self.pacing.take_held(qid)
        if held is None:
            return
        frame, payload = held
        slow = self._frame_attendees(qid, frame)  # now: never after a newer one
        if slow:
            self._spawn(self.sio.emit("tally", payload, to=slow))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_question(self, event: dict[str, Any]) -> None:
        public = event["question"]
        room_id = event["room"]
        q = LiveQuestion(
            public["id"],
            room_id,
            QuestionSpec.from_dict(public),
            Status(public["status"]),
            bool(public["revealed"]),
        )
        self._remember(q)
        if self.rooms is not None:
            self.rooms.forget_room(room_id)
        hosts: list[str] = []
        for sid in list(self.members.get(room_id, ())):
            conn = self.conns.get(sid)
            if conn is None:
                continue
            if conn.viewer is Viewer.HOST:
                hosts.append(sid)
            if event.get("reset"):
                conn.voted.discard(q.id)
            if self._may_see(conn, q):
                if q.id not in conn.watching:
                    self._watch(conn, q.id)
            elif q.id in conn.watching:
                self._unwatch(conn, q.id)
        if may_see_question(viewer=Viewer.ATTENDEE, draft=q.status is Status.DRAFT):
            await self.sio.emit("question", public, room=f"r:{room_id}")
            return
        # A draft is the hosts' alone (edits, a reveal). Attendees hear only that a question
        # they saw went back into preparation (a reset): its id, so their pages drop it.
        for sid in hosts:
            await self.sio.emit("question", public, to=sid)
        if event.get("reset"):
            withdrawn = {"id": q.id, "status": str(Status.DRAFT)}
            await self.sio.emit("question", withdrawn, room=f"r:{room_id}", skip_sid=hosts)

    async def _deliver_order(self, event: dict[str, Any]) -> None:
        """The room's question list changed (reordered, or a draft deleted)."""
        room_id, ids = event["room"], event["questions"]
        if self.rooms is not None:
            self.rooms.forget_room(room_id)
        for qid, known in list(self._known.items()):
            if known.room_id == room_id and qid not in ids:
                del self._known[qid]
        hosts = list(self.hosts.get(room_id, ()))
        for sid in hosts:
            await self.sio.emit("order", {"questions": ids}, to=sid)
        # Attendees learn the order of what they may see: a draft's id would tell them how
        # many questions are prepared, and when one is added or deleted.
        shown = [
            q.id
            for q in await load_questions(self._services(), ids)
            if may_see_question(viewer=Viewer.ATTENDEE, draft=q.status is Status.DRAFT)
        ]
        await self.sio.emit("order", {"questions": shown}, room=f"r:{room_id}", skip_sid=hosts)

    async def _deliver_audience(self, event: dict[str, Any]) -> None:
        """How many attendees the room has, to its hosts' screens (console, projector)."""
        room_id = event["room"]
        if event["version"] <= self._audiences.get(room_id, 0):
            return
        self._audiences[room_id] = event["version"]
        payload = {"connected": event["connected"], "version": event["version"]}
        for sid in list(self.hosts.get(room_id, ())):
            await self.sio.emit("audience", payload, to=sid)

    async def _deliver_room(self, event: dict[str, Any]) -> None:
        """The room's current question changed: ``room`` ``{"current": id | null}`` to all.

        A question becomes current only once attendees may see it (it opened), and its
        ``question`` event went out before this one on the same channel."""
        room_id = event["room"]
        if self.rooms is not None:
            self.rooms.forget_room(room_id)
        await self.sio.emit("room", {"current": event["current"]}, room=f"r:{room_id}")

    async def _deliver_presenter(self, event: dict[str, Any]) -> None:
        """The room's presenter token changed (``store.renew_presenter``): every host
        connection of the room on this node leaves it and is told ``rejoin``; the console
        joins again with the token a host may read, a screen with the old link may not."""
        room_id = event["room"]
        if self.rooms is not None:
            self.rooms.forget_room(room_id)
        for sid in list(self.hosts.get(room_id, ())):
            conn = self.conns.get(sid)
            if conn is None:
                continue
            await self._leave_room(sid, conn)
            conn.room_id = None
            await self.sio.emit("rejoin", {"room": room_id}, to=sid)

    async def _deliver_draw(self, event: dict[str, Any]) -> None:
        """A lot drawing changed (``live.draws``): ``draw`` with its public state, to the
        room's hosts while it is a draft, to everyone in the room once it is committed."""
        room_id, public = event["room"], event["draw"]
        if public["state"] != "draft":
            await self.sio.emit("draw", public, room=f"r:{room_id}")
            return
        for sid in list(self.hosts.get(room_id, ())):
            await self.sio.emit("draw", public, to=sid)

    async def _deliver_comment(self, event: dict[str, Any]) -> None:
        """A poll's comment was posted or changed (``live.comments``): ``comment`` to
        everyone on the poll's page, one frame for all (the connections that take no
        ready frame get python-socketio's emit)."""
        room_id, payload = event["room"], event["comment"]
        frame = event_frame("comment", payload)
        COMMENT_DELIVERIES.inc(self.pages.count(room_id))
        slow = self.pages.deliver(room_id, frame)
        if slow:
            await self.sio.emit("comment", payload, to=slow)

    def _services(self) -> Services:
        if self.svc is None:
            raise VotingError(ErrorCode.UNAVAILABLE)
        return self.svc
