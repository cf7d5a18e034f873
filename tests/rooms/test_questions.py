"""Questions: building a host's question, checking a ballot's choices, the life cycle."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from rooms.errors import ErrorCode, VotingError
from rooms.questions import (
    MAX_DESCRIPTION,
    MAX_LABEL,
    MAX_OPTIONS,
    MAX_RANKED,
    MAX_TITLE,
    Action,
    Kind,
    Option,
    QuestionSpec,
    QuestionState,
    Status,
    apply_action,
    borda_points,
    build_question,
    check_choices,
    deadline,
    edit_question,
)
from rooms.visibility import Visibility

# --- build_question -------------------------------------------------------------------

#: A valid question; every case below changes only what it is about.
BASE: dict[str, Any] = {"title": "Lunch?", "kind": "single", "options": ["Pizza", "Soup", "Salad"]}


def opts(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(label) for label in labels)


def spec(
    kind: Kind,
    options: tuple[Option, ...],
    max_choices: int = 1,
    visibility: Visibility = Visibility.LIVE,
    title: str = "Lunch?",
    description: str = "",
    image: str = "",
) -> QuestionSpec:
    return QuestionSpec(title, kind, options, max_choices, visibility, description, image)


PIZZA_SOUP_SALAD = opts("Pizza", "Soup", "Salad")
IMG_A = "/media/" + "a" * 64 + ".png"
IMG_B = "/media/" + "0123456789abcdef" * 4 + ".webp"


def test_base_question_is_a_single_choice_with_live_tally() -> None:
    built = build_question(**BASE)

    assert built == spec(Kind.SINGLE, PIZZA_SOUP_SALAD)
    assert built.title == "Lunch?"
    assert built.kind is Kind.SINGLE
    assert built.max_choices == 1
    assert built.visibility is Visibility.LIVE
    assert built.description == ""


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # kinds and their defaults
        pytest.param(
            {"kind": Kind.SINGLE}, spec(Kind.SINGLE, PIZZA_SOUP_SALAD), id="single-kind-as-enum"
        ),
        pytest.param(
            {"max_choices": 1}, spec(Kind.SINGLE, PIZZA_SOUP_SALAD), id="single-explicit-max-1"
        ),
        pytest.param(
            {"kind": "multiple"},
            spec(Kind.MULTIPLE, PIZZA_SOUP_SALAD, max_choices=3),
            id="multiple-defaults-to-all-options",
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": 2},
            spec(Kind.MULTIPLE, PIZZA_SOUP_SALAD, max_choices=2),
            id="multiple-max-2-of-3",
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": 1},
            spec(Kind.MULTIPLE, PIZZA_SOUP_SALAD, max_choices=1),
            id="multiple-max-1",
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": 3},
            spec(Kind.MULTIPLE, PIZZA_SOUP_SALAD, max_choices=3),
            id="multiple-max-equals-option-count",
        ),
        pytest.param(
            {"kind": "yesno", "options": ()},
            spec(Kind.YESNO, opts("Yes", "No")),
            id="yesno-defaults-to-yes-no",
        ),
        pytest.param(
            {"kind": "yesno", "options": ""},
            spec(Kind.YESNO, opts("Yes", "No")),
            id="yesno-empty-string-options-default",
        ),
        pytest.param(
            {"kind": "yesno", "options": ["Aye", "Nay"]},
            spec(Kind.YESNO, opts("Aye", "Nay")),
            id="yesno-custom-pair",
        ),
        pytest.param(
            {"kind": "yesno", "options": [], "max_choices": None},
            spec(Kind.YESNO, opts("Yes", "No")),
            id="yesno-max-choices-none",
        ),
        pytest.param(
            {"kind": "vs", "options": ["Cats", "Dogs"]},
            spec(Kind.VS, opts("Cats", "Dogs")),
            id="vs-two-sides",
        ),
        pytest.param(
            {"kind": Kind.VS, "options": ["Cats", "Dogs"]},
            spec(Kind.VS, opts("Cats", "Dogs")),
            id="vs-kind-as-enum",
        ),
        pytest.param(
            {"kind": "rating", "options": []},
            spec(Kind.RATING, opts("1", "2", "3", "4", "5")),
            id="rating-defaults-to-scale-5",
        ),
        pytest.param(
            {"kind": "rating", "options": [], "scale": 2},
            spec(Kind.RATING, opts("1", "2")),
            id="rating-scale-2",
        ),
        pytest.param(
            {"kind": "rating", "options": [], "scale": 10},
            spec(Kind.RATING, opts("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")),
            id="rating-scale-10",
        ),
        pytest.param(
            {"kind": "rating", "options": ["Bad", "Fine", "Great"], "scale": 10},
            spec(Kind.RATING, opts("Bad", "Fine", "Great")),
            id="rating-own-labels-win-over-scale",
        ),
        # options
        pytest.param(
            {"options": ("Pizza", "Soup")},
            spec(Kind.SINGLE, opts("Pizza", "Soup")),
            id="options-as-tuple",
        ),
        pytest.param(
            {"options": " Pizza, Soup ,, Salad ,"},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD),
            id="options-comma-separated-string",
        ),
        pytest.param(
            {"options": ["  Pizza ", "Soup\n"]},
            spec(Kind.SINGLE, opts("Pizza", "Soup")),
            id="option-labels-are-stripped",
        ),
        pytest.param(
            {
                "options": [
                    {"label": "Pizza", "description": " Margherita "},
                    {"label": " Soup "},
                    {"label": "Salad", "description": None},
                ]
            },
            spec(
                Kind.SINGLE,
                (Option("Pizza", "Margherita"), Option("Soup"), Option("Salad")),
            ),
            id="option-dicts-with-and-without-description",
        ),
        pytest.param(
            {"options": ["Pizza", {"label": "Soup", "description": "Tomato"}]},
            spec(Kind.SINGLE, (Option("Pizza"), Option("Soup", "Tomato"))),
            id="labels-and-dicts-mixed",
        ),
        pytest.param(
            {"options": [f"o{i}" for i in range(MAX_OPTIONS)]},
            spec(Kind.SINGLE, opts(*(f"o{i}" for i in range(MAX_OPTIONS)))),
            id="sixty-options",
        ),
        pytest.param(
            {"options": ["x" * MAX_LABEL, "y"]},
            spec(Kind.SINGLE, opts("x" * MAX_LABEL, "y")),
            id="label-at-length-limit",
        ),
        pytest.param(
            {"options": [{"label": "x", "description": "d" * MAX_DESCRIPTION}, "y"]},
            spec(Kind.SINGLE, (Option("x", "d" * MAX_DESCRIPTION), Option("y"))),
            id="option-description-at-length-limit",
        ),
        # images
        pytest.param(
            {"image": IMG_A}, spec(Kind.SINGLE, PIZZA_SOUP_SALAD, image=IMG_A), id="image"
        ),
        pytest.param({"image": None}, spec(Kind.SINGLE, PIZZA_SOUP_SALAD), id="image-none"),
        pytest.param(
            {"options": [{"label": "Pizza", "image": IMG_B}, {"label": "Soup", "image": None}]},
            spec(Kind.SINGLE, (Option("Pizza", image=IMG_B), Option("Soup"))),
            id="option-images",
        ),
        # title, description, visibility
        pytest.param(
            {"title": "  Lunch?\t"},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD),
            id="title-is-stripped",
        ),
        pytest.param(
            {"title": "t" * MAX_TITLE},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD, title="t" * MAX_TITLE),
            id="title-at-length-limit",
        ),
        pytest.param(
            {"description": "  Where shall we eat?  "},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD, description="Where shall we eat?"),
            id="description-is-stripped",
        ),
        pytest.param(
            {"description": None},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD),
            id="description-none-is-empty",
        ),
        pytest.param(
            {"description": "d" * MAX_DESCRIPTION},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD, description="d" * MAX_DESCRIPTION),
            id="description-at-length-limit",
        ),
        pytest.param(
            {"visibility": "after_vote"},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD, visibility=Visibility.AFTER_VOTE),
            id="visibility-after-vote",
        ),
        pytest.param(
            {"visibility": Visibility.AFTER_CLOSE},
            spec(Kind.SINGLE, PIZZA_SOUP_SALAD, visibility=Visibility.AFTER_CLOSE),
            id="visibility-as-enum",
        ),
    ],
)
def test_valid_question_is_built_with_exact_spec(
    changes: dict[str, Any], expected: QuestionSpec
) -> None:
    built = build_question(**{**BASE, **changes})

    assert built == expected
    assert type(built.kind) is Kind
    assert type(built.visibility) is Visibility
    assert all(type(o) is Option for o in built.options)


def test_defaults_are_a_live_single_choice_without_options() -> None:
    with pytest.raises(VotingError) as caught:
        build_question("Lunch?")
    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {"detail": "a question needs at least two options"}

    assert build_question("Lunch?", options=["a", "b"]) == QuestionSpec(
        "Lunch?", Kind.SINGLE, opts("a", "b")
    )


LONG_OPTIONS = [f"o{i}" for i in range(MAX_OPTIONS + 1)]
RATING_SCALE = "a rating scale runs from 1 to a number between 2 and 10"
MAX_CHOICES_RANGE = "max_choices must be between 1 and the number of options"
ONLY_MULTIPLE = "only a multiple-choice question takes max_choices"
NOT_AN_OPTION = "each option is a label or an object with a label or an image"
KINDS = "kind must be one of single, multiple, yesno, vs, rating, ranking, text, survey"
IMAGE = "image must be the path of an uploaded image (/media/…)"
OPTION_IMAGE = "option image must be the path of an uploaded image (/media/…)"


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        # title
        pytest.param({"title": None}, "title is required", id="title-none"),
        pytest.param({"title": ""}, "title is required", id="title-empty"),
        pytest.param({"title": " \t\n"}, "title is required", id="title-blank"),
        pytest.param({"title": 42}, "title must be text", id="title-int"),
        pytest.param({"title": b"Lunch?"}, "title must be text", id="title-bytes"),
        pytest.param({"title": ["Lunch?"]}, "title must be text", id="title-list"),
        pytest.param(
            {"title": "t" * (MAX_TITLE + 1)},
            "title is longer than 500 characters",
            id="title-too-long",
        ),
        # description
        pytest.param({"description": 7}, "description must be text", id="description-int"),
        pytest.param(
            {"description": "d" * (MAX_DESCRIPTION + 1)},
            "description is longer than 2000 characters",
            id="description-too-long",
        ),
        # images
        pytest.param({"image": 1}, IMAGE, id="image-int"),
        pytest.param({"image": "https://example.org/a.png"}, IMAGE, id="image-elsewhere"),
        pytest.param({"image": IMG_A.replace(".png", ".svg")}, IMAGE, id="image-svg"),
        pytest.param({"image": IMG_A.upper()}, IMAGE, id="image-upper-case"),
        pytest.param({"image": IMG_A + "\n"}, IMAGE, id="image-trailing-newline"),
        pytest.param({"image": "/media/../secret.png"}, IMAGE, id="image-traversal"),
        pytest.param(
            {"options": ["Pizza", {"label": "Soup", "image": "soup.png"}]},
            OPTION_IMAGE,
            id="option-image-not-uploaded",
        ),
        # enums
        pytest.param({"kind": "poll"}, KINDS, id="kind-unknown"),
        pytest.param({"kind": "SINGLE"}, KINDS, id="kind-wrong-case"),
        pytest.param({"kind": ""}, KINDS, id="kind-empty"),
        pytest.param({"kind": None}, KINDS, id="kind-none"),
        pytest.param({"kind": 1}, KINDS, id="kind-int"),
        pytest.param({"kind": ["single"]}, KINDS, id="kind-unhashable-list"),
        pytest.param(
            {"visibility": "hidden"},
            "visibility must be one of live, after_vote, after_close",
            id="visibility-unknown",
        ),
        pytest.param(
            {"visibility": None},
            "visibility must be one of live, after_vote, after_close",
            id="visibility-none",
        ),
        # options: shape
        pytest.param({"options": None}, "options must be a list", id="options-none"),
        pytest.param({"options": 3}, "options must be a list", id="options-int"),
        pytest.param(
            {"options": {"Pizza": 1, "Soup": 2}}, "options must be a list", id="options-dict"
        ),
        pytest.param({"options": {"Pizza", "Soup"}}, "options must be a list", id="options-set"),
        pytest.param({"options": ["Pizza", 3]}, NOT_AN_OPTION, id="option-int"),
        pytest.param({"options": ["Pizza", None]}, NOT_AN_OPTION, id="option-none"),
        pytest.param({"options": ["Pizza", ["Soup"]]}, NOT_AN_OPTION, id="option-list"),
        pytest.param({"options": ["Pizza", "  "]}, "option label is required", id="label-blank"),
        pytest.param(
            {"options": ["Pizza", {"description": "Tomato"}]},
            "option label is required",
            id="option-dict-without-label",
        ),
        pytest.param(
            {"options": ["Pizza", {"label": 5}]},
            "option label must be text",
            id="option-dict-label-int",
        ),
        pytest.param(
            {"options": ["Pizza", "x" * (MAX_LABEL + 1)]},
            "option label is longer than 200 characters",
            id="label-too-long",
        ),
        pytest.param(
            {"options": ["Pizza", {"label": "x" * (MAX_LABEL + 1)}]},
            "option label is longer than 200 characters",
            id="dict-label-too-long",
        ),
        pytest.param(
            {"options": ["Pizza", {"label": "Soup", "description": 1}]},
            "option description must be text",
            id="option-description-int",
        ),
        pytest.param(
            {"options": ["Pizza", {"label": "Soup", "description": "d" * (MAX_DESCRIPTION + 1)}]},
            "option description is longer than 2000 characters",
            id="option-description-too-long",
        ),
        # options: count
        pytest.param({"options": []}, "a question needs at least two options", id="no-options"),
        pytest.param(
            {"options": ["Pizza"]}, "a question needs at least two options", id="one-option"
        ),
        pytest.param(
            {"options": " , ,"}, "a question needs at least two options", id="blank-string-options"
        ),
        pytest.param(
            {"kind": "multiple", "options": ["Pizza"]},
            "a question needs at least two options",
            id="multiple-one-option",
        ),
        pytest.param(
            {"kind": "rating", "options": ["Great"]},
            "a question needs at least two options",
            id="rating-one-own-label",
        ),
        pytest.param(
            {"options": LONG_OPTIONS}, "a question has at most 60 options", id="sixty-one-options"
        ),
        pytest.param(
            {"kind": "multiple", "options": LONG_OPTIONS},
            "a question has at most 60 options",
            id="multiple-sixty-one-options",
        ),
        pytest.param(
            {"kind": "rating", "options": LONG_OPTIONS},
            "a question has at most 60 options",
            id="rating-sixty-one-own-labels",
        ),
        # yes/no and VS
        pytest.param(
            {"kind": "yesno"}, "a yes/no question has exactly two options", id="yesno-three"
        ),
        pytest.param(
            {"kind": "yesno", "options": ["Yes"]},
            "a yes/no question has exactly two options",
            id="yesno-one",
        ),
        pytest.param(
            {"kind": "vs", "options": []}, "a VS question has exactly two sides", id="vs-none"
        ),
        pytest.param(
            {"kind": "vs", "options": ["Cats"]}, "a VS question has exactly two sides", id="vs-one"
        ),
        pytest.param({"kind": "vs"}, "a VS question has exactly two sides", id="vs-three"),
        # rating scale
        pytest.param({"kind": "rating", "options": [], "scale": 1}, RATING_SCALE, id="scale-1"),
        pytest.param({"kind": "rating", "options": [], "scale": 11}, RATING_SCALE, id="scale-11"),
        pytest.param({"kind": "rating", "options": [], "scale": 0}, RATING_SCALE, id="scale-0"),
        pytest.param(
            {"kind": "rating", "options": [], "scale": -5}, RATING_SCALE, id="scale-negative"
        ),
        pytest.param(
            {"kind": "rating", "options": [], "scale": True}, RATING_SCALE, id="scale-bool"
        ),
        pytest.param({"kind": "rating", "options": [], "scale": "5"}, RATING_SCALE, id="scale-str"),
        pytest.param(
            {"kind": "rating", "options": [], "scale": 5.0}, RATING_SCALE, id="scale-float"
        ),
        pytest.param(
            {"kind": "rating", "options": [], "scale": None}, RATING_SCALE, id="scale-none"
        ),
        pytest.param(
            {"kind": "rating", "scale": 11}, RATING_SCALE, id="bad-scale-even-with-own-labels"
        ),
        # max_choices
        pytest.param(
            {"kind": "multiple", "max_choices": 0}, MAX_CHOICES_RANGE, id="multiple-max-0"
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": -1}, MAX_CHOICES_RANGE, id="multiple-max-negative"
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": 4}, MAX_CHOICES_RANGE, id="multiple-max-over-count"
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": True}, MAX_CHOICES_RANGE, id="multiple-max-bool"
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": "2"}, MAX_CHOICES_RANGE, id="multiple-max-str"
        ),
        pytest.param(
            {"kind": "multiple", "max_choices": 2.0}, MAX_CHOICES_RANGE, id="multiple-max-float"
        ),
        pytest.param({"max_choices": 2}, ONLY_MULTIPLE, id="single-max-2"),
        pytest.param({"max_choices": 0}, ONLY_MULTIPLE, id="single-max-0"),
        pytest.param({"max_choices": "1"}, ONLY_MULTIPLE, id="single-max-str"),
        pytest.param(
            {"kind": "yesno", "options": [], "max_choices": 2}, ONLY_MULTIPLE, id="yesno-max-2"
        ),
        pytest.param(
            {"kind": "vs", "options": ["Cats", "Dogs"], "max_choices": 2},
            ONLY_MULTIPLE,
            id="vs-max-2",
        ),
        pytest.param(
            {"kind": "rating", "options": [], "max_choices": 2}, ONLY_MULTIPLE, id="rating-max-2"
        ),
    ],
)
def test_invalid_question_is_refused_as_bad_request_with_exact_detail(
    changes: dict[str, Any], detail: str
) -> None:
    with pytest.raises(VotingError) as caught:
        build_question(**{**BASE, **changes})

    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {"detail": detail}
    assert caught.value.message == f"The request is malformed: {detail}."


# --- check_choices --------------------------------------------------------------------

SINGLE_OF_3 = QuestionSpec("Lunch?", Kind.SINGLE, PIZZA_SOUP_SALAD)
MULTIPLE_2_OF_4 = QuestionSpec("Toppings?", Kind.MULTIPLE, opts("a", "b", "c", "d"), max_choices=2)


@pytest.mark.parametrize(
    ("question", "choices", "expected"),
    [
        pytest.param(SINGLE_OF_3, [0], (0,), id="single-first"),
        pytest.param(SINGLE_OF_3, [2], (2,), id="single-last"),
        pytest.param(SINGLE_OF_3, (1,), (1,), id="single-tuple"),
        pytest.param(MULTIPLE_2_OF_4, [3], (3,), id="multiple-one-pick"),
        pytest.param(MULTIPLE_2_OF_4, [3, 0], (3, 0), id="multiple-max-picks-keep-order"),
    ],
)
def test_valid_choices_are_returned_as_a_tuple(
    question: QuestionSpec, choices: list[int], expected: tuple[int, ...]
) -> None:
    assert check_choices(question, choices) == expected


@pytest.mark.parametrize(
    ("question", "choices"),
    [
        pytest.param(SINGLE_OF_3, [], id="single-empty"),
        pytest.param(MULTIPLE_2_OF_4, [], id="multiple-empty"),
        pytest.param(SINGLE_OF_3, [3], id="single-one-past-the-end"),
        pytest.param(SINGLE_OF_3, [99], id="single-far-out-of-range"),
        pytest.param(SINGLE_OF_3, [-1], id="single-negative"),
        pytest.param(MULTIPLE_2_OF_4, [0, 4], id="multiple-one-out-of-range"),
        pytest.param(MULTIPLE_2_OF_4, [-1, 0], id="multiple-one-negative"),
        pytest.param(SINGLE_OF_3, [1, 1], id="single-duplicate"),
        pytest.param(MULTIPLE_2_OF_4, [2, 2], id="multiple-duplicate"),
        # a duplicate is refused as invalid even when it is also too many picks
        pytest.param(MULTIPLE_2_OF_4, [0, 0, 0], id="multiple-triple-duplicate"),
        pytest.param(MULTIPLE_2_OF_4, [0, 1, 9], id="too-many-and-out-of-range"),
    ],
)
def test_bad_choice_is_refused_as_invalid_choice(
    question: QuestionSpec, choices: list[int]
) -> None:
    with pytest.raises(VotingError) as caught:
        check_choices(question, choices)

    assert caught.value.code is ErrorCode.INVALID_CHOICE
    assert caught.value.message == "Choose among the question's options."


def test_second_identical_choice_is_refused_as_invalid_choice() -> None:
    assert check_choices(MULTIPLE_2_OF_4, [1]) == (1,)

    with pytest.raises(VotingError) as caught:
        check_choices(MULTIPLE_2_OF_4, [1, 1])

    assert caught.value.code is ErrorCode.INVALID_CHOICE


@pytest.mark.parametrize(
    ("question", "choices", "max_choices"),
    [
        pytest.param(SINGLE_OF_3, [0, 1], 1, id="single-two-picks"),
        pytest.param(SINGLE_OF_3, [0, 1, 2], 1, id="single-all-picks"),
        pytest.param(MULTIPLE_2_OF_4, [0, 1, 2], 2, id="multiple-three-of-max-two"),
        pytest.param(MULTIPLE_2_OF_4, [3, 2, 1, 0], 2, id="multiple-all-four"),
    ],
)
def test_too_many_choices_are_refused_with_the_maximum_in_the_message(
    question: QuestionSpec, choices: list[int], max_choices: int
) -> None:
    with pytest.raises(VotingError) as caught:
        check_choices(question, choices)

    assert caught.value.code is ErrorCode.TOO_MANY_CHOICES
    assert caught.value.fields == {"max_choices": max_choices}
    assert caught.value.message == f"Choose at most {max_choices} of the options."


# --- apply_action ---------------------------------------------------------------------


def test_a_new_question_is_an_unrevealed_draft() -> None:
    assert QuestionState() == QuestionState(Status.DRAFT, False)


DRAFT = Status.DRAFT
OPEN = Status.OPEN
CLOSED = Status.CLOSED

#: Every (status, revealed, action) and what it leads to; ``None`` means refused.
TRANSITIONS: list[tuple[Status, bool, Action, QuestionState | None]] = [
    (DRAFT, False, Action.OPEN, QuestionState(OPEN, False)),
    (DRAFT, False, Action.CLOSE, None),
    (DRAFT, False, Action.REVEAL, QuestionState(DRAFT, True)),
    (DRAFT, False, Action.RESET, QuestionState(DRAFT, False)),
    (DRAFT, True, Action.OPEN, QuestionState(OPEN, True)),
    (DRAFT, True, Action.CLOSE, None),
    (DRAFT, True, Action.REVEAL, QuestionState(DRAFT, True)),
    (DRAFT, True, Action.RESET, QuestionState(DRAFT, False)),
    (OPEN, False, Action.OPEN, None),
    (OPEN, False, Action.CLOSE, QuestionState(CLOSED, False)),
    (OPEN, False, Action.REVEAL, QuestionState(OPEN, True)),
    (OPEN, False, Action.RESET, None),
    (OPEN, True, Action.OPEN, None),
    (OPEN, True, Action.CLOSE, QuestionState(CLOSED, True)),
    (OPEN, True, Action.REVEAL, QuestionState(OPEN, True)),
    (OPEN, True, Action.RESET, None),
    (CLOSED, False, Action.OPEN, QuestionState(OPEN, False)),
    (CLOSED, False, Action.CLOSE, None),
    (CLOSED, False, Action.REVEAL, QuestionState(CLOSED, True)),
    (CLOSED, False, Action.RESET, QuestionState(DRAFT, False)),
    (CLOSED, True, Action.OPEN, QuestionState(OPEN, True)),
    (CLOSED, True, Action.CLOSE, None),
    (CLOSED, True, Action.REVEAL, QuestionState(CLOSED, True)),
    (CLOSED, True, Action.RESET, QuestionState(DRAFT, False)),
    # Hiding revealed results again: only before the close, when they are everyone's.
    (DRAFT, False, Action.HIDE, None),
    (DRAFT, True, Action.HIDE, QuestionState(DRAFT, False)),
    (OPEN, False, Action.HIDE, None),
    (OPEN, True, Action.HIDE, QuestionState(OPEN, False)),
    (CLOSED, False, Action.HIDE, None),
    (CLOSED, True, Action.HIDE, None),
]

#: Why each refused action is refused: the sentence the host reads.
REFUSALS = {
    (DRAFT, Action.CLOSE): "The question has not been opened yet: there is nothing to close.",
    (OPEN, Action.OPEN): "The question is open already.",
    (OPEN, Action.RESET): "Close the question before resetting it.",
    (CLOSED, Action.CLOSE): "The question is closed already.",
    (DRAFT, Action.HIDE): "The results are not revealed: there is nothing to hide.",
    (OPEN, Action.HIDE): "The results are not revealed: there is nothing to hide.",
    (CLOSED, Action.HIDE): "A closed question's results are shown to everyone, and its log and "
    "receipts may have been read already: they cannot be hidden again.",
}


def _transition_id(status: Status, revealed: bool, action: Action) -> str:
    return f"{action}-{status}-{'revealed' if revealed else 'hidden'}"


def test_transition_table_covers_every_state_and_action() -> None:
    seen = {(s, r, a) for s, r, a, _ in TRANSITIONS}

    assert len(seen) == len(TRANSITIONS) == len(Status) * 2 * len(Action)


@pytest.mark.parametrize(
    ("status", "revealed", "action", "after"),
    [
        pytest.param(s, r, a, after, id=_transition_id(s, r, a))
        for s, r, a, after in TRANSITIONS
        if after is not None
    ],
)
def test_allowed_action_gives_the_exact_new_state(
    status: Status, revealed: bool, action: Action, after: QuestionState
) -> None:
    before = QuestionState(status, revealed)

    new = apply_action(before, action)

    assert new == after
    assert new.status is after.status
    assert before == QuestionState(status, revealed)  # the old state is untouched


@pytest.mark.parametrize(
    ("status", "revealed", "action"),
    [
        pytest.param(s, r, a, id=_transition_id(s, r, a))
        for s, r, a, after in TRANSITIONS
        if after is None
    ],
)
def test_refused_action_raises_invalid_state_naming_action_and_status(
    status: Status, revealed: bool, action: Action
) -> None:
    with pytest.raises(VotingError) as caught:
        apply_action(QuestionState(status, revealed), action)

    assert caught.value.code is ErrorCode.INVALID_STATE
    assert caught.value.message == REFUSALS[status, action]
    assert "{" not in caught.value.message


def test_closed_question_reopens_and_closes_again() -> None:
    state = QuestionState()
    for action, expected in [
        (Action.OPEN, QuestionState(OPEN, False)),
        (Action.CLOSE, QuestionState(CLOSED, False)),
        (Action.REVEAL, QuestionState(CLOSED, True)),
        (Action.OPEN, QuestionState(OPEN, True)),
        (Action.CLOSE, QuestionState(CLOSED, True)),
        (Action.RESET, QuestionState(DRAFT, False)),
    ]:
        state = apply_action(state, action)
        assert state == expected


# --- QuestionSpec as a dict -----------------------------------------------------------


def test_spec_as_dict_is_plain_json_data() -> None:
    question = QuestionSpec(
        title="Toppings?",
        kind=Kind.MULTIPLE,
        options=(Option("Ham", "Smoked"), Option("Olives", image=IMG_B)),
        max_choices=2,
        visibility=Visibility.AFTER_VOTE,
        description="Pick up to two",
        image=IMG_A,
        extra={"not": "exported"},
    )

    d = question.as_dict()

    assert d == {
        "title": "Toppings?",
        "description": "Pick up to two",
        "image": IMG_A,
        "kind": "multiple",
        "options": [
            {"label": "Ham", "description": "Smoked", "image": "", "image_alt": ""},
            {"label": "Olives", "description": "", "image": IMG_B, "image_alt": ""},
        ],
        "max_choices": 2,
        "visibility": "after_vote",
        "receipts": True,
        "image_alt": "",
        "max_ballots": 0,
        "duration_s": 0,
        "closes_at_ms": 0,
    }
    assert type(d["kind"]) is str
    assert type(d["visibility"]) is str
    assert json.loads(json.dumps(d)) == d


def test_option_as_dict() -> None:
    assert Option("Ham", "Smoked").as_dict() == {
        "label": "Ham",
        "description": "Smoked",
        "image": "",
        "image_alt": "",
    }
    assert Option("Olives", image=IMG_A).as_dict() == {
        "label": "Olives",
        "description": "",
        "image": IMG_A,
        "image_alt": "",
    }


@pytest.mark.parametrize(
    "question",
    [
        pytest.param(build_question(**BASE), id="single"),
        pytest.param(
            build_question(
                "Toppings?",
                "multiple",
                ["Ham", {"label": "Olives", "description": "Black"}, "Corn"],
                max_choices=2,
                visibility="after_close",
                description="Pick two",
            ),
            id="multiple-with-descriptions",
        ),
        pytest.param(build_question("Agree?", "yesno", visibility="after_vote"), id="yesno"),
        pytest.param(build_question("Which?", "vs", "Cats, Dogs"), id="vs"),
        pytest.param(build_question("How good?", "rating", scale=7), id="rating"),
        pytest.param(
            build_question(
                "Which logo?",
                "single",
                [{"label": "Round", "image": IMG_A}, {"label": "Square", "image": IMG_B}],
                image=IMG_B,
            ),
            id="with-images",
        ),
    ],
)
def test_spec_survives_a_round_trip_through_json(question: QuestionSpec) -> None:
    again = QuestionSpec.from_dict(json.loads(json.dumps(question.as_dict())))

    assert again == question
    assert again.as_dict() == question.as_dict()
    assert type(again.kind) is Kind
    assert type(again.visibility) is Visibility


def test_from_dict_defaults_missing_descriptions_and_images_and_parses_max_choices() -> None:
    question = QuestionSpec.from_dict(
        {
            "title": "Lunch?",
            "kind": "multiple",
            "options": [{"label": "Pizza"}, {"label": "Soup", "description": "Hot"}],
            "max_choices": "2",
            "visibility": "live",
        }
    )

    assert question == QuestionSpec(
        "Lunch?",
        Kind.MULTIPLE,
        (Option("Pizza", ""), Option("Soup", "Hot")),
        2,
        Visibility.LIVE,
        "",
    )
    assert question.max_choices == 2
    assert question.image == ""
    assert [o.image for o in question.options] == ["", ""]


def test_extra_is_not_part_of_equality() -> None:
    a = QuestionSpec("Q", Kind.SINGLE, opts("a", "b"), extra={"x": 1})
    b = QuestionSpec("Q", Kind.SINGLE, opts("a", "b"))

    assert a == b
    assert b.extra == {}


# --- edit_question --------------------------------------------------------------------

MULTI_2_OF_3 = build_question("Toppings?", "multiple", ["Ham", "Olives", "Corn"], max_choices=2)
MULTI_ALL_3 = build_question("Toppings?", "multiple", ["Ham", "Olives", "Corn"])


@pytest.mark.parametrize(
    ("before", "changes", "expected"),
    [
        pytest.param(
            build_question(**BASE), {}, build_question(**BASE), id="no-changes-keep-everything"
        ),
        pytest.param(
            build_question(**BASE),
            {"title": " Dinner? ", "description": "Tonight", "image": IMG_A},
            spec(
                Kind.SINGLE, PIZZA_SOUP_SALAD, title="Dinner?", description="Tonight", image=IMG_A
            ),
            id="title-description-image",
        ),
        pytest.param(
            build_question(**BASE, image=IMG_A),
            {"image": ""},
            build_question(**BASE),
            id="image-removed",
        ),
        pytest.param(
            build_question(**BASE),
            {"options": ["Pizza", {"label": "Soup", "image": IMG_B}], "id": "x", "status": "open"},
            spec(Kind.SINGLE, (Option("Pizza"), Option("Soup", image=IMG_B))),
            id="options-replaced-unknown-keys-ignored",
        ),
        pytest.param(
            build_question(
                "Q", "single", [{"label": "A", "description": "d", "image": IMG_A}, "B"]
            ),
            {"visibility": "after_close"},
            spec(
                Kind.SINGLE,
                (Option("A", "d", IMG_A), Option("B")),
                visibility=Visibility.AFTER_CLOSE,
                title="Q",
            ),
            id="options-kept-with-descriptions-and-images",
        ),
        pytest.param(
            build_question(**BASE),
            {"kind": "multiple"},
            spec(Kind.MULTIPLE, PIZZA_SOUP_SALAD, max_choices=3),
            id="single-to-multiple-keeps-options",
        ),
        pytest.param(
            MULTI_2_OF_3,
            {"title": "Two toppings?"},
            spec(Kind.MULTIPLE, opts("Ham", "Olives", "Corn"), 2, title="Two toppings?"),
            id="multiple-keeps-its-max",
        ),
        pytest.param(
            MULTI_ALL_3,
            {"options": ["Ham", "Olives", "Corn", "Tuna"]},
            spec(Kind.MULTIPLE, opts("Ham", "Olives", "Corn", "Tuna"), 4, title="Toppings?"),
            id="multiple-all-grows-with-options",
        ),
        pytest.param(
            MULTI_2_OF_3,
            {"max_choices": 3},
            spec(Kind.MULTIPLE, opts("Ham", "Olives", "Corn"), 3, title="Toppings?"),
            id="multiple-max-changed",
        ),
        pytest.param(
            MULTI_2_OF_3,
            {"kind": "single"},
            spec(Kind.SINGLE, opts("Ham", "Olives", "Corn"), title="Toppings?"),
            id="multiple-to-single-drops-max",
        ),
        pytest.param(
            build_question(**BASE),
            {"kind": "yesno"},
            spec(Kind.YESNO, opts("Yes", "No")),
            id="to-yesno-takes-default-options",
        ),
        pytest.param(
            build_question(**BASE),
            {"kind": "rating"},
            spec(Kind.RATING, opts("1", "2", "3", "4", "5")),
            id="to-rating-takes-default-scale",
        ),
        pytest.param(
            build_question("How good?", "rating"),
            {"scale": 3},
            spec(Kind.RATING, opts("1", "2", "3"), title="How good?"),
            id="rating-new-scale",
        ),
        pytest.param(
            build_question("How good?", "rating", scale=3),
            {"title": "How good was it?"},
            spec(Kind.RATING, opts("1", "2", "3"), title="How good was it?"),
            id="rating-keeps-its-labels",
        ),
        pytest.param(
            build_question("Agree?", "yesno", ["Aye", "Nay"]),
            {"kind": "vs"},
            spec(Kind.VS, opts("Aye", "Nay"), title="Agree?"),
            id="yesno-to-vs-keeps-sides",
        ),
    ],
)
def test_edit_changes_only_what_is_given(
    before: QuestionSpec, changes: dict[str, Any], expected: QuestionSpec
) -> None:
    edited = edit_question(before, changes)

    assert edited == expected
    assert edited.as_dict() == expected.as_dict()


@pytest.mark.parametrize(
    ("before", "changes", "detail"),
    [
        pytest.param(build_question(**BASE), {"title": ""}, "title is required", id="empty-title"),
        pytest.param(build_question(**BASE), {"kind": "poll"}, KINDS, id="bad-kind"),
        pytest.param(
            build_question(**BASE),
            {"kind": "yesno", "options": ["A", "B", "C"]},
            "a yes/no question has exactly two options",
            id="yesno-three",
        ),
        pytest.param(
            build_question(**BASE),
            {"kind": "vs"},
            "a VS question has exactly two sides",
            id="to-vs-with-three-options",
        ),
        pytest.param(
            MULTI_2_OF_3,
            {"options": ["Ham"]},
            "a question needs at least two options",
            id="one-option",
        ),
        pytest.param(
            build_question("Toppings?", "multiple", ["A", "B", "C", "D"], max_choices=3),
            {"options": ["A", "B"]},
            MAX_CHOICES_RANGE,
            id="options-shrink-below-kept-max",
        ),
        pytest.param(build_question(**BASE), {"max_choices": 2}, ONLY_MULTIPLE, id="max-on-single"),
        pytest.param(
            build_question("How good?", "rating"), {"scale": 11}, RATING_SCALE, id="scale-11"
        ),
        pytest.param(build_question(**BASE), {"image": "x.png"}, IMAGE, id="image-not-uploaded"),
    ],
)
def test_bad_edit_is_refused_with_the_creation_detail(
    before: QuestionSpec, changes: dict[str, Any], detail: str
) -> None:
    with pytest.raises(VotingError) as caught:
        edit_question(before, changes)

    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {"detail": detail}


def test_receipts_are_on_by_default_and_a_host_may_turn_them_off() -> None:
    assert build_question("Q", "yesno").receipts is True
    spec = build_question("Q", "yesno", receipts=False)
    assert spec.receipts is False and spec.as_dict()["receipts"] is False
    assert QuestionSpec.from_dict(spec.as_dict()) == spec
    assert edit_question(spec, {"title": "R"}).receipts is False
    assert edit_question(spec, {"receipts": True}).receipts is True
    with pytest.raises(VotingError) as e:
        build_question("Q", "yesno", receipts="no")
    assert e.value.code is ErrorCode.BAD_REQUEST


# --- ranking ---------------------------------------------------------------------------


def test_a_ranking_orders_every_option_and_takes_no_max_choices() -> None:
    spec = build_question("Order these", "ranking", ["a", "b", "c"])
    assert (spec.kind, spec.max_choices) == (Kind.RANKING, 3)
    assert check_choices(spec, [2, 0, 1]) == (2, 0, 1)
    for partial in ([0, 1], [0]):
        with pytest.raises(VotingError) as caught:
            check_choices(spec, partial)
        assert caught.value.code is ErrorCode.INVALID_CHOICE
    with pytest.raises(VotingError) as refused:
        build_question("Order these", "ranking", ["a", "b", "c"], max_choices=2)
    assert refused.value.fields == {
        "detail": "a ranking ballot orders every option: leave out max_choices"
    }
    with pytest.raises(VotingError) as many:
        build_question("Order these", "ranking", [str(i) for i in range(MAX_RANKED + 1)])
    assert many.value.fields == {"detail": f"a ranking question has at most {MAX_RANKED} options"}


def test_borda_points_run_from_options_minus_one_down_to_none() -> None:
    assert [borda_points(4, place) for place in range(4)] == [3, 2, 1, 0]


def test_a_first_come_cap_is_a_count_of_ballots() -> None:
    spec = build_question("First ten?", "single", "A,B", max_ballots=10)
    assert spec.max_ballots == 10 and spec.as_dict()["max_ballots"] == 10
    assert QuestionSpec.from_dict(spec.as_dict()) == spec
    assert build_question("All?", "single", "A,B").max_ballots == 0
    assert edit_question(spec, {"title": "First ten!"}).max_ballots == 10
    assert edit_question(spec, {"max_ballots": 0}).max_ballots == 0
    for bad in (-1, 1.5, "ten", True, 10**9):
        with pytest.raises(VotingError):
            build_question("Q", "single", "A,B", max_ballots=bad)


def test_a_duration_is_seconds_up_to_a_day() -> None:
    spec = build_question("Quick?", "yesno", duration_s=60)
    assert spec.duration_s == 60 and QuestionSpec.from_dict(spec.as_dict()) == spec
    assert edit_question(spec, {"title": "Quicker?"}).duration_s == 60
    for bad in (-1, 86_401, 1.5, "60", False):
        with pytest.raises(VotingError):
            build_question("Q", "yesno", duration_s=bad)


def test_a_question_closes_at_its_durations_end_or_its_moment_whichever_comes_first() -> None:
    at = 1_800_000_000_000
    q = build_question("Q", "yesno")
    assert deadline(q, at) is None
    assert deadline(replace(q, duration_s=60), at) == at + 60_000
    assert deadline(replace(q, closes_at_ms=at + 5_000), at) == at + 5_000
    both = replace(q, duration_s=60, closes_at_ms=at + 120_000)
    assert deadline(both, at) == at + 60_000
    assert QuestionSpec.from_dict(both.as_dict()) == both
