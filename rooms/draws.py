"""Lot drawings: their slots, the commitment to a seed, the drawing procedure, its check.

A draw is a list of up to ``MAX_SLOTS`` slots (a prize, a name, a speaking turn; a blank
slot wins nothing) drawn one at a time, each slot at most once, in a way anyone can re-run
once the seed is revealed (``docs/draws.md`` is the verifier's specification):

1. While a draft, the host edits the title and the slots.
2. The host commits: the server takes the host's seed or makes one, and the draw's log
   opens with the commitment entry, which fixes the slots and ``commitment(draw, seed)``.
3. The witnesses cosign the checkpoint of that one entry; once their quorum has, the
   cosigned checkpoint is the log's second entry. The beacon is the log's root at that
   size, ``BEACON_SIZE`` (``beacon``): it holds the witnesses' cosignatures, which nobody
   knew when the seed was committed. No draw before then (``check_pick``).
4. Draw number ``n`` (0, 1, ...) picks, among the slots not drawn yet, the one
   ``pick(seed, beacon, n, drawn, slots)`` names: SHA-256 in counter mode, rejection
   sampling for an unbiased index. Each draw is an entry of the log with its time and the
   beacon it used (its tree size and root).
5. The reveal entry gives the seed; ``check_log`` then re-runs every draw.

Entries are canonical JSON (``rooms.ledger.canonical``: sorted keys, no spaces)::

    {"e": "draw_commit", "draw": id, "t": ms, "title": ..., "slots": [{"blank", "label"}],
     "commitment": <64 hex>}
    {"e": "draw_witnessed", "draw": id, "checkpoint": <the cosigned checkpoint of size 1>}
    {"e": "draw", "draw": id, "n": n, "slot": index, "t": ms, "size": 2, "beacon": <64 hex>}
    {"e": "draw_reveal", "draw": id, "seed": <the seed>, "t": ms}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from rooms.errors import N_, VotingError, bad_request, invalid_state
from rooms.ledger import canonical
from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.errors import LedgerError
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.policy import Policy

MAX_SLOTS = 60
MAX_LABEL = 200
MAX_TITLE = 200
#: A seed the host gives is text of this many characters: long enough that nobody can
#: find it from the commitment by trying (a server's seed is 64 hex digits, 256 bits).
SEED_MIN, SEED_MAX = 16, 256
#: Domain separation: a commitment is never a draw's block, nor any other SHA-256 here.
COMMIT_CONTEXT = b"mvoting draw commitment v1\n"
DRAW_CONTEXT = b"mvoting draw v1\n"
_HEX = re.compile(r"[0-9a-f]+")
_TWO_64 = 1 << 64


class DrawState(StrEnum):
    DRAFT = "draft"  #: the host edits the slots; no seed yet
    COMMITTED = "committed"  #: the commitment is in the log; slots fixed; draws go on
    REVEALED = "revealed"  #: the seed is in the log: anyone re-runs it; no more draws


@dataclass(frozen=True, slots=True)
class Slot:
    label: str
    blank: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "blank": self.blank}


@dataclass(frozen=True, slots=True)
class DrawSpec:
    title: str
    slots: tuple[Slot, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "slots": [s.as_dict() for s in self.slots]}


def build_draw(title: object, slots: object) -> DrawSpec:
    """A draw's definition from a request's values; ``bad_request`` if it is not one.

    ``slots`` is a list of ``{"label": str, "blank": bool}`` (or of plain labels); a blank
    slot may have no label. Labels are trimmed; 1 to ``MAX_SLOTS`` slots."""
    if not isinstance(title, str) or not title.strip():
        raise bad_request(N_("a draw needs a title"))
    if len(title.strip()) > MAX_TITLE:
        raise bad_request(N_("a draw's title has at most {limit} characters"), limit=MAX_TITLE)
    if not isinstance(slots, list) or not slots:
        raise bad_request(N_("a draw needs at least one slot"))
    if len(slots) > MAX_SLOTS:
        raise bad_request(N_("a draw has at most {limit} slots"), limit=MAX_SLOTS)
    return DrawSpec(title.strip(), tuple(_slot(raw, i) for i, raw in enumerate(slots)))


def _slot(raw: object, index: int) -> Slot:
    if isinstance(raw, str):
        raw = {"label": raw}
    if not isinstance(raw, dict):
        raise bad_request(N_("slot {number} is not a label"), number=index + 1)
    label, blank = raw.get("label", ""), raw.get("blank", False)
    if not isinstance(label, str) or not isinstance(blank, bool):
        raise bad_request(N_("slot {number} is not a label"), number=index + 1)
    label = label.strip()
    if not label and not blank:
        raise bad_request(N_("slot {number} needs a label, or mark it blank"), number=index + 1)
    if len(label) > MAX_LABEL:
        raise bad_request(
            N_("slot {number}'s label has at most {limit} characters"),
            number=index + 1,
            limit=MAX_LABEL,
        )
    return Slot(label, blank)


def check_seed(seed: object) -> str:
    """A host's seed: text of ``SEED_MIN`` to ``SEED_MAX`` characters."""
    if not isinstance(seed, str) or not SEED_MIN <= len(seed) <= SEED_MAX:
        raise bad_request(
            N_("a seed is text of {low} to {high} characters"), low=SEED_MIN, high=SEED_MAX
        )
    return seed


def commitment(draw_id: str, seed: str) -> str:
    """SHA-256 over the context, the draw's id, a newline and the seed (UTF-8), in hex."""
    return hashlib.sha256(COMMIT_CONTEXT + draw_id.encode() + b"\n" + seed.encode()).hexdigest()


#: The size of the log whose root is every draw's beacon: the commitment entry, then the
#: witnesses' checkpoint of it. A root at a smaller size was known when the seed was.
BEACON_SIZE = 2


def beacon(entries: Sequence[bytes]) -> bytes:
    """The value each draw combines with the seed: the RFC 9162 root of the log's first
    ``BEACON_SIZE`` entries, SHA-256(0x01 ‖ leaf(entry 0) ‖ leaf(entry 1)) with
    leaf(e) = SHA-256(0x00 ‖ e). Entry 1 holds the witnesses' cosignatures of entry 0."""
    if len(entries) < BEACON_SIZE:
        raise ValueError(f"a beacon is the root of {BEACON_SIZE} entries")
    return MerkleLog(map(leaf_hash, entries[:BEACON_SIZE])).root()


def canonical_note(note: bytes) -> bytes:
    """A signed checkpoint with its signature lines in one order: the log's (the first)
    first, then the others sorted bytewise, so the server cannot pick an order."""
    text, _, block = note.partition(b"\n\n")
    lines = block.splitlines(keepends=True)
    return text + b"\n\n" + b"".join(lines[:1]) + b"".join(sorted(lines[1:]))


def _block(seed: str, beacon_: bytes, n: int, counter: int) -> bytes:
    raw = seed.encode()
    return hashlib.sha256(
        DRAW_CONTEXT
        + len(raw).to_bytes(4, "big")
        + raw
        + beacon_
        + n.to_bytes(4, "big")
        + counter.to_bytes(4, "big")
    ).digest()


def remaining(slots: int, drawn: Sequence[int]) -> list[int]:
    """The slots not drawn yet, in their order."""
    taken = set(drawn)
    return [i for i in range(slots) if i not in taken]


def pick(seed: str, beacon_: bytes, n: int, drawn: Sequence[int], slots: int) -> int:
    """The slot draw number ``n`` picks, once the slots ``drawn`` are out.

    Block ``j`` is SHA-256(DRAW_CONTEXT ‖ u32(len seed) ‖ seed ‖ beacon ‖ u32(n) ‖ u32(j));
    its first 8 bytes, big-endian, are ``x``. With ``m`` slots left, ``x`` is kept only below
    the largest multiple of ``m`` under 2**64 (so every index is equally likely) and then
    names ``left[x mod m]``; else the next block is tried."""
    left = remaining(slots, drawn)
    if not left:
        raise invalid_state(N_("Every slot has been drawn."))
    m = len(left)
    limit = _TWO_64 - _TWO_64 % m
    counter = 0
    while True:
        x = int.from_bytes(_block(seed, beacon_, n, counter)[:8], "big")
        if x < limit:
            return left[x % m]
        counter += 1  # at most a 2**-57 chance with 60 slots; still handled


def draw_order(seed: str, beacon_: bytes, slots: int, count: int) -> list[int]:
    """The first ``count`` draws' slots, each picked from those before it."""
    drawn: list[int] = []
    for n in range(count):
        drawn.append(pick(seed, beacon_, n, drawn, slots))
    return drawn


# --- the log's entries ------------------------------------------------------------------


def commit_entry(draw_id: str, time_ms: int, spec: DrawSpec, commitment_hex: str) -> bytes:
    return canonical(
        {
            "e": "draw_commit",
            "draw": draw_id,
            "t": time_ms,
            "title": spec.title,
            "slots": [s.as_dict() for s in spec.slots],
            "commitment": commitment_hex,
        }
    )


def witness_entry(draw_id: str, note: bytes) -> bytes:
    """The log's second entry: the checkpoint of the commitment entry alone, as the log
    signed it and the witnesses cosigned it (``canonical_note``)."""
    return canonical(
        {"e": "draw_witnessed", "draw": draw_id, "checkpoint": canonical_note(note).decode()}
    )


def pick_entry(draw_id: str, n: int, slot: int, time_ms: int, beacon_: bytes) -> bytes:
    return canonical(
        {
            "e": "draw",
            "draw": draw_id,
            "n": n,
            "slot": slot,
            "t": time_ms,
            "size": BEACON_SIZE,
            "beacon": beacon_.hex(),
        }
    )


def reveal_entry(draw_id: str, seed: str, time_ms: int) -> bytes:
    return canonical({"e": "draw_reveal", "draw": draw_id, "seed": seed, "t": time_ms})


# --- decisions ---------------------------------------------------------------------------


def check_edit(state: DrawState) -> None:
    if state is not DrawState.DRAFT:
        raise invalid_state(
            N_("The draw's slots are fixed by its commitment: they can no longer be edited.")
        )


def check_commit(state: DrawState) -> None:
    if state is not DrawState.DRAFT:
        raise invalid_state(N_("This draw is committed already."))


def check_pick(state: DrawState, drawn: int, slots: int, witnessed: bool) -> None:
    """``witnessed``: the witnesses' checkpoint of the commitment is in the log."""
    if state is DrawState.DRAFT:
        raise invalid_state(N_("Commit to the seed before the first draw."))
    if state is DrawState.REVEALED:
        raise invalid_state(N_("The seed is revealed: this draw is over."))
    if not witnessed:
        raise invalid_state(
            N_(
                "The commitment is not yet cosigned by the witnesses: drawing waits for "
                "their quorum."
            )
        )
    if drawn >= slots:
        raise invalid_state(N_("Every slot has been drawn."))


def check_reveal(state: DrawState, drawn: int) -> None:
    if state is DrawState.DRAFT:
        raise invalid_state(N_("Commit to the seed before the first draw."))
    if state is DrawState.REVEALED:
        raise invalid_state(N_("The seed is revealed: this draw is over."))
    if drawn == 0:
        raise invalid_state(N_("Draw at least once before revealing the seed."))


# --- checking a log ---------------------------------------------------------------------


class Problem(StrEnum):
    MALFORMED = "malformed"
    NO_COMMITMENT = "no_commitment"
    FOREIGN = "foreign"
    OUT_OF_ORDER = "out_of_order"
    AFTER_REVEAL = "after_reveal"
    WRONG_SEED = "wrong_seed"
    WRONG_SLOT = "wrong_slot"
    REPEATED = "repeated"
    NOT_WITNESSED = "not_witnessed"
    EARLY_BEACON = "early_beacon"
    WRONG_BEACON = "wrong_beacon"


PROBLEMS: dict[Problem, str] = {
    Problem.MALFORMED: N_("Log entry {index} is not an entry of a draw."),
    Problem.NO_COMMITMENT: N_("The log does not start with the draw's commitment."),
    Problem.FOREIGN: N_("Log entry {index} belongs to another draw."),
    Problem.OUT_OF_ORDER: N_("Log entry {index} is draw {n}; draw {expected} comes next."),
    Problem.AFTER_REVEAL: N_("Log entry {index} comes after the seed was revealed."),
    Problem.WRONG_SEED: N_("The revealed seed does not match the commitment."),
    Problem.WRONG_SLOT: N_(
        "Draw {number} drew slot {slot}; the seed and the beacon give slot {expected}."
    ),
    Problem.REPEATED: N_("Log entry {index} draws slot {slot} a second time."),
    Problem.NOT_WITNESSED: N_(
        "Log entry 1 is not the witnesses' checkpoint of the commitment: no draw may come "
        "before it."
    ),
    Problem.EARLY_BEACON: N_(
        "Draw {number} takes as its beacon the log's root at tree size {size}: that is not "
        "after the commitment's witnesses (tree size {expected})."
    ),
    Problem.WRONG_BEACON: N_(
        "Draw {number}'s beacon is not the log's root at tree size {expected}."
    ),
}


class DrawCheckError(Exception):
    def __init__(self, problem: Problem, **fields: Any) -> None:
        self.problem = problem
        self.fields = fields
        super().__init__(PROBLEMS[problem].format(**fields))


@dataclass(frozen=True, slots=True)
class Drawn:
    n: int
    slot: int
    time_ms: int
    size: int  #: the tree size of the beacon it used
    beacon: bytes


@dataclass(frozen=True, slots=True)
class DrawLog:
    """What a draw's log says, once ``check_log`` found it well formed."""

    draw_id: str
    spec: DrawSpec
    commitment: str
    committed_ms: int
    witnessed: str | None  #: the witnesses' checkpoint of the commitment, once in the log
    beacon: bytes | None  #: the root at ``BEACON_SIZE``, once the log has that size
    picks: tuple[Drawn, ...]
    seed: str | None = None  #: once revealed
    revealed_ms: int | None = None
    recomputed: tuple[int, ...] = field(default=())  #: the slots the seed gives, if revealed

    @property
    def verified(self) -> bool:
        """Revealed, and every draw is the one the seed and the beacon give."""
        return self.seed is not None


_SHAPES: dict[str, dict[str, type]] = {
    "draw_commit": {
        "e": str,
        "draw": str,
        "t": int,
        "title": str,
        "slots": list,
        "commitment": str,
    },
    "draw_witnessed": {"e": str, "draw": str, "checkpoint": str},
    "draw": {
        "e": str,
        "draw": str,
        "n": int,
        "slot": int,
        "t": int,
        "size": int,
        "beacon": str,
    },
    "draw_reveal": {"e": str, "draw": str, "seed": str, "t": int},
}


def _read(raw: bytes, index: int) -> dict[str, Any]:
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise DrawCheckError(Problem.MALFORMED, index=index) from None
    kind = entry.get("e") if isinstance(entry, dict) else None
    shape = _SHAPES.get(kind) if isinstance(kind, str) else None
    if (
        shape is None
        or entry.keys() != shape.keys()
        or not all(
            isinstance(entry[k], t) and not isinstance(entry[k], bool) for k, t in shape.items()
        )
        or canonical(entry) != raw
    ):
        raise DrawCheckError(Problem.MALFORMED, index=index)
    checked: dict[str, Any] = entry
    return checked


def _hex(value: str, digits: int) -> bool:
    return len(value) == digits and _HEX.fullmatch(value) is not None


def _witnessed_note(entry: dict[str, Any], commit: bytes) -> str:
    """Entry 1's checkpoint, if it is the log's checkpoint of the commitment entry alone,
    its signature lines in their one order; else ``NOT_WITNESSED``."""
    note = str(entry["checkpoint"])
    text, blank, signatures = note.partition("\n\n")
    try:
        checkpoint = Checkpoint.parse(text + "\n")
    except LedgerError:
        raise DrawCheckError(Problem.NOT_WITNESSED) from None
    if (
        not blank
        or not signatures
        or checkpoint.size != 1
        or checkpoint.root != leaf_hash(commit)
        or canonical_note(note.encode()) != note.encode()
    ):
        raise DrawCheckError(Problem.NOT_WITNESSED)
    return note


def check_log(entries: Sequence[bytes]) -> DrawLog:
    """Read a draw's log and, once it holds the seed, re-run every draw; raises
    ``DrawCheckError`` at the first entry that does not hold.

    Before the reveal only the log's shape and each draw's beacon are checked: the draws
    cannot be re-run yet. The signatures of the witnesses' checkpoint are not checked
    here: ``check_export`` checks them against a policy."""
    if not entries:
        raise DrawCheckError(Problem.NO_COMMITMENT)
    try:
        first = _read(entries[0], 0)
    except DrawCheckError:
        first = {}
    if first.get("e") != "draw_commit":
        raise DrawCheckError(Problem.NO_COMMITMENT)
    try:
        spec = build_draw(first["title"], first["slots"])
    except VotingError:
        raise DrawCheckError(Problem.MALFORMED, index=0) from None
    if spec.as_dict()["slots"] != first["slots"] or spec.title != first["title"]:
        raise DrawCheckError(Problem.MALFORMED, index=0)
    if not _hex(first["commitment"], 64):
        raise DrawCheckError(Problem.MALFORMED, index=0)
    draw_id = first["draw"]
    witnessed: str | None = None
    beacon_ = beacon(entries) if len(entries) >= BEACON_SIZE else None
    picks: list[Drawn] = []
    seed: str | None = None
    revealed_ms: int | None = None
    for index, raw in enumerate(entries[1:], start=1):
        entry = _read(raw, index)
        if entry["draw"] != draw_id:
            raise DrawCheckError(Problem.FOREIGN, index=index)
        if seed is not None:
            raise DrawCheckError(Problem.AFTER_REVEAL, index=index)
        if index == 1:
            if entry["e"] != "draw_witnessed":
                raise DrawCheckError(Problem.NOT_WITNESSED)
            witnessed = _witnessed_note(entry, entries[0])
        elif entry["e"] == "draw":
            if entry["n"] != len(picks):
                raise DrawCheckError(
                    Problem.OUT_OF_ORDER, index=index, n=entry["n"], expected=len(picks)
                )
            if not 0 <= entry["slot"] < len(spec.slots) or not _hex(entry["beacon"], 64):
                raise DrawCheckError(Problem.MALFORMED, index=index)
            number = entry["n"] + 1
            if entry["size"] < BEACON_SIZE:
                raise DrawCheckError(
                    Problem.EARLY_BEACON, number=number, size=entry["size"], expected=BEACON_SIZE
                )
            if entry["size"] != BEACON_SIZE or bytes.fromhex(entry["beacon"]) != beacon_:
                raise DrawCheckError(Problem.WRONG_BEACON, number=number, expected=BEACON_SIZE)
            if any(p.slot == entry["slot"] for p in picks):
                raise DrawCheckError(Problem.REPEATED, index=index, slot=entry["slot"] + 1)
            picks.append(
                Drawn(
                    entry["n"],
                    entry["slot"],
                    entry["t"],
                    entry["size"],
                    bytes.fromhex(entry["beacon"]),
                )
            )
        elif entry["e"] == "draw_reveal":
            seed, revealed_ms = entry["seed"], entry["t"]
        else:
            raise DrawCheckError(Problem.MALFORMED, index=index)
    found = DrawLog(
        draw_id, spec, first["commitment"], first["t"], witnessed, beacon_, tuple(picks)
    )
    if seed is None:
        return found
    if commitment(draw_id, seed) != first["commitment"]:
        raise DrawCheckError(Problem.WRONG_SEED)
    expected = [] if beacon_ is None else draw_order(seed, beacon_, len(spec.slots), len(picks))
    for drawn, slot in zip(picks, expected, strict=True):
        if drawn.slot != slot:
            raise DrawCheckError(
                Problem.WRONG_SLOT, number=drawn.n + 1, slot=drawn.slot + 1, expected=slot + 1
            )
    return DrawLog(
        draw_id,
        spec,
        first["commitment"],
        first["t"],
        witnessed,
        beacon_,
        tuple(picks),
        seed,
        revealed_ms,
        tuple(expected),
    )


def public_log(found: DrawLog) -> Mapping[str, Any]:
    """What a page shows of a checked log: the slots, each draw, the seed once revealed."""
    return {
        "id": found.draw_id,
        "title": found.spec.title,
        "slots": [s.as_dict() for s in found.spec.slots],
        "commitment": found.commitment,
        "witnessed": found.witnessed,
        "beacon": None if found.beacon is None else found.beacon.hex(),
        "beacon_size": BEACON_SIZE,
        "committed_ms": found.committed_ms,
        "picks": [
            {"n": p.n, "slot": p.slot, "t": p.time_ms, "size": p.size, "beacon": p.beacon.hex()}
            for p in found.picks
        ],
        "seed": found.seed,
        "revealed_ms": found.revealed_ms,
    }


# --- a log as the server serves it (``GET /draws/<id>/log``, ``mvoting draw verify``) -----

#: The format of a draw's served log.
LOG_FORMAT = "mvoting-draw-log/v2"


class DrawExportError(LedgerError):
    """The file is not a draw's log as the server serves it."""


def check_export(data: bytes, policy: Policy | None = None) -> dict[str, Any]:
    """``{"verified", "reason", "draw", "title", "picks", "seed", "signed", "beacon",
    "beacon_size", "witnesses"}`` of a served log.

    Re-runs the draw (``check_log``: the seed against the commitment, each draw's beacon
    against the root of the log's first ``BEACON_SIZE`` entries, each draw's slot), then
    checks the signatures against ``policy`` (default: the file's own, which shows only
    that the file is consistent with itself): the witnesses' checkpoint of the commitment
    (entry 1) must carry the log's signature and the policy's quorum (``witnesses``: who
    cosigned it), and the latest checkpoint must name the tree of exactly these entries.
    A server without witnesses serves no policy, and then only the trees are checked
    (``signed`` is false)."""
    result: dict[str, Any] = {
        "verified": False,
        "reason": None,
        "draw": None,
        "title": None,
        "picks": [],
        "seed": None,
        "signed": False,
        "beacon": None,
        "beacon_size": BEACON_SIZE,
        "witnesses": [],
    }
    try:
        body = orjson.loads(data)
        if not isinstance(body, dict) or body.get("format") != LOG_FORMAT:
            raise DrawExportError(f"not a draw's log of format {LOG_FORMAT}")
        texts = [body.get(k) for k in ("draw", "origin", "checkpoint", "policy")]
        entries = body.get("entries")
        if not all(isinstance(t, str) for t in texts) or not isinstance(entries, list):
            raise DrawExportError("a draw's log has draw, origin, checkpoint, policy, entries")
        if not all(isinstance(e, str) for e in entries):
            raise DrawExportError("each entry is a string")
        raw = [e.encode() for e in entries]
        found = check_log(raw)
        result.update(
            draw=found.draw_id,
            title=found.spec.title,
            seed=found.seed,
            beacon=None if found.beacon is None else found.beacon.hex(),
            picks=[
                {
                    "n": p.n,
                    "slot": p.slot,
                    "label": found.spec.slots[p.slot].label,
                    "blank": found.spec.slots[p.slot].blank,
                    "t": p.time_ms,
                    "size": p.size,
                    "beacon": p.beacon.hex(),
                }
                for p in found.picks
            ],
        )
        if found.draw_id != body["draw"]:
            raise DrawExportError(
                f"the entries are of draw {found.draw_id!r}, not {body['draw']!r}"
            )
        note = body["checkpoint"].encode()
        trusted = (
            policy
            if policy is not None
            else (Policy.parse(body["policy"].encode()) if body["policy"] else None)
        )
        if found.witnessed is not None:
            witnessed = found.witnessed.encode()
            if trusted is not None:
                try:
                    signed = trusted.open_checkpoint(witnessed)
                except LedgerError as error:
                    raise DrawExportError(
                        "the witnesses' checkpoint of the commitment (entry 1) does not meet "
                        f"the policy: {error}"
                    ) from None
                result["witnesses"] = sorted(trusted.cosigners(signed))
                first = signed.checkpoint
            else:
                first = Checkpoint.parse(found.witnessed.partition("\n\n")[0] + "\n")
            if first.origin != body["origin"]:
                raise DrawExportError(
                    f"the checkpoint of the commitment is of {first.origin!r}, "
                    f"not {body['origin']!r}"
                )
        if trusted is not None:
            checkpoint = trusted.open_checkpoint(note).checkpoint
            result["signed"] = True
        else:
            checkpoint = Checkpoint.parse(note.decode().partition("\n\n")[0] + "\n")
        if checkpoint.origin != body["origin"]:
            raise DrawExportError(
                f"the checkpoint is of {checkpoint.origin!r}, not {body['origin']!r}"
            )
        tree = MerkleLog(map(leaf_hash, raw))
        if checkpoint.size != tree.size or checkpoint.root != tree.root():
            raise DrawExportError(
                f"the checkpoint names a tree of {checkpoint.size} entries other than the "
                f"{tree.size} entries given"
            )
        if not found.verified:
            raise DrawExportError("the seed is not revealed yet: the draw cannot be re-run")
    except orjson.JSONDecodeError:
        result["reason"] = "not JSON"
        return result
    except (LedgerError, DrawCheckError) as error:
        result["reason"] = str(error)
        return result
    result["verified"] = True
    return result
