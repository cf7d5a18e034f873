"""A poll targeted at roster groups: its questions take ballots only from citizens whose
number is in one of the groups (``keys.roster``, checked by the cast script)."""

from __future__ import annotations

from live.rosters import store
from live.services import Services


async def attach(
    svc: Services, poll_id: str, question_ids: list[str], group_ids: tuple[str, ...], host_id: str
) -> None:
    """Record that the poll targets ``group_ids`` (owned by ``host_id``, else
    ``not_found``) and copy their members into each question's ``keys.roster`` set.

    From then on, while the poll is not closed, the groups' changes follow into those sets
    (``live.rosters.store``)."""
    if not group_ids:
        return
    wanted = list(dict.fromkeys(group_ids))
    await store.check_groups(svc, wanted, host_id)
    async with store.locked(svc, host_id):
        await store.link_poll(svc, poll_id, question_ids, wanted)
