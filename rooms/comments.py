"""Comments on citywide polls and reports of them, as plain values: what a comment may
hold, when it may change, where comments are taken, and why a citizen may report one.

- A general poll takes comments; a policy poll only where its department allows it
  (the poll's ``comments`` flag; ``None`` is the kind's default).
- A comment is plain text of 1 to ``MAX_BODY`` characters (line breaks kept, at most
  ``MAX_LINES`` of them); a reply answers a top-level comment: threads are one level.
- Its author edits it within ``EDIT_MINUTES`` of posting and deletes it whenever; a
  deleted or hidden comment keeps its place in the thread with a notice, its text gone.
- A citizen reports a poll or a comment once, with one of ``REPORT_REASONS`` and an
  optional note; monitors see targets ordered by how many open reports they have.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from rooms.errors import N_, ErrorCode, VotingError, bad_request
from rooms.polls import PollKind

E = TypeVar("E", bound=StrEnum)

MAX_BODY = 1000
MAX_LINES = 30
MAX_NOTE = 500
MAX_REASON = 500  #: a monitor's reason for an action
EDIT_MINUTES = 5
PAGE = 50  #: top-level comments one page holds (each with all its replies)
MAX_REPLIES = 200  #: replies one comment takes


class CommentStatus(StrEnum):
    VISIBLE = "visible"
    DELETED = "deleted"  #: by its author, or by a monitor (``status_reason`` says why)
    HIDDEN = "hidden"  #: by a monitor, with a reason


class Target(StrEnum):
    """What a report or a moderation action is about."""

    POLL = "poll"
    COMMENT = "comment"


class ReportReason(StrEnum):
    POLITICAL = "political"
    COMMERCIAL = "commercial"
    OBSCENE = "obscene"
    ABUSE = "abuse"
    PRIVACY = "privacy"
    OTHER = "other"


#: Each reason as the report form names it (translated where shown).
REPORT_REASONS: dict[ReportReason, str] = {
    ReportReason.POLITICAL: N_("Political campaigning"),
    ReportReason.COMMERCIAL: N_("Advertising or selling"),
    ReportReason.OBSCENE: N_("Obscene content"),
    ReportReason.ABUSE: N_("Abuse or hate"),
    ReportReason.PRIVACY: N_("Someone's personal information"),
    ReportReason.OTHER: N_("Something else"),
}


class Action(StrEnum):
    """What a monitor does to a reported target."""

    HIDE = "hide"  #: out of sight of citizens, a notice in its place; can be restored
    DELETE = "delete"  #: gone for good (a poll's ballots and log stay)
    RESTORE = "restore"  #: a hidden target shown again
    DISMISS = "dismiss"  #: the reports were unfounded; the target stays


#: Each entry of the moderation log as people read it (translated where shown).
ACTION_NAMES: dict[str, str] = {
    Action.HIDE: N_("Hidden"),
    Action.DELETE: N_("Deleted"),
    Action.RESTORE: N_("Restored"),
    Action.DISMISS: N_("Reports dismissed"),
    "add_monitor": N_("Monitor appointed"),
    "remove_monitor": N_("Monitor removed"),
    "add_word": N_("Word added"),
    "remove_word": N_("Word removed"),
}


def takes_comments(kind: PollKind, flag: bool | None) -> bool:
    """Whether a poll takes comments: its flag, else yes for a general poll only."""
    return flag if flag is not None else kind is PollKind.GENERAL


def check_body(value: object) -> str:
    """A comment's text as kept: NFC, trimmed, line breaks normalised; refused if empty,
    past ``MAX_BODY`` characters or ``MAX_LINES`` lines, or holding control characters."""
    if not isinstance(value, str):
        raise bad_request(N_("{name} must be text"), name="body")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise bad_request(N_("{name} is required"), name="body")
    if len(text) > MAX_BODY:
        raise bad_request(
            N_("{name} is longer than {limit} characters"), name="body", limit=MAX_BODY
        )
    if text.count("\n") >= MAX_LINES:
        raise bad_request(N_("A comment has at most {limit} lines."), limit=MAX_LINES)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise bad_request(N_("{name} holds control characters"), name="body")
    return text


def check_reason(value: object, *, required: bool = True) -> str:
    """A monitor's reason for an action (the author is told it)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad_request(N_("{name} must be text"), name="reason")
    text = " ".join(value.split())
    if required and not text:
        raise bad_request(N_("{name} is required"), name="reason")
    if len(text) > MAX_REASON:
        raise bad_request(
            N_("{name} is longer than {limit} characters"), name="reason", limit=MAX_REASON
        )
    return text


def check_note(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(N_("{name} must be text"), name="note")
    text = " ".join(value.split())
    if len(text) > MAX_NOTE:
        raise bad_request(
            N_("{name} is longer than {limit} characters"), name="note", limit=MAX_NOTE
        )
    return text


def check_enum(kind: type[E], value: object, name: str) -> E:
    try:
        return kind(value)  # type: ignore[arg-type]
    except ValueError:
        choices = ", ".join(e.value for e in kind)
        raise bad_request(
            N_("{name} must be one of: {choices}"), name=name, choices=choices
        ) from None


def may_edit(created_ms: int, now_ms: int) -> None:
    if now_ms - created_ms > EDIT_MINUTES * 60_000:
        raise VotingError(ErrorCode.EDIT_TIME_OVER, minutes=EDIT_MINUTES)


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    poll_id: str
    parent_id: str | None
    author: str  #: the name shown
    mine: bool  #: written by the asking citizen
    voted: bool  #: its author has a ballot on the poll (never which)
    body: str  #: empty unless visible
    created_ms: int
    edited_ms: int | None
    status: CommentStatus
    status_reason: str

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "parent": self.parent_id,
            "author": self.author,
            "mine": self.mine,
            "voted": self.voted,
            "body": self.body if self.status is CommentStatus.VISIBLE else "",
            "created_ms": self.created_ms,
            "edited_ms": self.edited_ms,
            "status": str(self.status),
            "reason": self.status_reason if self.status is not CommentStatus.VISIBLE else "",
        }
