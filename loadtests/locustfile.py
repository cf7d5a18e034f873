"""Locust scenarios: real journeys against a running mvoting (see loadtests/README.md).

    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 20s --host http://127.0.0.1:8000

Three kinds of users (pick some by naming their classes after the options):

- ``LectureAttendee`` — someone in a lecture hall: types the room number and password into
  the join form, gets the vote page (and its scripts), connects and joins as the page does,
  reads for a while, votes on each open question (two, results live), then watches the
  tallies move for 5–10 s before leaving; the next iteration is a new attendee.
- ``Host`` — a host at the console, through the JSON API: signs up, signs out and in again,
  then again and again creates a room, adds three questions and opens, watches and closes
  them one after another, then reads the room's summary.
- ``CitywideVoter`` — a citywide poll with a steady trickle of voters: each iteration is a
  new citizen who follows the QR link (``/j/<number>?key=…``), joins with the key, votes
  on a yes/no question whose results show after voting, waits for them and leaves. Each of these
  users starts one voter every ``CITYWIDE_PACE_S`` seconds, whatever the server's speed.

The rooms the attendees and voters use are made once per locust process, through the same
JSON API, by a host account of their own (``fixture-…@example.org``).
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from typing import Any

import requests
from live_client import LiveClient
from locust import HttpUser, between, constant_pacing, events, task
from locust.env import Environment

#: Seconds between two citywide voters of one ``CitywideVoter`` user.
CITYWIDE_PACE_S = 10.0
#: The password of every account the scenarios make.
PASSWORD = "load-test-password"


# --- the rooms the attendees and voters join --------------------------------------------


class Rooms:
    """The lecture room and the citywide poll, made on first use (once per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, dict[str, Any]] | None = None

    def get(self, host: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._made is None:
                self._made = _make_rooms(host)
            return self._made

    def forget(self) -> None:
        with self._lock:
            self._made = None


ROOMS = Rooms()


@events.test_start.add_listener
def _fresh_rooms(environment: Environment, **_: Any) -> None:
    ROOMS.forget()  # each test run (the web UI may start several) gets new rooms


#: The rooms every attendee and voter joins: title and questions (all opened at once).
FIXTURES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "lecture": (
        "Load test: lecture",
        [
            {"title": "Lunch?", "options": ["Rice", "Noodles", "Salad", "Soup"]},
            {"title": "How clear was it?", "kind": "rating", "scale": 5},
        ],
    ),
    "citywide": (
        "Load test: citywide poll",
        [{"title": "Car-free Sundays downtown?", "kind": "yesno", "visibility": "after_vote"}],
    ),
}


def _api(s: requests.Session, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = s.request(method, url, json=body, timeout=30)
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:200]}")
    data: dict[str, Any] = r.json()
    return data


def _make_rooms(host: str) -> dict[str, dict[str, Any]]:
    s = requests.Session()
    email = f"fixture-{uuid.uuid4().hex[:12]}@example.org"
    _api(s, "POST", f"{host}/api/hosts", {"email": email, "password": PASSWORD})
    made = {}
    for name, (title, questions) in FIXTURES.items():
        room = _api(s, "POST", f"{host}/api/rooms", {"title": title})["room"]
        for q in questions:
            qid = _api(s, "POST", f"{host}/api/rooms/{room['id']}/questions", q)["question"]["id"]
            _api(s, "POST", f"{host}/api/questions/{qid}/open", {})
        made[name] = room
    return made


# --- (a) attendees in a lecture -----------------------------------------------------------

#: What a phone fetches with the vote page on its first visit.
ASSETS = (
    "/static/css/app.css",
    "/static/vendor/socket.io.min.js",
    "/static/js/common.js",
    "/static/js/vote.js",
)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class _Attendee(HttpUser):
    """A phone in the room: the pages over HTTP, then the live protocol over Socket.IO.
    Each iteration is a new person (no cookies, a new device)."""

    abstract = True

    def on_start(self) -> None:
        self.live: LiveClient | None = None

    def on_stop(self) -> None:
        if self.live is not None:
            self.live.close()

    def vote_page(self, url: str) -> None:
        self.client.get(url, name="/j/[number]?key=…")
        for path in ASSETS:
            self.client.get(path)

    def take_part(self, room: dict[str, Any], think: tuple[float, float], stay: float) -> None:
        """Connect and join as the vote page does (room number and join key), vote on each
        open question after ``think`` seconds, stay ``stay`` seconds watching, leave."""
        assert self.host is not None
        self.live = live = LiveClient(self.environment, self.host)
        try:
            if not live.connect() or not live.join(room["number"], key=room["key"]):
                return
            for q in live.open_questions():
                time.sleep(random.uniform(*think))
                live.vote(q)
            time.sleep(stay)
        finally:
            live.close()
            self.live = None


class LectureAttendee(_Attendee):
    weight = 6
    wait_time = between(1, 3)  # until the next attendee walks in

    @task
    def attend(self) -> None:
        assert self.host is not None, "give --host http://127.0.0.1:PORT"
        room = ROOMS.get(self.host)["lecture"]
        self.client.cookies.clear()
        # The join form: room number and password typed in, then the vote page.
        form = self.client.get("/", name="/ (join form)")
        token = _CSRF.search(form.text)
        with self.client.post(
            "/join",
            data={"room": room["number"], "password": room["password"],
                  "csrf": token.group(1) if token else ""},
            allow_redirects=False,
            catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 303:
                r.failure(f"expected 303, got {r.status_code}")
                return
            where = r.headers["location"]
        self.vote_page(where)
        self.take_part(room, think=(1, 5), stay=random.uniform(5, 10))


# --- (b) a host running a session ---------------------------------------------------------


class Host(HttpUser):
    weight = 1
    wait_time = between(2, 5)  # between two sessions

    def on_start(self) -> None:
        self.email = f"host-{uuid.uuid4().hex[:12]}@example.org"
        account = {"email": self.email, "password": PASSWORD}
        self.client.post("/api/hosts", json={**account, "name": "Load test host"})
        self.client.delete("/api/session")
        self.client.post("/api/session", json=account)

    @task
    def run_session(self) -> None:
        c = self.client
        with c.post("/api/rooms", json={"title": "Load test session"}, catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:100]}")
                return
            room_id = r.json()["room"]["id"]
        questions = [
            {"title": "Which topic next?", "options": ["Budget", "Transport", "Parks"]},
            {"title": "Extend the meeting?", "kind": "yesno"},
            {"title": "Rate the venue", "kind": "rating", "scale": 5},
        ]
        ids = []
        for q in questions:
            r = c.post(f"/api/rooms/{room_id}/questions", json=q, name="/api/rooms/[id]/questions")
            if r.status_code == 201:
                ids.append(r.json()["question"]["id"])
        for qid in ids:
            c.post(f"/api/questions/{qid}/open", name="/api/questions/[id]/open")
            time.sleep(random.uniform(2, 4))  # the audience votes
            c.get(f"/api/rooms/{room_id}", name="/api/rooms/[id]")  # the console refreshes
            c.post(f"/api/questions/{qid}/close", name="/api/questions/[id]/close")
        c.get(f"/api/rooms/{room_id}/summary", name="/api/rooms/[id]/summary")


# --- (c) a citywide poll with a steady trickle of voters ----------------------------------


class CitywideVoter(_Attendee):
    weight = 3
    wait_time = constant_pacing(CITYWIDE_PACE_S)

    @task
    def vote_once(self) -> None:
        assert self.host is not None, "give --host http://127.0.0.1:PORT"
        room = ROOMS.get(self.host)["citywide"]
        self.client.cookies.clear()
        # The QR link opens the vote page directly; results show once the citizen voted.
        self.vote_page(f"/j/{room['number']}?key={room['key']}")
        self.take_part(room, think=(1, 3), stay=0)
