"""The ledger's public surface keeps a hidden poll's results hidden, refuses a consistency
proof from the empty tree with a 400, and proves receipts against a checkpoint the quorum
cosigned.

The attack: an attendee takes the log id from the join ack, asks for the consistency proof
of every size m to m + 1 (each holds the leaf hash of entry m) and for the receipt of each
leaf hash (whose extra data is the ballot): the whole tally, rebuilt while the socket sends
nothing. Each test drives a running node over HTTP and Socket.IO, with real witnesses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from live import store
from live.engines import db
from live.ledger.local_witnesses import LocalWitnesses
from live.ledger.log import Ledger, LogInfo
from live.services import Services, open_services
from live.settings import Settings
from rooms.promise import HEADER, ReceiptPromise, open_promise
from rooms.questions import Action
from rooms.tlog._text import decode_base64
from rooms.tlog.merkle import MerkleLog, leaf_hash, verify_consistency
from rooms.tlog.policy import Policy
from rooms.tlog.proof import TlogProof
from tests.conftest import Node, connect, free_port, run_node, running_worker
from tests.live.helpers import make_room
from tests.live.test_cli import CLI, cli_env
from tests.live.test_ledger import verification

CHOICES = [0, 1, 1, 2, 1]  #: one ballot each, in voting order
HIDDEN = {
    "ok": False,
    "error": {
        "code": "results_hidden",
        "message": "The results of this question are not shown yet; its log can be read "
        "once they are.",
    },
}


@dataclasses.dataclass
class Voter:
    receipt: str  #: the ballot's leaf hash (hex), from the vote ack
    device: str  #: the signed device token of the join ack (the ``mv_device`` cookie)
    choice: int


@pytest.fixture
async def fast(witnessed: Settings) -> AsyncIterator[tuple[Services, Node]]:
    """Services and a node whose ledger checkpoints every 50 ms, cosigned by the witnesses."""
    settings = witnessed.with_(checkpoint_interval=0.05)
    async with open_services(settings) as svc, run_node(settings) as node:
        yield svc, node


async def _log_of(svc: Services, qid: str) -> str:
    q = await store.load_question(svc, qid)
    assert q is not None and q.log_id is not None
    return q.log_id


async def _until_logged(ledger: Ledger, log_id: str, size: int) -> LogInfo:
    """The log once it holds ``size`` entries, with a checkpoint of them the quorum cosigned:
    everything a reader could be served exists."""
    async with asyncio.timeout(20):
        while (info := await ledger.log_info(log_id)) is None or info.size < size:
            await asyncio.sleep(0.05)
    assert info.size == size
    assert (await ledger.cosign(info, await ledger.checkpoint(info))).quorum_met
    return info


async def _entries(svc: Services, log_id: str) -> list[bytes]:
    entries = db.ledger_entries
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(entries.c.entry).where(entries.c.log_id == log_id).order_by(entries.c.idx)
        )
        return [bytes(e) for e in rows.scalars()]


async def _cast(node: Node, number: str, qid: str) -> list[Voter]:
    voters = []
    for choice in CHOICES:
        async with connect(node.url) as phone:
            assert (await phone.join(number, password="pw"))["ok"]
            ack = await phone.vote(qid, [choice])
            assert ack["ok"], ack
            assert phone.device is not None
            voters.append(Voter(ack["receipt"], phone.device, choice))
    return voters


async def _walk(http: httpx.AsyncClient, log_id: str, sizes: int) -> list[httpx.Response]:
    """The attack's requests: every consistency proof from m to m + 1."""
    return [
        await http.get(f"/ledger/{log_id}/consistency", params={"old": m, "new": m + 1})
        for m in range(0, sizes + 1)
    ]


@pytest.mark.parametrize(
    ("visibility", "opens"),
    [
        pytest.param("after_close", Action.CLOSE, id="after_close-then-close"),
        pytest.param("after_close", Action.REVEAL, id="after_close-then-reveal"),
        pytest.param("after_vote", Action.CLOSE, id="after_vote-then-close"),
    ],
)
async def test_an_attendee_walking_a_hidden_polls_ledger_gets_no_choice_and_no_count(
    fast: tuple[Services, Node], visibility: str, opens: Action, tmp_path: Path
) -> None:
    svc, node = fast
    room = await make_room(svc, {"visibility": visibility})
    log_id = await _log_of(svc, room.q)
    ledger = Ledger(svc)
    async with running_worker(svc):
        voters = await _cast(node, room.number, room.q)
        await _until_logged(ledger, log_id, 1 + len(CHOICES))  # the opening, the ballots

        async with connect(node.url) as attacker:
            joined = await attacker.join(room.number, key=room.info.key)
            assert joined["questions"][0]["log"] == log_id
            assert "tally" not in joined["questions"][0]  # the socket says nothing
            assert attacker.device is not None
            cookies = {"mv_device": attacker.device}
            async with httpx.AsyncClient(base_url=node.url, cookies=cookies) as http:
                status = (await http.get(f"/ledger/{log_id}")).json()["log"]
                assert (status["size"], status["status"]) == (None, "open")
                refused = [
                    await http.get(f"/ledger/{log_id}/checkpoint"),
                    *await _walk(http, log_id, 1 + len(CHOICES)),
                    *[await http.get(f"/ledger/receipt/{v.receipt}") for v in voters],
                ]
                assert [(r.status_code, r.json()) for r in refused] == [(403, HIDDEN)] * len(
                    refused
                )
                assert (await http.get(f"/ledger/{log_id}/export")).status_code == 409

            # The voter's own device: its receipt once it may see the results, not before;
            # never another voter's.
            first, second = voters[0], voters[1]
            async with httpx.AsyncClient(
                base_url=node.url, cookies={"mv_device": first.device}
            ) as own:
                mine = await own.get(f"/ledger/receipt/{first.receipt}")
                theirs = await own.get(f"/ledger/receipt/{second.receipt}")
                policy = Policy.parse((await own.get(f"/ledger/{log_id}/policy")).content)
            assert (theirs.status_code, theirs.json()) == (403, HIDDEN)
            if visibility == "after_vote":
                assert mine.status_code == 200
                proof = TlogProof.parse(mine.content)
                assert proof.extra is not None and orjson.loads(proof.extra)["c"] == [0]
                proof.verify(bytes.fromhex(first.receipt), policy)
            else:
                # The log's signed promise of the voter's entry: their choice, no index, no
                # tree size; the CLI checks it now, and again once the proof is served.
                assert mine.status_code == 200, mine.text
                promise = open_promise(mine.content, [log.verifier for log in policy.logs])
                assert orjson.loads(promise.entry)["c"] == [0]
                assert promise.leaf.hex() == first.receipt
                assert mine.content.decode().split("\n")[:2] == [HEADER, promise.origin]
                # Nothing but the origin, the leaf and the entry is signed: no size, no index.
                text = ReceiptPromise(promise.origin, promise.entry).text().encode()
                assert mine.content.startswith(text + "\n\u2014 ".encode())
                promised = tmp_path / "mine.promise"
                promised.write_bytes(mine.content)
                early = await _verify_json(promised, node.url)
                assert (early["verified"], early["promise"]) == (True, "pending"), early
                assert (early["choices"], early["index"], early["size"]) == ([0], None, None)
                forged = tmp_path / "forged.promise"
                forged.write_bytes(mine.content.replace(b"\n\n", b"\nx\n\n", 1))
                assert (await _verify_json(forged, node.url, rc=1))["verified"] is False

            # The results open: the same requests, from the same attendee, verify.
            await store.act(svc, room.q, opens)
            if opens is Action.CLOSE:
                assert (await verification(svc, room.q))["status"] == "completed"
            size = 1 + len(CHOICES) + (opens is Action.CLOSE)  # and the closing
            async with httpx.AsyncClient(base_url=node.url, cookies=cookies) as http:
                status = (await http.get(f"/ledger/{log_id}")).json()["log"]
                assert status["size"] == size
                signed = policy.open_checkpoint(
                    (await http.get(f"/ledger/{log_id}/checkpoint")).content
                )
                assert signed.checkpoint.size == size
                tree = MerkleLog(map(leaf_hash, await _entries(svc, log_id)))
                assert signed.checkpoint.root == tree.root()
                walked = await _walk(http, log_id, size - 1)
                assert walked[0].status_code == 400  # from the empty tree: no such proof
                harvested: set[str] = set()
                for m, response in enumerate(walked[1:], start=1):
                    assert response.status_code == 200, response.text
                    hashes = [decode_base64(line) for line in response.text.split()]
                    assert None not in hashes
                    proof_hashes = [h for h in hashes if h is not None]
                    verify_consistency(m, m + 1, tree.root(m), tree.root(m + 1), proof_hashes)
                    harvested |= {h.hex() for h in proof_hashes}
                # What the attack is: those proofs name every ballot's leaf hash...
                assert {v.receipt for v in voters} <= harvested
                # ...and each receipt its ballot, which rebuilds the tally now shown.
                counted: Counter[int] = Counter()
                for v in voters:
                    response = await http.get(f"/ledger/receipt/{v.receipt}")
                    assert response.status_code == 200, response.text
                    proof = TlogProof.parse(response.content)
                    proof.verify(bytes.fromhex(v.receipt), policy)
                    assert proof.extra is not None
                    counted.update(orjson.loads(proof.extra)["c"])
                assert counted == Counter(CHOICES)
                exported = await http.get(f"/ledger/{log_id}/export")
                assert exported.status_code == (200 if opens is Action.CLOSE else 409)
            if visibility == "after_close":  # the promise, checked again: kept
                kept = await _verify_json(tmp_path / "mine.promise", node.url)
                assert (kept["verified"], kept["promise"]) == (True, "kept"), kept
                assert (kept["choices"], kept["index"]) == ([0], 1)
    await ledger.aclose()


async def _verify_json(path: Path, server: str, rc: int = 0) -> dict[str, Any]:
    """``mvoting verify --json`` on ``path``, as a voter runs it."""
    done = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "verify", str(path), "--server", server, "--json"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == rc, f"rc {done.returncode}: {done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_a_consistency_proof_from_the_empty_tree_is_a_bad_request(
    fast: tuple[Services, Node],
) -> None:
    svc, node = fast
    room = await make_room(svc)
    log_id = await _log_of(svc, room.q)
    ledger = Ledger(svc)
    async with running_worker(svc), httpx.AsyncClient(base_url=node.url) as http:
        async with connect(node.url) as phone:
            assert (await phone.join(room.number, password="pw"))["ok"]
            assert (await phone.vote(room.q, [1]))["ok"]
        await _until_logged(ledger, log_id, 2)
        answers = [
            await http.get(f"/ledger/{log_id}/consistency", params={"old": old, "new": new})
            for old, new in ((0, 2), (0, 1), (0, 0), (1, 2), (2, 2))
        ]
    await ledger.aclose()
    bad = {
        "ok": False,
        "error": {
            "code": "bad_request",
            "message": "The request is malformed: sizes run from 1 to the log's 2, old <= new.",
        },
    }
    assert [(a.status_code, a.json()) for a in answers[:3]] == [(400, bad)] * 3
    assert [a.status_code for a in answers[3:]] == [200, 200]
    assert answers[4].text == ""  # a tree is consistent with itself by the empty proof


async def test_a_receipt_is_proved_against_the_newest_checkpoint_the_quorum_cosigned(
    witnessed: Settings, witnesses: LocalWitnesses, tmp_path: Path
) -> None:
    """Two witnesses of the four go away: the newest checkpoint has two cosignatures, short
    of the 3-of-4 quorum. A receipt it holds, and an older quorum checkpoint holds too, is
    proved against the older one; a receipt only it holds is not served yet."""
    path = tmp_path / "policy"
    full = dataclasses.replace(witnesses.policy, logs=())
    path.write_bytes(full.to_bytes())
    down = f"http://127.0.0.1:{free_port()}/gone"
    short = dataclasses.replace(
        full,
        witnesses=tuple(
            w if i < 2 else dataclasses.replace(w, url=down) for i, w in enumerate(full.witnesses)
        ),
    )
    # The worker signs the opening's checkpoint, then none for an hour: this test signs.
    settings = witnessed.with_(ledger_policy=path, checkpoint_interval=3600.0)
    async with open_services(settings) as svc, run_node(settings) as node:
        room = await make_room(svc)
        log_id = await _log_of(svc, room.q)
        ledger = Ledger(svc)
        async with running_worker(svc), httpx.AsyncClient(base_url=node.url) as http:
            early = (await _cast_one(node, room.number, room.q, 0))["receipt"]
            quorate = await _until_logged(ledger, log_id, 2)

            path.write_bytes(short.to_bytes())
            late = (await _cast_one(node, room.number, room.q, 2))["receipt"]
            async with asyncio.timeout(20):
                while (found := await ledger.log_info(log_id)) is None or found.size < 3:
                    await asyncio.sleep(0.05)
            info = found
            assert info is not None
            witnessing = await ledger.cosign(info, await ledger.checkpoint(info))
            assert (witnessing.quorum_met, len(witnessing.cosigned)) == (False, 2)
            newest = await ledger.stored_checkpoint(log_id)
            assert newest is not None and newest[0] == 3

            policy = Policy.parse((await http.get(f"/ledger/{log_id}/policy")).content)
            served = await http.get(f"/ledger/receipt/{early}")
            waiting = await http.get(f"/ledger/receipt/{late}")
        await ledger.aclose()
    assert served.status_code == 200, served.text
    proof = TlogProof.parse(served.content)
    signed = proof.verify(bytes.fromhex(early), policy)
    assert (signed.checkpoint.size, proof.index) == (quorate.size, 1)
    assert len(policy.cosigners(signed)) == 4
    assert waiting.status_code == 404
    assert waiting.json()["error"]["code"] == "not_logged_yet"


async def _cast_one(node: Node, number: str, qid: str, choice: int) -> dict[str, Any]:
    async with connect(node.url) as phone:
        assert (await phone.join(number, password="pw"))["ok"]
        ack: dict[str, Any] = await phone.vote(qid, [choice])
    assert ack["ok"], ack
    return ack
