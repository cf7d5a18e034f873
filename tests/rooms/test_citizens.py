"""Mobile numbers and one-time codes, as plain values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.citizens import phones
from rooms.citizens.codes import DIGITS, Purpose, check_code, code_digest, new_code
from rooms.errors import ErrorCode, VotingError


@pytest.mark.parametrize(
    "written",
    [
        "010-1234-5678",
        "01012345678",
        "+82 10 1234 5678",
        "+82-10-1234-5678",
        " 010 1234 5678 ",
        "(010) 1234-5678",
        "+821012345678",
    ],
)
def test_one_mobile_number_written_many_ways_is_one(written: str) -> None:
    assert phones.normalise(written) == "+821012345678"


def test_a_number_of_another_country_is_kept_with_its_code() -> None:
    assert phones.normalise("+1 415 555 2671") == "+14155552671"


@pytest.mark.parametrize(
    "raw",
    ["02-123-4567", "1588-1234", "010-99", "", "   ", "hello", "0" * 41, None, 1012345678, ["010"]],
)
def test_what_is_not_a_mobile_number_is_refused(raw: object) -> None:
    with pytest.raises(VotingError) as refused:
        phones.normalise(raw)
    assert refused.value.code is ErrorCode.INVALID_PHONE
    assert not isinstance(raw, str) or not raw.strip() or raw not in refused.value.message


def test_a_reference_depends_on_the_pepper_and_the_number_alone() -> None:
    one = phones.phone_ref(b"pepper", phones.normalise("010-1234-5678"))
    assert one == phones.phone_ref(b"pepper", phones.normalise("+82 10 1234 5678"))
    assert one != phones.phone_ref(b"other pepper", "+821012345678")
    assert one != phones.phone_ref(b"pepper", "+821012345679")
    assert len(one) == 64 and "1012345678" not in one


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == DIGITS and c.isdigit() for c in codes)
    assert len(codes) > 190


@given(st.integers(min_value=0, max_value=999_999))
def test_a_code_typed_with_spaces_or_a_dash_reads_the_same(n: int) -> None:
    code = f"{n:06d}"
    assert check_code(code) == code
    assert check_code(f"{code[:3]} {code[3:]}") == code
    assert check_code(f"{code[:3]}-{code[3:]}") == code


@pytest.mark.parametrize(
    "raw", ["12345", "1234567", "12a456", "١٢٣٤٥٦", "", None, 123456, "1" * 21]
)
def test_what_is_not_six_digits_is_a_bad_code(raw: object) -> None:
    with pytest.raises(VotingError) as refused:
        check_code(raw)
    assert refused.value.code is ErrorCode.BAD_CODE


def test_a_digest_is_bound_to_the_purpose_and_the_number() -> None:
    base = code_digest(b"s", Purpose.SIGN_UP, "ref", "123456")
    assert base == code_digest(b"s", Purpose.SIGN_UP, "ref", "123456")
    assert base != code_digest(b"s", Purpose.RESET, "ref", "123456")
    assert base != code_digest(b"s", Purpose.SIGN_UP, "other", "123456")
    assert base != code_digest(b"s", "change:someone", "ref", "123456")
    assert "123456" not in base
