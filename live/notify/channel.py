"""Notices to citizens online: a socket that sent ``notices`` (signed in) is in its
citizen's channel on this node; the fan-out job publishes ``t: notices`` events on the
events channel, one per batch, and each node writes a ``notice`` frame to the sockets
of the citizens it has.

Asking costs a read of the session and a count of the unread notices; a connection that
asks again within ``RECHECK_S`` is answered from what it already knows (who it is, or
that it is no one, and the count then plus the notices it was sent since), so that one
connection makes at most one such read in that time, however often it asks.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from live.notify import inbox
from live.sessions import CITIZENS, account_of, read_cookie
from rooms.errors import ErrorCode, VotingError

if TYPE_CHECKING:
    from live.sockets import LiveSockets

#: Seconds a connection's answer holds: asking again sooner reads nothing.
RECHECK_S = 30.0


@dataclass(slots=True)
class _Answer:
    citizen: str | None  #: ``None``: no citizen is signed in on the connection
    unread: int
    at: float  #: ``time.monotonic()`` of the read


class NoticeChannel:
    def __init__(self, sockets: LiveSockets) -> None:
        self._sockets = sockets
        self.sids: defaultdict[str, set[str]] = defaultdict(set)  # citizen id -> sids
        self._citizen: dict[str, str] = {}  # sid -> citizen id
        self._answers: dict[str, _Answer] = {}  # sid -> what it was told last

    async def subscribe(self, sid: str, _data: Any = None) -> dict[str, Any]:
        """``notices``: the signed-in citizen of the socket's session cookie hears of new
        polls for them from now on; the ack says how many notices are unread."""
        conn = self._sockets.conns.get(sid)
        if conn is None:
            raise VotingError(ErrorCode.NOT_JOINED)
        known = self._answers.get(sid)
        if known is None or time.monotonic() - known.at >= RECHECK_S:
            known = await self._read(sid, conn.session_cookie)
        if known.citizen is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        return {"ok": True, "unread": known.unread}

    async def _read(self, sid: str, session_cookie: str | None) -> _Answer:
        svc = self._sockets._services()
        cookie = read_cookie(svc, session_cookie) if session_cookie else {}
        citizen = await account_of(svc, cookie, CITIZENS) if cookie else None
        self._leave(sid)
        unread = 0
        if citizen is not None:
            self._citizen[sid] = citizen
            self.sids[citizen].add(sid)
            unread = await inbox.unread(svc, citizen)
        answer = _Answer(citizen, unread, time.monotonic())
        self._answers[sid] = answer
        return answer

    def left(self, sid: str) -> None:
        """The socket is gone."""
        self._leave(sid)
        self._answers.pop(sid, None)

    def _leave(self, sid: str) -> None:
        citizen = self._citizen.pop(sid, None)
        if citizen is not None:
            found = self.sids.get(citizen)
            if found is not None:
                found.discard(sid)
                if not found:
                    del self.sids[citizen]

    async def deliver(self, event: dict[str, Any]) -> None:
        """``{"t": "notices", "poll": {...}, "created_ms", "to": [[citizen, id, reason]]}``."""
        poll, created = event["poll"], event["created_ms"]
        for citizen, notice_id, reason in event["to"]:
            for sid in list(self.sids.get(citizen, ())):
                frame = {"id": notice_id, "poll": poll, "reason": reason, "created_ms": created}
                known = self._answers.get(sid)
                if known is not None:
                    known.unread += 1
                await self._sockets.sio.emit("notice", frame, to=sid)
