"""The ledger over HTTP: what a voter, a monitor or ``mvoting verify`` reads of a poll's log.

All public, all read-only::

    GET /ledger/<log>                      JSON: origin, question, size, status, verification
    GET /ledger/<log>/policy               the tlog-policy to check the log with: its key,
                                           the witnesses and the quorum (text)
    GET /ledger/<log>/checkpoint           the latest checkpoint, with its cosignatures
    GET /ledger/<log>/consistency?old=M&new=N
                                           the RFC 9162 consistency proof, base64 lines
    GET /ledger/<log>/export               the closed poll's whole log (``mvoting recount``)
    GET /ledger/receipt/<leaf hash, hex>   a ballot's receipt: a C2SP tlog-proof whose extra
                                           data is the ballot's entry

The policy served here is as good as the server's word: a careful verifier pins the
witnesses' keys from elsewhere (``mvoting verify --policy``).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import store
from live.ledger.log import Ledger, LogInfo, export_log
from live.web.api import ok, services
from rooms.errors import ErrorCode, VotingError, bad_request
from rooms.questions import Status
from rooms.tlog._text import encode_base64

_HEX64 = re.compile(r"[0-9a-f]{64}")
_LOG_ID = re.compile(r"[0-9a-f]{16}")
TEXT = "text/plain; charset=utf-8"


def ledger_of(request: Request) -> Ledger:
    """The node's ledger reader (its keys, policy and the trees it has built)."""
    svc = services(request)
    ledger: Ledger | None = getattr(request.app.state, "ledger", None)
    if ledger is None or ledger.svc is not svc:
        ledger = request.app.state.ledger = Ledger(svc)
    return ledger


async def _log(request: Request) -> tuple[Ledger, LogInfo]:
    ledger = ledger_of(request)
    log_id = request.path_params["log_id"]
    info = await ledger.log_info(log_id) if _LOG_ID.fullmatch(log_id) else None
    if info is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="log", id=log_id)
    return ledger, info


async def log_status(request: Request) -> Response:
    ledger, info = await _log(request)
    q = await store.load_question(ledger.svc, info.question_id)
    current = q is not None and q.log_id == info.id
    return ok(
        {
            "log": {
                "id": info.id,
                "origin": info.origin,
                "question": info.question_id,
                "size": info.size,
                "receipts": info.receipts,
                "current": current,
                "status": str(q.status) if q is not None and current else "ended",
                "title": q.spec.title if q is not None else "",
                "options": [o.label for o in q.spec.options] if q is not None else [],
                **(store.verification_of(q) if q is not None and current else {}),
            }
        }
    )


async def log_policy(request: Request) -> Response:
    ledger, info = await _log(request)
    policy = ledger.log_policy(info)
    if policy is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="witness policy for log", id=info.id)
    return Response(policy.to_bytes(), media_type=TEXT)


async def log_checkpoint(request: Request) -> Response:
    ledger, info = await _log(request)
    stored = await ledger.stored_checkpoint(info.id)
    if stored is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="checkpoint of log", id=info.id)
    return Response(stored[1], media_type=TEXT, headers={"Cache-Control": "no-cache"})


async def log_consistency(request: Request) -> Response:
    ledger, info = await _log(request)
    tree = await ledger.tree(info.id)
    try:
        old, new = int(request.query_params["old"]), int(request.query_params["new"])
    except (KeyError, ValueError):
        raise bad_request("old and new are tree sizes") from None
    if not 0 <= old <= new <= tree.size:
        raise bad_request(f"sizes run from 0 to the log's {tree.size}, old <= new")
    proof = tree.consistency_proof(old, new)
    return Response("".join(encode_base64(h) + "\n" for h in proof), media_type=TEXT)


async def log_export(request: Request) -> Response:
    ledger, info = await _log(request)
    q = await store.load_question(ledger.svc, info.question_id)
    if q is not None and q.log_id == info.id and q.status is Status.OPEN:
        raise VotingError(ErrorCode.INVALID_STATE, action="export the log of", status="open")
    export = await export_log(ledger, info)
    if export is None:
        raise VotingError(ErrorCode.NOT_FOUND, what="checkpoint of log", id=info.id)
    return Response(
        export.to_bytes(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="log-{info.id}.json"'},
    )


async def receipt(request: Request) -> Response:
    leaf = request.path_params["leaf"].lower()
    if not _HEX64.fullmatch(leaf):
        raise bad_request("a receipt is a 64-digit hex leaf hash")
    found = await ledger_of(request).receipt(leaf)
    if found is None:
        raise VotingError(ErrorCode.NOT_LOGGED_YET)
    info, proof = found
    if not info.receipts:
        raise VotingError(ErrorCode.RECEIPTS_OFF)
    name = f"receipt-{leaf[:12]}.tlog-proof"  # the code the voter saw (``receipt_code``)
    return Response(
        proof,
        media_type=TEXT,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route("/ledger/receipt/{leaf}", receipt, methods=["GET"]),
    Route("/ledger/{log_id}", log_status, methods=["GET"]),
    Route("/ledger/{log_id}/policy", log_policy, methods=["GET"]),
    Route("/ledger/{log_id}/checkpoint", log_checkpoint, methods=["GET"]),
    Route("/ledger/{log_id}/consistency", log_consistency, methods=["GET"]),
    Route("/ledger/{log_id}/export", log_export, methods=["GET"]),
]
