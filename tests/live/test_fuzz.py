"""Fuzzed socket events and JSON bodies, each built to be refused: wrong types, huge and
deep values, unicode oddities, wrong ids. Each gets an error with a code (never a 500, an
ack that never comes, or a dropped node), and the state (``tests.live.fuzzing.state``:
every Valkey key and every archive row) is the same after each of them as before the run.

The examples are the same on every run (``derandomize``); the strategies are in
``tests/live/fuzzing.py``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import strategies as st

from live import store
from live.services import Services
from live.wire.websocket_protocol import MAX_MESSAGE
from rooms.questions import Action, build_question
from rooms.survey import MAX_PARTS
from rooms.words import MAX_ANSWERS, MAX_RAW_ANSWER
from tests.conftest import Node, connect
from tests.live.citizenry import citizen, make_citizen
from tests.live.fuzzing import (
    Deep,
    broken_json,
    changes,
    encode,
    explore,
    huge_ints,
    json_values,
    keys,
    of_types,
    raw_socket,
    settled_state,
    texts,
    unchanged,
)
from tests.live.helpers import make_room
from tests.live.hosting import add_question, create_room, signed_in

pytestmark = pytest.mark.timeout(240)

CLOUD = {"title": "One word", "kind": "text", "options": "", "max_choices": 2}
#: A survey of two required parts: 2 options, then a rating of 5 (7 options in all).
SURVEY_PARTS = [
    {"title": "Venue", "kind": "single", "options": ["City hall", "Library"]},
    {"title": "Satisfaction", "kind": "rating", "scale": 5},
]


def refused(ack: Any) -> str:
    """The refusal's code, once the ack has the refusal's shape and is not the answer of
    a handler that failed (``unavailable``: ``LiveSockets._guarded``)."""
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    error = ack["error"]
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), ack
    assert error["code"] != "unavailable", ack
    assert isinstance(error["message"], str) and error["message"], ack
    return error["code"]


def with_junk(payload: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """``payload`` with keys no event reads added to it (what it has stays)."""
    junk = st.dictionaries(keys, json_values, max_size=3)
    return st.tuples(payload, junk).map(lambda pair: {**pair[1], **pair[0]})


def fits_a_message(payload: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Event payloads a websocket message can carry (a longer one closes the connection:
    ``tests/live/test_security_wire.py``)."""
    return payload.filter(lambda v: len(encode(v)) < MAX_MESSAGE - 1024)


def ids_like(real: str) -> st.SearchStrategy[str]:
    """Ids that look like ``real`` but are not it."""
    return st.sampled_from(
        [real.upper(), real + "\x00", real + "\n", " " + real, real[:-1], real + "0", real * 3]
    ).filter(lambda v: v != real)


# --- socket events ------------------------------------------------------------------------


@pytest.fixture
async def meeting(svc: Services) -> dict[str, Any]:
    """A room with an open single-choice question, an open word cloud, an open survey, a
    closed and a draft question, and another room's open question."""
    room = await make_room(svc, {}, CLOUD, {})
    await store.act(svc, room.questions[2], Action.CLOSE)
    draft = await store.add_question(svc, room.info.id, build_question("D", "single", "A,B"))
    survey = await store.add_question(
        svc, room.info.id, build_question("Feedback", "survey", parts=SURVEY_PARTS)
    )
    await store.act(svc, survey.id, Action.OPEN)
    other = await make_room(svc)
    return {
        "room": room,
        "single": room.questions[0],
        "cloud": room.questions[1],
        "survey": survey.id,
        "closed": room.questions[2],
        "draft": draft.id,
        "other": other.q,
        "other_room": other,
    }


def votes(m: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Ballots that are refused whatever the voter did before: a question that takes none
    (closed, a draft, another room's, no question), or one that is open but a ballot that
    does not fit it, or no ballot at all."""
    single, cloud, survey = m["single"], m["cloud"], m["survey"]
    shaped_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True).filter(
        lambda v: v not in (single, cloud, survey)
    )
    not_open = (
        st.sampled_from([m["closed"], m["draft"], m["other"]])
        | shaped_ids
        | ids_like(single)
        | of_types("str")
        | texts
    )
    any_ballot = st.sampled_from([[0], [1], [2], [0, 1]]) | json_values
    out_of_range = st.integers(min_value=3) | st.integers(max_value=-1) | huge_ints
    bad_choices = (
        of_types("list")
        | st.just([])
        | st.lists(out_of_range, min_size=1, max_size=5)
        | st.lists(of_types("int"), min_size=1, max_size=5)
        | st.lists(st.just(0), min_size=65, max_size=70)
        | st.just([0, 0])
    )
    long_answer = st.sampled_from([MAX_RAW_ANSWER + 1, 5_000]).map(lambda n: "w" * n)
    bad_answers = (
        of_types("list")
        | st.just([])
        | st.lists(of_types("str"), min_size=1, max_size=3)
        | st.lists(long_answer, min_size=1, max_size=2)
        | st.lists(st.just("a"), min_size=MAX_ANSWERS + 1, max_size=MAX_ANSWERS + 3)
        | st.lists(st.sampled_from(["", " ", "!!", "\u200b"]), min_size=1, max_size=2)
    )
    bad_nonce = of_types("str", "null") | texts.filter(
        lambda v: not re.fullmatch(r"[0-9a-f]{32}", v)
    )
    bad_position = of_types("dict", "null") | st.fixed_dictionaries(
        {"lat": of_types("int", "float") | st.just(1e308), "lon": json_values}
    )
    picks_past_the_parts = st.lists(out_of_range, min_size=1, max_size=3)
    bad_parts = (
        of_types("list")
        | st.just([])
        | st.lists(of_types("list"), min_size=1, max_size=3)
        | st.lists(st.lists(of_types("int"), min_size=1, max_size=2), min_size=2, max_size=2)
        | st.lists(picks_past_the_parts, min_size=2, max_size=2)
        | st.lists(st.just([0]), min_size=1, max_size=1)
        | st.lists(st.just([0]), min_size=MAX_PARTS + 1, max_size=MAX_PARTS + 2)
        | st.just([[0], []])
    )
    shut = st.sampled_from([m["closed"], m["draft"]])
    elsewhere = st.just(m["other"]) | shaped_ids
    ballot = st.one_of(
        st.fixed_dictionaries({"question": shut, "choices": st.just([0])}),
        st.fixed_dictionaries({"question": elsewhere, "choices": st.just([0])}),
        st.fixed_dictionaries({"question": st.just(survey), "parts": bad_parts}),
        st.fixed_dictionaries({"question": st.just(survey), "choices": st.just([0])}),
        st.fixed_dictionaries({"question": not_open, "choices": any_ballot}),
        st.fixed_dictionaries({"question": not_open, "answers": any_ballot}),
        st.fixed_dictionaries({"question": st.just(single), "choices": bad_choices}),
        st.fixed_dictionaries({"question": st.just(single), "answers": st.just(["yes"])}),
        st.fixed_dictionaries({"question": st.just(single), "parts": st.just([[0]])}),
        st.fixed_dictionaries({"question": st.just(cloud), "answers": bad_answers}),
        st.fixed_dictionaries({"question": st.just(cloud), "choices": st.just([0])}),
        st.fixed_dictionaries(
            {"question": st.just(single), "choices": st.just([0]), "answers": st.just(["a"])}
        ),
        st.fixed_dictionaries(
            {"question": st.just(single), "choices": st.just([0]), "nonce": bad_nonce}
        ),
        st.fixed_dictionaries(
            {"question": st.just(single), "choices": st.just([0]), "position": bad_position}
        ),
    )
    return fits_a_message(with_junk(ballot) | of_types("dict") | st.just(Deep(1000)))


async def test_fuzzed_votes_are_refused_and_change_nothing(
    node: Node, svc: Services, meeting: dict[str, Any]
) -> None:
    async with raw_socket(node.url) as voter:
        joined = await voter.call("join", {"room": meeting["room"].number, "password": "pw"})
        assert joined["ok"], joined
        before = await settled_state(svc)
        codes: set[str] = set()

        async def check(payload: Any) -> None:
            async with unchanged(svc, payload):
                codes.add(refused(await voter.call("vote", payload)))
                assert voter.open

        # One of each refusal past the parsing, whatever hypothesis picks.
        pinned = [
            {"question": meeting["closed"], "choices": [0]},
            {"question": meeting["other"], "choices": [0]},
            {"question": meeting["single"], "choices": [3]},
            {"question": meeting["survey"], "parts": [[0], []]},
        ]
        await explore(votes(meeting), check, examples=150, pinned=pinned)
        assert changes(before, await settled_state(svc)) == []
        # Still the same voter, whose ballot counts once the question is right.
        ack = await voter.call("vote", {"question": meeting["single"], "choices": [1]})
        assert ack["ok"], ack
    assert {"bad_request", "closed", "unknown_question", "invalid_choice"} <= codes
    assert "part_unanswered" in codes


def joins(m: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Joins that no room or poll admits: malformed, or a credential that is not the room's."""
    room = m["room"].info
    real = {room.password, room.key, room.presenter}
    number = st.sampled_from([room.number, m["other_room"].number, "000000", "999999"])
    wrong_secret = (texts | st.just("p" * 201)).filter(lambda v: v not in real)
    credential = st.sampled_from(["password", "key", "presenter"])
    well_formed = st.tuples(number, credential, wrong_secret).map(
        lambda t: {"room": t[0], t[1]: t[2]}
    )
    bad_room = of_types("str", "int") | texts | ids_like(room.number)
    bad_room |= st.integers().filter(lambda n: f"{n:06d}" != room.number)
    malformed = st.one_of(
        st.fixed_dictionaries({"room": bad_room, "password": st.just("pw")}),
        st.fixed_dictionaries({"room": number, "password": of_types("str", "null")}),
        st.fixed_dictionaries(
            {"room": number, "password": st.just("pw"), "key": st.just(room.key)}
        ),
        st.fixed_dictionaries({"room": number}),
        st.fixed_dictionaries({"poll": of_types("str") | texts | ids_like(room.id)}),
        st.fixed_dictionaries(
            {"room": number, "password": wrong_secret, "site": json_values.filter(bool)}
        ),
        st.fixed_dictionaries(
            {"room": number, "password": wrong_secret, "site_pass": json_values.filter(bool)}
        ),
    )
    # A poll is joined by its id alone: one of the right shape that no poll has.
    no_poll = st.fixed_dictionaries({"poll": ids_like(room.id) | st.just(m["single"])})
    return fits_a_message(
        with_junk(well_formed) | with_junk(malformed) | no_poll | of_types("dict")
    )


async def test_fuzzed_joins_are_refused_and_change_nothing(
    node: Node, svc: Services, meeting: dict[str, Any]
) -> None:
    before = await settled_state(svc)
    codes: set[str] = set()

    async def check(payload: Any) -> None:
        # A connection of its own for each: refusals on one connection are answered ever
        # later (``live.joins``).
        async with unchanged(svc, payload), raw_socket(node.url) as c:
            codes.add(refused(await c.call("join", payload)))
            assert c.open
            # Not in the room: the room's question takes no ballot from it.
            ballot = {"question": meeting["single"], "choices": [0]}
            assert refused(await c.call("vote", ballot)) == "not_joined"

    pinned = [
        {"room": meeting["room"].number, "password": "wrong"},
        {"poll": meeting["room"].info.id},
        {"room": "４８２９１３", "password": "pw"},
    ]
    await explore(joins(meeting), check, examples=60, pinned=pinned)
    assert changes(before, await settled_state(svc)) == []
    assert {"bad_request", "bad_credentials", "not_found"} <= codes
    async with connect(node.url) as c:
        assert (await c.join(meeting["room"].number, password="pw"))["ok"]


async def test_fuzzed_notice_subscriptions_are_refused_without_a_citizen(
    node: Node, svc: Services
) -> None:
    async with raw_socket(node.url) as c:
        before = await settled_state(svc)

        async def check(payload: Any) -> None:
            async with unchanged(svc, payload):
                assert refused(await c.call("notices", payload)) == "unauthorized"

        await explore(fits_a_message(json_values), check, examples=25)
        assert changes(before, await settled_state(svc)) == []


@pytest.mark.parametrize("event", ["join", "vote", "notices"])
async def test_events_with_more_than_one_argument_are_refused(
    node: Node, svc: Services, meeting: dict[str, Any], event: str
) -> None:
    """python-socketio passes each argument of an event to its handler: two and more are a
    malformed event, answered as one (an event without any is one without a payload:
    ``tests/live/test_protocol_errors.py``)."""
    async with raw_socket(node.url) as c:
        assert (await c.call("join", {"room": meeting["room"].number, "password": "pw"}))["ok"]
        before = await settled_state(svc)

        async def check(args: tuple[Any, ...]) -> None:
            async with unchanged(svc, args):
                assert refused(await c.call(event, *args)) == "bad_request"
                assert c.open

        shaped = {"question": meeting["single"], "choices": [0]}
        arguments = st.tuples(st.just(shaped), json_values) | st.tuples(
            json_values, json_values, json_values
        )
        await explore(fits_a_message(arguments), check, examples=15)
        assert changes(before, await settled_state(svc)) == []
        # The connection is still in the room: its one-argument ballot counts.
        assert (await c.call("vote", shaped))["ok"]


def altered(payload: dict[str, Any], fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """``payload``, or it with one of ``fields`` holding any value."""
    one = st.tuples(st.sampled_from(fields), json_values).map(lambda t: {**payload, t[0]: t[1]})
    return st.just(payload) | one


async def test_no_event_is_answered_as_a_failed_handler(
    node: Node, meeting: dict[str, Any]
) -> None:
    """A join and a ballot, each as taken or with one field holding any value, from a new
    device each time: answered by the protocol (joined, counted, or refused with a code),
    never ``unavailable`` (a handler that failed). A value that is taken counts: this is
    not about the state."""
    join = {"room": meeting["room"].number, "password": "pw"}
    join_fields = ["room", "password", "key", "presenter", "poll", "site", "site_pass"]
    ballots = st.sampled_from(
        [
            {"question": meeting["single"], "choices": [0]},
            {"question": meeting["cloud"], "answers": ["park"]},
            {"question": meeting["survey"], "parts": [[0], [4]]},
        ]
    )
    vote_fields = ["question", "choices", "answers", "parts", "nonce", "position"]
    pair = st.tuples(altered(join, join_fields), ballots.flatmap(lambda b: altered(b, vote_fields)))
    taken: list[str] = []

    async def check(events: tuple[dict[str, Any], dict[str, Any]]) -> None:
        async with raw_socket(node.url) as c:
            for event, payload in zip(("join", "vote"), events, strict=True):
                ack = await c.call(event, payload)
                if ack.get("ok") is True:
                    taken.append(event)
                else:
                    refused(ack)

    await explore(fits_a_message(pair), check, examples=100)
    assert "vote" in taken  # the unaltered ballots count


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param('42["vote",{"question":"q","choices":[NaN]}]', id="nan"),
        pytest.param('42["vote",{"question":"q","choices":[Infinity]}]', id="infinity"),
        pytest.param('42["vote",{"question":"q","choices":[1e999]}]', id="past-a-double"),
        pytest.param('42["join",{"room":"\\ud800","password":"pw"}]', id="lone-surrogate"),
        pytest.param('42["join",' + "[" * 1100 + "]" * 1100 + "]", id="1100-levels"),
    ],
)
async def test_an_event_that_does_not_decode_closes_only_its_connection(
    node: Node, svc: Services, meeting: dict[str, Any], packet: str
) -> None:
    async with connect(node.url) as bystander:
        assert (await bystander.join(meeting["room"].number, password="pw"))["ok"]
        before = await settled_state(svc)
        async with connect(node.url) as c:
            assert (await c.join(meeting["room"].number, password="pw"))["ok"]
            await c.sio.eio.send(packet)
            await c.wait_for(lambda: not c.sio.connected)
        assert changes(before, await settled_state(svc)) == []
        assert bystander.sio.connected
        assert (await bystander.vote(meeting["single"], [2]))["ok"]


# --- JSON bodies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A route that reads a JSON body: who calls it, the fields that refuse every value of
    another type than theirs (one of them gets such a value), and a body it would take."""

    method: str
    path: str  #: with ``{room}``, ``{question}``… for the ids ``Desk.ids`` holds
    who: str  #: "host", "citizen" or "anyone"
    typed: dict[str, tuple[str, ...]]  #: field -> the JSON types it takes
    valid: dict[str, Any] | None = None  #: sent to wrong ids
    others: tuple[str, ...] = ()  #: fields it reads besides those of ``typed`` and ``valid``

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


TEXT = ("str",)
#: What a question's body may set (``live.web.api.add_question``).
QUESTION_FIELDS = (
    "options",
    "max_choices",
    "description",
    "scale",
    "image",
    "receipts",
    "image_alt",
    "max_ballots",
    "duration_s",
    "parts",
)
#: Text that PostgreSQL refuses in a text column, whatever else the field would take.
NULS = ["\x00", "Board\x00", "\x00meeting", "a\x00b"]
ENDPOINTS = [
    # The host's API (live/web/api.py, draws.py, sitecodes.py, rosters.py, polls.py).
    Endpoint(
        "POST", "/api/rooms", "host", {"title": TEXT, "password": ("str", "null")}, {"title": "T"}
    ),
    Endpoint(
        "POST",
        "/api/rooms/{room}/questions",
        "host",
        {"title": TEXT, "kind": TEXT, "visibility": TEXT},
        {"title": "Q", "options": "A,B"},
        QUESTION_FIELDS,
    ),
    Endpoint(
        "PATCH",
        "/api/questions/{question}",
        "host",
        {"title": TEXT, "kind": TEXT},
        {"title": "Q"},
        QUESTION_FIELDS,
    ),
    Endpoint(
        "POST", "/api/rooms/{room}/order", "host", {"questions": ("list",)}, {"questions": []}
    ),
    Endpoint(
        "POST",
        "/api/rooms/{room}/current",
        "host",
        {"question": ("str", "null")},
        {"question": None},
    ),
    Endpoint(
        "POST",
        "/api/questions/{cloud}/answers",
        "host",
        {"hidden": ("bool",)},
        {"answers": ["x"], "hidden": True},
    ),
    Endpoint("POST", "/api/rooms/{room}/site", "host", {"required": ("bool",)}, {"required": True}),
    Endpoint(
        "POST",
        "/api/rooms/{room}/draws",
        "host",
        {"title": TEXT, "slots": ("list",)},
        {"title": "Lots", "slots": ["a"]},
    ),
    Endpoint(
        "PATCH",
        "/api/draws/{draw}",
        "host",
        {"title": TEXT, "slots": ("list",)},
        {"title": "Lots", "slots": ["a"]},
    ),
    Endpoint("POST", "/api/draws/{draw}/commit", "host", {"seed": ("str", "null")}, {}),
    Endpoint("POST", "/api/rosters", "host", {"name": TEXT}, {"name": "G"}),
    Endpoint("PATCH", "/api/rosters/{group}", "host", {"name": TEXT}, {"name": "G"}),
    Endpoint(
        "POST",
        "/api/rosters/{group}/members",
        "host",
        {"phone": TEXT},
        {"phone": "010-2000-0001"},
    ),
    Endpoint(
        "POST",
        "/api/rosters/{group}/members/remove",
        "host",
        {"member": TEXT, "phone": ("str", "null")},
        {"phone": "010-2000-0001"},
    ),
    Endpoint(
        "POST",
        "/api/rosters/{group}/members/move",
        "host",
        {"to": TEXT},
        {"phone": "010-2000-0001", "to": "g0nosuchgroup"},
    ),
    Endpoint("POST", "/api/rosters/uploads/{upload}/confirm", "host", {}, {}),
    Endpoint(
        "POST",
        "/api/session/password",
        "host",
        {"password": TEXT, "new_password": TEXT},
    ),
    Endpoint("POST", "/api/polls", "host", {"title": TEXT}),
    Endpoint("PATCH", "/api/polls/{poll}", "host", {}, {"title": "P"}),
    Endpoint("POST", "/api/polls/{poll}/reflection", "host", {}, {"text": "t"}),
    # Nobody signed in (hosts' and citizens' accounts).
    Endpoint("POST", "/api/hosts", "anyone", {"email": TEXT}),
    Endpoint("POST", "/api/session", "anyone", {"email": TEXT, "password": TEXT}),
    Endpoint("POST", "/api/citizens/codes", "anyone", {"purpose": TEXT}),
    Endpoint("POST", "/api/citizens", "anyone", {"phone": TEXT, "code": TEXT}),
    Endpoint("POST", "/api/citizens/session", "anyone", {"phone": TEXT, "password": TEXT}),
    Endpoint("POST", "/api/citizens/password", "anyone", {"phone": TEXT, "code": TEXT}),
    Endpoint("POST", "/api/citizens/link", "anyone", {}),
    # A signed-in citizen.
    Endpoint("POST", "/api/polls/{poll}/comments", "citizen", {"body": TEXT}, {"body": "Hi"}),
    Endpoint("PATCH", "/api/comments/{comment}", "citizen", {"body": TEXT}, {"body": "Hi"}),
    Endpoint("POST", "/api/reports", "citizen", {"kind": TEXT, "reason": TEXT, "id": TEXT}),
    Endpoint("PUT", "/api/citizens/me/areas", "citizen", {"areas": ("list", "null")}),
    Endpoint("PUT", "/api/citizens/me/profile", "citizen", {"birth_year": ("int", "str", "null")}),
    Endpoint("PUT", "/api/citizens/me/interests", "citizen", {"areas": ("list", "null")}),
    Endpoint("POST", "/api/citizens/me/push", "citizen", {"endpoint": TEXT}),
    Endpoint("DELETE", "/api/citizens/me/push", "citizen", {"endpoint": TEXT}),
    Endpoint("POST", "/api/citizens/me/phone", "citizen", {"phone": TEXT, "code": TEXT}),
    # Moderation, by someone who moderates nothing.
    Endpoint("POST", "/api/moderation/actions", "citizen", {"kind": TEXT, "action": TEXT}),
    Endpoint("POST", "/api/moderation/words", "host", {"word": TEXT}),
    Endpoint("DELETE", "/api/moderation/words", "host", {"word": TEXT}),
]


@dataclass
class Desk:
    """A node's callers and the ids of what they made."""

    callers: dict[str, httpx.AsyncClient]
    ids: dict[str, str]
    #: ids that look right but are wrong for the caller: of no such thing, another's
    wrong_ids: list[str]


@pytest.fixture
async def desk(node: Node, svc: Services) -> AsyncIterator[Desk]:
    async with contextlib.AsyncExitStack() as stack:
        owner = await stack.enter_async_context(signed_in(node.url, "owner@example.org"))
        stranger = await stack.enter_async_context(signed_in(node.url, "other@example.org"))
        await make_citizen(svc, "010-1000-0001")
        person = await stack.enter_async_context(citizen(node.url, "010-1000-0001"))
        anyone = await stack.enter_async_context(httpx.AsyncClient(base_url=node.url))
        room = await create_room(owner.http)
        question = await add_question(owner.http, room["id"])
        cloud = await add_question(owner.http, room["id"], kind="text", options="")
        draw = await owner.http.post(
            f"/api/rooms/{room['id']}/draws", json={"title": "Lots", "slots": ["a", "b"]}
        )
        group = await owner.http.post("/api/rosters", json={"name": "Board"})
        assert (draw.status_code, group.status_code) == (201, 201), (draw.text, group.text)
        theirs = await create_room(stranger.http)
        ids = {
            "room": room["id"],
            "question": question["id"],
            "cloud": cloud["id"],
            "draw": draw.json()["draw"]["id"],
            "group": group.json()["group"]["id"],
            "poll": "p0nosuchpoll",
            "comment": "c0nosuchcomment",
            "upload": "u0nosuchupload",
        }
        wrong = [theirs["id"], "000000000000", *[v.upper() for v in ids.values()]]
        wrong += [ids["room"] + "\x00", ids["question"] + "/x", "..", "%2e%2e", "４８２９"]
        yield Desk({"host": owner.http, "citizen": person.http, "anyone": anyone}, ids, wrong)


def typed_body(e: Endpoint) -> st.SearchStrategy[dict[str, Any]]:
    """A body of hostile values where one typed field (if the endpoint has any) holds a
    value of a type it never takes."""
    fields = sorted(e.typed)
    hostile = st.fixed_dictionaries({}, optional={f: json_values for f in fields})
    if not fields:
        return with_junk(hostile)

    def wrong(field: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.tuples(hostile, of_types(*e.typed[field])).map(lambda t: {**t[0], field: t[1]})

    return with_junk(st.sampled_from(fields).flatmap(wrong))


@dataclass(frozen=True)
class Call:
    endpoint: Endpoint
    ids: dict[str, str]  #: what each id of the path is
    body: bytes
    kind: str = "application/json"

    def path(self) -> str:
        return self.endpoint.path.format(**{k: quote(v, safe="") for k, v in self.ids.items()})


def calls(d: Desk) -> st.SearchStrategy[Call]:
    """Calls of each endpoint that it must refuse: a typed field of the wrong type, a body
    that is no object or no JSON at all, a body that is not said to be JSON, an id of
    something that is not there or not the caller's."""
    bodies = st.one_of(
        st.sampled_from(ENDPOINTS).flatmap(
            lambda e: typed_body(e).map(lambda b: (e, encode(b))) if e.typed else st.nothing()
        ),
        st.tuples(st.sampled_from(ENDPOINTS), of_types("dict").map(encode)),
        st.tuples(st.sampled_from(ENDPOINTS), st.just(Deep(1022)).map(encode)),
        st.tuples(st.sampled_from(ENDPOINTS), broken_json),
        # Past the 256 KiB a JSON body may have (``live.web.bodies``).
        st.tuples(st.sampled_from(ENDPOINTS), st.just(encode({"title": "x" * 300_000}))),
    )
    right = bodies.map(lambda t: Call(t[0], d.ids, t[1]))
    unsaid = st.tuples(st.sampled_from(ENDPOINTS), st.sampled_from(["text/plain", ""])).map(
        lambda t: Call(t[0], d.ids, encode(t[0].valid or {}), t[1])
    )

    def misplaced(e: Endpoint) -> st.SearchStrategy[Call]:
        slots = re.findall(r"\{(\w+)\}", e.path)
        return st.tuples(st.sampled_from(slots), st.sampled_from(d.wrong_ids)).map(
            lambda t: Call(
                e, {**d.ids, t[0]: t[1]}, encode(e.valid).replace(b"{group}", t[1].encode())
            )
        )

    with_ids = [e for e in ENDPOINTS if e.valid is not None and "{" in e.path]
    wrong_id = st.sampled_from(with_ids).flatmap(misplaced)

    def with_nul(e: Endpoint) -> st.SearchStrategy[Call]:
        fields = sorted(f for f, types in e.typed.items() if types == TEXT)
        return st.tuples(st.sampled_from(fields), st.sampled_from(NULS)).map(
            lambda t: Call(e, d.ids, encode({**(e.valid or {}), t[0]: t[1]}))
        )

    nul = st.sampled_from([e for e in ENDPOINTS if TEXT in e.typed.values()]).flatmap(with_nul)
    return right | unsaid | wrong_id | nul


async def test_fuzzed_json_bodies_are_refused_and_change_nothing(
    node: Node, svc: Services, desk: Desk
) -> None:
    before = await settled_state(svc)
    called: set[str] = set()

    async def check(c: Call) -> None:
        http = desk.callers[c.endpoint.who]
        async with unchanged(svc, c):
            r = await http.request(
                c.endpoint.method, c.path(), content=c.body, headers={"content-type": c.kind}
            )
            assert 400 <= r.status_code < 500, (c, r.status_code, r.text[:300])
            body = r.json()
            assert body["ok"] is False and set(body) == {"ok", "error"}, body
            refused(body)
        called.add(c.endpoint.name)

    await explore(calls(desk), check, examples=600)
    assert changes(before, await settled_state(svc)) == []
    assert called == {e.name for e in ENDPOINTS}
    r = await desk.callers["host"].get(f"/api/rooms/{desk.ids['room']}")
    assert r.status_code == 200 and r.json()["room"]["id"] == desk.ids["room"]


@pytest.mark.parametrize(
    ("page", "fields"),
    [
        pytest.param("/host", {"title": "Board\x00"}, id="new-room"),
        pytest.param(
            "/host/signup",
            {"email": "kim@example.org", "password": "correct horse", "name": "Kim\x00"},
            id="sign-up",
        ),
    ],
)
async def test_a_console_form_with_a_nul_is_refused(
    node: Node, svc: Services, page: str, fields: dict[str, str]
) -> None:
    """A form's text is kept as the JSON API's is: U+0000 is refused in both."""
    async with (
        signed_in(node.url, "owner@example.org") as owner,
        httpx.AsyncClient(base_url=node.url) as anyone,
    ):
        http = owner.http if page == "/host" else anyone
        found = re.search(r'name="csrf" value="([^"]+)"', (await http.get(page)).text)
        assert found is not None
        before = await settled_state(svc)
        action = "/host/rooms" if page == "/host" else page
        data = {**fields, "csrf": found[1]}
        r = await http.post(action, data=data, headers={"origin": node.url})
        assert r.status_code == 400, r.text[:300]
        assert refused(r.json()) == "bad_request"
        assert changes(before, await settled_state(svc)) == []


def any_field(d: Desk) -> st.SearchStrategy[Call]:
    """A body an endpoint takes, but for one field it reads, which holds any value."""

    def altered(e: Endpoint) -> st.SearchStrategy[Call]:
        fields = sorted({*e.typed, *(e.valid or {}), *e.others})
        return st.tuples(st.sampled_from(fields), json_values).map(
            lambda t: Call(e, d.ids, encode({**(e.valid or {}), t[0]: t[1]}))
        )

    takers = [
        e for e in ENDPOINTS if e.valid and not re.search(r"\{(poll|comment|upload)\}", e.path)
    ]
    return st.sampled_from(takers).flatmap(altered)


async def test_no_json_body_is_answered_with_a_server_error(node: Node, desk: Desk) -> None:
    """Whatever a field holds, the answer is the route's own: done, or refused with a code
    (a value that is taken may change things: this is not about the state)."""

    async def check(c: Call) -> None:
        http = desk.callers[c.endpoint.who]
        r = await http.request(
            c.endpoint.method, c.path(), content=c.body, headers={"content-type": c.kind}
        )
        assert r.status_code < 500, (c, r.status_code, r.text[:300])
        body = r.json()
        if r.status_code >= 400:
            refused(body)
        else:
            assert body["ok"] is True, body

    await explore(any_field(desk), check, examples=300)
    r = await desk.callers["host"].get(f"/api/rooms/{desk.ids['room']}")
    assert r.status_code == 200
