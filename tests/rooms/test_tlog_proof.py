"""tlog-proof receipts: the format, and a voter checking a ballot's receipt offline."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.ballots import Ballot
from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import (
    BadSignatureError,
    CheckpointError,
    ProofError,
    QuorumError,
    TlogProofError,
)
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer
from rooms.tlog.policy import Policy, PolicyGroup, PolicyLog, PolicyWitness
from rooms.tlog.proof import HEADER, MAX_PROOF_HASHES, TlogProof

VECTORS = Path(__file__).parent / "vectors"
C2SP = json.loads((VECTORS / "c2sp" / "examples.json").read_text())


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


ORIGIN = "vote.example/poll/42"
LOG = Ed25519Signer(ORIGIN, private_key(1))
WITNESSES = [Cosigner(f"w{i}.example", private_key(10 + i)) for i in range(4)]
POLICY = Policy(
    (PolicyLog(LOG.verifier()),),
    tuple(PolicyWitness(f"w{i}", w.verifier()) for i, w in enumerate(WITNESSES)),
    (PolicyGroup("witnesses", 3, ("w0", "w1", "w2", "w3")),),
    "witnesses",
)

BALLOTS = [
    Ballot(question="q1", choices=(i % 3,), time_ms=1_700_000_000_000 + i, voter=f"{i:064x}",
           nonce=f"{i:032x}")
    for i in range(11)
]  # fmt: skip
TREE = MerkleLog(leaf_hash(ballot.leaf()) for ballot in BALLOTS)
CHECKPOINT = Checkpoint(ORIGIN, TREE.size, TREE.root())
SIGNED = CHECKPOINT.sign(LOG, *(w.at(1_700_000_100) for w in WITNESSES[:3]))


def receipt(index: int) -> bytes:
    return TlogProof(index, tuple(TREE.inclusion_proof(index)), SIGNED).to_bytes()


def test_the_c2sp_example_proof_reads_and_writes_back() -> None:
    example = C2SP["tlog_proof"]
    data = example["proof"].encode()
    proof = TlogProof.parse(data)
    assert proof.index == example["index"]
    assert proof.extra == base64.b64decode(example["extra"])
    assert len(proof.proof) == example["hashes"]
    assert proof.checkpoint.startswith(b"example.com/fancylog\n109482\n")
    assert proof.to_bytes() == data


@pytest.mark.parametrize("index", range(len(BALLOTS)))
def test_every_voter_checks_a_receipt_alone(index: int) -> None:
    ballot = BALLOTS[index]
    leaf = bytes.fromhex(ballot.receipt())
    assert leaf == leaf_hash(ballot.leaf())
    proof = TlogProof.parse(receipt(index))
    signed = proof.verify(leaf, POLICY)
    assert signed.checkpoint == CHECKPOINT
    assert len(signed.cosignatures) == 3


def test_a_receipt_format_starts_with_the_header_and_index() -> None:
    lines = receipt(5).split(b"\n")
    assert lines[:2] == [HEADER.encode(), b"index 5"]
    assert b"\n\n" + SIGNED in receipt(5)


def test_extra_data_and_an_empty_proof_round_trip() -> None:
    one = MerkleLog([leaf_hash(b"only")])
    signed = Checkpoint(ORIGIN, 1, one.root()).sign(LOG, *(w.at(7) for w in WITNESSES))
    proof = TlogProof(0, (), signed, extra=b"nonce 00112233")
    data = proof.to_bytes()
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nextra bm9uY2UgMDAxMTIyMzM=\nindex 0\n\n")
    assert TlogProof.parse(data) == proof
    assert TlogProof.parse(data).verify(leaf_hash(b"only"), POLICY).checkpoint.size == 1


# --- receipts that must not convince a voter ----------------------------------------------


def test_another_ballot_is_not_in_this_receipt() -> None:
    with pytest.raises(ProofError):
        TlogProof.parse(receipt(5)).verify(bytes.fromhex(BALLOTS[6].receipt()), POLICY)


def test_the_right_ballot_at_another_index_is_refused() -> None:
    moved = TlogProof(4, tuple(TREE.inclusion_proof(5)), SIGNED)
    with pytest.raises(ProofError):
        moved.verify(bytes.fromhex(BALLOTS[5].receipt()), POLICY)


def test_an_index_beyond_the_tree_is_refused() -> None:
    beyond = TlogProof(TREE.size, tuple(TREE.inclusion_proof(5)), SIGNED)
    with pytest.raises(ProofError, match="not below"):
        beyond.verify(bytes.fromhex(BALLOTS[5].receipt()), POLICY)


def test_a_receipt_without_the_quorum_is_refused() -> None:
    two = CHECKPOINT.sign(LOG, *(w.at(1) for w in WITNESSES[:2]))
    with pytest.raises(QuorumError):
        TlogProof(5, tuple(TREE.inclusion_proof(5)), two).verify(leaf_hash(b"x"), POLICY)


def test_a_receipt_with_a_doctored_checkpoint_is_refused() -> None:
    doctored = receipt(5).replace(b"\n11\n", b"\n12\n")
    with pytest.raises(BadSignatureError):
        TlogProof.parse(doctored).verify(bytes.fromhex(BALLOTS[5].receipt()), POLICY)


def test_a_receipt_from_another_log_is_refused() -> None:
    stranger = Ed25519Signer(ORIGIN, private_key(2))
    forged = CHECKPOINT.sign(stranger, *(w.at(1) for w in WITNESSES))
    proof = TlogProof(5, tuple(TREE.inclusion_proof(5)), forged)
    with pytest.raises(CheckpointError, match="no known log key"):
        proof.verify(bytes.fromhex(BALLOTS[5].receipt()), POLICY)


# --- malformed proofs --------------------------------------------------------------------

HASH = base64.b64encode(bytes(32)).decode()
TAIL = "\n" + SIGNED.decode()


def _proof(*lines: str) -> bytes:
    return ("".join(line + "\n" for line in lines) + TAIL).encode()


# fmt: off
BAD_PROOFS = [
    pytest.param(_proof("c2sp.org/tlog-proof@v2", "index 0"), "starts with", id="header-v2"),
    pytest.param(_proof("index 0"), "starts with", id="no-header"),
    pytest.param(b"c2sp.org/tlog-proof@v1\nindex 0\n", "starts with", id="no-checkpoint"),
    pytest.param(b"c2sp.org/tlog-proof@v1\nindex 0\n\n", "starts with", id="empty-checkpoint"),
    pytest.param(_proof(HEADER), "index line", id="no-index"),
    pytest.param(_proof(HEADER, "index 01"), "index line", id="index-leading-zero"),
    pytest.param(_proof(HEADER, "index -1"), "index line", id="index-negative"),
    pytest.param(_proof(HEADER, f"index {2**64}"), "index line", id="index-2^64"),
    pytest.param(_proof(HEADER, "index notanumber"), "index line", id="index-word"),
    pytest.param(_proof(HEADER, "index  1"), "index line", id="index-two-spaces"),
    pytest.param(_proof(HEADER, "index\t1"), "index line", id="index-tab"),
    pytest.param(_proof(HEADER, "Index 1"), "index line", id="index-capitalised"),
    pytest.param(_proof(HEADER, "extra !!notbase64!!", "index 0"), "extra", id="extra-not-base64"),
    pytest.param(_proof(HEADER, "extra ", "index 0"), "extra", id="extra-empty"),
    pytest.param(_proof(HEADER, "extra QR==", "index 0"), "extra", id="extra-noncanonical"),
    pytest.param(_proof(HEADER, "index 0", "extra QQ=="), "32-byte hash", id="extra-after-index"),
    pytest.param(_proof(HEADER, "index 0", "!!notbase64!!"), "32-byte hash", id="hash-not-base64"),
    pytest.param(_proof(HEADER, "index 0", base64.b64encode(bytes(64)).decode()), "32-byte hash",
                 id="hash-64-bytes"),
    pytest.param(_proof(HEADER, "index 0", base64.b64encode(bytes(31)).decode()), "32-byte hash",
                 id="hash-31-bytes"),
    pytest.param(_proof(HEADER, "index 0", HASH.rstrip("=")), "32-byte hash", id="hash-unpadded"),
    pytest.param(_proof(HEADER, "index 0", *[HASH] * (MAX_PROOF_HASHES + 1)), "more than 64",
                 id="65-hashes"),
    pytest.param(_proof(HEADER, "index 0\u00a0"), "ASCII", id="non-ascii-before-checkpoint"),
    pytest.param(_proof(HEADER + "\r", "index 0"), "starts with", id="carriage-return"),
]
# fmt: on


@pytest.mark.parametrize(("data", "reason"), BAD_PROOFS)
def test_malformed_proofs_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(TlogProofError, match=reason):
        TlogProof.parse(data)


def test_the_well_formed_proof_the_bad_ones_are_made_from_parses() -> None:
    proof = TlogProof.parse(_proof(HEADER, "extra QQ==", "index 0", *[HASH] * MAX_PROOF_HASHES))
    assert (proof.index, proof.extra, len(proof.proof)) == (0, b"A", MAX_PROOF_HASHES)
    assert proof.checkpoint == SIGNED


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param((-1, (), SIGNED), id="negative-index"),
        pytest.param((2**64, (), SIGNED), id="index-2^64"),
        pytest.param((0, (bytes(31),), SIGNED), id="short-hash"),
        pytest.param((0, (bytes(32),) * 65, SIGNED), id="65-hashes"),
        pytest.param((0, (), b""), id="no-checkpoint"),
        pytest.param((0, (), SIGNED, b""), id="empty-extra"),
    ],
)
def test_proof_fields_are_checked(fields: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        TlogProof(*fields)
