"""tlog-checkpoint notes: the text format, and opening a checkpoint signed by its log."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.tlog.checkpoint import Checkpoint, open_checkpoint
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import CheckpointError, NoteError
from rooms.tlog.merkle import EMPTY_ROOT, leaf_hash
from rooms.tlog.notes import Ed25519Signer, Ed25519Verifier, UnverifiedNoteError, sign_note

VECTORS = Path(__file__).parent / "vectors"
GO = json.loads((VECTORS / "golang-mod" / "sumdb.json").read_text())
C2SP = json.loads((VECTORS / "c2sp" / "examples.json").read_text())
FORMATS = json.loads((VECTORS / "transparency-dev-formats" / "examples.json").read_text())

ORIGIN = "example.com/poll/7"
LOG = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
WITNESS = Cosigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
ROOT = leaf_hash(b"the only ballot")
ROOT64 = base64.b64encode(ROOT).decode()
CHECKPOINT = Checkpoint(ORIGIN, 1, ROOT)


def test_text_is_origin_size_root_each_on_a_line() -> None:
    assert CHECKPOINT.text() == f"{ORIGIN}\n1\n{ROOT64}\n"
    assert Checkpoint.parse(CHECKPOINT.text()) == CHECKPOINT


def test_extension_lines_follow_the_root() -> None:
    checkpoint = Checkpoint(ORIGIN, 2**64 - 1, ROOT, ("ext one", "ext two"))
    assert checkpoint.text() == f"{ORIGIN}\n18446744073709551615\n{ROOT64}\next one\next two\n"
    assert Checkpoint.parse(checkpoint.text()) == checkpoint


def test_the_empty_tree() -> None:
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert empty.text().split("\n")[1] == "0"
    assert Checkpoint.parse(empty.text()) == empty


def test_c2sp_example_checkpoint_text() -> None:
    example = C2SP["checkpoint"]
    checkpoint = Checkpoint.parse(example["note"].split("\n\n")[0] + "\n")
    assert checkpoint.origin == example["origin"]
    assert checkpoint.size == example["size"]
    assert checkpoint.root == base64.b64decode(example["root"])


def test_go_tree_note_root_is_the_rfc6962_leaf_hash_of_its_record() -> None:
    checkpoint = Checkpoint.parse(GO["tree"]["text"])
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == GO["tree"]["size"]
    assert checkpoint.root == leaf_hash(GO["tree"]["record"].encode())
    assert checkpoint.text() == GO["tree"]["text"]


def test_a_real_sum_golang_org_checkpoint_opens() -> None:
    example = FORMATS["sumdb_checkpoint"]
    log = Ed25519Verifier.from_vkey(example["vkey"])
    signed = open_checkpoint(example["note"].encode(), [log])
    assert signed.checkpoint.origin == example["origin"]
    assert signed.checkpoint.size == example["size"]
    assert [s.name for s in signed.log_signatures] == ["sum.golang.org"]
    assert signed.cosignatures == ()
    assert open_checkpoint(example["note"].encode(), [log], origin=example["origin"])


# --- refusals, each signed by the log so that only the text is at fault -----------------


def _signed(text: str) -> bytes:
    return sign_note(text, [LOG])


VALID = f"{ORIGIN}\n1\n{ROOT64}\n"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _stray_bit(encoded: str) -> str:
    """The same bytes in base64 with a bit set in the last character's unused bits."""
    body = encoded.rstrip("=")
    bumped = body[:-1] + _ALPHABET[_ALPHABET.index(body[-1]) + 1]
    changed = bumped + "=" * (len(encoded) - len(body))
    assert changed != encoded and base64.b64decode(changed) == base64.b64decode(encoded)
    return changed


# fmt: off
BAD_TEXTS = [
    pytest.param(VALID.replace("\n1\n", "\n01\n"), "no leading zeroes", id="size-leading-zero"),
    pytest.param(VALID.replace("\n1\n", "\n00\n"), "no leading zeroes", id="size-double-zero"),
    pytest.param(VALID.replace("\n1\n", f"\n{2**64}\n"), "no leading zeroes", id="size-2^64"),
    pytest.param(VALID.replace("\n1\n", f"\n{10**30}\n"), "no leading zeroes", id="size-huge"),
    pytest.param(VALID.replace("\n1\n", "\n-1\n"), "no leading zeroes", id="size-negative"),
    pytest.param(VALID.replace("\n1\n", "\n+1\n"), "no leading zeroes", id="size-plus"),
    pytest.param(VALID.replace("\n1\n", "\n1_0\n"), "no leading zeroes", id="size-underscore"),
    pytest.param(VALID.replace("\n1\n", "\n 1\n"), "no leading zeroes", id="size-space"),
    pytest.param(VALID.replace("\n1\n", "\n\u0661\n"), "no leading zeroes",
                 id="size-arabic-indic-digit"),
    pytest.param(GO["bad_trees"]["hex-size"], "no leading zeroes", id="go-hex-size"),
    pytest.param(VALID.replace(ROOT64, ROOT64[:-1]), "root hash", id="root-unpadded"),
    pytest.param(VALID.replace(ROOT64, base64.b64encode(ROOT[:31]).decode()), "root hash",
                 id="root-31-bytes"),
    pytest.param(GO["bad_trees"]["root-too-long"], "root hash", id="go-root-too-long"),
    pytest.param(VALID.replace(ROOT64, _stray_bit(ROOT64)), "root hash", id="root-noncanonical"),
    pytest.param(VALID.replace(ROOT64, ROOT64.replace("+", "-")), "root hash",
                 id="root-urlsafe-alphabet"),
    pytest.param(f"{ORIGIN}\n1\n", "three lines", id="two-lines"),
    pytest.param(f"\n1\n{ROOT64}\n", "three lines", id="empty-origin"),
    pytest.param(VALID + "\n" + "ext\n", "three lines", id="empty-extension-line"),
]
# fmt: on


@pytest.mark.parametrize(("text", "reason"), BAD_TEXTS)
def test_bad_checkpoint_texts_are_refused(text: str, reason: str) -> None:
    signed = _signed(text)
    with pytest.raises(CheckpointError, match=reason):
        open_checkpoint(signed, [LOG.verifier()])
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


def test_the_valid_text_the_bad_ones_are_made_from_opens() -> None:
    assert open_checkpoint(_signed(VALID), [LOG.verifier()]).checkpoint == CHECKPOINT


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(VALID[:-1], "newline", id="no-final-newline"),
        pytest.param(VALID.replace("\n1\n", "\n1\r\n"), "controls", id="carriage-return"),
    ],
)
def test_texts_no_note_could_carry_are_refused_by_parse(text: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


def test_a_note_signature_problem_is_refused_before_the_text_is_read() -> None:
    with pytest.raises(NoteError):
        open_checkpoint(_signed("not a checkpoint\n").replace(b"not", b"NOT"), [LOG.verifier()])


def test_another_origin_than_the_expected_one_is_refused() -> None:
    with pytest.raises(CheckpointError, match="not of 'example.com/poll/8'"):
        open_checkpoint(_signed(VALID), [LOG.verifier()], origin="example.com/poll/8")


def test_a_cosignature_alone_does_not_open_a_checkpoint() -> None:
    cosigned = sign_note(VALID, [WITNESS.at(1_700_000_000)])
    with pytest.raises(CheckpointError, match="no known log key signed"):
        open_checkpoint(cosigned, [LOG.verifier()], [WITNESS.verifier()])
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(cosigned, [LOG.verifier()])


def test_cosignatures_by_known_witnesses_are_reported() -> None:
    stranger = Cosigner("witness.example/w9", Ed25519PrivateKey.from_private_bytes(b"\x09" * 32))
    message = sign_note(VALID, [LOG, WITNESS.at(1_700_000_000), stranger.at(1_700_000_001)])
    signed = open_checkpoint(message, [LOG.verifier()], [WITNESS.verifier()])
    assert [s.name for s in signed.log_signatures] == [ORIGIN]
    assert [s.name for s in signed.cosignatures] == [WITNESS.name]
    assert [s.name for s in signed.note.unverified] == [stranger.name]


def test_sign_makes_the_note_that_opens() -> None:
    message = CHECKPOINT.sign(LOG, WITNESS.at(5))
    signed = open_checkpoint(message, [LOG.verifier()], [WITNESS.verifier()])
    assert signed.checkpoint == CHECKPOINT
    assert len(signed.cosignatures) == 1


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(("", 1, ROOT), id="empty-origin"),
        pytest.param(("a\nb", 1, ROOT), id="newline-in-origin"),
        pytest.param((ORIGIN, -1, ROOT), id="negative-size"),
        pytest.param((ORIGIN, 2**64, ROOT), id="size-2^64"),
        pytest.param((ORIGIN, 1, ROOT[:31]), id="short-root"),
        pytest.param((ORIGIN, 1, ROOT, ("",)), id="empty-extension"),
        pytest.param((ORIGIN, 1, ROOT, ("a\x00",)), id="control-in-extension"),
    ],
)
def test_checkpoint_fields_are_checked(fields: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        Checkpoint(*fields)
