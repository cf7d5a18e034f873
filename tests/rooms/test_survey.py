"""Surveys: building a host's parts, checking a ballot's parts whole, and recounting a
survey's log."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.ballots import Ballot
from rooms.errors import ErrorCode, VotingError
from rooms.ledger import LedgerCheckError, Problem, closing_entry, opening_entry, recount
from rooms.protocol import parse_vote
from rooms.questions import Kind, Part, QuestionSpec, build_question, check_ballot, edit_question
from rooms.survey import (
    MAX_PARTS,
    PartLimit,
    fits,
    flatten,
    limits,
    limits_of_definition,
    offsets,
    split,
)

PARTS: list[dict[str, Any]] = [
    {"title": "Venue", "kind": "single", "options": ["City hall", "Library"]},
    {
        "title": "Topics",
        "kind": "multiple",
        "options": ["Parks", "Buses", "Housing"],
        "max_choices": 2,
        "required": False,
    },
    {"title": "Satisfaction", "kind": "rating", "scale": 5},
    {"title": "Come again?", "kind": "yesno"},
]


def survey(parts: list[dict[str, Any]] = PARTS) -> QuestionSpec:
    return build_question("Feedback", "survey", parts=parts)


def test_a_survey_puts_its_parts_options_side_by_side() -> None:
    spec = survey()
    assert spec.kind is Kind.SURVEY
    assert spec.parts == (
        Part("Venue", Kind.SINGLE, 2),
        Part("Topics", Kind.MULTIPLE, 3, 2, required=False),
        Part("Satisfaction", Kind.RATING, 5),
        Part("Come again?", Kind.YESNO, 2),
    )
    assert [o.label for o in spec.options] == [
        "City hall",
        "Library",
        "Parks",
        "Buses",
        "Housing",
        "1",
        "2",
        "3",
        "4",
        "5",
        "Yes",
        "No",
    ]
    assert spec.max_choices == 1 + 2 + 1 + 1
    assert offsets(spec.parts) == (0, 2, 5, 10)
    body = spec.as_dict()
    assert [(p["first"], p["size"]) for p in body["parts"]] == [(0, 2), (2, 3), (5, 5), (10, 2)]
    assert QuestionSpec.from_dict(body) == spec
    assert "parts" not in build_question("Lunch?", "single", "A,B").as_dict()


@pytest.mark.parametrize(
    ("parts", "detail"),
    [
        pytest.param([], "a survey has 1 to 20 parts", id="none"),
        pytest.param(
            [{"title": "x"}] * (MAX_PARTS + 1), "a survey has 1 to 20 parts", id="too-many"
        ),
        pytest.param("Venue", "a survey has 1 to 20 parts", id="not-a-list"),
        pytest.param(["Venue"], "part 1 is an object with a title and a kind", id="a-string"),
        pytest.param(
            [{"kind": "single", "options": ["a", "b"]}], "part title is required", id="untitled"
        ),
        pytest.param(
            [{"title": "x", "kind": "text"}],
            "part 1's kind is one of single, multiple, yesno, rating",
            id="open-text",
        ),
        pytest.param(
            [PARTS[0], {"title": "x", "kind": "ranking", "options": ["a", "b"]}],
            "part 2's kind is one of single, multiple, yesno, rating",
            id="ranking",
        ),
        pytest.param(
            [{"title": "x", "options": ["a"]}], "part 1 needs 2 to 60 options", id="one-option"
        ),
        pytest.param(
            [{"title": "x", "kind": "yesno", "options": ["a", "b", "c"]}],
            "part 1 (yes/no) has exactly two options",
            id="yes-no-of-three",
        ),
        pytest.param(
            [{"title": "x", "kind": "rating", "scale": 11}],
            "part 1's rating scale runs from 1 to a number between 2 and 10",
            id="scale",
        ),
        pytest.param(
            [{"title": "x", "kind": "multiple", "options": ["a", "b"], "max_choices": 0}],
            "part 1's max_choices is between 1 and its number of options",
            id="no-picks",
        ),
        pytest.param(
            [{"title": "x", "options": ["a", "b"], "max_choices": 2}],
            "part 1 takes one answer: only a multiple choice has max_choices",
            id="single-with-picks",
        ),
        pytest.param(
            [{"title": "x", "options": ["a", "b"], "required": "yes"}],
            "part 1's required is true or false",
            id="required-not-a-bool",
        ),
        pytest.param(
            [{"title": f"p{i}", "options": [str(n) for n in range(60)]} for i in range(4)],
            "a survey's parts have at most 200 options together",
            id="too-many-options",
        ),
    ],
)
def test_a_bad_part_is_refused_naming_it(parts: object, detail: str) -> None:
    with pytest.raises(VotingError) as caught:
        build_question("Feedback", "survey", parts=parts)
    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields["detail"] == detail


def test_only_a_survey_has_parts_and_a_survey_no_options_of_its_own() -> None:
    with pytest.raises(VotingError) as caught:
        build_question("Lunch?", "single", "A,B", parts=PARTS)
    assert caught.value.fields["detail"] == "only a survey has parts"
    with pytest.raises(VotingError) as caught:
        build_question("Feedback", "survey", "A,B", parts=PARTS)
    assert caught.value.fields["detail"] == (
        "a survey's options and max_choices are given in its parts"
    )


def test_editing_a_survey_keeps_its_parts_unless_new_ones_are_given() -> None:
    spec = survey()
    renamed = edit_question(spec, {"title": "Feedback, day 2"})
    assert renamed.title == "Feedback, day 2"
    assert (renamed.parts, renamed.options) == (spec.parts, spec.options)
    fewer = edit_question(spec, {"parts": PARTS[:2]})
    assert [p.title for p in fewer.parts] == ["Venue", "Topics"]
    single = edit_question(spec, {"kind": "single", "options": ["A", "B"]})
    assert single.parts == () and [o.label for o in single.options] == ["A", "B"]
    turned = edit_question(
        build_question("Lunch?", "single", "A,B"), {"kind": "survey", "parts": PARTS}
    )
    assert turned.parts == spec.parts


def test_a_full_ballot_is_flattened_into_the_surveys_options() -> None:
    spec = survey()
    assert check_ballot(spec, (), (), [[1], [0, 2], [3], [0]]) == (1, 2, 4, 8, 10)
    assert check_ballot(spec, (), (), [[0], [], [4], [1]]) == (0, 9, 11)
    assert split(spec.parts, (1, 2, 4, 8, 10)) == ((1,), (0, 2), (3,), (0,))
    assert flatten(spec.parts, split(spec.parts, (0, 9, 11))) == (0, 9, 11)


@pytest.mark.parametrize(
    ("parts", "code", "part", "message"),
    [
        pytest.param(
            [[2], [], [0], [0]],
            ErrorCode.INVALID_CHOICE,
            0,
            "Part 1: choose among its options.",
            id="past-the-part",
        ),
        pytest.param(
            [[0], [1, 1], [0], [0]],
            ErrorCode.INVALID_CHOICE,
            1,
            "Part 2: choose among its options.",
            id="twice",
        ),
        pytest.param(
            [[0], [], [-1], [0]],
            ErrorCode.INVALID_CHOICE,
            2,
            "Part 3: choose among its options.",
            id="negative",
        ),
        pytest.param(
            [[0], [0, 1, 2], [0], [0]],
            ErrorCode.TOO_MANY_CHOICES,
            1,
            "Part 2: choose at most 2 of its options.",
            id="too-many",
        ),
        pytest.param(
            [[0, 1], [], [0], [0]],
            ErrorCode.TOO_MANY_CHOICES,
            0,
            "Part 1: choose at most 1 of its options.",
            id="two-of-one",
        ),
        pytest.param(
            [[0], [], [0], []],
            ErrorCode.PART_UNANSWERED,
            3,
            "Part 4 is required: answer it.",
            id="required-left-out",
        ),
    ],
)
def test_a_bad_part_refuses_the_whole_ballot_naming_the_part(
    parts: list[list[int]], code: ErrorCode, part: int, message: str
) -> None:
    with pytest.raises(VotingError) as caught:
        check_ballot(survey(), (), (), parts)
    assert caught.value.code is code
    assert caught.value.message == message
    assert caught.value.as_dict()["part"] == part


def test_a_survey_of_optional_parts_takes_no_empty_ballot() -> None:
    spec = survey([{**p, "required": False} for p in PARTS])
    with pytest.raises(VotingError) as caught:
        check_ballot(spec, (), (), [[], [], [], []])
    assert caught.value.code is ErrorCode.PART_UNANSWERED
    assert caught.value.message == "Answer at least one part of the survey."
    assert "part" not in caught.value.as_dict()
    assert check_ballot(spec, (), (), [[], [], [], [1]]) == (11,)


@pytest.mark.parametrize(
    ("spec", "choices", "parts", "detail"),
    [
        pytest.param(
            survey(),
            (0,),
            (),
            "a survey ballot carries parts: a list of picks for each part",
            id="choices",
        ),
        pytest.param(
            survey(),
            (),
            [[0], [1]],
            "a survey ballot gives a list for each of its 4 parts (empty: skipped)",
            id="too-few",
        ),
        pytest.param(
            build_question("Lunch?", "single", "A,B"),
            (0,),
            [[0]],
            "only a survey ballot carries parts",
            id="not-a-survey",
        ),
    ],
)
def test_a_ballot_of_the_wrong_shape_is_a_bad_request(
    spec: QuestionSpec, choices: tuple[int, ...], parts: list[list[int]], detail: str
) -> None:
    with pytest.raises(VotingError) as caught:
        check_ballot(spec, choices, (), parts)
    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields["detail"] == detail


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        pytest.param(
            {"parts": []},
            "parts is a list of 1 to 20 lists of option indexes, one per part",
            id="empty",
        ),
        pytest.param(
            {"parts": [0, 1]},
            "parts is a list of 1 to 20 lists of option indexes, one per part",
            id="flat",
        ),
        pytest.param(
            {"parts": [[True]]}, "each part's answer is a list of option indexes", id="bool"
        ),
        pytest.param(
            {"parts": [[0]], "choices": [0]},
            "a ballot carries choices or parts, not both",
            id="both",
        ),
    ],
)
def test_the_wire_form_of_a_survey_ballot(data: dict[str, Any], detail: str) -> None:
    assert parse_vote({"question": "q1", "parts": [[0], [], [2, 1]]}).parts == ((0,), (), (2, 1))
    with pytest.raises(VotingError) as caught:
        parse_vote({"question": "q1", **data})
    assert caught.value.fields["detail"] == detail


def test_fits_is_the_cast_scripts_rule() -> None:
    parts = limits(survey().parts)
    assert parts == (
        PartLimit(2, 1, True),
        PartLimit(3, 2, False),
        PartLimit(5, 1, True),
        PartLimit(2, 1, True),
    )
    assert fits(parts, (1, 2, 4, 8, 10))
    assert not fits(parts, (1, 8))  # no yes/no
    assert not fits(parts, (0, 1, 8, 10))  # two venues
    assert not fits(parts, (0, 2, 3, 4, 8, 10))  # three topics
    assert not fits((PartLimit(2, 1, False),), ())
    assert limits_of_definition(survey().as_dict()) == parts
    assert limits_of_definition({"parts": [{"size": "2"}]}) is None
    assert limits_of_definition({"parts": ["x"]}) is None
    assert limits_of_definition({}) is None


Q = "q-survey"


def _ballot(n: int, choices: tuple[int, ...]) -> bytes:
    return Ballot(Q, choices, 10 + n, f"voter-{n}", f"{n:032x}").leaf()


def test_a_survey_log_recounts_per_option_and_refuses_a_ballot_that_skips_a_part() -> None:
    definition = survey().as_dict()
    entries = [
        opening_entry(Q, 1, definition),
        _ballot(0, (1, 2, 4, 8, 10)),
        _ballot(1, (0, 9, 11)),
        closing_entry(Q, 99, [1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1], 2),
    ]
    counted = recount(entries)
    assert counted.counts == (1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1)
    assert counted.total == 2 and counted.closed
    skipping = _ballot(2, (0, 9))
    with pytest.raises(LedgerCheckError) as caught:
        recount([*entries[:3], skipping])
    assert caught.value.problem is Problem.BAD_CHOICE
    undescribed = {**definition, "parts": "none"}
    with pytest.raises(LedgerCheckError) as caught:
        recount([opening_entry(Q, 1, undescribed), entries[1]])
    assert caught.value.problem is Problem.BAD_CHOICE
