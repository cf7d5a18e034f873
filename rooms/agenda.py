"""A room's prepared list of questions: its order, and which question comes next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rooms.errors import ErrorCode, VotingError, bad_request
from rooms.questions import Status


def check_order(current: Sequence[str], wanted: object) -> list[str]:
    """``wanted`` as the room's new order: exactly its question ids, each once."""
    if not isinstance(wanted, list) or not all(isinstance(q, str) for q in wanted):
        raise bad_request("questions is a list of question ids")
    if len(set(wanted)) != len(wanted):
        raise bad_request("questions lists a question twice")
    if set(wanted) != set(current):
        raise bad_request("questions must list exactly the room's questions")
    return list(wanted)


def next_draft(order: Sequence[str], statuses: Mapping[str, Status], current: str | None) -> str:
    """The first draft question after ``current`` (from the start if there is none).

    ``current`` is the question opened last; a question not in ``order`` counts as none.
    """
    start = order.index(current) + 1 if current is not None and current in order else 0
    for qid in order[start:]:
        if statuses.get(qid) is Status.DRAFT:
            return qid
    raise VotingError(
        ErrorCode.INVALID_STATE, action="advance past", status="followed by no draft question"
    )
