"""A poll's ledger: its entries, its signing keys, and the verdict on it at close.

Each poll (a question between two resets) has its own transparency log, named by its
origin ``<ledger name>/<log id>``. Its entries, in order, are canonical JSON (sorted keys,
no spaces):

- the opening: ``{"e": "open", "q": <question>, "t": <ms>, "d": <definition>}``, each
  time the question opens (it may reopen after closing; its ballots stay);
- each ballot as archived: the leaf of ``rooms.ballots.Ballot`` (no ``"e"``), whose hash
  is the receipt the voter was given;
- the closing: ``{"e": "close", "q": ..., "t": ..., "counts": [...], "total": n}``,
  the live tally at the moment the question closed.

``recount`` reads a log alone (as ``mvoting recount`` does, without the server);
``judge`` adds what only the server has: the archive, the live tally, and the
checkpoints it signed before, and decides completed, failed or pending with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.errors import N_
from rooms.questions import Kind, borda_points
from rooms.survey import PartLimit, fits, limits_of_definition
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer
from rooms.words import MAX_ANSWER, normalise_answer

#: Separates the ledger's derived keys from every other use of the deployment secret.
_KEY_CONTEXT = b"mvoting ledger key v1\n"


def derive_signer(secret: bytes, name: str) -> Ed25519Signer:
    """The Ed25519 note key named ``name``, derived from the deployment secret.

    Every node derives the same key for a log's origin (the key name is the origin,
    tlog-checkpoint "Signatures"), so no key is stored or shipped; the operator key that
    registers logs at witnesses is derived the same way from the ledger's name.
    """
    seed = hmac.new(secret, _KEY_CONTEXT + name.encode(), hashlib.sha256).digest()
    return Ed25519Signer(name, Ed25519PrivateKey.from_private_bytes(seed))


def log_origin(ledger_name: str, log_id: str) -> str:
    return f"{ledger_name}/{log_id}"


def canonical(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(dict(body), option=orjson.OPT_SORT_KEYS)


def opening_entry(question: str, time_ms: int, definition: Mapping[str, Any]) -> bytes:
    return canonical({"e": "open", "q": question, "t": time_ms, "d": definition})


def closing_entry(question: str, time_ms: int, counts: Sequence[Any], total: int) -> bytes:
    return canonical(
        {"e": "close", "q": question, "t": time_ms, "counts": list(counts), "total": total}
    )


class Verification(StrEnum):
    COMPLETED = "completed"  #: quorum cosigned, recount == tally == archive == tree
    FAILED = "failed"  #: some check disagrees: the reason says which
    PENDING = "pending"  #: not yet decided (witnesses unreachable, still archiving)


class Problem(StrEnum):
    """Why a poll is not verified; each has a sentence built from named fields."""

    MALFORMED_ENTRY = "malformed_entry"
    NO_OPENING = "no_opening"
    FOREIGN_ENTRY = "foreign_entry"
    BAD_CHOICE = "bad_choice"
    DOUBLE_VOTE = "double_vote"
    CLOSING_MISMATCH = "closing_mismatch"
    NOT_CLOSED = "not_closed"
    REWRITTEN = "rewritten"
    ARCHIVE_ALTERED = "archive_altered"
    ARCHIVE_MISSING = "archive_missing"
    ARCHIVE_EXTRA = "archive_extra"
    TALLY_MISMATCH = "tally_mismatch"
    COUNT_MISMATCH = "count_mismatch"
    WITNESS_REFUSED = "witness_refused"
    QUORUM = "quorum"
    NO_WITNESSES = "no_witnesses"
    BAD_CHECKPOINT = "bad_checkpoint"


PROBLEMS: dict[Problem, str] = {
    Problem.MALFORMED_ENTRY: N_("Log entry {index} is not a ledger entry."),
    Problem.NO_OPENING: N_("The log does not start with the question's opening."),
    Problem.FOREIGN_ENTRY: N_("Log entry {index} belongs to another question."),
    Problem.BAD_CHOICE: N_(
        "Ballot {receipt} (log entry {index}) has a choice outside the options."
    ),
    Problem.DOUBLE_VOTE: N_(
        "Ballot {receipt} (log entry {index}) is a second ballot by one voter."
    ),
    Problem.CLOSING_MISMATCH: N_(
        "The tally recorded at closing (log entry {index}) is {recorded}; the ballots before it "
        "count {counted}."
    ),
    Problem.NOT_CLOSED: N_("The log does not end with the question's closing."),
    Problem.REWRITTEN: N_(
        "The log's first {size} entries no longer match the checkpoint signed for them: an "
        "entry was rewritten."
    ),
    Problem.ARCHIVE_ALTERED: N_(
        "Ballot {receipt} (log entry {index}) differs in the archive from the log."
    ),
    Problem.ARCHIVE_MISSING: N_(
        "Ballot {receipt} (log entry {index}) is missing from the archive."
    ),
    Problem.ARCHIVE_EXTRA: N_("The archive holds ballot {receipt}, which is not in the log."),
    Problem.TALLY_MISMATCH: N_("The live tally is {tally}; the recount of the log is {counted}."),
    Problem.COUNT_MISMATCH: N_(
        "The archive holds {archived} ballots, the live tally {tally}, the log {logged}."
    ),
    Problem.WITNESS_REFUSED: N_("Witness {witness} refused the final checkpoint: {detail}"),
    Problem.QUORUM: N_(
        "{cosigned} of the witnesses cosigned the final checkpoint; the policy needs "
        "{quorum}. Not cosigned: {missing}."
    ),
    Problem.NO_WITNESSES: N_("No witness policy is configured, so no one cosigned the log."),
    Problem.BAD_CHECKPOINT: N_("The final checkpoint does not verify: {detail}"),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Verification
    problem: Problem | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """The English sentence; pages translate ``PROBLEMS[problem]`` with ``fields``."""
        return "" if self.problem is None else PROBLEMS[self.problem].format(**self.fields)


COMPLETED = Verdict(Verification.COMPLETED)


class LedgerCheckError(Exception):
    """A log or archive check failed: ``problem`` and the sentence's fields."""

    def __init__(self, problem: Problem, **fields: Any) -> None:
        self.problem = problem
        self.fields = fields
        super().__init__(PROBLEMS[problem].format(**fields))

    def verdict(self, status: Verification = Verification.FAILED) -> Verdict:
        return Verdict(status, self.problem, self.fields)


@dataclass(frozen=True, slots=True)
class Recount:
    """What a log says: the counts of its ballots, and where each ballot is."""

    question: str
    counts: tuple[Any, ...]  #: per option; for open text ``[answer, count]`` pairs
    total: int
    ballots: dict[int, bytes]  #: log index -> the ballot's entry
    closed: bool  #: the last entry is a closing

    def as_dict(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "total": self.total}


def recount(entries: Sequence[bytes]) -> Recount:
    """Count a log's ballots, checking it is a well-formed poll; raises ``LedgerCheckError``.

    The log starts with an opening; ballots carry its question, choices among the options
    of the definition then in force, and one voter reference at most once; each closing
    records the tally the ballots before it make. A ranking's count is the Borda count
    (``rooms.questions.borda_points``); an open-text question's (no options) is each
    answer's number of ballots, as ``[answer, count]`` pairs (``answer_counts``).
    """
    if not entries:
        raise LedgerCheckError(Problem.NO_OPENING)
    first = _read(entries[0], 0)
    if first.get("e") != "open":
        raise LedgerCheckError(Problem.NO_OPENING)
    question = first["q"]
    counts: list[int] = []
    words: dict[str, int] = {}
    voters: set[str] = set()
    ballots: dict[int, bytes] = {}
    total = 0
    last = ""
    kind = ""
    parts: tuple[PartLimit, ...] | None = None  #: a survey's, from its opening
    for index, raw in enumerate(entries):
        entry = _read(raw, index)
        if entry.get("q") != question:
            raise LedgerCheckError(Problem.FOREIGN_ENTRY, index=index)
        last = entry.get("e", "ballot")
        if last == "open":
            options = len(entry["d"]["options"])
            counts += [0] * (options - len(counts))
            kind = entry["d"].get("kind", "")
            parts = limits_of_definition(entry["d"]) if kind == Kind.SURVEY else None
        elif last == "close":
            counted: list[Any] = answer_counts(words) if kind == Kind.TEXT else counts
            if entry["counts"] != counted or entry["total"] != total:
                raise LedgerCheckError(
                    Problem.CLOSING_MISMATCH,
                    index=index,
                    recorded=entry["counts"],
                    counted=counted,
                )
        else:
            receipt = receipt_code(raw)
            if entry["v"] in voters:
                raise LedgerCheckError(Problem.DOUBLE_VOTE, receipt=receipt, index=index)
            if not _valid_choices(entry["c"], kind, len(counts)) or (
                kind == Kind.SURVEY and (parts is None or not fits(parts, entry["c"]))
            ):
                raise LedgerCheckError(Problem.BAD_CHOICE, receipt=receipt, index=index)
            voters.add(entry["v"])
            for place, choice in enumerate(entry["c"]):
                if kind == Kind.TEXT:
                    words[choice] = words.get(choice, 0) + 1
                else:
                    counts[choice] += (
                        borda_points(len(counts), place) if kind == Kind.RANKING else 1
                    )
            total += 1
            ballots[index] = raw
    final = tuple(answer_counts(words)) if kind == Kind.TEXT else tuple(counts)
    return Recount(question, final, total, ballots, last == "close")


def answer_counts(words: Mapping[str, int]) -> list[list[Any]]:
    """An open-text count as a log's closing records it: ``[answer, count]`` pairs, most
    given first, ties in code point order of the answers."""
    return [[w, n] for w, n in sorted(words.items(), key=lambda item: (-item[1], item[0]))]


def _valid_choices(choices: list[Any], kind: str, options: int) -> bool:
    """A ballot's choices fit its question: option indexes, each at most once (a ranking
    orders all of them); an open-text ballot's answers, distinct, normalised, non-empty."""
    if not choices or len(set(choices)) != len(choices):
        return False
    if kind == Kind.TEXT:
        return all(
            isinstance(c, str) and c and normalise_answer(c) == c and len(c) <= MAX_ANSWER
            for c in choices
        )
    if not all(isinstance(c, int) and 0 <= c < options for c in choices):
        return False
    return kind != Kind.RANKING or len(choices) == options


def receipt_code(entry: bytes) -> str:
    """The short code a voter sees: the first 12 hex digits of the entry's leaf hash."""
    return leaf_hash(entry).hex()[:12]


_SHAPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "open": {"e": str, "q": str, "t": int, "d": dict},
    "close": {"e": str, "q": str, "t": int, "counts": list, "total": int},
    "ballot": {"c": list, "n": str, "q": str, "t": int, "v": str},
}


def _read(raw: bytes, index: int) -> dict[str, Any]:
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise LedgerCheckError(Problem.MALFORMED_ENTRY, index=index) from None
    kind = entry.get("e", "ballot") if isinstance(entry, dict) else None
    shape = _SHAPES.get(kind) if isinstance(kind, str) else None  # {"e": []} is unhashable
    if (
        shape is None
        or entry.keys() != shape.keys()
        or not all(
            isinstance(entry[k], t) and not isinstance(entry[k], bool) for k, t in shape.items()
        )
        or canonical(entry) != raw
        or (entry.get("e") == "open" and not isinstance(entry["d"].get("options"), list))
        or not _all_of(entry.get("c", ()), (int,), (str,))
        or not _all_of(entry.get("counts", ()), (int,), (str, int))
    ):
        raise LedgerCheckError(Problem.MALFORMED_ENTRY, index=index)
    checked: dict[str, Any] = entry
    return checked


def _is(value: object, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _all_of(values: Any, *shapes: tuple[type, ...]) -> bool:
    """Whether every value has one same shape: ``(int,)`` an int, ``(str, int)`` a pair."""
    return any(all(_shaped(v, shape) for v in values) for shape in shapes)


def _shaped(value: object, shape: tuple[type, ...]) -> bool:
    if len(shape) == 1:
        return _is(value, shape[0])
    return (
        isinstance(value, list)
        and len(value) == len(shape)
        and all(_is(v, t) for v, t in zip(value, shape, strict=True))
    )


def check_checkpoints(tree: MerkleLog, signed: Mapping[int, bytes]) -> None:
    """Each root the log signed before (size -> root) must still be the tree's at that size.

    A rewritten entry changes every later root, so the first checkpoint past it fails.
    """
    for size, root in sorted(signed.items()):
        if size > tree.size or tree.root(size) != root:
            raise LedgerCheckError(Problem.REWRITTEN, size=size)


def check_archive(counted: Recount, archive: Mapping[int, bytes]) -> None:
    """The archive (log index -> the entry rebuilt from the archive row) equals the log."""
    for index, entry in sorted(counted.ballots.items()):
        stored = archive.get(index)
        if stored is None:
            raise LedgerCheckError(
                Problem.ARCHIVE_MISSING, receipt=receipt_code(entry), index=index
            )
        if stored != entry:
            raise LedgerCheckError(
                Problem.ARCHIVE_ALTERED, receipt=receipt_code(entry), index=index
            )
    for index, entry in sorted(archive.items()):
        if index not in counted.ballots:
            raise LedgerCheckError(Problem.ARCHIVE_EXTRA, receipt=receipt_code(entry))


def check_tally(counted: Recount, counts: Sequence[Any], total: int, archived: int) -> None:
    """The live tally equals the recount, and archive == tally == ballots in the log."""
    if archived != total or total != counted.total:
        raise LedgerCheckError(
            Problem.COUNT_MISMATCH, archived=archived, tally=total, logged=counted.total
        )
    if tuple(counts) != counted.counts:
        raise LedgerCheckError(
            Problem.TALLY_MISMATCH, tally=list(counts), counted=list(counted.counts)
        )


@dataclass(frozen=True, slots=True)
class Witnessing:
    """How the witnesses answered for the final checkpoint."""

    quorum_met: bool
    cosigned: tuple[str, ...]
    missing: tuple[str, ...]  #: unreachable or not yet asked
    refused: Mapping[str, str]  #: witness -> its refusal (a fork or a rewritten log)
    quorum: str = ""
    configured: bool = True


def judge(
    entries: Sequence[bytes],
    *,
    signed_roots: Mapping[int, bytes],
    archive: Mapping[int, bytes],
    tally_counts: Sequence[Any],
    tally_total: int,
    witnessing: Witnessing,
) -> Verdict:
    """The verdict on a closed poll, from the first failed check.

    Local checks come first (the log against itself, its checkpoints, the archive and the
    tally): they fail whatever the witnesses say. A witness refusing means it saw another
    view of the log: failed. Only then does a missing quorum leave it pending.
    """
    try:
        counted = recount(entries)
        if not counted.closed:
            raise LedgerCheckError(Problem.NOT_CLOSED)
        check_checkpoints(MerkleLog(map(leaf_hash, entries)), signed_roots)
        check_archive(counted, archive)
        check_tally(counted, tally_counts, tally_total, len(archive))
    except LedgerCheckError as error:
        return error.verdict()
    if not witnessing.configured:
        return Verdict(Verification.PENDING, Problem.NO_WITNESSES)
    for witness, detail in sorted(witnessing.refused.items()):
        return Verdict(
            Verification.FAILED, Problem.WITNESS_REFUSED, {"witness": witness, "detail": detail}
        )
    if not witnessing.quorum_met:
        return Verdict(
            Verification.PENDING,
            Problem.QUORUM,
            {
                "cosigned": len(witnessing.cosigned),
                "quorum": witnessing.quorum,
                "missing": ", ".join(witnessing.missing) or "-",
            },
        )
    return COMPLETED
