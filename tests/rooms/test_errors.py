"""VotingError: a stable code and a sentence built from named fields."""

from __future__ import annotations

import pytest

from rooms.errors import ErrorCode, Phrase, VotingError, bad_request

#: The sentence each code gives when it is raised without any fields.
MESSAGE_WITHOUT_FIELDS = {
    ErrorCode.BAD_REQUEST: "The request is malformed: {detail}.",
    ErrorCode.BAD_CREDENTIALS: "The room number or password is wrong.",
    ErrorCode.UNKNOWN_ROOM: "There is no open room with number {room}.",
    ErrorCode.UNKNOWN_QUESTION: "This room has no question {question}.",
    ErrorCode.NOT_JOINED: "Join a room before voting.",
    ErrorCode.CLOSED: "Voting on this question is closed.",
    ErrorCode.ALREADY_VOTED: "You have already voted on this question.",
    ErrorCode.NOT_ELIGIBLE: "You are not eligible to vote on this question.",
    ErrorCode.INVALID_CHOICE: "Choose among the question's options.",
    ErrorCode.TOO_MANY_CHOICES: "Choose at most {max_choices} of the options.",
    ErrorCode.EMPTY_ANSWER: "Write an answer with at least one letter or digit.",
    ErrorCode.ANSWER_TOO_LONG: "Keep each answer to {limit} characters or fewer.",
    ErrorCode.DUPLICATE_ANSWER: "You gave the same answer twice.",
    ErrorCode.PART_UNANSWERED: "Answer every required part of the survey.",
    ErrorCode.RATE_LIMITED: "Too many failed attempts; try again in {retry_after} s.",
    ErrorCode.TOO_MANY_DEVICES: "Too many devices from this network have voted on this question.",
    ErrorCode.UNAUTHORIZED: "Sign in first.",
    ErrorCode.FORBIDDEN: "You are not a host of this room.",
    ErrorCode.NOT_OWNER: "Only the room's owner can manage its hosts.",
    ErrorCode.NOT_FOUND: "There is no {what}.",
    ErrorCode.CONFLICT: "{detail}",
    ErrorCode.INVALID_STATE: "{detail}",
    ErrorCode.NOT_DRAINED: "Ballots are still being archived; try again in a moment.",
    ErrorCode.UNAVAILABLE: "The service is not available right now; try again.",
    ErrorCode.NOT_LOGGED_YET: "Your ballot is counted. Its proof is ready a few seconds after it "
    "is written to the log and the witnesses cosign it; try again in a moment.",
    ErrorCode.RECEIPTS_OFF: "The host turned receipts off for this question.",
    ErrorCode.QUOTA_EXCEEDED: "Your uploaded images would take more than your {quota_mb} MiB; "
    "images no question uses are removed after a while.",
    ErrorCode.RESULTS_HIDDEN: "The results of this question are not shown yet; its log can be "
    "read once they are.",
    ErrorCode.INVALID_PHONE: "Give a mobile phone number, such as 010-1234-5678.",
    ErrorCode.BAD_CODE: "The code has six digits.",
    ErrorCode.WRONG_CODE: "The code is wrong. Tries left before a lock: {attempts_left}.",
    ErrorCode.CODE_EXPIRED: "This code has expired or was used; ask for a new one.",
    ErrorCode.BAD_SIGN_IN: "The phone number or password is wrong.",
    ErrorCode.PASSWORD_CHANGE_REQUIRED: "Choose a new password first: the one you were given "
    "works only once.",
    ErrorCode.NOT_ADMIN: "Only the city's administrators can see this page.",
    ErrorCode.NOT_OFFICIAL: "Only a department's officials can open policy polls.",
    ErrorCode.NOT_AUTHOR: "Only the poll's author can change it.",
    ErrorCode.WRONG_FILE_TYPE: (
        "This file is not a real workbook (.xlsx) or CSV file; save it again as one of them."
    ),
    ErrorCode.BROKEN_FILE: (
        "The file is damaged or holds content that is not allowed; save it again from your "
        "spreadsheet program."
    ),
    ErrorCode.EMPTY_FILE: "The file holds no rows.",
    ErrorCode.FILE_TOO_LARGE: "The file is larger than {max_mb} MiB.",
    ErrorCode.FORMULA_IN_FILE: (
        "Cell {cell} holds a formula; save the sheet with plain values only."
    ),
    ErrorCode.TOO_MANY_ROWS: "The file has more than {max} rows; split it into smaller files.",
    ErrorCode.BLANK_ROWS: (
        "From row {row} the sheet has {run} blank rows in a row, and more rows after them that "
        "are not read: delete the blank rows and upload the file again."
    ),
    ErrorCode.NO_PHONE_COLUMN: (
        "No column of phone numbers was found: head it 전화번호 or phone, or put the numbers "
        "in the first column."
    ),
    ErrorCode.FULL: "This question took its first ballots, as many as it accepts; it is full.",
    ErrorCode.PROFILE_INCOMPLETE: (
        "This poll is for part of the city: add your birth year, gender, district or job "
        "on your account page to take part."
    ),
    ErrorCode.POSITION_NEEDED: (
        "This poll takes ballots near its place: allow your browser to share your position."
    ),
    ErrorCode.OUT_OF_AREA: "Your position is outside the area this poll takes ballots from.",
    ErrorCode.SITE_CODE_NEEDED: (
        "This room takes ballots from those present: scan the code on the screen in the room."
    ),
    ErrorCode.WRONG_SITE_CODE: (
        "That on-site code is not valid any more: scan the code on the screen in the room again."
    ),
    ErrorCode.NOT_MONITOR: "Only monitors and the city's administrators can do this.",
    ErrorCode.PROHIBITED_WORD: "“{word}” is not allowed here. Please write it another way.",
    ErrorCode.COMMENTS_OFF: "This poll does not take comments.",
    ErrorCode.EDIT_TIME_OVER: (
        "A comment can be edited only in the first {minutes} minutes after posting."
    ),
    ErrorCode.POLL_HIDDEN: "This poll was hidden by the monitors (reason: {reason}).",
}


def test_every_code_has_a_sentence() -> None:
    assert set(MESSAGE_WITHOUT_FIELDS) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_error_without_fields_carries_its_code_and_template(code: ErrorCode) -> None:
    err = VotingError(code)

    assert err.code is code
    assert err.fields == {}
    assert err.message == MESSAGE_WITHOUT_FIELDS[code]
    assert str(err) == f"{code.value}: {MESSAGE_WITHOUT_FIELDS[code]}"


@pytest.mark.parametrize(
    ("code", "fields", "message"),
    [
        pytest.param(
            ErrorCode.UNKNOWN_ROOM,
            {"room": "123456"},
            "There is no open room with number 123456.",
            id="unknown-room",
        ),
        pytest.param(
            ErrorCode.TOO_MANY_CHOICES,
            {"max_choices": 3},
            "Choose at most 3 of the options.",
            id="too-many-choices",
        ),
        pytest.param(
            ErrorCode.NOT_FOUND,
            {"what": Phrase("room {id}", {"id": 7})},
            "There is no room 7.",
            id="not-found-a-phrase",
        ),
        pytest.param(
            ErrorCode.INVALID_STATE,
            {"detail": Phrase("The question is open already.")},
            "The question is open already.",
            id="invalid-state",
        ),
        pytest.param(
            ErrorCode.CONFLICT,
            {"detail": "That e-mail is in use."},
            "That e-mail is in use.",
            id="conflict-detail-only",
        ),
        pytest.param(
            ErrorCode.RATE_LIMITED,
            {"retry_after": 30},
            "Too many failed attempts; try again in 30 s.",
            id="rate-limited",
        ),
        pytest.param(
            ErrorCode.CLOSED,
            {"question": "q1"},
            "Voting on this question is closed.",
            id="unused-field-is-ignored",
        ),
    ],
)
def test_message_is_built_from_named_fields(
    code: ErrorCode, fields: dict[str, object], message: str
) -> None:
    err = VotingError(code, **fields)

    assert err.message == message
    assert err.fields == fields
    assert str(err) == f"{code.value}: {message}"


def test_missing_field_falls_back_to_the_whole_template() -> None:
    err = VotingError(ErrorCode.UNKNOWN_ROOM, number="1")

    assert err.message == "There is no open room with number {room}."
    assert err.fields == {"number": "1"}


def test_as_dict_has_exactly_code_and_message_as_text() -> None:
    err = VotingError(ErrorCode.TOO_MANY_CHOICES, max_choices=2)

    d = err.as_dict()

    assert d == {"code": "too_many_choices", "message": "Choose at most 2 of the options."}
    assert type(d["code"]) is str


def test_as_dict_carries_the_retry_time_of_a_rate_limited_refusal() -> None:
    d = VotingError(ErrorCode.RATE_LIMITED, retry_after=4).as_dict()

    assert d == {
        "code": "rate_limited",
        "message": "Too many failed attempts; try again in 4 s.",
        "retry_after": 4,
    }


def test_bad_request_puts_the_detail_in_the_sentence() -> None:
    err = bad_request("room is a six-digit number")

    assert isinstance(err, VotingError)
    assert err.code is ErrorCode.BAD_REQUEST
    assert err.fields == {"detail": "room is a six-digit number"}
    assert err.message == "The request is malformed: room is a six-digit number."


def test_voting_error_is_raised_and_caught_as_an_exception() -> None:
    with pytest.raises(VotingError) as caught:
        raise VotingError(ErrorCode.ALREADY_VOTED)

    assert caught.value.code is ErrorCode.ALREADY_VOTED
