"""Citizens' accounts over HTTP, against a real SMS gateway (``sms_gateway``): sign-up
by code, sign-in by any way of writing the number, codes that expire, are used once and
lock, resets, changes of number, and the number written nowhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from live.settings import Secret, Settings
from tests.conftest import Node, run_node
from tests.live.sms_gateway import TOKEN, Gateway, running_gateway

# Three ways of writing one number, and its E.164 form (what the gateway is sent).
KIM = ("010-2345-6789", "01023456789", "+82 10 2345 6789")
KIM_E164 = "+821023456789"
LEE = "010-9876-5432"
LEE_E164 = "+821098765432"
PARK = "010 2222 3333"
PARK_E164 = "+821022223333"
PASSWORD = "correct horse battery"


@dataclass
class City:
    node: Node
    gateway: Gateway
    settings: Settings
    responses: list[httpx.Response]

    def client(self) -> httpx.AsyncClient:
        """A browser of its own (its own cookies) whose every response is kept."""

        async def keep(response: httpx.Response) -> None:
            await response.aread()
            self.responses.append(response)

        return httpx.AsyncClient(base_url=self.node.url, event_hooks={"response": [keep]})


@pytest.fixture
async def city(settings: Settings) -> AsyncIterator[City]:
    async with running_gateway() as gateway:
        http_settings = settings.with_(
            sms_provider="http", sms_url=gateway.url, sms_token=Secret(TOKEN.encode())
        )
        async with run_node(http_settings) as node:
            yield City(node, gateway, http_settings, [])


def refusal(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


async def send_code(
    http: httpx.AsyncClient, phone: str, purpose: str = "signup", **extra: str
) -> httpx.Response:
    return await http.post(
        "/api/citizens/codes", json={"purpose": purpose, "phone": phone, **extra}
    )


async def sign_up(
    city: City, http: httpx.AsyncClient, phone: str, e164: str, name: str = ""
) -> dict[str, Any]:
    r = await send_code(http, phone)
    assert r.status_code == 202, r.text
    assert r.json()["expires_in"] == 600
    code = city.gateway.last_code(e164)
    r = await http.post(
        "/api/citizens", json={"phone": phone, "code": code, "password": PASSWORD, "name": name}
    )
    assert r.status_code == 201, r.text
    citizen: dict[str, Any] = r.json()["citizen"]
    return citizen


async def test_a_citizen_signs_up_with_a_code_and_signs_in_with_the_number_written_any_way(
    city: City,
) -> None:
    async with city.client() as phone, city.client() as laptop:
        citizen = await sign_up(city, phone, KIM[0], KIM_E164, name="Kim")
        assert [m["to"] for m in city.gateway.messages] == [KIM_E164]
        assert "10 minutes" in city.gateway.messages[0]["text"]
        me = await phone.get("/api/citizens/me")
        assert me.json()["citizen"] == {"id": citizen["id"], "name": "Kim"}
        assert (await laptop.get("/api/citizens/me")).status_code == 401
        for written in KIM:
            r = await laptop.post(
                "/api/citizens/session", json={"phone": written, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            assert r.json()["citizen"]["id"] == citizen["id"]
        r = await laptop.post(
            "/api/citizens/session", json={"phone": KIM[1], "password": "wrong password"}
        )
        refusal(r, 401, "bad_sign_in")
        r = await laptop.post("/api/citizens/session", json={"phone": LEE, "password": PASSWORD})
        refusal(r, 401, "bad_sign_in")  # no account: the same answer
        await laptop.delete("/api/citizens/session")
        assert (await laptop.get("/api/citizens/me")).status_code == 401
        assert (await phone.get("/api/citizens/me")).status_code == 200  # its own session


async def test_a_second_sign_up_with_the_number_in_another_form_is_refused(city: City) -> None:
    async with city.client() as first, city.client() as second:
        await sign_up(city, first, KIM[0], KIM_E164)
        assert (await send_code(second, KIM[2])).status_code == 202
        code = city.gateway.last_code(KIM_E164)
        r = await second.post(
            "/api/citizens", json={"phone": KIM[2], "code": code, "password": "another one!"}
        )
        refusal(r, 409, "conflict")
        # The first account's password still signs in; the second's does not.
        r = await second.post(
            "/api/citizens/session", json={"phone": KIM[1], "password": "another one!"}
        )
        refusal(r, 401, "bad_sign_in")
        r = await second.post("/api/citizens/session", json={"phone": KIM[1], "password": PASSWORD})
        assert r.status_code == 200


@pytest.mark.parametrize("phone", ["02-123-4567", "010-99", "hello", "", "0" * 41, 1012345678])
async def test_what_is_not_a_mobile_number_is_refused_without_being_repeated(
    city: City, phone: object
) -> None:
    async with city.client() as http:
        r = await http.post("/api/citizens/codes", json={"purpose": "signup", "phone": phone})
        error = refusal(r, 422, "invalid_phone")
        assert not str(phone) or str(phone) not in error["message"]
        assert "010-1234-5678" in error["message"]  # an example of what to give
    assert city.gateway.messages == []


async def test_a_code_is_refused_after_its_time(settings: Settings) -> None:
    async with running_gateway() as gateway:
        short = settings.with_(
            sms_provider="http",
            sms_url=gateway.url,
            sms_token=Secret(TOKEN.encode()),
            code_lifetime=1,
        )
        async with run_node(short) as node, httpx.AsyncClient(base_url=node.url) as http:
            r = await send_code(http, KIM[0])
            assert r.json()["expires_in"] == 1
            assert (
                "1 minutes" in gateway.messages[0]["text"]
                or "1 minute" in gateway.messages[0]["text"]
            )
            await asyncio.sleep(1.3)
            r = await http.post(
                "/api/citizens",
                json={"phone": KIM[0], "code": gateway.last_code(KIM_E164), "password": PASSWORD},
            )
            refusal(r, 410, "code_expired")
            assert (await http.get("/api/citizens/me")).status_code == 401


async def test_a_code_is_used_once(city: City) -> None:
    async with city.client() as http, city.client() as other:
        await sign_up(city, http, KIM[0], KIM_E164)
        code = city.gateway.last_code(KIM_E164)
        r = await other.post(
            "/api/citizens", json={"phone": KIM[0], "code": code, "password": PASSWORD}
        )
        refusal(r, 410, "code_expired")


async def test_wrong_codes_lock_the_number_and_a_resent_code_does_not_unlock_it(city: City) -> None:
    async with city.client() as http:
        await send_code(http, KIM[0])
        right = city.gateway.last_code(KIM_E164)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"

        async def attempt(code: str) -> httpx.Response:
            return await http.post(
                "/api/citizens", json={"phone": KIM[0], "code": code, "password": PASSWORD}
            )

        for left in (4, 3, 2):
            assert refusal(await attempt(wrong), 401, "wrong_code")["attempts_left"] == left
        # A re-send makes a new code; the failures counted stay.
        assert (await send_code(http, KIM[1])).status_code == 202
        right = city.gateway.last_code(KIM_E164)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        assert refusal(await attempt(wrong), 401, "wrong_code")["attempts_left"] == 1
        error = refusal(await attempt(wrong), 429, "rate_limited")
        assert error["retry_after"] > 3000
        # Locked: the right code is refused, and so is another re-send.
        refusal(await attempt(right), 429, "rate_limited")
        sent = len(city.gateway.messages)
        refusal(await send_code(http, KIM[2]), 429, "rate_limited")
        assert len(city.gateway.messages) == sent
        assert (await http.get("/api/citizens/me")).status_code == 401


async def test_a_bad_code_or_password_costs_the_code_nothing(city: City) -> None:
    async with city.client() as http:
        await send_code(http, KIM[0])
        code = city.gateway.last_code(KIM_E164)
        r = await http.post(
            "/api/citizens", json={"phone": KIM[0], "code": "12a456", "password": PASSWORD}
        )
        refusal(r, 422, "bad_code")
        r = await http.post(
            "/api/citizens", json={"phone": KIM[0], "code": code, "password": "short"}
        )
        refusal(r, 400, "bad_request")
        r = await http.post(
            "/api/citizens", json={"phone": KIM[0], "code": code, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text


async def test_codes_sent_to_one_number_are_limited(city: City) -> None:
    async with city.client() as http:
        for _ in range(city.settings.code_sends_per_number):
            assert (await send_code(http, LEE)).status_code == 202
        error = refusal(await send_code(http, LEE), 429, "rate_limited")
        assert error["retry_after"] > 0
        assert len(city.gateway.codes_to(LEE_E164)) == city.settings.code_sends_per_number
        assert (await send_code(http, PARK)).status_code == 202  # another number is not held up


async def test_a_reset_gives_a_new_password_and_ends_the_other_sessions(city: City) -> None:
    async with city.client() as phone, city.client() as laptop:
        await sign_up(city, phone, KIM[0], KIM_E164)
        # A number with no account: the same answer, and nothing sent.
        sent = len(city.gateway.messages)
        assert (await send_code(laptop, LEE, "reset")).status_code == 202
        assert len(city.gateway.messages) == sent
        assert (await send_code(laptop, KIM[1], "reset")).status_code == 202
        code = city.gateway.last_code(KIM_E164)
        # A reset's code is not a sign-up's: none waits for this number's sign-up.
        r = await laptop.post(
            "/api/citizens", json={"phone": KIM[1], "code": code, "password": PASSWORD}
        )
        refusal(r, 410, "code_expired")
        r = await laptop.post(
            "/api/citizens/password",
            json={"phone": KIM[1], "code": code, "password": "a new password"},
        )
        assert r.status_code == 200, r.text
        assert (await laptop.get("/api/citizens/me")).status_code == 200
        assert (await phone.get("/api/citizens/me")).status_code == 401  # ended
        r = await phone.post("/api/citizens/session", json={"phone": KIM[2], "password": PASSWORD})
        refusal(r, 401, "bad_sign_in")
        r = await phone.post(
            "/api/citizens/session", json={"phone": KIM[2], "password": "a new password"}
        )
        assert r.status_code == 200


async def test_a_citizen_changes_number_after_giving_the_password_again(city: City) -> None:
    async with city.client() as http, city.client() as stranger:
        citizen = await sign_up(city, http, KIM[0], KIM_E164)
        await sign_up(city, stranger, PARK, PARK_E164)
        # Not signed in, or with a wrong password: no code goes out.
        async with city.client() as anonymous:
            refusal(
                await send_code(anonymous, LEE, "change", password=PASSWORD), 401, "unauthorized"
            )
        refusal(await send_code(http, LEE, "change", password="wrong password"), 401, "bad_sign_in")
        assert city.gateway.codes_to(LEE_E164) == []
        assert (await send_code(http, LEE, "change", password=PASSWORD)).status_code == 202
        code = city.gateway.last_code(LEE_E164)
        # The code is bound to the account that asked: another citizen cannot use it.
        r = await stranger.post("/api/citizens/me/phone", json={"phone": LEE, "code": code})
        refusal(r, 410, "code_expired")  # none waits for the stranger's change
        r = await http.post("/api/citizens/me/phone", json={"phone": LEE, "code": code})
        assert r.status_code == 200, r.text
        async with city.client() as fresh:
            r = await fresh.post("/api/citizens/session", json={"phone": LEE, "password": PASSWORD})
            assert r.json()["citizen"]["id"] == citizen["id"]
            r = await fresh.post(
                "/api/citizens/session", json={"phone": KIM[0], "password": PASSWORD}
            )
            refusal(r, 401, "bad_sign_in")
        # Another account's number is taken.
        assert (await send_code(http, PARK, "change", password=PASSWORD)).status_code == 202
        r = await http.post(
            "/api/citizens/me/phone",
            json={"phone": PARK, "code": city.gateway.last_code(PARK_E164)},
        )
        refusal(r, 409, "conflict")


async def test_a_gateway_that_fails_is_unavailable_and_logs_no_number(
    city: City, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    city.gateway.failing = True
    async with city.client() as http:
        refusal(await send_code(http, KIM[0]), 503, "unavailable")
    lines = [r.getMessage() for r in caplog.records if r.name == "mvoting.sms"]
    assert lines == ["the SMS gateway refused a message (HTTP 500)"]


async def test_the_console_provider_logs_the_code_and_not_the_number(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(base_url=node.url) as http:
        assert (await send_code(http, KIM[0])).status_code == 202
        (line,) = [r.getMessage() for r in caplog.records if r.name == "mvoting.sms"]
        code = line.rsplit("code is ", 1)[1][:6]
        assert code.isdigit()
        r = await http.post(
            "/api/citizens", json={"phone": KIM[1], "code": code, "password": PASSWORD}
        )
        assert r.status_code == 201
    for digits in ("1023456789", "2345-6789", "2345 6789", "23456789"):
        assert digits not in line


def _forms(e164: str) -> list[bytes]:
    """Ways the number could show: E.164, national, with dashes or spaces, its last eight."""
    national = "0" + e164[3:]
    last8 = national[-8:]
    return [
        s.encode()
        for s in (
            e164,
            e164[1:],
            national,
            national[1:],
            last8,
            f"{last8[:4]}-{last8[4:]}",
            f"{last8[:4]} {last8[4:]}",
            f"{national[:3]}-{last8[:4]}-{last8[4:]}",
        )
    ]


async def test_the_numbers_are_written_nowhere(
    city: City, caplog: pytest.LogCaptureFixture
) -> None:
    """After sign-ups, sign-ins, a reset and a change of number, no form of any number is
    in the database file, any Valkey key or value, any log line or any HTTP response."""
    caplog.set_level(logging.DEBUG)
    async with city.client() as kim, city.client() as lee, city.client() as park:
        await sign_up(city, kim, KIM[0], KIM_E164, name="Kim")
        await sign_up(city, lee, LEE, LEE_E164)
        r = await park.post("/api/citizens/session", json={"phone": KIM[2], "password": PASSWORD})
        assert r.status_code == 200
        await park.post("/api/citizens/session", json={"phone": LEE, "password": "wrong password"})
        await send_code(park, PARK, "reset")  # no account: nothing sent
        await send_code(lee, LEE, "reset")
        r = await lee.post(
            "/api/citizens/password",
            json={"phone": LEE, "code": city.gateway.last_code(LEE_E164), "password": "new pass!"},
        )
        assert r.status_code == 200
        await send_code(kim, PARK, "change", password=PASSWORD)
        r = await kim.post(
            "/api/citizens/me/phone",
            json={"phone": PARK, "code": city.gateway.last_code(PARK_E164)},
        )
        assert r.status_code == 200
        await send_code(kim, "02-123-4567")  # refused
        for page in ("/citizen", "/citizen/signup", "/citizen/signin", "/citizen/reset"):
            assert (await kim.get(page)).status_code == 200
    assert {m["to"] for m in city.gateway.messages} == {KIM_E164, LEE_E164, PARK_E164}

    numbers = [f for e164 in (KIM_E164, LEE_E164, PARK_E164) for f in _forms(e164)]

    def clean(where: str, data: bytes) -> None:
        for form in numbers:
            assert form not in data, f"{form!r} in {where}"

    data_dir = city.settings.data_dir
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "mvoting.db" for p in files)
    for path in files:
        clean(str(path), path.read_bytes())
    from redis.asyncio import Redis

    redis = Redis.from_url(city.settings.redis_url or "")
    try:
        keys = [k async for k in redis.scan_iter(match=city.settings.key_prefix + "*")]
        assert len(keys) > 10
        for key in keys:
            clean(f"the key {key!r}", key)
            clean(f"the value of {key!r}", await redis.dump(key) or b"")
    finally:
        await redis.aclose()
    for record in caplog.records:
        clean(f"the log line {record.getMessage()!r}", record.getMessage().encode())
    assert len(city.responses) > 15
    for response in city.responses:
        clean(f"a response to {response.request.url}", response.content)
        clean(f"the headers of {response.request.url}", str(response.headers).encode())
