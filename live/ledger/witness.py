"""``mvoting witness``: a transparency log witness speaking C2SP tlog-witness over HTTP.

The witness cosigns a log's checkpoint only if it extends the latest one it cosigned for
that log, and records the new one durably before it replies, so it never cosigns two
views of one log (https://c2sp.org/tlog-witness; the checks are in ``rooms.tlog.witness``).

HTTP (the submission and the monitoring prefix are both the root)::

    POST /add-checkpoint                 "add-checkpoint": body ``old <size>\\n``, proof
                                         lines, ``\\n``, the signed checkpoint (64 KiB at
                                         most, else 413). 200: one cosignature/v1 line
                                         ``— <name> <base64>\\n``; 400, 403, 404, 409 (body
                                         ``<latest size>\\n``, ``text/x.tlog.size``), 422:
                                         a sentence and a newline, ``text/plain``;
                                         405 for another method
    GET /<sha256(origin), hex>/checkpoint
                                         "Monitor Retrieval Mechanism": the latest
                                         checkpoint cosigned, with the log's signatures
                                         that verified and ours; 404 if none
    POST /add-log                        a log operator registers a new log: body a
                                         registration note (``rooms.tlog.registration``,
                                         64 KiB at most, else 413). 200: ``added\n``, or
                                         ``known\n`` if the log was there already; 400,
                                         403: a sentence and a newline, ``text/plain``;
                                         405 for another method
    GET /                                the witness's vkey and a newline

Files, under ``DATA/witness/``:

- ``key``: the witness's Ed25519 key as a Go-format skey (``rooms.tlog.notes``), created on
  first start (mode 0600). Its name is the witness name, which is part of the key ID: a
  witness keeps its name for life, and ``--name`` must repeat it;
- ``logs``: the logs it witnesses, one ``log <vkey> [<url>]`` line each, as in a
  tlog-policy (the URL is ignored); the key's name is the log's origin ("Defining a
  log"). Also the operators that may register logs in their namespace (``POST /add-log``),
  one ``operator <vkey>`` line each. Re-read when it changes, so logs and operators are
  added while it runs (``add_log``, ``add_operator``, or a registration); ``--log`` and
  ``--operator`` add more for one run;
- ``state.db``: SQLite, the latest cosigned checkpoint per origin.

Concurrent requests for one origin are serialised by an ``asyncio.Lock``, and the record
is replaced by a compare-and-set in one SQLite transaction (committed with
``synchronous=FULL`` before the reply), so the recorded size never decreases, not even
with two processes on one data dir: the spec's warning about a request checked against
size N being recorded after one for N+K (the "rolling back K leaves" race).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import NoteKeyError
from rooms.tlog.notes import Ed25519Signer, Ed25519Verifier, format_note
from rooms.tlog.registration import RegistrationError, open_registration
from rooms.tlog.witness import (
    SIZE_MEDIA_TYPE,
    AddCheckpoint,
    Refusal,
    TreeHead,
    WitnessRefusal,
    check_consistency,
    open_request,
    size_body,
)

log = logging.getLogger("mvoting.witness")

#: The largest request body read: an add-checkpoint request with a few hundred signature
#: lines and 63 proof lines is well below it, a registration far below.
MAX_BODY = 64 * 1024


class WitnessSetupError(Exception):
    """The witness cannot start: a bad key file, name, log key or operator key."""


# --- files ---------------------------------------------------------------------------------


def witness_home(data_dir: Path) -> Path:
    """Where a witness keeps its key, its logs and its state: ``DATA/witness``."""
    return data_dir / "witness"


def load_cosigner(home: Path, name: str | None, default_name: str) -> Cosigner:
    """The witness key in ``home/key``, created with ``name`` (or ``default_name``) if none.

    A key that exists keeps its name: ``name``, if given, must be that name, since the name
    is part of the key ID that policies list.
    """
    path = home / "key"
    home.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        try:
            # The file is a Go-format Ed25519 skey (type 0x01), as witness software keeps
            # it; the cosignatures it makes are type 0x04 (``rooms.tlog.cosignature``).
            skey = Ed25519Signer.generate(name or default_name).skey()
        except NoteKeyError as error:
            raise WitnessSetupError(f"not a witness name: {error}") from None
        # O_EXCL: of two witnesses started at once on one data dir, the first key wins.
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(skey + "\n")
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(home)
    try:
        cosigner = Cosigner.from_skey(path.read_text().strip())
    except NoteKeyError as error:
        raise WitnessSetupError(f"{path}: not a witness key: {error}") from None
    if name is not None and name != cosigner.name:
        raise WitnessSetupError(
            f"the witness key in {path} is named {cosigner.name!r}, not {name!r}: "
            "a witness keeps its name (it is part of its key ID)"
        )
    return cosigner


def add_log(data_dir: Path, vkey: str) -> bool:
    """Trust the log ``vkey`` (its name is its origin) in the witness of ``data_dir``.

    Writes a ``log`` line (``_add_line``); a running witness picks it up at its next
    request. Returns False if the log was there already.
    """
    parse_log_key(vkey)
    return _add_line(witness_home(data_dir), "log", vkey)


def add_operator(data_dir: Path, vkey: str) -> bool:
    """Let the operator ``vkey`` register logs under its name at the witness of ``data_dir``.

    Writes an ``operator`` line (``_add_line``); a running witness picks it up at its next
    request. Returns False if the operator was there already.
    """
    parse_operator_key(vkey)
    return _add_line(witness_home(data_dir), "operator", vkey)


def parse_log_key(vkey: str) -> Ed25519Verifier:
    """A log's vkey: an Ed25519 note key (type 0x01) named after the log's origin."""
    return _parse_key(vkey, "a log key")


def parse_operator_key(vkey: str) -> Ed25519Verifier:
    """An operator's vkey: an Ed25519 note key (type 0x01) named after its namespace."""
    return _parse_key(vkey, "an operator key")


def _parse_key(vkey: str, what: str) -> Ed25519Verifier:
    try:
        return Ed25519Verifier.from_vkey(vkey)
    except NoteKeyError as error:
        raise WitnessSetupError(f"not {what}: {error}") from None


def _add_line(home: Path, kind: str, vkey: str) -> bool:
    """Append ``<kind> <vkey>`` to ``home/logs`` unless a line says it already.

    Writes the file whole (temporary file, fsync, rename) under a file lock, so writers
    in any process take turns and a running witness reads it before or after, never half.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / "logs"
    with _locked(home / "logs.lock"):
        text = path.read_text() if path.exists() else ""
        if any(line.split()[:2] == [kind, vkey] for line in text.splitlines()):
            return False
        if text and not text.endswith("\n"):
            text += "\n"
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w") as f:
            f.write(f"{text}{kind} {vkey}\n")
            f.flush()
            os.fsync(f.fileno())
        temporary.replace(path)
        _fsync_dir(home)
    return True


class LogKeys:
    """The keys a witness trusts: logs by origin, and operators; fixed ones and the file's.

    The ``logs`` file is read again when its size, time or inode changes; a file that does
    not parse then is logged and the previous lists kept, so a bad edit refuses no log.
    """

    def __init__(
        self, path: Path, fixed: Iterable[str] = (), operators: Iterable[str] = ()
    ) -> None:
        self._path = path
        self._fixed = _Trusted(
            [parse_log_key(vkey) for vkey in fixed],
            [parse_operator_key(vkey) for vkey in operators],
        )
        self._seen: tuple[int, int, int] | None = None
        self._by_origin: dict[str, tuple[Ed25519Verifier, ...]] = {}
        self._operators: tuple[Ed25519Verifier, ...] = ()
        self._index(self._read(strict=True))

    def for_origin(self, origin: str) -> tuple[Ed25519Verifier, ...]:
        """The keys trusted for ``origin`` (none: the witness does not know the log)."""
        self._reload()
        return self._by_origin.get(origin, ())

    def operators(self) -> tuple[Ed25519Verifier, ...]:
        """The operator keys trusted to register logs in their namespace."""
        self._reload()
        return self._operators

    def _reload(self) -> None:
        try:
            stat = self._path.stat()
            seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            seen = None
        if seen != self._seen:
            with contextlib.suppress(WitnessSetupError):
                self._index(self._read(strict=False))

    def _read(self, strict: bool) -> _Trusted:
        read = _Trusted([], [])
        try:
            stat = self._path.stat()
            text = self._path.read_text()
        except FileNotFoundError:
            self._seen = None
            return read
        self._seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                read.add(line)
            except WitnessSetupError as error:
                message = f"{self._path}, line {number}: {error}"
                if strict:
                    raise WitnessSetupError(message) from None
                log.error("%s; keeping the logs read before", message)
                raise
        return read

    def _index(self, read: _Trusted) -> None:
        by_origin: dict[str, dict[Ed25519Verifier, None]] = {}
        for key in (*self._fixed.logs, *read.logs):
            by_origin.setdefault(key.name, {})[key] = None
        self._by_origin = {origin: tuple(found) for origin, found in by_origin.items()}
        self._operators = tuple(dict.fromkeys((*self._fixed.operators, *read.operators)))


@dataclass
class _Trusted:
    """Log and operator keys, in the order read."""

    logs: list[Ed25519Verifier]
    operators: list[Ed25519Verifier]

    def add(self, line: str) -> None:
        """Add the key of one line of a ``logs`` file (blank lines and comments: none)."""
        items = line.split()
        if not items or items[0].startswith("#"):
            return
        if items[0] == "log" and len(items) in (2, 3):
            self.logs.append(parse_log_key(items[1]))
        elif items[0] == "operator" and len(items) == 2:
            self.operators.append(parse_operator_key(items[1]))
        else:
            raise WitnessSetupError(
                f"not a line 'log <vkey> [<url>]' or 'operator <vkey>': {line!r}"
            )


class CheckpointStore:
    """The latest cosigned checkpoint per origin, in SQLite (``state.db``).

    Sizes are kept as decimal text: tree sizes are uint64, SQLite integers int64. One
    connection, used by one thread at a time (the methods block: call them in a thread).
    """

    def __init__(self, path: Path) -> None:
        # isolation_level=None: transactions are the explicit BEGIN IMMEDIATE below.
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        #: Calls of ``replace`` waiting for another connection's write to end.
        self.waiting_writers = 0
        with self._lock:
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk (the WAL fsynced) before it returns.
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute(
                """CREATE TABLE IF NOT EXISTS checkpoints (
                    origin TEXT PRIMARY KEY,
                    origin_hash TEXT NOT NULL UNIQUE,  -- sha256(origin), lowercase hex
                    size TEXT NOT NULL,                -- decimal
                    root BLOB NOT NULL,
                    note BLOB NOT NULL                 -- the checkpoint as cosigned
                )"""
            )

    def latest(self, origin: str) -> TreeHead | None:
        with self._lock:
            row = self._db.execute(
                "SELECT size, root FROM checkpoints WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else TreeHead(int(row[0]), bytes(row[1]))

    def note(self, origin_hash: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT note FROM checkpoints WHERE origin_hash = ?", (origin_hash,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def replace(
        self, origin: str, expected: TreeHead | None, new: TreeHead, note: bytes
    ) -> TreeHead | None:
        """Record ``new`` if the record is still ``expected``; committed to disk on return.

        Returns None when recorded, else the record found instead (the caller decided
        against a record that changed, so its decision no longer holds).
        """
        values = (str(new.size), new.root, note, origin)
        with self._lock:
            self.waiting_writers += 1
            try:
                self._db.execute("BEGIN IMMEDIATE")  # waits while another process writes
            finally:
                self.waiting_writers -= 1
            try:
                if expected is None:
                    cursor = self._db.execute(
                        "INSERT INTO checkpoints (size, root, note, origin, origin_hash) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING",
                        (*values, origin_hash(origin)),
                    )
                else:
                    cursor = self._db.execute(
                        "UPDATE checkpoints SET size = ?, root = ?, note = ? "
                        "WHERE origin = ? AND size = ? AND root = ?",
                        (*values, str(expected.size), expected.root),
                    )
                changed, row = cursor.rowcount == 1, None
                if not changed:
                    row = self._db.execute(
                        "SELECT size, root FROM checkpoints WHERE origin = ?", (origin,)
                    ).fetchone()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if changed:
            return None
        assert row is not None  # only a record that exists makes the write miss
        return TreeHead(int(row[0]), bytes(row[1]))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def origin_hash(origin: str) -> str:
    """The name of a log in the monitoring URL: SHA-256 of its origin, lowercase hex."""
    return hashlib.sha256(origin.encode()).hexdigest()


# --- the witness ---------------------------------------------------------------------------


class Witness:
    """Checks add-checkpoint requests, records the checkpoints it cosigns, cosigns them.

    Also registers the logs its operators announce, in the logs file of ``data_dir``.
    """

    def __init__(
        self, cosigner: Cosigner, logs: LogKeys, store: CheckpointStore, data_dir: Path
    ) -> None:
        self.cosigner = cosigner
        self.logs = logs
        self.store = store
        self.data_dir = data_dir
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def name(self) -> str:
        return self.cosigner.name

    def vkey(self) -> str:
        return self.cosigner.vkey()

    async def add_checkpoint(self, body: bytes) -> bytes:
        """Answer one add-checkpoint request: the cosignature line, or ``WitnessRefusal``.

        Holds the origin's lock from reading the record to recording the new checkpoint,
        so requests for one log are decided one after another against a record that only
        grows; ``CheckpointStore.replace`` catches another process changing it meanwhile.
        """
        request = AddCheckpoint.parse(body)
        signed = open_request(request, self.logs.for_origin(request.origin()))
        checkpoint = signed.checkpoint
        # One lock per known origin: bounded by the logs file, never by the requests.
        lock = self._locks.setdefault(checkpoint.origin, asyncio.Lock())
        async with lock:
            latest = await asyncio.to_thread(self.store.latest, checkpoint.origin)
            check_consistency(request.old_size, request.proof, checkpoint, latest)
            # The spec forbids a zero timestamp; a clock before 1970 gets 1.
            cosignature = self.cosigner.cosign(checkpoint, max(int(time.time()), 1))
            note = format_note(signed.note.text, (*signed.log_signatures, cosignature))
            new = TreeHead(checkpoint.size, checkpoint.root)
            found = await asyncio.to_thread(
                self.store.replace, checkpoint.origin, latest, new, note
            )
        if found is not None:
            # Another witness process on this data dir recorded a checkpoint meanwhile.
            message = (
                f"the record of {checkpoint.origin!r} changed meanwhile: it is at {found.size}"
            )
            raise WitnessRefusal(Refusal.SIZE_CONFLICT, message, latest=found.size)
        log.info("cosigned %s at size %d", checkpoint.origin, checkpoint.size)
        return (cosignature.line() + "\n").encode()

    async def register_log(self, body: bytes) -> bool:
        """Trust the log that the registration ``body`` names: True if new, False if known.

        Raises ``RegistrationError`` unless a trusted operator signed it for a log in its
        namespace. The log is in the logs file (``add_log``) before this returns, so this
        witness and any other on its data dir cosign its checkpoints from their next request.
        """
        log_key = open_registration(body, self.logs.operators())
        added = await asyncio.to_thread(add_log, self.data_dir, log_key.vkey())
        if added:
            log.info("registered log %s", log_key.vkey())
        return added

    def close(self) -> None:
        self.store.close()


def open_witness(
    data_dir: Path,
    *,
    name: str | None,
    default_name: str,
    logs: Iterable[str] = (),
    operators: Iterable[str] = (),
) -> Witness:
    """The witness of ``data_dir``: its key (created if new), logs, operators and state.

    ``logs`` and ``operators`` are trusted besides those of the logs file, for this run.
    """
    home = witness_home(data_dir)
    cosigner = load_cosigner(home, name, default_name)
    keys = LogKeys(home / "logs", logs, operators)
    return Witness(cosigner, keys, CheckpointStore(home / "state.db"), data_dir)


# --- HTTP ----------------------------------------------------------------------------------


def create_witness_app(witness: Witness) -> Starlette:
    """The witness's ASGI app; its lifespan closes the witness's state at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            witness.close()

    async def add_checkpoint(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return _too_large()
        try:
            lines = await witness.add_checkpoint(body)
        except WitnessRefusal as refusal:
            return refusal_response(refusal)
        return Response(lines, 200, headers={"content-type": "text/plain; charset=utf-8"})

    async def register_log(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return _too_large()
        try:
            added = await witness.register_log(body)
        except RegistrationError as error:
            return _text(error.status, str(error))
        return _text(200, "added" if added else "known")

    async def monitor_checkpoint(request: Request) -> Response:
        note = await asyncio.to_thread(witness.store.note, request.path_params["origin_hash"])
        if note is None:
            return _text(404, "this witness never cosigned a checkpoint of that log")
        return Response(note, 200, headers={"content-type": "text/plain; charset=utf-8"})

    async def info(request: Request) -> Response:
        return _text(200, witness.vkey())

    async def healthz(request: Request) -> Response:
        """Alive and able to read its store (a probe; the store is a directory of notes)."""
        await asyncio.to_thread(witness.store.note, "0" * 64)
        return _text(200, "ok")

    return Starlette(
        routes=[
            Route("/", info, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/add-log", register_log, methods=["POST"]),
            Route("/{origin_hash:str}/checkpoint", monitor_checkpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def refusal_response(refusal: WitnessRefusal) -> Response:
    """The response the spec prescribes for a refusal (the one place statuses are chosen)."""
    if refusal.reason is Refusal.SIZE_CONFLICT:
        # Exactly this media type, without the charset Starlette adds to text/* types.
        assert refusal.latest is not None
        body = size_body(refusal.latest)
        return Response(body, refusal.status, headers={"content-type": SIZE_MEDIA_TYPE})
    return _text(refusal.status, str(refusal))


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status)


def _too_large() -> Response:
    return _text(413, f"the request body is larger than {MAX_BODY} bytes")


async def _read_body(request: Request) -> bytes | None:
    """The body, or None if it is larger than ``MAX_BODY`` (then read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# --- helpers -------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
