"""Who may see a question, and its tally, and when.

An attendee sees a question once it has opened; a draft (prepared, or back in preparation
after a reset) is the hosts' alone. The phase switches of the tally are data: each
visibility mode names the states in which an attendee sees results; hosts and presenters
always do, and a host's *reveal* opens them to all. A poll's log is read under the same
rule as its tally (``live.web.ledger``): its entries, sizes and proofs are the results.
"""

from __future__ import annotations

from enum import StrEnum


class Visibility(StrEnum):
    LIVE = "live"  #: everyone sees the tally while voting runs
    AFTER_VOTE = "after_vote"  #: an attendee sees it once they have voted (or it closed)
    AFTER_CLOSE = "after_close"  #: hidden from attendees until the question closes


class Viewer(StrEnum):
    ATTENDEE = "attendee"  #: a phone in the audience
    HOST = "host"  #: the host console or the presenter screen


#: For each mode, which facts open the tally to an attendee.
_OPENS_ON: dict[Visibility, frozenset[str]] = {
    Visibility.LIVE: frozenset({"always"}),
    Visibility.AFTER_VOTE: frozenset({"voted", "closed"}),
    Visibility.AFTER_CLOSE: frozenset({"closed"}),
}


def may_see_question(*, viewer: Viewer, draft: bool) -> bool:
    """Whether this viewer may see the question's definition (title, options) now."""
    return viewer is Viewer.HOST or not draft


def may_see_tally(
    visibility: Visibility, *, viewer: Viewer, closed: bool, revealed: bool, voted: bool
) -> bool:
    """Whether this viewer may see the question's tally now."""
    if viewer is Viewer.HOST or revealed:
        return True
    facts = {"always"}
    if closed:
        facts.add("closed")
    if voted:
        facts.add("voted")
    return bool(_OPENS_ON[visibility] & facts)
