"""The drawing procedure alone: re-runs, seeds and beacons, blanks, bounds, bad input."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from rooms.draws import (
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
)
from rooms.errors import VotingError

SEED = "a" * 64
NONCE = "0" * 32


def made_log(
    spec: DrawSpec, seed: str = SEED, count: int | None = None, *, draw_id: str = "dtest"
) -> list[bytes]:
    """A draw's whole log as the server writes it: commitment, ``count`` draws, reveal."""
    first = commit_entry(draw_id, 1000, spec, commitment(draw_id, seed), NONCE)
    order = draw_order(seed, beacon(first), len(spec.slots), count or len(spec.slots))
    picks = [pick_entry(draw_id, n, slot, 2000 + n) for n, slot in enumerate(order)]
    return [first, *picks, reveal_entry(draw_id, seed, 9000)]


SPEC = build_draw("Door prizes", ["Bicycle", "Tablet", {"label": "", "blank": True}, "Mug"])


def test_a_rerun_from_the_revealed_seed_gives_the_same_draws() -> None:
    log = made_log(SPEC)
    found = check_log(log)
    assert found.verified and found.seed == SEED
    assert [p.slot for p in found.picks] == list(found.recomputed)
    assert sorted(found.recomputed) == [0, 1, 2, 3]  # every slot once
    assert public_log(found)["beacon"] == hashlib.sha256(b"\x00" + log[0]).hexdigest()


def test_the_procedure_is_the_documented_one() -> None:
    """A fixed vector, as docs/draws.md gives it: an independent verifier checks against it."""
    first = commit_entry("d1", 1700000000000, SPEC, commitment("d1", SEED), NONCE)
    assert (
        commitment("d1", SEED)
        == hashlib.sha256(b"mvoting draw commitment v1\nd1\n" + SEED.encode()).hexdigest()
    )
    b = beacon(first)
    block = hashlib.sha256(
        b"mvoting draw v1\n" + (64).to_bytes(4, "big") + SEED.encode() + b + bytes(4) + bytes(4)
    ).digest()
    assert pick(SEED, b, 0, [], 4) == int.from_bytes(block[:8], "big") % 4
    assert draw_order(SEED, b, 4, 4) == [1, 2, 0, 3]


def test_a_changed_seed_or_beacon_gives_other_draws() -> None:
    spec = build_draw("Order of speakers", [f"Speaker {i}" for i in range(1, 31)])
    first = commit_entry("d", 1, spec, commitment("d", SEED), NONCE)
    b = beacon(first)
    base = draw_order(SEED, b, 30, 10)
    assert draw_order("b" * 64, b, 30, 10) != base
    assert draw_order(SEED, hashlib.sha256(b"other").digest(), 30, 10) != base
    other_nonce = commit_entry("d", 1, spec, commitment("d", SEED), "1" * 32)
    assert draw_order(SEED, beacon(other_nonce), 30, 10) != base


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
    log[2] = pick_entry("dtest", 1, others[0], 2001)
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.WRONG_SLOT
    assert "Draw 2 drew slot" in str(caught.value)


def test_a_slot_drawn_twice_is_refused_even_before_the_reveal() -> None:
    log = made_log(SPEC, count=2)[:-1]
    first_slot = check_log(log).picks[0].slot
    log[2] = pick_entry("dtest", 1, first_slot, 2001)
    with pytest.raises(DrawCheckError) as caught:
        check_log(log)
    assert caught.value.problem is Problem.REPEATED


@pytest.mark.parametrize(
    ("index", "entry", "problem"),
    [
        pytest.param(0, b'{"e":"open"}', Problem.NO_COMMITMENT, id="no-commitment"),
        pytest.param(1, b"not json", Problem.MALFORMED, id="not-json"),
        pytest.param(
            1, b'{"e":"draw","draw":"dtest","n":0,"slot":0}', Problem.MALFORMED, id="no-time"
        ),
        pytest.param(1, pick_entry("other", 0, 0, 1), Problem.FOREIGN, id="foreign"),
        pytest.param(1, pick_entry("dtest", 1, 0, 1), Problem.OUT_OF_ORDER, id="out-of-order"),
        pytest.param(1, pick_entry("dtest", 0, 9, 1), Problem.MALFORMED, id="no-such-slot"),
        pytest.param(
            1,
            b'{"draw":"dtest","e":"draw","n":0,"slot":0,"t":1 }',
            Problem.MALFORMED,
            id="not-canonical",
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
    log = [*made_log(SPEC, count=1), pick_entry("dtest", 1, 0, 1)]
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
    first = commit_entry("d", 1, spec, commitment("d", SEED), NONCE)
    order = draw_order(SEED, beacon(first), MAX_SLOTS, MAX_SLOTS)
    assert sorted(order) == list(range(MAX_SLOTS))
    with pytest.raises(VotingError) as caught:
        pick(SEED, beacon(first), MAX_SLOTS, order, MAX_SLOTS)
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
            lambda s: check_pick(s, 0, 3), DrawState.DRAFT, "Commit to the seed", id="pick-draft"
        ),
        pytest.param(
            lambda s: check_pick(s, 0, 3), DrawState.REVEALED, "draw is over", id="pick-over"
        ),
        pytest.param(
            lambda s: check_pick(s, 3, 3), DrawState.COMMITTED, "Every slot", id="pick-all"
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
    check_pick(DrawState.COMMITTED, 2, 3)
    check_reveal(DrawState.COMMITTED, 1)
