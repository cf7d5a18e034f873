"""Who hosts a room: its owner and the co-hosts the owner invited.

A co-host may do everything the owner does except invite and remove hosts. An invitation
is a single-use link: the first host who accepts it joins; a host of the room already
(the owner checking the link, a co-host clicking it twice) is left as is and the link
stays unused.
"""

from __future__ import annotations

from enum import StrEnum

from rooms.errors import N_, ErrorCode, VotingError, conflict, not_found


class Role(StrEnum):
    OWNER = "owner"  #: created the room; invites and removes hosts
    COHOST = "cohost"  #: joined by invitation; runs the room


class Acceptance(StrEnum):
    JOIN = "join"  #: the invitation is unused: the host joins as co-host
    ALREADY_HOST = "already_host"  #: nothing to do; the invitation stays unused


def check_host(role: Role | None) -> Role:
    """The role of a host of the room; anyone else is refused."""
    if role is None:
        raise VotingError(ErrorCode.FORBIDDEN)
    return role


def check_owner(role: Role | None) -> None:
    """Only the owner manages the room's hosts; a stranger is not even told that."""
    if role is None:
        raise VotingError(ErrorCode.FORBIDDEN)
    if role is not Role.OWNER:
        raise VotingError(ErrorCode.NOT_OWNER)


def check_removal(target: Role | None, host_id: str) -> None:
    """Whether the host ``host_id``, of role ``target`` in the room, may be removed."""
    if target is None:
        raise not_found(N_("host {id}"), host_id)
    if target is Role.OWNER:
        raise conflict(N_("The owner cannot be removed from the room."))


def decide_acceptance(*, used_by: str | None, role: Role | None) -> Acceptance:
    """What accepting an invitation does for a host whose role in the room is ``role``.

    ``used_by`` is the host who accepted the invitation before, if any. A co-host who
    was removed cannot come back with the link they used: it is spent.
    """
    if role is not None:
        return Acceptance.ALREADY_HOST
    if used_by is not None:
        raise conflict(N_("This invitation has been used already."))
    return Acceptance.JOIN
