"""The prepared list: reordering it and finding the next draft question."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.agenda import Step, check_order, next_draft, step_next, step_previous, step_to
from rooms.errors import ErrorCode, VotingError
from rooms.questions import Status

ROOM = ["a", "b", "c"]


@pytest.mark.parametrize(
    "wanted",
    [
        pytest.param(["c", "a", "b"], id="rotated"),
        pytest.param(["a", "b", "c"], id="unchanged"),
    ],
)
def test_a_permutation_is_the_new_order(wanted: list[str]) -> None:
    assert check_order(ROOM, wanted) == wanted


def test_an_empty_room_takes_the_empty_order() -> None:
    assert check_order([], []) == []


@pytest.mark.parametrize(
    ("wanted", "detail"),
    [
        pytest.param(None, "questions is a list of question ids", id="missing"),
        pytest.param("a,b,c", "questions is a list of question ids", id="string"),
        pytest.param(["a", "b", 3], "questions is a list of question ids", id="not-ids"),
        pytest.param(["a", "b", "b"], "questions lists a question twice", id="duplicate"),
        pytest.param(
            ["a", "b"], "questions must list exactly the room's questions", id="one-missing"
        ),
        pytest.param(
            ["a", "b", "c", "d"],
            "questions must list exactly the room's questions",
            id="one-extra",
        ),
        pytest.param(
            ["a", "b", "x"], "questions must list exactly the room's questions", id="one-foreign"
        ),
    ],
)
def test_a_bad_order_is_refused(wanted: Any, detail: str) -> None:
    with pytest.raises(VotingError) as caught:
        check_order(ROOM, wanted)

    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {"detail": detail}


DRAFT, OPEN, CLOSED = Status.DRAFT, Status.OPEN, Status.CLOSED


@pytest.mark.parametrize(
    ("statuses", "current", "expected"),
    [
        pytest.param([DRAFT, DRAFT, DRAFT], None, "a", id="nothing-opened-yet"),
        pytest.param([OPEN, DRAFT, DRAFT], "a", "b", id="after-the-open-one"),
        pytest.param([CLOSED, CLOSED, DRAFT], "b", "c", id="after-a-closed-one"),
        pytest.param([CLOSED, OPEN, DRAFT], "a", "c", id="skips-what-is-not-draft"),
        pytest.param([DRAFT, CLOSED, DRAFT], "b", "c", id="only-after-current"),
        pytest.param([CLOSED, DRAFT, DRAFT], "gone", "b", id="current-deleted-starts-over"),
    ],
)
def test_next_draft(statuses: list[Status], current: str | None, expected: str) -> None:
    assert next_draft(ROOM, dict(zip(ROOM, statuses, strict=True)), current) == expected


NOTHING_LEFT = (
    "There is no question left to open: add one, or make a question current again to show "
    "its results."
)


@pytest.mark.parametrize(
    ("statuses", "current"),
    [
        pytest.param([CLOSED, CLOSED, OPEN], "c", id="current-is-last"),
        pytest.param([DRAFT, CLOSED, OPEN], "c", id="draft-only-before-current"),
        pytest.param([CLOSED, CLOSED, CLOSED], None, id="no-draft-at-all"),
    ],
)
def test_no_next_draft_is_invalid_state(statuses: list[Status], current: str | None) -> None:
    with pytest.raises(VotingError) as caught:
        next_draft(ROOM, dict(zip(ROOM, statuses, strict=True)), current)

    assert caught.value.code is ErrorCode.INVALID_STATE
    assert caught.value.message == NOTHING_LEFT


def test_an_empty_list_has_no_next() -> None:
    with pytest.raises(VotingError):
        next_draft([], {}, None)


@pytest.mark.parametrize(
    ("statuses", "current", "expected"),
    [
        pytest.param([DRAFT, DRAFT, DRAFT], None, Step(None, "a", "a"), id="first"),
        pytest.param([OPEN, DRAFT, DRAFT], "a", Step("a", "b", "b"), id="closes-and-opens"),
        pytest.param([CLOSED, OPEN, OPEN], "c", Step("c", None, None), id="last-ends-agenda"),
        pytest.param([CLOSED, CLOSED, CLOSED], "c", Step(None, None, None), id="last-closed"),
        pytest.param([DRAFT, CLOSED, CLOSED], None, Step(None, "a", "a"), id="after-the-end"),
    ],
)
def test_next(statuses: list[Status], current: str | None, expected: Step) -> None:
    assert step_next(ROOM, dict(zip(ROOM, statuses, strict=True)), current) == expected


def test_next_after_the_end_with_nothing_left_is_refused() -> None:
    with pytest.raises(VotingError) as caught:
        step_next(ROOM, dict.fromkeys(ROOM, CLOSED), None)
    assert caught.value.message == NOTHING_LEFT


@pytest.mark.parametrize(
    ("statuses", "current", "expected"),
    [
        pytest.param([CLOSED, OPEN, DRAFT], "b", "a", id="the-one-before"),
        pytest.param([CLOSED, DRAFT, OPEN], "c", "a", id="skips-drafts"),
        pytest.param([CLOSED, CLOSED, CLOSED], None, "c", id="after-the-end-the-last"),
    ],
)
def test_previous(statuses: list[Status], current: str | None, expected: str) -> None:
    step = step_previous(ROOM, dict(zip(ROOM, statuses, strict=True)), current)
    assert step == Step(None, None, expected)  # nothing opens or closes


def test_previous_on_the_first_is_refused() -> None:
    with pytest.raises(VotingError) as caught:
        step_previous(ROOM, {"a": OPEN, "b": DRAFT, "c": DRAFT}, "a")
    assert caught.value.code is ErrorCode.INVALID_STATE
    assert caught.value.message == "There is no earlier question to go back to."


def test_a_draft_made_current_opens_a_closed_one_shows_as_it_is() -> None:
    statuses = {"a": CLOSED, "b": DRAFT, "c": OPEN}
    assert step_to(ROOM, statuses, "a") == Step(None, None, "a")
    assert step_to(ROOM, statuses, "b") == Step(None, "b", "b")
    assert step_to(ROOM, statuses, None) == Step(None, None, None)
    with pytest.raises(VotingError) as caught:
        step_to(ROOM, statuses, "zz")
    assert caught.value.code is ErrorCode.NOT_FOUND
