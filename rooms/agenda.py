"""A room's prepared list of questions: its order, and which question comes next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rooms.errors import N_, VotingError, bad_request, invalid_state, not_found
from rooms.questions import Status


def check_order(current: Sequence[str], wanted: object) -> list[str]:
    """``wanted`` as the room's new order: exactly its question ids, each once."""
    if not isinstance(wanted, list) or not all(isinstance(q, str) for q in wanted):
        raise bad_request(N_("questions is a list of question ids"))
    if len(set(wanted)) != len(wanted):
        raise bad_request(N_("questions lists a question twice"))
    if set(wanted) != set(current):
        raise bad_request(N_("questions must list exactly the room's questions"))
    return list(wanted)


def next_draft(order: Sequence[str], statuses: Mapping[str, Status], current: str | None) -> str:
    """The first draft question after ``current`` (from the start if there is none).

    ``current`` is the room's current question; a question not in ``order`` counts as none.
    """
    found = _draft_after(order, statuses, current)
    if found is None:
        raise _nothing_left()
    return found


def _draft_after(
    order: Sequence[str], statuses: Mapping[str, Status], current: str | None
) -> str | None:
    start = order.index(current) + 1 if current is not None and current in order else 0
    for qid in order[start:]:
        if statuses.get(qid) is Status.DRAFT:
            return qid
    return None


def _nothing_left() -> VotingError:
    return invalid_state(
        N_(
            "There is no question left to open: add one, or make a question current again "
            "to show its results."
        )
    )


@dataclass(frozen=True, slots=True)
class Step:
    """What moving through the agenda does: close one question, open one, and which
    question is current after it (``None``: the agenda is over)."""

    close: str | None
    open: str | None
    current: str | None


def step_next(order: Sequence[str], statuses: Mapping[str, Status], current: str | None) -> Step:
    """*Next*: close the current question if open, open the next draft after it.

    On the last question (no draft follows) it closes the question and ends the agenda;
    with no current question and no draft left there is nothing to do (``invalid_state``).
    """
    if current not in order:
        current = None
    close = current if current is not None and statuses.get(current) is Status.OPEN else None
    target = _draft_after(order, statuses, current)
    if target is None and current is None:
        raise _nothing_left()
    return Step(close, target, target)


def step_previous(
    order: Sequence[str], statuses: Mapping[str, Status], current: str | None
) -> Step:
    """*Previous*: the nearest question before the current one that has opened becomes
    current, as it is (a closed one shows its results); nothing opens or closes. After
    the end of the agenda, the last question that opened."""
    run = [q for q in order if statuses.get(q) in (Status.OPEN, Status.CLOSED)]
    if current in order:
        before = order[: order.index(current)]
        run = [q for q in run if q in before]
    if not run:
        raise invalid_state(N_("There is no earlier question to go back to."))
    return Step(None, None, run[-1])


def step_to(order: Sequence[str], statuses: Mapping[str, Status], wanted: object) -> Step:
    """A host makes ``wanted`` current: an open or closed question as it is, a draft by
    opening it (attendees only follow what they may see); ``None`` clears the current
    question without closing anything."""
    if wanted is None:
        return Step(None, None, None)
    if not isinstance(wanted, str):
        raise bad_request(N_("question is a question id or null"))
    if wanted not in order:
        raise not_found(N_("question {id}"), wanted)
    opens = wanted if statuses.get(wanted) is Status.DRAFT else None
    return Step(None, opens, wanted)
