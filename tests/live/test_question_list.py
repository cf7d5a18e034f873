"""The prepared list: reorder it, move through it, edit and delete draft questions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from live.engines import db
from live.services import Services
from tests.conftest import Client, Node, connect
from tests.live.hosting import (
    Host,
    add_question,
    assert_error,
    create_room,
    room_state,
    signed_in,
)


@pytest.fixture
async def owner(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "owner@example.org") as host:
        yield host


@contextlib.asynccontextmanager
async def _events(svc: Services) -> AsyncIterator[list[dict[str, Any]]]:
    """Every event published on the fan-out channel while the block runs.

    On leaving, a marker is published and awaited: Redis delivers in order, so anything
    the block's requests published has arrived by then.
    """
    seen: list[dict[str, Any]] = []
    marker = {"t": "test-marker"}
    done = asyncio.Event()
    pubsub: Any = svc.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(svc.keys.events())

    async def listen() -> None:
        while True:
            msg = await pubsub.get_message(timeout=1.0)
            if msg is None:
                continue
            event = orjson.loads(msg["data"])
            if event == marker:
                done.set()
            else:
                seen.append(event)

    task = asyncio.create_task(listen())
    try:
        yield seen
        await svc.redis.publish(svc.keys.events(), orjson.dumps(marker))
        await asyncio.wait_for(done.wait(), 5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.aclose()


async def _list_state(svc: Services, room_id: str) -> dict[str, Any]:
    """The list as the archive and the live state hold it."""
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.questions.c.id, db.questions.c.position)
            .where(db.questions.c.room_id == room_id)
            .order_by(db.questions.c.position)
        )
        sql = [(r.id, r.position) for r in rows]
    return {
        "sql": sql,
        "live": await svc.redis.lrange(svc.keys.room_questions(room_id), 0, -1),
        "current": await svc.redis.hget(svc.keys.room(room_id), "current"),
    }


def _presenter(room: dict[str, Any]) -> str:
    """The room's presenter token: it joins as a host, who sees the drafts too."""
    token: str = room["presenter_url"].rsplit("token=", 1)[1]
    return token


async def _room_with(owner: Host, *titles: str) -> tuple[dict[str, Any], list[str]]:
    room = await create_room(owner.http)
    ids = [(await add_question(owner.http, room["id"], title=t))["id"] for t in titles]
    return room, ids


# --- order -------------------------------------------------------------------------------


async def test_reorder_changes_the_archive_the_live_list_and_what_a_join_sees(
    node: Node, svc: Services, owner: Host
) -> None:
    room, (a, b, c) = await _room_with(owner, "A", "B", "C")

    async with _events(svc) as events:
        r = await owner.http.post(f"/api/rooms/{room['id']}/order", json={"questions": [c, a, b]})

    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "questions": [c, a, b]}
    assert await _list_state(svc, room["id"]) == {
        "sql": [(c, 0), (a, 1), (b, 2)],
        "live": [c, a, b],
        "current": "",
    }
    assert [q["title"] for q in (await room_state(owner.http, room["id"]))["questions"]] == [
        "C",
        "A",
        "B",
    ]
    async with connect(node.url) as host:
        ack = await host.join(room["number"], presenter=_presenter(room))
    assert [q["id"] for q in ack["questions"]] == [c, a, b]
    assert events == [{"t": "order", "room": room["id"], "questions": [c, a, b]}]


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(lambda a, b, c: [c, a], id="one-missing"),
        pytest.param(lambda a, b, c: [c, a, b, "other"], id="one-extra"),
        pytest.param(lambda a, b, c: [c, a, a], id="one-twice"),
        pytest.param(lambda a, b, c: [c, a, b, b], id="right-set-one-twice"),
        pytest.param(lambda a, b, c: f"{c},{a},{b}", id="a-string"),
        pytest.param(lambda a, b, c: [c, a, 3], id="not-ids"),
        pytest.param(lambda a, b, c: None, id="missing"),
    ],
)
async def test_a_bad_order_is_refused_and_the_list_is_unchanged(
    svc: Services, owner: Host, order: Any
) -> None:
    room, (a, b, c) = await _room_with(owner, "A", "B", "C")
    before = await _list_state(svc, room["id"])

    r = await owner.http.post(f"/api/rooms/{room['id']}/order", json={"questions": order(a, b, c)})

    assert "questions" in assert_error(r, 400, "bad_request")
    assert await _list_state(svc, room["id"]) == before
    assert before["live"] == [a, b, c]


async def test_joins_during_reorders_always_see_a_whole_list(
    node: Node, svc: Services, owner: Host
) -> None:
    room, ids = await _room_with(owner, *"ABCDEFGH")
    orders = [ids[i:] + ids[:i] for i in range(len(ids))] * 3
    seen: list[list[str]] = []

    async def reorder_all() -> None:
        for order in orders:
            r = await owner.http.post(f"/api/rooms/{room['id']}/order", json={"questions": order})
            assert r.status_code == 200, r.text

    async def join_repeatedly(host: Client) -> None:
        for _ in range(40):
            ack = await host.join(room["number"], presenter=_presenter(room))
            seen.append([q["id"] for q in ack["questions"]])

    async with connect(node.url) as one, connect(node.url) as two:
        await asyncio.gather(reorder_all(), join_repeatedly(one), join_repeatedly(two))

    assert len(seen) == 80
    assert all(sorted(s) == sorted(ids) for s in seen)
    assert all(s in orders or s == ids for s in seen)


# --- next --------------------------------------------------------------------------------


async def test_next_closes_the_current_question_and_opens_the_next_draft(
    node: Node, svc: Services, owner: Host
) -> None:
    room, (a, b, c) = await _room_with(owner, "A", "B", "C")
    await owner.http.post(f"/api/rooms/{room['id']}/order", json={"questions": [b, a, c]})
    nxt = f"/api/rooms/{room['id']}/next"

    async with connect(node.url) as attendee:
        await attendee.join(room["number"], key=room["key"])
        r = await owner.http.post(nxt)
        assert r.status_code == 200, r.text
        assert r.json()["closed"] is None
        assert (r.json()["opened"]["id"], r.json()["opened"]["status"]) == (b, "open")

        r = await owner.http.post(nxt)
        body = r.json()
        assert (body["closed"]["id"], body["closed"]["status"]) == (b, "closed")
        assert (body["opened"]["id"], body["opened"]["status"]) == (a, "open")
        await attendee.wait_for(
            lambda: (
                [(d["id"], d["status"]) for e, d in attendee.events if e == "question"]
                == [(b, "open"), (b, "closed"), (a, "open")]
            )
        )
        assert (await attendee.call("join", {"room": room["number"], "key": room["key"]}))["room"][
            "current"
        ] == a

    r = await owner.http.post(nxt)
    assert (r.json()["closed"]["id"], r.json()["opened"]["id"]) == (a, c)
    # Next on the last question closes it and ends the agenda: no current question.
    async with connect(node.url) as attendee:
        await attendee.join(room["number"], key=room["key"])
        r = await owner.http.post(nxt)
        assert r.status_code == 200, r.text
        assert (r.json()["closed"]["id"], r.json()["opened"], r.json()["current"]) == (
            c,
            None,
            None,
        )
        await attendee.wait_for(lambda: ("room", {"current": None}) in attendee.events)
    before = await room_state(owner.http, room["id"])
    assert before["room"]["current"] is None
    assert [q["status"] for q in before["questions"]] == ["closed", "closed", "closed"]
    message = assert_error(await owner.http.post(nxt), 409, "invalid_state")
    assert message == (
        "There is no question left to open: add one, or make a question current again to show "
        "its results."
    )
    assert await room_state(owner.http, room["id"]) == before


async def test_next_skips_questions_already_run(svc: Services, owner: Host) -> None:
    room, (a, b, c) = await _room_with(owner, "A", "B", "C")
    await owner.http.post(f"/api/questions/{b}/open")
    await owner.http.post(f"/api/questions/{b}/close")

    r = await owner.http.post(f"/api/rooms/{room['id']}/next")

    # b was opened last and is closed: nothing to close, and c is the draft after it.
    assert (r.json()["closed"], r.json()["opened"]["id"]) == (None, c)
    statuses = [q["status"] for q in (await room_state(owner.http, room["id"]))["questions"]]
    assert statuses == ["draft", "closed", "open"]


# --- edit --------------------------------------------------------------------------------


async def test_editing_a_draft_changes_archive_live_state_and_what_attendees_see(
    node: Node, svc: Services, owner: Host
) -> None:
    room, (q,) = await _room_with(owner, "Lunch?")
    async with connect(node.url) as attendee, connect(node.url) as host:
        await attendee.join(room["number"], key=room["key"])
        await host.join(room["number"], presenter=_presenter(room))
        r = await owner.http.patch(
            f"/api/questions/{q}",
            json={"title": "Toppings?", "kind": "multiple", "options": "Ham,Corn,Tuna,Olives"},
        )
        assert r.status_code == 200, r.text
        edited = r.json()["question"]
        assert (edited["title"], edited["kind"], edited["max_choices"]) == (
            "Toppings?",
            "multiple",
            4,
        )
        assert [o["label"] for o in edited["options"]] == ["Ham", "Corn", "Tuna", "Olives"]
        await host.wait_for(lambda: [d for e, d in host.events if e == "question"] == [edited])

        # The live state follows: the fourth option and four picks are valid ballots now.
        # The attendee hears of the question only as it opens, as edited.
        assert (await owner.http.post(f"/api/questions/{q}/open")).status_code == 200
        await attendee.wait_for(
            lambda: (
                [(d["title"], d["status"]) for e, d in attendee.events if e == "question"]
                == [("Toppings?", "open")]
            )
        )
        assert (await attendee.vote(q, [0, 1, 2, 3]))["ok"]

    meta = await svc.redis.hgetall(svc.keys.question(q))
    assert (meta["n"], meta["max"]) == ("4", "4")
    assert orjson.loads(meta["def"]) == {
        k: v
        for k, v in edited.items()
        if k not in ("id", "status", "revealed", "log", "verification", "closes_at")
    }
    async with svc.engine.connect() as conn:
        stored = await conn.scalar(sa.select(db.questions.c.spec).where(db.questions.c.id == q))
    assert stored == orjson.loads(meta["def"])


@pytest.mark.parametrize(
    ("setup", "body", "status", "code"),
    [
        pytest.param([], {"title": ""}, 400, "bad_request", id="empty-title"),
        pytest.param([], {"kind": "vs"}, 400, "bad_request", id="vs-with-three-options"),
        pytest.param([], {"max_choices": 2}, 400, "bad_request", id="max-choices-on-single"),
        pytest.param(
            [], {"image": "/media/" + "a" * 64 + ".png"}, 400, "bad_request", id="image-not-here"
        ),
        pytest.param(["open"], {"title": "New"}, 409, "invalid_state", id="open"),
        pytest.param(["open", "close"], {"title": "New"}, 409, "invalid_state", id="closed"),
    ],
)
async def test_a_refused_edit_changes_nothing(
    svc: Services, owner: Host, setup: list[str], body: dict[str, Any], status: int, code: str
) -> None:
    room, (q,) = await _room_with(owner, "Lunch?")
    for action in setup:
        assert (await owner.http.post(f"/api/questions/{q}/{action}")).status_code == 200
    before = (
        await room_state(owner.http, room["id"]),
        await svc.redis.hgetall(svc.keys.question(q)),
    )

    assert_error(await owner.http.patch(f"/api/questions/{q}", json=body), status, code)

    after = (
        await room_state(owner.http, room["id"]),
        await svc.redis.hgetall(svc.keys.question(q)),
    )
    assert after == before


async def test_strangers_cannot_edit_or_delete(node: Node, svc: Services, owner: Host) -> None:
    room, (q,) = await _room_with(owner, "Lunch?")
    async with signed_in(node.url, "stranger@example.org") as stranger:
        assert_error(
            await stranger.http.patch(f"/api/questions/{q}", json={"title": "Mine"}),
            403,
            "forbidden",
        )
        assert_error(await stranger.http.delete(f"/api/questions/{q}"), 403, "forbidden")
        r = await stranger.http.post(f"/api/rooms/{room['id']}/order", json={"questions": [q]})
        assert_error(r, 403, "forbidden")
        assert_error(await stranger.http.post(f"/api/rooms/{room['id']}/next"), 403, "forbidden")
    assert_error(await owner.http.patch("/api/questions/nosuch", json={}), 404, "not_found")
    assert_error(await owner.http.delete("/api/questions/nosuch"), 404, "not_found")
    state = await room_state(owner.http, room["id"])
    assert [(x["title"], x["status"]) for x in state["questions"]] == [("Lunch?", "draft")]


# --- delete ------------------------------------------------------------------------------


async def test_deleting_a_draft_removes_it_everywhere(
    node: Node, svc: Services, owner: Host
) -> None:
    room, (a, b, c) = await _room_with(owner, "A", "B", "C")

    async with _events(svc) as events:
        r = await owner.http.delete(f"/api/questions/{b}")

    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "questions": [a, c]}
    assert events == [{"t": "order", "room": room["id"], "questions": [a, c]}]
    assert await _list_state(svc, room["id"]) == {
        "sql": [(a, 0), (c, 2)],
        "live": [a, c],
        "current": "",
    }
    assert await svc.redis.keys(f"{svc.keys.prefix}{{q:{b}}}*") == []
    # A question added afterwards goes last, after the gap.
    d = (await add_question(owner.http, room["id"], title="D"))["id"]
    assert (await _list_state(svc, room["id"]))["sql"] == [(a, 0), (c, 2), (d, 3)]
    async with connect(node.url) as host, connect(node.url) as attendee:
        ack = await host.join(room["number"], presenter=_presenter(room))
        assert [q["id"] for q in ack["questions"]] == [a, c, d]
        await attendee.join(room["number"], key=room["key"])
        assert (await attendee.vote(b, [0]))["error"]["code"] == "unknown_question"


async def test_a_reset_takes_the_current_question_off_and_it_can_be_deleted(
    svc: Services, owner: Host
) -> None:
    room, (a,) = await _room_with(owner, "A")
    for action in ("open", "close"):
        assert (await owner.http.post(f"/api/questions/{a}/{action}")).status_code == 200
    assert (await _list_state(svc, room["id"]))["current"] == a
    # Back in preparation, attendees may not see it: no screen follows it any more.
    assert (await owner.http.post(f"/api/questions/{a}/reset")).status_code == 200
    assert (await _list_state(svc, room["id"]))["current"] == ""

    assert (await owner.http.delete(f"/api/questions/{a}")).json()["questions"] == []

    assert await _list_state(svc, room["id"]) == {"sql": [], "live": [], "current": ""}
    assert not await svc.redis.sismember(svc.keys.archiving(), a)


@pytest.mark.parametrize(
    "setup",
    [pytest.param(["open"], id="open"), pytest.param(["open", "close"], id="closed")],
)
async def test_only_a_draft_is_deleted(svc: Services, owner: Host, setup: list[str]) -> None:
    room, (a, b) = await _room_with(owner, "A", "B")
    for action in setup:
        await owner.http.post(f"/api/questions/{a}/{action}")
    before = (await _list_state(svc, room["id"]), await svc.redis.hgetall(svc.keys.question(a)))

    message = assert_error(await owner.http.delete(f"/api/questions/{a}"), 409, "invalid_state")

    assert message == "Only a draft question can be deleted: this one has opened."
    assert (await _list_state(svc, room["id"]), await svc.redis.hgetall(svc.keys.question(a))) == (
        before
    )
