"""The ledger's command line, run as a user runs it: ``mvoting room close``, ``room results``,
``log export``, ``recount`` and ``verify`` as subprocesses, on a real poll.

The module's poll: a web node on a real port and the archive worker (in this process, on
the session's event loop), the session's four witnesses with a 3-of-4 quorum, voters over
Socket.IO. The data dir's ``.env`` points the commands at the same Valkey key prefix,
archive, secret and policy as the node, as it would for a ``serve`` in production. Every
test is async and runs the command in a thread, so the node keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from live import store
from live.engines import bundled
from live.ledger.local_witnesses import LocalWitnesses
from live.ledger.log import Ledger
from live.ledger.receipt_check import server_of
from live.services import Services, open_services
from live.settings import load_settings
from rooms.log_export import LogExport
from rooms.questions import Action, build_question
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.policy import Policy, PolicyGroup, PolicyWitness
from rooms.tlog.proof import TlogProof
from tests.conftest import connect, run_node, running_worker
from tests.live.helpers import make_room
from tests.live.test_cli import CLI, ROOT, cli_env, free_port

# A cold command start imports the app and migrates; the module's poll takes a few seconds.
pytestmark = pytest.mark.timeout(120)

CHOICES = [0, 1, 2, 0, 0, 1]  # one per voter: Rice 3, Noodles 2, Salad 1
EARLY = 3  # voters before the early receipt
FINAL_SIZE = 1 + len(CHOICES) + 1  # the opening, the ballots, the closing


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def mvoting(*args: str) -> subprocess.CompletedProcess[str]:
    """The command, in a thread: the node and the worker run on this event loop."""
    return await asyncio.to_thread(run, *args)


async def mvoting_json(*args: str, rc: int = 0) -> Any:
    done = await mvoting(*args, "--json")
    assert done.returncode == rc, f"mvoting {args}: rc {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout)


@dataclass
class Poll:
    data: Path
    files: Path  #: where a test writes the files it hands to the command
    url: str
    svc: Services
    room: str  #: its number
    question: str  #: receipts on
    secret: str  #: receipts off
    draft: str  #: never opened
    log: str
    receipts: list[str]  #: each voter's receipt (leaf hash, hex), in voting order
    secret_receipt: str
    early: bytes  #: voter 0's receipt as downloaded while the poll was open
    policy: Policy  #: as the server publishes it for the log
    closed: subprocess.CompletedProcess[str]  #: what ``mvoting room close`` said

    def file(self, name: str, data: bytes) -> str:
        path = self.files / name
        path.write_bytes(data)
        return str(path)

    async def receipt(self, index: int) -> bytes:
        async with httpx.AsyncClient(base_url=self.url) as http:
            response = await http.get(f"/ledger/receipt/{self.receipts[index]}")
        assert response.status_code == 200, response.text
        return response.content


async def verdict(svc: Services, qid: str, timeout: float = 30.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while (q := await store.load_question(svc, qid)) is None or q.verification is None:
            await asyncio.sleep(0.05)
    return q.verification


@pytest.fixture(scope="module")
async def poll(
    valkey: bundled.EmbeddedValkey,
    witnesses: LocalWitnesses,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Poll]:
    base = tmp_path_factory.mktemp("ledger-cli")
    data, files = base / "data", base / "files"
    data.mkdir()
    files.mkdir()
    env = {
        "REDIS_URL": valkey.url,
        "MVOTING_SECRET": "test-secret",  # the operator key the witnesses trust
        "MVOTING_KEY_PREFIX": f"tcli-{secrets.token_hex(4)}:",
        "MVOTING_LEDGER_POLICY": str(witnesses.policy_path),
        "MVOTING_CHECKPOINT_INTERVAL_MS": "50",
        "MVOTING_REDIS_POOL": "16",
        "MVOTING_LOG_LEVEL": "warning",
    }
    (data / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    settings = load_settings({}, MVOTING_DATA=str(data))
    async with (
        open_services(settings) as svc,
        run_node(settings) as node,
        running_worker(svc),
        httpx.AsyncClient(base_url=node.url) as http,
    ):
        info = await store.create_room(svc, title="Town hall", password="pw")
        specs = [
            build_question("Lunch?", "single", "Rice,Noodles,Salad"),
            build_question("Secret ballot", "yesno", receipts=False),
            build_question("Dessert?", "yesno"),
        ]
        qid, secret, draft = [(await store.add_question(svc, info.id, s)).id for s in specs]
        for opened in (qid, secret):
            await store.act(svc, opened, Action.OPEN)
        q = await store.load_question(svc, qid)
        assert q is not None and q.log_id is not None
        log_url = f"/ledger/{q.log_id}"
        policy = Policy.parse((await http.get(f"{log_url}/policy")).content)

        receipts: list[str] = []
        secret_receipt = ""

        async def vote(choice: int) -> None:
            nonlocal secret_receipt
            async with connect(node.url) as c:
                assert (await c.join(info.number, password="pw"))["ok"]
                ack = await c.vote(qid, [choice])
                assert ack["ok"], ack
                receipts.append(ack["receipt"])
                if not secret_receipt:
                    ack = await c.vote(secret, [0])
                    assert ack["ok"], ack
                    secret_receipt = ack["receipt"]

        for choice in CHOICES[:EARLY]:
            await vote(choice)
        # Once the early ballots are in the log, a checkpoint of them cosigned. The worker
        # signs checkpoints and has them cosigned while ballots arrive, but the last batch
        # before a pause waits for the next ballot (or the close): sign and cosign it now,
        # as the worker does.
        async with asyncio.timeout(20):
            while (await http.get(log_url)).json()["log"]["size"] < 1 + EARLY:
                await asyncio.sleep(0.05)
        ledger = Ledger(svc)
        log_info = await ledger.log_info(q.log_id)
        assert log_info is not None
        assert (await ledger.cosign(log_info, await ledger.checkpoint(log_info))).quorum_met
        await ledger.aclose()
        early = (await http.get(f"/ledger/receipt/{receipts[0]}")).content
        early_size = policy.open_checkpoint(TlogProof.parse(early).checkpoint).checkpoint.size
        assert early_size == 1 + EARLY  # the opening and the early ballots

        for choice in CHOICES[EARLY:]:
            await vote(choice)
        closed = await mvoting("room", "close", info.number, "--data", str(data))
        assert closed.returncode == 0, closed.stderr
        for done in (qid, secret):
            assert (await verdict(svc, done))["status"] == "completed"
        yield Poll(
            data,
            files,
            node.url,
            svc,
            info.number,
            qid,
            secret,
            draft,
            q.log_id,
            receipts,
            secret_receipt,
            early,
            policy,
            closed,
        )


def cosigners(policy: Policy, note: bytes) -> int:
    """How many of the policy's witnesses cosigned the checkpoint ``note``."""
    return len({(s.name, s.key_id) for s in policy.open_checkpoint(note).cosignatures})


def stricter(policy: Policy, present: int) -> Policy:
    """``policy`` with one more witness, and a quorum of one more than ``present``."""
    extra = PolicyWitness("extra", Cosigner.generate("extra.example").verifier())
    witnesses = (*policy.witnesses, extra)
    group = PolicyGroup("strict", present + 1, tuple(w.name for w in witnesses))
    return Policy(policy.logs, witnesses, (group,), "strict")


# --- room close, room results ----------------------------------------------------------


async def test_room_close_closes_the_open_questions_and_results_give_the_verdict(
    poll: Poll,
) -> None:
    assert poll.closed.stdout.splitlines() == [
        f"closed {poll.question} 'Lunch?'",
        f"closed {poll.secret} 'Secret ballot'",
    ]
    body = await mvoting_json("room", "results", poll.room, "--data", str(poll.data))
    by_id = {q["id"]: q for q in body["questions"]}
    lunch = by_id[poll.question]
    assert (lunch["status"], lunch["counts"], lunch["total"]) == ("closed", [3, 2, 1], 6)
    assert (lunch["log"], lunch["verification"], lunch["reason"]) == (poll.log, "completed", "")
    assert by_id[poll.secret]["verification"] == "completed"
    draft = by_id[poll.draft]
    assert (draft["status"], draft["log"], draft["verification"]) == ("draft", None, None)

    again = await mvoting("room", "close", poll.room, "--data", str(poll.data))
    assert (again.returncode, again.stdout) == (0, f"room {poll.room} has no open question\n")


async def test_room_close_of_an_unknown_room_fails(poll: Poll) -> None:
    body = await mvoting_json("room", "close", "999999", "--data", str(poll.data), rc=1)
    assert body["error"]["code"] == "unknown_room"
    done = await mvoting("room", "close", "999999", "--data", str(poll.data))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip().endswith("There is no open room with number 999999. (unknown_room)")


# --- log export, recount ---------------------------------------------------------------


async def test_log_export_writes_the_closed_poll_and_recount_verifies_it(poll: Poll) -> None:
    done = await mvoting("log", "export", poll.question, "--data", str(poll.data))
    assert done.returncode == 0, done.stderr
    async with httpx.AsyncClient(base_url=poll.url) as http:
        served = (await http.get(f"/ledger/{poll.log}/export")).content
    assert done.stdout.encode() == served + b"\n"  # what the server serves, to the byte
    export = LogExport.parse(done.stdout.encode())
    assert (export.question, len(export.entries)) == (poll.question, FINAL_SIZE)
    path = poll.file("log.json", done.stdout.encode())

    expected = {"counts": [3, 2, 1], "total": 6, "verified": True, "reason": None}
    assert await mvoting_json("recount", path) == expected
    policy = poll.file("policy", poll.policy.to_bytes())
    assert await mvoting_json("recount", path, "--policy", policy) == expected
    text = await mvoting("recount", path)
    assert text.returncode == 0
    assert text.stdout.splitlines() == [
        f"log {export.origin}, question {poll.question}: {FINAL_SIZE} entries",
        "counts [3, 2, 1], total 6",
        "verified against the file's own policy, which only shows that the file is "
        "consistent with itself; pass --policy with one you trust",
    ]


@pytest.mark.parametrize(
    ("which", "message"),
    [
        pytest.param("unknown", "There is no question {q}. (not_found)", id="unknown"),
        pytest.param("draft", "There is no log of question {q}. (not_found)", id="no-log"),
        pytest.param(
            "open",
            "The poll is still open: its log can be exported once it closes. (invalid_state)",
            id="open",
        ),
    ],
)
async def test_log_export_needs_a_closed_question_with_a_log(
    poll: Poll, which: str, message: str
) -> None:
    question = {"unknown": "NOPE", "draft": poll.draft}.get(which) or (await make_room(poll.svc)).q
    done = await mvoting("log", "export", question, "--data", str(poll.data))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == f"mvoting: {message.format(q=question)}"


def _drop_ballot(body: dict[str, Any], poll: Poll) -> tuple[bytes, list[str]]:
    del body["entries"][2]
    return json.dumps(body).encode(), []


def _alter_nonce(body: dict[str, Any], poll: Poll) -> tuple[bytes, list[str]]:
    entry = json.loads(body["entries"][1])
    entry["n"] = "f" * 32
    body["entries"][1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    return json.dumps(body).encode(), []


def _strict_policy(body: dict[str, Any], poll: Poll) -> tuple[bytes, list[str]]:
    present = cosigners(poll.policy, body["checkpoint"].encode())
    strict = poll.file("strict", stricter(poll.policy, present).to_bytes())
    return json.dumps(body).encode(), ["--policy", strict]


def _a_receipt(body: dict[str, Any], poll: Poll) -> tuple[bytes, list[str]]:
    return poll.early, []


@pytest.mark.parametrize(
    ("alter", "rc", "counts", "reason"),
    [
        pytest.param(
            _drop_ballot, 1, None, "The tally recorded at closing (log entry 6)", id="dropped"
        ),
        pytest.param(
            _alter_nonce,
            1,
            [3, 2, 1],  # the ballots recount, but they are not the log that was signed
            f"The log's first {FINAL_SIZE} entries no longer match the checkpoint",
            id="altered",
        ),
        pytest.param(
            _strict_policy, 1, [3, 2, 1], "the quorum 'strict' is not met", id="too-few-cosigners"
        ),
        pytest.param(_a_receipt, 2, None, "is not a log export: not JSON", id="not-an-export"),
    ],
)
async def test_recount_refuses_an_export_that_is_not_the_cosigned_poll(
    poll: Poll, alter: Any, rc: int, counts: list[int] | None, reason: str
) -> None:
    done = await mvoting("log", "export", poll.question, "--data", str(poll.data))
    data, args = alter(json.loads(done.stdout), poll)
    path = poll.file("altered.json", data)
    result = await mvoting_json("recount", path, *args, rc=rc)
    assert (result["verified"], result["counts"]) == (False, counts)
    assert reason in result["reason"], result["reason"]


# --- verify ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["early", "final"])
async def test_verify_finds_a_receipt_in_the_final_cosigned_log(poll: Poll, which: str) -> None:
    proof = poll.early if which == "early" else await poll.receipt(4)
    voter = 0 if which == "early" else 4
    path = poll.file(f"receipt-{which}.tlog-proof", proof)
    result = await mvoting_json("verify", path, "--server", poll.url)
    size = poll.policy.open_checkpoint(TlogProof.parse(proof).checkpoint).checkpoint.size
    names = {w.name for w in poll.policy.witnesses}
    assert result["verified"] is True and result["reason"] is None
    assert result["receipt"] == poll.receipts[voter][:12]
    assert result["leaf"] == poll.receipts[voter]
    assert (result["question"], result["title"]) == (poll.question, "Lunch?")
    assert result["choices"] == [CHOICES[voter]]
    assert result["labels"] == [["Rice", "Noodles", "Salad"][CHOICES[voter]]]
    assert (result["index"], result["size"]) == (1 + voter, size)
    assert len(result["cosigners"]) == cosigners(poll.policy, TlogProof.parse(proof).checkpoint)
    assert len(result["cosigners"]) >= 3 and set(result["cosigners"]) <= names
    assert result["origin"] == f"mvoting.localhost/ledger/{poll.log}"
    assert (which == "early") == (size < FINAL_SIZE)  # the early one needs a real proof
    final = result["final"]
    assert (final["checked"], final["final"], final["size"]) == (True, True, FINAL_SIZE)
    assert final["message"] == f"Included in the final, cosigned log of {FINAL_SIZE} entries."
    assert final["verification"] == "completed"

    text = await mvoting("verify", path, "--server", poll.url)
    assert text.returncode == 0, text.stdout
    label = result["labels"][0]
    assert text.stdout.splitlines() == [
        f"receipt {poll.receipts[voter][:12]}: verified",
        f"  ballot: {label} on 'Lunch?' (question {poll.question})",
        f"  entry {voter + 2} (index {voter + 1}) of the first {size} entries of the log "
        f"mvoting.localhost/ledger/{poll.log}",
        f"  cosigned by {', '.join(result['cosigners'])}",
        f"  Included in the final, cosigned log of {FINAL_SIZE} entries.",
        "  the server's verdict on the poll: completed",
    ]


async def test_verify_with_a_trusted_policy_needs_no_server(poll: Poll) -> None:
    path = poll.file("receipt.tlog-proof", await poll.receipt(1))
    policy = poll.file("policy", poll.policy.to_bytes())
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = await mvoting_json("verify", path, "--policy", policy, "--server", nowhere)
    assert result["verified"] is True
    assert result["final"] == {
        "checked": False,
        "message": "The server did not answer: no final check.",
    }


def _flip_choice_bit(proof: TlogProof, poll: Poll) -> tuple[TlogProof, list[str]]:
    assert proof.extra is not None
    at = proof.extra.index(b'"c":[') + 5
    flipped = proof.extra[:at] + bytes([proof.extra[at] ^ 1]) + proof.extra[at + 1 :]
    return TlogProof(proof.index, proof.proof, proof.checkpoint, flipped), []


def _next_index(proof: TlogProof, poll: Poll) -> tuple[TlogProof, list[str]]:
    return TlogProof(proof.index + 1, proof.proof, proof.checkpoint, proof.extra), []


def _quorum_of_one_more(proof: TlogProof, poll: Poll) -> tuple[TlogProof, list[str]]:
    present = cosigners(poll.policy, proof.checkpoint)
    return proof, ["--policy", poll.file("strict", stricter(poll.policy, present).to_bytes())]


def _no_server(proof: TlogProof, poll: Poll) -> tuple[TlogProof, list[str]]:
    return proof, ["--server", f"http://127.0.0.1:{free_port()}"]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        pytest.param(
            _flip_choice_bit, "the inclusion proof does not lead to the root", id="flipped-bit"
        ),
        pytest.param(_next_index, "the inclusion proof", id="wrong-index"),
        pytest.param(
            _quorum_of_one_more, "the quorum 'strict' is not met by", id="too-few-cosigners"
        ),
        pytest.param(_no_server, "could not fetch the log's policy from", id="no-policy"),
    ],
)
async def test_verify_refuses_a_receipt_that_does_not_check(
    poll: Poll, tamper: Any, reason: str
) -> None:
    proof, args = tamper(TlogProof.parse(await poll.receipt(2)), poll)
    path = poll.file("tampered.tlog-proof", proof.to_bytes())
    server = [] if "--server" in args else ["--server", poll.url]
    result = await mvoting_json("verify", path, *server, *args, rc=1)
    assert result["verified"] is False
    assert reason in result["reason"], result["reason"]
    text = await mvoting("verify", path, *server, *args)
    assert text.returncode == 1
    assert text.stdout == f"receipt {result['receipt']}: NOT verified: {result['reason']}\n"


async def test_a_question_without_receipts_refuses_the_download(poll: Poll) -> None:
    async with httpx.AsyncClient(base_url=poll.url) as http:
        response = await http.get(f"/ledger/receipt/{poll.secret_receipt}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "receipts_off"


@pytest.mark.parametrize(
    ("origin", "server"),
    [
        ("mvoting.localhost/ledger/0123456789abcdef", "http://mvoting.localhost"),
        ("127.0.0.1:8000/ledger/0123456789abcdef", "http://127.0.0.1:8000"),
        ("vote.example.org/ledger/0123456789abcdef", "https://vote.example.org"),
        ("example.org/meetings/ledger/0123456789abcdef", "https://example.org/meetings"),
        ("log.example.org/polls/0123456789abcdef", "https://log.example.org"),
    ],
)
def test_the_server_of_a_log_is_found_from_its_origin(origin: str, server: str) -> None:
    assert server_of(origin) == server


async def test_the_operator_key_is_the_one_the_witnesses_are_given(
    witnesses: LocalWitnesses, tmp_path: Path
) -> None:
    # The tests' witnesses trust the operator of the tests' secret and default ledger name.
    (tmp_path / ".env").write_text("MVOTING_SECRET=test-secret\n")
    done = await mvoting("log", "operator-key", "--data", str(tmp_path))
    assert done.returncode == 0, done.stderr
    vkey = done.stdout.strip()
    logs = (witnesses.witnesses[0].data / "witness" / "logs").read_text().split("\n")
    assert f"operator {vkey}" in logs
    assert vkey.startswith("mvoting.localhost/ledger+")
    # Another ledger name, another key: a witness of one deployment takes no other's logs.
    (tmp_path / ".env").write_text("MVOTING_SECRET=test-secret\nMVOTING_LEDGER_NAME=x.org/l\n")
    other = (await mvoting("log", "operator-key", "--data", str(tmp_path))).stdout.strip()
    assert other.startswith("x.org/l+") and other != vkey
