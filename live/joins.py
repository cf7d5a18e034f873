"""Who may join a room: the credential check of the socket's ``join`` and the HTTP form.

Room numbers and passwords must not be guessable, so a failed join says as little as
possible and costs as much as a legitimate crowd allows:

- one answer for every failure: a room number no room holds, a wrong password, a wrong
  join key or presenter token are all ``bad_credentials``, with one sentence, answered
  no sooner than a fixed delay after the attempt began (the caller waits it out with
  ``answer_no_sooner``), so neither the answer nor its timing tells which;
- failures count (``live.limits``) per client address (10 minutes) and per room number
  (an hour, whether or not a room holds it), in Valkey, so across nodes; past the free
  ones each failure locks the subject longer, and a locked subject's password attempts
  are refused as ``rate_limited`` with ``retry_after``, right or wrong;
- a join key or presenter token that matches is let in without asking the counts: they
  are 96 and 144 random bits, hopeless to guess, so a hall joining by the QR code is
  never held back, even while a guesser behind the same NAT has its address locked;
- successes are not counted: 3,000 people joining at once from one address only bring
  the address closer to a lock by their typos (``MVOTING_JOIN_FAILURES_PER_ADDRESS``
  must exceed the typos of the biggest hall behind one NAT: 1,000 by default).
"""

from __future__ import annotations

from typing import Any

from live.limits import Policy, Runner, Subject, attempt
from live.services import Services
from live.store import password_matches
from rooms.errors import ErrorCode, VotingError
from rooms.protocol import JoinRequest

#: A connection's first refused join is answered this long after it arrived; each further
#: refusal on the same connection doubles it, up to ``LONGEST_ANSWER_DELAY``. A connection
#: handles one event at a time, so this bounds what one connection can try.
FIRST_ANSWER_DELAY = 0.25
LONGEST_ANSWER_DELAY = 8.0

ADDRESS_WINDOW = 600.0
ROOM_WINDOW = 3600.0


def answer_delay(refusals: int) -> float:
    """How long after it arrived the ``refusals``-th refused join is answered."""
    return float(min(LONGEST_ANSWER_DELAY, FIRST_ANSWER_DELAY * 2 ** min(refusals - 1, 16)))


def subjects(svc: Services, address: str, number: str) -> list[Subject]:
    """What a join attempt counts against: its client address and the room number."""
    s, k = svc.settings, svc.keys
    return [
        Subject(
            k.limit("join", f"addr:{address}"), Policy(s.join_failures_per_address, ADDRESS_WINDOW)
        ),
        Subject(k.limit("join", f"room:{number}"), Policy(s.join_failures_per_room, ROOM_WINDOW)),
    ]


async def admit(
    svc: Services,
    room: dict[str, Any] | None,
    req: JoinRequest,
    address: str,
    run: Runner | None = None,
) -> str:
    """Which credential of ``room`` the request matched: "password", "key" or "presenter".

    ``room`` is the room ``req.room`` names, or ``None`` if none does. Raises
    ``bad_credentials`` or ``rate_limited``; the caller delays the refusal. ``run``: the
    node's batcher of the limit script (``live.limits.attempt``).
    """
    matched = None
    if room is not None:
        matched = password_matches(
            room, password=req.password, key=req.key, presenter=req.presenter
        )
    if matched is not None and req.password is None:
        return matched  # a join key or presenter token: not guessable, never held back
    verdict = await attempt(
        svc.redis, subjects(svc, address, req.room), failed=matched is None, run=run
    )
    if verdict.refused:
        raise verdict.error()
    if matched is None:
        raise VotingError(ErrorCode.BAD_CREDENTIALS)
    return matched
