"""Sending a one-time code: a provider chosen by ``MVOTING_SMS_PROVIDER``.

``console`` writes the message to the log (development; ``make run`` uses it): the code
and the number's reference, never the number. ``http`` POSTs
``{"to": "+821012345678", "text": "..."}`` with a bearer token to ``MVOTING_SMS_URL``,
the shape most gateways take behind a thin adapter. Neither logs the number, and no
refusal or exception carries it: a gateway's failure is logged by its status or the
kind of error alone, and the citizen is told ``unavailable``.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from live.settings import Settings
from rooms.errors import ErrorCode, VotingError

log = logging.getLogger("mvoting.sms")

#: Seconds a gateway has to take a message.
TIMEOUT = 10.0


class Sender(Protocol):
    async def send(self, to: str, text: str, *, ref: str) -> None:
        """Send ``text`` to the E.164 number ``to`` (``ref``: its reference, for logs)."""


class ConsoleSender:
    async def send(self, to: str, text: str, *, ref: str) -> None:
        log.warning("text message to the number %s…: %s", ref[:12], text)


class HttpSender:
    def __init__(self, url: str, token: bytes) -> None:
        self._url = url
        self._token = token.decode()

    async def send(self, to: str, text: str, *, ref: str) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                answer = await client.post(
                    self._url, json={"to": to, "text": text}, headers=headers
                )
        except httpx.HTTPError as exc:
            # The kind of error only: an exception's text may quote the request.
            log.warning("the SMS gateway was not reached (%s)", type(exc).__name__)
            raise VotingError(ErrorCode.UNAVAILABLE) from None
        if not answer.is_success:
            log.warning("the SMS gateway refused a message (HTTP %d)", answer.status_code)
            raise VotingError(ErrorCode.UNAVAILABLE)


def sender_for(settings: Settings) -> Sender:
    if settings.sms_provider == "http":
        return HttpSender(settings.sms_url, settings.sms_token.reveal())
    return ConsoleSender()
