"""deploy/: nginx in front of two real web nodes, and the deployment files checked against
the command line they run.

(a) The nginx server block (deploy/nginx/mvoting.conf.template), rendered for two nodes on
    loopback ports and included from deploy/nginx/nginx.conf (its paths moved under
    tmp_path), passes ``nginx -t``; the committed two-node rendering is the template's.
(b) That nginx, on a free loopback port, in front of two ``mvoting serve`` nodes on one data
    dir (the first with its bundled Valkey and worker, the second ``--no-worker`` on the
    same Valkey): a 200-attendee burst of websockets through nginx, spread over both nodes;
    long-polling clients from several loopback addresses, each session pinned to one node
    by the ``hash $remote_addr consistent`` upstream, voting across nodes; static files
    served by nginx with caching and gzip; a 4.7 MB image upload through it.
(c) compose.yaml, the Dockerfile, the Kubernetes manifests and the systemd units: their
    structure, their cross-references, and every command they run parsed by the real
    ``mvoting`` argument parser.

nginx is Debian's (``make nginx`` installs it). It listens on 127.0.0.1 only, on a free
port; it and both nodes are stopped in teardown whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import grp
import io
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest
import socketio
import yaml

from live.cli import _parser
from tests.conftest import Client, connect
from tests.live.test_cli import (
    BURST,
    ROOT,
    Serve,
    alive,
    assert_clean_burst,
    children,
    create_room,
    free_port,
    listening_addresses,
    mvoting,
    poll,
    question_results,
    spawner,
)

DEPLOY = ROOT / "deploy"
NGINX_DIR = DEPLOY / "nginx"
TEMPLATE = NGINX_DIR / "mvoting.conf.template"
TEMPLATE_VARS = {"NGINX_LISTEN", "NGINX_SERVER_NAME", "NGINX_UPSTREAM_SERVERS", "NGINX_STATIC_ROOT"}
# The values deploy/nginx/mvoting.conf (the committed example) is rendered with.
EXAMPLE = {
    "NGINX_LISTEN": "80",
    "NGINX_SERVER_NAME": "vote.example.org",
    "NGINX_STATIC_ROOT": "/opt/mvoting/static",
}
EXAMPLE_NODES = ["10.0.0.11:8000", "10.0.0.12:8000"]
MINIMAL_TYPES = """types {
    text/html html; text/css css; application/javascript js; application/json json;
    image/svg+xml svg; image/png png; image/x-icon ico; font/woff2 woff2;
}
"""


# --- nginx ------------------------------------------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.fail(
            "nginx is not installed: tests/live/test_deploy.py runs Debian's nginx. Run "
            "`make nginx` (as root: apt-get install -y nginx-light).",
            pytrace=False,
        )
    return found


def render(listen: str, nodes: list[str], static_root: str, server_name: str = "_") -> str:
    """What ``deploy/nginx/render.sh`` prints (without its first, comment line)."""
    values = {
        "NGINX_LISTEN": listen,
        "NGINX_SERVER_NAME": server_name,
        "NGINX_STATIC_ROOT": static_root,
        "NGINX_UPSTREAM_SERVERS": "\n    ".join(
            f"server {node} max_fails=3 fail_timeout=10s;" for node in nodes
        ),
    }
    text = TEMPLATE.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == TEMPLATE_VARS
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], text)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx/nginx.conf should contain {old!r} once"
    return text.replace(old, new)


@dataclass
class NginxFiles:
    prefix: Path
    conf: Path
    error_log: Path
    access_log: Path

    def args(self) -> list[str]:
        return ["-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.error_log)]


def nginx_files(prefix: Path, listen: str, nodes: list[str]) -> NginxFiles:
    """deploy/nginx/nginx.conf with its paths under ``prefix``, including our server block
    rendered for ``nodes``; running as this user."""
    prefix.mkdir(parents=True, exist_ok=True)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / temp).mkdir(exist_ok=True)
    server = prefix / "mvoting.conf"
    server.write_text(render(listen, nodes, str(ROOT / "static")))
    files = NginxFiles(prefix, prefix / "nginx.conf", prefix / "error.log", prefix / "access.log")
    mime = Path("/etc/nginx/mime.types")
    if not mime.is_file():
        mime = prefix / "mime.types"
        mime.write_text(MINIMAL_TYPES)

    text = (NGINX_DIR / "nginx.conf").read_text()
    if os.geteuid() == 0:  # the master runs as root: workers as root too, not `nginx`
        me = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    else:  # `user` means nothing then (nginx warns)
        me = ""
    text = replace_once(text, "user nginx;", me)
    text = replace_once(text, "pid /var/run/nginx.pid;", f"pid {prefix / 'nginx.pid'};")
    text = replace_once(
        text,
        "error_log /var/log/nginx/error.log notice;",
        f"error_log {files.error_log} notice;",
    )
    text = replace_once(
        text,
        "access_log /var/log/nginx/access.log mvoting;",
        f"access_log {files.access_log} mvoting;",
    )
    text = replace_once(text, "include /etc/nginx/mime.types;", f"include {mime};")
    text = replace_once(text, "include /etc/nginx/conf.d/mvoting.conf;", f"include {server};")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / temp};\n"
        for kind, temp in [
            ("client_body", "body"),
            ("proxy", "proxy"),
            ("fastcgi", "fastcgi"),
            ("uwsgi", "uwsgi"),
            ("scgi", "scgi"),
        ]
    )
    text = replace_once(text, "http {\n", "http {\n" + temp_paths)
    files.conf.write_text(text)
    return files


def nginx_test(binary: str, files: NginxFiles) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "-t", *files.args()], capture_output=True, text=True, timeout=20, check=False
    )


@dataclass
class Route:
    """One request in nginx's access log (deploy/nginx/nginx.conf's ``mvoting`` format)."""

    client: str
    path: str
    transport: str
    sid: str
    status: int
    upstream: str


LOG_LINE = re.compile(
    r'^(?P<client>\S+) \[[^\]]*\] "(?P<method>\S+) (?P<url>\S+) [^"]*" (?P<status>\d+) '
    r"\d+ \S+ upstream=(?P<upstream>\S+) "
)


def read_routes(access_log: Path) -> list[Route]:
    routes = []
    for line in access_log.read_text().splitlines():
        m = LOG_LINE.match(line)
        assert m, f"unexpected access log line {line!r}"
        url = urlsplit(m["url"])
        query = parse_qs(url.query)
        routes.append(
            Route(
                client=m["client"],
                path=url.path,
                transport=query.get("transport", [""])[0],
                sid=query.get("sid", [""])[0],
                status=int(m["status"]),
                upstream=m["upstream"],
            )
        )
    return routes


@contextlib.contextmanager
def running_nginx(binary: str, files: NginxFiles, url: str) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground as our child; stopped (SIGTERM: fast shutdown) at the end."""
    with open(files.prefix / "nginx.out", "wb") as out:
        proc = subprocess.Popen(
            [binary, *files.args(), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    workers: list[int] = []
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"nginx exited with {proc.returncode}\n{files.error_log.read_text()}"
                )
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        poll("nginx in front of the nodes", ready, timeout=15)
        workers = children(proc.pid)
        yield proc
    finally:
        workers = workers or children(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in workers:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@dataclass
class Cluster:
    data: Path
    nodes: list[Serve]
    nginx: subprocess.Popen[bytes]
    url: str
    files: NginxFiles

    @property
    def upstreams(self) -> set[str]:
        return {f"127.0.0.1:{n.port}" for n in self.nodes}

    def routes(self) -> list[Route]:
        return read_routes(self.files.access_log)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """nginx on 127.0.0.1:<free port> in front of two ``serve`` nodes on one data dir."""
    binary = nginx_binary()
    base = tmp_path_factory.mktemp("deploy")
    data = base / "data"
    with spawner(base) as sp:  # stops both nodes (and their Valkey, worker) at the end
        first = sp.serve(data)  # starts the bundled Valkey and the worker
        second = sp.serve(data, "--no-worker")  # finds the running Valkey
        port = free_port()
        assert port not in {80, 443} and port > 1024
        nodes = [first, second]
        files = nginx_files(
            base / "nginx", f"127.0.0.1:{port}", [f"127.0.0.1:{n.port}" for n in nodes]
        )
        url = f"http://127.0.0.1:{port}"
        with running_nginx(binary, files, url) as proc:
            assert listening_addresses(port) == {"127.0.0.1"}
            yield Cluster(data, nodes, proc, url, files)


# --- (a) nginx -t ------------------------------------------------------------------------


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    binary = nginx_binary()
    nodes = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    listen = free_port()
    files = nginx_files(tmp_path / "nginx", f"127.0.0.1:{listen}", nodes)
    server = (files.prefix / "mvoting.conf").read_text()
    for node in nodes:
        assert server.count(f"server {node} max_fails=3 fail_timeout=10s;") == 2  # both pools
    assert "${" not in server

    done = nginx_test(binary, files)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert listening_addresses(listen) == set()  # -t started nothing

    # A mistake is caught, so the pass above means something.
    files.conf.write_text(files.conf.read_text().replace("events {", "events {\n    bogus 1;"))
    assert nginx_test(binary, files).returncode != 0


def test_committed_rendering_is_the_templates() -> None:
    committed = (NGINX_DIR / "mvoting.conf").read_text()
    header, _, body = committed.partition("\n")
    assert header.startswith("# Rendered from mvoting.conf.template by render.sh")
    assert body == render(
        EXAMPLE["NGINX_LISTEN"], EXAMPLE_NODES, EXAMPLE["NGINX_STATIC_ROOT"], "vote.example.org"
    )
    if shutil.which("envsubst") is None:
        return  # render.sh needs gettext's envsubst; the Python rendering was checked
    done = subprocess.run(
        [str(NGINX_DIR / "render.sh"), *EXAMPLE_NODES],
        env={**os.environ, **EXAMPLE},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == committed


# --- (b) two nodes behind nginx ----------------------------------------------------------


def run_burst(url: str, room: dict[str, Any], attendees: int, pids: list[int]) -> dict[str, Any]:
    options = [
        "--url", url, "--room", room["room"], "--password", room["password"],
        "--question", room["question"], "--attendees", str(attendees), "--options", "4",
        *(x for pid in pids for x in ("--pid", str(pid))),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(BURST), *options],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_burst_of_200_through_nginx_on_two_nodes(cluster: Cluster) -> None:
    room = create_room(cluster.data)
    qid = room["question"]
    before = len(cluster.routes())
    result = run_burst(cluster.url, room, 200, [n.pid for n in cluster.nodes])
    assert_clean_burst(result, 200)

    # The websockets (200 attendees and the benchmark's presenter) were spread over both
    # nodes; nginx logs a websocket when it closes.
    def websockets() -> list[Route] | None:
        found = [
            r for r in cluster.routes()[before:] if r.path == "/socket.io/" and r.status == 101
        ]
        return found if len(found) >= 201 else None

    found = poll("nginx to log the closed websockets", websockets, timeout=10, every=0.1)
    assert len(found) == 201
    assert {r.transport for r in found} == {"websocket"}
    assert {r.upstream for r in found} == cluster.upstreams
    per_node = {u: sum(r.upstream == u for r in found) for u in cluster.upstreams}
    assert min(per_node.values()) >= 50, per_node  # least_conn: about half each

    # Every ballot is counted once and archived once, by the worker beside the first node.
    live = question_results(cluster.data, room["room"], qid)
    assert (live["status"], live["total"], sum(live["counts"])) == ("open", 200, 200)
    done = mvoting("question", "close", qid, "--data", str(cluster.data))
    assert done.returncode == 0, done.stderr
    final = poll(
        "the worker to finalize the question",
        lambda: (r := question_results(cluster.data, room["room"], qid))["finalized"] and r,
        timeout=20,
        every=0.2,
    )
    assert (final["total"], final["archived"], final["counts"]) == (200, 200, live["counts"])


@contextlib.asynccontextmanager
async def polling_client(url: str, source: str) -> AsyncIterator[Client]:
    """A Socket.IO client on HTTP long-polling only, connecting from address ``source``.

    It leaves without waiting for its last long-poll GET: python-engineio's server answers
    that only at ping_interval + ping_timeout (45 s) after the session closed (see
    test_js_client.py); closing the HTTP session ends it."""
    read_loop: asyncio.Task[None] | None = None
    try:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as http:
            sio = socketio.AsyncClient(reconnection=False, http_session=http)
            client = Client(sio)

            async def record(event: str, data: Any) -> None:
                client.events.append((event, data))

            sio.on("*", record)
            await sio.connect(url, transports=["polling"], wait_timeout=10)
            read_loop = sio.eio.read_loop_task
            try:
                yield client
            finally:
                await sio.eio.disconnect(abort=True)  # sends the close packet, then leaves
    finally:
        if read_loop is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(read_loop, 5)


async def test_long_polling_sessions_stick_to_one_node(cluster: Cluster) -> None:
    """Clients from different addresses are hashed to different nodes, and every request
    of a polling session reaches the node that holds it (any other would answer 400)."""
    room = create_room(cluster.data, options="Yes,No")
    qid = room["question"]
    token = room["presenter_url"].split("?token=", 1)[1]
    node1, node2 = cluster.nodes
    async with contextlib.AsyncExitStack() as stack:
        # A presenter straight on each node: a ballot cast on one reaches both.
        presenters = [await stack.enter_async_context(connect(n.url)) for n in cluster.nodes]
        for p in presenters:
            assert (await p.join(room["room"], presenter=token))["ok"]

        # Polling clients from 127.0.0.2, .3, ... until both nodes hold some.
        voters: dict[str, Client] = {}
        for last in range(2, 34):
            source = f"127.0.0.{last}"
            voters[source] = await stack.enter_async_context(polling_client(cluster.url, source))
            assert voters[source].sio.transport() == "polling"
            held = {r.upstream for r in cluster.routes() if r.client in voters}
            if held == cluster.upstreams and len(voters) >= 4:
                break
        assert {r.upstream for r in cluster.routes() if r.client in voters} == cluster.upstreams

        for i, voter in enumerate(voters.values()):
            assert (await voter.join(room["room"], password=room["password"]))["ok"]
            ack = await voter.vote(qid, [i % 2])
            assert ack["ok"], ack
        n = len(voters)
        for p in presenters:
            await p.wait_for(lambda p=p: any(t["total"] == n for t in p.tallies(qid)))
        # And a polling client sees the tallies too.
        first = next(iter(voters.values()))
        await first.wait_for(lambda: any(t["total"] == n for t in first.tallies(qid)))
        sids = {source: v.sio.eio.sid for source, v in voters.items()}

    routes = [r for r in cluster.routes() if r.client in sids]
    for source, sid in sids.items():
        mine = [r for r in routes if r.client == source]
        assert {r.transport for r in mine} == {"polling"}
        assert [r.sid for r in mine][0] == ""  # the handshake
        assert sum(r.sid == sid for r in mine) >= 3  # then requests of the session
        assert len({r.upstream for r in mine}) == 1, mine  # all on one node
        # 400 would be "Session ID unknown" from the wrong node; 499 is the last long-poll
        # GET, which the client abandons when it disconnects.
        assert {r.status for r in mine} - {499} == {200}, mine
    assert node1.healthz() == node2.healthz() == 200


def test_http_through_nginx(cluster: Cluster) -> None:
    url = cluster.url
    r = httpx.get(f"{url}/healthz", timeout=5)
    assert (r.status_code, r.json()) == (200, {"ok": True})
    # The metrics are not served through nginx; each node serves its own, asked directly.
    r = httpx.get(f"{url}/metrics", timeout=5)
    assert r.status_code == 404 and "mvoting_" not in r.text
    for node in cluster.nodes:
        r = httpx.get(f"{node.url}/metrics", timeout=5)
        assert r.status_code == 200 and "mvoting_ballots_accepted_total" in r.text

    # Static files come from nginx (no app security headers), cached for an hour, gzipped.
    css = ROOT / "static" / "css" / "app.css"
    assert css.stat().st_size > 1024
    r = httpx.get(f"{url}/static/css/app.css", headers={"accept-encoding": "gzip"}, timeout=5)
    assert r.status_code == 200
    assert r.content == css.read_bytes()
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "max-age=3600"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("text/css")
    assert "content-security-policy" not in r.headers
    assert httpx.get(f"{url}/static/nothing.css", timeout=5).status_code == 404
    # Pages link static files by content-hashed names: nginx serves those for a year.
    page = httpx.get(f"{url}/", timeout=5).text
    (hashed,) = re.findall(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    r = httpx.get(f"{url}{hashed}", headers={"accept-encoding": "gzip"}, timeout=5)
    assert r.status_code == 200 and r.content == css.read_bytes()
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/css")

    # Pages come from the nodes, gzipped by nginx on the way.
    r = httpx.get(f"{url}/", headers={"accept-encoding": "gzip"}, timeout=5)
    assert r.status_code == 200
    assert "content-security-policy" in r.headers
    assert r.headers["content-encoding"] == "gzip"

    # A 4.7 MB image: over nginx's default 1 MiB body limit, under the app's 5 MiB. Sent
    # with the Origin a browser would send: the app compares it with Host, which nginx
    # passes on with its port.
    from PIL import Image

    side = 1250
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=0)
    png = buf.getvalue()
    assert 4_500_000 < len(png) < 5 * 1024 * 1024
    with httpx.Client(base_url=url, timeout=30, headers={"origin": url}) as http:
        r = http.post(
            "/api/hosts", json={"email": "deploy@example.org", "password": "correct horse"}
        )
        assert r.status_code == 201, r.text
        r = http.post("/api/media", files={"file": ("big.png", png, "image/png")})
        assert r.status_code == 201, r.text
        path = r.json()["media"]["path"]
        r = http.get(path)
        assert r.status_code == 200 and r.content == png
        # The cross-site check is live: another origin (here another port) is refused.
        refused = http.post(
            "/api/media",
            files={"file": ("big.png", png, "image/png")},
            headers={"origin": f"http://127.0.0.1:{urlsplit(url).port + 1}"},
        )
        assert refused.status_code == 403
    for node in cluster.nodes:  # one data dir: the image is on both nodes
        assert httpx.get(f"{node.url}{path}", timeout=10).content == png


# --- (c) compose, Dockerfile, Kubernetes, systemd ----------------------------------------


def parse_cli(argv: list[str]) -> argparse.Namespace:
    """``argv`` (a ``mvoting ...`` command line) as the real command parses it."""
    assert Path(argv[0]).name == "mvoting", argv
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return _parser().parse_args(argv[1:])
    except SystemExit:
        raise AssertionError(f"mvoting refuses {shlex.join(argv)}:\n{err.getvalue()}") from None


def mvoting_commands() -> set[str]:
    """The subcommands, from the usage line: ``mvoting [-h] {serve,worker,...} ...``."""
    return set(re.findall(r"\{([\w,]+)\}", _parser().format_usage())[0].split(","))


def assert_web_command(argv: list[str], port: int) -> argparse.Namespace:
    args = parse_cli(argv)
    assert args.command == "serve"
    assert args.no_worker is True
    assert args.host == "0.0.0.0"
    assert args.port == port
    return args


def test_compose_file() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"valkey", "postgres", "web1", "web2", "worker", "nginx"}
    named_volumes = set(compose["volumes"])

    valkey = services["valkey"]
    assert valkey["image"].startswith("valkey/valkey:")
    cmd = valkey["command"]
    assert cmd[0] == "valkey-server"
    flags = dict(zip(cmd[1::2], cmd[2::2], strict=True))
    assert flags["--appendonly"] == "yes"
    assert flags["--appendfsync"] in {"always", "everysec"}
    assert flags["--maxmemory-policy"] == "noeviction"
    assert services["postgres"]["image"].startswith("postgres:")

    app_env = None
    for name in ("web1", "web2", "worker"):
        svc = services[name]
        assert svc["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert "ports" not in svc  # only nginx is published
        env = svc["environment"]
        assert urlsplit(env["REDIS_URL"]).hostname == "valkey"
        assert urlsplit(env["DATABASE_URL"]).hostname == "postgres"
        assert env["MVOTING_SECRET"].startswith("${MVOTING_SECRET:?")  # required, shared
        assert app_env is None or env == app_env
        app_env = env
        for volume in svc["volumes"]:
            assert volume.split(":")[0] in named_volumes
        for dep, cond in svc["depends_on"].items():
            assert dep in services and cond == {"condition": "service_healthy"}

    for name in ("web1", "web2"):
        svc = services[name]
        args = assert_web_command(svc["command"], 8000)
        assert args.data == "/var/lib/mvoting"
        check = " ".join(svc["healthcheck"]["test"])
        assert "http://127.0.0.1:8000/healthz" in check
    worker = parse_cli(services["worker"]["command"])
    assert worker.command == "worker" and worker.name

    nginx = services["nginx"]
    assert nginx["ports"] == ["8080:80"]
    env = nginx["environment"]
    assert set(env) == TEMPLATE_VARS
    assert env["NGINX_LISTEN"] == "80"
    upstreams = re.findall(r"server (\S+)", env["NGINX_UPSTREAM_SERVERS"])
    assert upstreams == ["web1:8000", "web2:8000"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nginx["volumes"]}
    assert mounts["/etc/nginx/templates/mvoting.conf.template"] == "./nginx/mvoting.conf.template"
    assert mounts["/etc/nginx/nginx.conf"] == "./nginx/nginx.conf"
    assert mounts[env["NGINX_STATIC_ROOT"]] == "../static"
    for source in mounts.values():
        assert (DEPLOY / source).exists(), source
    assert "/healthz" in " ".join(nginx["healthcheck"]["test"])
    assert set(nginx["depends_on"]) == {"web1", "web2"}


def test_dockerfile() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    instructions = [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]
    stages = [i for i, (op, _) in enumerate(instructions) if op == "FROM"]
    assert [instructions[i][1] for i in stages] == ["python:3.11-slim AS build", "python:3.11-slim"]
    build, final = instructions[: stages[1]], instructions[stages[1] :]
    # The build stage makes the wheel from the checkout; the image installs that wheel and
    # runs it, with no checkout and no PYTHONPATH.
    assert any(op == "RUN" and arg.startswith("pip wheel") for op, arg in build)
    copied = {arg.split()[0] for op, arg in build if op == "COPY"}
    assert {"live", "rooms", "templates", "static", "pyproject.toml"} <= copied
    assert ("COPY", "--from=build /dist/ /tmp/dist/") in final
    assert any(op == "RUN" and "pip install /tmp/dist/mvoting-" in arg for op, arg in final)
    assert not any(op == "COPY" and not arg.startswith("--from=") for op, arg in final)
    assert not any("PYTHONPATH" in arg for _, arg in instructions)
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    for op, arg in build:
        if op == "COPY":
            *sources, _ = arg.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    (cmd,) = [json.loads(arg) for op, arg in instructions if op == "CMD"]
    assert parse_cli(cmd).command == "serve"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignored and "var" in ignored


def load_k8s() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    files = sorted(p.name for p in (DEPLOY / "k8s").glob("*.yaml"))
    assert sorted(kustomization["resources"]) == sorted(set(files) - {"kustomization.yaml"})
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()):
            assert {"apiVersion", "kind", "metadata"} <= set(doc), name
            if doc["kind"] != "Namespace":
                assert doc["metadata"]["namespace"] == kustomization["namespace"]
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, key
            found[key] = doc
    return found


def container(doc: dict[str, Any]) -> dict[str, Any]:
    (c,) = doc["spec"]["template"]["spec"]["containers"]
    labels = doc["spec"]["template"]["metadata"]["labels"]
    assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
    return dict(c)


def test_kubernetes_manifests() -> None:
    docs = load_k8s()
    kinds = {kind for kind, _ in docs}
    assert kinds == {
        "Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim", "Deployment", "Service",
        "Ingress", "StatefulSet", "PodDisruptionBudget",
    }  # fmt: skip
    config = docs["ConfigMap", "mvoting-config"]["data"]
    secrets = docs["Secret", "mvoting-secrets"]["stringData"]
    assert set(secrets) == {"MVOTING_SECRET", "DATABASE_URL"}
    assert urlsplit(config["REDIS_URL"]).hostname == "valkey"
    assert urlsplit(secrets["DATABASE_URL"]).hostname == "postgres"

    def env_refs(c: dict[str, Any]) -> set[tuple[str, str]]:
        refs = set()
        for ref in c["envFrom"]:
            ((kind, body),) = ref.items()
            refs.add(({"configMapRef": "ConfigMap", "secretRef": "Secret"}[kind], body["name"]))
        return refs

    web = docs["Deployment", "mvoting-web"]
    assert web["spec"]["replicas"] == 2
    c = container(web)
    (port,) = c["ports"]
    args = assert_web_command([*c["command"], *c["args"]], port["containerPort"])
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert {"requests", "limits"} <= set(c["resources"])
    assert env_refs(c) == {("ConfigMap", "mvoting-config"), ("Secret", "mvoting-secrets")}
    scraped = web["spec"]["template"]["metadata"]["annotations"]
    assert (scraped["prometheus.io/port"], scraped["prometheus.io/path"]) == (
        str(port["containerPort"]),
        "/metrics",
    )
    volumes = {v["name"]: v for v in web["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts[args.data] == "data"
    media = volumes[mounts[f"{args.data}/media"]]["persistentVolumeClaim"]["claimName"]
    pvc = docs["PersistentVolumeClaim", media]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]

    worker = docs["Deployment", "mvoting-worker"]
    wc = container(worker)
    pod_name = {e["name"]: e for e in wc["env"]}["POD_NAME"]
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    argv = [*wc["command"], *wc["args"]]
    assert "$(POD_NAME)" in argv  # expanded by Kubernetes from the env above
    parsed = parse_cli(argv)
    assert parsed.command == "worker" and parsed.name == "$(POD_NAME)"
    assert env_refs(wc) == env_refs(c)
    # Its own metrics port, in no multiprocess directory with the web pods.
    (metrics_port,) = wc["ports"]
    assert parsed.metrics_port == metrics_port["containerPort"]
    assert parsed.metrics_host == "0.0.0.0"
    scraped = worker["spec"]["template"]["metadata"]["annotations"]
    assert scraped["prometheus.io/port"] == str(parsed.metrics_port)

    service = docs["Service", "mvoting-web"]
    assert (
        service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    )
    (sport,) = service["spec"]["ports"]
    assert sport["targetPort"] == port["name"]

    ingress = docs["Ingress", "mvoting"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == "8m"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend == {"name": "mvoting-web", "port": {"name": sport["name"]}}

    valkey = docs["StatefulSet", "valkey"]
    vc = container(valkey)
    flags = dict(zip(vc["args"][::2], vc["args"][1::2], strict=True))
    assert flags["--appendonly"] == "yes"
    assert flags["--maxmemory-policy"] == "noeviction"
    assert valkey["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] in {
        m["name"] for m in vc["volumeMounts"]
    }
    assert docs["Service", "valkey"]["spec"]["ports"][0]["port"] == 6379
    postgres = docs["StatefulSet", "postgres"]
    pc = container(postgres)
    password = {e["name"]: e for e in pc["env"]}["POSTGRES_PASSWORD"]
    assert ("Secret", password["valueFrom"]["secretKeyRef"]["name"]) in docs
    assert docs["Service", "postgres"]["spec"]["ports"][0]["port"] == 5432


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> values (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None and "=" in line, f"{path.name}: {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key, []).append(value)
    return sections


def test_systemd_units(tmp_path: Path) -> None:
    units = DEPLOY / "systemd"
    expected = {
        "mvoting-web@.service": "8000",
        "mvoting-worker@.service": "1",
        "mvoting-witness@.service": "9100",
    }
    commands = mvoting_commands()
    for name, instance in expected.items():
        unit = read_unit(units / name)
        service = unit["Service"]
        one = {k: v[-1] for k, v in service.items()}
        assert one["EnvironmentFile"].lstrip("-").startswith("/etc/mvoting/")
        assert one["Restart"] == "on-failure"
        assert one["KillSignal"] == "SIGTERM"
        assert one["TimeoutStopSec"]
        assert one["User"] not in {"root", "0"}
        assert one["NoNewPrivileges"] == "yes"
        assert one["ProtectSystem"] == "strict"
        assert one["PrivateTmp"] == "yes"
        # Ready and alive as the process says (``live.health``), not merely started.
        assert (one["Type"], one["NotifyAccess"]) == ("notify", "main")
        assert one["WatchdogSec"].endswith("s")
        argv = shlex.split(one["ExecStart"].replace("%i", instance).replace("%H", "host"))
        data = argv[argv.index("--data") + 1]
        writable = service["ReadWritePaths"][-1].replace("%i", instance).split()
        assert any(data.startswith(p) for p in writable), (data, writable)
        assert unit["Install"]["WantedBy"] == ["multi-user.target"]
        assert argv[1] in commands
        args = parse_cli(argv)
        assert args.data == data
        if args.command == "worker":
            assert args.name == "host-1"
            continue
        assert args.port == int(instance)
        assert "143" in one["SuccessExitStatus"].split()  # the exit status after SIGTERM
        if args.command == "serve":
            assert_web_command(argv, int(instance))
        else:
            assert args.command == "witness"
            assert argv[argv.index("--operator") + 1] == "${WITNESS_OPERATOR}"

    env = (units / "env.example").read_text()
    for setting in ("REDIS_URL", "DATABASE_URL", "MVOTING_SECRET", "MVOTING_PUBLIC_URL"):
        assert re.search(rf"^{setting}=", env, re.M), setting

    # systemd's own check, where systemd is installed: known keys, valid values.
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    to_check = []
    for name, instance in expected.items():
        text = (units / name).read_text().replace("/opt/mvoting/.venv/bin/mvoting", sys.executable)
        target = tmp_path / name.replace("@.", f"@{instance}.")
        target.write_text(text)
        to_check.append(str(target))
    shutil.copy(units / "mvoting.target", tmp_path / "mvoting.target")
    to_check.append(str(tmp_path / "mvoting.target"))
    done = subprocess.run(
        [analyze, "verify", "--man=no", *to_check],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
