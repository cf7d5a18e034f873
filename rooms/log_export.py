"""A poll's log exported whole, and its recount without the server (``mvoting recount``).

The file is JSON::

    {"format": "mvoting-log/v1", "origin": ..., "question": ...,
     "policy": <the tlog-policy text: the log's key, the witnesses, the quorum>,
     "checkpoint": <the final checkpoint note, with its cosignatures>,
     "entries": [<each entry, canonical JSON text>, ...]}

``recount_export`` recounts the ballots (``rooms.ledger.recount``: a well-formed poll of the
file's question), checks the checkpoint's signatures against the policy (the file's, or one
the reader trusts), that the tree rebuilt from the entries is the one the checkpoint names,
and that the log ends with the closing. The policy is empty when the exporting server had
no witnesses; the file's own policy only shows that the file is consistent with itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from rooms.ledger import LedgerCheckError, Problem, recount
from rooms.tlog.errors import LedgerError
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.policy import Policy

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
    (default: the file's own, which then only shows the file is self-consistent).

    The counts are the recount of the entries whenever they are a well-formed poll, even if
    a later check fails: ``verified`` says whether they are the log the checkpoint names.
    """
    result: dict[str, Any] = {"counts": None, "total": None, "verified": False, "reason": None}
    # Two roots, neither under the other: LedgerError refuses an artefact of the file (the
    # policy, a signature, the quorum); LedgerCheckError, the poll the entries make.
    try:
        counted = recount(export.entries)
        result.update(counted.as_dict())
        if counted.question != export.question:
            raise ExportError(
                f"the entries are of question {counted.question!r}, not {export.question!r}"
            )
        if policy is None and not export.policy:
            raise ExportError("the export has no policy (its server had no witnesses)")
        trusted = policy if policy is not None else Policy.parse(export.policy)
        checkpoint = trusted.open_checkpoint(export.checkpoint).checkpoint
        if checkpoint.origin != export.origin:
            raise ExportError(f"the checkpoint is of {checkpoint.origin!r}, not {export.origin!r}")
        tree = MerkleLog(map(leaf_hash, export.entries))
        if checkpoint.size != tree.size:
            raise ExportError(
                f"the checkpoint is of {checkpoint.size} entries; the file holds {tree.size}"
            )
        if checkpoint.root != tree.root():
            raise LedgerCheckError(Problem.REWRITTEN, size=checkpoint.size)
        if not counted.closed:
            raise LedgerCheckError(Problem.NOT_CLOSED)
    except (LedgerError, LedgerCheckError) as error:
        result["reason"] = str(error)
        return result
    result["verified"] = True
    return result
