"""One attendee's Socket.IO connection for locust: python-socketio's own client.

Locust runs users as gevent greenlets and patches the standard library, so the synchronous
``socketio.Client`` (websocket-client underneath) yields to other users while it waits.
Every step fires a locust ``request`` event (type ``sio``), so connect, join, vote and
"tally after vote" appear in locust's statistics beside the HTTP requests:

- ``connect``: Engine.IO handshake over a websocket and the namespace connect;
- ``join``: the ``join`` event until its ack;
- ``vote``: the ``vote`` event until its ack (a refusal such as ``closed`` is a failure);
- ``tally after vote``: from the vote's ack to the first ``tally`` of that question with a
  newer version than the attendee had seen then (the snapshot that carries the ballot, or
  very rarely one taken just before it: an approximation, never too long).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from typing import Any

import socketio
from locust.env import Environment

JOIN_TIMEOUT_S = 20.0
VOTE_TIMEOUT_S = 20.0
TALLY_TIMEOUT_S = 10.0


class LiveError(Exception):
    """A refusal or a timeout, as locust reports it."""


class LiveClient:
    def __init__(self, environment: Environment, base_url: str) -> None:
        self.env = environment
        self.base_url = base_url
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False)
        self.questions: list[dict[str, Any]] = []
        self.versions: dict[str, int] = {}  # question id -> highest tally version seen
        self.tallies = 0  # tally events received
        self._tally = threading.Event()
        self.sio.on("tally", self._on_tally)
        self.sio.on("question", self._on_question)

    # --- events from the server ----------------------------------------------------------

    def _on_tally(self, data: dict[str, Any]) -> None:
        qid, version = data.get("question"), data.get("version")
        if isinstance(qid, str) and isinstance(version, int):
            self.versions[qid] = max(version, self.versions.get(qid, 0))
            self.tallies += 1
            self._tally.set()

    def _on_question(self, data: dict[str, Any]) -> None:
        for i, q in enumerate(self.questions):
            if q.get("id") == data.get("id"):
                self.questions[i] = data
                return
        self.questions.append(data)

    # --- steps ---------------------------------------------------------------------------

    def _report(self, name: str, started: float, exc: Exception | None, size: int = 0) -> None:
        self.env.events.request.fire(
            request_type="sio",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=size,
            exception=exc,
            context={},
        )

    def connect(self) -> bool:
        started = time.perf_counter()
        try:
            self.sio.connect(self.base_url, transports=["websocket"], wait_timeout=JOIN_TIMEOUT_S)
        except Exception as exc:  # every failure is a failed request
            self._report("connect", started, exc)
            return False
        self._report("connect", started, None)
        return True

    def join(self, room: str, *, password: str = "", key: str = "") -> bool:
        creds = {"room": room, "key": key} if key else {"room": room, "password": password}
        started = time.perf_counter()
        try:
            ack = self.sio.call("join", creds, timeout=JOIN_TIMEOUT_S)
            if not isinstance(ack, dict) or not ack.get("ok"):
                raise LiveError(_code(ack))
        except Exception as exc:
            self._report("join", started, exc)
            return False
        self.questions = list(ack.get("questions") or [])
        for q in self.questions:
            tally = q.get("tally")
            if isinstance(tally, dict) and isinstance(tally.get("version"), int):
                self.versions[q["id"]] = max(tally["version"], self.versions.get(q["id"], 0))
        self._report("join", started, None, len(self.questions))
        return True

    def open_questions(self) -> list[dict[str, Any]]:
        return [q for q in self.questions if q.get("status") == "open"]

    def vote(self, question: dict[str, Any], *, watch: bool = True) -> bool:
        """Vote a random choice; then, with ``watch``, time the tally that follows."""
        choices = [random.randrange(len(question.get("options") or [None, None]))]
        started = time.perf_counter()
        try:
            ack = self.sio.call(
                "vote",
                # The nonce of the ballot's ledger leaf: 128 bits the voter's client chooses.
                {"question": question["id"], "choices": choices, "nonce": secrets.token_hex(16)},
                timeout=VOTE_TIMEOUT_S,
            )
            if not isinstance(ack, dict) or not ack.get("ok"):
                raise LiveError(_code(ack))
        except Exception as exc:
            self._report("vote", started, exc)
            return False
        self._report("vote", started, None)
        if watch:
            self._await_tally(question["id"], self.versions.get(question["id"], 0))
        return True

    def _await_tally(self, qid: str, seen: int) -> None:
        started = time.perf_counter()
        deadline = time.monotonic() + TALLY_TIMEOUT_S
        while self.versions.get(qid, 0) <= seen:
            left = deadline - time.monotonic()
            if left <= 0:
                self._report("tally after vote", started, LiveError("no tally in time"))
                return
            self._tally.clear()
            if self.versions.get(qid, 0) > seen:
                break
            self._tally.wait(min(left, 0.5))
        self._report("tally after vote", started, None)

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # leaving is best effort
            pass


def _code(ack: Any) -> str:
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        return str(ack["error"].get("code", "refused"))
    return f"unexpected ack {ack!r:.80}"
