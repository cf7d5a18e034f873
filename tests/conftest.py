"""Shared fixtures: one bundled Valkey per test session, a key prefix and data dir per test,
web nodes served by a real uvicorn in-process, and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio
import uvicorn

from live import logs
from live.app import create_app
from live.engines import bundled
from live.ledger.local_witnesses import LocalWitnesses, start_local_witnesses
from live.services import Services, open_services
from live.settings import DEFAULT_LEDGER_NAME, Settings, load_settings
from live.wire.websocket_protocol import LeanWebSocketProtocol
from live.worker import ArchiveWorker
from rooms.ledger import derive_signer
from tests import secrets_seen


def pytest_configure(config: pytest.Config) -> None:
    """Keep every line the run logs, the app's down to debug, and every cookie the app
    gives (``tests.secrets_seen``)."""
    logging.getLogger().addHandler(secrets_seen.LINES)
    secrets_seen.watch_responses()
    logging.getLogger("mvoting").setLevel(logging.DEBUG)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run fails if any line it logged holds a secret it met."""
    leaks = secrets_seen.leaks(secrets_seen.LINES.lines)
    session.config.stash[_LEAKS] = leaks
    if leaks and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    leaks = config.stash.get(_LEAKS, [])
    lines, seen = len(secrets_seen.LINES.lines), secrets_seen.count()
    if not leaks:
        terminalreporter.write_line(f"{lines} log lines, none holds any of {seen} secrets met")
        return
    terminalreporter.write_sep("=", f"{len(leaks)} log lines hold a secret", red=True)
    for leak in leaks[:20]:
        terminalreporter.write_line(f"{leak.what}: {leak.line[:300]}")


_LEAKS = pytest.StashKey[list[secrets_seen.Leak]]()


@pytest.fixture(scope="session")
def valkey() -> Iterator[bundled.EmbeddedValkey]:
    """The session's bundled Valkey, in a data dir of its own, stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="mvoting-valkey-") as d:
        server = bundled.find_or_start(Path(d))
        assert server.owned and server.port != 6379
        yield server
        server.stop()


_counter = iter(range(1_000_000))


@pytest.fixture(scope="session")
def witnesses() -> Iterator[LocalWitnesses]:
    """Four local witnesses for the session, with a 3-of-4 policy, trusting the operator
    key of the tests' secret (``settings``), so that every test's polls can register."""
    operator = derive_signer(b"test-secret", DEFAULT_LEDGER_NAME)
    with tempfile.TemporaryDirectory(prefix="mvoting-witnesses-") as d:
        found = start_local_witnesses(Path(d), operators=[operator.verifier().vkey()])
        yield found
        found.stop()


@pytest.fixture
def witnessed(settings: Settings, witnesses: LocalWitnesses) -> Settings:
    """``settings`` with the session's witnesses as the ledger's policy."""
    return settings.with_(ledger_policy=witnesses.policy_path)


@pytest.fixture
def own_witnesses(tmp_path: Path) -> Iterator[LocalWitnesses]:
    """Four witnesses of this test's own (3-of-4), which it may stop (``SIGSTOP``):
    continued and ended at teardown."""
    operator = derive_signer(b"test-secret", DEFAULT_LEDGER_NAME)
    found = start_local_witnesses(tmp_path / "witnesses", operators=[operator.verifier().vkey()])
    try:
        yield found
    finally:
        for witness in found.witnesses:
            with contextlib.suppress(ProcessLookupError):
                os.kill(witness.pid, signal.SIGCONT)
        found.stop()


@pytest.fixture
def settings(valkey: bundled.EmbeddedValkey, tmp_path: Path) -> Settings:
    """Settings of one test: the session Valkey under a key prefix of its own."""
    made = load_settings(
        {},
        MVOTING_DATA=str(tmp_path / "data"),
        REDIS_URL=valkey.url,
        MVOTING_SECRET="test-secret",
        MVOTING_KEY_PREFIX=f"t{next(_counter)}-{tmp_path.name[-12:]}:",
        MVOTING_REDIS_POOL="64",
    )
    secrets_seen.saw("the app's secret", made.secret.reveal())
    secrets_seen.saw("the phone pepper", made.phone_pepper.reveal())
    return made


@pytest.fixture
async def svc(settings: Settings) -> AsyncIterator[Services]:
    stack = contextlib.AsyncExitStack()
    services = await stack.enter_async_context(open_services(settings))
    try:
        yield services
    finally:
        await finished(asyncio.ensure_future(stack.aclose()), "the test's services")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]
    app: Any

    @property
    def live(self) -> Any:
        """The node's ``LiveSockets``."""
        return self.routes_app.state.live

    @property
    def routes_app(self) -> Any:
        """The node's starlette app (inside the request ids, the security middleware and
        Socket.IO's app)."""
        return self.app.app.app.other_asgi_app


@contextlib.asynccontextmanager
async def run_node(settings: Settings) -> AsyncIterator[Node]:
    """A web node on a free port; returns once uvicorn says it has started."""
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        ws=LeanWebSocketProtocol,
        ws_per_message_deflate=False,
        log_config=logs.uvicorn_log_config(),
        log_level=logs.uvicorn_log_level(settings.log_level),
        # python-engineio leaves a closed long-poll session's last GET open until
        # ping_interval + ping_timeout (45 s); don't let shutdown wait for it.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped before starting")
        await asyncio.sleep(0.01)
    try:
        yield Node(f"http://127.0.0.1:{port}", server, task, app)
    finally:
        server.should_exit = True
        await stopped(server, task)


async def stopped(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Wait for a node's shutdown (``finished``); past the bound, force its exit."""
    if not await finished(task, "a web node's shutdown", cancel=False):
        server.force_exit = True
        await finished(task, "a web node's forced exit", seconds=5)


async def finished(
    task: asyncio.Future[Any], what: str, *, cancel: bool = True, seconds: float = 20
) -> bool:
    """Wait for ``task`` at most ``seconds``; whether it finished. Past that, say what every task
    was doing (on the run's own stderr, past pytest's capture) and, if ``cancel``, cancel
    it: one slow teardown on a loaded machine is a diagnosis rather than a failed run."""
    try:
        await asyncio.wait_for(asyncio.shield(task), seconds)
        return True
    except TimeoutError:
        pass
    dump = io.StringIO()
    for t in asyncio.all_tasks():
        if t is not asyncio.current_task():
            print(t, file=dump)
            t.print_stack(limit=12, file=dump)
    print(
        f"\n{what} took over {seconds} s; the tasks:\n{dump.getvalue()}",
        file=sys.__stderr__,
        flush=True,
    )
    if cancel:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 5)
    return False


@pytest.fixture
async def node(settings: Settings) -> AsyncIterator[Node]:
    async with run_node(settings) as n:
        yield n


@pytest.fixture
async def witnessed_node(witnessed: Settings) -> AsyncIterator[Node]:
    """A web node whose ledger trusts the session's witnesses."""
    async with run_node(witnessed) as n:
        yield n


@pytest.fixture
async def node_b(settings: Settings) -> AsyncIterator[Node]:
    """A second web node on the same Redis and archive."""
    async with run_node(settings) as n:
        yield n


@contextlib.asynccontextmanager
async def running_worker(svc: Services, name: str = "test-worker") -> AsyncIterator[ArchiveWorker]:
    worker = ArchiveWorker(svc, name, poll=0.02)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Client:
    """A Socket.IO client that records every event it receives, in order."""

    sio: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)
    device: str | None = None

    async def call(self, event: str, data: Any, timeout: float = 10) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def join(self, room: str, **creds: str) -> dict[str, Any]:
        secrets_seen.saw("a room's credential", *creds.values())
        ack: dict[str, Any] = await self.call("join", {"room": room, **creds})
        if ack.get("ok"):
            self.device = ack["device"]
            secrets_seen.saw("a device token", ack["device"])
            secrets_seen.saw("a site pass", ack.get("site_pass"))
        return ack

    async def vote(self, question: str, choices: list[int]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.call("vote", {"question": question, "choices": choices})
        return ack

    def tallies(self, question: str) -> list[dict[str, Any]]:
        return [d for e, d in self.events if e == "tally" and d["question"] == question]

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; events: {self.events[-5:]}")
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def connect(
    url: str,
    *,
    device: str | None = None,
    headers: dict[str, str] | None = None,
    transports: list[str] | None = None,
) -> AsyncIterator[Client]:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio)

    async def record(event: str, data: Any) -> None:
        client.events.append((event, data))

    sio.on("*", record)
    await sio.connect(
        url,
        auth={"device": device} if device else None,
        headers=headers or {},
        transports=transports or ["websocket"],
        wait_timeout=10,
    )
    secrets_seen.saw("an Engine.IO session id", sio.eio.sid)
    try:
        yield client
    finally:
        await sio.disconnect()


@pytest.fixture
def clients() -> Any:
    """``async with clients(url, n) as [a, b, ...]``: n connected clients."""

    @contextlib.asynccontextmanager
    async def open_many(url: str, n: int) -> AsyncIterator[list[Client]]:
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(connect(url)) for _ in range(n)]

    return open_many
