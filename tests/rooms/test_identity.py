"""Keyed references: per-question voter references and signed device tokens.

The expected digests were computed outside Python with ``openssl dgst -sha256 -hmac``.
"""

from __future__ import annotations

import pytest

from rooms.identity import sign_device, verify_device, voter_ref

SECRET = b"sekrit"
OTHER_SECRET = b"sekrit2"

# printf 'mvoting-voter/v1\nq1\nalice' | openssl dgst -sha256 -hmac sekrit
ALICE_ON_Q1 = "ce0e039dd7d5acf73774b0155e81a814625c7720a0eefa7ee9c950d4eb452135"
# printf 'mvoting-device/v1\ndev123' | openssl dgst -sha256 -hmac sekrit -binary
#   | head -c 18 | base64 | tr '+/' '-_'
DEV123_TOKEN = "dev123.VxKjdmT4h3vKXORMr8Uq0qbc"


# --- voter_ref ------------------------------------------------------------------------


def test_voter_ref_is_the_hmac_of_question_and_identity() -> None:
    assert voter_ref(SECRET, "q1", "alice") == ALICE_ON_Q1


def test_voter_ref_is_stable_for_one_question_and_identity() -> None:
    assert voter_ref(SECRET, "q1", "alice") == voter_ref(SECRET, "q1", "alice")


@pytest.mark.parametrize(
    ("secret", "question", "identity"),
    [
        pytest.param(SECRET, "q2", "alice", id="other-question"),
        pytest.param(SECRET, "q1", "bob", id="other-identity"),
        pytest.param(OTHER_SECRET, "q1", "alice", id="other-secret"),
        pytest.param(SECRET, "q", "1alice", id="boundary-moved"),
    ],
)
def test_voter_ref_differs_when_anything_differs(
    secret: bytes, question: str, identity: str
) -> None:
    ref = voter_ref(secret, question, identity)

    assert ref != ALICE_ON_Q1
    assert len(ref) == 64
    assert set(ref) <= set("0123456789abcdef")


def test_voter_ref_does_not_contain_the_identity() -> None:
    identity = "alice@example.org"

    assert identity not in voter_ref(SECRET, "q1", identity)


# --- device tokens --------------------------------------------------------------------


def test_device_token_is_the_id_and_a_truncated_hmac() -> None:
    assert sign_device(SECRET, "dev123") == DEV123_TOKEN


@pytest.mark.parametrize(
    "device_id",
    [
        pytest.param("dev123", id="short"),
        pytest.param("abcdefghjkmnpqrs", id="sixteen-chars"),
        pytest.param("d" * 175, id="longest-that-fits"),
    ],
)
def test_signed_device_token_verifies_to_its_id(device_id: str) -> None:
    token = sign_device(SECRET, device_id)

    assert token.startswith(device_id + ".")
    assert verify_device(SECRET, token) == device_id


def test_token_is_not_valid_under_another_secret() -> None:
    assert verify_device(OTHER_SECRET, DEV123_TOKEN) is None
    assert sign_device(OTHER_SECRET, "dev123") != DEV123_TOKEN


MAC = DEV123_TOKEN.split(".")[1]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("dev124." + MAC, id="id-changed"),
        pytest.param("dev123." + MAC[:-1] + "d", id="mac-last-char-changed"),
        pytest.param("dev123." + MAC[:-1], id="mac-truncated"),
        pytest.param("dev123." + MAC + "A", id="mac-extended"),
        pytest.param("dev123.", id="mac-empty"),
        pytest.param("." + MAC, id="id-empty"),
        pytest.param(".", id="only-dot"),
        pytest.param("", id="empty"),
        pytest.param("dev123" + MAC, id="missing-dot"),
        pytest.param("dev123." + MAC + ".x", id="two-dots"),
        pytest.param("dev.123." + MAC, id="dot-in-id"),
        pytest.param("d" * 176 + "." + MAC, id="over-200-chars"),
        pytest.param("dev123." + "é" * 24, id="non-ascii-mac"),
        pytest.param("\ud800." + MAC, id="lone-surrogate-id"),
        pytest.param("dév123." + MAC, id="non-ascii-id"),
        pytest.param(None, id="none"),
        pytest.param(123, id="int"),
        pytest.param(b"dev123.VxKjdmT4h3vKXORMr8Uq0qbc", id="bytes"),
        pytest.param(["dev123", MAC], id="list"),
        pytest.param({"device": DEV123_TOKEN}, id="dict"),
    ],
)
def test_bad_device_token_verifies_to_none(token: object) -> None:
    assert verify_device(SECRET, DEV123_TOKEN) == "dev123"  # the secret itself is right

    assert verify_device(SECRET, token) is None


def test_token_of_exactly_200_chars_is_accepted_and_201_is_not() -> None:
    fits = sign_device(SECRET, "d" * 175)
    too_long = sign_device(SECRET, "d" * 176)

    assert len(fits) == 200
    assert len(too_long) == 201
    assert verify_device(SECRET, fits) == "d" * 175
    assert verify_device(SECRET, too_long) is None
