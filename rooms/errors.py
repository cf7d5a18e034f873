"""Errors a client can see: a stable code and a human sentence built from named fields.

The tree is flat::

    VotingError          -- every refusal the domain decides (carries an ErrorCode)

Refusals such as ``closed`` or ``already_voted`` are normal outcomes of voting; they are
raised as ``VotingError`` so that one edge (``live.errors``) turns them into an ack or a
JSON body of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"  #: the payload is not what the protocol says
    BAD_CREDENTIALS = "bad_credentials"  #: wrong room password, join key or host password
    UNKNOWN_ROOM = "unknown_room"  #: no active room with that number
    UNKNOWN_QUESTION = "unknown_question"  #: no such question in this room
    NOT_JOINED = "not_joined"  #: the connection has not joined a room yet
    CLOSED = "closed"  #: the question is not open for voting
    ALREADY_VOTED = "already_voted"  #: this voter already has a ballot on the question
    NOT_ELIGIBLE = "not_eligible"  #: this voter may not vote on the question
    INVALID_CHOICE = "invalid_choice"  #: a choice is not an option of the question
    TOO_MANY_CHOICES = "too_many_choices"  #: more picks than the question allows
    FULL = "full"  #: the question took its first ``max_ballots`` ballots (first come)
    EMPTY_ANSWER = "empty_answer"  #: an open-text answer with no letter or digit
    ANSWER_TOO_LONG = "answer_too_long"  #: an open-text answer past ``limit`` characters
    DUPLICATE_ANSWER = "duplicate_answer"  #: one ballot gave the same answer twice
    PART_UNANSWERED = "part_unanswered"  #: a survey ballot left out a required ``part``
    RATE_LIMITED = "rate_limited"  #: too many failed attempts; try again in ``retry_after`` s
    TOO_MANY_DEVICES = "too_many_devices"  #: the client's network cast its share of ballots
    UNAUTHORIZED = "unauthorized"  #: sign in first
    FORBIDDEN = "forbidden"  #: signed in, but not a host of this room
    NOT_OWNER = "not_owner"  #: a co-host asked for what only the room's owner may do
    NOT_FOUND = "not_found"  #: no such resource
    CONFLICT = "conflict"  #: the resource exists already (e.g. an e-mail in use)
    INVALID_STATE = "invalid_state"  #: the action does not apply in the current state
    NOT_DRAINED = "not_drained"  #: the archive has not caught up with the tally yet
    UNAVAILABLE = "unavailable"  #: a backing service is not reachable
    NOT_LOGGED_YET = "not_logged_yet"  #: the ballot counts; its log entry is being written
    RECEIPTS_OFF = "receipts_off"  #: the host turned receipts off for the question
    QUOTA_EXCEEDED = "quota_exceeded"  #: the host's uploaded images would pass its quota
    RESULTS_HIDDEN = "results_hidden"  #: the poll's log is read once its results are shown
    INVALID_PHONE = "invalid_phone"  #: not a mobile number (never repeated back)
    BAD_CODE = "bad_code"  #: a one-time code is six digits
    WRONG_CODE = "wrong_code"  #: the code does not match; ``attempts_left`` more may be tried
    CODE_EXPIRED = "code_expired"  #: no code is waiting (never sent, used, or past its time)
    BAD_SIGN_IN = "bad_sign_in"  #: a citizen's number and password do not match an account
    PASSWORD_CHANGE_REQUIRED = "password_change_required"  #: a one-time password is to be changed
    NOT_ADMIN = "not_admin"  #: only the city's administrators may see this
    NOT_OFFICIAL = "not_official"  #: only a department's officials open policy polls
    NOT_AUTHOR = "not_author"  #: only a poll's author (or department) may change it
    # a roster's file (``rooms.rosters``): refused whole, nothing saved
    WRONG_FILE_TYPE = "wrong_file_type"  #: not the workbook or CSV its name says
    BROKEN_FILE = "broken_file"  #: a workbook that cannot be read safely
    EMPTY_FILE = "empty_file"  #: a file with no rows
    FILE_TOO_LARGE = "file_too_large"  #: past ``max_mb`` MiB (refused before it is read)
    FORMULA_IN_FILE = "formula_in_file"  #: a formula in ``cell``
    TOO_MANY_ROWS = "too_many_rows"  #: more than ``max`` rows
    BLANK_ROWS = "blank_rows"  #: a run of blank rows from ``row`` with more after it
    NO_PHONE_COLUMN = "no_phone_column"  #: no column of phone numbers found
    #: the poll is for an audience the voter's profile does not say they belong to
    PROFILE_INCOMPLETE = "profile_incomplete"
    POSITION_NEEDED = "position_needed"  #: the poll takes ballots near a place: send one
    OUT_OF_AREA = "out_of_area"  #: the ballot's position is outside the poll's radius
    SITE_CODE_NEEDED = "site_code_needed"  #: the room takes ballots from those on site
    WRONG_SITE_CODE = "wrong_site_code"  #: the on-site code is not (or no longer) valid
    # the public square (``live.moderation``, ``live.comments``, ``live.notify``)
    NOT_MONITOR = "not_monitor"  #: only monitors (and administrators) moderate
    PROHIBITED_WORD = "prohibited_word"  #: the text holds the prohibited ``word``
    COMMENTS_OFF = "comments_off"  #: the poll takes no comments
    EDIT_TIME_OVER = "edit_time_over"  #: a comment is edited within ``minutes`` of posting
    POLL_HIDDEN = "poll_hidden"  #: monitors hid or deleted the poll: ``reason``


def N_(message: str) -> str:
    """Marks a sentence for translation where it is defined; it is translated where shown."""
    return message


_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: N_("The request is malformed: {detail}."),
    ErrorCode.BAD_CREDENTIALS: N_("The room number or password is wrong."),
    ErrorCode.UNKNOWN_ROOM: N_("There is no open room with number {room}."),
    ErrorCode.UNKNOWN_QUESTION: N_("This room has no question {question}."),
    ErrorCode.NOT_JOINED: N_("Join a room before voting."),
    ErrorCode.CLOSED: N_("Voting on this question is closed."),
    ErrorCode.ALREADY_VOTED: N_("You have already voted on this question."),
    ErrorCode.NOT_ELIGIBLE: N_("You are not eligible to vote on this question."),
    ErrorCode.INVALID_CHOICE: N_("Choose among the question's options."),
    ErrorCode.TOO_MANY_CHOICES: N_("Choose at most {max_choices} of the options."),
    ErrorCode.FULL: N_("This question took its first ballots, as many as it accepts; it is full."),
    ErrorCode.EMPTY_ANSWER: N_("Write an answer with at least one letter or digit."),
    ErrorCode.ANSWER_TOO_LONG: N_("Keep each answer to {limit} characters or fewer."),
    ErrorCode.DUPLICATE_ANSWER: N_("You gave the same answer twice."),
    ErrorCode.PART_UNANSWERED: N_("Answer every required part of the survey."),
    ErrorCode.RATE_LIMITED: N_("Too many failed attempts; try again in {retry_after} s."),
    ErrorCode.TOO_MANY_DEVICES: N_(
        "Too many devices from this network have voted on this question."
    ),
    ErrorCode.UNAUTHORIZED: N_("Sign in first."),
    ErrorCode.FORBIDDEN: N_("You are not a host of this room."),
    ErrorCode.NOT_OWNER: N_("Only the room's owner can manage its hosts."),
    ErrorCode.NOT_FOUND: N_("There is no {what}."),
    ErrorCode.CONFLICT: N_("{detail}"),
    ErrorCode.INVALID_STATE: N_("{detail}"),
    ErrorCode.NOT_DRAINED: N_("Ballots are still being archived; try again in a moment."),
    ErrorCode.UNAVAILABLE: N_("The service is not available right now; try again."),
    ErrorCode.NOT_LOGGED_YET: N_(
        "Your ballot is counted. Its proof is ready a few seconds after it is written to the "
        "log and the witnesses cosign it; try again in a moment."
    ),
    ErrorCode.RECEIPTS_OFF: N_("The host turned receipts off for this question."),
    ErrorCode.QUOTA_EXCEEDED: N_(
        "Your uploaded images would take more than your {quota_mb} MiB; images no question "
        "uses are removed after a while."
    ),
    ErrorCode.RESULTS_HIDDEN: N_(
        "The results of this question are not shown yet; its log can be read once they are."
    ),
    ErrorCode.INVALID_PHONE: N_("Give a mobile phone number, such as 010-1234-5678."),
    ErrorCode.BAD_CODE: N_("The code has six digits."),
    ErrorCode.WRONG_CODE: N_("The code is wrong. Tries left before a lock: {attempts_left}."),
    ErrorCode.CODE_EXPIRED: N_("This code has expired or was used; ask for a new one."),
    ErrorCode.BAD_SIGN_IN: N_("The phone number or password is wrong."),
    ErrorCode.PASSWORD_CHANGE_REQUIRED: N_(
        "Choose a new password first: the one you were given works only once."
    ),
    ErrorCode.NOT_ADMIN: N_("Only the city's administrators can see this page."),
    ErrorCode.NOT_OFFICIAL: N_("Only a department's officials can open policy polls."),
    ErrorCode.NOT_AUTHOR: N_("Only the poll's author can change it."),
    ErrorCode.WRONG_FILE_TYPE: N_(
        "This file is not a real workbook (.xlsx) or CSV file; save it again as one of them."
    ),
    ErrorCode.BROKEN_FILE: N_(
        "The file is damaged or holds content that is not allowed; save it again from your "
        "spreadsheet program."
    ),
    ErrorCode.EMPTY_FILE: N_("The file holds no rows."),
    ErrorCode.FILE_TOO_LARGE: N_("The file is larger than {max_mb} MiB."),
    ErrorCode.FORMULA_IN_FILE: N_(
        "Cell {cell} holds a formula; save the sheet with plain values only."
    ),
    ErrorCode.TOO_MANY_ROWS: N_("The file has more than {max} rows; split it into smaller files."),
    ErrorCode.BLANK_ROWS: N_(
        "From row {row} the sheet has {run} blank rows in a row, and more rows after them that "
        "are not read: delete the blank rows and upload the file again."
    ),
    ErrorCode.NO_PHONE_COLUMN: N_(
        "No column of phone numbers was found: head it 전화번호 or phone, or put the numbers "
        "in the first column."
    ),
    ErrorCode.PROFILE_INCOMPLETE: N_(
        "This poll is for part of the city: add your birth year, gender, district or job "
        "on your account page to take part."
    ),
    ErrorCode.POSITION_NEEDED: N_(
        "This poll takes ballots near its place: allow your browser to share your position."
    ),
    ErrorCode.OUT_OF_AREA: N_("Your position is outside the area this poll takes ballots from."),
    ErrorCode.SITE_CODE_NEEDED: N_(
        "This room takes ballots from those present: scan the code on the screen in the room."
    ),
    ErrorCode.WRONG_SITE_CODE: N_(
        "That on-site code is not valid any more: scan the code on the screen in the room again."
    ),
    ErrorCode.NOT_MONITOR: N_("Only monitors and the city's administrators can do this."),
    ErrorCode.PROHIBITED_WORD: N_("“{word}” is not allowed here. Please write it another way."),
    ErrorCode.COMMENTS_OFF: N_("This poll does not take comments."),
    ErrorCode.EDIT_TIME_OVER: N_(
        "A comment can be edited only in the first {minutes} minutes after posting."
    ),
    ErrorCode.POLL_HIDDEN: N_("This poll was hidden by the monitors (reason: {reason})."),
}


#: Fields a client reads besides the sentence: ``as_dict`` carries them as they are.
#: ``part``: the index of the survey part a refusal is about (``rooms.survey``).
PUBLIC_FIELDS = ("retry_after", "attempts_left", "part", "word")


def _verbatim(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True, eq=False)
class Phrase:
    """Words in a refusal's field that are translated with it: a template of their own
    (marked with ``N_`` where it is written) and its fields, themselves values or phrases.

    ``VotingError(ErrorCode.BAD_REQUEST, detail=Phrase(N_("{name} is required"),
    {"name": Phrase(N_("title"))}))`` reads "The request is malformed: title is required."
    in English and the same sentence, every part translated, in Korean.
    """

    template: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = _verbatim) -> str:
        return fill(self.template, self.fields, translate)

    def __str__(self) -> str:
        return self.render()

    def __eq__(self, other: object) -> bool:
        """Equal to the same phrase, and to its English text (what a field used to hold)."""
        if isinstance(other, Phrase):
            return (self.template, dict(self.fields)) == (other.template, dict(other.fields))
        if isinstance(other, str):
            return self.render() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def phrase(template: str, **fields: Any) -> Phrase:
    return Phrase(template, fields)


def fill(template: str, fields: Mapping[str, Any], translate: Callable[[str], str]) -> str:
    """``template`` translated, its fields (phrases translated too) put in; a template
    whose fields are not all given is shown as it is."""
    values = {k: v.render(translate) if isinstance(v, Phrase) else v for k, v in fields.items()}
    text = translate(template)
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text


class VotingError(Exception):
    """A refusal with a stable ``code``; the message is built from ``fields``."""

    def __init__(self, code: ErrorCode, *, sentence: str | None = None, **fields: Any) -> None:
        """``sentence``: another template than the code's own, where one code covers
        refusals that read differently (a host's wrong password is ``bad_credentials``,
        as a wrong room password is, but does not speak of a room number)."""
        self.code = code
        self.fields = fields
        self.template = sentence or _MESSAGES[code]
        self.message = self.text()
        super().__init__(f"{code}: {self.message}")

    def text(self, translate: Callable[[str], str] = _verbatim) -> str:
        """The sentence in the language of ``translate`` (a catalog's ``gettext``)."""
        return fill(self.template, self.fields, translate)

    def as_dict(self, translate: Callable[[str], str] | None = None) -> dict[str, Any]:
        """``{"code", "message"}`` (and the public fields); the message in the language of
        ``translate`` if given, else English."""
        message = self.message if translate is None else self.text(translate)
        body: dict[str, Any] = {"code": str(self.code), "message": message}
        for name in PUBLIC_FIELDS:
            if name in self.fields:
                body[name] = self.fields[name]
        return body


def bad_request(detail: str | Phrase, **fields: Any) -> VotingError:
    """``bad_request(N_("{name} is required"), name=...)``: what is wrong in the request,
    a template of its own, translated where it is shown."""
    what = detail if isinstance(detail, Phrase) else Phrase(detail, fields)
    return VotingError(ErrorCode.BAD_REQUEST, detail=what)


def invalid_state(detail: str, **fields: Any) -> VotingError:
    """An action that does not apply now: ``detail`` says why (an ``N_`` template)."""
    return VotingError(ErrorCode.INVALID_STATE, detail=Phrase(detail, fields))


def conflict(detail: str, **fields: Any) -> VotingError:
    return VotingError(ErrorCode.CONFLICT, detail=Phrase(detail, fields))


def not_found(what: str, id: object = None) -> VotingError:
    """``There is no <what>.``: ``what`` names the thing (an ``N_`` template such as
    ``"room {id}"``), ``id`` which one."""
    return VotingError(ErrorCode.NOT_FOUND, what=Phrase(what, {} if id is None else {"id": id}))
