"""Lot drawings in a room: a draft's slots, the commitment, each draw, the reveal.

``rooms.draws`` decides and computes; this module keeps the state in Valkey (the draw's
hash and its list of picks, ``live.keys``), changes it with ``lua/draw.lua`` only if the
draw is still as it was read, and writes each step as an entry of the draw's own
transparency log in the archive (``ledger_logs`` / ``ledger_entries``, the tables of the
polls' logs, so the ledger endpoints, checkpoints and witnesses serve a draw's log as they
serve a poll's). An entry's index is the log's primary key: of two hosts drawing at once,
one inserts draw ``n``'s entry (index ``n + 2``) and wins the script's check; the other's
insert or check fails, its transaction rolls back, and it draws again from the state the
first left.

A commitment is drawn from only once the witnesses' quorum has cosigned the checkpoint of
its entry alone: that cosigned checkpoint becomes the log's second entry, and the root of
those two entries is every draw's beacon (``rooms.draws.beacon``). If the quorum is not
there at the commit (witnesses down), the draw stays committed without a beacon, says so
(``witnesses`` in its public state), and each press of "Draw" asks the witnesses again.

Every change is announced to every node (``{"t": "draw"}`` on the events channel), which
sends the ``draw`` event to the room: to its hosts while the draw is a draft, to everyone
once committed.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from live.clock import new_id, now_ms
from live.engines import db
from live.ledger.log import Ledger, LogInfo
from live.services import Services
from rooms.draws import (
    BEACON_SIZE,
    DrawSpec,
    DrawState,
    Slot,
    beacon,
    check_commit,
    check_edit,
    check_pick,
    check_reveal,
    check_seed,
    commit_entry,
    commitment,
    pick,
    pick_entry,
    reveal_entry,
    witness_entry,
)
from rooms.errors import N_, conflict, not_found
from rooms.ledger import Witnessing, log_origin
from rooms.tlog.merkle import leaf_hash

log = logging.getLogger("mvoting.draws")

#: Tries at a draw while other hosts' draws keep landing first.
_TRIES = 20


@dataclass(frozen=True, slots=True)
class LiveDraw:
    id: str
    room_id: str
    state: DrawState
    version: int
    spec: DrawSpec
    picks: tuple[tuple[int, int], ...] = ()  #: (slot, ms) in draw order
    seed: str = ""  #: secret until revealed
    commitment: str = ""
    beacon: str = ""  #: once the witnesses' checkpoint of the commitment is in the log
    log_id: str = ""
    committed_ms: int | None = None
    revealed_ms: int | None = None
    witnessed_ms: int | None = None
    #: why the witnesses have not cosigned the commitment yet (who did, the quorum)
    witnesses: str = ""

    def public(self) -> dict[str, Any]:
        """What screens show: never the seed before it is revealed."""
        return {
            "id": self.id,
            "room": self.room_id,
            "state": str(self.state),
            "version": self.version,
            "title": self.spec.title,
            "slots": [s.as_dict() for s in self.spec.slots],
            "picks": [{"n": n, "slot": s, "t": t} for n, (s, t) in enumerate(self.picks)],
            "commitment": self.commitment or None,
            "beacon": self.beacon or None,
            "beacon_size": BEACON_SIZE if self.beacon else None,
            "witnessed": bool(self.beacon),
            "witnesses": self.witnesses or None,
            "log": self.log_id or None,
            "committed_ms": self.committed_ms,
            "witnessed_ms": self.witnessed_ms,
            "seed": self.seed if self.state is DrawState.REVEALED else None,
            "revealed_ms": self.revealed_ms,
            "url": f"/draws/{self.id}",
        }


def _spec(raw: str) -> DrawSpec:
    body = orjson.loads(raw)
    return DrawSpec(body["title"], tuple(Slot(s["label"], s["blank"]) for s in body["slots"]))


async def load_draw(svc: Services, draw_id: str) -> LiveDraw | None:
    k = svc.keys
    async with svc.redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(k.draw(draw_id))
        pipe.lrange(k.draw_picks(draw_id), 0, -1)
        meta, picks = await pipe.execute()
    if not meta:
        return None
    drawn = tuple((int(s), int(t)) for s, t in (p.split(":") for p in picks))
    times = ("committed_ms", "revealed_ms", "witnessed_ms")
    optional = {f: int(meta[f]) if meta.get(f) else None for f in times}
    return LiveDraw(
        draw_id,
        meta["room"],
        DrawState(meta["state"]),
        int(meta.get("version", 0)),
        _spec(meta["def"]),
        drawn,
        meta.get("seed", ""),
        meta.get("commitment", ""),
        meta.get("beacon", ""),
        meta.get("log", ""),
        witnesses=meta.get("witnesses", ""),
        **optional,
    )


async def room_draws(svc: Services, room_id: str) -> list[LiveDraw]:
    ids = await svc.redis.lrange(svc.keys.room_draws(room_id), 0, -1)
    found = [await load_draw(svc, i) for i in ids]
    return [d for d in found if d is not None]


async def draw_in_room(svc: Services, room_id: str, draw_id: str) -> LiveDraw:
    """The room's draw ``draw_id``; ``not_found`` if it is not one of the room's."""
    d = await load_draw(svc, draw_id)
    if d is None or d.room_id != room_id:
        raise not_found(N_("draw {id}"), draw_id)
    return d


async def publish_draw(svc: Services, d: LiveDraw) -> None:
    event = {"t": "draw", "room": d.room_id, "draw": d.public()}
    await svc.redis.publish(svc.keys.events(), orjson.dumps(event))


async def _changed(svc: Services, draw_id: str) -> LiveDraw:
    d = await load_draw(svc, draw_id)
    assert d is not None  # draws are never deleted
    await publish_draw(svc, d)
    return d


def _changed_meanwhile() -> Exception:
    return conflict(N_("The draw changed meanwhile; try again."))


async def create_draw(svc: Services, room_id: str, spec: DrawSpec) -> LiveDraw:
    draw_id = new_id(16)
    k = svc.keys
    await svc.redis.hset(
        k.draw(draw_id),
        mapping={
            "room": room_id,
            "state": str(DrawState.DRAFT),
            "version": 1,
            "def": orjson.dumps(spec.as_dict()),
            "slots": len(spec.slots),
        },
    )
    await svc.redis.rpush(k.room_draws(room_id), draw_id)
    return await _changed(svc, draw_id)


async def edit_draw(svc: Services, d: LiveDraw, spec: DrawSpec) -> LiveDraw:
    """Give the draft ``d`` the definition ``spec``: refused once it is committed."""
    check_edit(d.state)
    applied = await _script(
        svc, d, "edit", orjson.dumps(spec.as_dict()).decode(), str(len(spec.slots))
    )
    if not applied:
        fresh = await load_draw(svc, d.id)
        if fresh is not None:
            check_edit(fresh.state)
        raise _changed_meanwhile()
    return await _changed(svc, d.id)


async def commit_draw(
    svc: Services, ledger: Ledger, d: LiveDraw, seed: str | None = None
) -> LiveDraw:
    """Fix the draft's slots and commit to a seed (the host's, or 256 random bits): the
    draw's log opens with the commitment entry, and the witnesses are asked to cosign it
    (``_witness``); drawing waits for their quorum."""
    check_commit(d.state)
    seed = secrets.token_hex(32) if seed is None else check_seed(seed)
    at = now_ms()
    committed = commitment(d.id, seed)
    first = commit_entry(d.id, at, d.spec, committed)
    log_id = secrets.token_hex(8)
    origin = log_origin(svc.settings.ledger_name, log_id)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.ledger_logs.insert().values(
                id=log_id,
                question_id=d.id,  # a draw's log: its draw's id
                origin=origin,
                size=1,
                receipts=False,
                created_ms=at,
            )
        )
        await _insert_entry(conn, log_id, 0, "commit", first)
        await conn.execute(
            db.draws.insert().values(
                id=d.id,
                room_id=d.room_id,
                log_id=log_id,
                title=d.spec.title,
                slots=[s.as_dict() for s in d.spec.slots],
                commitment=committed,
                committed_ms=at,
            )
        )
        fields = {"seed": seed, "commitment": committed, "log": log_id, "committed_ms": str(at)}
        pairs = [x for item in fields.items() for x in item]
        if not await _script(svc, d, "commit", *pairs):
            fresh = await load_draw(svc, d.id)
            if fresh is not None:
                check_commit(fresh.state)
            raise _changed_meanwhile()
    await _witness(svc, ledger, d.id)
    return await _changed(svc, d.id)


async def _witness(svc: Services, ledger: Ledger, draw_id: str) -> None:
    """Once the witnesses' quorum has cosigned the checkpoint of the commitment entry alone,
    write that checkpoint as the log's second entry and give the draw its beacon, the root
    of those two entries; until then, record who cosigned (``witnesses``) and draw nothing.

    Without a witness policy the checkpoint carries the log's signature only, and is
    written at once."""
    d = await load_draw(svc, draw_id)
    if d is None or d.state is not DrawState.COMMITTED or d.beacon:
        return
    logged = await draw_log(svc, draw_id)
    assert logged is not None  # committed: its log is written
    entries = logged[1]
    if len(entries) < BEACON_SIZE:
        size, witnessing = await _sign(ledger, d.log_id, cosign=True)
        if size == 1:
            if witnessing is not None and not witnessing.quorum_met:
                cosigned = ", ".join(witnessing.cosigned) or "none"
                said = f"cosigned by: {cosigned}; quorum: {witnessing.quorum}"
                log.warning(
                    "draw %s: the witnesses have not cosigned its commitment (%s); "
                    "no draw until they do",
                    draw_id,
                    said,
                )
                if said != d.witnesses and await _script(svc, d, "witness", "witnesses", said):
                    await _changed(svc, draw_id)
                return
            stored = await ledger.stored_checkpoint(d.log_id, 1)
            assert stored is not None  # just signed
            try:
                async with svc.engine.begin() as conn:
                    entry = witness_entry(d.id, stored[1])
                    await _insert_entry(conn, d.log_id, 1, "witnessed", entry)
            except IntegrityError:
                pass  # another host's press wrote it first: the same checkpoint, or newer
        logged = await draw_log(svc, draw_id)
        assert logged is not None
        entries = logged[1]
    fields = {"beacon": beacon(entries).hex(), "witnessed_ms": str(now_ms()), "witnesses": ""}
    if await _script(svc, d, "witness", *[x for item in fields.items() for x in item]):
        # The beacon's tree, signed and cosigned in its turn.
        await _sign(ledger, d.log_id, cosign=True)


async def draw_next(svc: Services, ledger: Ledger, draw_id: str) -> LiveDraw:
    """Draw the next slot of a committed draw; safe to call from several hosts at once.

    Refused until the witnesses have cosigned the commitment (asked again here). The slot
    follows from the seed, the beacon and the slots drawn before (``rooms.draws.pick``);
    the entry and the script's check both hold only if no other draw landed since the
    state was read, else it is read again and drawn anew."""
    for _ in range(_TRIES):
        d = await load_draw(svc, draw_id)
        if d is None:
            raise not_found(N_("draw {id}"), draw_id)
        if d.state is DrawState.COMMITTED and not d.beacon:
            await _witness(svc, ledger, draw_id)
            d = await load_draw(svc, draw_id)
            assert d is not None
        check_pick(d.state, len(d.picks), len(d.spec.slots), bool(d.beacon))
        n = len(d.picks)
        beacon_ = bytes.fromhex(d.beacon)
        slot = pick(d.seed, beacon_, n, [s for s, _ in d.picks], len(d.spec.slots))
        at = now_ms()
        try:
            async with svc.engine.begin() as conn:
                await _insert_entry(
                    conn,
                    d.log_id,
                    BEACON_SIZE + n,
                    f"draw:{n}",
                    pick_entry(d.id, n, slot, at, beacon_),
                )
                if not await _script(svc, d, "pick", str(slot), str(at)):
                    raise _Lost()
        except (IntegrityError, _Lost):
            continue  # another host's draw came first: read again
        await _sign(ledger, d.log_id, cosign=False)
        return await _changed(svc, draw_id)
    raise _changed_meanwhile()


async def reveal_draw(svc: Services, ledger: Ledger, d: LiveDraw) -> LiveDraw:
    """End the draw: the reveal entry gives the seed, and the final checkpoint is cosigned."""
    check_reveal(d.state, len(d.picks))
    at = now_ms()
    index = BEACON_SIZE + len(d.picks)
    try:
        async with svc.engine.begin() as conn:
            await _insert_entry(conn, d.log_id, index, "reveal", reveal_entry(d.id, d.seed, at))
            await conn.execute(
                db.draws.update().where(db.draws.c.id == d.id).values(seed=d.seed, revealed_ms=at)
            )
            if not await _script(svc, d, "reveal", str(at)):
                raise _Lost()
    except (IntegrityError, _Lost):
        fresh = await load_draw(svc, d.id)
        if fresh is not None:
            check_reveal(fresh.state, len(fresh.picks))
        raise _changed_meanwhile() from None
    await _sign(ledger, d.log_id, cosign=True)
    return await _changed(svc, d.id)


class _Lost(Exception):
    """Another change of the draw came first (the script's check failed)."""


async def _script(svc: Services, d: LiveDraw, change: str, *args: str) -> bool:
    k = svc.keys
    version = await svc.scripts.draw(
        keys=[k.draw(d.id), k.draw_picks(d.id)], args=[change, str(d.version), *args]
    )
    return bool(int(version))


async def _insert_entry(
    conn: AsyncConnection, log_id: str, index: int, stream_id: str, entry: bytes
) -> None:
    await conn.execute(
        db.ledger_entries.insert().values(
            log_id=log_id,
            idx=index,
            stream_id=stream_id,
            entry=entry,
            leaf_hash=leaf_hash(entry).hex(),
        )
    )
    await conn.execute(
        db.ledger_logs.update().where(db.ledger_logs.c.id == log_id).values(size=index + 1)
    )


async def _sign(ledger: Ledger, log_id: str, *, cosign: bool) -> tuple[int, Witnessing | None]:
    """Sign a checkpoint of the log as it is now; with ``cosign`` (and a witness policy),
    have the witnesses cosign it. Returns its size and how the witnesses answered."""
    info: LogInfo | None = await ledger.log_info(log_id)
    if info is None:  # pragma: no cover - written in the same call
        return 0, None
    size = await ledger.checkpoint(info)
    if not (cosign and size and ledger.policy() is not None):
        return size, None
    # A ledger of its own for the witnesses' requests: its HTTP client is closed here,
    # where the node's reader (``ledger_of``) is never closed.
    asking = Ledger(ledger.svc, witness_timeout=ledger.witness_timeout)
    try:
        witnessing = await asking.cosign(info, size)
    finally:
        await asking.aclose()
    if not witnessing.quorum_met:
        log.warning(
            "draw log %s: %d entries cosigned by %s only",
            info.origin,
            size,
            ", ".join(witnessing.cosigned) or "no witness",
        )
    return size, witnessing


async def draw_log(svc: Services, draw_id: str) -> tuple[str, list[bytes]] | None:
    """A committed draw's log id and its entries, from the archive; None if it has none."""
    async with svc.engine.connect() as conn:
        log_id = await conn.scalar(sa.select(db.draws.c.log_id).where(db.draws.c.id == draw_id))
        if log_id is None:
            return None
        entries = db.ledger_entries
        rows = (
            await conn.execute(
                sa.select(entries.c.entry).where(entries.c.log_id == log_id).order_by(entries.c.idx)
            )
        ).scalars()
        return str(log_id), [bytes(e) for e in rows]
