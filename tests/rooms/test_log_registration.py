"""Log registrations: an operator's signed note naming a log key in its namespace."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import LedgerError, NoteKeyError
from rooms.tlog.notes import Ed25519Signer, Signature, sign_note
from rooms.tlog.registration import (
    HEADER,
    RegistrationError,
    RegistrationRefusal,
    open_registration,
    registration_note,
)


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


OPERATOR = Ed25519Signer("vote.example.org/ledger", private_key(1))
#: A second trusted operator, with a namespace of its own.
NEIGHBOUR = Ed25519Signer("vote.example.org/other", private_key(2))
#: A key with the operator's name that the witness does not trust.
IMPOSTOR = Ed25519Signer(OPERATOR.name, private_key(3))
LOG = Ed25519Signer("vote.example.org/ledger/3f9a0c21d4e5b6a7", private_key(4))
TRUSTED = [OPERATOR.verifier(), NEIGHBOUR.verifier()]


def log_named(name: str) -> str:
    return Ed25519Signer(name, private_key(5)).verifier().vkey()


def test_a_registration_is_the_header_and_the_log_vkey_signed_by_the_operator() -> None:
    note = registration_note(OPERATOR, LOG.verifier().vkey())
    text = f"mvoting.add-log/v1\n{LOG.verifier().vkey()}\n"
    assert HEADER == "mvoting.add-log/v1"
    assert note == sign_note(text, [OPERATOR])
    assert open_registration(note, TRUSTED) == LOG.verifier()


def test_an_operator_signs_no_registration_of_a_key_that_is_not_a_log_key() -> None:
    cosigner_vkey = Cosigner(LOG.name, private_key(4)).vkey()  # type 0x04, not 0x01
    with pytest.raises(NoteKeyError, match="not an Ed25519 note key"):
        registration_note(OPERATOR, cosigner_vkey)
    with pytest.raises(NoteKeyError):
        registration_note(OPERATOR, LOG.verifier().vkey() + "\nmore")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("vote.example.org/ledger/1", id="one-character-below"),
        pytest.param("vote.example.org/ledger/a/b", id="two-levels-below"),
        pytest.param("vote.example.org/ledger//", id="a-slash-below"),
    ],
)
def test_any_name_below_the_operators_name_may_be_registered(name: str) -> None:
    note = registration_note(OPERATOR, log_named(name))
    assert open_registration(note, TRUSTED).name == name


def test_unknown_signatures_beside_the_operators_are_ignored() -> None:
    text = f"{HEADER}\n{LOG.verifier().vkey()}\n"
    note = sign_note(text, [Ed25519Signer("someone.else", private_key(6)), OPERATOR])
    assert open_registration(note, TRUSTED) == LOG.verifier()


def test_one_signing_operator_owning_the_namespace_is_enough() -> None:
    note = sign_note(f"{HEADER}\n{LOG.verifier().vkey()}\n", [NEIGHBOUR, OPERATOR])
    assert open_registration(note, TRUSTED) == LOG.verifier()


def _bad_signature() -> bytes:
    note = registration_note(OPERATOR, LOG.verifier().vkey())
    text, _, line = note.decode().rpartition("\n\n")
    signature = Signature.parse(line.strip())
    bad = Signature(signature.name, signature.key_id, bytes(64))
    return (text + "\n\n" + bad.line() + "\n").encode()


def _signed(text: str) -> Callable[[], bytes]:
    return lambda: sign_note(text, [OPERATOR])


LOG_VKEY = LOG.verifier().vkey()


@dataclass(frozen=True)
class Refused:
    body: Callable[[], bytes]
    reason: RegistrationRefusal
    message: str


MALFORMED, NOT_AN_OPERATOR, OUTSIDE = (
    RegistrationRefusal.MALFORMED,
    RegistrationRefusal.NOT_AN_OPERATOR,
    RegistrationRefusal.OUTSIDE_NAMESPACE,
)

REFUSALS = [
    pytest.param(
        Refused(lambda: b"garbage", MALFORMED,
                "not a registration: no blank line between the text and the signatures"),
        id="not-a-note-400",
    ),
    pytest.param(
        Refused(lambda: registration_note(IMPOSTOR, LOG_VKEY), NOT_AN_OPERATOR,
                "not signed by an operator: the note has no signature from a known key"),
        id="unknown-key-with-the-operators-name-403",
    ),
    pytest.param(
        Refused(_bad_signature, NOT_AN_OPERATOR,
                f"not signed by an operator: the signature of known key "
                f"{OPERATOR.name}+{OPERATOR.key_id:08x} does not verify"),
        id="known-key-bad-signature-403",
    ),
    pytest.param(
        Refused(_signed(f"mvoting.add-log/v2\n{LOG_VKEY}\n"), MALFORMED,
                "not a registration: the text is not 'mvoting.add-log/v1' and a log vkey, "
                "each on a line"),
        id="another-header-400",
    ),
    pytest.param(
        Refused(_signed(f"{HEADER}\n{LOG_VKEY}\nmore\n"), MALFORMED,
                "not a registration: the text is not 'mvoting.add-log/v1' and a log vkey, "
                "each on a line"),
        id="a-third-line-400",
    ),
    pytest.param(
        Refused(_signed(f"{HEADER}\n"), MALFORMED,
                "not a registration: the text is not 'mvoting.add-log/v1' and a log vkey, "
                "each on a line"),
        id="no-vkey-line-400",
    ),
    pytest.param(
        Refused(_signed(f"{HEADER}\n{LOG_VKEY} \n"), MALFORMED,
                f"not a registration: not a log key: not a vkey: '{LOG_VKEY} '"),
        id="trailing-space-400",
    ),
    pytest.param(
        Refused(_signed(f"{HEADER}\n{Cosigner(LOG.name, private_key(4)).vkey()}\n"), MALFORMED,
                "not a registration: not a log key: not an Ed25519 note key (type 0x01): "
                f"'{Cosigner(LOG.name, private_key(4)).vkey()}'"),
        id="cosignature-key-400",
    ),
    pytest.param(
        Refused(lambda: registration_note(OPERATOR, log_named("vote.example.org/other/1")),
                OUTSIDE, "the log 'vote.example.org/other/1' is not under the namespace of "
                "its operator 'vote.example.org/ledger'"),
        id="another-operators-namespace-403",
    ),
    pytest.param(
        Refused(lambda: registration_note(OPERATOR, log_named(OPERATOR.name)), OUTSIDE,
                "the log 'vote.example.org/ledger' is not under the namespace of its "
                "operator 'vote.example.org/ledger'"),
        id="the-operators-own-name-403",
    ),
    pytest.param(
        Refused(lambda: registration_note(OPERATOR, log_named(OPERATOR.name + "/")), OUTSIDE,
                "the log 'vote.example.org/ledger/' is not under the namespace of its "
                "operator 'vote.example.org/ledger'"),
        id="nothing-after-the-slash-403",
    ),
    pytest.param(
        Refused(lambda: registration_note(OPERATOR, log_named("vote.example.org/ledgers/1")),
                OUTSIDE, "the log 'vote.example.org/ledgers/1' is not under the namespace "
                "of its operator 'vote.example.org/ledger'"),
        id="a-longer-name-without-the-slash-403",
    ),
    pytest.param(
        Refused(lambda: sign_note(f"{HEADER}\nexample.com/x+00000000+AQ==\n", [OPERATOR]),
                MALFORMED, "not a registration: not a log key: the key ID of "
                "'example.com/x' is "),
        id="vkey-with-a-wrong-key-id-400",
    ),
    pytest.param(
        Refused(lambda: sign_note(f"{HEADER}\n{log_named('example.com/x')}\n",
                                  [OPERATOR, NEIGHBOUR]),
                OUTSIDE, "the log 'example.com/x' is not under the namespace of its operator "
                "'vote.example.org/ledger', 'vote.example.org/other'"),
        id="two-operators-neither-owning-403",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_registration_says_why_with_its_http_status(case: Refused) -> None:
    with pytest.raises(RegistrationError) as refused:
        open_registration(case.body(), TRUSTED)
    assert refused.value.reason is case.reason
    assert refused.value.status == {MALFORMED: 400, NOT_AN_OPERATOR: 403, OUTSIDE: 403}[case.reason]
    assert str(refused.value).startswith(case.message)
    assert isinstance(refused.value, LedgerError)


def test_a_witness_with_no_operators_refuses_every_registration() -> None:
    note = registration_note(OPERATOR, LOG.verifier().vkey())
    with pytest.raises(RegistrationError) as refused:
        open_registration(note, [])
    assert (refused.value.reason, refused.value.status) == (NOT_AN_OPERATOR, 403)
