"""Proofs of logging (https://c2sp.org/tlog-proof): a receipt a voter checks alone.

A proof is lines separated by newlines ("Format")::

    c2sp.org/tlog-proof@v1
    extra <base64>               optional, opaque, NOT authenticated
    index <n>                    the entry's 0-based index: decimal, no leading zeroes
    <base64 hash>                zero or more: the inclusion proof, from the leaf's
    ...                          sibling up to the root's child (RFC 9162 2.1.3.1)
    <empty line>
    <the checkpoint note, verbatim, with the log's signature and the cosignatures>

Verifying ("Verifying a tlog proof"): the caller computes the leaf hash (for a ballot,
``rooms.ballots.Ballot.receipt``); the checkpoint must be signed by an accepted log for
its origin and cosigned by the policy's quorum (``rooms.tlog.policy``); then the inclusion
proof must bind the leaf hash at the index to the checkpoint's root.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rooms.tlog._text import MAX_U64, decode_base64, decode_decimal, encode_base64
from rooms.tlog.checkpoint import SignedCheckpoint
from rooms.tlog.errors import TlogProofError
from rooms.tlog.merkle import HASH_SIZE, verify_inclusion
from rooms.tlog.notes import NoteVerifier
from rooms.tlog.policy import Policy

#: The first line of every tlog-proof.
HEADER = "c2sp.org/tlog-proof@v1"

#: An inclusion proof in a tree of fewer than 2^64 leaves has at most 64 hashes.
MAX_PROOF_HASHES = 64


@dataclass(frozen=True, slots=True)
class TlogProof:
    """A leaf's index, its inclusion proof, and the signed checkpoint it leads to."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index <= MAX_U64:
            raise ValueError(f"a leaf index is a uint64: {self.index}")
        if len(self.proof) > MAX_PROOF_HASHES or any(len(h) != HASH_SIZE for h in self.proof):
            raise ValueError(f"an inclusion proof is at most 64 hashes of {HASH_SIZE} bytes")
        if not self.checkpoint or self.extra == b"":
            raise ValueError("a tlog-proof has a checkpoint; extra data is absent or non-empty")

    @classmethod
    def parse(cls, data: bytes) -> TlogProof:
        """Read a tlog-proof; raises ``TlogProofError`` if it is not one.

        The checkpoint is kept as bytes and only read by ``verify``, once its signatures
        verify.
        """
        head, blank, checkpoint = data.partition(b"\n\n")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise TlogProofError("the lines before the checkpoint are ASCII") from None
        if lines[0] != HEADER or not blank or not checkpoint:
            raise TlogProofError(f"a tlog-proof starts with {HEADER}, then lines, then a note")
        extra = None
        if lines[1:2] and lines[1].startswith("extra "):
            extra = decode_base64(lines.pop(1).removeprefix("extra "))
            if not extra:
                raise TlogProofError("the extra line is non-empty canonical base64")
        index_line, *hash_lines = lines[1:] or [""]
        index = decode_decimal(index_line.removeprefix("index "))
        if not index_line.startswith("index ") or index is None:
            raise TlogProofError(f"not an index line (decimal, no leading zeroes): {index_line!r}")
        if len(hash_lines) > MAX_PROOF_HASHES:
            raise TlogProofError(f"more than {MAX_PROOF_HASHES} inclusion proof lines")
        proof = []
        for line in hash_lines:
            value = decode_base64(line)
            if value is None or len(value) != HASH_SIZE:
                raise TlogProofError(f"not a base64 32-byte hash: {line!r}")
            proof.append(value)
        return cls(index, tuple(proof), checkpoint, extra)

    def to_bytes(self) -> bytes:
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {encode_base64(self.extra)}")
        lines.append(f"index {self.index}")
        lines += map(encode_base64, self.proof)
        return "".join(line + "\n" for line in lines).encode() + b"\n" + self.checkpoint

    def verify(
        self, leaf: bytes, policy: Policy, logs: Iterable[NoteVerifier] = ()
    ) -> SignedCheckpoint:
        """Check the receipt for the leaf hash ``leaf``; return the checkpoint it is in.

        ``logs`` adds log keys to the policy's, for logs known from context. Raises the
        ``NoteError`` or ``QuorumError`` of ``Policy.open_checkpoint``, then the
        ``ProofError`` of ``rooms.tlog.merkle.verify_inclusion``.
        """
        signed = policy.open_checkpoint(self.checkpoint, logs)
        tree = signed.checkpoint
        verify_inclusion(self.index, tree.size, leaf, self.proof, tree.root)
        return signed
