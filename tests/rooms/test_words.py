"""Open-text answers: normalisation and the cloud's grouping of Korean particle forms,
checked against the cases the browser's copy (static/js/common.js (mvWords)) is checked against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rooms.errors import ErrorCode, VotingError
from rooms.questions import Kind, build_question, check_answers
from rooms.words import MAX_ANSWER, PARTICLES, group_particles, normalise_answer

CASES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "words" / "cases.json").read_text()
)


def test_the_shared_cases_hold_the_particles_the_server_uses() -> None:
    assert CASES["particles"] == list(PARTICLES)
    assert len(set(PARTICLES)) == len(PARTICLES)


@pytest.mark.parametrize(("raw", "expected"), CASES["normalise"])
def test_an_answer_is_normalised(raw: str, expected: str) -> None:
    assert normalise_answer(raw) == expected
    assert normalise_answer(expected) == expected  # a normal form stays as it is
    assert "," not in normalise_answer(raw)  # the cast script splits answers on commas


@pytest.mark.parametrize("case", CASES["group"], ids=lambda c: c["counts"][0][0])
def test_a_cloud_groups_particle_forms_with_a_bare_word_someone_wrote(
    case: dict[str, Any],
) -> None:
    cloud = group_particles((w, n) for w, n in case["counts"])
    assert [list(item) for item in cloud] == case["cloud"]


def test_an_open_text_question_has_no_options_and_takes_a_number_of_answers() -> None:
    spec = build_question("One word?", "text", max_choices=3)
    assert (spec.kind, spec.options, spec.max_choices) == (Kind.TEXT, (), 3)
    assert build_question("One word?", "text").max_choices == 1
    assert check_answers(spec, ["Green!", " parks "]) == ("green", "parks")
    for bad, code in [
        (["..."], ErrorCode.EMPTY_ANSWER),
        (["x" * (MAX_ANSWER + 1)], ErrorCode.ANSWER_TOO_LONG),
        (["Green", "GREEN"], ErrorCode.DUPLICATE_ANSWER),
        (["a", "b", "c", "d"], ErrorCode.TOO_MANY_CHOICES),
    ]:
        with pytest.raises(VotingError) as caught:
            check_answers(spec, bad)
        assert caught.value.code is code
    for wrong in ({"options": ["A", "B"]}, {"max_choices": 0}, {"max_choices": 11}):
        with pytest.raises(VotingError) as refused:
            build_question("One word?", "text", **wrong)
        assert refused.value.code is ErrorCode.BAD_REQUEST
