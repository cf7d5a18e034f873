"""Every process says whether it is alive and ready: the web node's ``/healthz`` and
``/readyz`` (Valkey, the database, the archive's migrations, the workers' heartbeats), and
the systemd notification protocol (``READY=1``, ``WATCHDOG=1``) spoken by a real worker
and a real witness to a datagram socket this test listens on, as systemd's would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import sqlalchemy as sa

from live.services import Services
from live.settings import Settings
from tests.conftest import Node, free_port, running_worker
from tests.live.test_cli import ROOT, cli_env


async def test_a_node_is_alive_and_ready_and_says_what_it_waits_for(
    node: Node, svc: Services
) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        assert (await http.get("/healthz")).json() == {"ok": True}
        ready = (await http.get("/readyz")).json()
        assert ready["ok"] and ready["valkey"] == ready["database"] == "ok"
        assert (ready["migrations"], ready["workers"]) == ("head", [])

        async with running_worker(svc, name="w-health") as worker:
            from live.health import Heartbeat

            worker.heartbeat = beat = Heartbeat(svc, worker.name)
            task = asyncio.create_task(beat.run())
            try:
                for _ in range(100):
                    workers = (await http.get("/readyz")).json()["workers"]
                    if workers and workers[0]["passes"] > 0:
                        break
                    await asyncio.sleep(0.05)
                assert [w["name"] for w in workers] == ["w-health"] and workers[0]["age_s"] < 10
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        # An archive behind the code's migrations is not ready (alive, though).
        async with svc.engine.begin() as conn:
            head = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
        try:
            r = await http.get("/readyz")
            assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
            assert r.json()["migrations"] == f"at 0009, not {head}"
            assert (await http.get("/healthz")).status_code == 200
        finally:
            async with svc.engine.begin() as conn:
                await conn.execute(
                    sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head}
                )


def _listen(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(20)
    return sock


def _messages(sock: socket.socket, wanted: set[str]) -> set[str]:
    seen: set[str] = set()
    while not wanted <= seen:
        seen |= set(sock.recv(4096).decode().split("\n"))
    return seen


def _env(settings: Settings, notify: Path) -> dict[str, str]:
    return {
        **cli_env(),
        "MVOTING_DATA": str(settings.data_dir),
        "REDIS_URL": settings.redis_url or "",
        "MVOTING_SECRET": settings.secret.reveal().decode(),
        "MVOTING_KEY_PREFIX": settings.key_prefix,
        "NOTIFY_SOCKET": str(notify),
        "WATCHDOG_USEC": "1000000",  # a watchdog ping every half second
    }


async def test_the_worker_tells_systemd_it_is_ready_and_alive_with_each_pass(
    settings: Settings, svc: Services, tmp_path: Path
) -> None:
    notify, alive = tmp_path / "notify", tmp_path / "worker.alive"
    sock = _listen(notify)
    err = (tmp_path / "worker.err").open("wb")
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "live.cli", "worker", "--name", "w1", "--alive-file", str(alive)],
        cwd=ROOT,
        env=_env(settings, notify),
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    try:
        try:
            seen = await asyncio.to_thread(_messages, sock, {"READY=1", "WATCHDOG=1"})
        except TimeoutError:
            raise AssertionError((tmp_path / "worker.err").read_text()[-2000:]) from None
        assert {"READY=1", "WATCHDOG=1"} <= seen
        for _ in range(200):  # the first pass completes
            if alive.exists():
                break
            await asyncio.sleep(0.05)
        assert alive.exists()
        first = alive.stat().st_mtime_ns
        await asyncio.sleep(2.5)  # an idle pass waits at most a second or two
        assert alive.stat().st_mtime_ns > first
        assert await svc.redis.exists(svc.keys.heartbeat("worker", "w1"))
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        sock.close()
        err.close()


async def test_a_witness_is_ready_when_it_listens_and_answers_its_health_check(
    settings: Settings, tmp_path: Path
) -> None:
    notify = tmp_path / "notify"
    sock = _listen(notify)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "live.cli",
            "witness",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data",
            str(tmp_path / "witness"),
        ],
        cwd=ROOT,
        env=_env(settings, notify),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seen = await asyncio.to_thread(_messages, sock, {"READY=1", "WATCHDOG=1"})
        assert "READY=1" in seen
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert (r.status_code, r.text.strip()) == (200, "ok")
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)
        sock.close()
