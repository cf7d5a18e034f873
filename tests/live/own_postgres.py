"""A PostgreSQL server of the test's own, which it may stop and start again.

The machine's shared PostgreSQL (127.0.0.1:5432) serves other tests and is never stopped:
a test that takes the archive away runs its own server from Debian's binaries
(``/usr/lib/postgresql/<version>/bin``), in a temporary data directory, on a free port,
with trust authentication over TCP only. PostgreSQL refuses to run as root, so under root
the server runs as the ``postgres`` user (``runuser``), which owns the directory.

``stop()`` is ``pg_ctl stop -m immediate``: every backend quits at once, without a
checkpoint, as if the server had crashed; ``start()`` on the same directory recovers from
the write-ahead log. ``fsync`` is off: a killed process loses nothing the kernel holds,
and the machine does not crash under a test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

DATABASE = "mvoting"
USER = "postgres"


def _bin_dir() -> Path | None:
    """The newest installed version's binaries, if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    found = [p for p in found if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    return found[-1] if found else None


@dataclass
class OwnPostgres:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: str | None  #: the user the server runs as, when we are root

    @property
    def url(self) -> str:
        """The archive's ``DATABASE_URL``."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60, cwd="/")

    def start(self) -> None:
        """Start the server on its directory and port; returns once it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= "
            "-c fsync=off -c max_connections=60"
        )
        log = str(self.data_dir / "server.log")
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-o", options, "-l", log
        )

    def stop(self) -> None:
        """Stop it at once, as a crash would (no checkpoint, connections cut)."""
        self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.data_dir))


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL server with an empty ``mvoting`` database, stopped and removed at the
    end; skips the test when the binaries, or a user to run them as, are missing."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")
    run_as = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(USER)
        except KeyError:
            pytest.skip(f"running as root, and there is no {USER!r} user to run PostgreSQL as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root, and runuser is missing to run PostgreSQL as a user")
        run_as = USER
    with tempfile.TemporaryDirectory(prefix="mvoting-pg-") as d:
        data_dir = Path(d) / "data"
        data_dir.mkdir()
        if run_as is not None:
            os.chown(d, user.pw_uid, user.pw_gid)
            os.chown(data_dir, user.pw_uid, user.pw_gid)
        server = OwnPostgres(bin_dir, data_dir, free_port(), run_as)
        server._run(
            "initdb", "-D", str(data_dir), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        server.start()
        try:
            psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", USER]
            subprocess.run(
                [*psql, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop()
