"""The cast path: a parsed vote, decided by ``rooms``, applied by one Lua script."""

from __future__ import annotations

import secrets

from live.clock import now_ms
from live.services import Services
from rooms.ballots import Ballot
from rooms.errors import ErrorCode, VotingError
from rooms.identity import voter_ref


async def do_cast(
    svc: Services, question_id: str, identity: str, choices: tuple[int, ...], nonce: str | None
) -> str:
    """Record one ballot atomically and return its receipt, or raise the refusal.

    ``choices`` were checked against the question by ``rooms.questions.check_choices``;
    the script checks them again with the question's live state (open, not yet voted),
    so a stale node cache cannot let a bad ballot through.
    """
    k = svc.keys
    ballot = Ballot(
        question=question_id,
        choices=choices,
        time_ms=now_ms(),
        voter=voter_ref(svc.secret, question_id, identity),
        nonce=nonce or secrets.token_hex(16),
    )
    receipt = ballot.receipt()
    ok, value = await svc.scripts.cast(
        keys=[
            k.question(question_id),
            k.voters(question_id),
            k.tally(question_id),
            k.stream(question_id),
        ],
        args=[ballot.voter, ",".join(map(str, choices)), ballot.time_ms, ballot.nonce, receipt],
    )
    if not ok:
        raise VotingError(ErrorCode(value), question=question_id)
    return receipt
