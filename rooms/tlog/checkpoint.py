"""Checkpoints (https://c2sp.org/tlog-checkpoint): a log's tree head as a signed note.

The note text ("Note text") is at least three non-empty lines, each ending in a newline::

    <origin>                 the log's identity, e.g. example.com/log42
    <tree size>              ASCII decimal without leading zeroes ("0" for the empty tree)
    <root hash>              base64 of the RFC 6962 root at that size (32 bytes)
    <extension line>...      optional, opaque, non-empty

The log signs it with its note key, whose name should be the origin ("Signatures");
witnesses add cosignatures (``rooms.tlog.cosignature``). ``open_checkpoint`` verifies the
signatures before it reads the text, as c2sp.org/signed-note requires.

A checkpoint's root must be 32 bytes; the spec leaves it to witnesses to insist that a
checkpoint of size 0 has the empty tree's root (c2sp.org/tlog-witness), and so do we.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rooms.tlog._text import MAX_U64, decode_base64, decode_decimal, encode_base64
from rooms.tlog.errors import CheckpointError
from rooms.tlog.merkle import HASH_SIZE
from rooms.tlog.notes import Note, NoteSigner, NoteVerifier, Signature, open_note, sign_note


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log's origin, the tree size and its root, and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not line or any(ch < " " for ch in line):
                raise ValueError(f"checkpoint lines are non-empty, with no controls: {line!r}")
        if not 0 <= self.size <= MAX_U64:
            raise ValueError(f"a tree size is a uint64: {self.size}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"a root hash has {HASH_SIZE} bytes, not {len(self.root)}")

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint from a note text; raises ``CheckpointError`` if it is not one."""
        if not text.endswith("\n") or any(ch < " " and ch != "\n" for ch in text):
            raise CheckpointError("a checkpoint is lines ending in newlines, without controls")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise CheckpointError("a checkpoint is at least three lines, none of them empty")
        origin, size_line, root_line, *extensions = lines
        size = decode_decimal(size_line)
        if size is None:
            raise CheckpointError(f"not a tree size (decimal, no leading zeroes): {size_line!r}")
        root = decode_base64(root_line)
        if root is None or len(root) != HASH_SIZE:
            raise CheckpointError(f"not a base64 32-byte root hash: {root_line!r}")
        return cls(origin, size, root, tuple(extensions))

    def text(self) -> str:
        """The note text: origin, size, root, extension lines, each ending in a newline."""
        lines = (self.origin, str(self.size), encode_base64(self.root), *self.extensions)
        return "".join(line + "\n" for line in lines)

    def sign(self, *signers: NoteSigner) -> bytes:
        """The signed note of this checkpoint."""
        return sign_note(self.text(), signers)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose log signature verified, with the cosignatures that verified."""

    checkpoint: Checkpoint
    note: Note
    log_signatures: tuple[Signature, ...]
    cosignatures: tuple[Signature, ...]


def open_checkpoint(
    message: bytes,
    logs: Iterable[NoteVerifier],
    witnesses: Iterable[NoteVerifier] = (),
    *,
    origin: str | None = None,
) -> SignedCheckpoint:
    """Verify a checkpoint signed by one of the ``logs``, and read it.

    ``witnesses`` are the cosigners whose signatures to check too; other signature lines
    are ignored. ``origin``, if given, is the only origin accepted. The log's key name
    should be the origin (tlog-checkpoint, "Signatures") but is not always (sum.golang.org
    signs "go.sum database tree"); ``rooms.tlog.policy`` requires it. Raises the
    ``NoteError`` of ``open_note``, or ``CheckpointError`` if the text is not a checkpoint,
    has another origin, or no log key signed it (cosignatures alone do not make one).
    """
    logs, witnesses = list(logs), list(witnesses)
    note = open_note(message, [*logs, *witnesses])
    checkpoint = Checkpoint.parse(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint of {checkpoint.origin!r}, not of {origin!r}")
    log_keys = {(log.name, log.key_id) for log in logs}
    by_logs = tuple(s for s in note.signatures if (s.name, s.key_id) in log_keys)
    if not by_logs:
        raise CheckpointError(f"no known log key signed the checkpoint of {checkpoint.origin!r}")
    witness_keys = {(witness.name, witness.key_id) for witness in witnesses}
    cosignatures = tuple(s for s in note.signatures if (s.name, s.key_id) in witness_keys)
    return SignedCheckpoint(checkpoint, note, by_logs, cosignatures)
