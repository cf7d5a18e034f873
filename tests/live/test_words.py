"""Prohibited words over HTTP and the command line: monitors list them, every node refuses
a poll (or its edit) that holds one in disguise, naming the word, and nothing is made;
each change is in the moderation log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from live.engines import db
from live.jobs import JobWorker, running_jobs
from live.moderation import audit, monitors, words
from live.services import Services
from live.settings import Settings
from rooms.errors import ErrorCode, VotingError
from tests.conftest import Node
from tests.live.citizenry import citizen, make_citizen
from tests.live.test_polls import poll_body, wait_status

KIM, LEE = "010-2345-6789", "010-9876-5432"


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


async def poll_count(svc: Services) -> int:
    async with svc.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(db.polls)) or 0)


async def test_a_monitor_lists_a_word_and_a_disguised_poll_is_refused_on_every_node(
    node: Node, node_b: Node, svc: Services, jobs: JobWorker
) -> None:
    for phone in (KIM, LEE):
        await make_citizen(svc, phone)
    async with citizen(node.url, KIM) as kim, citizen(node_b.url, LEE) as lee:
        # Not a monitor: no list, no change; nobody signed in: unauthorized.
        r = await kim.http.get("/api/moderation/words")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_monitor"
        r = await kim.http.post("/api/moderation/words", json={"word": "Badword"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_monitor"
        assert (await kim.http.get("/monitor/words")).status_code == 403
        async with httpx.AsyncClient(base_url=node.url) as anyone:
            r = await anyone.get("/api/moderation/words")
            assert r.status_code == 401
            page = await anyone.get("/monitor/words")
            assert page.status_code == 303 and "/host/signin" in page.headers["location"]

        # A poll passes before the word is listed (node B reads the empty list first).
        r = await lee.http.post("/api/polls", json=poll_body(title="Badword or not?"))
        assert r.status_code == 201, r.text

        await monitors.add_monitor(svc, by="cli", citizen_id=kim.id)
        r = await kim.http.post("/api/moderation/words", json={"word": "Badword"})
        assert r.status_code == 201, r.text
        assert r.json()["added"] == ["Badword"]
        assert [w["word"] for w in r.json()["words"]] == ["Badword"]
        again = await kim.http.post("/api/moderation/words", json={"word": "B A D W O R D"})
        assert again.status_code == 200 and again.json()["added"] == []  # the same key
        r = await kim.http.post("/api/moderation/words", json={"word": "시발"})
        assert r.status_code == 201
        for bad in ({"word": "x"}, {"word": ""}, {"word": 5}, {"word": "bad시발"}, {}):
            r = await kim.http.post("/api/moderation/words", json=bad)
            assert r.status_code == 400 and r.json()["error"]["message"], bad
        page = await kim.http.get("/monitor/words")
        assert page.status_code == 200 and 'data-word="Badword"' in page.text

        # On the other node at once: every disguise refused, naming the word, nothing made.
        before = await poll_count(svc)
        for body in (
            poll_body(title="A b.a.d-w_o_r_d poll"),
            poll_body(description="ＢＡＤＷＯＲＤ"),
            poll_body(tags=["b\u0430dw0rd"]),  # Cyrillic а, a zero for o
            poll_body(questions=[{"title": "Pick one", "options": "Tea,b\u200badword,Juice"}]),
            poll_body(questions=[{"title": "ㅅㅣㅂㅏㄹ?", "options": "Tea,Coffee"}]),
            poll_body(title="시 발"),
            poll_body(title="시1발 투표"),
            poll_body(description="이 시 X발놈들아"),
            poll_body(tags=["ㅅ1ㅣ ㅂ.ㅏ.ㄹ"]),
        ):
            r = await lee.http.post("/api/polls", json=body)
            assert r.status_code == 422, (body, r.text)
            error = r.json()["error"]
            assert error["code"] == "prohibited_word"
            assert error["word"] in ("Badword", "시발")
            assert error["word"] in error["message"]
        assert await poll_count(svc) == before

        # In Korean, the sentence names the word too.
        r = await lee.http.post(
            "/api/polls?lang=ko", json=poll_body(title="BADWORD"), headers={"Accept-Language": "ko"}
        )
        assert r.status_code == 422 and "Badword" in r.json()["error"]["message"]

        # Innocent words pass: the listed word inside another word does not count.
        r = await lee.http.post("/api/polls", json=poll_body(title="Badwordsmith's guild"))
        assert r.status_code == 201, r.text
        for title in ("서울시 발표를 보셨나요?", "시 발표에 따르면", "갤럭시S발표 날짜"):
            r = await lee.http.post("/api/polls", json=poll_body(title=title))
            assert r.status_code == 201, (title, r.text)

        # A Korean compound that holds a word is refused until it is allowed.
        r = await lee.http.post("/api/polls", json=poll_body(title="시발점은 어디?"))
        assert r.status_code == 422
        r = await kim.http.post("/api/moderation/words", json={"word": "시발점", "allowed": True})
        assert r.status_code == 201
        listed = {w["word"]: w["allowed"] for w in r.json()["words"]}
        assert listed == {"Badword": False, "시발": False, "시발점": True}
        r = await lee.http.post("/api/polls", json=poll_body(title="시발점은 어디?"))
        assert r.status_code == 201, r.text

        # An edit is checked as well.
        poll = r.json()["poll"]
        r = await lee.http.patch(f"/api/polls/{poll['id']}", json={"title": "b-a-d-w-o-r-d"})
        assert r.status_code == 422 and r.json()["error"]["word"] == "Badword"

        # Removed: allowed again, on both nodes.
        r = await kim.http.request("DELETE", "/api/moderation/words", json={"word": "badword"})
        assert r.status_code == 200 and r.json()["removed"] == ["Badword"]
        r = await lee.http.post("/api/polls", json=poll_body(title="Badword or not?"))
        assert r.status_code == 201, r.text

    log = [(e.actor, e.action, e.target_kind, e.target_id) for e in await audit.every_entry(svc)]
    monitor = f"citizen:{kim.id}"
    assert log == [
        ("cli", "add_monitor", "citizen", kim.id),
        (monitor, "add_word", "word", "Badword"),
        (monitor, "add_word", "word", "시발"),
        (monitor, "add_word", "allowed_word", "시발점"),
        (monitor, "remove_word", "word", "Badword"),
    ]


async def test_the_list_is_read_again_when_it_changes(svc: Services) -> None:
    await words.refuse_prohibited(svc, "anything at all")
    await words.add(svc, ["spam"], by="cli")
    with pytest.raises(VotingError) as refused:
        await words.refuse_prohibited(svc, "fine", "S P A M")
    assert refused.value.code is ErrorCode.PROHIBITED_WORD and refused.value.fields == {
        "word": "spam"
    }
    await words.remove(svc, ["SPAM"], by="cli")
    await words.refuse_prohibited(svc, "spam")


async def test_an_operator_lists_adds_and_removes_words_from_the_command_line(
    node: Node, svc: Services, settings: Settings
) -> None:
    from tests.live.test_officials import admin as cli
    from tests.live.test_officials import made

    assert made(settings, "words", "list")["words"] == []
    assert made(settings, "words", "add", "Badword", "개새끼", "+개새끼줄")["added"] == [
        "Badword",
        "개새끼",
        "+개새끼줄",
    ]
    assert made(settings, "words", "add", "badword")["added"] == []
    listed = made(settings, "words", "list")["words"]
    assert [(w["word"], w["allowed"], w["added_by"]) for w in listed] == [
        ("Badword", False, "cli"),
        ("개새끼", False, "cli"),
        ("개새끼줄", True, "cli"),
    ]
    text = cli(settings, "words", "list")
    assert text.returncode == 0 and "allowed: 개새끼줄" in text.stdout
    with pytest.raises(VotingError) as refused:
        await words.refuse_prohibited(svc, "이 개.새.끼")
    assert refused.value.fields == {"word": "개새끼"}
    await words.refuse_prohibited(svc, "개새끼줄")  # allowed

    assert made(settings, "words", "remove", "BADWORD", "+개새끼줄", "nosuch")["removed"] == [
        "Badword",
        "+개새끼줄",
    ]
    bad = cli(settings, "words", "add", "x")
    assert bad.returncode != 0 and "x" in bad.stderr
    log = [(e.actor, e.action, e.target_id) for e in await audit.every_entry(svc)]
    assert log == [
        ("cli", "add_word", "Badword"),
        ("cli", "add_word", "개새끼"),
        ("cli", "add_word", "개새끼줄"),
        ("cli", "remove_word", "Badword"),
        ("cli", "remove_word", "개새끼줄"),
    ]


async def test_a_comment_that_holds_a_listed_word_is_refused(
    node: Node, svc: Services, jobs: JobWorker
) -> None:
    await make_citizen(svc, KIM)
    async with citizen(node.url, KIM) as kim:
        r = await kim.http.post("/api/polls", json=poll_body())
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        await wait_status(svc, poll["id"], "open")
        await words.add(svc, ["Badword", "개새끼"], by="cli")
        url = f"/api/polls/{poll['id']}/comments"
        for body in ("What a b-a-d-w-0-r-d!", "이 개.새.끼야", "이 개 새 끼야", "개1새끼들"):
            r = await kim.http.post(url, json={"body": body})
            assert r.status_code == 422 and r.json()["error"]["code"] == "prohibited_word", body
        r = await kim.http.post(url, json={"body": "Badwordsmiths welcome."})
        assert r.status_code == 201, r.text
    async with svc.engine.connect() as conn:
        bodies = (await conn.execute(sa.select(db.comments.c.body))).scalars().all()
    assert bodies == ["Badwordsmiths welcome."]
