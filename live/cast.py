"""The cast path: a parsed vote, decided by ``rooms``, applied by one Lua script.

Scripts are sent in batches: one pipeline is in flight at a time, and the ballots that
arrive meanwhile form the next one. Each ballot is still its own script call, decided
atomically, and each voter still gets their own ack; the batch only saves round trips
and the client library's per-command work (which dominated a profile of a 2,000-ballot
burst).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from typing import Any

from hiredis import pack_command
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import NoScriptError, ResponseError

from live.clock import now_ms
from live.nonces import new_nonce
from live.services import Services
from rooms.ballots import Ballot
from rooms.errors import N_, ErrorCode, VotingError
from rooms.identity import voter_ref

log = logging.getLogger("mvoting.cast")

MAX_BATCH = 256

_NETWORK = b"mvoting-network/v1\n"

#: A batch that takes longer fails for every ballot in it (each voter hears "unavailable"
#: and may send again: a ballot that did count is then "already voted", never twice),
#: and for the ballots queued behind it: a server silent this long (stopped, or its host
#: gone) would keep them waiting as long again each. Below the pages' 10 s wait for an
#: ack, so that they hear "unavailable" and retry rather than give up on the ack.
BATCH_TIMEOUT = 5.0
#: A ballot refused because monitors hid the question's poll after its page joined.
HIDDEN_POLL = N_("The monitors hid this poll: it takes no more ballots.")

_Call = tuple[list[str], list[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    """Runs one of the Lua scripts (``Services.scripts``, by name) for many callers per
    round trip: those that ask while a batch is on its way go in the next, one pipeline
    and one timer each, on the client untimed per reply (``Services.cast_redis``)."""

    def __init__(self, svc: Services, script: str) -> None:
        self.svc = svc
        self.script = script
        self._waiting: list[_Call] = []
        self._running = False

    async def run_script(self, keys: list[str], args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, args, future))
        if not self._running:
            self._running = True
            asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                await self._send(batch)
        finally:
            self._running = False

    async def _send(self, batch: list[_Call]) -> None:
        script = getattr(self.svc.scripts, self.script)
        try:
            replies = await self._pipeline(script.sha, batch)
            missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
            if missing:
                # Only these calls did not run (a server lost its script cache, e.g. after
                # a restart or a cluster failover): load the script, send just them again.
                # Resending the others would tell their voters "already voted".
                await self.svc.redis.script_load(script.script)
                again = await self._pipeline(script.sha, [batch[i] for i in missing])
                for i, reply in zip(missing, again, strict=True):
                    replies[i] = reply
        except Exception as exc:  # every caller hears of it, none hangs
            if isinstance(exc, TimeoutError):
                batch = batch + self._waiting
                self._waiting = []
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # the caller went away
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _pipeline(self, sha: str, batch: list[_Call]) -> list[Any]:
        client = self.svc.cast_redis
        async with asyncio.timeout(BATCH_TIMEOUT):  # one timer per batch, not per reply
            if isinstance(client, Redis):
                return await _written_by_hand(client.connection_pool, sha, batch)
            pipe = client.pipeline(transaction=False)  # a cluster's: routed by key
            for keys, args, _ in batch:
                pipe.evalsha(sha, len(keys), *keys, *args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
            return replies


async def _written_by_hand(pool: ConnectionPool, sha: str, batch: list[_Call]) -> list[Any]:
    """The batch's script calls as one write on one connection, and their replies, an
    error reply as its exception (``NoScriptError`` among them).

    What redis-py's pipeline does, less its work per command (a command stack, an
    encoder call per argument, a reply callback lookup): with hiredis packing each call
    in C, the client's CPU per cast fell from ~20 µs to ~4.5 µs (docs/performance.md).
    A connection left with replies unread (a timeout, a lost server) is dropped, never
    handed back to the pool with them.
    """
    packed = b"".join(
        [pack_command(("EVALSHA", sha, len(keys), *keys, *args)) for keys, args, _ in batch]
    )
    conn = await pool.get_connection()  # type: ignore[no-untyped-call]  # redis-py
    try:
        await conn.send_packed_command(packed, check_health=False)
        replies: list[Any] = []
        for _ in batch:
            try:
                replies.append(await conn.read_response())
            except ResponseError as err:
                replies.append(err)
        return replies
    except BaseException:
        await conn.disconnect(nowait=True)
        raise
    finally:
        await pool.release(conn)


class CastBatcher(ScriptBatcher):
    """Runs the cast script for many ballots per round trip."""

    def __init__(self, svc: Services) -> None:
        super().__init__(svc, "cast")


def network_ref(secret: bytes, address: str) -> str:
    """The name a client network's ballots are counted under: keyed, so the live state
    holds no client addresses."""
    digest = hmac.new(secret, _NETWORK + address.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


async def do_cast(
    batcher: CastBatcher,
    question_id: str,
    identity: str,
    choices: tuple[int, ...] | tuple[str, ...],
    nonce: str | None,
    *,
    network: str | None = None,
    facts: str = "",
) -> str:
    """Record one ballot atomically and return its receipt, or raise the refusal.

    ``choices`` were checked against the question by ``rooms.questions.check_choices``
    (for open text: the normalised answers of ``check_answers``);
    the script checks them again with the question's live state (open, not yet voted),
    so a stale node cache cannot let a bad ballot through.

    ``network`` (``network_ref`` of the client's address) counts the ballot against
    ``MVOTING_BALLOTS_PER_ADDRESS`` in the same script. In an anonymous room a device
    token proves only that a client asked for it before; anyone can hold as many as they
    like. So every ballot counts, whether its device token was presented or just issued:
    exempting presented tokens would only make a script collect them first. ``None``
    (ballots not from a client connection) is not counted.

    ``facts`` is what the node knows of the voter (``rooms.eligibility.Facts.as_arg``,
    as JSON), decided by the script against the question's target, if it has one.
    """
    svc = batcher.svc
    k = svc.keys
    limit = svc.settings.ballots_per_address if network is not None else 0
    ballot = Ballot(
        question=question_id,
        choices=choices,
        time_ms=now_ms(),
        voter=voter_ref(svc.secret, question_id, identity),
        nonce=nonce or new_nonce(),
    )
    receipt = ballot.receipt()
    ok, value = await batcher.run_script(
        k.cast(question_id),
        [
            ballot.voter,
            ",".join(map(str, choices)),
            ballot.time_ms,
            ballot.nonce,
            receipt,
            network or "",
            limit,
            facts,
        ],
    )
    if not ok:
        code = ErrorCode(value)
        if code is ErrorCode.POLL_HIDDEN:  # the script knows no reason; the join tells it
            raise VotingError(code, sentence=HIDDEN_POLL, question=question_id)
        raise VotingError(code, question=question_id)
    return receipt
