"""The JSON API's OpenAPI description: served, valid, complete, and true of a running node
(schemathesis sends generated requests to every operation; every answer must have the
documented shape, and none may be a server error)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from starlette.responses import Response
from starlette.routing import Route

from live.moderation import monitors
from live.services import Services
from live.web.openapi import api_routes, document
from live.web.operations import OPERATIONS
from tests.conftest import Node
from tests.live.citizenry import PASSWORD, make_citizen
from tests.live.hosting import add_question, create_room
from tests.live.test_polls import poll_body

#: Generated requests per operation and kind (valid, then invalid, bodies and parameters).
EXAMPLES = 5
PHONE = "010-5555-0100"
#: No server error; every answer of a documented media type, in the documented shape.
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
#: Operations that end the session the run signs in with: run last.
ENDS_SESSION = {
    ("DELETE", "/api/session"),
    ("DELETE", "/api/citizens/session"),
    ("POST", "/api/session/password"),
    ("POST", "/api/citizens/password"),
}


def starlette_routes(node: Node) -> list[Any]:
    return list(node.routes_app.routes)


async def test_the_description_is_served_as_valid_openapi(node: Node) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.get("/api/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    validate(doc)
    assert doc["openapi"] == "3.1.0" and "ok" not in doc
    export = doc["paths"]["/api/questions/{question_id}/export.{fmt}"]["get"]
    assert [p["name"] for p in export["parameters"]] == ["question_id", "fmt"]
    assert set(export["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    error = doc["components"]["schemas"]["Error"]
    codes = error["properties"]["error"]["properties"]["code"]["enum"]
    assert {"bad_request", "unauthorized", "method_not_allowed", "internal_error"} <= set(codes)
    sign_up = doc["paths"]["/api/hosts"]["post"]
    assert sign_up["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "email",
        "password",
    ]
    session = doc["components"]["securitySchemes"]["session"]
    assert (session["type"], session["in"], session["name"]) == ("apiKey", "cookie", "mv_session")
    assert doc["security"] == [{"session": []}]
    assert doc["paths"]["/api/polls"]["get"]["security"] == [{}, {"session": []}]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            refused = op["responses"]["default"]
            assert refused == {"$ref": "#/components/responses/Refused"}, (method, path)


async def test_every_api_route_is_described_and_every_description_has_its_route(
    node: Node,
) -> None:
    routes = starlette_routes(node)
    served = set(api_routes(routes))
    assert len(served) > 80
    assert served - set(OPERATIONS) == set(), "routes without a description"
    assert set(OPERATIONS) - served == set(), "descriptions without a route"
    paths = document(routes)["paths"]
    assert sum(len(methods) for methods in paths.values()) == len(served)


async def test_a_new_route_without_a_description_fails_the_document(node: Node) -> None:
    async def new(request: Any) -> Response:
        return Response()

    routes = [*starlette_routes(node), Route("/api/rooms/{room_id}/new", new, methods=["PUT"])]
    with pytest.raises(KeyError, match="/api/rooms/{room_id}/new"):
        document(routes)


# --- schemathesis against a running node --------------------------------------------------


@dataclass
class Run:
    """What the generated requests met: the statuses by operation, and the failures."""

    statuses: dict[str, set[int]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def answered(self, status: Callable[[int], bool]) -> set[str]:
        return {op for op, seen in self.statuses.items() if any(status(s) for s in seen)}


@contextlib.asynccontextmanager
async def signed_in_everywhere(node: Node, svc: Services) -> AsyncIterator[dict[str, Any]]:
    """A browser signed in as a host (who monitors) and a citizen at once, with a room, a
    question, a poll, a draw and a roster group with a member: their ids, and the session
    cookie."""
    await make_citizen(svc, PHONE)
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post("/api/hosts", json={"email": "o@example.org", "password": PASSWORD})
        assert r.status_code == 201, r.text
        host_id = r.json()["host"]["id"]
        await monitors.add_monitor(svc, by="cli", host_id=host_id)
        r = await http.post("/api/citizens/session", json={"phone": PHONE, "password": PASSWORD})
        assert r.status_code == 200, r.text
        room = await create_room(http)
        question = await add_question(http, room["id"])
        r = await http.post("/api/polls", json=poll_body())
        assert r.status_code == 201, r.text
        poll = r.json()["poll"]
        r = await http.post(
            f"/api/rooms/{room['id']}/draws", json={"title": "Seats", "slots": ["A", "B"]}
        )
        assert r.status_code == 201, r.text
        draw = r.json()["draw"]
        r = await http.post("/api/rosters", json={"name": "Residents"})
        assert r.status_code == 201, r.text
        group = r.json()["group"]
        member = {"phone": "010-5555-0101", "name": "Kim"}
        r = await http.post(f"/api/rosters/{group['id']}/members", json=member)
        assert r.status_code == 201, r.text
        r = await http.post(f"/api/rooms/{room['id']}/invitations")
        assert r.status_code == 201, r.text
        token = r.json()["invitation"]["token"]
        yield {
            "cookies": {c.name: c.value for c in http.cookies.jar},
            "ids": {
                "room_id": room["id"],
                "number": room["number"],
                "room": room["number"],  # GET /api/draws?room=
                "question_id": question["id"],
                "poll_id": poll["id"],
                "draw_id": draw["id"],
                "group_id": group["id"],
                "host_id": host_id,
                "token": token,
            },
        }


def fuzz(doc: dict[str, Any], url: str, cookies: dict[str, str], ids: dict[str, str]) -> Run:
    """Every operation of ``doc``, ``EXAMPLES`` valid and as many invalid requests each,
    the first and about half of the rest on the ids of real things; blocking, so it runs
    on a thread of its own."""
    schema = schemathesis.openapi.from_dict(doc)
    run = Run()
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda o: (o.method.upper(), o.path) in ENDS_SESSION)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, run, url, cookies, ids)
    return run


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    run: Run,
    url: str,
    cookies: dict[str, str],
    ids: dict[str, str],
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    seen = run.statuses.setdefault(label, set())
    # On real things first (the first example is the simplest), then on either.
    real_ids = st.sampled_from([True, False])

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(st.tuples(operation.as_strategy(generation_mode=mode), real_ids))
    def call(drawn: tuple[Any, bool]) -> None:
        case, real = drawn
        if real:
            for given in (case.path_parameters, case.query):
                for name in given or {}:
                    given[name] = ids.get(name, given[name])
        response = case.call(base_url=url, cookies=cookies, timeout=20)
        run.calls += 1
        seen.add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # each operation's first
            run.failures.setdefault(label, f"{exc}\n{case.as_curl_command()}")

    try:
        call()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, label  # nothing in it can be made invalid


@pytest.mark.timeout(120)
async def test_every_answer_has_the_documented_shape(node: Node, svc: Services) -> None:
    doc = document(starlette_routes(node))
    async with signed_in_everywhere(node, svc) as signed:
        run = await asyncio.wait_for(
            asyncio.to_thread(fuzz, doc, node.url, signed["cookies"], signed["ids"]), 110
        )
    assert run.failures == {}
    assert run.calls > EXAMPLES * len(run.statuses)
    assert len(run.statuses) == len(list(api_routes(starlette_routes(node))))
    # The run reached real things with a live session, not refusals alone.
    assert {
        "GET /api/rooms",
        "GET /api/rooms/{room_id}",
        "GET /api/rooms/{room_id}/hosts",
        "GET /api/polls/{poll_id}",
        "GET /api/citizens/me",
        "GET /api/moderation/queue",
        "GET /api/rosters/{group_id}",
    } <= run.answered(lambda s: s == 200)
    assert run.answered(lambda s: s == 201) >= {"POST /api/rooms", "POST /api/hosts"}
