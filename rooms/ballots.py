"""A ballot and its ledger leaf.

The leaf is canonical JSON (sorted keys, no spaces) of the question id, the choices (option
indexes; for an open-text question its normalised answers, ``rooms.words``), the
time in milliseconds, the per-question voter reference and a 128-bit nonce from the
voter's client. It never holds an identity. The receipt is the leaf's RFC 6962 hash
(``SHA-256(0x00 ‖ leaf)``), so a voter's receipt is the entry the log will hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class Ballot:
    question: str
    choices: tuple[int, ...] | tuple[str, ...]  #: option indexes, or open-text answers
    time_ms: int
    voter: str
    nonce: str

    def leaf(self) -> bytes:
        # orjson writes no spaces; OPT_SORT_KEYS makes the key order canonical. This runs
        # once per ballot on the cast path, where the stdlib encoder cost ~40 µs.
        body = {
            "c": self.choices,
            "n": self.nonce,
            "q": self.question,
            "t": self.time_ms,
            "v": self.voter,
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    def receipt(self) -> str:
        return hashlib.sha256(b"\x00" + self.leaf()).hexdigest()
