"""The integrity ledger end to end: a poll's log appended with the archive, cosigned by
the witnesses at close, judged, and each voter's receipt checked alone."""

from __future__ import annotations

import asyncio
from typing import Any

from live import store
from live.ledger import Ledger
from live.services import Services, open_services
from live.settings import Settings
from rooms.merkle import leaf_hash
from rooms.questions import Action
from rooms.tlog_proof import TlogProof
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
            found = await ledger.receipt(receipt)
            assert found is not None
            proof = TlogProof.parse(found[1])
            assert proof.extra is not None and leaf_hash(proof.extra).hex() == receipt
            signed = proof.verify(bytes.fromhex(receipt), policy)
            assert signed.checkpoint.size == 9 and len(signed.cosignatures) >= 3
            assert f'"c":[{choice}]'.encode() in proof.extra
        await ledger.aclose()
