"""Parsing the live protocol's join and vote payloads."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.errors import ErrorCode, VotingError
from rooms.protocol import MAX_SECRET, JoinRequest, VoteRequest, parse_join, parse_vote

# --- join -----------------------------------------------------------------------------

#: A valid join; every case below changes only what it is about.
JOIN: dict[str, Any] = {"room": "123456", "password": "hunter2"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(JOIN, JoinRequest("123456", password="hunter2"), id="password"),
        pytest.param(
            {"room": "000001", "key": "k3y"}, JoinRequest("000001", key="k3y"), id="join-key"
        ),
        pytest.param(
            {"room": "999999", "presenter": "p"},
            JoinRequest("999999", presenter="p"),
            id="presenter",
        ),
        pytest.param({**JOIN, "room": 42}, JoinRequest("000042", "hunter2"), id="int-room-padded"),
        pytest.param({**JOIN, "room": 0}, JoinRequest("000000", "hunter2"), id="int-room-zero"),
        pytest.param(
            {**JOIN, "room": 999999}, JoinRequest("999999", "hunter2"), id="int-room-six-digits"
        ),
        pytest.param({**JOIN, "password": ""}, JoinRequest("123456", ""), id="empty-password"),
        pytest.param(
            {**JOIN, "password": "p" * MAX_SECRET},
            JoinRequest("123456", "p" * MAX_SECRET),
            id="password-at-length-limit",
        ),
        pytest.param(
            {**JOIN, "key": None, "presenter": None},
            JoinRequest("123456", "hunter2"),
            id="null-credentials-are-absent",
        ),
        pytest.param(
            {**JOIN, "extra": "ignored"}, JoinRequest("123456", "hunter2"), id="unknown-key-ignored"
        ),
    ],
)
def test_valid_join_is_parsed_exactly(data: dict[str, Any], expected: JoinRequest) -> None:
    assert parse_join(data) == expected


ROOM = "room is a six-digit number"
ONE_CREDENTIAL = "give exactly one of password, key or presenter"


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        # not an object
        pytest.param(
            None, "join takes an object with room and one of password, key or presenter", id="none"
        ),
        pytest.param(
            "123456",
            "join takes an object with room and one of password, key or presenter",
            id="str",
        ),
        pytest.param(
            ["123456", "hunter2"],
            "join takes an object with room and one of password, key or presenter",
            id="list",
        ),
        # room
        pytest.param({"password": "hunter2"}, ROOM, id="room-missing"),
        pytest.param({**JOIN, "room": None}, ROOM, id="room-none"),
        pytest.param({**JOIN, "room": "12345"}, ROOM, id="room-five-digits"),
        pytest.param({**JOIN, "room": "1234567"}, ROOM, id="room-seven-digits"),
        pytest.param({**JOIN, "room": "12345a"}, ROOM, id="room-letter"),
        pytest.param({**JOIN, "room": " 123456"}, ROOM, id="room-leading-space"),
        pytest.param({**JOIN, "room": "123456\n"}, ROOM, id="room-trailing-newline"),
        pytest.param({**JOIN, "room": "123 456"}, ROOM, id="room-inner-space"),
        pytest.param({**JOIN, "room": ""}, ROOM, id="room-empty"),
        pytest.param({**JOIN, "room": "١٢٣٤٥٦"}, ROOM, id="room-arabic-indic-digits"),
        pytest.param({**JOIN, "room": "１２３４５６"}, ROOM, id="room-fullwidth-digits"),
        pytest.param({**JOIN, "room": 1234567}, ROOM, id="int-room-seven-digits"),
        pytest.param({**JOIN, "room": -1}, ROOM, id="int-room-negative"),
        pytest.param({**JOIN, "room": True}, ROOM, id="room-bool"),
        pytest.param({**JOIN, "room": 123456.0}, ROOM, id="room-float"),
        pytest.param({**JOIN, "room": ["123456"]}, ROOM, id="room-list"),
        # credentials
        pytest.param({"room": "123456"}, ONE_CREDENTIAL, id="no-credential"),
        pytest.param({**JOIN, "password": None}, ONE_CREDENTIAL, id="null-credential"),
        pytest.param({**JOIN, "key": "k3y"}, ONE_CREDENTIAL, id="password-and-key"),
        pytest.param({**JOIN, "presenter": "p"}, ONE_CREDENTIAL, id="password-and-presenter"),
        pytest.param(
            {"room": "123456", "key": "k", "presenter": "p"},
            ONE_CREDENTIAL,
            id="key-and-presenter",
        ),
        pytest.param(
            {**JOIN, "key": "k", "presenter": "p"}, ONE_CREDENTIAL, id="all-three-credentials"
        ),
        pytest.param({**JOIN, "password": 1234}, "password must be text", id="password-int"),
        pytest.param({**JOIN, "password": False}, "password must be text", id="password-bool"),
        pytest.param(
            {**JOIN, "password": ["hunter2"]}, "password must be text", id="password-list"
        ),
        pytest.param(
            {**JOIN, "password": "p" * (MAX_SECRET + 1)},
            "password must be text",
            id="password-too-long",
        ),
        pytest.param({"room": "123456", "key": {"k": 1}}, "key must be text", id="key-not-text"),
        pytest.param(
            {"room": "123456", "presenter": 7}, "presenter must be text", id="presenter-not-text"
        ),
    ],
)
def test_malformed_join_is_refused_as_bad_request(data: object, detail: str) -> None:
    with pytest.raises(VotingError) as caught:
        parse_join(data)

    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {"detail": detail}


# --- vote -----------------------------------------------------------------------------

NONCE = "0123456789abcdef0123456789abcdef"
VOTE: dict[str, Any] = {"question": "q1", "choices": [0]}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(VOTE, VoteRequest("q1", (0,)), id="minimal"),
        pytest.param({**VOTE, "nonce": NONCE}, VoteRequest("q1", (0,), NONCE), id="with-nonce"),
        pytest.param({**VOTE, "nonce": None}, VoteRequest("q1", (0,)), id="null-nonce"),
        pytest.param(
            {**VOTE, "choices": [3, 1, 2]}, VoteRequest("q1", (3, 1, 2)), id="several-choices"
        ),
        pytest.param(
            {**VOTE, "choices": [-1, 1, 1]},
            VoteRequest("q1", (-1, 1, 1)),
            id="range-and-duplicates-left-to-check-choices",
        ),
        pytest.param(
            {**VOTE, "choices": list(range(64))},
            VoteRequest("q1", tuple(range(64))),
            id="sixty-four-choices",
        ),
        pytest.param(
            {**VOTE, "question": "Ab_-9" + "x" * 59},
            VoteRequest("Ab_-9" + "x" * 59, (0,)),
            id="question-id-64-chars",
        ),
        pytest.param({**VOTE, "extra": 1}, VoteRequest("q1", (0,)), id="unknown-key-ignored"),
    ],
)
def test_valid_vote_is_parsed_exactly(data: dict[str, Any], expected: VoteRequest) -> None:
    parsed = parse_vote(data)

    assert parsed == expected
    assert type(parsed.choices) is tuple


QUESTION = "question is a question id"
NON_EMPTY = "choices is a non-empty list of option indexes"
INDEXES = "choices is a list of option indexes"
NONCE_HEX = "nonce is 32 lowercase hex digits"


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        # not an object
        pytest.param(None, "vote takes an object with question and choices", id="none"),
        pytest.param([0], "vote takes an object with question and choices", id="list"),
        pytest.param("q1", "vote takes an object with question and choices", id="str"),
        # question
        pytest.param({"choices": [0]}, QUESTION, id="question-missing"),
        pytest.param({**VOTE, "question": ""}, QUESTION, id="question-empty"),
        pytest.param({**VOTE, "question": 1}, QUESTION, id="question-int"),
        pytest.param({**VOTE, "question": "q 1"}, QUESTION, id="question-space"),
        pytest.param({**VOTE, "question": "q1\n"}, QUESTION, id="question-newline"),
        pytest.param({**VOTE, "question": "q/1"}, QUESTION, id="question-slash"),
        pytest.param({**VOTE, "question": "qé"}, QUESTION, id="question-non-ascii"),
        pytest.param({**VOTE, "question": "x" * 65}, QUESTION, id="question-65-chars"),
        # choices: shape
        pytest.param({"question": "q1"}, NON_EMPTY, id="choices-missing"),
        pytest.param({**VOTE, "choices": []}, NON_EMPTY, id="choices-empty"),
        pytest.param({**VOTE, "choices": 0}, NON_EMPTY, id="choices-int"),
        pytest.param({**VOTE, "choices": (0,)}, NON_EMPTY, id="choices-tuple"),
        pytest.param({**VOTE, "choices": "0"}, NON_EMPTY, id="choices-str"),
        pytest.param({**VOTE, "choices": {0: 1}}, NON_EMPTY, id="choices-dict"),
        pytest.param({**VOTE, "choices": list(range(65))}, NON_EMPTY, id="choices-65"),
        # choices: items
        pytest.param({**VOTE, "choices": [True]}, INDEXES, id="choice-bool"),
        pytest.param({**VOTE, "choices": [0, False]}, INDEXES, id="choice-bool-after-int"),
        pytest.param({**VOTE, "choices": ["0"]}, INDEXES, id="choice-str"),
        pytest.param({**VOTE, "choices": [0.0]}, INDEXES, id="choice-float"),
        pytest.param({**VOTE, "choices": [None]}, INDEXES, id="choice-none"),
        pytest.param({**VOTE, "choices": [[0]]}, INDEXES, id="choice-nested-list"),
        # nonce
        pytest.param({**VOTE, "nonce": ""}, NONCE_HEX, id="nonce-empty"),
        pytest.param({**VOTE, "nonce": NONCE[:-1]}, NONCE_HEX, id="nonce-31-digits"),
        pytest.param({**VOTE, "nonce": NONCE + "0"}, NONCE_HEX, id="nonce-33-digits"),
        pytest.param({**VOTE, "nonce": NONCE.upper()}, NONCE_HEX, id="nonce-uppercase"),
        pytest.param({**VOTE, "nonce": "g" * 32}, NONCE_HEX, id="nonce-not-hex"),
        pytest.param({**VOTE, "nonce": 12345}, NONCE_HEX, id="nonce-int"),
        pytest.param({**VOTE, "nonce": [NONCE]}, NONCE_HEX, id="nonce-list"),
    ],
)
def test_malformed_vote_is_refused_as_bad_request(data: object, detail: str) -> None:
    with pytest.raises(VotingError) as caught:
        parse_vote(data)

    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {"detail": detail}
