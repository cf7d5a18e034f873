"""The integrity ledger end to end: a poll's log appended with the archive, cosigned by
the witnesses at close, judged, and each voter's receipt checked alone."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx

from live import store
from live.ledger.log import Ledger
from live.services import Services, open_services
from live.settings import Settings
from rooms.log_export import LogExport, recount_export
from rooms.questions import Action, build_question
from rooms.tlog.merkle import MerkleLog, leaf_hash, verify_consistency
from rooms.tlog.policy import Policy
from rooms.tlog.proof import TlogProof
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import make_room


async def verification(svc: Services, qid: str, timeout: float = 20.0) -> dict[str, Any]:
    """The question's verdict once the worker has one."""
    async with asyncio.timeout(timeout):
        while True:
            q = await store.load_question(svc, qid)
            if q is not None and q.verification is not None:
                return q.verification
            await asyncio.sleep(0.05)


async def test_a_closed_poll_is_verified_and_every_receipt_checks_alone(
    witnessed: Settings, node: Node
) -> None:
    async with open_services(witnessed) as svc:
        room = await make_room(svc)
        receipts = {}
        async with running_worker(svc):
            for i in range(7):
                async with connect(node.url) as c:
                    assert (await c.join(room.number, password="pw"))["ok"]
                    ack = await c.vote(room.q, [i % 3])
                    receipts[ack["receipt"]] = i % 3
            await store.act(svc, room.q, Action.CLOSE)
            verdict = await verification(svc, room.q)
        assert verdict["status"] == "completed", verdict
        ledger = Ledger(svc)
        q = await store.load_question(svc, room.q)
        assert q is not None and q.log_id is not None
        info = await ledger.log_info(q.log_id)
        assert info is not None and info.size == 7 + 2  # opening, 7 ballots, closing
        policy = ledger.log_policy(info)
        assert policy is not None
        for receipt, choice in receipts.items():
            logged = await ledger.logged_entry(receipt)
            assert logged is not None
            found = await ledger.receipt(logged)
            assert found is not None
            proof = TlogProof.parse(found)
            assert proof.extra is not None and leaf_hash(proof.extra).hex() == receipt
            signed = proof.verify(bytes.fromhex(receipt), policy)
            assert signed.checkpoint.size == 9 and len(signed.cosignatures) >= 3
            assert f'"c":[{choice}]'.encode() in proof.extra
        await ledger.aclose()


async def test_the_ledger_over_http_gives_status_policy_checkpoint_proofs_and_export(
    witnessed: Settings, witnessed_node: Node
) -> None:
    node = witnessed_node
    async with open_services(witnessed) as svc, httpx.AsyncClient(base_url=node.url) as http:
        room = await make_room(svc)
        q = await store.load_question(svc, room.q)
        assert q is not None and q.log_id is not None
        log_url = f"/ledger/{q.log_id}"
        async with running_worker(svc):
            async with connect(node.url) as c:
                assert (await c.join(room.number, password="pw"))["ok"]
                ack = await c.vote(room.q, [1])
            # Counted at once; the proof is ready once archived and checkpointed, within
            # the checkpoint interval even though no other ballot follows it.
            async with asyncio.timeout(witnessed.checkpoint_interval + 5):
                while (early := await http.get(f"/ledger/receipt/{ack['receipt']}")).is_error:
                    assert early.status_code == 404
                    assert early.json()["error"]["code"] == "not_logged_yet"
                    await asyncio.sleep(0.1)
            assert TlogProof.parse(early.content).index == 1  # after the opening
            refused = await http.get(f"{log_url}/export")
            assert refused.status_code == 409  # an open poll's log is not final
            await store.act(svc, room.q, Action.CLOSE)
            assert (await verification(svc, room.q))["status"] == "completed"
        status = (await http.get(log_url)).json()["log"]
        assert status["size"] == 3 and status["status"] == "closed"
        assert status["verification"] == "completed" and status["options"] == ["A", "B", "C"]
        policy = Policy.parse((await http.get(f"{log_url}/policy")).content)
        checkpoint = (await http.get(f"{log_url}/checkpoint")).content
        signed = policy.open_checkpoint(checkpoint)
        assert signed.checkpoint.size == 3 and len(signed.cosignatures) >= 3
        # Cosigned during the poll and again at close: one line per key all the same.
        lines = checkpoint.split(b"\n\n")[1].splitlines()
        assert (
            len(lines) == len({line.split()[1] for line in lines}) == 1 + len(signed.cosignatures)
        )
        proof = await http.get(f"/ledger/receipt/{ack['receipt']}")
        assert proof.status_code == 200
        assert "attachment" in proof.headers["content-disposition"]
        TlogProof.parse(proof.content).verify(bytes.fromhex(ack["receipt"]), policy)
        lines = (await http.get(f"{log_url}/consistency", params={"old": 1, "new": 3})).text
        hashes = [base64.b64decode(h) for h in lines.split()]
        first = MerkleLog([leaf_hash(e) for e in _entries(await http.get(f"{log_url}/export"))[:1]])
        verify_consistency(1, 3, first.root(), signed.checkpoint.root, hashes)
        export = LogExport.parse((await http.get(f"{log_url}/export")).content)
        assert recount_export(export) == {
            "counts": [0, 1, 0],
            "total": 1,
            "verified": True,
            "reason": None,
        }
        for bad in ("/ledger/receipt/xyz", f"{log_url}/consistency?old=3&new=1"):
            response = await http.get(bad)
            assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
        missing = await http.get("/ledger/0123456789abcdef")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_a_question_without_receipts_refuses_the_proof(
    witnessed: Settings, node: Node
) -> None:
    async with open_services(witnessed) as svc, httpx.AsyncClient(base_url=node.url) as http:
        info = await store.create_room(svc, title="Room", password="pw")
        spec = build_question("Secret ballot", "yesno", receipts=False)
        q = await store.add_question(svc, info.id, spec)
        await store.act(svc, q.id, Action.OPEN)
        async with running_worker(svc):
            async with connect(node.url) as c:
                assert (await c.join(info.number, password="pw"))["ok"]
                ack = await c.vote(q.id, [0])
            await store.act(svc, q.id, Action.CLOSE)
            assert (await verification(svc, q.id))["status"] == "completed"
        response = await http.get(f"/ledger/receipt/{ack['receipt']}")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "receipts_off"


def _entries(response: httpx.Response) -> list[bytes]:
    return list(LogExport.parse(response.content).entries)


async def test_the_log_status_names_the_options_in_the_readers_language(
    witnessed: Settings, witnessed_node: Node
) -> None:
    """A yes/no is stored as "Yes" and "No"; a reader of the log reads them in its language,
    while the log is its question's and after (its opening's definition)."""
    node = witnessed_node
    async with open_services(witnessed) as svc, httpx.AsyncClient(base_url=node.url) as http:
        room = await make_room(svc, {"title": "Adopt?", "kind": "yesno", "options": ""})
        q = await store.load_question(svc, room.q)
        assert q is not None and q.log_id is not None
        url = f"/ledger/{q.log_id}"

        async def labels(lang: str) -> tuple[str, list[str], list[str]]:
            status = (await http.get(url, headers={"accept-language": lang})).json()["log"]
            return status["kind"], status["options"], status["labels"]

        async with running_worker(svc):
            async with asyncio.timeout(10):
                while (await http.get(url)).status_code != 200:
                    await asyncio.sleep(0.05)
            assert await labels("ko-KR") == ("yesno", ["Yes", "No"], ["예", "아니요"])
            assert await labels("en-US") == ("yesno", ["Yes", "No"], ["Yes", "No"])
            await store.act(svc, room.q, Action.CLOSE)
            await verification(svc, room.q)
            await store.act(svc, room.q, Action.RESET)
        status = (await http.get(url, params={"lang": "ko"})).json()["log"]
        assert status["status"] == "ended"
        assert (status["kind"], status["labels"]) == ("yesno", ["예", "아니요"])
