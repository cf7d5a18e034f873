"""A receipt promise: the log's signed word that it holds a ballot, for while results are hidden.

A receipt (a C2SP tlog-proof) names the ballot's index and a checkpoint's tree size, and
the size of a poll's log counts its ballots. While a question's results are hidden
(``after_close`` before the close, ``after_vote`` for who has not voted), no proof can go
out without telling the count. The voter still checks their ballot at once: the log
signs, with the same key as its checkpoints, a note that holds its origin, the leaf hash
and the entry, and nothing about where in the log the entry is::

    mvoting receipt promise v1
    <origin>
    <leaf hash, base64>
    <entry, base64>

    — <origin> <signature>

The voter checks that the log's key (from the log's policy) signed it, that the leaf hash
is the entry's (RFC 6962: ``SHA-256(0x00 ‖ entry)``) and that the entry holds their
choices and nonce. It is a promise in the sense of RFC 6962's signed certificate
timestamp: a log that signed it and never includes the entry is caught by this note, and
once the results are shown the same address serves the inclusion proof.

The first line can never be a checkpoint's (an origin has no spaces), so a promise cannot
pass as a checkpoint of the log that signed it, nor the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.tlog._text import decode_base64, encode_base64
from rooms.tlog.errors import LedgerError
from rooms.tlog.merkle import leaf_hash
from rooms.tlog.notes import NoteSigner, NoteVerifier, open_note, sign_note

HEADER = "mvoting receipt promise v1"


class PromiseError(LedgerError):
    """Not a receipt promise, or not one the log's key signed for this entry."""


@dataclass(frozen=True, slots=True)
class ReceiptPromise:
    origin: str
    entry: bytes

    @property
    def leaf(self) -> bytes:
        return leaf_hash(self.entry)

    def text(self) -> str:
        entry = encode_base64(self.entry)
        return f"{HEADER}\n{self.origin}\n{encode_base64(self.leaf)}\n{entry}\n"

    def sign(self, signer: NoteSigner) -> bytes:
        """The signed note; ``signer`` is the log's key (named by the origin)."""
        return sign_note(self.text(), [signer])


def is_promise(data: bytes) -> bool:
    """Whether ``data`` starts as a promise does (to tell it from a tlog-proof)."""
    return data.startswith(HEADER.encode() + b"\n")


def origin_of(data: bytes) -> str:
    """The origin a promise names, read before any signature is checked (to find the log
    and its policy); ``PromiseError`` if ``data`` is no promise."""
    lines = data.split(b"\n", 2)
    if not is_promise(data) or len(lines) < 3 or not lines[1]:
        raise PromiseError("not a receipt promise")
    return lines[1].decode("utf-8", "replace")


def open_promise(data: bytes, verifiers: list[NoteVerifier]) -> ReceiptPromise:
    """The promise in ``data`` once a key in ``verifiers`` named as its origin signed it
    and its leaf hash is its entry's; ``LedgerError`` (a ``PromiseError`` or the note's
    own) otherwise."""
    origin = origin_of(data)
    note = open_note(data, [v for v in verifiers if v.name == origin])
    lines = note.text.split("\n")
    if len(lines) != 5 or lines[0] != HEADER or lines[1] != origin or lines[4] != "":
        raise PromiseError("a receipt promise has four lines: header, origin, leaf, entry")
    leaf, entry = decode_base64(lines[2]), decode_base64(lines[3])
    if leaf is None or entry is None or len(leaf) != 32:
        raise PromiseError("the leaf hash and the entry are base64")
    promise = ReceiptPromise(origin, entry)
    if promise.leaf != leaf:
        raise PromiseError("the promised leaf hash is not the entry's")
    return promise
