"""Drafts stay with the hosts: an attendee learns of a question when it opens, not before,
and not again once it is reset into a draft and edited — through the join ack, the
``question`` and ``tally`` events, or the ledger's page of the question's old log."""

from __future__ import annotations

from typing import Any

import httpx

from live import agenda, drafts, store
from live.services import Services
from rooms.questions import Action, build_question
from tests.conftest import Client, Node, connect, running_worker
from tests.live.helpers import make_room
from tests.live.test_ledger import verification


def _seen(client: Client, qid: str) -> list[tuple[str, Any]]:
    return [
        (e, d)
        for e, d in client.events
        if e in ("question", "tally") and d.get("id", d.get("question")) == qid
    ]


async def test_an_attendee_sees_no_draft_in_the_join_the_events_or_an_old_log(
    node: Node, svc: Services
) -> None:
    room = await make_room(
        svc,
        {"title": "Lunch?", "options": "Rice,Noodles"},
        {"title": "Pay rise?", "options": "Yes,No"},
        open_=False,
    )
    asked, planned = room.questions
    await store.act(svc, asked, Action.OPEN)
    async with (
        connect(node.url) as attendee,
        connect(node.url) as host,
        running_worker(svc),
        httpx.AsyncClient(base_url=node.url) as http,
    ):
        joined = await attendee.join(room.number, key=room.info.key)
        assert [(q["id"], q["status"]) for q in joined["questions"]] == [(asked, "open")]
        hosting = await host.join(room.number, presenter=room.info.presenter)
        assert [(q["id"], q["title"], q["status"]) for q in hosting["questions"]] == [
            (asked, "Lunch?", "open"),
            (planned, "Pay rise?", "draft"),
        ]

        # A draft's edit and reveal reach the hosts only; so does the reveal's tally.
        edited = await drafts.edit(
            svc, await drafts.draft(svc, planned, "edit"), build_question("Pay cut?", "yesno")
        )
        await store.act(svc, planned, Action.REVEAL)
        await host.wait_for(lambda: len(_seen(host, planned)) >= 3)
        assert [e for e, _ in _seen(host, planned)][:2] == ["question", "question"]
        assert _seen(host, planned)[0][1] == edited.public()

        # The question asked is closed and reset: the attendee hears only that it is gone.
        await store.act(svc, asked, Action.CLOSE)
        old_log = joined["questions"][0]["log"]
        await verification(svc, asked)  # its log holds the opening and the closing
        await store.act(svc, asked, Action.RESET)
        await drafts.edit(
            svc,
            await drafts.draft(svc, asked, "edit"),
            build_question("Layoffs?", "single", "Ten,Twenty"),
        )
        await host.wait_for(
            lambda: (
                [d["title"] for e, d in _seen(host, asked) if e == "question"][-1:] == ["Layoffs?"]
            )
        )
        status = (await http.get(f"/ledger/{old_log}")).json()["log"]

        # Opening the other question is the barrier: whatever reached the attendee before
        # it has arrived once it has.
        await store.act(svc, planned, Action.OPEN)
        await attendee.wait_for(lambda: any(e == "question" for e, _ in _seen(attendee, planned)))

    question_events = [d for e, d in attendee.events if e == "question"]
    assert [(d["id"], d["status"]) for d in question_events] == [
        (asked, "closed"),
        (asked, "closed"),  # its log's verdict
        (asked, "draft"),
        (planned, "open"),
    ]
    assert question_events[2] == {"id": asked, "status": "draft"}
    assert question_events[3]["title"] == "Pay cut?"  # as edited, once open
    # The reveal's snapshot of the draft went to the host, not to the attendee.
    revealed = [d["version"] for e, d in _seen(host, planned) if e == "tally"][0]
    assert [
        d["version"]
        for e, d in _seen(attendee, planned)
        if e == "tally" and d["version"] <= revealed
    ] == []
    assert (status["status"], status["title"], status["options"]) == (
        "ended",
        "Lunch?",
        ["Rice", "Noodles"],
    )


async def test_a_reorder_tells_attendees_the_order_of_what_they_see_and_hosts_all(
    node: Node, svc: Services
) -> None:
    room = await make_room(
        svc,
        {"title": "Lunch?", "options": "Rice,Noodles"},
        {"title": "Pay rise?", "options": "Yes,No"},
        {"title": "Dinner?", "options": "Soup,Bread"},
        open_=False,
    )
    first, planned, last = room.questions
    await store.act(svc, first, Action.OPEN)
    await store.act(svc, last, Action.OPEN)
    async with connect(node.url) as attendee, connect(node.url) as host, running_worker(svc):
        await attendee.join(room.number, key=room.info.key)
        await host.join(room.number, presenter=room.info.presenter)
        await agenda.reorder(svc, room.info.id, [last, planned, first])
        await host.wait_for(lambda: any(e == "order" for e, _ in host.events))
        await attendee.wait_for(lambda: any(e == "order" for e, _ in attendee.events))
    assert [d for e, d in host.events if e == "order"] == [{"questions": [last, planned, first]}]
    assert [d for e, d in attendee.events if e == "order"] == [{"questions": [last, first]}]
