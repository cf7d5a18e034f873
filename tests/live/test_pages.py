"""The pages over HTTP: languages, forms, safety headers, escaping."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from live.services import Services
from tests.conftest import Node
from tests.live.helpers import make_room

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def http(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.url) as client:
        yield client


def _forms(string: object) -> tuple[object, ...]:
    return string if isinstance(string, tuple) else (string,)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


@pytest.mark.parametrize(
    ("accept", "query", "room_label", "lang"),
    [
        pytest.param("en-US,en;q=0.9", "", "Room", "en", id="english-browser"),
        pytest.param("ko-KR,ko;q=0.9", "", "방 번호", "ko", id="korean-browser"),
        pytest.param("ko-KR", "?lang=en", "Room", "en", id="switched-to-english"),
        pytest.param("fr-FR", "", "Room", "en", id="other-language-falls-back"),
    ],
)
async def test_join_form_speaks_the_visitors_language(
    http: httpx.AsyncClient, accept: str, query: str, room_label: str, lang: str
) -> None:
    r = await http.get(f"/{query}", headers={"accept-language": accept})
    assert r.status_code == 200
    assert f'<html lang="{lang}">' in r.text
    assert f'<label for="room">{room_label}</label>' in r.text
    if query:
        assert "mv_lang=en" in r.headers["set-cookie"]
        again = await http.get("/", headers={"accept-language": accept})
        assert '<html lang="en">' in again.text  # remembered by the cookie


async def test_pages_carry_security_headers(http: httpx.AsyncClient) -> None:
    r = await http.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    cookie = r.headers["set-cookie"].lower()
    assert "mv_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        pytest.param(
            {"password": "wrong"}, 400, "The room number or password is wrong.", id="wrong-password"
        ),
        pytest.param(
            {"room": "000001", "password": "pw"},
            400,
            "The room number or password is wrong.",
            id="unknown-room",
        ),
        pytest.param(
            {"room": "12", "password": "pw"}, 400, "room is a six-digit number", id="malformed-room"
        ),
        pytest.param(
            {"password": "pw", "csrf": "forged"}, 400, "the form expired", id="bad-csrf-token"
        ),
    ],
)
async def test_join_form_refusals_say_why(
    http: httpx.AsyncClient, svc: Services, form: dict[str, str], status: int, message: str
) -> None:
    room = await make_room(svc)
    token = _csrf((await http.get("/")).text)
    data = {"room": room.number, "csrf": token, **form}
    r = await http.post("/join", data=data, headers={"accept-language": "en"})
    assert r.status_code == status
    assert message in r.text
    assert 'role="alert"' in r.text
    # Only a malformed number marks its field; a wrong number or password is one answer
    # for both fields (which of them is wrong is not told), so neither is marked.
    marked = 'aria-invalid="true"' in r.text
    assert marked == (form.get("room") == "12")


async def test_language_links_of_a_refused_join_form_work(http: httpx.AsyncClient) -> None:
    r = await http.get("/join?lang=ko")
    assert (r.status_code, r.headers["location"]) == (303, "/?lang=ko")


async def test_join_form_leads_to_the_vote_page(http: httpx.AsyncClient, svc: Services) -> None:
    room = await make_room(svc)
    token = _csrf((await http.get("/")).text)
    r = await http.post("/join", data={"room": room.number, "password": "pw", "csrf": token})
    assert r.status_code == 303
    assert r.headers["location"] == f"/j/{room.number}?key={room.info.key}"
    page = await http.get(r.headers["location"])
    assert page.status_code == 200 and 'id="page-data"' in page.text
    assert re.search(r"/static/vendor/socket\.io\.min\.[0-9a-f]{12}\.js", page.text)


async def test_korean_refusal(http: httpx.AsyncClient, svc: Services) -> None:
    room = await make_room(svc)
    token = _csrf((await http.get("/")).text)
    r = await http.post(
        "/join",
        data={"room": room.number, "password": "x", "csrf": token},
        headers={"accept-language": "ko"},
    )
    assert "방 번호 또는 비밀번호가 틀렸습니다." in r.text


async def test_links_with_a_wrong_secret_do_not_open(
    http: httpx.AsyncClient, svc: Services
) -> None:
    room = await make_room(svc)
    r = await http.get(f"/j/{room.number}?key=wrong")
    assert r.status_code == 200 and 'id="page-data"' not in r.text
    assert "The room number or password is wrong." in r.text
    # A number no room has gives the very same page: links do not tell which are in use.
    unused = await http.get("/j/000001?key=wrong")
    assert unused.status_code == 200
    assert unused.text.replace("000001", room.number) == r.text.replace(
        r.text.split('name="csrf" value="')[1].split('"')[0],
        unused.text.split('name="csrf" value="')[1].split('"')[0],
    )
    assert (await http.get(f"/present/{room.number}?token=wrong")).status_code == 404
    ok = await http.get(f"/present/{room.number}?token={room.info.presenter}")
    assert ok.status_code == 200 and 'data-testid="join-qr"' in ok.text and "<svg" in ok.text


async def test_titles_are_escaped(http: httpx.AsyncClient, svc: Services) -> None:
    from live import store
    from rooms.questions import build_question

    evil = "<script>alert(1)</script>"
    info = await store.create_room(svc, title=evil, password="pw")
    await store.add_question(svc, info.id, build_question(evil, "single", "A,B"))
    for url in (
        f"/j/{info.number}?key={info.key}",
        f"/present/{info.number}?token={info.presenter}",
    ):
        text = (await http.get(url)).text
        assert evil not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_every_text_has_a_korean_translation(tmp_path: Path) -> None:
    """The catalog is current (nothing left to extract) and nothing is untranslated."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "N_",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (ROOT / "live/web/locales/ko/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    assert wanted - set(catalog) == set(), "run `make messages` and translate"
    # A plural entry's translation is a tuple of forms: every form must be filled.
    assert [m for m in wanted if not all(_forms(catalog[m]))] == []
