"""The ledger's pure part: entries, derived keys, the recount and the verdict on a poll."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rooms.ballots import Ballot
from rooms.ledger import (
    COMPLETED,
    PROBLEMS,
    LedgerCheckError,
    Problem,
    Verdict,
    Verification,
    Witnessing,
    closing_entry,
    derive_signer,
    judge,
    log_origin,
    opening_entry,
    receipt_code,
    recount,
)
from rooms.tlog.merkle import MerkleLog, leaf_hash

Q = "q1"
DEFINITION = {"title": "Lunch?", "options": [{"label": "A"}, {"label": "B"}, {"label": "C"}]}


def ballot(n: int, choices: tuple[int, ...] = (0,), question: str = Q) -> bytes:
    return Ballot(question, choices, 1000 + n, f"{n:064x}", f"{n:032x}").leaf()


def poll(*choices: int) -> list[bytes]:
    """A closed poll: its opening, one ballot per choice, its closing with the right tally."""
    counts = [choices.count(i) for i in range(3)]
    return [
        opening_entry(Q, 1, DEFINITION),
        *(ballot(n, (c,)) for n, c in enumerate(choices)),
        closing_entry(Q, 9, counts, len(choices)),
    ]


ALL_WITNESSED = Witnessing(True, ("w1", "w2", "w3"), ("w4",), {}, "3 of 4 (g)")


def verdict_of(entries: list[bytes], **changes: Any) -> Verdict:
    tree = MerkleLog(map(leaf_hash, entries))
    counted = recount(entries)
    args: dict[str, Any] = {
        "signed_roots": {tree.size: tree.root()},
        "archive": dict(counted.ballots),
        "tally_counts": counted.counts,
        "tally_total": counted.total,
        "witnessing": ALL_WITNESSED,
    }
    return judge(entries, **{**args, **changes})


def test_keys_are_derived_from_the_secret_and_the_name_alone() -> None:
    one = derive_signer(b"secret", log_origin("vote.example/ledger", "abc"))
    assert one.name == "vote.example/ledger/abc"
    assert derive_signer(b"secret", one.name).verifier() == one.verifier()
    assert derive_signer(b"other", one.name).verifier() != one.verifier()
    assert derive_signer(b"secret", one.name + "d").verifier() != one.verifier()


def test_entries_are_canonical_json() -> None:
    assert opening_entry(Q, 1, {"b": 1, "a": 2}) == b'{"d":{"a":2,"b":1},"e":"open","q":"q1","t":1}'
    assert closing_entry(Q, 2, [1, 0], 1) == (
        b'{"counts":[1,0],"e":"close","q":"q1","t":2,"total":1}'
    )


def test_a_poll_recounts_and_each_ballot_is_where_the_log_has_it() -> None:
    entries = poll(0, 1, 0, 2)
    counted = recount(entries)
    assert (counted.question, counted.counts, counted.total, counted.closed) == (
        Q,
        (2, 1, 1),
        4,
        True,
    )
    assert counted.ballots == {i + 1: entries[i + 1] for i in range(4)}
    assert counted.as_dict() == {"counts": [2, 1, 1], "total": 4}
    assert (
        receipt_code(entries[1]) == Ballot(Q, (0,), 1000, f"{0:064x}", f"{0:032x}").receipt()[:12]
    )


def test_a_reopened_poll_counts_across_its_openings() -> None:
    entries = [
        *poll(0, 1),
        opening_entry(Q, 10, DEFINITION),
        ballot(7, (2,)),
        closing_entry(Q, 11, [1, 1, 1], 3),
    ]
    assert recount(entries).counts == (1, 1, 1)
    assert not recount(entries[:-1]).closed


@pytest.mark.parametrize(
    ("entries", "problem", "fields"),
    [
        pytest.param([], Problem.NO_OPENING, {}, id="empty"),
        pytest.param([ballot(0)], Problem.NO_OPENING, {}, id="a-ballot-first"),
        pytest.param(
            [opening_entry(Q, 1, DEFINITION), ballot(0, question="q2")],
            Problem.FOREIGN_ENTRY,
            {"index": 1},
            id="another-question",
        ),
        pytest.param(
            [opening_entry(Q, 1, DEFINITION), ballot(0, (3,))],
            Problem.BAD_CHOICE,
            {"receipt": receipt_code(ballot(0, (3,))), "index": 1},
            id="choice-out-of-range",
        ),
        pytest.param(
            [opening_entry(Q, 1, DEFINITION), ballot(0, ())],
            Problem.BAD_CHOICE,
            {"receipt": receipt_code(ballot(0, ())), "index": 1},
            id="no-choice",
        ),
        pytest.param(
            [opening_entry(Q, 1, DEFINITION), ballot(0), ballot(0, (1,))],
            Problem.DOUBLE_VOTE,
            {"receipt": receipt_code(ballot(0, (1,))), "index": 2},
            id="one-voter-twice",
        ),
        pytest.param(
            [opening_entry(Q, 1, DEFINITION), ballot(0), closing_entry(Q, 2, [0, 1, 0], 1)],
            Problem.CLOSING_MISMATCH,
            {"index": 2, "recorded": [0, 1, 0], "counted": [1, 0, 0]},
            id="closing-tally-differs",
        ),
        pytest.param(
            [opening_entry(Q, 1, DEFINITION), ballot(0), closing_entry(Q, 2, [1, 0, 0], 2)],
            Problem.CLOSING_MISMATCH,
            {"index": 2, "recorded": [1, 0, 0], "counted": [1, 0, 0]},
            id="closing-total-differs",
        ),
    ],
)
def test_a_malformed_poll_is_refused_with_the_entry_at_fault(
    entries: list[bytes], problem: Problem, fields: dict[str, Any]
) -> None:
    with pytest.raises(LedgerCheckError) as caught:
        recount(entries)
    assert (caught.value.problem, caught.value.fields) == (problem, fields)
    assert str(caught.value) == PROBLEMS[problem].format(**fields)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"e":[]}',
        b'{"e":"vote","q":"q1","t":1}',
        b'{"c":[0],"n":"x","q":"q1","t":1}',  # a ballot without its voter
        b'{"c":[0],"n":"x","q":"q1","t":true,"v":"y"}',  # a bool is not a time
        b'{"c":[true],"n":"x","q":"q1","t":1,"v":"y"}',
        b'{"c":[0], "n":"x","q":"q1","t":1,"v":"y"}',  # not canonical: a space
        b'{"d":{"options":3},"e":"open","q":"q1","t":1}',
        b'{"counts":["1"],"e":"close","q":"q1","t":1,"total":1}',
    ],
)
def test_an_entry_that_is_not_one_is_malformed(raw: bytes) -> None:
    with pytest.raises(LedgerCheckError) as caught:
        recount([opening_entry(Q, 1, DEFINITION), raw])
    assert caught.value.problem is Problem.MALFORMED_ENTRY
    assert caught.value.fields == {"index": 1}


def test_a_whole_poll_in_agreement_is_completed() -> None:
    assert verdict_of(poll(0, 1, 1)) == COMPLETED
    assert COMPLETED.reason == ""


def test_the_verdict_names_what_disagrees() -> None:
    entries = poll(0, 1, 1)
    counted = recount(entries)
    # Two ballots' choices swapped: the counts and the closing still agree.
    rewritten = [entries[0], ballot(0, (1,)), ballot(1, (0,)), *entries[3:]]
    cases: list[tuple[Verdict, Problem, dict[str, Any]]] = [
        (verdict_of(entries[:-1]), Problem.NOT_CLOSED, {}),
        (
            verdict_of(
                rewritten,
                signed_roots={2: MerkleLog(map(leaf_hash, entries)).root(2)},
                archive=dict(counted.ballots),
            ),
            Problem.REWRITTEN,
            {"size": 2},
        ),
        (
            verdict_of(entries, signed_roots={9: b"\0" * 32}),
            Problem.REWRITTEN,
            {"size": 9},
        ),
        (
            verdict_of(entries, archive={**counted.ballots, 2: ballot(1, (0,))}),
            Problem.ARCHIVE_ALTERED,
            {"receipt": receipt_code(entries[2]), "index": 2},
        ),
        (
            verdict_of(entries, archive={1: entries[1], 3: entries[3]}),
            Problem.ARCHIVE_MISSING,
            {"receipt": receipt_code(entries[2]), "index": 2},
        ),
        (
            verdict_of(entries, archive={**counted.ballots, -1: ballot(8)}),
            Problem.ARCHIVE_EXTRA,
            {"receipt": receipt_code(ballot(8))},
        ),
        (
            verdict_of(entries, tally_total=4),
            Problem.COUNT_MISMATCH,
            {"archived": 3, "tally": 4, "logged": 3},
        ),
        (
            verdict_of(entries, tally_counts=(0, 2, 1)),
            Problem.TALLY_MISMATCH,
            {"tally": [0, 2, 1], "counted": [1, 2, 0]},
        ),
    ]
    for verdict, problem, fields in cases:
        assert (verdict.status, verdict.problem, dict(verdict.fields)) == (
            Verification.FAILED,
            problem,
            fields,
        )
        assert verdict.reason == PROBLEMS[problem].format(**fields)


def test_witnesses_decide_last() -> None:
    entries = poll(0)
    unconfigured = Witnessing(False, (), (), {}, configured=False)
    assert verdict_of(entries, witnessing=unconfigured) == Verdict(
        Verification.PENDING, Problem.NO_WITNESSES
    )
    refused = Witnessing(True, ("w1", "w2", "w3"), (), {"w4": "422: bad proof", "w2": "403"})
    assert verdict_of(entries, witnessing=refused) == Verdict(
        Verification.FAILED, Problem.WITNESS_REFUSED, {"witness": "w2", "detail": "403"}
    )
    short = Witnessing(False, ("w1", "w2"), ("w3", "w4"), {}, "3 of 4 (g)")
    pending = verdict_of(entries, witnessing=short)
    assert (pending.status, pending.problem) == (Verification.PENDING, Problem.QUORUM)
    assert pending.reason == (
        "2 of the witnesses cosigned the final checkpoint; the policy needs 3 of 4 (g). "
        "Not cosigned: w3, w4."
    )
    nobody = verdict_of(entries, witnessing=Witnessing(False, (), (), {}, "g"))
    assert nobody.fields["missing"] == "-"
    # A local failure is a failure whatever the witnesses say.
    assert verdict_of(entries, tally_total=2, witnessing=short).status is Verification.FAILED


def test_every_problem_has_a_sentence_with_its_fields() -> None:
    assert set(PROBLEMS) == set(Problem)
    for problem, sentence in PROBLEMS.items():
        assert sentence.endswith((".", "{detail}")), problem
    err = LedgerCheckError(Problem.NO_OPENING)
    assert err.verdict(Verification.PENDING) == Verdict(Verification.PENDING, Problem.NO_OPENING)
    assert orjson.loads(orjson.dumps(dict(err.verdict().fields))) == {}


RANKING = {"title": "Order", "kind": "ranking", "options": DEFINITION["options"]}


def test_a_ranking_poll_recounts_by_borda_and_refuses_a_partial_order() -> None:
    entries = [
        opening_entry(Q, 1, RANKING),
        ballot(0, (0, 1, 2)),
        ballot(1, (2, 0, 1)),
        closing_entry(Q, 9, [3, 1, 2], 2),
    ]
    assert recount(entries).counts == (3, 1, 2)
    partial = ballot(2, (0, 1))
    with pytest.raises(LedgerCheckError) as caught:
        recount([*entries[:2], partial])
    assert caught.value.problem is Problem.BAD_CHOICE
    assert caught.value.fields == {"receipt": receipt_code(partial), "index": 2}
