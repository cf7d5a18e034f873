"""The ledger over HTTP: what a voter, a monitor or ``mvoting verify`` reads of a poll's log.

All read-only::

    GET /ledger/<log>                      JSON: origin, question, size, status, verification,
                                           the options' labels (also in the request's language)
    GET /ledger/<log>/policy               the tlog-policy to check the log with: its key,
                                           the witnesses and the quorum (text)
    GET /ledger/<log>/checkpoint           the latest checkpoint, with its cosignatures
    GET /ledger/<log>/consistency?old=M&new=N
                                           the RFC 9162 consistency proof, base64 lines
                                           (1 <= M <= N <= the log's size)
    GET /ledger/<log>/export               the closed poll's whole log (``mvoting recount``)
    GET /ledger/receipt/<leaf hash, hex>   a ballot's receipt: a C2SP tlog-proof whose extra
                                           data is the ballot's entry (to its voter while
                                           the results are hidden: a receipt promise)

A log is the poll's results: its entries carry each ballot's choices, its sizes count the
ballots, and every proof names leaf hashes that lead to entries. So it is read under the
rule of the results (``rooms.visibility``), for an attendee who has not voted: while the
question's results are hidden from attendees (``after_vote`` or ``after_close``, open, not
revealed) the status carries no size, and the checkpoint, the consistency proofs and the
receipts are refused with ``results_hidden``; the export waits for the close in any case.
One reader is known: the device that cast a ballot (its ``mv_device`` cookie), which gets
its own receipt as soon as it may see the results (``after_vote``: at once) and, until
then, the log's signed promise of its entry (``rooms.promise``), which names neither its
index nor a tree size. The policy is
always served; it tells nothing of the poll. A log that is no longer its question's ended
closed (only a closed question is reset), so its results were shown: it is public.

The policy served here is as good as the server's word: a careful verifier pins the
witnesses' keys from elsewhere (``mvoting verify --policy``).
"""

from __future__ import annotations

import hmac
import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import store
from live.ledger.log import Ledger, LogInfo, export_log
from live.services import Services
from live.sockets import DEVICE_COOKIE
from live.store import LiveQuestion
from live.web import i18n
from live.web.api import ok, services
from rooms.errors import N_, ErrorCode, VotingError, bad_request, invalid_state, not_found
from rooms.identity import verify_device, voter_ref
from rooms.questions import Kind, Status, fixed_label
from rooms.tlog._text import encode_base64
from rooms.visibility import Viewer, may_see_tally

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
        raise not_found(N_("log {id}"), log_id)
    return ledger, info


async def _current_question(ledger: Ledger, info: LogInfo) -> LiveQuestion | None:
    """The log's question while the log is its current one; None once it ended."""
    q = await store.load_question(ledger.svc, info.question_id)
    return q if q is not None and q.log_id == info.id else None


def _results_shown(q: LiveQuestion | None, *, voted: bool = False) -> bool:
    """Whether an attendee (who has ``voted`` or not) sees the results of the log's poll."""
    if q is None:
        return True  # ended: reset after its close, when the results were shown to all
    return may_see_tally(
        q.spec.visibility,
        viewer=Viewer.ATTENDEE,
        closed=q.closed,
        revealed=q.revealed,
        voted=voted,
    )


async def _shown_or_refuse(ledger: Ledger, info: LogInfo) -> None:
    if not _results_shown(await _current_question(ledger, info)):
        raise VotingError(ErrorCode.RESULTS_HIDDEN)


async def log_status(request: Request) -> Response:
    ledger, info = await _log(request)
    q = await _current_question(ledger, info)
    if q is not None:
        definition: dict[str, Any] | None = q.spec.as_dict()
    else:
        # Ended: the question may have been reset and edited since; the log's opening
        # holds the definition its ballots chose from.
        definition = await ledger.definition(info.id)
    title, kind, options = _title_and_labels(definition)
    return ok(
        {
            "log": {
                "id": info.id,
                "origin": info.origin,
                "question": info.question_id,
                # The number of entries is the number of ballots, give or take the
                # openings and closings: hidden with the total.
                "size": info.size if _results_shown(q) else None,
                "receipts": info.receipts,
                "current": q is not None,
                "status": str(q.status) if q is not None else "ended",
                "title": title,
                "kind": kind,
                # As stored (the English defaults of a yes/no, blank VS sides), and as
                # people read them, in the request's language.
                "options": options,
                "labels": [_shown_label(kind, i, label) for i, label in enumerate(options)],
                **(store.verification_of(q) if q is not None else {}),
            }
        }
    )


def _title_and_labels(definition: dict[str, Any] | None) -> tuple[str, str, list[str]]:
    """A definition's title, kind ("" if it has none) and option labels, as stored."""
    if definition is None:
        return "", "", []
    title = definition.get("title")
    kind = definition.get("kind")
    options = definition.get("options")
    labels = (
        [str(o.get("label", "")) for o in options if isinstance(o, dict)]
        if isinstance(options, list)
        else []
    )
    return (title if isinstance(title, str) else ""), str(kind or ""), labels


def _shown_label(kind: str, index: int, label: str) -> str:
    """The label people read: a kind's default ("Yes", "No", a blank VS side) translated."""
    try:
        fixed = fixed_label(Kind(kind), index, label)
    except ValueError:  # an opening without a kind this server knows
        return label
    return i18n.gettext(fixed) if fixed is not None else label


async def log_policy(request: Request) -> Response:
    ledger, info = await _log(request)
    policy = ledger.log_policy(info)
    if policy is None:
        raise not_found(N_("witness policy for log {id}"), info.id)
    return Response(policy.to_bytes(), media_type=TEXT)


async def log_checkpoint(request: Request) -> Response:
    ledger, info = await _log(request)
    await _shown_or_refuse(ledger, info)
    stored = await ledger.stored_checkpoint(info.id)
    if stored is None:
        raise not_found(N_("checkpoint of log {id}"), info.id)
    return Response(stored[1], media_type=TEXT, headers={"Cache-Control": "no-cache"})


async def log_consistency(request: Request) -> Response:
    ledger, info = await _log(request)
    await _shown_or_refuse(ledger, info)
    try:
        old, new = int(request.query_params["old"]), int(request.query_params["new"])
    except (KeyError, ValueError):
        raise bad_request(N_("old and new are tree sizes")) from None
    tree = await ledger.tree(info.id)
    # RFC 9162's PROOF(m, D[n]) is defined from m = 1: every tree extends the empty one,
    # which has no root to prove from (a C2SP witness takes a first checkpoint unproved).
    if not 1 <= old <= new <= tree.size:
        raise bad_request(N_("sizes run from 1 to the log's {size}, old <= new"), size=tree.size)
    proof = tree.consistency_proof(old, new)
    return Response("".join(encode_base64(h) + "\n" for h in proof), media_type=TEXT)


async def log_export(request: Request) -> Response:
    ledger, info = await _log(request)
    q = await store.load_question(ledger.svc, info.question_id)
    if q is not None and q.log_id == info.id and q.status is Status.OPEN:
        raise invalid_state(N_("The poll is still open: its log can be exported once it closes."))
    export = await export_log(ledger, info)
    if export is None:
        raise not_found(N_("checkpoint of log {id}"), info.id)
    return Response(
        export.to_bytes(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="log-{info.id}.json"'},
    )


async def receipt(request: Request) -> Response:
    leaf = request.path_params["leaf"].lower()
    if not _HEX64.fullmatch(leaf):
        raise bad_request(N_("a receipt is a 64-digit hex leaf hash"))
    ledger = ledger_of(request)
    found = await ledger.logged_entry(leaf)
    if found is None:
        raise VotingError(ErrorCode.NOT_LOGGED_YET)
    if not found.info.receipts:
        raise VotingError(ErrorCode.RECEIPTS_OFF)
    q = await _current_question(ledger, found.info)
    cast = _cast_by(request, ledger.svc, found.entry)
    if not _results_shown(q, voted=cast):
        if not cast:
            raise VotingError(ErrorCode.RESULTS_HIDDEN)
        # The voter's own ballot while the results are hidden: the log's signed promise,
        # which names no index and no size; the proof comes here once they are shown.
        return Response(
            ledger.promise(found),
            media_type=TEXT,
            headers={"Content-Disposition": f'attachment; filename="receipt-{leaf[:12]}.promise"'},
        )
    proof = await ledger.receipt(found)
    if proof is None:  # not yet in a checkpoint the quorum cosigned
        raise VotingError(ErrorCode.NOT_LOGGED_YET)
    name = f"receipt-{leaf[:12]}.tlog-proof"  # the code the voter saw (``receipt_code``)
    return Response(
        proof,
        media_type=TEXT,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cast_by(request: Request, svc: Services, entry: bytes) -> bool:
    """Whether the reader's device (its ``mv_device`` cookie) cast the ballot ``entry``."""
    device = verify_device(svc.secret, request.cookies.get(DEVICE_COOKIE))
    if device is None:
        return False
    try:
        ballot = orjson.loads(entry)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(ballot, dict):
        return False
    question, voter = ballot.get("q"), ballot.get("v")
    if not isinstance(question, str) or not isinstance(voter, str):
        return False  # an opening or a closing: no one cast it
    return hmac.compare_digest(voter_ref(svc.secret, question, device), voter)


routes = [
    Route("/ledger/receipt/{leaf}", receipt, methods=["GET"]),
    Route("/ledger/{log_id}", log_status, methods=["GET"]),
    Route("/ledger/{log_id}/policy", log_policy, methods=["GET"]),
    Route("/ledger/{log_id}/checkpoint", log_checkpoint, methods=["GET"]),
    Route("/ledger/{log_id}/consistency", log_consistency, methods=["GET"]),
    Route("/ledger/{log_id}/export", log_export, methods=["GET"]),
]
