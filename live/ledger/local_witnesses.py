"""Witnesses on this machine, so that the whole ledger flow works on a laptop (``make run``).

``start_local_witnesses(DATA)`` runs four ``mvoting witness`` processes on free loopback
ports, witness ``i`` with its data under ``DATA/witness-<i>`` and the name
``witness-<i>.local``, and writes ``DATA/policy``: a C2SP tlog-policy requiring 3 of the
4 (``rooms.tlog.policy``). A witness already running for its data dir (recorded in
``DATA/witness-<i>/run.json`` and answering with its key) is used, not started again, as
the bundled Valkey is. The caller owns the processes it started and stops them with
``LocalWitnesses.stop()``; they run in sessions of their own, so Ctrl-C in a terminal
reaches the owner first, which can still ask them to cosign a last checkpoint.

Four witnesses on one machine, under one operator, only exercise the protocol: they give
no independence. In production the policy lists independent witnesses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from live.engines import processes
from live.ledger.witness import add_log, add_operator
from rooms.tlog.cosignature import CosignatureVerifier
from rooms.tlog.notes import Ed25519Verifier
from rooms.tlog.policy import Policy, PolicyGroup, PolicyLog, PolicyWitness

log = logging.getLogger("mvoting.witness")

#: The policy's group of local witnesses, and its quorum.
GROUP = "local-witnesses"


class LocalWitnessError(Exception):
    """A local witness did not start."""


@dataclass
class LocalWitness:
    """One witness process: its name, key and URL, its data dir, and whether we own it."""

    name: str
    vkey: str
    url: str
    data: Path
    pid: int
    owned: bool
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def policy_witness(self) -> PolicyWitness:
        return PolicyWitness(self.name, CosignatureVerifier.from_vkey(self.vkey), self.url)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process if we started it (SIGTERM, then SIGKILL after ``timeout``)."""
        if not self.owned:
            return
        processes.stop(self.pid, self.process, timeout)
        with contextlib.suppress(FileNotFoundError):
            (self.data / "run.json").unlink()
        self.owned = False


@dataclass
class LocalWitnesses:
    """The local witnesses and the policy written for them."""

    witnesses: list[LocalWitness]
    policy: Policy
    policy_path: Path

    def add_log(self, vkey: str) -> None:
        """Have every local witness trust the log ``vkey`` (they read it at once)."""
        for witness in self.witnesses:
            add_log(witness.data, vkey)

    def add_operator(self, vkey: str) -> None:
        """Let the operator ``vkey`` register logs at every local witness (read at once)."""
        for witness in self.witnesses:
            add_operator(witness.data, vkey)

    def stop(self) -> None:
        for witness in self.witnesses:
            witness.stop()


def start_local_witnesses(
    data_dir: Path,
    *,
    count: int = 4,
    threshold: int = 3,
    logs: Sequence[str] = (),
    timeout: float = 20.0,
    operators: Sequence[str] = (),
) -> LocalWitnesses:
    """Start (or find) ``count`` witnesses under ``data_dir`` and write ``DATA/policy``.

    ``logs`` are the log vkeys every witness trusts (more can be added later with
    ``LocalWitnesses.add_log``); they are the policy's log lines too. ``operators`` are
    the operator vkeys every witness lets register logs in their namespace (``POST
    /add-log``; more with ``LocalWitnesses.add_operator``). On failure, the witnesses
    started so far are stopped.
    """
    witnesses: list[LocalWitness] = []
    launched: list[_Launch] = []
    try:
        with httpx.Client(timeout=1) as client:
            found: list[LocalWitness | None] = []
            for number in range(1, count + 1):
                data = data_dir / f"witness-{number}"
                for vkey in logs:
                    add_log(data, vkey)
                for vkey in operators:
                    add_operator(data, vkey)
                running = _find_running(data, client)
                if running is None:  # all start at once; the loop below waits for them
                    launched.append(_launch(data, f"witness-{number}.local"))
                found.append(running)
            waiting = iter(launched)
            for running in found:
                witnesses.append(running or _wait_ready(next(waiting), client, timeout))
        policy_path = data_dir / "policy"
        policy = write_policy(policy_path, witnesses, threshold, logs)
    except BaseException:
        for witness in witnesses:
            witness.stop()
        for launch in launched:
            launch.kill()
        raise
    return LocalWitnesses(witnesses, policy, policy_path)


def write_policy(
    path: Path, witnesses: Iterable[LocalWitness], threshold: int, logs: Iterable[str] = ()
) -> Policy:
    """Write a tlog-policy: the logs, the witnesses, and ``threshold`` of them as quorum.

    Written whole (temporary file, then rename): a reader sees the old policy or the new.
    """
    members = list(witnesses)
    policy = Policy(
        tuple(PolicyLog(Ed25519Verifier.from_vkey(vkey)) for vkey in logs),
        tuple(witness.policy_witness() for witness in members),
        (PolicyGroup(GROUP, threshold, tuple(w.name for w in members)),),
        GROUP,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(policy.to_bytes())
    temporary.replace(path)
    return policy


@dataclass
class _Launch:
    """A witness process started, not yet known to answer."""

    name: str
    data: Path
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _launch(data: Path, name: str) -> _Launch:
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    with open(data / "witness.log", "ab") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "live.cli", "witness"),
                *("--data", str(data), "--port", str(port), "--name", name),
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return _Launch(name, data, f"http://127.0.0.1:{port}", process)


def _wait_ready(launch: _Launch, client: httpx.Client, timeout: float) -> LocalWitness:
    """The witness once it answers with its vkey; killed if it does not in ``timeout``."""
    deadline = time.monotonic() + timeout
    vkey = _vkey_at(launch.url, client)
    while vkey is None:
        if launch.process.poll() is not None:
            raise LocalWitnessError(
                f"witness {launch.name} exited with {launch.process.returncode}; "
                f"see {launch.data / 'witness.log'}"
            )
        if time.monotonic() > deadline:
            launch.kill()
            raise LocalWitnessError(f"witness {launch.name} did not answer in {timeout} s")
        time.sleep(0.05)
        vkey = _vkey_at(launch.url, client)
    info = {"pid": launch.process.pid, "url": launch.url, "vkey": vkey}
    (launch.data / "run.json").write_text(json.dumps(info))
    log.info("started witness %s on %s (data in %s)", launch.name, launch.url, launch.data)
    return LocalWitness(
        launch.name, vkey, launch.url, launch.data, launch.process.pid, owned=True,
        process=launch.process,
    )  # fmt: skip


def _find_running(data: Path, client: httpx.Client) -> LocalWitness | None:
    """The witness recorded in ``run.json``, if its process lives and answers with its key."""
    try:
        info = json.loads((data / "run.json").read_text())
        pid, url, vkey = int(info["pid"]), str(info["url"]), str(info["vkey"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    if not processes.alive(pid) or _vkey_at(url, client) != vkey:
        return None
    name = vkey.partition("+")[0]
    return LocalWitness(name, vkey, url, data, pid, owned=False)


def _vkey_at(url: str, client: httpx.Client) -> str | None:
    try:
        response = client.get(url + "/")
    except httpx.HTTPError:
        return None
    return response.text.strip() if response.status_code == 200 else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
