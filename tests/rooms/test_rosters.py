"""A roster's rows checked alone: columns found by header, each refusal's reason, the
bounds that stop a hostile file."""

from __future__ import annotations

import pytest

from rooms.errors import ErrorCode, VotingError
from rooms.rosters import (
    MAX_BLANK_RUN,
    MAX_ROWS,
    Columns,
    Reason,
    check_group_name,
    check_rows,
    column_letter,
    find_columns,
)


@pytest.mark.parametrize(
    ("header", "columns"),
    [
        pytest.param(["전화번호", "이름", "그룹"], Columns(0, 1, 2, True), id="korean"),
        pytest.param(["Name", "Phone Number", "Group"], Columns(1, 0, 2, True), id="english"),
        pytest.param(["번호", "휴대폰", "성명"], Columns(1, 2, None, True), id="row-numbers-first"),
        pytest.param(["010-2345-6789", "Kim"], Columns(0), id="no-header"),
    ],
)
def test_columns_are_found_by_their_headers(header: list[object], columns: Columns) -> None:
    assert find_columns(header) == columns


def test_a_first_row_with_no_phone_column_is_refused() -> None:
    with pytest.raises(VotingError) as refused:
        find_columns(["city", "ward"])
    assert refused.value.code is ErrorCode.NO_PHONE_COLUMN


def test_each_refused_row_says_why_and_where() -> None:
    checked = check_rows(
        [
            ["phone", "name", "group"],
            ["010-2345-6789", "Kim", "A"],
            ["+82 10 2345 6789", "Kim again", "A"],
            ["02-123-4567", "Office", ""],
            ["hello", "", ""],
            [None, "Park", "B"],
            ["010-9876-5432", "x" * 101, ""],
            [1022223333, "Choi", "B"],
        ]
    )
    assert [(r.line, r.e164, r.group) for r in checked.accepted] == [
        (2, "+821023456789", "A"),
        (8, "+821022223333", "B"),
    ]
    assert [(r.line, r.cell, r.reason, r.of_line) for r in checked.refused] == [
        (3, "A3", Reason.DUPLICATE, 2),
        (4, "A4", Reason.NOT_MOBILE, None),
        (5, "A5", Reason.NOT_A_NUMBER, None),
        (6, "A6", Reason.NO_NUMBER, None),
        (7, "B7", Reason.NAME_TOO_LONG, None),
    ]
    assert checked.groups == {"A": 1, "B": 1}


@pytest.mark.parametrize(
    ("rows", "code", "fields"),
    [
        pytest.param(
            [["phone"], ["=1+1"]], ErrorCode.FORMULA_IN_FILE, {"cell": "A2"}, id="formula"
        ),
        pytest.param([["phone"]], ErrorCode.EMPTY_FILE, {}, id="header-only"),
        pytest.param([[None], [""]], ErrorCode.EMPTY_FILE, {}, id="blank"),
        pytest.param(
            [["phone"], *([["x"]] * (MAX_ROWS + 1))],
            ErrorCode.TOO_MANY_ROWS,
            {"max": "100,000"},
            id="too-many-rows",
        ),
    ],
)
def test_a_bad_file_is_refused_whole(
    rows: list[list[object]], code: ErrorCode, fields: dict[str, object]
) -> None:
    with pytest.raises(VotingError) as refused:
        check_rows(rows)
    assert refused.value.code is code and refused.value.fields == fields


def test_reading_stops_after_a_run_of_blank_rows() -> None:
    def rows():  # type: ignore[no-untyped-def]
        yield ["phone"]
        yield ["010-2345-6789"]
        for _ in range(MAX_BLANK_RUN):
            yield [None]
        raise AssertionError("read past the blank rows")

    assert len(check_rows(rows()).accepted) == 1


def test_column_letters_and_group_names() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
    assert check_group_name("  마포구   주민 ") == "마포구 주민"
    with pytest.raises(VotingError):
        check_group_name("")
