"""The monitors' side over HTTP: who is asking, as a moderator."""

from __future__ import annotations

from starlette.requests import Request

from live.moderation.monitors import Moderator, moderator_of
from live.web import api, citizens
from rooms.errors import ErrorCode, VotingError


async def moderator(request: Request) -> Moderator:
    """The request's signed-in moderator (a host session first, then a citizen's);
    ``unauthorized`` if nobody is signed in, ``not_monitor`` if they moderate nothing."""
    svc = api.services(request)
    host_id = await api.signed_in(request)
    citizen_id = await citizens.signed_in(request)
    if host_id is None and citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    if host_id is not None and (found := await moderator_of(svc, host_id=host_id)):
        return found
    if citizen_id is not None and (found := await moderator_of(svc, citizen_id=citizen_id)):
        return found
    raise VotingError(ErrorCode.NOT_MONITOR)
