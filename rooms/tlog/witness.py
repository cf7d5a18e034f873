"""The witness protocol's ``add-checkpoint`` call (https://c2sp.org/tlog-witness), as values.

A log asks a witness to cosign a checkpoint with ``POST <prefix>/add-checkpoint`` and this
body ("add-checkpoint"), every line ending in a newline::

    old <size>             the size the witness last cosigned for the log (0: never)
    <base64 hash>          zero to 63 lines: the RFC 6962 section 2.1.2 consistency proof
    ...                    from the old size to the checkpoint's size
    <empty line>
    <the checkpoint note>  signed by the log, maybe by others too

The witness answers 200 with its cosignature lines, or refuses. The checks, in the order
the spec gives them (C2SP main at 5ba5ee8, after "clarify size zero and size match
handling", #280), each with the status it prescribes:

1. the origin has no trusted key: 404 Not Found;
2. no trusted key's signature, or a trusted key's signature fails: 403 Forbidden;
3. the old size is larger than the checkpoint's: 400 Bad Request;
4. the old size is not the size of the latest checkpoint cosigned for the origin (0 if
   none): 409 Conflict, with that size and a newline as a ``text/x.tlog.size`` body;
5. a checkpoint of size 0 whose root is not the empty tree's: 422 Unprocessable Entity;
6. a proof from old size 0 that is not empty, or a proof that does not verify: 422;
7. the old size is the checkpoint's size but the roots differ: 422 (tlog-witness v1.0.0
   said 409 here; #280 changed it to 422, which we follow).

A body that is not an add-checkpoint request at all is refused with 400 too: the spec
names no status for it, and 400 is HTTP's own (litewitness does the same). ``open_request``
makes checks 1-2 and ``check_consistency`` checks 3-7, so that a witness can verify
signatures before it takes the log's lock, and make the rest under it with its record.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rooms.tlog._text import MAX_U64, decode_base64, decode_decimal, encode_base64
from rooms.tlog.checkpoint import Checkpoint, SignedCheckpoint
from rooms.tlog.errors import (
    BadSignatureError,
    CheckpointError,
    LedgerError,
    MalformedNoteError,
    ProofError,
)
from rooms.tlog.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from rooms.tlog.notes import NoteVerifier, Signature, UnverifiedNoteError, open_note

#: Consistency proof lines a client may send ("The client MUST NOT send more than 63").
MAX_PROOF_LINES = 63

#: The media type of a 409 response's body: the witness's latest size and a newline.
SIZE_MEDIA_TYPE = "text/x.tlog.size"


class Refusal(enum.Enum):
    """Why a witness refuses an add-checkpoint request; ``status`` is its HTTP status."""

    #: The body is not an add-checkpoint request (HTTP's 400; the spec names none).
    MALFORMED = "malformed"
    #: The witness trusts no key for the checkpoint's origin (404).
    UNKNOWN_LOG = "unknown_log"
    #: No trusted key signed the checkpoint, or a trusted key's signature fails (403).
    BAD_SIGNATURE = "bad_signature"
    #: The old size is larger than the checkpoint's size (400).
    OLD_SIZE_TOO_LARGE = "old_size_too_large"
    #: The old size is not the size the witness last cosigned (409, with that size).
    SIZE_CONFLICT = "size_conflict"
    #: The checkpoint does not extend the one the witness last cosigned (422).
    INCONSISTENT = "inconsistent"

    @property
    def status(self) -> int:
        return _STATUS[self]


_STATUS = {
    Refusal.MALFORMED: 400,
    Refusal.UNKNOWN_LOG: 404,
    Refusal.BAD_SIGNATURE: 403,
    Refusal.OLD_SIZE_TOO_LARGE: 400,
    Refusal.SIZE_CONFLICT: 409,
    Refusal.INCONSISTENT: 422,
}


class WitnessRefusal(LedgerError):
    """A witness refuses to cosign: ``reason`` says why, ``str(refusal)`` in a sentence.

    ``latest`` is the size of the latest checkpoint the witness cosigned for the origin,
    set for ``SIZE_CONFLICT`` (the body of the 409 response) and None otherwise.
    """

    def __init__(self, reason: Refusal, message: str, latest: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.latest = latest

    @property
    def status(self) -> int:
        return self.reason.status


@dataclass(frozen=True, slots=True)
class TreeHead:
    """What a witness records per log: the size and root of the latest checkpoint it cosigned."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An add-checkpoint request: the old size, the consistency proof, the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.old_size <= MAX_U64:
            raise ValueError(f"a tree size is a uint64: {self.old_size}")
        if len(self.proof) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in self.proof):
            raise ValueError(f"a proof is at most {MAX_PROOF_LINES} hashes of {HASH_SIZE} bytes")
        if not self.checkpoint:
            raise ValueError("an add-checkpoint request carries a checkpoint")

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        """Read a request body; raises ``WitnessRefusal`` (``MALFORMED``) if it is not one."""
        head, blank, checkpoint = body.partition(b"\n\n")
        try:
            old_line, *proof_lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise _malformed("the lines before the checkpoint are ASCII") from None
        old_size = decode_decimal(old_line.removeprefix("old "))
        if not old_line.startswith("old ") or old_size is None:
            raise _malformed(f"not an old size line (old <decimal size>): {old_line!r}")
        if not blank or not checkpoint:
            raise _malformed("the proof lines end with an empty line, then the checkpoint")
        if len(proof_lines) > MAX_PROOF_LINES:
            raise _malformed(f"more than {MAX_PROOF_LINES} consistency proof lines")
        proof = []
        for line in proof_lines:
            value = decode_base64(line)
            if value is None or len(value) != HASH_SIZE:
                raise _malformed(f"not a base64 32-byte hash: {line!r}")
            proof.append(value)
        return cls(old_size, tuple(proof), checkpoint)

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old_size}", *map(encode_base64, self.proof)]
        return "".join(line + "\n" for line in lines).encode() + b"\n" + self.checkpoint

    def origin(self) -> str:
        """The checkpoint's first line, not yet verified: which log's keys to check it with."""
        first = self.checkpoint.partition(b"\n")[0]
        try:
            return first.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("a checkpoint is UTF-8") from None


def open_request(request: AddCheckpoint, logs: Iterable[NoteVerifier]) -> SignedCheckpoint:
    """Verify the checkpoint's signature by the log keys trusted for its origin (checks 1-2).

    ``logs`` are the keys the witness trusts for ``request.origin()``; signatures by other
    keys are ignored. Raises ``WitnessRefusal``: ``UNKNOWN_LOG`` if there are none,
    ``BAD_SIGNATURE`` if none of them signed or one's signature fails, ``MALFORMED`` if the
    checkpoint is not a signed note with a checkpoint text.
    """
    origin, trusted = request.origin(), list(logs)
    if not trusted:
        raise WitnessRefusal(Refusal.UNKNOWN_LOG, f"unknown log: {origin!r}")
    try:
        note = open_note(request.checkpoint, trusted)
        checkpoint = Checkpoint.parse(note.text)
    except (BadSignatureError, UnverifiedNoteError) as error:
        raise WitnessRefusal(Refusal.BAD_SIGNATURE, f"not signed by the log: {error}") from None
    except (MalformedNoteError, CheckpointError) as error:
        raise _malformed(str(error)) from None
    return SignedCheckpoint(checkpoint, note, note.signatures, ())


def check_consistency(
    old_size: int, proof: Sequence[bytes], checkpoint: Checkpoint, latest: TreeHead | None
) -> None:
    """Whether a witness whose record is ``latest`` may cosign ``checkpoint`` (checks 3-7).

    ``latest`` is the witness's record for the checkpoint's origin, None if it never
    cosigned one. Raises ``WitnessRefusal`` (``OLD_SIZE_TOO_LARGE``, ``SIZE_CONFLICT`` with
    the recorded size, or ``INCONSISTENT``); returns if the witness may cosign. The caller
    must then replace ``latest`` by the checkpoint atomically: if the record changed in
    between, this decision no longer holds.
    """
    size = checkpoint.size
    if old_size > size:
        message = f"the old size {old_size} is larger than the checkpoint's size {size}"
        raise WitnessRefusal(Refusal.OLD_SIZE_TOO_LARGE, message)
    known = 0 if latest is None else latest.size
    if old_size != known:
        message = f"the old size {old_size} is not {known}, the latest size cosigned"
        raise WitnessRefusal(Refusal.SIZE_CONFLICT, message, latest=known)
    if size == 0 and checkpoint.root != EMPTY_ROOT:
        raise _inconsistent("a checkpoint of size 0 has the empty tree's root")
    if old_size == 0:
        if proof:
            raise _inconsistent("a proof from size 0 is empty")
        return
    assert latest is not None  # old_size == known > 0
    try:
        verify_consistency(old_size, size, latest.root, checkpoint.root, proof)
    except ProofError as error:
        raise _inconsistent(str(error)) from None


def size_body(size: int) -> bytes:
    """The body of a 409 response: the latest cosigned size in decimal and a newline."""
    return f"{size}\n".encode()


def read_size_body(body: bytes) -> int | None:
    """The size a 409 response's body gives, or None if the body is not a size line."""
    if not body.endswith(b"\n"):
        return None
    try:
        return decode_decimal(body[:-1].decode("ascii"))
    except UnicodeDecodeError:
        return None


def read_signature_lines(body: bytes) -> tuple[Signature, ...]:
    """The note signature lines of a 200 response (one or more, each ending in a newline).

    Raises ``MalformedNoteError`` if the body is not that. The signatures are not
    verified: add them to the checkpoint and open it with the witnesses' keys.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError("signature lines are UTF-8") from None
    if not text.endswith("\n"):
        raise MalformedNoteError("signature lines end with a newline")
    return tuple(Signature.parse(line) for line in text[:-1].split("\n"))


def _malformed(message: str) -> WitnessRefusal:
    return WitnessRefusal(Refusal.MALFORMED, f"not an add-checkpoint request: {message}")


def _inconsistent(message: str) -> WitnessRefusal:
    return WitnessRefusal(Refusal.INCONSISTENT, f"not consistent: {message}")
