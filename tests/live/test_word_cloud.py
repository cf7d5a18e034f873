"""Open-text questions: answers normalised and counted in the cast script, a live word
cloud a host can hide answers from, and a log that recounts the same words."""

from __future__ import annotations

import io

import httpx
import openpyxl  # type: ignore[import-untyped]

from live import store
from live.services import open_services
from live.settings import Settings
from rooms.log_export import LogExport, recount_export
from rooms.questions import Action
from tests.conftest import Node, connect, running_worker
from tests.live.helpers import live_state, make_room
from tests.live.hosting import add_question, create_room, signed_in
from tests.live.test_ledger import verification

CLOUD = {"title": "One word for the city?", "kind": "text", "options": "", "max_choices": 2}


async def test_answers_are_counted_by_normalised_form_and_the_log_recounts_them(
    witnessed: Settings, witnessed_node: Node
) -> None:
    node = witnessed_node
    ballots = [["Green", "Parks!"], ["ｇｒｅｅｎ"], ["  green  "], ["교육이"], ["교육"]]
    async with open_services(witnessed) as svc, httpx.AsyncClient(base_url=node.url) as http:
        room = await make_room(svc, CLOUD)
        async with running_worker(svc):
            async with connect(node.url) as watcher:
                joined = await watcher.join(room.number, password="pw")
                listed = joined["questions"][0]
                assert (listed["kind"], listed["options"], listed["max_choices"]) == ("text", [], 2)
                assert listed["tally"]["words"] == [] and "counts" not in listed["tally"]
                for answers in ballots:
                    async with connect(node.url) as c:
                        assert (await c.join(room.number, password="pw"))["ok"]
                        ack = await c.call("vote", {"question": room.q, "answers": answers})
                        assert ack["ok"], ack
                await watcher.wait_for(
                    lambda: any(t["total"] == 5 for t in watcher.tallies(room.q))
                )
                last = watcher.tallies(room.q)[-1]
                # The count keeps each form; grouping particles is the cloud's (rooms.words).
                assert last["words"] == [["green", 3], ["parks", 1], ["교육", 1], ["교육이", 1]]
                assert last["distinct"] == 4 and "counts" not in last
            await store.act(svc, room.q, Action.CLOSE)
            assert (await verification(svc, room.q))["status"] == "completed"
        q = await store.load_question(svc, room.q)
        assert q is not None and q.log_id is not None
        export = LogExport.parse((await http.get(f"/ledger/{q.log_id}/export")).content)
        assert recount_export(export) == {
            "counts": [["green", 3], ["parks", 1], ["교육", 1], ["교육이", 1]],
            "total": 5,
            "verified": True,
            "reason": None,
        }
        assert b'"c":["green","parks"]' in export.entries[1]
        # What `mvoting room results` prints.
        (listed_result,) = await store.results(svc, room.info.id)
        assert listed_result["kind"] == "text" and listed_result["total"] == 5
        assert listed_result["counts"][0] == ["green", 3]


async def test_bad_answers_are_refused_with_a_clear_code_and_change_nothing(
    settings: Settings, node: Node
) -> None:
    async with open_services(settings) as svc:
        room = await make_room(svc, CLOUD)
        async with connect(node.url) as c:
            assert (await c.join(room.number, password="pw"))["ok"]
            for bad, code in [
                (["!!!"], "empty_answer"),
                (["a" * 41], "answer_too_long"),
                (["Green", "green!"], "duplicate_answer"),
                (["a", "b", "c"], "too_many_choices"),
                ([], "bad_request"),
                ([3], "bad_request"),
                (["x" * 201], "bad_request"),
            ]:
                refused = await c.call("vote", {"question": room.q, "answers": bad})
                assert refused["ok"] is False and refused["error"]["code"] == code, (bad, refused)
                assert "{" not in refused["error"]["message"]
            choices = await c.vote(room.q, [0])
            assert choices["error"]["code"] == "bad_request"
            state = await live_state(svc, room.q)
            assert state["tally"] == {} and state["voters"] == [] and state["stream"] == 0
            assert await svc.redis.zcard(svc.keys.words(room.q)) == 0
            # The script checks again: a stale node cannot count an answer twice in one ballot.
            keys = svc.keys.cast(room.q)
            args = ["voter", "green,green", 1, "0" * 32, "00", "", 0]
            assert await svc.scripts.cast(keys=keys, args=args) == [0, "duplicate_answer"]
            assert (await live_state(svc, room.q))["voters"] == []


async def test_a_host_hides_an_answer_from_every_screen_and_shows_it_again(
    settings: Settings, node: Node
) -> None:
    async with signed_in(node.url, "host@example.org") as host:
        room = await create_room(host.http)
        q = await add_question(host.http, room["id"], title="Word?", kind="text", options=[])
        qid = q["id"]
        assert (await host.http.post(f"/api/questions/{qid}/open")).is_success
        async with connect(node.url) as voter, connect(node.url) as watcher:
            assert (await watcher.join(room["number"], password=room["password"]))["ok"]
            assert (await voter.join(room["number"], password=room["password"]))["ok"]
            assert (await voter.call("vote", {"question": qid, "answers": ["Spam"]}))["ok"]
            await watcher.wait_for(lambda: any(t["words"] for t in watcher.tallies(qid)))
            hidden = await host.http.post(
                f"/api/questions/{qid}/answers", json={"answers": ["SPAM!"], "hidden": True}
            )
            assert hidden.json() == {"ok": True, "hidden": ["spam"]}
            await watcher.wait_for(lambda: watcher.tallies(qid)[-1]["words"] == [])
            assert watcher.tallies(qid)[-1]["total"] == 1  # still a ballot
            async with connect(node.url) as late:
                joined = await late.join(room["number"], password=room["password"])
                assert joined["questions"][0]["tally"]["words"] == []
            shown = await host.http.post(
                f"/api/questions/{qid}/answers", json={"answers": ["spam"], "hidden": False}
            )
            assert shown.json() == {"ok": True, "hidden": []}
            await watcher.wait_for(lambda: watcher.tallies(qid)[-1]["words"] == [["spam", 1]])
        for body in ({"answers": "spam"}, {"answers": ["!!"]}, {"answers": ["x"], "hidden": 1}):
            refused = await host.http.post(f"/api/questions/{qid}/answers", json=body)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_request"
        # At most MAX_HIDDEN answers hidden: one past it is refused and hides nothing.
        url = f"/api/questions/{qid}/answers"
        full = await host.http.post(url, json={"answers": [f"w{i}" for i in range(200)]})
        assert len(full.json()["hidden"]) == 200
        over = await host.http.post(url, json={"answers": ["one more", "w1"]})
        assert over.status_code == 409 and over.json()["error"]["code"] == "invalid_state"
        assert "200" in over.json()["error"]["message"]
        listed = (await host.http.get(f"/api/rooms/{room['id']}")).json()["questions"]
        assert len(next(q for q in listed if q["id"] == qid)["hidden"]) == 200
        single = await add_question(host.http, room["id"], title="Lunch?", options=["A", "B"])
        wrong = await host.http.post(
            f"/api/questions/{single['id']}/answers", json={"answers": ["a"]}
        )
        assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "invalid_state"


async def test_exports_list_every_answer_with_the_hidden_ones_marked(node: Node) -> None:
    async with signed_in(node.url, "host@example.org") as host:
        room = await create_room(host.http, "Town hall")
        q = await add_question(host.http, room["id"], title="Word?", kind="text", options=[])
        assert (await host.http.post(f"/api/questions/{q['id']}/open")).is_success
        for answers in (["Trees"], ["trees!"], ["=cmd|x"], ["spam"]):
            async with connect(node.url) as c:
                assert (await c.join(room["number"], key=room["key"]))["ok"]
                assert (await c.call("vote", {"question": q["id"], "answers": answers}))["ok"]
        await host.http.post(
            f"/api/questions/{q['id']}/answers", json={"answers": ["spam"], "hidden": True}
        )
        assert (await host.http.post(f"/api/questions/{q['id']}/close")).is_success
        sheet = await host.http.get(f"/api/questions/{q['id']}/export.xlsx")
        ws = openpyxl.load_workbook(io.BytesIO(sheet.content))["Results"]
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=6)]
        assert rows[:5] == [
            ["Option", "Count", "Percent"],
            ["trees", 2, 0.5],
            ["cmd x", 1, 0.25],  # normalised: no formula survives
            ["spam", 1, 0.25],
            ["Total", 4, None],
        ]
        assert any("Answers as counted" in str(r[0]) for r in rows[5:])
        book = await host.http.get(f"/api/rooms/{room['id']}/export.xlsx")
        wb = openpyxl.load_workbook(io.BytesIO(book.content))
        detail = wb[wb.sheetnames[1]]
        cells = [[c.value for c in row] for row in detail.iter_rows()]
        spam = next(r for r in cells if r[0] == "spam")
        assert spam[1] == "Hidden from the word cloud by the host" and spam[2] == 1
        summary = await host.http.get(f"/host/rooms/{room['id']}/summary")
        assert summary.status_code == 200 and "trees" in summary.text
        csv_text = (await host.http.get(f"/api/questions/{q['id']}/export.csv")).text
        assert "trees,2,50.0" in csv_text
