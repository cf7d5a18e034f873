"""The prepared list: reordering it and finding the next draft question."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.agenda import check_order, next_draft
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
    assert caught.value.message == (
        "Cannot advance past a question that is followed by no draft question."
    )


def test_an_empty_list_has_no_next() -> None:
    with pytest.raises(VotingError):
        next_draft([], {}, None)
