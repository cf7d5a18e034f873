"""A ballot's ledger leaf is canonical JSON; its receipt is the RFC 6962 leaf hash."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from rooms.ballots import Ballot

VOTER = "ce0e039dd7d5acf73774b0155e81a814625c7720a0eefa7ee9c950d4eb452135"
NONCE = "00112233445566778899aabbccddeeff"

BALLOT = Ballot(
    question="q1",
    choices=(2, 0),
    time_ms=1_700_000_000_123,
    voter=VOTER,
    nonce=NONCE,
)

#: Written by hand: keys sorted, no spaces, choices in the order given.
LEAF = (
    b'{"c":[2,0],"n":"00112233445566778899aabbccddeeff","q":"q1","t":1700000000123,'
    b'"v":"ce0e039dd7d5acf73774b0155e81a814625c7720a0eefa7ee9c950d4eb452135"}'
)


def test_leaf_is_canonical_json_with_sorted_keys_and_no_spaces() -> None:
    assert BALLOT.leaf() == LEAF


def test_receipt_is_sha256_of_zero_byte_and_leaf() -> None:
    expected = hashlib.sha256(b"\x00" + LEAF).hexdigest()

    assert BALLOT.receipt() == expected
    assert BALLOT.receipt() != hashlib.sha256(LEAF).hexdigest()  # the 0x00 prefix matters
    assert len(BALLOT.receipt()) == 64


def test_non_ascii_text_is_written_as_utf8_in_the_leaf() -> None:
    """As RFC 8785 (JCS) does: UTF-8, not \\u escapes (ids are ASCII in practice)."""
    ballot = dataclasses.replace(BALLOT, question="é", choices=(0,))

    assert ballot.leaf() == (
        b'{"c":[0],"n":"00112233445566778899aabbccddeeff","q":"\xc3\xa9","t":1700000000123,'
        b'"v":"ce0e039dd7d5acf73774b0155e81a814625c7720a0eefa7ee9c950d4eb452135"}'
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"question": "q2"}, id="question"),
        pytest.param({"choices": (0, 2)}, id="choice-order"),
        pytest.param({"choices": (2,)}, id="choices"),
        pytest.param({"time_ms": 1_700_000_000_124}, id="time"),
        pytest.param({"voter": "0" * 64}, id="voter"),
        pytest.param({"nonce": "f" * 32}, id="nonce"),
    ],
)
def test_every_field_changes_the_receipt(change: dict[str, object]) -> None:
    other = dataclasses.replace(BALLOT, **change)  # type: ignore[arg-type]

    assert other.leaf() != LEAF
    assert other.receipt() != BALLOT.receipt()


def test_same_ballot_gives_the_same_receipt() -> None:
    twin = Ballot("q1", (2, 0), 1_700_000_000_123, VOTER, NONCE)

    assert twin == BALLOT
    assert twin.receipt() == BALLOT.receipt()
