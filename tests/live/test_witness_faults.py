"""Witnesses that are slow or that lie, during a burst: the poll's verdict is what the
honest quorum allows, and the worker goes on archiving meanwhile.

One of the four witnesses (3 of 4 make the quorum) is reached through a proxy of the
test's own, in front of the real witness process: it answers after 30 s (slow), or it
passes on the witness's answer with every signature broken (lying).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from live import store
from live.cast import CastBatcher
from live.ledger.local_witnesses import LocalWitness, LocalWitnesses, write_policy
from live.services import Services, open_services
from live.settings import Settings
from rooms.questions import Action
from tests.conftest import running_worker
from tests.live.helpers import archived, make_room
from tests.live.test_ledger_tamper import (
    _cast,
    _final_cosigners,
    _log_id,
    _until,
    _verdict,
)

BURST = 1000
SLOW_S = 30.0


@contextlib.asynccontextmanager
async def proxied(witness: LocalWitness, mode: str) -> AsyncIterator[str]:
    """A proxy to ``witness``: ``slow`` answers after ``SLOW_S``, ``lying`` breaks the
    signature of every line the witness sends back. Yields its URL."""
    async with httpx.AsyncClient(timeout=10) as client:

        async def forward(request: web.Request) -> web.Response:
            if mode == "slow":
                await asyncio.sleep(SLOW_S)
            answer = await client.request(
                request.method,
                witness.url + request.path_qs,
                content=await request.read(),
                headers={"Content-Type": request.headers.get("Content-Type", "")},
            )
            body = answer.content
            if mode == "lying" and request.path.endswith("/add-checkpoint"):
                body = _broken(body) if answer.status_code == 200 else body
            kind = answer.headers.get("content-type", "text/plain")
            return web.Response(
                status=answer.status_code,
                body=body,
                content_type=None,
                headers={"Content-Type": kind},
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


def _broken(lines: bytes) -> bytes:
    """Note signature lines (``— <name> <base64>``) with the last byte of each
    signature flipped: the same key id, a signature that does not verify."""
    out = []
    for line in lines.decode().splitlines():
        dash, name, blob = line.split(" ")
        raw = bytearray(base64.b64decode(blob))
        raw[-1] ^= 0x01
        out.append(f"{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n")
    return "".join(out).encode()


def _policy_through(own: LocalWitnesses, url: str, tmp_path: Path) -> Path:
    """A policy of the same four witnesses, the last reached at ``url``."""
    *honest, last = own.witnesses
    path = tmp_path / "policy-proxied"
    write_policy(path, [*honest, replace(last, url=url)], threshold=3)
    return path


async def _archived_all(svc: Services, qid: str) -> bool:
    return await archived(svc, qid) == BURST


@pytest.mark.timeout(120)
async def test_a_slow_witness_stalls_neither_the_worker_nor_the_verdict(
    settings: Settings, own_witnesses: LocalWitnesses, tmp_path: Path
) -> None:
    *honest, slow = own_witnesses.witnesses
    async with proxied(slow, "slow") as url:
        policy = _policy_through(own_witnesses, url, tmp_path)
        async with open_services(settings.with_(ledger_policy=policy)) as svc:
            first, second = await make_room(svc), await make_room(svc)
            batcher = CastBatcher(svc)
            async with running_worker(svc) as worker:
                worker.ledger.witness_timeout = 10.0  # shorter than the witness's 30 s
                await _cast(batcher, first.q, range(BURST))
                await store.act(svc, first.q, Action.CLOSE)
                # While the first poll's witnesses are asked (the slow one for 10 s), a
                # burst on the second is archived all the same, before that verdict.
                await _cast(batcher, second.q, range(BURST))
                await _until(lambda: _archived_all(svc, second.q), timeout=9)
                judged = await store.load_question(svc, first.q)
                assert judged is not None and judged.verification is None
                verdict = await _verdict(svc, first.q, timeout=30)
            assert verdict["status"] == "completed", verdict
            log_id = await _log_id(svc, first.q)
            cosigners = await _final_cosigners(svc, log_id, own_witnesses.policy)
            assert cosigners == {w.name for w in honest}


async def test_a_lying_witness_is_not_counted_and_cannot_make_the_quorum(
    settings: Settings, own_witnesses: LocalWitnesses, tmp_path: Path
) -> None:
    one, two, three, liar = own_witnesses.witnesses
    async with proxied(liar, "lying") as url:
        policy = _policy_through(own_witnesses, url, tmp_path)
        async with open_services(settings.with_(ledger_policy=policy)) as svc:
            honest, short = await make_room(svc), await make_room(svc)
            batcher = CastBatcher(svc)
            async with running_worker(svc) as worker:
                worker.ledger.witness_timeout = 1.0  # a stopped witness never answers
                await _cast(batcher, honest.q, range(BURST))
                await store.act(svc, honest.q, Action.CLOSE)
                verdict = await _verdict(svc, honest.q, timeout=30)
                assert verdict["status"] == "completed", verdict
                answers = {"witness": liar.name, "outcome": "invalid"}
                assert (REGISTRY.get_sample_value("mvoting_cosignatures_total", answers) or 0) >= 1
                log_id = await _log_id(svc, honest.q)
                assert await _final_cosigners(svc, log_id, own_witnesses.policy) == {
                    one.name,
                    two.name,
                    three.name,
                }
                # With an honest one down, the liar's broken cosignature would be the
                # third: the poll stays pending, never completed without the quorum.
                os.kill(three.pid, signal.SIGSTOP)
                await _cast(batcher, short.q, range(BURST))
                await store.act(svc, short.q, Action.CLOSE)
                pending = await _verdict(svc, short.q, timeout=30)
                assert (pending["status"], pending["problem"]) == ("pending", "quorum"), pending
                assert pending["fields"]["cosigned"] == 2
                assert liar.name in pending["fields"]["missing"]
                await asyncio.sleep(1.5)  # asked again meanwhile: still pending
                again = await store.load_question(svc, short.q)
                assert again is not None and again.verification is not None
                assert again.verification["status"] == "pending"
                os.kill(three.pid, signal.SIGCONT)
                done = await _verdict(svc, short.q, status="completed", timeout=30)
            assert done["status"] == "completed"
            log_id = await _log_id(svc, short.q)
            assert liar.name not in await _final_cosigners(svc, log_id, own_witnesses.policy)
