"""Targets, profiles, rules and the on-site code as plain values."""

from __future__ import annotations

import pytest

from rooms.eligibility import (
    AgeBand,
    District,
    Facts,
    Profile,
    Target,
    birth_years,
    check_profile,
    check_target,
    decide,
    distance_m,
    rule_of,
)
from rooms.errors import ErrorCode, VotingError
from rooms.sitecode import (
    PASS_LIFETIME_S,
    STEP_S,
    check_code,
    check_pass,
    code_at,
    site_key,
    site_pass,
)

CITY_HALL = (37.5663, 126.9779)


def test_the_on_site_code_is_rfc_6238_totp() -> None:
    # RFC 6238, appendix B, SHA-1, time 59 s: 94287082 (its last six digits).
    assert code_at(b"12345678901234567890", 59) == "287082"
    assert code_at(b"12345678901234567890", 1111111109) == "081804"


def test_a_code_is_taken_for_its_step_and_the_next_only() -> None:
    key = site_key(b"s" * 32, "room")
    t = 1_800_000_000
    code = code_at(key, t)
    assert check_code(key, code, t) and check_code(key, code, t + STEP_S)
    assert not check_code(key, code, t + 2 * STEP_S)
    assert not check_code(key, "12345", t) and not check_code(key, "１２３４５６", t)
    assert site_key(b"s" * 32, "other") != key


def test_a_site_pass_belongs_to_one_room_and_one_voter_for_a_day_at_most() -> None:
    at = 1_800_000_000
    given = site_pass(b"s" * 32, "room", "device-1", at)
    assert check_pass(b"s" * 32, "room", "device-1", given, at + 60)
    assert check_pass(b"s" * 32, "room", "device-1", given, at + PASS_LIFETIME_S)
    assert not check_pass(b"s" * 32, "room", "device-1", given, at + PASS_LIFETIME_S + 1)
    assert not check_pass(b"s" * 32, "room", "device-1", given, at - 60)  # not yet given
    assert not check_pass(b"s" * 32, "room", "device-2", given, at + 60)
    assert not check_pass(b"s" * 32, "other", "device-1", given, at + 60)
    assert not check_pass(b"s" * 32, "room", "device-1", "é" * 24, at)
    # The date is signed: a pass re-dated to last longer is not a pass.
    _, mac = given.split(".")
    assert not check_pass(b"s" * 32, "room", "device-1", f"{at + 3600}.{mac}", at + 3700)


def test_age_bands_become_birth_years_of_the_opening_year() -> None:
    assert birth_years(AgeBand.THIRTIES, 2026) == (1987, 1996)
    rule = rule_of(Target(ages=(AgeBand.THIRTIES,)), place=None, year=2026)
    assert rule == {"y": [[1987, 1996]]}
    assert rule_of(Target(), place=None, year=2026) == {}


def test_a_target_needs_a_place_for_a_radius_and_names_what_is_wrong() -> None:
    assert check_target(None, has_place=False) == Target()
    ok = check_target({"districts": ["mapo", "mapo"], "radius_m": 500}, has_place=True)
    assert ok.districts == (District.MAPO,) and ok.radius_m == 500
    for bad, has_place in (
        ({"radius_m": 500}, False),
        ({"radius_m": 10}, True),
        ({"radius_m": True}, True),
        ({"districts": "mapo"}, False),
        ({"genders": ["robot"]}, False),
        ({"site": "yes"}, False),
        ({"groups": [""]}, False),
        ({"groups": [str(i) for i in range(21)]}, False),
        ({"whatever": 1}, False),
        ([], False),
    ):
        with pytest.raises(VotingError) as refused:
            check_target(bad, has_place=has_place)
        assert refused.value.code is ErrorCode.BAD_REQUEST


def test_a_profile_is_checked_and_each_field_is_optional() -> None:
    assert check_profile({}, year=2026) == Profile()
    assert check_profile({"birth_year": "1990", "district": ""}, year=2026) == Profile(1990)
    for bad in ({"birth_year": 1800}, {"birth_year": 2030}, {"job": "pirate"}, {"x": 1}, "me"):
        with pytest.raises(VotingError):
            check_profile(bad, year=2026)


def test_decide_refuses_in_order_and_explains_what_is_missing() -> None:
    rule = rule_of(
        Target(ages=(AgeBand.THIRTIES,), radius_m=300, site=True),
        place=CITY_HALL,
        year=2026,
    )
    assert decide(rule, {}) is ErrorCode.PROFILE_INCOMPLETE
    assert decide(rule, {"y": 1970}) is ErrorCode.NOT_ELIGIBLE
    assert decide(rule, {"y": 1990}) is ErrorCode.POSITION_NEEDED
    far = Facts(profile=Profile(1990), position=(37.4979, 127.0276)).as_arg()
    assert decide(rule, far) is ErrorCode.OUT_OF_AREA
    near = Facts(profile=Profile(1990), position=(37.5670, 126.9785)).as_arg()
    assert decide(rule, near) is ErrorCode.SITE_CODE_NEEDED
    assert decide(rule, {**near, "s": 1}) is None
    assert 80 < distance_m(CITY_HALL, (37.5670, 126.9785)) < 100
    assert decide({"r": 1}, {"p": "x"}, on_roster=False) is ErrorCode.NOT_ELIGIBLE
    assert decide({"o": ["a"]}, {"o": "b"}) is ErrorCode.NOT_ELIGIBLE


def test_an_internal_vote_takes_no_citizens_target_but_a_place_or_the_code() -> None:
    for other in (
        {"groups": ["g1"]},
        {"ages": ["30s"]},
        {"genders": ["female"]},
        {"districts": ["mapo"]},
        {"jobs": ["student"]},
    ):
        with pytest.raises(VotingError) as refused:
            check_target({"departments": ["d1"], **other}, has_place=False)
        assert "internal vote" in refused.value.text(), other
        assert check_target(other, has_place=False).departments == ()
    both = check_target({"departments": ["d1"], "radius_m": 200, "site": True}, has_place=True)
    assert (both.departments, both.radius_m, both.site) == (("d1",), 200, True)
