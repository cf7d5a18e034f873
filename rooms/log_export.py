"""A poll's log exported whole, and its recount without the server (``mvoting recount``).

The file is JSON::

    {"format": "mvoting-log/v1", "origin": ..., "question": ...,
     "policy": <the tlog-policy text: the log's key, the witnesses, the quorum>,
     "checkpoint": <the final checkpoint note, with its cosignatures>,
     "entries": [<each entry, canonical JSON text>, ...]}

``recount_export`` rebuilds the tree from the entries, checks the checkpoint's signatures
against the policy (the file's, or one the reader trusts), that the tree is the one the
checkpoint names, and recounts the ballots (``rooms.ledger.recount``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from rooms.ledger import LedgerCheckError, Problem, recount
from rooms.ledger_errors import LedgerError
from rooms.merkle import MerkleLog, leaf_hash
from rooms.tlog_policy import Policy

FORMAT = "mvoting-log/v1"


class ExportError(LedgerError):
    """The file is not a log export."""


@dataclass(frozen=True, slots=True)
class LogExport:
    origin: str
    question: str
    policy: bytes
    checkpoint: bytes
    entries: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": FORMAT,
                "origin": self.origin,
                "question": self.question,
                "policy": self.policy.decode(),
                "checkpoint": self.checkpoint.decode(),
                "entries": [entry.decode() for entry in self.entries],
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def parse(cls, data: bytes) -> LogExport:
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ExportError("not JSON") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ExportError(f"not an export of format {FORMAT}")
        texts = {k: body.get(k) for k in ("origin", "question", "policy", "checkpoint")}
        entries = body.get("entries")
        if not all(isinstance(v, str) for v in texts.values()) or not isinstance(entries, list):
            raise ExportError("an export has origin, question, policy, checkpoint and entries")
        if not all(isinstance(e, str) for e in entries):
            raise ExportError("each entry is a string")
        return cls(
            body["origin"],
            body["question"],
            body["policy"].encode(),
            body["checkpoint"].encode(),
            tuple(e.encode() for e in entries),
        )


def recount_export(export: LogExport, policy: Policy | None = None) -> dict[str, Any]:
    """``{"counts", "total", "verified", "reason"}`` of an export, checked against ``policy``
    (default: the file's own, which then only shows the file is self-consistent)."""
    result: dict[str, Any] = {"counts": None, "total": None, "verified": False, "reason": None}
    try:
        counted = recount(export.entries)
        result.update(counted.as_dict())
        trusted = policy or Policy.parse(export.policy)
        signed = trusted.open_checkpoint(export.checkpoint)
        tree = MerkleLog(map(leaf_hash, export.entries))
        checkpoint = signed.checkpoint
        if checkpoint.origin != export.origin:
            raise ExportError(f"the checkpoint is of {checkpoint.origin!r}, not {export.origin!r}")
        if checkpoint.size != tree.size or checkpoint.root != tree.root():
            raise LedgerCheckError(Problem.REWRITTEN, size=checkpoint.size)
        if not counted.closed:
            raise LedgerCheckError(Problem.NOT_CLOSED)
    except LedgerError as error:
        result["reason"] = str(error)
        return result
    except LedgerCheckError as error:
        result["reason"] = str(error)
        return result
    result["verified"] = True
    return result
