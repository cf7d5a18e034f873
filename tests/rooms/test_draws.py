"""The drawing procedure alone: re-runs, seeds and beacons, blanks, bounds, bad input."""

from __future__ import annotations

import hashlib
from collections import Counter

import orjson
import pytest

from rooms.draws import (
    BEACON_SIZE,
    MAX_SLOTS,
    DrawCheckError,
    DrawSpec,
    DrawState,
    Problem,
    Slot,
    beacon,
    build_draw,
    check_commit,
    check_edit,
    check_export,
    check_log,
    check_pick,
    check_reveal,
    check_seed,
    commit_entry,
    commitment,
    draw_order,
    pick,
    pick_entry,
    public_log,
    reveal_entry,
    witness_entry,
)
from rooms.errors import VotingError
from rooms.ledger import canonical, derive_signer
from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.merkle import MerkleLog, leaf_hash

SEED = "a" * 64
ORIGIN = "mvoting.test/draws"
LOG_KEY = derive_signer(b"draw vector", ORIGIN)


def witnessed(first: bytes, draw_id: str) -> bytes:
    """Entry 1 as the server writes it: the signed checkpoint of ``first`` alone."""
    return witness_entry(draw_id, Checkpoint(ORIGIN, 1, leaf_hash(first)).sign(LOG_KEY))


def made_log(
    spec: DrawSpec, seed: str = SEED, count: int | None = None, *, draw_id: str = "dtest"
) -> list[bytes]:
    """A draw's whole log as the server writes it: commitment, the witnesses' checkpoint of
    it, ``count`` draws, reveal."""
    first = commit_entry(draw_id, 1000, spec, commitment(draw_id, seed))
    head = [first, witnessed(first, draw_id)]
    b = beacon(head)
    order = draw_order(seed, b, len(spec.slots), count or len(spec.slots))
    picks = [pick_entry(draw_id, n, slot, 2000 + n, b) for n, slot in enumerate(order)]
    return [*head, *picks, reveal_entry(draw_id, seed, 9000)]


def export(entries: list[bytes]) -> bytes:
    """The log as ``GET /draws/<id>/log`` serves it, its checkpoint signed, no policy."""
    tree = MerkleLog(map(leaf_hash, entries))
    return orjson.dumps(
        {
            "format": "mvoting-draw-log/v2",
            "draw": orjson.loads(entries[0])["draw"],
            "log": "l",
            "origin": ORIGIN,
            "checkpoint": Checkpoint(ORIGIN, tree.size, tree.root()).sign(LOG_KEY).decode(),
            "policy": "",
            "entries": [e.decode() for e in entries],
        }
    )


SPEC = build_draw("Door prizes", ["Bicycle", "Tablet", {"label": "", "blank": True}, "Mug"])


def test_a_rerun_from_the_revealed_seed_gives_the_same_draws() -> None:
    log = made_log(SPEC)
    found = check_log(log)
    assert found.verified and found.seed == SEED
    assert [p.slot for p in found.picks] == list(found.recomputed)
    assert sorted(found.recomputed) == [0, 1, 2, 3]  # every slot once
    root = hashlib.sha256(
        b"\x01"
        + hashlib.sha256(b"\x00" + log[0]).digest()
        + hashlib.sha256(b"\x00" + log[1]).digest()
    ).hexdigest()
    shown = public_log(found)
    assert shown["beacon"] == root and shown["beacon_size"] == 2
    assert all(p["beacon"] == root and p["size"] == 2 for p in shown["picks"])
    result = check_export(export(log))
    assert result["verified"], result["reason"]
    assert [p["slot"] for p in result["picks"]] == list(found.recomputed)


#: The vector of docs/draws.md: entries 0 and 1 of draw ``d1``, byte for byte.
VECTOR_COMMIT = (
    b'{"commitment":"a5f7af06c6cbf1702325077ca4acbcf678046a9d977bc21770962c528bee9eab",'
    b'"draw":"d1","e":"draw_commit","slots":[{"blank":false,"label":"Bicycle"},'
    b'{"blank":false,"label":"Tablet"},{"blank":true,"label":""},'
    b'{"blank":false,"label":"Mug"}],"t":1700000000000,"title":"Door prizes"}'
)
VECTOR_WITNESSED = (
    b'{"checkpoint":"mvoting.test/draws\\n1\\ncGjkX9S1e/iDxrIgNqY36eu5Nz1Hop+7ZcY7CTYIhJg=\\n\\n'
    + "\u2014".encode()
    + b" mvoting.test/draws hdskYbtiNxUNAfg+1BKF6kgMlsTtxTkd1zZht7dU7xWJWxRLi4cpSDELBannk5M8"
    b'wGPnsUzclrmMM9M4+igKV9e2wwE=\\n","draw":"d1","e":"draw_witnessed"}'
)


def test_the_procedure_is_the_documented_one() -> None:
    """A fixed vector, as docs/draws.md gives it: an independent verifier checks against it."""
    first = commit_entry("d1", 1700000000000, SPEC, commitment("d1", SEED))
    assert first == VECTOR_COMMIT
    assert (
        commitment("d1", SEED)
        == hashlib.sha256(b"mvoting draw commitment v1\nd1\n" + SEED.encode()).hexdigest()
    )
    assert witnessed(first, "d1") == VECTOR_WITNESSED
    b = beacon([first, VECTOR_WITNESSED])
    assert (
        b
        == hashlib.sha256(
            b"\x01" + leaf_hash(VECTOR_COMMIT) + hashlib.sha256(b"\x00" + VECTOR_WITNESSED).digest()
        ).digest()
    )
    assert b.hex() == "f1094a53c463414dfae833be60c2c44e942e13a220644f8e62872b31e5626cb3"
    block = hashlib.sha256(
        b"mvoting draw v1\n" + (64).to_bytes(4, "big") + SEED.encode() + b + bytes(4) + bytes(4)
    ).digest()
    assert pick(SEED, b, 0, [], 4) == int.from_bytes(block[:8], "big") % 4
    assert draw_order(SEED, b, 4, 4) == [0, 2, 1, 3]


def test_a_changed_seed_or_beacon_gives_other_draws() -> None:
    spec = build_draw("Order of speakers", [f"Speaker {i}" for i in range(1, 31)])
    first = commit_entry("d", 1, spec, commitment("d", SEED))
    b = beacon([first, witnessed(first, "d")])
    base = draw_order(SEED, b, 30, 10)
    assert draw_order("b" * 64, b, 30, 10) != base
    assert draw_order(SEED, hashlib.sha256(b"other").digest(), 30, 10) != base
    # Other cosignatures of the same commitment: another beacon, other draws.
    other = witness_entry(
        "d", Checkpoint(ORIGIN, 1, leaf_hash(first)).sign(derive_signer(b"o", ORIGIN))
    )
    assert draw_order(SEED, beacon([first, other]), 30, 10) != base


def test_a_changed_beacon_in_the_log_fails_the_check() -> None:
    log = made_log(SPEC)
    entry = orjson.loads(log[2])
    entry["beacon"] = hashlib.sha256(b"chosen").hexdigest()
    log[2] = canonical(entry)
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.WRONG_BEACON
    # A rewritten witnesses' checkpoint changes the root: every draw's beacon fails.
    log = made_log(SPEC)
    log[1] = witness_entry(
        "dtest", Checkpoint(ORIGIN, 1, leaf_hash(log[0])).sign(derive_signer(b"o", ORIGIN))
    )
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.WRONG_BEACON


@pytest.mark.parametrize("size", [0, 1])
def test_a_beacon_of_the_log_at_or_before_the_commitment_is_refused(size: int) -> None:
    """The root at one entry is the commitment's own leaf hash, known with the seed: a
    draw that claims it (or an empty tree) is refused by the check and by verify."""
    log = made_log(SPEC)
    first = log[0]
    early = MerkleLog(map(leaf_hash, log[:size])).root()
    assert size == 0 or early == leaf_hash(first)
    order = draw_order(SEED, early, 4, 4)
    for n, slot in enumerate(order):
        entry = orjson.loads(pick_entry("dtest", n, slot, 2000 + n, early))
        entry["size"] = size
        log[2 + n] = canonical(entry)
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.EARLY_BEACON
    result = check_export(export(log))
    assert not result["verified"]
    assert f"the log's root at tree size {size}:" in result["reason"]


def test_a_draw_before_the_witnesses_checkpoint_is_refused() -> None:
    log = made_log(SPEC)
    del log[1]
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.NOT_WITNESSED
    log = made_log(SPEC)
    # A checkpoint of another tree than the commitment alone.
    log[1] = witness_entry("dtest", Checkpoint(ORIGIN, 1, bytes(32)).sign(LOG_KEY))
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.NOT_WITNESSED


def test_a_log_of_the_commitment_alone_reads_without_a_beacon() -> None:
    found = check_log(made_log(SPEC)[:1])
    assert found.beacon is None and found.witnessed is None and not found.verified
    assert BEACON_SIZE == 2


def test_a_tampered_seed_fails_the_check() -> None:
    log = made_log(SPEC)
    log[-1] = reveal_entry("dtest", "b" * 64, 9000)
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.WRONG_SEED


def test_a_draw_other_than_the_seeds_fails_the_check() -> None:
    log = made_log(SPEC, count=2)
    found = check_log(log)
    others = [s for s in range(4) if s not in found.recomputed]
    log[3] = pick_entry("dtest", 1, others[0], 2001, beacon(log))
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.WRONG_SLOT
    assert "Draw 2 drew slot" in str(caught.value)


def test_a_slot_drawn_twice_is_refused_even_before_the_reveal() -> None:
    log = made_log(SPEC, count=2)[:-1]
    first_slot = check_log(log).picks[0].slot
    log[3] = pick_entry("dtest", 1, first_slot, 2001, beacon(log))
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.REPEATED


@pytest.mark.parametrize(
    ("index", "entry", "problem"),
    [
        pytest.param(0, b'{"e":"open"}', Problem.NO_COMMITMENT, id="no-commitment"),
        pytest.param(2, b"not json", Problem.MALFORMED, id="not-json"),
        pytest.param(
            2, b'{"e":"draw","draw":"dtest","n":0,"slot":0}', Problem.MALFORMED, id="no-time"
        ),
        pytest.param(2, pick_entry("other", 0, 0, 1, bytes(32)), Problem.FOREIGN, id="foreign"),
        pytest.param(
            2, pick_entry("dtest", 1, 0, 1, bytes(32)), Problem.OUT_OF_ORDER, id="out-of-order"
        ),
        pytest.param(
            2, pick_entry("dtest", 0, 9, 1, bytes(32)), Problem.MALFORMED, id="no-such-slot"
        ),
        pytest.param(
            2,
            b'{"draw":"dtest","e":"draw","n":0,"slot":0,"t":1 }',
            Problem.MALFORMED,
            id="not-canonical",
        ),
        pytest.param(
            1, pick_entry("dtest", 0, 0, 1, bytes(32)), Problem.NOT_WITNESSED, id="unwitnessed"
        ),
    ],
)
def test_a_malformed_log_is_refused_with_its_reason(
    index: int, entry: bytes, problem: Problem
) -> None:
    log = made_log(SPEC)
    log[index] = entry
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is problem


def test_an_entry_after_the_reveal_is_refused() -> None:
    log = [*made_log(SPEC, count=1), pick_entry("dtest", 1, 0, 1, bytes(32))]
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.AFTER_REVEAL


def test_an_empty_log_has_no_commitment() -> None:
    with pytest.raises(DrawCheckError) as caught:
        check_log([])
    assert caught.value.problem is Problem.NO_COMMITMENT


def test_before_the_reveal_the_log_reads_but_is_not_verified() -> None:
    found = check_log(made_log(SPEC, count=2)[:-1])
    assert not found.verified and found.seed is None and len(found.picks) == 2


def test_never_the_same_slot_twice_and_every_slot_in_the_end() -> None:
    spec = build_draw("Full", [f"S{i}" for i in range(MAX_SLOTS)])
    first = commit_entry("d", 1, spec, commitment("d", SEED))
    b = beacon([first, witnessed(first, "d")])
    order = draw_order(SEED, b, MAX_SLOTS, MAX_SLOTS)
    assert sorted(order) == list(range(MAX_SLOTS))
    with pytest.raises(VotingError) as caught:
        pick(SEED, b, MAX_SLOTS, order, MAX_SLOTS)
    assert "Every slot has been drawn" in caught.value.message


def test_the_first_draw_is_even_over_the_slots() -> None:
    """Unbiased: over 3,000 beacons each of 3 slots comes first about a third of the time."""
    counts = Counter(pick(SEED, i.to_bytes(32, "big"), 0, [], 3) for i in range(3000))
    assert set(counts) == {0, 1, 2} and all(800 < c < 1200 for c in counts.values())


def test_blanks_are_slots_that_may_have_no_label() -> None:
    spec = build_draw("Prizes", [{"label": "Prize", "blank": False}, {"blank": True}])
    assert spec.slots == (Slot("Prize"), Slot("", blank=True))
    assert check_log(made_log(spec)).verified


@pytest.mark.parametrize(
    ("title", "slots", "said"),
    [
        pytest.param("", ["A"], "a draw needs a title", id="no-title"),
        pytest.param("T" * 201, ["A"], "at most 200 characters", id="long-title"),
        pytest.param("T", [], "at least one slot", id="no-slots"),
        pytest.param("T", "A,B", "at least one slot", id="not-a-list"),
        pytest.param("T", ["S"] * (MAX_SLOTS + 1), "at most 60 slots", id="61-slots"),
        pytest.param("T", ["A", "  "], "slot 2 needs a label, or mark it blank", id="empty"),
        pytest.param("T", ["A", 5], "slot 2 is not a label", id="number"),
        pytest.param(
            "T", [{"label": "A", "blank": "yes"}], "slot 1 is not a label", id="blank-str"
        ),
        pytest.param("T", ["L" * 201], "slot 1's label has at most 200", id="long-label"),
    ],
)
def test_a_bad_definition_is_refused(title: object, slots: object, said: str) -> None:
    with pytest.raises(VotingError) as caught:
        build_draw(title, slots)
    assert caught.value.code == "bad_request" and said in caught.value.message


@pytest.mark.parametrize("seed", ["short", "x" * 257, 12345, None])
def test_a_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(VotingError) as caught:
        check_seed(seed)
    assert "16 to 256 characters" in caught.value.message


def test_sixty_slots_are_accepted() -> None:
    assert len(build_draw("T", ["S"] * MAX_SLOTS).slots) == MAX_SLOTS
    assert check_seed("dice: 3 1 4 1 5 9 2 6") == "dice: 3 1 4 1 5 9 2 6"


@pytest.mark.parametrize(
    ("check", "state", "said"),
    [
        pytest.param(
            lambda s: check_edit(s), DrawState.COMMITTED, "no longer be edited", id="edit"
        ),
        pytest.param(
            lambda s: check_commit(s), DrawState.COMMITTED, "committed already", id="commit"
        ),
        pytest.param(
            lambda s: check_pick(s, 0, 3, False),
            DrawState.DRAFT,
            "Commit to the seed",
            id="pick-draft",
        ),
        pytest.param(
            lambda s: check_pick(s, 0, 3, True), DrawState.REVEALED, "draw is over", id="pick-over"
        ),
        pytest.param(
            lambda s: check_pick(s, 0, 3, False),
            DrawState.COMMITTED,
            "not yet cosigned by the witnesses",
            id="pick-unwitnessed",
        ),
        pytest.param(
            lambda s: check_pick(s, 3, 3, True), DrawState.COMMITTED, "Every slot", id="pick-all"
        ),
        pytest.param(
            lambda s: check_reveal(s, 1), DrawState.DRAFT, "Commit to the seed", id="reveal-draft"
        ),
        pytest.param(
            lambda s: check_reveal(s, 0), DrawState.COMMITTED, "at least once", id="reveal-none"
        ),
        pytest.param(
            lambda s: check_reveal(s, 1), DrawState.REVEALED, "draw is over", id="reveal-twice"
        ),
    ],
)
def test_an_action_out_of_its_state_is_refused(check: object, state: DrawState, said: str) -> None:
    with pytest.raises(VotingError) as caught:
        check(state)  # type: ignore[operator]
    assert caught.value.code == "invalid_state" and said in caught.value.message


def test_actions_in_their_state_pass() -> None:
    check_edit(DrawState.DRAFT)
    check_commit(DrawState.DRAFT)
    check_pick(DrawState.COMMITTED, 2, 3, True)
    check_reveal(DrawState.COMMITTED, 1)
