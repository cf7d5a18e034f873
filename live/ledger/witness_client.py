"""Asking a witness to cosign a checkpoint: the client side of C2SP tlog-witness.

``add_checkpoint`` sends one add-checkpoint request (https://c2sp.org/tlog-witness) and
returns the witness's signature lines. A refusal raises ``WitnessError`` with the status
and the body; a 409 raises ``WitnessConflict`` with the size the witness last cosigned,
to retry from. The lines are not verified here: append them to the checkpoint and open
it with the witnesses' keys (``rooms.tlog.policy.Policy.open_checkpoint``), as the spec
suggests, which ignores lines by keys one does not trust.

``register_log`` sends a log operator's registration of a new log (``POST /add-log``,
``live.ledger.witness``; the note is ``rooms.tlog.registration.registration_note``), so that the
witness knows the log before its first checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from rooms.tlog.errors import MalformedNoteError
from rooms.tlog.witness import (
    SIZE_MEDIA_TYPE,
    AddCheckpoint,
    read_signature_lines,
    read_size_body,
)


class WitnessError(Exception):
    """A witness refused a request: ``status`` is its HTTP status (0: it did not answer)."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(f"witness {url}: {status or 'no answer'}: {message}")
        self.url = url
        self.status = status


class WitnessConflict(WitnessError):
    """409: the witness's latest cosigned size for the log is ``latest``, not the old size."""

    def __init__(self, url: str, latest: int) -> None:
        super().__init__(url, 409, f"its latest cosigned size is {latest}")
        self.latest = latest


async def add_checkpoint(
    url: str,
    old_size: int,
    proof: Sequence[bytes],
    signed_checkpoint: bytes,
    timeout: float,  # noqa: ASYNC109 - the whole call's deadline, which the ledger sets
    *,
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """Ask the witness at ``url`` (its submission prefix) to cosign ``signed_checkpoint``.

    ``old_size`` is the size it last cosigned for the log (0 if none, or if unknown: the
    409 tells), ``proof`` the consistency proof from there to the checkpoint's size.
    Returns the response body: one or more note signature lines (``— <name> <base64>``,
    each ending in a newline). Raises ``WitnessConflict`` on 409, ``WitnessError`` on any
    other status, an answer that is not signature lines, a timeout or a network error.
    ``timeout`` is in seconds, for the whole call. ``client`` reuses connections (the spec
    asks clients to keep them alive).
    """
    body = AddCheckpoint(old_size, tuple(proof), signed_checkpoint).to_bytes()
    response = await _post(url, "/add-checkpoint", body, timeout, client)
    if response.status_code == 409:
        media_type = response.headers.get("content-type", "").partition(";")[0].strip()
        latest = read_size_body(response.content)
        if media_type == SIZE_MEDIA_TYPE and latest is not None:
            raise WitnessConflict(url, latest)
    if response.status_code != 200:
        raise WitnessError(url, response.status_code, response.text.strip()[:500])
    try:
        read_signature_lines(response.content)
    except MalformedNoteError as error:
        raise WitnessError(url, 200, f"the answer is not note signature lines: {error}") from None
    return response.content


async def register_log(
    url: str,
    note: bytes,
    timeout: float,  # noqa: ASYNC109 - the whole call's deadline, as for add_checkpoint
    *,
    client: httpx.AsyncClient | None = None,
) -> bool:
    """Ask the witness at ``url`` to trust the log that the registration ``note`` names.

    Returns True if the witness added the log, False if it knew it already. Raises
    ``WitnessError`` on a refusal (400, 403, 413...) with its status, on an answer that is
    neither, a timeout or a network error (status 0). ``timeout`` is in seconds, for the
    whole call.
    """
    response = await _post(url, "/add-log", note, timeout, client)
    if response.status_code != 200:
        raise WitnessError(url, response.status_code, response.text.strip()[:500])
    answers = {b"added\n": True, b"known\n": False}
    if response.content not in answers:
        raise WitnessError(
            url, 200, f"the answer is not 'added' or 'known': {response.text!r:.100}"
        )
    return answers[response.content]


async def _post(
    url: str,
    path: str,
    body: bytes,
    timeout: float,  # noqa: ASYNC109 - the deadline its callers were given
    client: httpx.AsyncClient | None,
) -> httpx.Response:
    """POST ``body`` to ``path`` under ``url``; ``WitnessError`` (status 0) if no answer."""
    endpoint = url.rstrip("/") + path
    try:
        # One deadline for the whole exchange: httpx's timeout bounds each read or write.
        async with asyncio.timeout(timeout):
            if client is None:
                async with httpx.AsyncClient() as own:
                    return await own.post(endpoint, content=body, timeout=timeout)
            return await client.post(endpoint, content=body, timeout=timeout)
    except TimeoutError:
        raise WitnessError(url, 0, f"no answer within {timeout} s") from None
    except httpx.HTTPError as error:
        raise WitnessError(url, 0, f"{type(error).__name__}: {error}") from error
