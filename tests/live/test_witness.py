"""``mvoting witness``: C2SP tlog-witness over HTTP, driven as a log drives it.

Witnesses run in a real uvicorn, in-process on a free port, or as ``mvoting witness``
subprocesses where a restart or the command line is under test. Logs are real Merkle
trees (``rooms.tlog.merkle.MerkleLog``) with checkpoints signed by an Ed25519 log key; forks
share a prefix with the main tree and then differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from live.ledger.local_witnesses import LocalWitness, LocalWitnesses, start_local_witnesses
from live.ledger.witness import (
    MAX_BODY,
    Witness,
    WitnessSetupError,
    add_log,
    add_operator,
    create_witness_app,
    open_witness,
)
from live.ledger.witness_client import WitnessConflict, WitnessError, add_checkpoint, register_log
from rooms.tlog.checkpoint import Checkpoint, open_checkpoint
from rooms.tlog.cosignature import CosignatureVerifier, cosignature_timestamp
from rooms.tlog.errors import QuorumError
from rooms.tlog.merkle import EMPTY_ROOT, MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer, Signature, sign_note
from rooms.tlog.policy import Policy, PolicyGroup, PolicyLog, PolicyWitness
from rooms.tlog.registration import registration_note
from rooms.tlog.witness import AddCheckpoint

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "live.cli"]


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


ORIGIN = "mvoting.test/poll/1"
LOG = Ed25519Signer(ORIGIN, private_key(1))
#: A key with the log's name that the witnesses do not trust.
IMPOSTOR = Ed25519Signer(ORIGIN, private_key(2))
OTHER = Ed25519Signer("other.test/log", private_key(3))
#: The operator of the poll logs: it may register the logs named "mvoting.test/poll/<...>".
OPERATOR = Ed25519Signer("mvoting.test/poll", private_key(4))
#: A key with the operator's name that the witnesses do not trust.
NOT_OPERATOR = Ed25519Signer(OPERATOR.name, private_key(5))
#: A poll's log that the witnesses do not know until it is registered.
NEW_LOG = Ed25519Signer("mvoting.test/poll/2", private_key(6))

TREE = MerkleLog(leaf_hash(b"entry %d" % i) for i in range(40))
#: Shares TREE's first 5 leaves, then differs: a fork of the log after size 5.
FORK = MerkleLog([*map(TREE.leaf, range(5)), *(leaf_hash(b"fork %d" % i) for i in range(35))])


def signed(size: int, tree: MerkleLog = TREE, *signers: Ed25519Signer) -> bytes:
    """The checkpoint of ``tree`` at ``size``, signed by the log (or by ``signers``)."""
    return Checkpoint(ORIGIN, size, tree.root(size)).sign(*(signers or (LOG,)))


def request(old: int, new: int, tree: MerkleLog = TREE) -> bytes:
    """A valid add-checkpoint body from ``old`` to ``new`` in ``tree``."""
    proof = tree.consistency_proof(old, new) if old else []
    return AddCheckpoint(old, tuple(proof), signed(new, tree)).to_bytes()


def log_request(log: Ed25519Signer, old: int, new: int) -> bytes:
    """A valid add-checkpoint body from ``old`` to ``new`` in TREE, for the log of ``log``."""
    proof = TREE.consistency_proof(old, new) if old else []
    checkpoint = Checkpoint(log.name, new, TREE.root(new)).sign(log)
    return AddCheckpoint(old, tuple(proof), checkpoint).to_bytes()


def monitor_path(origin: str = ORIGIN) -> str:
    return f"/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- witnesses in-process -----------------------------------------------------------------


@dataclass
class Running:
    url: str
    witness: Witness
    client: httpx.AsyncClient

    @property
    def verifier(self) -> CosignatureVerifier:
        return self.witness.cosigner.verifier()

    async def post(self, body: bytes) -> httpx.Response:
        return await self.client.post(f"{self.url}/add-checkpoint", content=body)

    async def register(self, body: bytes) -> httpx.Response:
        return await self.client.post(f"{self.url}/add-log", content=body)

    async def latest(self, origin: str = ORIGIN) -> bytes | None:
        """The monitoring endpoint's checkpoint, None on its 404."""
        response = await self.client.get(self.url + monitor_path(origin))
        assert response.status_code in (200, 404), response.text
        return response.content if response.status_code == 200 else None

    async def latest_size(self) -> int | None:
        note = await self.latest()
        return None if note is None else int(note.split(b"\n")[1])


@contextlib.asynccontextmanager
async def serving(witness: Witness) -> AsyncIterator[Running]:
    """The witness's app in a uvicorn on a free port, once uvicorn says it has started."""
    async with serving_app(create_witness_app(witness)) as url:
        async with httpx.AsyncClient(timeout=10) as client:
            yield Running(url, witness, client)


@contextlib.asynccontextmanager
async def serving_app(app: Starlette) -> AsyncIterator[str]:
    """``app`` in a uvicorn on a free port, once uvicorn says it has started: its URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_level="warning",
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped before starting")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def witness_at(
    data: Path,
    name: str = "w1.test",
    logs: tuple[str, ...] = (LOG.verifier().vkey(),),
    operators: tuple[str, ...] = (),
) -> AsyncIterator[Running]:
    witness = open_witness(data, name=name, default_name="unused", logs=logs, operators=operators)
    async with serving(witness) as running:
        yield running


async def cosigned(running: Running, body: bytes) -> Signature:
    response = await running.post(body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    (line,) = response.text.removesuffix("\n").split("\n")
    assert response.text.endswith("\n") and line.startswith("\u2014 w")
    return Signature.parse(line)


# --- cosigning -----------------------------------------------------------------------------


async def test_first_checkpoint_is_cosigned_and_the_cosignature_verifies(tmp_path: Path) -> None:
    async with witness_at(tmp_path) as w:
        info = await w.client.get(w.url + "/")
        assert info.text == w.witness.vkey() + "\n"
        verifier = CosignatureVerifier.from_vkey(info.text.strip())
        assert verifier.name == "w1.test"
        assert await w.latest() is None

        before = int(time.time())
        cosignature = await cosigned(w, request(0, 5))
        assert (cosignature.name, cosignature.key_id) == (verifier.name, verifier.key_id)
        assert before <= cosignature_timestamp(cosignature) <= int(time.time())
        note = signed(5) + (cosignature.line() + "\n").encode()
        opened = open_checkpoint(note, [LOG.verifier()], [verifier])
        assert opened.checkpoint == Checkpoint(ORIGIN, 5, TREE.root(5))
        assert opened.cosignatures == (cosignature,)
        # The monitoring endpoint serves the log's signature and the cosignature it returned.
        assert await w.latest() == note
        assert await w.latest("other.test/log") is None


async def test_growing_with_a_consistency_proof_from_the_last_size_is_cosigned(
    tmp_path: Path,
) -> None:
    async with witness_at(tmp_path) as w:
        for old, new in [(0, 1), (1, 2), (2, 2), (2, 7), (7, 8), (8, 8), (8, 31), (31, 40)]:
            cosignature = await cosigned(w, request(old, new))
            note = signed(new) + (cosignature.line() + "\n").encode()
            assert open_checkpoint(note, [LOG.verifier()], [w.verifier]).cosignatures
            assert await w.latest() == note, (old, new)


async def test_an_empty_log_is_cosigned_at_size_zero_then_grows(tmp_path: Path) -> None:
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT).sign(LOG)
    async with witness_at(tmp_path) as w:
        await cosigned(w, AddCheckpoint(0, (), empty).to_bytes())
        assert await w.latest_size() == 0
        await cosigned(w, request(0, 3))  # from size 0 no proof is needed
        assert await w.latest_size() == 3


# --- refusals --------------------------------------------------------------------------------


def _corrupt_log_signature() -> bytes:
    note = signed(9)
    text, _, line = note.decode().rpartition("\n\n")
    signature = Signature.parse(line.strip())
    bad = Signature(signature.name, signature.key_id, bytes(64))
    return (text + "\n\n" + bad.line() + "\n").encode()


def _with_proof(old: int, proof: list[bytes], note: bytes) -> bytes:
    return AddCheckpoint(old, tuple(proof), note).to_bytes()


OLD5_TO_9 = TREE.consistency_proof(5, 9)
NOT_A_CHECKPOINT = sign_note(f"{ORIGIN}\nnot a size\n", [LOG])
KEY = f"{ORIGIN}+{LOG.key_id:08x}"


@dataclass(frozen=True)
class Refused:
    body: Callable[[], bytes]
    status: int
    answer: str
    at: int | None = 5  # the size the witness cosigned before the request, None: never
    content_type: str = "text/plain; charset=utf-8"


REFUSALS = [
    pytest.param(
        Refused(lambda: AddCheckpoint(0, (), Checkpoint(OTHER.name, 3, TREE.root(3)).sign(OTHER))
                .to_bytes(), 404, "unknown log: 'other.test/log'\n"),
        id="unknown-log-404",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, OLD5_TO_9, signed(9, TREE, IMPOSTOR)), 403,
                "not signed by the log: the note has no signature from a known key\n"),
        id="untrusted-key-with-the-log-name-403",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, OLD5_TO_9, _corrupt_log_signature()), 403,
                f"not signed by the log: the signature of known key {KEY} does not verify\n"),
        id="trusted-key-signature-fails-403",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, [], signed(3)), 400,
                "the old size 5 is larger than the checkpoint's size 3\n"),
        id="old-size-larger-than-new-400",
    ),
    pytest.param(
        Refused(lambda: request(3, 9), 409, "5\n", content_type="text/x.tlog.size"),
        id="old-size-behind-the-latest-409",
    ),
    pytest.param(
        Refused(lambda: request(0, 9), 409, "5\n", content_type="text/x.tlog.size"),
        id="old-size-zero-after-cosigning-409",
    ),
    pytest.param(
        Refused(lambda: request(7, 9), 409, "0\n", at=None, content_type="text/x.tlog.size"),
        id="old-size-ahead-of-a-new-log-409",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, FORK.consistency_proof(5, 9), signed(9)), 422,
                "not consistent: the consistency proof does not lead to the new root\n"),
        id="proof-of-another-tree-422",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, [bytes(32), *OLD5_TO_9[1:]], signed(9)), 422,
                "not consistent: the consistency proof does not lead to the old root\n"),
        id="tampered-proof-422",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, [], signed(9)), 422,
                "not consistent: the consistency proof is empty\n"),
        id="missing-proof-422",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, [], Checkpoint(ORIGIN, 5, TREE.root(6)).sign(LOG)), 422,
                "not consistent: two roots for the same tree size differ\n"),
        id="same-size-another-root-422",
    ),
    pytest.param(
        Refused(lambda: _with_proof(0, [], Checkpoint(ORIGIN, 0, TREE.root(1)).sign(LOG)), 422,
                "not consistent: a checkpoint of size 0 has the empty tree's root\n", at=None),
        id="size-zero-not-the-empty-root-422",
    ),
    pytest.param(
        Refused(lambda: _with_proof(0, TREE.consistency_proof(1, 9), signed(9)), 422,
                "not consistent: a proof from size 0 is empty\n", at=None),
        id="proof-from-size-zero-422",
    ),
    pytest.param(
        Refused(lambda: b"old 05\n\n" + signed(9), 400,
                "not an add-checkpoint request: "
                "not an old size line (old <decimal size>): 'old 05'\n"),
        id="leading-zero-old-size-400",
    ),
    pytest.param(
        Refused(lambda: b"old 5\n", 400,
                "not an add-checkpoint request: "
                "the proof lines end with an empty line, then the checkpoint\n"),
        id="no-checkpoint-400",
    ),
    pytest.param(
        Refused(lambda: b"old 5\n" + b"AAAA\n" * 64 + b"\n" + signed(9), 400,
                "not an add-checkpoint request: more than 63 consistency proof lines\n"),
        id="64-proof-lines-400",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, OLD5_TO_9, NOT_A_CHECKPOINT), 400,
                "not an add-checkpoint request: "
                "a checkpoint is at least three lines, none of them empty\n"),
        id="signed-note-not-a-checkpoint-400",
    ),
    pytest.param(
        Refused(lambda: _with_proof(5, OLD5_TO_9, signed(9)) + b"x" * MAX_BODY, 413,
                f"the request body is larger than {MAX_BODY} bytes\n"),
        id="body-over-64-KiB-413",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS)
async def test_refusal_has_the_spec_status_and_body_and_changes_nothing(
    tmp_path: Path, case: Refused
) -> None:
    async with witness_at(tmp_path) as w:
        if case.at is not None:
            await cosigned(w, request(0, case.at))
        before = await w.latest()
        assert (before is None) == (case.at is None)

        response = await w.post(case.body())
        assert (response.status_code, response.text) == (case.status, case.answer)
        assert response.headers["content-type"] == case.content_type

        assert await w.latest() == before
        # The next valid request, from the size recorded before, is cosigned.
        await cosigned(w, request(case.at or 0, 12))
        assert await w.latest_size() == 12


async def test_a_witness_asked_to_go_backwards_refuses(tmp_path: Path) -> None:
    async with witness_at(tmp_path) as w:
        await cosigned(w, request(0, 10))
        at_ten = await w.latest()
        # From its own size to a smaller one; from an older size; from scratch.
        assert (await w.post(_with_proof(10, [], signed(7)))).status_code == 400
        for old in (7, 4, 0):
            response = await w.post(request(old, 7))
            assert (response.status_code, response.text) == (409, "10\n")
        # A larger checkpoint of a fork that dropped leaves 5..9 does not extend size 10.
        response = await w.post(_with_proof(10, TREE.consistency_proof(10, 12), signed(12, FORK)))
        assert response.status_code == 422
        assert await w.latest() == at_ten
        # The same checkpoint again is cosigned again (a retry), and nothing moved.
        await cosigned(w, request(10, 10))
        assert await w.latest_size() == 10


async def test_a_new_log_in_the_logs_file_is_witnessed_without_a_restart(tmp_path: Path) -> None:
    other = Checkpoint(OTHER.name, 2, TREE.root(2)).sign(OTHER)
    async with witness_at(tmp_path) as w:
        assert (await w.post(AddCheckpoint(0, (), other).to_bytes())).status_code == 404
        assert add_log(tmp_path, OTHER.verifier().vkey()) is True
        assert add_log(tmp_path, OTHER.verifier().vkey()) is False
        await cosigned(w, AddCheckpoint(0, (), other).to_bytes())
        assert await w.latest(OTHER.name) is not None
        logs = tmp_path / "witness" / "logs"
        assert logs.read_text() == f"log {OTHER.verifier().vkey()}\n"
        # A bad edit is reported and ignored: the logs read before stay trusted.
        logs.write_text(logs.read_text() + "log not-a-key\n")
        await cosigned(w, request(0, 3))
        await cosigned(w, AddCheckpoint(2, (), other).to_bytes())
    with pytest.raises(WitnessSetupError, match="line 2: not a log key"):
        open_witness(tmp_path, name="w1.test", default_name="unused")


# --- registering logs ------------------------------------------------------------------------


def _registration_with_a_bad_signature() -> bytes:
    note = registration_note(OPERATOR, NEW_LOG.verifier().vkey())
    text, _, line = note.decode().rpartition("\n\n")
    signature = Signature.parse(line.strip())
    bad = Signature(signature.name, signature.key_id, bytes(64))
    return (text + "\n\n" + bad.line() + "\n").encode()


async def test_a_registered_log_is_cosigned_at_once_and_registering_it_again_is_known(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "witness" / "logs"
    note = registration_note(OPERATOR, NEW_LOG.verifier().vkey())
    async with witness_at(tmp_path) as w:
        assert (await w.post(log_request(NEW_LOG, 0, 2))).status_code == 404
        # An operator added to the logs file while the witness runs is trusted at once.
        assert add_operator(tmp_path, OPERATOR.verifier().vkey()) is True
        assert add_operator(tmp_path, OPERATOR.verifier().vkey()) is False

        added = await w.register(note)
        assert (added.status_code, added.text) == (200, "added\n")
        assert added.headers["content-type"] == "text/plain; charset=utf-8"
        expected = f"operator {OPERATOR.verifier().vkey()}\nlog {NEW_LOG.verifier().vkey()}\n"
        assert logs.read_text() == expected
        cosignature = await cosigned(w, log_request(NEW_LOG, 0, 2))
        checkpoint = Checkpoint(NEW_LOG.name, 2, TREE.root(2)).sign(NEW_LOG)
        cosigned_note = checkpoint + (cosignature.line() + "\n").encode()
        assert open_checkpoint(cosigned_note, [NEW_LOG.verifier()], [w.verifier]).cosignatures

        again = await w.register(note)
        assert (again.status_code, again.text) == (200, "known\n")
        assert logs.read_text() == expected
        # The log's checkpoints go on being cosigned; the first log is untouched.
        await cosigned(w, log_request(NEW_LOG, 2, 5))
        await cosigned(w, request(0, 3))

        wrong_method = await w.client.get(f"{w.url}/add-log")
        assert wrong_method.status_code == 405
        assert logs.read_text() == expected


@dataclass(frozen=True)
class RefusedRegistration:
    body: Callable[[], bytes]
    status: int
    answer: str


REGISTRATION_REFUSALS = [
    pytest.param(
        RefusedRegistration(lambda: registration_note(NOT_OPERATOR, NEW_LOG.verifier().vkey()),
                            403, "not signed by an operator: "
                            "the note has no signature from a known key\n"),
        id="unknown-key-with-the-operators-name-403",
    ),
    pytest.param(
        RefusedRegistration(_registration_with_a_bad_signature, 403,
                            "not signed by an operator: the signature of known key "
                            f"{OPERATOR.name}+{OPERATOR.key_id:08x} does not verify\n"),
        id="operator-key-bad-signature-403",
    ),
    pytest.param(
        RefusedRegistration(lambda: registration_note(OPERATOR, OTHER.verifier().vkey()), 403,
                            "the log 'other.test/log' is not under the namespace of its "
                            "operator 'mvoting.test/poll'\n"),
        id="log-outside-the-operators-namespace-403",
    ),
    pytest.param(
        RefusedRegistration(lambda: registration_note(OPERATOR, OPERATOR.verifier().vkey()), 403,
                            "the log 'mvoting.test/poll' is not under the namespace of its "
                            "operator 'mvoting.test/poll'\n"),
        id="the-operators-own-name-403",
    ),
    pytest.param(
        RefusedRegistration(lambda: b"garbage", 400, "not a registration: "
                            "no blank line between the text and the signatures\n"),
        id="garbage-400",
    ),
    pytest.param(
        RefusedRegistration(lambda: sign_note(f"{NEW_LOG.verifier().vkey()}\n", [OPERATOR]),
                            400, "not a registration: the text is not 'mvoting.add-log/v1' "
                            "and a log vkey, each on a line\n"),
        id="note-without-the-header-400",
    ),
    pytest.param(
        RefusedRegistration(lambda: registration_note(OPERATOR, NEW_LOG.verifier().vkey())
                            + b"x" * MAX_BODY, 413,
                            f"the request body is larger than {MAX_BODY} bytes\n"),
        id="body-over-64-KiB-413",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", REGISTRATION_REFUSALS)
async def test_a_refused_registration_says_why_and_leaves_the_logs_file_unchanged(
    tmp_path: Path, case: RefusedRegistration
) -> None:
    add_operator(tmp_path, OPERATOR.verifier().vkey())
    logs = tmp_path / "witness" / "logs"
    before = logs.read_bytes()
    async with witness_at(tmp_path) as w:
        response = await w.register(case.body())
        assert (response.status_code, response.text) == (case.status, case.answer)
        assert response.headers["content-type"] == "text/plain; charset=utf-8"

        assert logs.read_bytes() == before
        for log_key in (NEW_LOG, OTHER, OPERATOR):
            assert (await w.post(log_request(log_key, 0, 2))).status_code == 404
        # The same witness registers the operator's log when asked properly.
        response = await w.register(registration_note(OPERATOR, NEW_LOG.verifier().vkey()))
        assert (response.status_code, response.text) == (200, "added\n")
        await cosigned(w, log_request(NEW_LOG, 0, 2))


@pytest.mark.parametrize(
    ("line", "error"),
    [
        pytest.param("operator not-a-key", "line 2: not an operator key", id="bad-key"),
        pytest.param(
            f"operator {OPERATOR.verifier().vkey()} https://x.test/",
            "line 2: not a line 'log <vkey> [<url>]' or 'operator <vkey>'",
            id="operator-with-a-url",
        ),
        pytest.param(
            f"witness {OPERATOR.verifier().vkey()}",
            "line 2: not a line 'log <vkey> [<url>]' or 'operator <vkey>'",
            id="another-kind",
        ),
    ],
)
def test_a_logs_file_with_a_bad_operator_line_stops_the_witness(
    tmp_path: Path, line: str, error: str
) -> None:
    add_log(tmp_path, LOG.verifier().vkey())
    logs = tmp_path / "witness" / "logs"
    logs.write_text(logs.read_text() + line + "\n")
    with pytest.raises(WitnessSetupError, match=re.escape(error)):
        open_witness(tmp_path, name="w1.test", default_name="unused")
    with pytest.raises(WitnessSetupError, match="not an operator key"):
        add_operator(tmp_path, LOG.verifier().vkey() + "x")


# --- forks and quorums -------------------------------------------------------------------------

POLICY_NAMES = ("w1", "w2", "w3", "w4")


def policy_of(witnesses: list[Running]) -> Policy:
    pairs = zip(POLICY_NAMES, witnesses, strict=True)
    return Policy(
        (PolicyLog(LOG.verifier()),),
        tuple(PolicyWitness(name, w.verifier, w.url) for name, w in pairs),
        (PolicyGroup("quorum", 3, POLICY_NAMES),),
        "quorum",
    )


async def offer(witness: Running, tree: MerkleLog, size: int, old: int) -> Signature | None:
    """What a misbehaving log does: offer its fork, and after a 409 again from the size the
    witness names. Returns the cosignature, or None if the witness refused."""
    proof = tree.consistency_proof(old, size)
    try:
        lines = await add_checkpoint(
            witness.url, old, proof, signed(size, tree), 10, client=witness.client
        )
    except WitnessConflict as conflict:
        assert conflict.latest == size  # the other fork, of the same size, came first
        try:
            lines = await add_checkpoint(
                witness.url, conflict.latest, [], signed(size, tree), 10, client=witness.client
            )
        except WitnessError as error:
            assert error.status == 422, error
            return None
        raise AssertionError("a witness cosigned two roots for one size") from None
    return Signature.parse(lines.decode().strip())


@contextlib.asynccontextmanager
async def four_witnesses(base: Path) -> AsyncIterator[list[Running]]:
    async with contextlib.AsyncExitStack() as stack:
        witnesses = [
            await stack.enter_async_context(witness_at(base / n, name=f"{n}.test"))
            for n in POLICY_NAMES
        ]
        yield witnesses


@pytest.mark.parametrize(
    ("first", "concurrent"),
    [
        pytest.param("AAAA", False, id="fork-A-first-everywhere"),
        pytest.param("AAAB", False, id="fork-A-first-at-three"),
        pytest.param("AABB", False, id="split-two-two"),
        pytest.param("ABBB", False, id="fork-B-first-at-three"),
        pytest.param("", True, id="both-at-once-everywhere"),
    ],
)
async def test_two_forks_of_one_size_reach_the_quorum_at_most_once(
    tmp_path: Path, first: str, concurrent: bool
) -> None:
    forks = {"A": TREE, "B": FORK}
    async with four_witnesses(tmp_path) as witnesses:
        policy = policy_of(witnesses)
        for w in witnesses:  # all four cosigned the common prefix
            await cosigned(w, request(0, 5))
        cosignatures: dict[str, list[Signature]] = {"A": [], "B": []}

        async def offer_and_keep(w: Running, name: str) -> None:
            found = await offer(w, forks[name], 9, 5)
            if found is not None:
                cosignatures[name].append(found)

        async def in_order(w: Running, lead: str) -> None:
            for name in (lead, "B" if lead == "A" else "A"):
                await offer_and_keep(w, name)

        if concurrent:
            await asyncio.gather(*(offer_and_keep(w, n) for w in witnesses for n in "AB"))
        else:
            await asyncio.gather(
                *(in_order(w, lead) for w, lead in zip(witnesses, first, strict=True))
            )

        # Each witness cosigned exactly one of the two forks.
        assert len(cosignatures["A"]) + len(cosignatures["B"]) == 4
        reached = []
        for name, tree in forks.items():
            note = signed(9, tree) + "".join(s.line() + "\n" for s in cosignatures[name]).encode()
            try:
                policy.open_checkpoint(note)
            except QuorumError:
                continue
            reached.append(name)
        assert len(reached) <= 1
        if not concurrent:
            expected = [n for n in "AB" if first.count(n) >= 3]
            assert reached == expected
            assert [len(cosignatures[n]) for n in "AB"] == [first.count("A"), first.count("B")]


# --- concurrency ------------------------------------------------------------------------------


async def test_twenty_requests_from_one_size_at_once_exactly_one_is_cosigned(
    tmp_path: Path,
) -> None:
    async with witness_at(tmp_path) as w:
        await cosigned(w, request(0, 5))
        sizes = list(range(6, 26))
        responses = await asyncio.gather(*(w.post(request(5, size)) for size in sizes))
        won = [size for size, r in zip(sizes, responses, strict=True) if r.status_code == 200]
        assert len(won) == 1, [r.status_code for r in responses]
        for size, response in zip(sizes, responses, strict=True):
            if size != won[0]:
                assert (response.status_code, response.text) == (409, f"{won[0]}\n")
        assert await w.latest_size() == won[0]


async def test_two_witness_processes_on_one_data_dir_cosign_one_of_twenty(tmp_path: Path) -> None:
    """Two witnesses on one data dir share no asyncio lock: the compare-and-set on disk
    decides. A third connection holds the write lock until each witness has read the
    record (size 5) and waits to write its checkpoint: only one of the two may land."""
    async with witness_at(tmp_path) as first, witness_at(tmp_path) as second:
        await cosigned(first, request(0, 5))
        blocker = sqlite3.connect(tmp_path / "witness" / "state.db", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            sizes = list(range(6, 26))
            sent = asyncio.gather(
                *((first, second)[size % 2].post(request(5, size)) for size in sizes)
            )
            while not (
                first.witness.store.waiting_writers and second.witness.store.waiting_writers
            ):
                assert not sent.done()
                await asyncio.sleep(0.01)
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        responses = await sent
        won = [size for size, r in zip(sizes, responses, strict=True) if r.status_code == 200]
        assert len(won) == 1, [(r.status_code, r.text) for r in responses]
        for size, response in zip(sizes, responses, strict=True):
            if size != won[0]:
                assert (response.status_code, response.text) == (409, f"{won[0]}\n")
        assert await first.latest_size() == await second.latest_size() == won[0]


async def test_concurrent_add_checkpoint_calls_never_lower_the_size(tmp_path: Path) -> None:
    """Twenty steps of one chain sent at once in a random order, twice, while a monitor
    reads the recorded size: it never decreases, and no 200 is for a size above it."""
    chain = [0, *sorted(random.Random(7).sample(range(1, 40), 20))]
    steps = list(zip(chain, chain[1:], strict=False))
    async with witness_at(tmp_path) as w:
        seen: list[int] = []
        done = asyncio.Event()

        async def monitor() -> None:
            while not done.is_set():
                size = await w.latest_size()
                if size is not None:
                    seen.append(size)

        watcher = asyncio.create_task(monitor())
        cosigned_sizes: list[int] = []
        for seed in (1, 2):
            random.Random(seed).shuffle(steps)
            responses = await asyncio.gather(*(w.post(request(a, b)) for a, b in steps))
            for (_, new), response in zip(steps, responses, strict=True):
                assert response.status_code in (200, 409), response.text
                if response.status_code == 200:
                    cosigned_sizes.append(new)
                else:
                    assert response.headers["content-type"] == "text/x.tlog.size"
        done.set()
        await watcher
        final = await w.latest_size()
        assert final is not None and cosigned_sizes
        assert seen == sorted(seen) and all(size <= final for size in seen)
        assert all(size <= final for size in cosigned_sizes)
        assert max(cosigned_sizes) == final
        # The stragglers, resent in order from the size the witness names, all succeed.
        while final < chain[-1]:
            step = chain.index(final)
            await cosigned(w, request(final, chain[step + 1]))
            final = chain[step + 1]
        assert await w.latest_size() == chain[-1]


# --- the command ------------------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "DATABASE_URL"} and not k.startswith("MVOTING_")
    }


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    out: Path
    url: str

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def wait_for(self, prefix: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if line.startswith(prefix)]
            if found:
                return found[-1]
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {prefix!r} line; rc {self.proc.poll()}: {self.lines()}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@contextlib.contextmanager
def witness_command(data: Path, out: Path, *args: str) -> Iterator[Process]:
    port = free_port()
    with open(out, "wb") as o:
        proc = subprocess.Popen(
            [*CLI, "witness", "--data", str(data), "--port", str(port), *args],
            cwd=ROOT, env=cli_env(), stdin=subprocess.DEVNULL, stdout=o,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    process = Process(proc, out, f"http://127.0.0.1:{port}")
    try:
        yield process
    finally:
        process.kill()


async def test_the_command_prints_its_vkey_and_persists_before_replying(tmp_path: Path) -> None:
    data, log_flag = tmp_path / "data", ("--log", LOG.verifier().vkey())
    with witness_command(data, tmp_path / "1.out", "--name", "w.test", *log_flag) as first:
        line = first.wait_for("witness w.test vkey ")
        vkey = line.removeprefix("witness w.test vkey ")
        assert CosignatureVerifier.from_vkey(vkey).name == "w.test"
        assert first.wait_for("witness w.test url ") == f"witness w.test url {first.url}"
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(first.url + "/")).text == vkey + "\n"
            await add_checkpoint(first.url, 0, [], signed(5), 10, client=client)
            await add_checkpoint(first.url, 5, TREE.consistency_proof(5, 9), signed(9), 10)
        # Killed at once after the reply: the record must already be on disk.
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
    key = data / "witness" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    # Restarted without --name: the key keeps its name; without --log: the log is unknown.
    with witness_command(data, tmp_path / "2.out") as second:
        assert second.wait_for("witness w.test vkey ") == line
        with pytest.raises(WitnessError) as unknown:
            await add_checkpoint(second.url, 9, [], signed(9), 10)
        assert unknown.value.status == 404
    with witness_command(data, tmp_path / "3.out", *log_flag) as third:
        third.wait_for("witness w.test vkey ")
        with pytest.raises(WitnessConflict) as older:
            await add_checkpoint(third.url, 5, TREE.consistency_proof(5, 7), signed(7), 10)
        assert older.value.latest == 9
        lines = await add_checkpoint(third.url, 9, TREE.consistency_proof(9, 12), signed(12), 10)
        note = signed(12) + lines
        verifier = CosignatureVerifier.from_vkey(vkey)
        assert open_checkpoint(note, [LOG.verifier()], [verifier]).cosignatures
        third.proc.send_signal(signal.SIGTERM)
        assert third.proc.wait(15) == 128 + signal.SIGTERM


def test_the_command_refuses_another_name_for_its_key(tmp_path: Path) -> None:
    """The name is part of the key ID: a witness keeps the name its key was made with."""
    open_witness(tmp_path, name="w.test", default_name="unused").close()
    done = subprocess.run(
        [*CLI, "witness", "--data", str(tmp_path), "--port", str(free_port()), "--name", "w2"],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"the witness key in {tmp_path / 'witness' / 'key'} is named 'w.test', not 'w2'" in (
        done.stderr
    )
    assert done.stdout == ""


async def test_the_command_lets_its_operators_register_logs_for_that_run(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "data" / "witness" / "logs"
    operator_flag = ("--operator", OPERATOR.verifier().vkey())
    with witness_command(data, tmp_path / "1.out", "--name", "w.test", *operator_flag) as first:
        vkey = first.wait_for("witness w.test vkey ").removeprefix("witness w.test vkey ")
        with pytest.raises(WitnessError) as outside:
            await register_log(first.url, registration_note(OPERATOR, OTHER.verifier().vkey()), 10)
        assert outside.value.status == 403
        assert not logs.exists()
        note = registration_note(OPERATOR, NEW_LOG.verifier().vkey())
        assert await register_log(first.url, note, 10) is True
        assert await register_log(first.url, note, 10) is False
        # The log is written down; the operator of the command line is not.
        assert logs.read_text() == f"log {NEW_LOG.verifier().vkey()}\n"
        checkpoint = Checkpoint(NEW_LOG.name, 2, TREE.root(2)).sign(NEW_LOG)
        lines = await add_checkpoint(first.url, 0, [], checkpoint, 10)
        verifier = CosignatureVerifier.from_vkey(vkey)
        assert open_checkpoint(checkpoint + lines, [NEW_LOG.verifier()], [verifier]).cosignatures

    # Restarted without --operator: the log is still witnessed, the operator not trusted.
    with witness_command(data, tmp_path / "2.out") as second:
        second.wait_for("witness w.test vkey ")
        await add_checkpoint(second.url, 2, [], checkpoint, 10)  # the same checkpoint again
        later = registration_note(OPERATOR, Ed25519Signer("mvoting.test/poll/3", private_key(7))
                                  .verifier().vkey())  # fmt: skip
        with pytest.raises(WitnessError) as unknown:
            await register_log(second.url, later, 10)
        assert unknown.value.status == 403
        assert logs.read_text() == f"log {NEW_LOG.verifier().vkey()}\n"


def test_the_command_refuses_an_operator_that_is_not_a_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "witness", "--data", str(tmp_path), "--port", str(free_port()),
         "--operator", LOG.verifier().vkey(), "--operator", "not-a-key"],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "mvoting: not an operator key: not a vkey: 'not-a-key'" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "witness" / "logs").exists()


async def test_the_client_reports_refusals_and_silence(tmp_path: Path) -> None:
    async with witness_at(tmp_path) as w:
        await add_checkpoint(w.url + "/", 0, [], signed(3), 10, client=w.client)
        with pytest.raises(WitnessConflict) as conflict:
            await add_checkpoint(w.url, 0, [], signed(4), 10)
        assert (conflict.value.status, conflict.value.latest) == (409, 3)
        with pytest.raises(WitnessError) as forbidden:
            await add_checkpoint(w.url, 3, [], signed(3, TREE, IMPOSTOR), 10)
        assert forbidden.value.status == 403
        assert "no signature from a known key" in str(forbidden.value)
    with pytest.raises(WitnessError) as silent:
        await add_checkpoint(f"http://127.0.0.1:{free_port()}", 0, [], signed(3), 5)
    assert silent.value.status == 0


async def test_the_client_maps_registration_answers(tmp_path: Path) -> None:
    logs = tmp_path / "witness" / "logs"
    note = registration_note(OPERATOR, NEW_LOG.verifier().vkey())
    async with witness_at(tmp_path, operators=(OPERATOR.verifier().vkey(),)) as w:
        assert await register_log(w.url + "/", note, 10, client=w.client) is True
        assert await register_log(w.url, note, 10) is False
        before = logs.read_bytes()
        refusals = [
            (registration_note(NOT_OPERATOR, NEW_LOG.verifier().vkey()), 403,
             "403: not signed by an operator: the note has no signature from a known key"),
            (registration_note(OPERATOR, OTHER.verifier().vkey()), 403,
             "403: the log 'other.test/log' is not under the namespace of its operator"),
            (b"garbage", 400, "400: not a registration: no blank line"),
            (note + b"x" * MAX_BODY, 413, f"413: the request body is larger than {MAX_BODY}"),
        ]  # fmt: skip
        for body, status, message in refusals:
            with pytest.raises(WitnessError) as refused:
                await register_log(w.url, body, 10, client=w.client)
            assert refused.value.status == status
            assert f"witness {w.url}: {message}" in str(refused.value)
            assert logs.read_bytes() == before
    with pytest.raises(WitnessError) as silent:
        await register_log(f"http://127.0.0.1:{free_port()}", note, 5)
    assert silent.value.status == 0


async def test_the_client_refuses_a_200_that_is_neither_added_nor_known() -> None:
    async def agreeable(request: Request) -> PlainTextResponse:
        return PlainTextResponse("yes\n")

    app = Starlette(routes=[Route("/add-log", agreeable, methods=["POST"])])
    async with serving_app(app) as url:
        with pytest.raises(WitnessError) as odd:
            await register_log(url, registration_note(OPERATOR, NEW_LOG.verifier().vkey()), 10)
    assert odd.value.status == 200
    assert "the answer is not 'added' or 'known': 'yes\\n'" in str(odd.value)


# --- local witnesses for `make run` -------------------------------------------------------------


def test_local_witnesses_and_their_policy_make_a_quorum(tmp_path: Path) -> None:
    data = tmp_path / "data"
    started: list[LocalWitnesses] = []
    try:
        operators = [OPERATOR.verifier().vkey()]
        local = start_local_witnesses(data, logs=[LOG.verifier().vkey()], operators=operators)
        started.append(local)
        assert [w.name for w in local.witnesses] == [f"witness-{i}.local" for i in range(1, 5)]
        assert all(w.owned for w in local.witnesses)
        policy = Policy.parse((data / "policy").read_bytes())
        assert policy == local.policy
        assert policy.groups == (PolicyGroup("local-witnesses", 3, policy_names(local)),)
        assert [w.url for w in policy.witnesses] == [w.url for w in local.witnesses]

        async def cosign(witnesses: list[LocalWitness]) -> bytes:
            return b"".join([await add_checkpoint(w.url, 0, [], signed(6), 10) for w in witnesses])

        two = signed(6) + asyncio.run(cosign(local.witnesses[:2]))
        with pytest.raises(QuorumError):
            policy.open_checkpoint(two)
        three = two + asyncio.run(cosign(local.witnesses[2:3]))
        assert len(policy.open_checkpoint(three).cosignatures) == 3

        # A second start on the same data dir uses the running witnesses.
        again = start_local_witnesses(data, logs=[LOG.verifier().vkey()], operators=operators)
        assert [(w.url, w.vkey, w.owned) for w in again.witnesses] == [
            (w.url, w.vkey, False) for w in local.witnesses
        ]
        assert again.policy == policy
        # A log added later is trusted by every witness at once.
        local.add_log(OTHER.verifier().vkey())
        other = Checkpoint(OTHER.name, 1, TREE.root(1)).sign(OTHER)
        for w in local.witnesses:
            asyncio.run(add_checkpoint(w.url, 0, [], other, 10))
        # A log registered by the operator given at the start, or by one added later, too.
        elections = Ed25519Signer("mvoting.test/election", private_key(8))
        local.add_operator(elections.verifier().vkey())
        for operator, log_key in [
            (OPERATOR, NEW_LOG),
            (elections, Ed25519Signer("mvoting.test/election/1", private_key(9))),
        ]:
            note = registration_note(operator, log_key.verifier().vkey())
            checkpoint = Checkpoint(log_key.name, 1, TREE.root(1)).sign(log_key)
            for w in local.witnesses:
                assert asyncio.run(register_log(w.url, note, 10)) is True
                asyncio.run(add_checkpoint(w.url, 0, [], checkpoint, 10))
    finally:
        for local in started:
            local.stop()
    for w in local.witnesses:
        assert w.process is not None and w.process.poll() is not None
        assert not (w.data / "run.json").exists()


def policy_names(local: LocalWitnesses) -> tuple[str, ...]:
    return tuple(w.name for w in local.witnesses)
