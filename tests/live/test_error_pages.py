"""HTTP errors in the visitor's language: the error page for a browser, JSON for scripts
(the API, the ledger), the status kept; a 500 never shows what went wrong inside."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from live import store
from live.ledger.log import Ledger
from tests.conftest import Node

KO = {"accept-language": "ko-KR,ko;q=0.9"}
EN = {"accept-language": "en-US,en;q=0.9"}
SECRET = "a detail only the server may know"
NOTHING_EN = "There is nothing at this address: check the link."
NOTHING_KO = "이 주소에는 아무것도 없습니다. 링크를 확인하세요."
METHOD_EN = "This address does not take that kind of request."
METHOD_KO = "이 주소는 그런 종류의 요청을 받지 않습니다."
BROKEN_EN = "Something went wrong on the server. Try again in a moment."
BROKEN_KO = "서버에 문제가 생겼습니다. 잠시 후 다시 시도하세요."


@pytest.fixture
async def http(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        yield client


def _page(r: httpx.Response, status: int, lang: str, *texts: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in r.text
    assert '<a href="/">' in r.text  # the way home
    for text in texts:
        assert text in r.text, text
    assert r.headers["cache-control"] == "no-store"  # the security middleware's, as ever
    assert "content-security-policy" in r.headers


def _json(r: httpx.Response, status: int, code: str, message: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert body == {"ok": False, "error": {"code": code, "message": message}}
    return body


@pytest.mark.parametrize(
    ("headers", "query", "lang", "heading", "sentence"),
    [
        pytest.param(
            EN,
            "",
            "en",
            "Page not found",
            NOTHING_EN,
            id="english",
        ),
        pytest.param(
            KO,
            "",
            "ko",
            "페이지를 찾을 수 없습니다",
            NOTHING_KO,
            id="korean-browser",
        ),
        pytest.param(
            EN,
            "?lang=ko",
            "ko",
            "페이지를 찾을 수 없습니다",
            NOTHING_KO,
            id="korean-chosen",
        ),
    ],
)
async def test_an_unknown_page_is_a_404_page_in_the_visitors_language(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    query: str,
    lang: str,
    heading: str,
    sentence: str,
) -> None:
    r = await http.get(f"/no/such/page{query}", headers=headers)
    home = "투표 참여" if lang == "ko" else "Join a vote"
    _page(r, 404, lang, f'<h1 id="error-title">{heading}</h1>', sentence, home)
    assert f"<title>{heading} · mVoting</title>" in r.text
    if query:  # the choice is remembered, as on any page
        assert "mv_lang=ko" in r.headers["set-cookie"]
        again = await http.get("/nothing-here", headers=EN)
        assert again.status_code == 404 and heading in again.text


async def test_a_wrong_method_is_a_405_page_or_json(http: httpx.AsyncClient) -> None:
    page = await http.post("/", headers=KO)
    _page(page, 405, "ko", "이 페이지를 열 수 없습니다", METHOD_KO)
    assert set(page.headers["allow"].split(", ")) == {"GET", "HEAD"}  # in any order
    english = await http.post("/verify", headers=EN)
    _page(english, 405, "en", "This page is not available", METHOD_EN)

    api = await http.get("/api/hosts", headers=KO)
    _json(api, 405, "method_not_allowed", METHOD_KO)
    assert api.headers["allow"] == "POST"
    _json(
        await http.delete("/api/rooms", headers=EN),
        405,
        "method_not_allowed",
        METHOD_EN,
    )


async def test_an_unknown_api_or_ledger_path_is_json(http: httpx.AsyncClient) -> None:
    _json(
        await http.get("/api/no/such/endpoint", headers=EN),
        404,
        "not_found",
        NOTHING_EN,
    )
    _json(
        await http.post("/api/nosuch", json={}, headers=KO),
        404,
        "not_found",
        NOTHING_KO,
    )
    _json(
        await http.get("/ledger/0123456789abcdef/nosuch", headers=EN),
        404,
        "not_found",
        NOTHING_EN,
    )
    # The refusals the API decides itself keep their own codes and sentences.
    known = (await http.get("/api/rooms/nosuchroom")).json()["error"]
    assert known["code"] == "unauthorized"


async def test_a_500_shows_no_traceback(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a handler (here: the store failing unexpectedly) is a plain 500."""

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(store, "room_by_number", broken)
    monkeypatch.setattr(Ledger, "logged_entry", broken)
    for headers, lang, heading, sentence in (
        (KO, "ko", "문제가 발생했습니다", BROKEN_KO),
        (EN, "en", "Something went wrong", BROKEN_EN),
    ):
        page = await http.get("/j/123456?key=k", headers=headers)
        _page(page, 500, lang, heading, sentence)
        receipt = await http.get(f"/ledger/receipt/{'ab' * 32}", headers=headers)
        _json(receipt, 500, "internal_error", sentence)
        for r in (page, receipt):
            assert SECRET not in r.text and "Traceback" not in r.text
            assert "RuntimeError" not in r.text and ".py" not in r.text
