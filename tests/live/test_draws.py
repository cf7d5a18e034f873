"""Lot drawings over HTTP and sockets: set up, edit, commit, draw from two nodes at once,
reveal, and re-run from the served log with ``mvoting draw verify``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest

from live.cli import main
from live.ledger.local_witnesses import LocalWitnesses
from live.settings import Settings
from rooms.draws import check_log
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.policy import Policy
from tests.conftest import Node, connect, run_node
from tests.live.hosting import assert_error, create_room, signed_in

SLOTS = ["Bicycle", "Tablet", {"label": "", "blank": True}, "Mug"]


def presenter_token(room: dict[str, Any]) -> str:
    token: str = parse_qs(urlparse(room["presenter_url"]).query)["token"][0]
    return token


async def new_draw(http: httpx.AsyncClient, room_id: str, slots: Any = SLOTS) -> dict[str, Any]:
    r = await http.post(
        f"/api/rooms/{room_id}/draws", json={"title": "Door prizes", "slots": slots}
    )
    assert r.status_code == 201, r.text
    draw: dict[str, Any] = r.json()["draw"]
    return draw


async def act(http: httpx.AsyncClient, draw_id: str, action: str, **body: Any) -> httpx.Response:
    return await http.post(f"/api/draws/{draw_id}/{action}", json=body)


async def test_a_host_edits_a_draft_and_its_slots_are_fixed_once_committed(node: Node) -> None:
    async with signed_in(node.url, "draw-edit@example.org") as host:
        room = await create_room(host.http)
        draw = await new_draw(host.http, room["id"])
        assert draw["state"] == "draft" and draw["commitment"] is None
        assert [s["blank"] for s in draw["slots"]] == [False, False, True, False]
        r = await host.http.patch(
            f"/api/draws/{draw['id']}", json={"title": "Prizes", "slots": ["A", "B", "C"]}
        )
        assert r.status_code == 200, r.text
        assert [s["label"] for s in r.json()["draw"]["slots"]] == ["A", "B", "C"]
        r = await act(host.http, draw["id"], "commit")
        committed = r.json()["draw"]
        assert committed["state"] == "committed" and len(committed["commitment"]) == 64
        assert committed["seed"] is None  # secret until revealed
        message = assert_error(
            await host.http.patch(f"/api/draws/{draw['id']}", json={"slots": ["X"]}),
            409,
            "invalid_state",
        )
        assert "can no longer be edited" in message
        assert_error(await act(host.http, draw["id"], "commit"), 409, "invalid_state")
        r = await host.http.get(
            "/api/draws", params={"room": room["number"], "presenter": presenter_token(room)}
        )
        (listed,) = r.json()["draws"]
        assert [s["label"] for s in listed["slots"]] == ["A", "B", "C"]  # unchanged
        assert listed["version"] == committed["version"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        pytest.param({"title": "T", "slots": ["S"] * 61}, "at most 60 slots", id="61-slots"),
        pytest.param({"title": "T", "slots": []}, "at least one slot", id="no-slot"),
        pytest.param({"title": "", "slots": ["A"]}, "needs a title", id="no-title"),
        pytest.param({"title": "T", "slots": ["A", ""]}, "slot 2 needs a label", id="empty"),
    ],
)
async def test_a_bad_draw_is_refused_and_nothing_is_made(
    node: Node, body: dict[str, Any], said: str
) -> None:
    async with signed_in(node.url, "draw-bad@example.org") as host:
        room = await create_room(host.http)
        r = await host.http.post(f"/api/rooms/{room['id']}/draws", json=body)
        assert said in assert_error(r, 400, "bad_request")
        r = await host.http.get("/api/draws", params={"room": room["number"]})
        assert r.json()["draws"] == []


async def test_a_bad_seed_and_a_draw_before_the_commitment_are_refused(node: Node) -> None:
    async with signed_in(node.url, "draw-seed@example.org") as host:
        room = await create_room(host.http)
        draw = await new_draw(host.http, room["id"])
        assert "Commit to the seed" in assert_error(
            await act(host.http, draw["id"], "draw"), 409, "invalid_state"
        )
        assert "16 to 256 characters" in assert_error(
            await act(host.http, draw["id"], "commit", seed="short"), 400, "bad_request"
        )
        r = await host.http.get("/api/draws", params={"room": room["number"]})
        assert r.json()["draws"][0]["state"] == "draft"


async def test_only_the_rooms_hosts_act_on_its_draws(node: Node) -> None:
    async with (
        signed_in(node.url, "draw-owner@example.org") as host,
        signed_in(node.url, "draw-other@example.org") as other,
    ):
        room = await create_room(host.http)
        draw = await new_draw(host.http, room["id"])
        assert_error(await act(other.http, draw["id"], "commit"), 403, "forbidden")
        r = await other.http.get("/api/draws", params={"room": room["number"]})
        assert_error(r, 403, "forbidden")
        async with httpx.AsyncClient(base_url=node.url) as anonymous:
            assert_error(await act(anonymous, draw["id"], "commit"), 401, "unauthorized")
            r = await anonymous.get("/api/draws", params={"room": room["number"], "presenter": "x"})
            assert_error(r, 401, "bad_credentials")
            # A draft has no public page nor log.
            assert (await anonymous.get(f"/draws/{draw['id']}/log")).status_code == 404
        r = await host.http.get("/api/draws", params={"room": room["number"]})
        assert r.json()["draws"][0]["state"] == "draft"


async def test_the_commitment_is_in_the_cosigned_ledger_before_any_draw(
    witnessed_node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    async with signed_in(witnessed_node.url, "draw-ledger@example.org") as host:
        room = await create_room(host.http)
        draw = await new_draw(host.http, room["id"])
        committed = (await act(host.http, draw["id"], "commit")).json()["draw"]
        log = (await host.http.get(f"/draws/{draw['id']}/log")).json()
        assert len(log["entries"]) == 2
        first, second = (orjson.loads(e) for e in log["entries"])
        assert first["e"] == "draw_commit" and first["commitment"] == committed["commitment"]
        assert "seed" not in log["entries"][0]
        # Entry 1: the checkpoint of the commitment alone, cosigned by the witnesses.
        assert second["e"] == "draw_witnessed"
        note = second["checkpoint"]
        assert note.split("\n")[1] == "1"
        assert note.count("\u2014 ") >= 4  # the log's signature and 3 of 4 witnesses
        policy = Policy.parse(log["policy"].encode())
        assert len(policy.cosigners(policy.open_checkpoint(note.encode()))) >= 3
        # The beacon is the root of those two entries, fixed only once they cosigned.
        leaves = [leaf_hash(e.encode()) for e in log["entries"]]
        assert committed["witnessed"] and committed["beacon_size"] == 2
        assert committed["beacon"] == MerkleLog(leaves).root().hex()
        checkpoint = (await host.http.get(f"/ledger/{committed['log']}/checkpoint")).text
        assert checkpoint.split("\n")[1] == "2"
        status = (await host.http.get(f"/ledger/{committed['log']}")).json()["log"]
        assert status["size"] == 2 and status["receipts"] is False
        drawn = (await act(host.http, draw["id"], "draw")).json()["draw"]
        log = (await host.http.get(f"/draws/{draw['id']}/log")).json()
        entry = orjson.loads(log["entries"][2])
        assert entry["size"] == 2 and entry["beacon"] == committed["beacon"]
        assert entry["slot"] == drawn["picks"][0]["slot"] and entry["t"] == drawn["picks"][0]["t"]
        # Revealed, verify checks the witnesses' quorum on the commitment's checkpoint.
        await act(host.http, draw["id"], "reveal")
        capsys.readouterr()
        url = f"{witnessed_node.url}/draws/{draw['id']}"
        assert await asyncio.to_thread(main, ["draw", "verify", url, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["verified"] and result["signed"] and len(result["witnesses"]) >= 3
        assert result["beacon"] == committed["beacon"] and result["beacon_size"] == 2


async def test_without_the_witnesses_quorum_the_draw_waits_and_says_so(
    settings: Settings, own_witnesses: LocalWitnesses
) -> None:
    one, two, *_ = own_witnesses.witnesses
    async with run_node(settings.with_(ledger_policy=own_witnesses.policy_path)) as node:
        async with signed_in(node.url, "draw-quorum@example.org") as host:
            host.http.timeout = httpx.Timeout(30.0)  # each stopped witness takes its 5 s
            room = await create_room(host.http)
            draw = await new_draw(host.http, room["id"])
            for witness in (one, two):  # 2 of 4 left: the quorum is 3
                os.kill(witness.pid, signal.SIGSTOP)
            try:
                r = await act(host.http, draw["id"], "commit")
                committed = r.json()["draw"]
                assert committed["state"] == "committed" and not committed["witnessed"]
                assert committed["beacon"] is None
                assert "quorum: 3 of 4" in committed["witnesses"]
                said = assert_error(await act(host.http, draw["id"], "draw"), 409, "invalid_state")
                assert "not yet cosigned by the witnesses" in said
                log = (await host.http.get(f"/draws/{draw['id']}/log")).json()
                assert len(log["entries"]) == 1  # the commitment alone: nothing drawn
            finally:
                for witness in (one, two):
                    os.kill(witness.pid, signal.SIGCONT)
            # The witnesses are back: the next press has them cosign, then draws.
            r = await act(host.http, draw["id"], "draw")
            assert r.status_code == 200, r.text
            drawn = r.json()["draw"]
            assert drawn["witnessed"] and drawn["witnesses"] is None and len(drawn["picks"]) == 1
            log = (await host.http.get(f"/draws/{draw['id']}/log")).json()
            kinds = [orjson.loads(e)["e"] for e in log["entries"]]
            assert kinds == ["draw_commit", "draw_witnessed", "draw"]
            note = orjson.loads(log["entries"][1])["checkpoint"].encode()
            policy = Policy.parse(log["policy"].encode())
            assert len(policy.cosigners(policy.open_checkpoint(note))) >= 3


async def test_draws_reach_the_room_on_every_node_and_drafts_only_its_hosts(
    node: Node, node_b: Node
) -> None:
    async with signed_in(node.url, "draw-live@example.org") as host:
        room = await create_room(host.http)
        async with connect(node_b.url) as attendee, connect(node_b.url) as presenter:
            assert (await attendee.join(room["number"], password=room["password"]))["ok"]
            assert (await presenter.join(room["number"], presenter=presenter_token(room)))["ok"]
            draw = await new_draw(host.http, room["id"])
            await presenter.wait_for(lambda: any(e == "draw" for e, _ in presenter.events))
            await act(host.http, draw["id"], "commit")
            r = await act(host.http, draw["id"], "draw")
            drawn = r.json()["draw"]["picks"]
            assert len(drawn) == 1 and isinstance(drawn[0]["t"], int)

            def states(c: Any) -> list[tuple[str, int]]:
                return [(d["state"], len(d["picks"])) for e, d in c.events if e == "draw"]

            await attendee.wait_for(lambda: ("committed", 1) in states(attendee))
            assert states(attendee) == [("committed", 0), ("committed", 1)]  # no draft
            await presenter.wait_for(lambda: len(states(presenter)) == 3)
            assert states(presenter)[0] == ("draft", 0)
            last = [d for e, d in attendee.events if e == "draw"][-1]
            assert last["picks"] == drawn and last["seed"] is None


async def test_two_hosts_drawing_at_once_never_draw_the_same_slot(node: Node, node_b: Node) -> None:
    async with (
        signed_in(node.url, "draw-race@example.org") as host,
        httpx.AsyncClient(base_url=node_b.url, cookies=host.http.cookies) as on_b,
    ):
        room = await create_room(host.http)
        draw = await new_draw(host.http, room["id"], [f"Seat {i}" for i in range(1, 11)])
        await act(host.http, draw["id"], "commit")
        responses = await asyncio.gather(
            *(act(c, draw["id"], "draw") for _ in range(7) for c in (host.http, on_b))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 10 + [409] * 4
        refused = [r for r in responses if r.status_code == 409]
        assert all(
            "Every slot has been drawn" in assert_error(r, 409, "invalid_state") for r in refused
        )
        log = (await host.http.get(f"/draws/{draw['id']}/log")).json()
        picks = [orjson.loads(e) for e in log["entries"][2:]]
        assert [p["n"] for p in picks] == list(range(10))
        assert sorted(p["slot"] for p in picks) == list(range(10))  # each slot once
        # Revealed, the log re-runs to the same order.
        await act(host.http, draw["id"], "reveal")
        log = (await host.http.get(f"/draws/{draw['id']}/log")).json()
        found = check_log([e.encode() for e in log["entries"]])
        assert found.verified and [p.slot for p in found.picks] == [p["slot"] for p in picks]


async def test_the_reveal_ends_the_draw_and_the_cli_re_runs_it(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with signed_in(node.url, "draw-cli@example.org") as host:
        room = await create_room(host.http)
        draw = await new_draw(host.http, room["id"])
        seed = "dice: 6 2 5 4 1 3 3 6 2"
        await act(host.http, draw["id"], "commit", seed=seed)
        assert "at least once" in assert_error(
            await act(host.http, draw["id"], "reveal"), 409, "invalid_state"
        )
        for _ in range(2):
            assert (await act(host.http, draw["id"], "draw")).status_code == 200
        revealed = (await act(host.http, draw["id"], "reveal")).json()["draw"]
        assert revealed["state"] == "revealed" and revealed["seed"] == seed
        assert "draw is over" in assert_error(
            await act(host.http, draw["id"], "draw"), 409, "invalid_state"
        )
        url = f"{node.url}/draws/{draw['id']}"
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["draw", "verify", url, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["verified"] and result["seed"] == seed
        assert [p["slot"] for p in result["picks"]] == [p["slot"] for p in revealed["picks"]]

        log = (await host.http.get(f"{url}/log")).json()
        saved = tmp_path / "draw.json"
        saved.write_text(json.dumps(log))
        assert await asyncio.to_thread(main, ["draw", "verify", str(saved)]) == 0
        assert "verified" in capsys.readouterr().out
        # A tampered seed: the commitment no longer matches.
        reveal = orjson.loads(log["entries"][-1])
        reveal["seed"] = "dice: 1 1 1 1 1 1 1 1 1"
        log["entries"][-1] = orjson.dumps(reveal, option=orjson.OPT_SORT_KEYS).decode()
        saved.write_text(json.dumps(log))
        assert await asyncio.to_thread(main, ["draw", "verify", str(saved)]) == 1
        out = capsys.readouterr().out
        assert "NOT verified: The revealed seed does not match the commitment." in out
        # A changed beacon: the draw no longer follows from the log.
        log = (await host.http.get(f"{url}/log")).json()
        entry = orjson.loads(log["entries"][2])
        entry["beacon"] = "0" * 64
        log["entries"][2] = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode()
        saved.write_text(json.dumps(log))
        assert await asyncio.to_thread(main, ["draw", "verify", str(saved)]) == 1
        out = capsys.readouterr().out
        assert "NOT verified: Draw 1's beacon is not the log's root at tree size 2." in out
        # A beacon of the log as it was at the commitment: known with the seed, refused.
        entry["size"], entry["beacon"] = 1, leaf_hash(log["entries"][0].encode()).hex()
        log["entries"][2] = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode()
        saved.write_text(json.dumps(log))
        assert await asyncio.to_thread(main, ["draw", "verify", str(saved), "--json"]) == 1
        result = json.loads(capsys.readouterr().out)
        assert not result["verified"]
        assert "the log's root at tree size 1:" in result["reason"]
        assert await asyncio.to_thread(main, ["draw", "verify", str(tmp_path / "none")]) == 2
