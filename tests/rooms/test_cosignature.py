"""cosignature/v1: the signed message, witness keys, timestamps, and refusals."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.tlog.checkpoint import Checkpoint, open_checkpoint
from rooms.tlog.cosignature import (
    MAX_TIMESTAMP,
    CosignatureVerifier,
    Cosigner,
    cosignature_timestamp,
    cosigned_message,
)
from rooms.tlog.errors import (
    BadSignatureError,
    CheckpointError,
    NoteKeyError,
)
from rooms.tlog.notes import Ed25519Signer, Signature, UnverifiedNoteError, open_note, sign_note

VECTORS = Path(__file__).parent / "vectors"
C2SP = json.loads((VECTORS / "c2sp" / "examples.json").read_text())
FORMATS = json.loads((VECTORS / "transparency-dev-formats" / "examples.json").read_text())

SEED = b"\x07" * 32
WITNESS = Cosigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(SEED))
LOG = Ed25519Signer("example.com/poll/7", Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
CHECKPOINT = Checkpoint("example.com/poll/7", 3, hashlib.sha256(b"root").digest())
TEXT = CHECKPOINT.text()
TIME = 1_700_000_000


def test_signed_message_is_the_spec_example() -> None:
    example = C2SP["cosignature_message"]
    checkpoint_text = example["message"].split("\n", 2)[2]
    message = cosigned_message(checkpoint_text.encode(), example["timestamp"])
    assert message == example["message"].encode()


def test_cosignature_is_timestamp_then_ed25519_over_the_message() -> None:
    signature = WITNESS.cosign(CHECKPOINT, TIME)
    public = Ed25519PrivateKey.from_private_bytes(SEED).public_key()
    assert signature.name == WITNESS.name
    assert signature.key_id == WITNESS.key_id
    assert signature.signature[:8] == TIME.to_bytes(8, "big")
    public.verify(signature.signature[8:], cosigned_message(TEXT.encode(), TIME))
    assert cosignature_timestamp(signature) == TIME


def test_key_id_uses_signature_type_4() -> None:
    public = WITNESS.verifier().public_key
    digest = hashlib.sha256(WITNESS.name.encode() + b"\n\x04" + public).digest()
    assert WITNESS.key_id == int.from_bytes(digest[:4], "big")
    assert WITNESS.vkey().split("+")[1] == digest[:4].hex()
    assert base64.b64decode(WITNESS.vkey().split("+", 2)[2])[0] == 0x04


def test_a_real_witness_vkey_parses() -> None:
    verifier = CosignatureVerifier.from_vkey(FORMATS["cosignature_vkey"])
    assert (verifier.name, verifier.key_id) == ("remora.n621.de", 0xDA77ADE7)
    assert verifier.vkey() == FORMATS["cosignature_vkey"]


def test_a_real_cosignature_timestamp_reads() -> None:
    example = FORMATS["cosignature_timestamp"]
    signature = Signature.parse("\u2014 witness " + example["signature"])
    assert cosignature_timestamp(signature) == example["timestamp"]


def test_a_plain_ed25519_signature_has_no_timestamp() -> None:
    signature = Signature.parse("\u2014 witness " + FORMATS["not_a_cosignature"])
    with pytest.raises(BadSignatureError, match="cosignature/v1"):
        cosignature_timestamp(signature)


def test_cosign_serialise_parse_verify() -> None:
    message = sign_note(TEXT, [LOG, WITNESS.at(TIME)])
    signed = open_checkpoint(message, [LOG.verifier()], [WITNESS.verifier()])
    assert signed.checkpoint == CHECKPOINT
    assert [cosignature_timestamp(s) for s in signed.cosignatures] == [TIME]
    assert signed.cosignatures[0] == WITNESS.cosign(CHECKPOINT, TIME)


def test_cosignatures_cover_extension_lines() -> None:
    extended = Checkpoint(CHECKPOINT.origin, 3, CHECKPOINT.root, ("ext",))
    message = sign_note(extended.text(), [WITNESS.at(TIME)])
    tampered = message.replace(b"ext\n", b"exu\n")
    assert open_note(message, [WITNESS.verifier()])
    with pytest.raises(BadSignatureError):
        open_note(tampered, [WITNESS.verifier()])


def test_cosigner_round_trips_through_a_go_skey() -> None:
    skey = Ed25519Signer("witness.example/w1", Ed25519PrivateKey.from_private_bytes(SEED)).skey()
    cosigner = Cosigner.from_skey(skey)
    assert cosigner.verifier() == WITNESS.verifier()
    assert repr(cosigner) == f"Cosigner('witness.example/w1', key_id={WITNESS.key_id:08x})"


def test_generated_cosigners_differ() -> None:
    one, two = Cosigner.generate("w"), Cosigner.generate("w")
    assert one.vkey() != two.vkey()


def _line(signature: bytes) -> str:
    encoded = base64.b64encode(WITNESS.key_id.to_bytes(4, "big") + signature).decode()
    return f"\u2014 {WITNESS.name} {encoded}\n"


def _forged(timestamp: int, signed_timestamp: int | None = None) -> bytes:
    """A cosignature line whose signature is made by the witness's key, for chosen times."""
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    stamp = timestamp if signed_timestamp is None else signed_timestamp
    signature = key.sign(cosigned_message(TEXT.encode(), stamp))
    return (TEXT + "\n" + _line(timestamp.to_bytes(8, "big") + signature)).encode()


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(_forged(TIME, TIME + 1), id="timestamp-changed"),
        pytest.param(_forged(2**63), id="timestamp-over-2^63-1"),
        pytest.param(
            (TEXT + "\n" + _line(TIME.to_bytes(8, "big") + bytes(64) + b"\x00")).encode(),
            id="73-bytes",
        ),
        pytest.param(
            sign_note(TEXT, [WITNESS.at(TIME)]).replace(b"\n3\n", b"\n4\n"), id="checkpoint-changed"
        ),
    ],
)
def test_bad_cosignatures_by_a_known_witness_refuse_the_note(message: bytes) -> None:
    with pytest.raises(BadSignatureError):
        open_note(message, [WITNESS.verifier()])


def test_the_largest_timestamp_verifies() -> None:
    assert open_note(_forged(MAX_TIMESTAMP), [WITNESS.verifier()]).signatures


def test_a_note_signature_is_not_a_cosignature() -> None:
    """The same key signing as a log (type 0x01) has another key ID: it is not a witness."""
    as_log = Ed25519Signer(WITNESS.name, Ed25519PrivateKey.from_private_bytes(SEED))
    assert as_log.key_id != WITNESS.key_id
    with pytest.raises(UnverifiedNoteError):
        open_note(sign_note(TEXT, [as_log]), [WITNESS.verifier()])


@pytest.mark.parametrize(
    "timestamp",
    [pytest.param(-1, id="negative"), pytest.param(2**63, id="over-2^63-1")],
)
def test_cosigner_refuses_impossible_timestamps(timestamp: int) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        WITNESS.cosign(CHECKPOINT, timestamp)


def test_cosigner_signs_only_checkpoints() -> None:
    with pytest.raises(CheckpointError):
        sign_note("not a checkpoint\n", [WITNESS.at(TIME)])


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param(LOG.verifier().vkey(), id="note-key-type-1"),
        pytest.param(WITNESS.vkey().replace("+B", "+Bw", 1)[:-1], id="mangled"),
    ],
)
def test_bad_witness_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteKeyError):
        CosignatureVerifier.from_vkey(vkey)


def test_witness_public_key_is_32_bytes() -> None:
    with pytest.raises(NoteKeyError, match="32 bytes"):
        CosignatureVerifier("w", bytes(31))
