"""The ``mvoting`` command: serve, worker, and room commands for scripts and benchmarks.

Every command works against a data directory (``--data``, default ``./var``) or the
external servers of ``REDIS_URL`` / ``DATABASE_URL``, the same ones a running ``serve``
uses.
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

from live import processes, store
from live.local_witnesses import LocalWitnesses, start_local_witnesses
from live.services import Services, open_services, resolve_redis
from live.settings import Settings, SettingsError, load_settings
from rooms.errors import VotingError
from rooms.ledger import derive_signer
from rooms.questions import Action, build_question

log = logging.getLogger("mvoting")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(MVOTING_DATA=args.data) if args.data else load_settings()
    except SettingsError as exc:
        print(f"mvoting: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
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
    w.set_defaults(func=cmd_worker)

    room = sub.add_parser("room", help="create rooms, read results").add_subparsers(
        dest="room_command", required=True
    )
    c = room.add_parser("create", parents=[common], help="create a room with a question")
    c.add_argument("--title", required=True)
    c.add_argument("--password", help="room password (default: four random digits)")
    c.add_argument("--question", required=True, help="the question's title")
    c.add_argument("--options", default="", help='comma-separated labels, e.g. "A,B,C"')
    c.add_argument(
        "--kind", default="single", choices=["single", "multiple", "yesno", "vs", "rating"]
    )
    c.add_argument("--max-choices", type=int)
    c.add_argument("--scale", type=int, default=5, help="rating scale 1..N (rating only)")
    c.add_argument("--visibility", default="live", choices=["live", "after_vote", "after_close"])
    c.add_argument("--open", action="store_true", help="open the question at once")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_room_create)

    r = room.add_parser("results", parents=[common], help="counts, totals and archive counts")
    r.add_argument("room", help="room number")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_room_results)

    q = sub.add_parser("question", parents=[common], help="open, close, reveal or reset")
    q.add_argument("action", choices=[a.value for a in Action])
    q.add_argument("question", help="question id")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_question)

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
    # running; so SIGTERM unwinds like Ctrl-C does, with exit status 128 + 15.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        config = uvicorn.Config(
            create_app(settings),
            host=args.host,
            port=args.port,
            lifespan="on",
            ws_per_message_deflate=False,
            log_level="warning",
            timeout_graceful_shutdown=5,
            backlog=4096,
        )
        server = uvicorn.Server(config)

        async def serve() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started and not task.done():  # noqa: ASYNC110 - no event
                await asyncio.sleep(0.05)
            if server.started:
                _record_node(run_file, base)
                print(f"mvoting is serving on {settings.public_url or base}", flush=True)
            await task

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
    from live.worker import run_worker

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_services(settings) as svc:
            task = asyncio.create_task(
                run_worker(svc, args.name, batch=args.batch, claim_idle_ms=args.claim_idle_ms)
            )
            await stop.wait()
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


def cmd_room_results(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any] | None:
        room = await store.room_by_number(svc, args.room) or await store.room_by_id(svc, args.room)
        if room is None:
            return None
        return {"room": room["number"], "questions": await store.results(svc, room["id"])}

    body = _run(settings, work)
    if body is None:
        from rooms.errors import ErrorCode

        raise VotingError(ErrorCode.UNKNOWN_ROOM, room=args.room)
    lines = [f"room {body['room']}"]
    for q in body["questions"]:
        lines.append(
            f"  {q['id']} {q['title']!r} [{q['status']}] counts={q['counts']} "
            f"total={q['total']} archived={q['archived']}"
        )
    _print(args, body, "\n".join(lines))
    return 0


def cmd_question(settings: Settings, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> dict[str, Any]:
        q = await store.act(svc, args.question, Action(args.action))
        return {"ok": True, "question": q.public()}

    body = _run(settings, work)
    _print(args, body, f"{args.question}: {body['question']['status']}")
    return 0


# --- witness ----------------------------------------------------------------------------


def cmd_witness(settings: Settings, args: argparse.Namespace) -> int:
    """A witness on ``DATA/witness`` (``live.witness``); prints its vkey once it listens."""
    import uvicorn

    from live.witness import WitnessSetupError, create_witness_app, open_witness

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
        create_witness_app(witness),
        host=args.host,
        port=args.port,
        lifespan="on",
        log_level="warning",
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
        await task

    asyncio.run(serve())
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
