"""A voter's receipt checked by ``mvoting verify``, with the help of the log's server.

A receipt is a C2SP tlog-proof whose extra data is the ballot's entry
(``live.ledger.log.Ledger.receipt``). Checked alone (``rooms.tlog.proof``): the checkpoint is
signed by the poll's log and cosigned by the quorum of the policy, and the inclusion proof
binds the leaf hash of the entry to the checkpoint's root. The policy is the one the voter
trusts, or else the one the server publishes for the log (``GET /ledger/<log>/policy``),
which is only as good as the server's word. Then, if the server answers and the poll is
closed, the log's latest checkpoint must verify against the same policy, and the
consistency proof must show that the receipt's tree is a prefix of it (RFC 9162 2.1.4).

The log's server is found from the checkpoint's origin, ``<ledger name>/<log id>``
(``server_of``), unless the voter names it. This is the command-line twin of the
``/verify`` page (``static/js/verify.js``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from rooms.ledger import receipt_code
from rooms.promise import is_promise, open_promise, origin_of
from rooms.tlog._text import decode_base64
from rooms.tlog.checkpoint import SignedCheckpoint
from rooms.tlog.errors import LedgerError
from rooms.tlog.merkle import leaf_hash, verify_consistency
from rooms.tlog.policy import Policy
from rooms.tlog.proof import TlogProof

#: Seconds the server of a receipt's log has to answer one request.
HTTP_TIMEOUT = 10.0

_LOG_ID = re.compile(r"[0-9a-f]{16}")

#: What ``check_receipt`` says besides ``verified`` and ``reason``; None where not known.
_FIELDS = (
    "receipt leaf question title choices labels index size origin server cosigners final promise"
)


class _Refused(Exception):
    """The receipt does not verify; the message says why."""


def check_receipt(
    data: bytes, policy: Policy | None, server: str | None, http: httpx.Client
) -> dict[str, Any]:
    """``verified`` and ``reason``; the ballot (``receipt`` code, ``question``, ``choices``),
    where the log holds it (``index``, ``size``, ``origin``), ``cosigners``, and ``final``:
    what the server's latest checkpoint says, if it answered.

    ``policy`` is the one the voter trusts (default: the server's); ``server`` the base URL
    of the log's server (default: ``server_of`` the checkpoint's origin).
    """
    if is_promise(data):
        return _check_promise(data, policy, server, http)
    out: dict[str, Any] = {"verified": False, "reason": None, **dict.fromkeys(_FIELDS.split())}
    try:
        proof = TlogProof.parse(data)
        if proof.extra is None:
            raise _Refused("the receipt carries no ballot (no extra line)")
        ballot = _ballot(proof.extra)
        leaf = leaf_hash(proof.extra)
        out.update(receipt=receipt_code(proof.extra), leaf=leaf.hex(), index=proof.index)
        out.update(question=ballot["q"], choices=ballot["c"])
        # Read before the signatures verify, only to find the log: the policy then requires
        # the log key named as this origin to have signed.
        origin = proof.checkpoint.split(b"\n", 1)[0].decode("utf-8", "replace")
        log_id = origin.rsplit("/", 1)[-1]
        if not _LOG_ID.fullmatch(log_id):
            raise _Refused(f"the receipt's checkpoint is not of a poll's log: {origin!r}")
        base = (server or server_of(origin)).rstrip("/")
        log_url = f"{base}/ledger/{log_id}"
        out.update(origin=origin, server=base)
        if policy is None:
            policy = Policy.parse(_get(http, f"{log_url}/policy", "the log's policy"))
        signed = proof.verify(leaf, policy)
        out.update(size=signed.checkpoint.size, cosigners=list(policy.cosigners(signed)))
        status = _log_status(http, log_url)
        if status is not None:
            if status.get("question") != ballot["q"]:
                raise _Refused(f"the ballot is on question {ballot['q']}, not on the log's")
            options = status.get("options") or []
            out["title"] = status.get("title")
            out["labels"] = [_label(options, c) for c in ballot["c"]]
        out["final"] = _final_check(http, log_url, policy, signed, status)
    except (LedgerError, _Refused) as error:
        out["reason"] = str(error)
        return out
    out["verified"] = True
    return out


def _check_promise(
    data: bytes, policy: Policy | None, server: str | None, http: httpx.Client
) -> dict[str, Any]:
    """A receipt promise (``rooms.promise``), given while the poll's results were hidden.

    Verified when the log's key signed it for this entry. Then the proof is asked for at
    the same address: once the results are shown it is served to anyone, and it is checked
    as any receipt (``promise`` says whether the log kept its word: ``"kept"``, or
    ``"pending"`` while the results are still hidden). A log that has shown the results
    and still has no proof of a promised entry broke its promise: not verified.
    """
    out: dict[str, Any] = {"verified": False, "reason": None, **dict.fromkeys(_FIELDS.split())}
    try:
        origin = origin_of(data)
        log_id = origin.rsplit("/", 1)[-1]
        if not _LOG_ID.fullmatch(log_id):
            raise _Refused(f"the promise is not of a poll's log: {origin!r}")
        base = (server or server_of(origin)).rstrip("/")
        log_url = f"{base}/ledger/{log_id}"
        out.update(origin=origin, server=base)
        if policy is None:
            policy = Policy.parse(_get(http, f"{log_url}/policy", "the log's policy"))
        promise = open_promise(data, [log.verifier for log in policy.logs])
        ballot = _ballot(promise.entry)
        out.update(receipt=receipt_code(promise.entry), leaf=promise.leaf.hex())
        out.update(question=ballot["q"], choices=ballot["c"])
        status = _log_status(http, log_url)
        if status is not None:
            options = status.get("options") or []
            out["title"] = status.get("title")
            out["labels"] = [_label(options, c) for c in ballot["c"]]
        try:
            response = http.get(f"{base}/ledger/receipt/{promise.leaf.hex()}")
        except httpx.HTTPError:
            response = None
        code = _error_code(response)
        if (
            response is not None
            and response.status_code == 200
            and not is_promise(response.content)
        ):
            proved = check_receipt(response.content, policy, server, http)
            if not proved["verified"]:
                raise _Refused(
                    f"the log's proof of its promise does not verify: {proved['reason']}"
                )
            proved.update(promise="kept", title=proved["title"] or out["title"])
            return proved
        if code == "not_logged_yet" and status is not None and status.get("status") != "open":
            raise _Refused("the poll is closed and the log has no proof of the entry it promised")
        out["promise"] = "pending"
        out["final"] = {
            "checked": False,
            "message": "Promised by the log; its proof is served once the results are shown.",
        }
    except (LedgerError, _Refused) as error:
        out["reason"] = str(error)
        return out
    out["verified"] = True
    return out


def _error_code(response: httpx.Response | None) -> str | None:
    if response is None or response.status_code == 200:
        return None
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


def server_of(origin: str) -> str:
    """Where the log of ``origin`` (``<ledger name>/<log id>``) is served.

    The default ledger name is the public URL's host and path, then ``/ledger``
    (``live.settings``); another name gives its host. Plain HTTP only on this machine.
    """
    name = origin.rsplit("/", 1)[0]
    host = name.split("/", 1)[0]
    try:
        hostname = urlsplit(f"//{host}").hostname or ""
    except ValueError:  # an unclosed "[" of an IPv6 address
        hostname = ""
    local = hostname in {"localhost", "127.0.0.1", "::1"} or hostname.endswith(".localhost")
    where = name.removesuffix("/ledger") if name.endswith("/ledger") else host
    return f"{'http' if local else 'https'}://{where}"


def _label(options: list[str], choice: int | str) -> str:
    """How a ballot's choice reads: its option's label, or an open-text answer as it is."""
    if isinstance(choice, str):
        return choice
    return options[choice] if 0 <= choice < len(options) else f"#{choice + 1}"


def _ballot(entry: bytes) -> dict[str, Any]:
    try:
        ballot = json.loads(entry)
    except ValueError:
        ballot = None
    if not (
        isinstance(ballot, dict)
        and isinstance(ballot.get("q"), str)
        and isinstance(ballot.get("c"), list)
        and (
            all(type(c) is int for c in ballot["c"])  # option indexes
            or all(type(c) is str for c in ballot["c"])  # an open-text ballot's answers
        )
    ):
        raise _Refused("the receipt's extra line is not a ballot")
    return ballot


def _get(http: httpx.Client, url: str, what: str) -> bytes:
    try:
        response = http.get(url)
    except httpx.HTTPError as error:
        raise _Refused(f"could not fetch {what} from {url}: {error}") from None
    if response.status_code != 200:
        raise _Refused(f"could not fetch {what} from {url}: HTTP {response.status_code}")
    return response.content


def _log_status(http: httpx.Client, log_url: str) -> dict[str, Any] | None:
    """``GET /ledger/<log>``'s ``log``, or None if the server does not answer it."""
    try:
        response = http.get(log_url)
        status = response.json()["log"] if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return status if isinstance(status, dict) else None


def _final_check(
    http: httpx.Client,
    log_url: str,
    policy: Policy,
    signed: SignedCheckpoint,
    status: dict[str, Any] | None,
) -> dict[str, Any]:
    """Whether the closed poll's latest cosigned checkpoint extends the receipt's tree."""
    if status is None:
        return {"checked": False, "message": "The server did not answer: no final check."}
    if status.get("status") == "open":
        return {"checked": False, "message": "The poll is still open; check again after it closes."}
    note = _get(http, f"{log_url}/checkpoint", "the log's latest checkpoint")
    try:
        last = policy.open_checkpoint(note)
    except LedgerError as error:
        raise _Refused(f"the log's latest checkpoint does not verify: {error}") from None
    old, new = signed.checkpoint, last.checkpoint
    if new.origin != old.origin or new.size < old.size:
        raise _Refused(
            f"the log's latest checkpoint ({new.origin}, {new.size} entries) cannot extend "
            f"the receipt's ({old.origin}, {old.size} entries)"
        )
    url = f"{log_url}/consistency?old={old.size}&new={new.size}"
    lines = _get(http, url, "the consistency proof").decode("ascii", "replace").split()
    hashes = [h for h in map(decode_base64, lines) if h is not None]
    if len(hashes) != len(lines):
        raise _Refused(f"the consistency proof from {url} is not base64 hashes")
    try:
        verify_consistency(old.size, new.size, old.root, new.root, hashes)
    except LedgerError as error:
        raise _Refused(
            f"the log's latest checkpoint does not extend the receipt's: {error}"
        ) from None
    # The server judges the closed poll once its last entries are in the log; until then
    # the latest checkpoint may not hold the closing yet.
    final = status.get("verification") in {"completed", "failed"} or status.get("status") == "ended"
    message = (
        f"Included in the final, cosigned log of {new.size} entries."
        if final
        else f"Included in the latest cosigned checkpoint, of {new.size} entries; the closed "
        "poll's log is still being checked: check again in a moment for the final one."
    )
    return {
        "checked": True,
        "final": final,
        "size": new.size,
        "cosigners": list(policy.cosigners(last)),
        "verification": status.get("verification"),
        "verification_reason": status.get("reason"),
        "message": message,
    }
