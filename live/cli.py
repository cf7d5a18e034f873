"""The ``mvoting`` command: serve, worker, and room commands for scripts and benchmarks.

Every command works against a data directory (``--data``, default ``./var``) or the
external servers of ``REDIS_URL`` / ``DATABASE_URL``, the same ones a running ``serve``
uses; except ``recount`` and ``verify``, which anyone runs on a file they were given
(an exported log, a receipt), with no data directory and no settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from live import heap, hosts, logs, officials, sessions, store
from live.citizens import accounts
from live.engines import processes
from live.health import notify, watchdog
from live.ledger.local_witnesses import LocalWitnesses, start_local_witnesses
from live.ledger.receipt_check import HTTP_TIMEOUT, check_receipt
from live.moderation import monitors
from live.services import Services, open_services, resolve_redis
from live.settings import Settings, SettingsError, load_settings
from rooms.draws import check_export
from rooms.errors import N_, ErrorCode, VotingError, invalid_state, not_found
from rooms.ledger import derive_signer
from rooms.log_export import ExportError, LogExport, recount_export
from rooms.questions import Action, Kind, Status, build_question
from rooms.tlog.errors import PolicyError
from rooms.tlog.policy import Policy

log = logging.getLogger("mvoting")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    alone = getattr(args, "alone", None)
    if alone is not None:  # loading settings would write a secret into ./var
        code: int = alone(args)
        return code
    try:
        settings = load_settings(MVOTING_DATA=args.data) if args.data else load_settings()
    except SettingsError as exc:
        print(f"mvoting: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    try:
        result: int = args.func(settings, args)
        return result
    except VotingError as err:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "error": err.as_dict()}))
        else:
            print(f"mvoting: {err.message} ({err.code})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mvoting", description="Real-time meeting voting.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", help="data directory (default: $MVOTING_DATA or ./var)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", parents=[common], help="run a web node (and the worker)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--no-worker", action="store_true", help="do not start the archive worker")
    s.set_defaults(func=cmd_serve)

    w = sub.add_parser("worker", parents=[common], help="run the archive worker alone")
    w.add_argument("--name", help="consumer name; a restart under the same name resumes")
    w.add_argument("--batch", type=int, default=500, help="ballots per archive transaction")
    w.add_argument(
        "--claim-idle-ms",
        type=int,
        default=30_000,
        help="take over a dead worker's ballots pending this long",
    )
    w.add_argument(
        "--alive-file",
        type=Path,
        help="a file touched after each archive pass, for a liveness probe to check its age",
    )
    w.add_argument(
        "--metrics-port",
        type=int,
        help="serve the worker's Prometheus metrics on this port (on --metrics-host); not "
        "needed when PROMETHEUS_MULTIPROC_DIR gathers them into the web nodes' /metrics",
    )
    w.add_argument(
        "--metrics-host", default="127.0.0.1", help="where --metrics-port listens (127.0.0.1)"
    )
    w.set_defaults(func=cmd_worker)

    room = sub.add_parser("room", help="create and close rooms, read results").add_subparsers(
        dest="room_command", required=True
    )
    c = room.add_parser("create", parents=[common], help="create a room with a question")
    c.add_argument("--title", required=True)
    c.add_argument("--password", help="room password (default: eight random digits)")
    c.add_argument("--question", required=True, help="the question's title")
    c.add_argument("--options", default="", help='comma-separated labels, e.g. "A,B,C"')
    c.add_argument("--kind", default="single", choices=[k.value for k in Kind])
    c.add_argument("--max-choices", type=int)
    c.add_argument("--scale", type=int, default=5, help="rating scale 1..N (rating only)")
    c.add_argument("--visibility", default="live", choices=["live", "after_vote", "after_close"])
    c.add_argument("--open", action="store_true", help="open the question at once")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_room_create)

    r = room.add_parser(
        "results", parents=[common], help="counts, totals, archive counts and verification"
    )
    r.add_argument("room", help="room number or id")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_room_results)

    rc = room.add_parser("close", parents=[common], help="close every open question of a room")
    rc.add_argument("room", help="room number or id")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=cmd_room_close)

    q = sub.add_parser("question", parents=[common], help="open, close, reveal or reset")
    q.add_argument("action", choices=[a.value for a in Action])
    q.add_argument("question", help="question id")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_question)

    lg = sub.add_parser("log", help="a poll's transparency log").add_subparsers(
        dest="log_command", required=True
    )
    le = lg.add_parser(
        "export", parents=[common], help="write a closed question's log to stdout (for recount)"
    )
    le.add_argument("question", help="question id")
    le.set_defaults(func=cmd_log_export)
    lk = lg.add_parser(
        "operator-key",
        parents=[common],
        help="print the operator vkey the witnesses trust to register this ledger's logs",
    )
    lk.set_defaults(func=cmd_log_operator_key)

    ho = sub.add_parser("host", help="host accounts").add_subparsers(
        dest="host_command", required=True
    )
    hs = ho.add_parser("sessions", help="a host's sign-in sessions").add_subparsers(
        dest="sessions_command", required=True
    )
    he = hs.add_parser("end", parents=[common], help="end every session of a host now")
    he.add_argument("email", help="the host's e-mail address")
    he.add_argument("--json", action="store_true")
    he.set_defaults(func=cmd_host_sessions_end)

    ad = sub.add_parser("admin", help="the city's departments and officials").add_subparsers(
        dest="admin_command", required=True
    )
    dd = ad.add_parser("create-department", parents=[common], help="add a department")
    dd.add_argument("name", help="the department's name, as citizens read it")
    dd.add_argument("--json", action="store_true")
    dd.set_defaults(func=cmd_admin_create_department)
    do = ad.add_parser(
        "create-official",
        parents=[common],
        help="add an official of a department; prints a password that works once",
    )
    do.add_argument("--department", required=True, help="the department's name")
    do.add_argument("--login", required=True, help="what the official signs in with")
    do.add_argument("--json", action="store_true")
    do.set_defaults(func=cmd_admin_create_official, role="official")
    da = ad.add_parser(
        "create-admin",
        parents=[common],
        help="add an administrator (sees every department); prints a password that works once",
    )
    da.add_argument("--login", required=True, help="what the administrator signs in with")
    da.add_argument("--json", action="store_true")
    da.set_defaults(func=cmd_admin_create_official, role="admin", department=None)
    for verb, adding in (("add-monitor", True), ("remove-monitor", False)):
        dm = ad.add_parser(
            verb,
            parents=[common],
            help=(
                "appoint a monitor of polls and comments: staff by login, or a citizen of the "
                "monitoring group by phone number"
                if adding
                else "end a monitor's appointment"
            ),
        )
        who = dm.add_mutually_exclusive_group(required=True)
        who.add_argument("--login", help="a host or official's login (e-mail)")
        who.add_argument("--phone", help="a citizen's mobile number")
        dm.add_argument("--json", action="store_true")
        dm.set_defaults(func=cmd_admin_monitor, adding=adding)
    dl = ad.add_parser("list", parents=[common], help="list departments and officials")
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_admin_list)
    aw = ad.add_parser(
        "words", help="the prohibited words (refused in polls, options and comments)"
    ).add_subparsers(dest="words_command", required=True)
    for verb, said in (
        ("list", "list the prohibited words and the allowed ones"),
        ("add", 'prohibit words; "+word" allows a word that holds a prohibited one'),
        ("remove", "take words off the list"),
    ):
        wd = aw.add_parser(verb, parents=[common], help=said)
        if verb != "list":
            wd.add_argument("words", nargs="+", metavar="WORD")
        wd.add_argument("--json", action="store_true")
        wd.set_defaults(func=cmd_admin_words, verb=verb)

    md = sub.add_parser("media", help="uploaded images").add_subparsers(
        dest="media_command", required=True
    )
    mp = md.add_parser(
        "prune",
        parents=[common],
        help="remove the images no question uses, once past MVOTING_MEDIA_GRACE_HOURS",
    )
    mp.add_argument("--json", action="store_true")
    mp.set_defaults(func=cmd_media_prune)

    rc = sub.add_parser("recount", help="recount an exported log alone (no server, no data)")
    rc.add_argument("file", type=Path, help="the file of `mvoting log export` or /export")
    rc.add_argument(
        "--policy",
        type=Path,
        metavar="POLICYFILE",
        help="the tlog-policy you trust (default: the file's own, which only shows that "
        "the file is consistent with itself)",
    )
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(alone=cmd_recount)

    v = sub.add_parser("verify", help="check a ballot's receipt (a C2SP tlog-proof)")
    v.add_argument("receipt", type=Path, help="the receipt file")
    v.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="the tlog-policy you trust (default: the one the server publishes for the log)",
    )
    v.add_argument(
        "--server",
        metavar="URL",
        help="the server of the receipt's log (default: from the log's origin)",
    )
    v.add_argument("--json", action="store_true")
    v.set_defaults(alone=cmd_verify)

    dr = sub.add_parser("draw", help="a lot drawing").add_subparsers(
        dest="draw_command", required=True
    )
    dv = dr.add_parser(
        "verify",
        help="re-run a revealed lot drawing from its log and check its beacon and witnesses",
    )
    dv.add_argument(
        "source", help="the draw's page or log URL (http(s)://.../draws/ID), or its saved log"
    )
    dv.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="the tlog-policy you trust (default: the one served with the log)",
    )
    dv.add_argument("--json", action="store_true")
    dv.set_defaults(alone=cmd_draw_verify)

    wi = sub.add_parser(
        "witness", parents=[common], help="run a transparency log witness (C2SP tlog-witness)"
    )
    wi.add_argument("--host", default="127.0.0.1")
    wi.add_argument("--port", type=int, default=8100, help="default: 8100")
    wi.add_argument(
        "--name",
        help="the witness's key name, fixed at its first start (default: hostname:PORT)",
    )
    wi.add_argument(
        "--log",
        action="append",
        default=[],
        metavar="VKEY",
        help="also witness this log (its key name is its origin); repeat for more",
    )
    wi.add_argument(
        "--operator",
        action="append",
        default=[],
        metavar="VKEY",
        help="also let this operator register logs under its key name (POST /add-log); "
        "repeat for more",
    )
    wi.set_defaults(func=cmd_witness)
    return p


# --- serve / worker ---------------------------------------------------------------------


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from live.app import create_app
    from live.wire.http_protocol import guarded_http_protocol
    from live.wire.websocket_protocol import LeanWebSocketProtocol

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url, valkey = resolve_redis(settings)
    if valkey is not None:
        # The node and its worker must use this very server, whoever started it.
        settings = settings.with_(redis_url=url)
    witnesses = _start_local_witnesses(settings)
    worker = None
    if not args.no_worker:
        # Named after this node: stable across restarts (it re-reads its own pending
        # ballots), distinct from the workers of other nodes on the same stores.
        name = f"{socket.gethostname()}-{args.port}"
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "live.cli",
                "worker",
                "--data",
                str(settings.data_dir),
                "--name",
                name,
            ],
            env={**os.environ, "REDIS_URL": url},
        )
    base = f"http://{args.host}:{args.port}"
    run_file = settings.data_dir / "run" / "web.json"
    # After a graceful shutdown uvicorn restores the previous handlers and raises the
    # signal again. With the default SIGTERM action the process would die right there,
    # skipping the ``finally`` below and leaving the worker and the Valkey it started
    # running; so SIGTERM unwinds, with exit status 128 + 15. So does SIGINT (128 + 2):
    # left to asyncio's runner, it only cancels the main task, which may have ended by
    # then, and the process exited 0 after Ctrl-C (a slow machine showed it).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    try:
        config = uvicorn.Config(
            create_app(settings),
            host=args.host,
            port=args.port,
            lifespan="on",
            # Request headers timed and bounded, connections counted (uvicorn does
            # neither); a websocket message is bounded by the websocket protocol.
            http=guarded_http_protocol(settings.header_timeout, settings.max_connections),
            ws=LeanWebSocketProtocol,
            ws_per_message_deflate=False,
            log_config=logs.uvicorn_log_config(),
            log_level=logs.uvicorn_log_level(settings.log_level),
            timeout_graceful_shutdown=5,
            backlog=4096,
        )
        server = uvicorn.Server(config)

        async def serve() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started and not task.done():  # noqa: ASYNC110 - no event
                await asyncio.sleep(0.05)
            background: list[asyncio.Task[None]] = []
            if server.started:
                _record_node(run_file, base)
                print(f"mvoting is serving on {settings.public_url or base}", flush=True)
                # systemd (Type=notify): serving now; alive while this loop turns.
                notify("READY=1")
                background.append(asyncio.create_task(watchdog(), name="watchdog"))
                # Full garbage collections out of the bursts (live.heap).
                heap.freeze_startup()
                background.append(asyncio.create_task(heap.Collector().run(), name="heap"))
            await task
            for t in background:
                t.cancel()

        asyncio.run(serve())
    finally:
        _forget_node(run_file)
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
        if witnesses is not None:
            witnesses.stop()
        if valkey is not None:
            valkey.stop()
    return 0


def _start_local_witnesses(settings: Settings) -> LocalWitnesses | None:
    """Without a policy of its own, a node runs witnesses here, so the ledger works on a
    laptop: ``MVOTING_LOCAL_WITNESSES`` of them (3 of 4 by default) trusting this
    deployment's operator key, and their policy in ``DATA/policy``."""
    count = settings.local_witnesses
    if settings.ledger_policy is not None or count == 0:
        return None
    operator = derive_signer(settings.secret.reveal(), settings.ledger_name)
    threshold = max(1, (3 * count + 3) // 4)
    witnesses = start_local_witnesses(
        settings.data_dir, count=count, threshold=threshold, operators=[operator.verifier().vkey()]
    )
    print(
        f"{count} local witnesses, {threshold} of {count} must cosign: {witnesses.policy_path}",
        flush=True,
    )
    return witnesses


def _record_node(run_file: Path, url: str) -> None:
    """Name this node in ``run/web.json`` (the links ``room create`` prints) unless another
    live node of the data dir is named there already: a second node must not take over
    the first one's links, nor remove them when it stops."""
    other = _recorded_pid(run_file)
    if other is not None and other != os.getpid() and processes.alive(other):
        return
    run_file.parent.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"url": url, "pid": os.getpid()}))


def _forget_node(run_file: Path) -> None:
    if _recorded_pid(run_file) == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            run_file.unlink()


def _recorded_pid(run_file: Path) -> int | None:
    try:
        return int(json.loads(run_file.read_text())["pid"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from live.metrics import serve_worker_metrics
    from live.worker import run_worker

    if args.metrics_port is not None:
        serve_worker_metrics(args.metrics_port, args.metrics_host)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_services(settings) as svc:
            task = asyncio.create_task(
                run_worker(
                    svc,
                    args.name,
                    batch=args.batch,
                    claim_idle_ms=args.claim_idle_ms,
                    alive_file=args.alive_file,
                )
            )
            # Its full collections out of the bursts, as the web process's (live.heap).
            heap.freeze_startup()
            collector = asyncio.create_task(heap.Collector(young=False).run(), name="heap")
            await stop.wait()
            collector.cancel()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(run())
    return 0


# --- room commands ----------------------------------------------------------------------


def _server_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url
    try:
        info = json.loads((settings.data_dir / "run" / "web.json").read_text())
        return str(info["url"])
    except (FileNotFoundError, ValueError, KeyError):
        return "http://127.0.0.1:8000"


def _run(settings: Settings, work: Any) -> Any:
    async def go() -> Any:
        async with open_services(settings) as svc:
            return await work(svc)

    return asyncio.run(go())


def _print(args: argparse.Namespace, body: dict[str, Any], text: str) -> None:
    print(json.dumps(body) if args.json else text)


def cmd_room_create(settings: Settings, args: argparse.Namespace) -> int:
    spec = build_question(
        args.question,
        args.kind,
        args.options,
        max_choices=args.max_choices,
        visibility=args.visibility,
        scale=args.scale,
    )

    async def work(svc: Services) -> dict[str, Any]:
        info = await store.create_room(svc, title=args.title, password=args.password)
        q = await store.add_question(svc, info.id, spec)
        if args.open:
            await store.act(svc, q.id, Action.OPEN)
        base = _server_url(settings)
        return {
            "room": info.number,
            "password": info.password,
            "key": info.key,
            "question": q.id,
            "join_url": f"{base}/j/{info.number}?key={info.key}",
            "presenter_url": f"{base}/present/{info.number}?token={info.presenter}",
        }

    body = _run(settings, work)
    _print(args, body, "\n".join(f"{k}: {v}" for k, v in body.items()))
    return 0


async def _room(svc: Services, ref: str) -> dict[str, str]:
    """The room of number or id ``ref``; ``unknown_room`` if there is none."""
    room = await store.room_by_number(svc, ref) or await store.room_by_id(svc, ref)
    if room is None:
        raise VotingError(ErrorCode.UNKNOWN_ROOM, room=ref)
    return room


def cmd_room_results(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        room = await _room(svc, args.room)
        return {"room": room["number"], "questions": await store.results(svc, room["id"])}

    body = _run(settings, work)
    lines = [f"room {body['room']}"]
    for q in body["questions"]:
        verification = f" verification={q['verification']}" if q["verification"] else ""
        # A ranking's counts are Borda points; its average places say the same per ballot.
        figures = (
            f"points={q['counts']} average_place={q['average_place']}"
            if q["kind"] == Kind.RANKING
            else f"counts={q['counts']}"
        )
        lines.append(
            f"  {q['id']} {q['title']!r} [{q['status']}] {figures} "
            f"total={q['total']} archived={q['archived']}{verification}"
        )
    _print(args, body, "\n".join(lines))
    return 0


def cmd_room_close(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        room = await _room(svc, args.room)
        closed = []
        for q in await store.load_questions(svc, await store.question_ids(svc, room["id"])):
            if q.status is Status.OPEN:
                await store.act(svc, q.id, Action.CLOSE)
                closed.append({"id": q.id, "title": q.spec.title})
        return {"ok": True, "room": room["number"], "closed": closed}

    body = _run(settings, work)
    lines = [f"closed {q['id']} {q['title']!r}" for q in body["closed"]]
    _print(args, body, "\n".join(lines or [f"room {body['room']} has no open question"]))
    return 0


def cmd_question(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        q = await store.act(svc, args.question, Action(args.action))
        return {"ok": True, "question": q.public()}

    body = _run(settings, work)
    _print(args, body, f"{args.question}: {body['question']['status']}")
    return 0


# --- hosts and media --------------------------------------------------------------------


def cmd_host_sessions_end(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        host = await hosts.host_by_email(svc, args.email)
        if host is None:
            raise not_found(N_("host {id}"), args.email)
        await sessions.end_all(svc, host.id)
        return {"ok": True, "host": host.id, "email": host.email}

    body = _run(settings, work)
    _print(args, body, f"ended every session of {body['email']}")
    return 0


def cmd_admin_create_department(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        department = await officials.create_department(svc, args.name)
        return {"ok": True, "department": {"id": department.id, "name": department.name}}

    body = _run(settings, work)
    _print(args, body, f"department {body['department']['name']!r} created")
    return 0


def cmd_admin_create_official(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        role = officials.Role(args.role)
        official, one_time = await officials.create_official(
            svc, args.login, role=role, department=args.department
        )
        return {
            "ok": True,
            "login": official.login,
            "role": str(official.role),
            "department": official.department.name if official.department else None,
            "password": one_time,
        }

    body = _run(settings, work)
    where = f" of {body['department']!r}" if body["department"] else ""
    _print(
        args,
        body,
        f"{body['role']} {body['login']!r}{where} created\n"
        f"one-time password: {body['password']}\n"
        "(it works for the first sign-in only, at /host/signin, and must then be changed)",
    )
    return 0


def cmd_admin_monitor(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        if args.login:
            host = await hosts.host_by_email(svc, args.login)
            if host is None:
                raise not_found(N_("account {id}"), args.login)
            who = {"host_id": host.id}
        else:
            found = await accounts.citizen_by_phone(svc, args.phone)
            if found is None:
                raise not_found(N_("account {id}"), "")
            who = {"citizen_id": found.id}
        change = monitors.add_monitor if args.adding else monitors.remove_monitor
        changed = await change(svc, by="cli", **who)
        return {"ok": True, "monitor": args.adding, "changed": changed}

    body = _run(settings, work)
    account = args.login or "the citizen"
    if body["changed"]:
        said = (
            f"{account} is a monitor now: /monitor"
            if args.adding
            else f"{account} is no monitor now"
        )
    else:
        said = f"{account} was a monitor already" if args.adding else f"{account} was no monitor"
    _print(args, body, said)
    return 0


def cmd_admin_words(settings: Settings, args: argparse.Namespace) -> int:
    from live.moderation import words

    async def work(svc: Services) -> dict[str, Any]:
        if args.verb == "add":
            return {"ok": True, "added": await words.add(svc, args.words, by="cli")}
        if args.verb == "remove":
            return {"ok": True, "removed": await words.remove(svc, args.words, by="cli")}
        return {"ok": True, "words": [w.as_dict() for w in await words.listed(svc)]}

    body = _run(settings, work)
    if args.verb == "list":
        text = "\n".join(("allowed: " if w["allowed"] else "") + w["word"] for w in body["words"])
        _print(args, body, text or "no prohibited words yet")
    else:
        done = body.get("added", body.get("removed"))
        verb = "added" if args.verb == "add" else "removed"
        _print(args, body, f"{verb}: {', '.join(done)}" if done else f"nothing {verb}")
    return 0


def cmd_admin_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        departments, people = await officials.directory(svc)
        return {
            "ok": True,
            "departments": [d.name for d in departments],
            "officials": [
                {
                    "login": p.login,
                    "role": str(p.role),
                    "department": p.department.name if p.department else None,
                    "must_change_password": p.must_change_password,
                }
                for p in people
            ],
        }

    body = _run(settings, work)
    lines = [f"department: {name}" for name in body["departments"]]
    lines += [
        f"{p['role']}: {p['login']}" + (f" ({p['department']})" if p["department"] else "")
        for p in body["officials"]
    ]
    _print(args, body, "\n".join(lines) or "no departments or officials yet")
    return 0


def cmd_media_prune(settings: Settings, args: argparse.Namespace) -> int:
    from live import media

    async def work(svc: Services) -> dict[str, Any]:
        done = await media.prune(svc)
        return {"ok": True, "removed": done.removed, "freed": done.freed, "kept": done.kept}

    body = _run(settings, work)
    text = f"removed {len(body['removed'])} images ({body['freed']} bytes); kept {body['kept']}"
    _print(args, body, text)
    return 0


# --- the ledger -------------------------------------------------------------------------


def cmd_log_operator_key(settings: Settings, args: argparse.Namespace) -> int:
    """The vkey a witness takes with ``--operator``: derived from the secret and the
    ledger's name, so every node of the deployment prints the same."""
    operator = derive_signer(settings.secret.reveal(), settings.ledger_name)
    print(operator.verifier().vkey())
    return 0


def cmd_log_export(settings: Settings, args: argparse.Namespace) -> int:
    """The closed question's log, as ``GET /ledger/<log>/export`` serves it."""
    from live.ledger.log import Ledger, export_log

    async def work(svc: Services) -> bytes:
        q = await store.load_question(svc, args.question)
        if q is None:
            raise not_found(N_("question {id}"), args.question)
        if q.status is Status.OPEN:  # not final: each ballot still adds an entry
            raise invalid_state(
                N_("The poll is still open: its log can be exported once it closes.")
            )
        ledger = Ledger(svc)
        try:
            info = await ledger.log_of_question(q.id)
            export = None if info is None else await export_log(ledger, info)
        finally:
            await ledger.aclose()
        if info is None:
            raise not_found(N_("log of question {id}"), q.id)
        if export is None:
            raise not_found(N_("checkpoint of log {id}"), info.id)
        return export.to_bytes()

    data: bytes = _run(settings, work)
    sys.stdout.buffer.write(data + b"\n")
    return 0


def cmd_recount(args: argparse.Namespace) -> int:
    """Exit 0 if the export verifies, 1 if it does not, 2 if a file is not what it should be."""
    unread = {"counts": None, "total": None}
    try:
        export = LogExport.parse(args.file.read_bytes())
        policy = _trusted_policy(args.policy)
    except OSError as error:
        return _unusable(args, f"{error.filename}: {error.strerror}", unread)
    except ExportError as error:
        return _unusable(args, f"{args.file} is not a log export: {error}", unread)
    except _Unusable as error:
        return _unusable(args, str(error), unread)
    result = recount_export(export, policy)
    if args.json:
        print(json.dumps(result))
        return 0 if result["verified"] else 1
    print(f"log {export.origin}, question {export.question}: {len(export.entries)} entries")
    if result["counts"] is not None:
        print(f"counts {result['counts']}, total {result['total']}")
    if not result["verified"]:
        print(f"NOT verified: {result['reason']}")
    elif policy is None:
        print(
            "verified against the file's own policy, which only shows that the file is "
            "consistent with itself; pass --policy with one you trust"
        )
    else:
        print(f"verified against the policy {args.policy}")
    return 0 if result["verified"] else 1


class _Unusable(Exception):
    """A file named on the command line is not what the command reads."""


def _trusted_policy(path: Path | None) -> Policy | None:
    if path is None:
        return None
    try:
        return Policy.parse(path.read_bytes())
    except PolicyError as error:
        raise _Unusable(f"{path} is not a tlog-policy: {error}") from None


def _unusable(args: argparse.Namespace, reason: str, fields: dict[str, Any] | None = None) -> int:
    if args.json:
        print(json.dumps({**(fields or {}), "verified": False, "reason": reason}))
    else:
        print(f"mvoting: {reason}", file=sys.stderr)
    return 2


def cmd_draw_verify(args: argparse.Namespace) -> int:
    """Exit 0 if the draw re-runs to the logged result, 1 if not, 2 if the log is unreadable."""
    source: str = args.source
    try:
        policy = _trusted_policy(args.policy)
        if source.startswith(("http://", "https://")):
            url = source.rstrip("/")
            url = url if url.endswith("/log") else f"{url}/log"
            with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True) as http:
                response = http.get(url)
            if response.status_code != 200:
                return _unusable(args, f"{url}: HTTP {response.status_code}")
            data = response.content
        else:
            data = Path(source).read_bytes()
    except OSError as error:
        return _unusable(args, f"{source}: {error}")
    except httpx.HTTPError as error:
        return _unusable(args, f"{source}: {error}")
    except _Unusable as error:
        return _unusable(args, str(error))
    result = check_export(data, policy)
    if args.json:
        print(json.dumps(result))
        return 0 if result["verified"] else 1
    print(f"draw {result['draw'] or '?'}: {result['title'] or ''}")
    if result["beacon"]:
        print(f"  beacon: the log's root at {result['beacon_size']} entries, {result['beacon']}")
    for p in result["picks"]:
        label = "(blank)" if p["blank"] and not p["label"] else p["label"]
        print(f"  draw {p['n'] + 1}: slot {p['slot'] + 1} {label}")
    if not result["verified"]:
        print(f"NOT verified: {result['reason']}")
        return 1
    signed = (
        f"signed checkpoints; the commitment cosigned by {', '.join(result['witnesses'])}"
        if result["signed"]
        else "unsigned trees (no witness policy)"
    )
    print(
        "verified: the seed matches the commitment, every draw's beacon is the log's root "
        f"after the commitment's witnesses, and it re-runs every draw ({signed})"
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 if the receipt verifies, 1 if it does not, 2 if a file cannot be read."""
    try:
        data = args.receipt.read_bytes()
        policy = _trusted_policy(args.policy)
    except OSError as error:
        return _unusable(args, f"{error.filename}: {error.strerror}")
    except _Unusable as error:
        return _unusable(args, str(error))
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True) as http:
        result = check_receipt(data, policy, args.server, http)
    print(json.dumps(result) if args.json else _receipt_summary(result))
    return 0 if result["verified"] else 1


def _receipt_summary(result: dict[str, Any]) -> str:
    code = result["receipt"] or "?"
    if not result["verified"]:
        return f"receipt {code}: NOT verified: {result['reason']}"
    choices = ", ".join(result["labels"] or [f"#{c + 1}" for c in result["choices"]])
    question = f"question {result['question']}"
    if result["title"]:
        question = f"{result['title']!r} ({question})"
    if result["promise"] == "pending":
        return "\n".join(
            [
                f"receipt {code}: promised by the log {result['origin']} (signature verified)",
                f"  ballot: {choices} on {question}",
                f"  {result['final']['message']}",
            ]
        )
    kept = " (the log kept its promise)" if result["promise"] == "kept" else ""
    lines = [
        f"receipt {code}: verified{kept}",
        f"  ballot: {choices} on {question}",
        f"  entry {result['index'] + 1} (index {result['index']}) of the first "
        f"{result['size']} entries of the log {result['origin']}",
        f"  cosigned by {', '.join(result['cosigners']) or 'no witness'}",
        f"  {result['final']['message']}",
    ]
    final = result["final"]
    if final.get("verification"):
        reason = f": {final['verification_reason']}" if final.get("verification_reason") else ""
        lines.append(f"  the server's verdict on the poll: {final['verification']}{reason}")
    return "\n".join(lines)


# --- witness ----------------------------------------------------------------------------


def cmd_witness(settings: Settings, args: argparse.Namespace) -> int:
    """A witness on ``DATA/witness`` (``live.ledger.witness``); prints its vkey once it listens."""
    import uvicorn

    from live.ledger.witness import WitnessSetupError, create_witness_app, open_witness

    try:
        witness = open_witness(
            settings.data_dir,
            name=args.name,
            default_name=f"{socket.gethostname()}:{args.port}",
            logs=args.log,
            operators=args.operator,
        )
    except WitnessSetupError as exc:
        print(f"mvoting: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        logs.RequestIds(create_witness_app(witness)),
        host=args.host,
        port=args.port,
        lifespan="on",
        log_config=logs.uvicorn_log_config(),
        log_level=logs.uvicorn_log_level(settings.log_level),
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, _exit_on_signal)  # as in serve: exit 143, not killed

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():  # noqa: ASYNC110 - no event
            await asyncio.sleep(0.05)
        if server.started:
            print(f"witness {witness.name} vkey {witness.vkey()}", flush=True)
            print(f"witness {witness.name} url http://{args.host}:{args.port}", flush=True)
            notify("READY=1")
            watching = asyncio.create_task(watchdog(), name="watchdog")
            await task
            watching.cancel()
            return
        await task

    asyncio.run(serve())
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
