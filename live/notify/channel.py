"""Notices to citizens online: a socket that sent ``notices`` (signed in) is in its
citizen's channel on this node; the fan-out job publishes ``t: notices`` events on the
events channel, one per batch, and each node writes a ``notice`` frame to the sockets
of the citizens it has.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from live.notify import inbox
from live.sessions import CITIZENS, account_of, read_cookie
from rooms.errors import ErrorCode, VotingError

if TYPE_CHECKING:
    from live.sockets import LiveSockets


class NoticeChannel:
    def __init__(self, sockets: LiveSockets) -> None:
        self._sockets = sockets
        self.sids: defaultdict[str, set[str]] = defaultdict(set)  # citizen id -> sids
        self._citizen: dict[str, str] = {}  # sid -> citizen id

    async def subscribe(self, sid: str, _data: Any = None) -> dict[str, Any]:
        """``notices``: the signed-in citizen of the socket's session cookie hears of new
        polls for them from now on; the ack says how many notices are unread."""
        svc = self._sockets._services()
        conn = self._sockets.conns.get(sid)
        if conn is None:
            raise VotingError(ErrorCode.NOT_JOINED)
        cookie = read_cookie(svc, conn.session_cookie) if conn.session_cookie else {}
        citizen = await account_of(svc, cookie, CITIZENS) if cookie else None
        if citizen is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        self.left(sid)
        self._citizen[sid] = citizen
        self.sids[citizen].add(sid)
        return {"ok": True, "unread": await inbox.unread(svc, citizen)}

    def left(self, sid: str) -> None:
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
                await self._sockets.sio.emit("notice", frame, to=sid)
