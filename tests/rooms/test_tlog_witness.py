"""tlog-witness add-checkpoint requests: the wire format and the witness's decisions."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import MalformedNoteError
from rooms.tlog.merkle import EMPTY_ROOT, MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer, Ed25519Verifier, sign_note
from rooms.tlog.witness import (
    MAX_PROOF_LINES,
    AddCheckpoint,
    Refusal,
    TreeHead,
    WitnessRefusal,
    check_consistency,
    open_request,
    read_signature_lines,
    read_size_body,
    size_body,
)

#: The example request body of c2sp.org/tlog-witness ("add-checkpoint"), C2SP main at
#: 5ba5ee830903e91240fc6f9f3a7a9293d49e69c9 (CC BY 4.0, the C2SP authors).
SPEC_EXAMPLE = """old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
""".encode()  # noqa: E501


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


ORIGIN = "example.com/poll/9"
LOG = Ed25519Signer(ORIGIN, private_key(1))
TREE = MerkleLog(leaf_hash(b"%d" % i) for i in range(20))


def head(size: int) -> TreeHead:
    return TreeHead(size, TREE.root(size))


def checkpoint(size: int, root: bytes | None = None) -> Checkpoint:
    return Checkpoint(ORIGIN, size, TREE.root(size) if root is None else root)


def test_the_spec_example_request_reads_and_writes_back() -> None:
    request = AddCheckpoint.parse(SPEC_EXAMPLE)
    assert request.old_size == 20852014
    assert request.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert len(request.proof) == 4
    assert request.checkpoint.startswith(b"example.com/behind-the-sofa\n20852163\n")
    assert request.origin() == "example.com/behind-the-sofa"
    assert request.to_bytes() == SPEC_EXAMPLE


def test_a_first_request_has_no_proof_lines() -> None:
    note = checkpoint(3).sign(LOG)
    request = AddCheckpoint(0, (), note)
    assert request.to_bytes() == b"old 0\n\n" + note
    assert AddCheckpoint.parse(request.to_bytes()) == request


HASH = base64.b64encode(bytes(32))
NOTE = checkpoint(3).sign(LOG)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"old 1\n\n" + NOTE, None, id="valid"),
        pytest.param(b"new 1\n\n" + NOTE, "not an old size line", id="not-old"),
        pytest.param(b"old -1\n\n" + NOTE, "not an old size line", id="negative"),
        pytest.param(b"old 01\n\n" + NOTE, "not an old size line", id="leading-zero"),
        pytest.param(b"old  1\n\n" + NOTE, "not an old size line", id="two-spaces"),
        pytest.param(b"old 18446744073709551616\n\n" + NOTE, "not an old size", id="over-u64"),
        pytest.param("old \u0661\n\n".encode() + NOTE, "ASCII", id="arabic-digit"),
        pytest.param(b"old 1\n" + HASH + b"\n", "an empty line, then", id="no-empty-line"),
        pytest.param(b"old 1\n\n", "an empty line, then", id="no-checkpoint"),
        pytest.param(b"old 1\n" + HASH[:-1] + b"\n\n" + NOTE, "not a base64", id="short-base64"),
        pytest.param(b"old 1\n" + base64.b64encode(bytes(31)) + b"\n\n" + NOTE, "32-byte",
                     id="31-byte-hash"),
        pytest.param(b"old 1\n\n\n" + NOTE, None, id="checkpoint-starting-with-a-blank-line"),
        pytest.param(b"old 1\n" + (HASH + b"\n") * MAX_PROOF_LINES + b"\n" + NOTE, None,
                     id="63-proof-lines"),
        pytest.param(b"old 1\n" + (HASH + b"\n") * (MAX_PROOF_LINES + 1) + b"\n" + NOTE,
                     "more than 63", id="64-proof-lines"),
    ],
)  # fmt: skip
def test_request_bodies_are_read_strictly(body: bytes, reason: str | None) -> None:
    if reason is None:
        assert AddCheckpoint.parse(body).to_bytes() == body
        return
    with pytest.raises(WitnessRefusal, match=reason) as refused:
        AddCheckpoint.parse(body)
    assert refused.value.reason is Refusal.MALFORMED
    assert refused.value.status == 400
    assert str(refused.value).startswith("not an add-checkpoint request: ")


@pytest.mark.parametrize(
    ("old", "proof", "note"),
    [
        pytest.param(-1, (), NOTE, id="negative-size"),
        pytest.param(2**64, (), NOTE, id="size-over-u64"),
        pytest.param(1, (bytes(31),), NOTE, id="short-hash"),
        pytest.param(1, (bytes(32),) * 64, NOTE, id="64-hashes"),
        pytest.param(1, (), b"", id="no-checkpoint"),
    ],
)
def test_requests_are_built_only_valid(old: int, proof: tuple[bytes, ...], note: bytes) -> None:
    with pytest.raises(ValueError):
        AddCheckpoint(old, proof, note)


def test_an_origin_that_is_not_utf8_is_malformed() -> None:
    with pytest.raises(WitnessRefusal) as refused:
        AddCheckpoint(0, (), b"\xff\n3\n").origin()
    assert refused.value.reason is Refusal.MALFORMED


def test_open_request_verifies_the_log_signature_and_reads_the_checkpoint() -> None:
    witness = Cosigner("w.example", private_key(5))
    note = checkpoint(3).sign(LOG, witness.at(1_700_000_000))
    signed = open_request(AddCheckpoint(0, (), note), [LOG.verifier()])
    assert signed.checkpoint == checkpoint(3)
    assert [s.name for s in signed.log_signatures] == [ORIGIN]
    assert signed.cosignatures == ()  # the witness ignores other keys' signatures


@pytest.mark.parametrize(
    ("note", "logs", "reason", "message"),
    [
        pytest.param(NOTE, [], Refusal.UNKNOWN_LOG, f"unknown log: {ORIGIN!r}", id="unknown"),
        pytest.param(checkpoint(3).sign(Ed25519Signer(ORIGIN, private_key(2))),
                     [LOG.verifier()], Refusal.BAD_SIGNATURE,
                     "not signed by the log: the note has no signature from a known key",
                     id="other-key"),
        pytest.param(NOTE[:-10] + b"AAAAAAAA=\n", [LOG.verifier()], Refusal.BAD_SIGNATURE,
                     f"not signed by the log: the signature of known key "
                     f"{ORIGIN}+{LOG.key_id:08x} does not verify", id="bad-signature"),
        pytest.param(f"{ORIGIN}\n3\n".encode(), [LOG.verifier()], Refusal.MALFORMED,
                     "not an add-checkpoint request: no blank line between the text and the "
                     "signatures", id="not-a-note"),
        pytest.param(sign_note(f"{ORIGIN}\n03\n{'A' * 43}=\n", [LOG]), [LOG.verifier()],
                     Refusal.MALFORMED, "not an add-checkpoint request: not a tree size "
                     "(decimal, no leading zeroes): '03'", id="not-a-checkpoint"),
    ],
)  # fmt: skip
def test_open_request_refusals(
    note: bytes, logs: list[Ed25519Verifier], reason: Refusal, message: str
) -> None:
    with pytest.raises(WitnessRefusal) as refused:
        open_request(AddCheckpoint(0, (), note), logs)
    assert (refused.value.reason, str(refused.value)) == (reason, message)
    assert refused.value.latest is None


@pytest.mark.parametrize(
    ("old", "proof", "new", "latest"),
    [
        pytest.param(0, (), checkpoint(5), None, id="first"),
        pytest.param(0, (), checkpoint(0, EMPTY_ROOT), None, id="first-empty"),
        pytest.param(0, (), checkpoint(4), TreeHead(0, EMPTY_ROOT), id="after-empty"),
        pytest.param(5, tuple(TREE.consistency_proof(5, 9)), checkpoint(9), head(5), id="grow"),
        pytest.param(5, (), checkpoint(5), head(5), id="same"),
    ],
)
def test_consistent_checkpoints_may_be_cosigned(
    old: int, proof: tuple[bytes, ...], new: Checkpoint, latest: TreeHead | None
) -> None:
    check_consistency(old, proof, new, latest)


@pytest.mark.parametrize(
    ("old", "proof", "new", "latest", "status", "message"),
    [
        pytest.param(9, (), checkpoint(5), head(9), 400,
                     "the old size 9 is larger than the checkpoint's size 5", id="backwards"),
        pytest.param(3, tuple(TREE.consistency_proof(3, 9)), checkpoint(9), head(5), 409,
                     "the old size 3 is not 5, the latest size cosigned", id="behind"),
        pytest.param(3, tuple(TREE.consistency_proof(3, 9)), checkpoint(9), None, 409,
                     "the old size 3 is not 0, the latest size cosigned", id="never"),
        pytest.param(0, (), checkpoint(0, TREE.root(1)), None, 422,
                     "not consistent: a checkpoint of size 0 has the empty tree's root",
                     id="size-0-root"),
        pytest.param(0, (bytes(32),), checkpoint(3), None, 422,
                     "not consistent: a proof from size 0 is empty", id="proof-from-0"),
        pytest.param(5, tuple(TREE.consistency_proof(4, 9)), checkpoint(9), head(5), 422,
                     "not consistent: the consistency proof is shorter than the trees are deep",
                     id="wrong-proof"),
        pytest.param(5, (), checkpoint(5, TREE.root(6)), head(5), 422,
                     "not consistent: two roots for the same tree size differ", id="fork"),
    ],
)  # fmt: skip
def test_inconsistent_checkpoints_are_refused_with_the_spec_status(
    old: int,
    proof: tuple[bytes, ...],
    new: Checkpoint,
    latest: TreeHead | None,
    status: int,
    message: str,
) -> None:
    with pytest.raises(WitnessRefusal) as refused:
        check_consistency(old, proof, new, latest)
    assert (refused.value.status, str(refused.value)) == (status, message)
    expected_latest = (0 if latest is None else latest.size) if status == 409 else None
    assert refused.value.latest == expected_latest


def test_size_bodies() -> None:
    assert size_body(20852163) == b"20852163\n"
    assert read_size_body(b"20852163\n") == 20852163
    for bad in (b"20852163", b"020\n", b"\xd9\xa1\n", b"1 \n", b""):
        assert read_size_body(bad) is None, bad


def test_signature_lines() -> None:
    witness = Cosigner("w.example", private_key(5))
    line = witness.cosign(checkpoint(3), 1_700_000_000).line()
    assert (
        read_signature_lines(f"{line}\n{line}\n".encode())
        == (witness.cosign(checkpoint(3), 1_700_000_000),) * 2
    )
    for bad in (line.encode(), b"\xff\n", b"\n", b"- w.example AAAA\n"):
        with pytest.raises(MalformedNoteError):
            read_signature_lines(bad)
