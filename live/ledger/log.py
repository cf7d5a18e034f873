"""The integrity ledger: each poll's transparency log, kept by the archive worker.

The worker appends a question's stream entries (its opening, its ballots, its closing,
``live/lua/transition.lua``) to the poll's log in the transaction that archives them
(``append``), signs a checkpoint at least every ``checkpoint_interval`` while ballots
arrive and has the witnesses cosign it in the background (``after_append``), and judges
the log once the closed question is drained (``verify``): the quorum must cosign the final
checkpoint, and ``rooms.ledger.judge`` must find the log, the archive and the live tally in
agreement. The verdict goes to the archive, to the question's live state and to every page.

Keys: a log's key is derived from the deployment secret and its origin
(``rooms.ledger.derive_signer``); the operator key that registers new logs at the
witnesses (``rooms.tlog.registration``) from the ledger's name. The witnesses and the quorum
come from the tlog-policy file (``Settings.policy_path``), re-read when it changes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from live.clock import now_ms
from live.engines import db
from live.ledger.witness_client import WitnessConflict, WitnessError, add_checkpoint, register_log
from live.metrics import CHECKPOINT_FAILURES, CHECKPOINT_SECONDS, COSIGN_SECONDS, COSIGNATURES
from live.services import Services
from live.store import load_question, publish_question
from rooms.ballots import Ballot
from rooms.ledger import (
    Verdict,
    Verification,
    Witnessing,
    derive_signer,
    judge,
)
from rooms.log_export import LogExport
from rooms.promise import ReceiptPromise
from rooms.tlog.checkpoint import Checkpoint, open_checkpoint
from rooms.tlog.errors import LedgerError, NoteError
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer, Ed25519Verifier, Signature
from rooms.tlog.policy import Policy, PolicyLog, PolicyWitness
from rooms.tlog.proof import TlogProof
from rooms.tlog.registration import registration_note

log = logging.getLogger("mvoting.ledger")

#: How each signature line of a note starts ("\n— ").
_SIGNATURE_LINE = "\n\u2014 ".encode()

#: Seconds a witness has to answer one request.
WITNESS_TIMEOUT = 5.0
#: Seconds between two tries at a poll whose verdict is pending (it doubles up to the cap).
RETRY_FIRST, RETRY_CAP = 1.0, 30.0
#: A receipt is proved against one of the newest RECEIPT_PAGES * RECEIPT_PAGE checkpoints
#: that hold its entry: past those, the witnesses have failed the quorum for that long and
#: the receipt waits for the final checkpoint, which the close has cosigned again.
RECEIPT_PAGE, RECEIPT_PAGES = 64, 4
#: Checkpoint notes whose check against the policy is remembered (a note is a few hundred
#: bytes; the memory holds a 32-byte digest and a flag each).
QUORUM_MEMORY = 16_384


@dataclass(frozen=True, slots=True)
class Item:
    """One stream entry as the ledger appends it: its kind, its entry, its archive row."""

    stream_id: str
    kind: str  #: "open", "ballot" or "close"
    entry: bytes
    ballot: dict[str, Any] | None = None  #: the ``ballots`` row, for a ballot
    leaf_hex: str = ""  #: the entry's leaf hash when known (a ballot's receipt)


@dataclass(frozen=True, slots=True)
class LogInfo:
    id: str
    question_id: str
    origin: str
    size: int
    receipts: bool


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """An entry as its log holds it: the log, its index there, the entry's bytes."""

    info: LogInfo
    index: int
    entry: bytes


class Ledger:
    """The ledger as one process sees it: keys, policy, trees it keeps, witness clients."""

    def __init__(self, svc: Services, *, witness_timeout: float = WITNESS_TIMEOUT) -> None:
        self.svc = svc
        self.witness_timeout = witness_timeout
        self.operator = derive_signer(svc.secret, svc.settings.ledger_name)
        self._signers: dict[str, Ed25519Signer] = {}
        self._trees: dict[str, MerkleLog] = {}
        #: One reader at a time extends a log's tree: the worker's pass, the cosigning and
        #: the judging (each a task of its own) would otherwise append the same leaves.
        self._tree_locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )
        self._policy: Policy | None = None
        self._policy_seen: tuple[int, int] | None = None
        self._signed_at: dict[str, float] = {}
        self._unsigned: set[str] = set()  # logs appended to since their last checkpoint
        #: log -> the log as of our last append to it: its checkpoints need no read of it
        self._appended: dict[str, LogInfo] = {}
        #: log -> witness -> the size it last cosigned, read from the archive once a log
        self._witnessed_sizes: dict[str, dict[str, int]] = {}
        self._cosigning: dict[str, asyncio.Task[Witnessing]] = {}
        #: log -> (next try, pause, the pending verdict) for a poll not yet decided
        self._retry: dict[str, tuple[float, float, Verdict]] = {}
        self._client: httpx.AsyncClient | None = None
        #: sha256(sha256(policy), note) -> whether the note meets the policy (``_quorate``)
        self._quorum_seen: dict[bytes, bool] = {}
        #: logs judged for good (not pending): what is kept of them goes once they are idle
        self._judged: set[str] = set()

    async def aclose(self) -> None:
        # A copy: each task's done callback removes it from the dict as it ends.
        tasks = list(self._cosigning.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self._client is not None:
            await self._client.aclose()

    # --- keys and policy ------------------------------------------------------------------

    def signer(self, origin: str) -> Ed25519Signer:
        if origin not in self._signers:
            self._signers[origin] = derive_signer(self.svc.secret, origin)
        return self._signers[origin]

    def policy(self) -> Policy | None:
        """The witness policy, re-read when its file changes; None if there is none."""
        path = self.svc.settings.policy_path
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._policy, self._policy_seen = None, None
            return None
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._policy_seen:
            try:
                self._policy = Policy.parse(path.read_bytes())
            except LedgerError as error:
                log.error("the witness policy %s does not parse: %s", path, error)
                self._policy = None
            self._policy_seen = seen
        return self._policy

    def log_policy(self, info: LogInfo) -> Policy | None:
        """The policy a voter checks this log's receipts with: its key, witnesses, quorum."""
        policy = self.policy()
        if policy is None:
            return None
        key = PolicyLog(self.signer(info.origin).verifier())
        return Policy((key,), policy.witnesses, policy.groups, policy.quorum)

    async def log_of_question(self, qid: str) -> LogInfo | None:
        log_id = await self._question_log(qid)
        return None if log_id is None else await self.log_info(log_id)

    # --- appending ------------------------------------------------------------------------

    async def append(self, conn: AsyncConnection, qid: str, items: Sequence[Item]) -> str | None:
        """Append ``items`` (in stream order) to the question's log, in the caller's transaction.

        Archives the ballots with their log index. Entries already appended (a batch read
        again after a crash between commit and ack) are skipped, by stream id. Returns the
        log's id, or None if the question has no log (opened before the ledger existed:
        its ballots are archived without one).
        """
        log_id = await conn.scalar(sa.select(db.questions.c.log_id).where(db.questions.c.id == qid))
        ballots = [item.ballot for item in items if item.ballot is not None]
        if log_id is None:
            if ballots:
                await conn.execute(db.insert_ignoring_duplicates(conn, db.ballots), ballots)
            return None
        logs = db.ledger_logs
        # A write first: it takes SQLite's write lock, or the log's row lock on PostgreSQL.
        await conn.execute(logs.update().where(logs.c.id == log_id).values(size=logs.c.size))
        size, origin, receipts = (
            await conn.execute(
                sa.select(logs.c.size, logs.c.origin, logs.c.receipts).where(logs.c.id == log_id)
            )
        ).one()
        entries = db.ledger_entries
        seen = set(
            (
                await conn.execute(
                    sa.select(entries.c.stream_id).where(
                        entries.c.log_id == log_id,
                        entries.c.stream_id.in_([item.stream_id for item in items]),
                    )
                )
            ).scalars()
        )
        rows: list[dict[str, Any]] = []
        archived: list[dict[str, Any]] = []
        for item in items:
            if item.stream_id in seen:
                continue
            index = size + len(rows)
            rows.append(
                {
                    "log_id": log_id,
                    "idx": index,
                    "stream_id": item.stream_id,
                    "entry": item.entry,
                    "leaf_hash": item.leaf_hex or leaf_hash(item.entry).hex(),
                }
            )
            if item.ballot is not None:
                archived.append({**item.ballot, "leaf_index": index})
            if item.kind == "open":  # reopened: the earlier verdict no longer holds
                await conn.execute(
                    logs.update()
                    .where(logs.c.id == log_id)
                    .values(verification=None, problem=None, problem_fields=None)
                )
        if archived:
            await conn.execute(db.insert_ignoring_duplicates(conn, db.ballots), archived)
        if rows:
            await conn.execute(entries.insert(), rows)
            await conn.execute(
                logs.update().where(logs.c.id == log_id).values(size=size + len(rows))
            )
        log_id = str(log_id)
        self._judged.discard(log_id)  # reopened, or still being appended to
        self._appended[log_id] = LogInfo(log_id, qid, origin, int(size) + len(rows), receipts)
        return log_id

    async def after_append(self, log_id: str) -> None:
        """Sign a checkpoint if the last is older than the interval; cosign it meanwhile."""
        self._unsigned.add(log_id)
        await self._maybe_checkpoint(log_id)

    async def flush(self) -> None:
        """Sign the logs that grew since their last checkpoint, once the interval passed:
        the last ballots of a burst get a checkpoint (and their receipts) without waiting
        for more ballots or the close. The worker calls it after every pass."""
        for log_id in sorted(self._unsigned):
            await self._maybe_checkpoint(log_id)

    async def _maybe_checkpoint(self, log_id: str) -> None:
        last = self._signed_at.get(log_id, 0.0)
        if time.monotonic() - last < self.svc.settings.checkpoint_interval:
            return
        self._unsigned.discard(log_id)
        try:
            info = self._appended.get(log_id) or await self.log_info(log_id)
            if info is None:
                return
            size = await self.checkpoint(info)
        except Exception:
            # Still unsigned (the archive went away after the append's commit): the next
            # pass's ``flush`` signs it, though no ballot arrives to append again.
            self._unsigned.add(log_id)
            raise
        if size and log_id in self._cosigning:
            # The witnesses are still on an earlier one: ask again at a later pass, else
            # the last checkpoint of a burst stays without cosignatures until the close.
            self._unsigned.add(log_id)
        elif size and self.policy() is not None:
            task = asyncio.create_task(self.cosign(info, size))
            self._cosigning[log_id] = task
            task.add_done_callback(lambda done: self._cosigned(log_id, done))
        else:
            self._forget_if_idle(log_id)  # judged meanwhile, and nothing to cosign

    def _cosigned(self, log_id: str, task: asyncio.Task[Witnessing]) -> None:
        """A checkpoint's cosigning ended. If it failed (the archive went away, say), the
        next checkpoint is cosigned as ever: it is said, not left unretrieved."""
        self._cosigning.pop(log_id, None)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.warning("cosigning a checkpoint of log %s failed: %r", log_id, error)
        self._forget_if_idle(log_id)

    def kept(self) -> set[str]:
        """The logs whose tree or witnesses' sizes this ledger keeps in memory."""
        return set(self._trees) | set(self._witnessed_sizes)

    def _forget_if_idle(self, log_id: str) -> None:
        """Let go of a judged log's tree, witnesses' sizes and signing state once nothing
        is under way for it (a cosigning, a checkpoint due, a reader of its tree): a
        worker that ran for weeks would otherwise keep every log it ever wrote (a tree
        holds 64 bytes per entry). All of it is read again from the archive if the log
        is used again (its question reopened, a receipt asked for)."""
        if (
            log_id not in self._judged
            or log_id in self._cosigning
            or log_id in self._unsigned
            or (log_id in self._tree_locks and self._tree_locks[log_id].locked())
        ):
            return
        self._judged.discard(log_id)
        for kept in (
            self._trees,
            self._tree_locks,
            self._signed_at,
            self._appended,
            self._witnessed_sizes,
            self._retry,
        ):
            kept.pop(log_id, None)

    # --- trees and checkpoints ------------------------------------------------------------

    async def log_info(self, log_id: str) -> LogInfo | None:
        logs = db.ledger_logs
        async with self.svc.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        logs.c.id, logs.c.question_id, logs.c.origin, logs.c.size, logs.c.receipts
                    ).where(logs.c.id == log_id)
                )
            ).first()
        return None if row is None else LogInfo(*row)

    async def definition(self, log_id: str) -> dict[str, Any] | None:
        """The question's definition as the log's opening entry holds it (the one its
        ballots were cast on: a question reset and edited since has another)."""
        entries = db.ledger_entries
        async with self.svc.engine.connect() as conn:
            raw = await conn.scalar(
                sa.select(entries.c.entry).where(entries.c.log_id == log_id, entries.c.idx == 0)
            )
        opening = None if raw is None else orjson.loads(bytes(raw))
        if not isinstance(opening, dict) or opening.get("e") != "open":
            return None
        definition = opening.get("d")
        return definition if isinstance(definition, dict) else None

    async def tree(self, log_id: str) -> MerkleLog:
        """The log's Merkle tree, extended with the entries appended since the last call."""
        tree = self._trees.setdefault(log_id, MerkleLog())
        entries = db.ledger_entries
        async with self._tree_locks[log_id], self.svc.engine.connect() as conn:
            hashes = (
                await conn.execute(
                    sa.select(entries.c.leaf_hash)
                    .where(entries.c.log_id == log_id, entries.c.idx >= tree.size)
                    .order_by(entries.c.idx)
                )
            ).scalars()
            for value in hashes:
                tree.append(bytes.fromhex(value))
        return tree

    async def checkpoint(self, info: LogInfo) -> int:
        """Sign and store a checkpoint of the log as it is now; return its size."""
        started = time.monotonic()
        try:
            size = await self._checkpoint(info)
        except Exception:
            CHECKPOINT_FAILURES.inc()
            raise
        CHECKPOINT_SECONDS.observe(time.monotonic() - started)
        return size

    async def _checkpoint(self, info: LogInfo) -> int:
        tree = await self.tree(info.id)
        self._signed_at[info.id] = time.monotonic()
        if tree.size == 0:
            return 0
        root = tree.root()
        note = Checkpoint(info.origin, tree.size, root).sign(self.signer(info.origin))
        async with self.svc.engine.begin() as conn:
            await conn.execute(
                db.insert_ignoring_duplicates(conn, db.ledger_checkpoints),
                [
                    {
                        "log_id": info.id,
                        "size": tree.size,
                        "root": root.hex(),
                        "note": note,
                        "created_ms": now_ms(),
                    }
                ],
            )
        return tree.size

    async def stored_checkpoint(
        self, log_id: str, size: int | None = None
    ) -> tuple[int, bytes] | None:
        """The latest stored checkpoint (or the one of ``size``): its size and its note."""
        cps = db.ledger_checkpoints
        query = sa.select(cps.c.size, cps.c.note).where(cps.c.log_id == log_id)
        query = query.where(cps.c.size == size) if size is not None else query
        async with self.svc.engine.connect() as conn:
            row = (await conn.execute(query.order_by(cps.c.size.desc()).limit(1))).first()
        return None if row is None else (int(row[0]), bytes(row[1]))

    # --- witnesses ------------------------------------------------------------------------

    async def cosign(self, info: LogInfo, size: int) -> Witnessing:
        """Ask every witness of the policy to cosign the checkpoint of ``size``.

        The cosignatures that verify are stored with the checkpoint. A witness that
        answers it saw another view of the log (422, or a size larger than ours) refused;
        one that does not answer, or does not know the log even after we registered it,
        is missing.
        """
        policy = self.policy()
        if policy is None:
            return Witnessing(False, (), (), {}, configured=False)
        stored = await self.stored_checkpoint(info.id, size)
        if stored is None:
            raise LookupError(f"no checkpoint of size {size} for log {info.id}")
        note = stored[1]
        witnessed = await self._witnessed(info.id)
        before = dict(witnessed)
        # The consistency proofs need the tree up to ``size`` only: the checkpoint just
        # signed read it that far, so no read of what was appended since.
        tree = self._trees.get(info.id)
        if tree is None or tree.size < size:
            tree = await self.tree(info.id)
        asked = [w for w in policy.witnesses if w.url]
        answers = await asyncio.gather(
            *(self._ask(w, info, tree, size, note, witnessed) for w in asked)
        )
        await self._record_witnessed(
            info.id, {w: n for w, n in witnessed.items() if before.get(w) != n}
        )
        lines = b"".join(a for a in answers if isinstance(a, bytes))
        refused = {
            w.name: a[1]
            for w, a in zip(asked, answers, strict=True)
            if isinstance(a, tuple) and a[0]
        }
        cosigned_note = _with_signatures(note, lines)
        # Our own note, with the lines that verify (``_ask``): a line of a known key that
        # does not would make the whole note fail to open.
        signed = open_checkpoint(
            cosigned_note,
            [self.signer(info.origin).verifier()],
            [w.verifier for w in policy.witnesses],
        )
        names = policy.cosigners(signed)
        if names:
            await self._store_note(info.id, size, cosigned_note)
        missing = tuple(
            w.name for w in policy.witnesses if w.name not in names and w.name not in refused
        )
        return Witnessing(
            policy.witnessed(names), tuple(sorted(names)), missing, refused, _quorum_text(policy)
        )

    async def _ask(
        self,
        witness: PolicyWitness,
        info: LogInfo,
        tree: MerkleLog,
        size: int,
        note: bytes,
        witnessed: dict[str, int],
    ) -> bytes | tuple[bool, str]:
        """The witness's signature lines, once they verify, or (refused?, why); timed and
        counted by witness (``live.metrics``). Lines that do not verify (a faulty or lying
        witness) are not counted: the witness is missing."""
        started = time.monotonic()
        answer = await self._exchange(witness, info, tree, size, note, witnessed)
        COSIGN_SECONDS.labels(witness=witness.name).observe(time.monotonic() - started)
        outcome = "cosigned" if isinstance(answer, bytes) else "refused" if answer[0] else "missing"
        log_key = self.signer(info.origin).verifier()
        if isinstance(answer, bytes) and not _cosigns(note, answer, log_key, witness):
            answer, outcome = (False, "its cosignature does not verify"), "invalid"
        COSIGNATURES.labels(witness=witness.name, outcome=outcome).inc()
        return answer

    async def _exchange(
        self,
        witness: PolicyWitness,
        info: LogInfo,
        tree: MerkleLog,
        size: int,
        note: bytes,
        witnessed: dict[str, int],
    ) -> bytes | tuple[bool, str]:
        """One witness asked to cosign ``size``, told the size it last cosigned (from
        ``witnessed``, the round's map of them, updated here as it answers)."""
        assert witness.url is not None
        client = self._http()
        old = witnessed.get(witness.name, 0)
        registered = False
        for _ in range(4):
            if old > size:
                return True, f"it cosigned {old} entries of this log, more than the {size} it has"
            proof = tree.consistency_proof(old, size) if 0 < old < size else []
            try:
                lines = await add_checkpoint(
                    witness.url, old, proof, note, self.witness_timeout, client=client
                )
            except WitnessConflict as conflict:
                old = conflict.latest
                continue
            except WitnessError as error:
                if error.status == 404 and not registered:
                    registered = True
                    if await self._register(witness, info):
                        continue
                if error.status in (400, 403, 422):
                    return True, str(error)
                return False, str(error)
            # It holds this size as its latest now, whether its lines verify or not.
            witnessed[witness.name] = max(witnessed.get(witness.name, 0), size)
            return lines
        return False, f"witness {witness.name} kept changing its latest size"

    async def _register(self, witness: PolicyWitness, info: LogInfo) -> bool:
        assert witness.url is not None
        vkey = self.signer(info.origin).verifier().vkey()
        try:
            await register_log(
                witness.url,
                registration_note(self.operator, vkey),
                self.witness_timeout,
                client=self._http(),
            )
        except WitnessError as error:
            log.warning("witness %s did not take log %s: %s", witness.name, info.origin, error)
            return False
        return True

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient()
        return self._client

    async def _witnessed(self, log_id: str) -> dict[str, int]:
        """The size each witness last cosigned of the log (a later one is told the
        consistency from it): read from the archive once, then kept here as they answer."""
        known = self._witnessed_sizes.get(log_id)
        if known is None:
            table = db.ledger_witnessed
            async with self.svc.engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(table.c.witness, table.c.size).where(table.c.log_id == log_id)
                )
                read = {name: int(size) for name, size in rows}
            known = self._witnessed_sizes.setdefault(log_id, read)
        return known

    async def _record_witnessed(self, log_id: str, sizes: dict[str, int]) -> None:
        """Record the witnesses' new sizes, for a process that starts again: one statement
        for a round of cosigning, which keeps a larger size already recorded."""
        if not sizes:
            return
        rows = [{"log_id": log_id, "witness": w, "size": n} for w, n in sorted(sizes.items())]
        async with self.svc.engine.begin() as conn:
            await conn.execute(db.upsert_keeping_max(conn, db.ledger_witnessed, "size"), rows)

    async def _store_note(self, log_id: str, size: int, cosigned_note: bytes) -> None:
        cps = db.ledger_checkpoints
        async with self.svc.engine.begin() as conn:
            await conn.execute(
                cps.update()
                .where(cps.c.log_id == log_id, cps.c.size == size)
                .values(note=cosigned_note)
            )

    # --- the verdict ----------------------------------------------------------------------

    async def verify(self, qid: str, counts: Sequence[Any], total: int) -> Verdict | None:
        """Judge a closed, drained question's log; None if it has none.

        A pending verdict is tried again at a later call, after a growing pause; calls
        before then return it unchanged.
        """
        log_id = await self._question_log(qid)
        if log_id is None:
            return None
        pause = RETRY_FIRST
        if log_id in self._retry:
            next_try, pause, last = self._retry[log_id]
            if time.monotonic() < next_try:
                return last
        info = await self.log_info(log_id)
        if info is None:
            return None
        size = await self.checkpoint(info)
        witnessing = await self.cosign(info, size)
        entries, archive, signed_roots = await self._evidence(info)
        verdict = judge(
            entries,
            signed_roots=signed_roots,
            archive=archive,
            tally_counts=counts,
            tally_total=total,
            witnessing=witnessing,
        )
        if verdict.status is Verification.PENDING:
            self._retry[log_id] = (time.monotonic() + pause, min(pause * 2, RETRY_CAP), verdict)
        else:
            self._retry.pop(log_id, None)
            self._judged.add(log_id)
            self._forget_if_idle(log_id)
        await self._record_verdict(info, verdict)
        return verdict

    async def _question_log(self, qid: str) -> str | None:
        async with self.svc.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(db.questions.c.log_id).where(db.questions.c.id == qid)
            )
        return None if value is None else str(value)

    async def _evidence(
        self, info: LogInfo
    ) -> tuple[list[bytes], dict[int, bytes], dict[int, bytes]]:
        """The log's entries, the archive as log entries by index, the roots it signed."""
        entries_t, ballots, cps = db.ledger_entries, db.ballots, db.ledger_checkpoints
        async with self.svc.engine.connect() as conn:
            entries = [
                bytes(e)
                for e in (
                    await conn.execute(
                        sa.select(entries_t.c.entry)
                        .where(entries_t.c.log_id == info.id)
                        .order_by(entries_t.c.idx)
                    )
                ).scalars()
            ]
            rows = (
                await conn.execute(
                    sa.select(
                        ballots.c.leaf_index,
                        ballots.c.choices,
                        ballots.c.cast_ms,
                        ballots.c.voter_ref,
                        ballots.c.nonce,
                    ).where(ballots.c.question_id == info.question_id)
                )
            ).all()
            signed = (
                await conn.execute(sa.select(cps.c.size, cps.c.root).where(cps.c.log_id == info.id))
            ).all()
        archive: dict[int, bytes] = {}
        for number, (index, choices, cast_ms, voter, nonce) in enumerate(rows):
            leaf = Ballot(info.question_id, tuple(choices), int(cast_ms), voter, nonce).leaf()
            archive[index if index is not None else -1 - number] = leaf
        return entries, archive, {int(size): bytes.fromhex(root) for size, root in signed}

    async def _record_verdict(self, info: LogInfo, verdict: Verdict) -> None:
        logs = db.ledger_logs
        async with self.svc.engine.begin() as conn:
            await conn.execute(
                logs.update()
                .where(logs.c.id == info.id)
                .values(
                    verification=str(verdict.status),
                    problem=None if verdict.problem is None else str(verdict.problem),
                    problem_fields=dict(verdict.fields) or None,
                    verified_ms=now_ms(),
                )
            )
        public = verdict_dict(verdict)
        r, k = self.svc.redis, self.svc.keys
        await r.hset(k.question(info.question_id), "verification", orjson.dumps(public))
        # The question's pages learn of it as of any change to the question.
        question = await load_question(self.svc, info.question_id)
        if question is not None:
            await publish_question(self.svc, question)
        log.info(
            "log %s of question %s: verification %s %s",
            info.origin,
            info.question_id,
            verdict.status,
            verdict.reason,
        )

    # --- receipts -------------------------------------------------------------------------

    async def logged_entry(self, leaf_hex: str) -> LoggedEntry | None:
        """The entry whose leaf hash is ``leaf_hex``, with its log and index; None until the
        worker has written it."""
        entries = db.ledger_entries
        async with self.svc.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(entries.c.log_id, entries.c.idx, entries.c.entry).where(
                        entries.c.leaf_hash == leaf_hex
                    )
                )
            ).first()
        if row is None:
            return None
        info = await self.log_info(str(row[0]))
        return None if info is None else LoggedEntry(info, int(row[1]), bytes(row[2]))

    async def receipt(self, logged: LoggedEntry) -> bytes | None:
        """The entry's tlog-proof, against the newest checkpoint that holds it and that the
        policy's quorum cosigned (without a policy: the newest that holds it); None while
        there is none.

        A checkpoint just signed has no cosignatures yet, and one cosigned by too few
        witnesses does not verify against the policy: a receipt of either would be refused
        by the voter's check, so neither is served.
        """
        found = await self._receipt_checkpoint(logged)
        if found is None:
            return None
        size, note = found
        tree = await self.tree(logged.info.id)
        proof = tree.inclusion_proof(logged.index, size)
        return TlogProof(logged.index, tuple(proof), note, logged.entry).to_bytes()

    def promise(self, logged: LoggedEntry) -> bytes:
        """The log's signed promise of the entry (``rooms.promise``): no index, no size."""
        origin = logged.info.origin
        return ReceiptPromise(origin, logged.entry).sign(self.signer(origin))

    async def _receipt_checkpoint(self, logged: LoggedEntry) -> tuple[int, bytes] | None:
        policy = self.log_policy(logged.info)
        # A quorum of no one ("none", a group of threshold 0) is met by the log's signature.
        anyone = policy is None or policy.witnessed(())
        trusted = b"" if policy is None else hashlib.sha256(policy.to_bytes()).digest()
        cps = db.ledger_checkpoints
        below: int | None = None
        # Newest first, a page at a time: the first page nearly always holds the answer.
        for _ in range(RECEIPT_PAGES):
            query = sa.select(cps.c.size, cps.c.note).where(
                cps.c.log_id == logged.info.id, cps.c.size > logged.index
            )
            if below is not None:
                query = query.where(cps.c.size < below)
            async with self.svc.engine.connect() as conn:
                rows = (
                    await conn.execute(query.order_by(cps.c.size.desc()).limit(RECEIPT_PAGE))
                ).all()
            for size, raw in rows:
                note = bytes(raw)
                if anyone or (
                    policy is not None
                    and note.count(_SIGNATURE_LINE) > 1  # cosigned at all: checked below
                    and self._quorate(policy, trusted, note)
                ):
                    return int(size), note
            if len(rows) < RECEIPT_PAGE:
                return None
            below = int(rows[-1][0])
        return None

    def _quorate(self, policy: Policy, trusted: bytes, note: bytes) -> bool:
        """Whether ``note`` verifies against ``policy`` (the log's key, then the quorum),
        whose file's digest is ``trusted``.

        Remembered per note and policy, so that asking for receipts again and again costs
        no signature checks (~1 ms a note); forgotten all at once when full."""
        key = hashlib.sha256(trusted + note).digest()
        known = self._quorum_seen.get(key)
        if known is None:
            try:
                policy.open_checkpoint(note)
                known = True
            except LedgerError:
                known = False
            if len(self._quorum_seen) >= QUORUM_MEMORY:
                self._quorum_seen.clear()
            self._quorum_seen[key] = known
        return known


async def export_log(ledger: Ledger, info: LogInfo) -> LogExport | None:
    """The whole log with its latest checkpoint and policy (``mvoting recount`` reads it);
    None while it has no checkpoint."""
    stored = await ledger.stored_checkpoint(info.id)
    policy = ledger.log_policy(info)
    if stored is None:
        return None
    entries = db.ledger_entries
    async with ledger.svc.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(entries.c.entry)
                .where(entries.c.log_id == info.id, entries.c.idx < stored[0])
                .order_by(entries.c.idx)
            )
        ).scalars()
        return LogExport(
            info.origin,
            info.question_id,
            policy.to_bytes() if policy is not None else b"",
            stored[1],
            tuple(bytes(e) for e in rows),
        )


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "status": str(verdict.status),
        "problem": None if verdict.problem is None else str(verdict.problem),
        "fields": dict(verdict.fields),
        "reason": verdict.reason,
    }


def _quorum_text(policy: Policy) -> str:
    """The quorum as a reader says it: "3 of 4 (local-witnesses)" for a group."""
    for group in policy.groups:
        if group.name == policy.quorum:
            return f"{group.threshold} of {len(group.members)} ({group.name})"
    return policy.quorum


def _cosigns(note: bytes, lines: bytes, log_key: Ed25519Verifier, witness: PolicyWitness) -> bool:
    """Whether the signature lines ``witness`` sent verify on our note."""
    try:
        open_checkpoint(_with_signatures(note, lines), [log_key], [witness.verifier])
    except NoteError as error:
        log.warning("witness %s sent a cosignature that does not verify: %s", witness.name, error)
        return False
    return True


def _with_signatures(note: bytes, lines: bytes) -> bytes:
    """``note`` with the signature ``lines`` added; one line per key, the newest kept
    (a checkpoint cosigned again keeps one cosignature of each witness)."""
    text, _, block = note.partition(b"\n\n")
    by_key: dict[tuple[str, int], bytes] = {}
    for line in (block + lines).splitlines():
        signature = Signature.parse(line.decode())
        by_key[(signature.name, signature.key_id)] = line + b"\n"
    return text + b"\n\n" + b"".join(by_key.values())
