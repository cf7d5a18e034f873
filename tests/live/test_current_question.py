"""One current question per room: next, previous, making one current, and the ``room`` event."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from tests.conftest import Node, connect
from tests.live.hosting import Host, add_question, assert_error, create_room, signed_in


@pytest.fixture
async def owner(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "owner@example.org") as host:
        yield host


async def test_every_screen_follows_the_current_question(node: Node, owner: Host) -> None:
    room = await create_room(owner.http)
    a, b, c = [(await add_question(owner.http, room["id"], title=t))["id"] for t in "ABC"]
    base = f"/api/rooms/{room['id']}"

    async with connect(node.url) as phone:
        await phone.join(room["number"], key=room["key"])

        def currents() -> list[object]:
            return [d["current"] for e, d in phone.events if e == "room"]

        assert (await owner.http.post(f"{base}/next")).json()["current"] == a
        await phone.wait_for(lambda: currents() == [a])
        # The question's own event comes first: the phone knows what it is told to follow.
        names = [(e, d.get("id") or d.get("current")) for e, d in phone.events if e != "tally"]
        assert names.index(("question", a)) < names.index(("room", a))
        assert (await owner.http.post(f"{base}/next")).json()["current"] == b
        # Previous: a is current again, as it is (closed, its results); b stays open.
        body = (await owner.http.post(f"{base}/previous")).json()
        assert (body["current"], body["opened"], body["closed"]) == (a, None, None)
        await phone.wait_for(lambda: currents() == [a, b, a])
        # A draft made current opens; a late joiner follows the current one too.
        body = (await owner.http.post(f"{base}/current", json={"question": c})).json()
        assert (body["current"], body["opened"]["status"]) == (c, "open")
        await phone.wait_for(lambda: currents() == [a, b, a, c])
        async with connect(node.url) as late:
            ack = await late.join(room["number"], key=room["key"])
            assert ack["room"]["current"] == c
            assert {q["id"]: q["status"] for q in ack["questions"]} == {
                a: "closed",
                b: "open",
                c: "open",
            }
        # Next on the last question closes it and ends the agenda.
        body = (await owner.http.post(f"{base}/next")).json()
        assert (body["closed"]["id"], body["current"]) == (c, None)
        await phone.wait_for(lambda: currents() == [a, b, a, c, None])
        # After the end, previous goes back to the last question that ran.
        assert (await owner.http.post(f"{base}/previous")).json()["current"] == c
        await phone.wait_for(lambda: currents()[-1] == c)
        assert (await owner.http.get(base)).json()["room"]["current"] == c

    assert_error(
        await owner.http.post(f"{base}/current", json={"question": "nope1"}), 404, "not_found"
    )
    assert_error(await owner.http.post(f"{base}/current", json={}), 400, "bad_request")


async def test_revealed_results_hide_again_until_the_close(node: Node, owner: Host) -> None:
    room = await create_room(owner.http)
    q = (await add_question(owner.http, room["id"], visibility="after_close"))["id"]
    await owner.http.post(f"/api/questions/{q}/open")
    async with connect(node.url) as phone:
        await phone.join(room["number"], key=room["key"])
        r = await owner.http.post(f"/api/questions/{q}/reveal")
        assert r.json()["question"]["revealed"] is True
        await phone.wait_for(lambda: any(e == "tally" for e, _ in phone.events))
        r = await owner.http.post(f"/api/questions/{q}/hide")
        assert r.status_code == 200, r.text
        assert r.json()["question"]["revealed"] is False
        await phone.wait_for(
            lambda: [d["revealed"] for e, d in phone.events if e == "question"] == [True, False]
        )
        seen = len(phone.tallies(q))
        # Hidden again: a ballot's tally reaches the host, not this phone that has not voted.
        async with connect(node.url) as voter, connect(node.url) as host:
            await voter.join(room["number"], key=room["key"])
            await host.join(room["number"], presenter=room["presenter_url"].split("token=")[1])
            assert (await voter.vote(q, [0]))["ok"]
            await host.wait_for(lambda: any(t["total"] == 1 for t in host.tallies(q)))
        assert len(phone.tallies(q)) == seen
        # A rejoin agrees: no tally in its ack.
        ack = await phone.join(room["number"], key=room["key"])
        assert "tally" not in next(x for x in ack["questions"] if x["id"] == q)
    assert_error(await owner.http.post(f"/api/questions/{q}/hide"), 409, "invalid_state")
    await owner.http.post(f"/api/questions/{q}/close")
    message = assert_error(await owner.http.post(f"/api/questions/{q}/hide"), 409, "invalid_state")
    assert "cannot be hidden again" in message


async def test_an_image_option_without_a_label_needs_its_alt_text(owner: Host) -> None:
    room = await create_room(owner.http)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 0, 0)).save(buf, "PNG")
    png = buf.getvalue()
    r = await owner.http.post("/api/media", content=png, headers={"content-type": "image/png"})
    assert r.status_code == 201, r.text
    path = r.json()["media"]["path"]
    url = f"/api/rooms/{room['id']}/questions"
    options = [{"image": path}, {"label": "B"}]
    message = assert_error(
        await owner.http.post(url, json={"title": "Which?", "options": options}), 400, "bad_request"
    )
    assert "image_alt" in message and "option 1" in message
    options[0]["image_alt"] = "A red square"
    r = await owner.http.post(
        url, json={"title": "Which?", "options": options, "image": path, "image_alt": "Two"}
    )
    assert r.status_code == 201, r.text
    q = r.json()["question"]
    assert (q["image_alt"], q["options"][0]["image_alt"], q["options"][0]["label"]) == (
        "Two",
        "A red square",
        "",
    )
    r = await owner.http.patch(f"/api/questions/{q['id']}", json={"image_alt": "Squares"})
    assert r.json()["question"]["image_alt"] == "Squares"
