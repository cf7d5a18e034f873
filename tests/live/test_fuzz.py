"""Fuzzed socket events and JSON bodies, each built to be refused: wrong types, huge and
deep values, unicode oddities, wrong ids. Each gets an error with a code (never a 500, an
ack that never comes, or a dropped node), and the state (``tests.live.fuzzing.state``:
every Valkey key and every archive row) is the same after each of them as before the run.

The examples are the same on every run (``derandomize``); the strategies are in
``tests/live/fuzzing.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import strategies as st

from live import store
from live.services import Services
from live.wire.websocket_protocol import MAX_MESSAGE
from rooms.questions import Action, build_question
from rooms.words import MAX_ANSWERS, MAX_RAW_ANSWER
from tests.conftest import Node, connect
from tests.live.fuzzing import (
    changes,
    deep,
    encode,
    explore,
    huge_ints,
    json_values,
    keys,
    of_types,
    raw_socket,
    settled_state,
    state,
    texts,
)
from tests.live.helpers import make_room

pytestmark = pytest.mark.timeout(240)

CLOUD = {"title": "One word", "kind": "text", "options": "", "max_choices": 2}


def refused(ack: Any) -> str:
    """The refusal's code, once the ack has the refusal's shape."""
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    error = ack["error"]
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), ack
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
    """A room with an open single-choice question, an open word cloud, a closed and a draft
    question, and another room's open question."""
    room = await make_room(svc, {}, CLOUD, {})
    await store.act(svc, room.questions[2], Action.CLOSE)
    draft = await store.add_question(svc, room.info.id, build_question("D", "single", "A,B"))
    other = await make_room(svc)
    return {
        "room": room,
        "single": room.questions[0],
        "cloud": room.questions[1],
        "closed": room.questions[2],
        "draft": draft.id,
        "other": other.q,
        "other_room": other,
    }


def votes(m: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Ballots that are refused whatever the voter did before: a question that takes none
    (closed, a draft, another room's, no question), or one that is open but a ballot that
    does not fit it, or no ballot at all."""
    single, cloud = m["single"], m["cloud"]
    shaped_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True).filter(
        lambda v: v not in (single, cloud)
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
    ballot = st.one_of(
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
    return fits_a_message(with_junk(ballot) | of_types("dict") | st.just(deep(200)))


async def test_fuzzed_votes_are_refused_and_change_nothing(
    node: Node, svc: Services, meeting: dict[str, Any]
) -> None:
    async with raw_socket(node.url) as voter:
        joined = await voter.call("join", {"room": meeting["room"].number, "password": "pw"})
        assert joined["ok"], joined
        before = await settled_state(svc)
        codes: set[str] = set()

        async def check(payload: Any) -> None:
            codes.add(refused(await voter.call("vote", payload)))
            assert voter.open
            assert changes(before, await state(svc)) == []

        await explore(votes(meeting), check, examples=100)
        # Still the same voter, whose ballot counts once the question is right.
        ack = await voter.call("vote", {"question": meeting["single"], "choices": [1]})
        assert ack["ok"], ack
    assert {"bad_request", "closed", "unknown_question", "invalid_choice"} <= codes


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
        async with raw_socket(node.url) as c:
            codes.add(refused(await c.call("join", payload)))
            assert c.open
            # Not in the room: the room's question takes no ballot from it.
            ballot = {"question": meeting["single"], "choices": [0]}
            assert refused(await c.call("vote", ballot)) == "not_joined"
        assert changes(before, await state(svc)) == []

    await explore(joins(meeting), check, examples=60)
    assert {"bad_request", "bad_credentials", "not_found"} <= codes
    async with connect(node.url) as c:
        assert (await c.join(meeting["room"].number, password="pw"))["ok"]


async def test_fuzzed_notice_subscriptions_are_refused_without_a_citizen(
    node: Node, svc: Services
) -> None:
    async with raw_socket(node.url) as c:
        before = await settled_state(svc)

        async def check(payload: Any) -> None:
            assert refused(await c.call("notices", payload)) == "unauthorized"
            assert changes(before, await state(svc)) == []

        await explore(fits_a_message(json_values), check, examples=25)


@pytest.mark.parametrize("event", ["join", "vote", "notices"])
async def test_events_with_other_than_one_argument_are_refused(
    node: Node, svc: Services, meeting: dict[str, Any], event: str
) -> None:
    """python-socketio passes each argument of an event to its handler: none, or two and
    more, are a malformed event, answered as one."""
    async with raw_socket(node.url) as c:
        assert (await c.call("join", {"room": meeting["room"].number, "password": "pw"}))["ok"]
        before = await settled_state(svc)

        async def check(args: tuple[Any, ...]) -> None:
            refused(await c.call(event, *args))
            assert c.open
            assert changes(before, await state(svc)) == []

        shaped = {"question": meeting["single"], "choices": [0]}
        arguments = (
            st.just(())
            | st.tuples(st.just(shaped), json_values)
            | st.tuples(json_values, json_values, json_values)
        )
        await explore(fits_a_message(arguments), check, examples=15)


@pytest.mark.parametrize(
    "packet",
    [
        p.decode("utf-8", "surrogateescape")
        for p in [
            b'42["vote",{"question":"q","choices":[NaN]}]',
            b'42["vote",{"question":"q","choices":[Infinity]}]',
            b'42["vote",{"question":"q","choices":[1e999]}]',
            b'42["join",{"room":"\\ud800","password":"pw"}]',
            b'42["join",' + b"[" * 1100 + b"]" * 1100 + b"]",
        ]
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
