"""Who may see a question's tally: the full truth table, written out by hand."""

from __future__ import annotations

import pytest

from rooms.visibility import Viewer, Visibility, may_see_tally

LIVE = Visibility.LIVE
AFTER_VOTE = Visibility.AFTER_VOTE
AFTER_CLOSE = Visibility.AFTER_CLOSE
HOST = Viewer.HOST
ATTENDEE = Viewer.ATTENDEE

# visibility, viewer, closed, revealed, voted -> may see
TABLE: list[tuple[Visibility, Viewer, bool, bool, bool, bool]] = [
    # hosts and presenters always see the tally
    (LIVE, HOST, False, False, False, True),
    (LIVE, HOST, False, False, True, True),
    (LIVE, HOST, False, True, False, True),
    (LIVE, HOST, False, True, True, True),
    (LIVE, HOST, True, False, False, True),
    (LIVE, HOST, True, False, True, True),
    (LIVE, HOST, True, True, False, True),
    (LIVE, HOST, True, True, True, True),
    (AFTER_VOTE, HOST, False, False, False, True),
    (AFTER_VOTE, HOST, False, False, True, True),
    (AFTER_VOTE, HOST, False, True, False, True),
    (AFTER_VOTE, HOST, False, True, True, True),
    (AFTER_VOTE, HOST, True, False, False, True),
    (AFTER_VOTE, HOST, True, False, True, True),
    (AFTER_VOTE, HOST, True, True, False, True),
    (AFTER_VOTE, HOST, True, True, True, True),
    (AFTER_CLOSE, HOST, False, False, False, True),
    (AFTER_CLOSE, HOST, False, False, True, True),
    (AFTER_CLOSE, HOST, False, True, False, True),
    (AFTER_CLOSE, HOST, False, True, True, True),
    (AFTER_CLOSE, HOST, True, False, False, True),
    (AFTER_CLOSE, HOST, True, False, True, True),
    (AFTER_CLOSE, HOST, True, True, False, True),
    (AFTER_CLOSE, HOST, True, True, True, True),
    # live: attendees always see it
    (LIVE, ATTENDEE, False, False, False, True),
    (LIVE, ATTENDEE, False, False, True, True),
    (LIVE, ATTENDEE, False, True, False, True),
    (LIVE, ATTENDEE, False, True, True, True),
    (LIVE, ATTENDEE, True, False, False, True),
    (LIVE, ATTENDEE, True, False, True, True),
    (LIVE, ATTENDEE, True, True, False, True),
    (LIVE, ATTENDEE, True, True, True, True),
    # after_vote: once they voted, once it closed, or once it is revealed
    (AFTER_VOTE, ATTENDEE, False, False, False, False),
    (AFTER_VOTE, ATTENDEE, False, False, True, True),
    (AFTER_VOTE, ATTENDEE, False, True, False, True),
    (AFTER_VOTE, ATTENDEE, False, True, True, True),
    (AFTER_VOTE, ATTENDEE, True, False, False, True),
    (AFTER_VOTE, ATTENDEE, True, False, True, True),
    (AFTER_VOTE, ATTENDEE, True, True, False, True),
    (AFTER_VOTE, ATTENDEE, True, True, True, True),
    # after_close: once it closed or once it is revealed; voting does not open it
    (AFTER_CLOSE, ATTENDEE, False, False, False, False),
    (AFTER_CLOSE, ATTENDEE, False, False, True, False),
    (AFTER_CLOSE, ATTENDEE, False, True, False, True),
    (AFTER_CLOSE, ATTENDEE, False, True, True, True),
    (AFTER_CLOSE, ATTENDEE, True, False, False, True),
    (AFTER_CLOSE, ATTENDEE, True, False, True, True),
    (AFTER_CLOSE, ATTENDEE, True, True, False, True),
    (AFTER_CLOSE, ATTENDEE, True, True, True, True),
]


def _id(vis: Visibility, viewer: Viewer, closed: bool, revealed: bool, voted: bool) -> str:
    return "-".join(
        [
            vis.value,
            viewer.value,
            "closed" if closed else "running",
            "revealed" if revealed else "unrevealed",
            "voted" if voted else "not-voted",
        ]
    )


def test_table_lists_every_combination_once() -> None:
    combos = {row[:5] for row in TABLE}

    assert len(combos) == len(TABLE) == len(Visibility) * len(Viewer) * 2 * 2 * 2


@pytest.mark.parametrize(
    ("visibility", "viewer", "closed", "revealed", "voted", "sees"),
    [pytest.param(*row, id=_id(*row[:5])) for row in TABLE],
)
def test_may_see_tally_follows_the_table(
    visibility: Visibility,
    viewer: Viewer,
    closed: bool,
    revealed: bool,
    voted: bool,
    sees: bool,
) -> None:
    result = may_see_tally(visibility, viewer=viewer, closed=closed, revealed=revealed, voted=voted)

    assert result is sees
