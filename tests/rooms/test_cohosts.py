"""Hosting a room: who may run it, who may manage its hosts, what an invitation does."""

from __future__ import annotations

import pytest

from rooms.cohosts import (
    Acceptance,
    Role,
    check_host,
    check_owner,
    check_removal,
    decide_acceptance,
)
from rooms.errors import ErrorCode, VotingError


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_owner_and_cohost_run_the_room(role: Role) -> None:
    assert check_host(role) is role


def test_a_stranger_does_not_run_the_room() -> None:
    with pytest.raises(VotingError) as caught:
        check_host(None)

    assert caught.value.code is ErrorCode.FORBIDDEN


@pytest.mark.parametrize(
    ("role", "refusal"),
    [
        pytest.param(Role.OWNER, None, id="owner"),
        pytest.param(Role.COHOST, ErrorCode.NOT_OWNER, id="cohost"),
        pytest.param(None, ErrorCode.FORBIDDEN, id="stranger"),
    ],
)
def test_only_the_owner_manages_hosts(role: Role | None, refusal: ErrorCode | None) -> None:
    if refusal is None:
        check_owner(role)
        return
    with pytest.raises(VotingError) as caught:
        check_owner(role)

    assert caught.value.code is refusal


def test_a_cohost_may_be_removed() -> None:
    check_removal(Role.COHOST, "h1")


@pytest.mark.parametrize(
    ("target", "code", "message"),
    [
        pytest.param(
            Role.OWNER,
            ErrorCode.CONFLICT,
            "The owner cannot be removed from the room.",
            id="owner",
        ),
        pytest.param(None, ErrorCode.NOT_FOUND, "There is no host h1.", id="not-a-host"),
    ],
)
def test_removal_of_the_owner_or_a_non_host_is_refused(
    target: Role | None, code: ErrorCode, message: str
) -> None:
    with pytest.raises(VotingError) as caught:
        check_removal(target, "h1")

    assert caught.value.code is code
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("used_by", "role", "expected"),
    [
        pytest.param(None, None, Acceptance.JOIN, id="unused-by-a-newcomer"),
        pytest.param(None, Role.OWNER, Acceptance.ALREADY_HOST, id="unused-by-the-owner"),
        pytest.param("me", Role.COHOST, Acceptance.ALREADY_HOST, id="accepted-twice"),
        pytest.param("other", Role.COHOST, Acceptance.ALREADY_HOST, id="cohost-by-other-link"),
    ],
)
def test_acceptance(used_by: str | None, role: Role | None, expected: Acceptance) -> None:
    assert decide_acceptance(used_by=used_by, role=role) is expected


@pytest.mark.parametrize("used_by", ["other", "me"], ids=["used-by-another", "used-then-removed"])
def test_a_used_invitation_lets_no_newcomer_in(used_by: str) -> None:
    with pytest.raises(VotingError) as caught:
        decide_acceptance(used_by=used_by, role=None)

    assert caught.value.code is ErrorCode.CONFLICT
    assert caught.value.message == "This invitation has been used already."
