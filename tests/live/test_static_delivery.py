"""What a browser downloads: static files under content-hashed names, cached for a year;
text gzipped for a client that accepts it, and only then; pages never compressed."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from live.app import compression
from live.services import Services
from live.web.assets import STATIC, StaticAssets
from tests.conftest import Node
from tests.live.helpers import make_room
from tests.live.hosting import add_question, create_room, signed_in

GZIP = {"accept-encoding": "gzip, deflate, br"}  # what browsers send
IDENTITY = {"accept-encoding": "identity"}
STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')
STRINGS_LINK = re.compile(r'src="(/strings/[^"]+)"')
HASHED = re.compile(r"^/static/(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<ext>\.[a-z]+)$")
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
async def http(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        yield client


def _file_of(url: str) -> Path:
    m = HASHED.match(url)
    assert m, f"{url} is not a hashed static URL"
    return STATIC / f"{m['stem']}{m['ext']}"


async def _vote_page(http: httpx.AsyncClient, svc: Services) -> str:
    room = await make_room(svc)
    page = await http.get(f"/j/{room.number}", params={"key": room.info.key})
    assert page.status_code == 200
    return page.text


async def test_pages_link_static_files_by_the_hash_of_their_content(
    http: httpx.AsyncClient, svc: Services, node: Node
) -> None:
    links = STATIC_LINK.findall(await _vote_page(http, svc))
    async with signed_in(node.url, "host@example.org") as host:
        room = await create_room(host.http)
        console = await host.http.get(f"/host/rooms/{room['id']}")
        summary = await host.http.get(f"/host/rooms/{room['id']}/summary")
    links += STATIC_LINK.findall(console.text) + STATIC_LINK.findall(summary.text)
    wanted = {
        "css/app.css",
        "favicon.svg",
        "vendor/socket.io.min.js",
        "js/common.js",
        "js/vote.js",
        "js/console.js",
        "js/summary.js",
        "js/site_form.js",
        "js/draw.js",
    }
    assert {str(_file_of(u).relative_to(STATIC)) for u in links} == wanted
    for url in set(links):
        digest = hashlib.sha256(_file_of(url).read_bytes()).hexdigest()[:12]
        assert HASHED.match(url)["hash"] == digest, url  # type: ignore[index]


async def test_the_verify_page_links_its_scripts_by_hash_and_they_are_immutable(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/verify")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    files = [str(_file_of(u).relative_to(STATIC)) for u in scripts]
    assert files == ["js/common.js", "js/tlog.js", "js/verify.js"]
    links = STATIC_LINK.findall(page.text)
    assert {str(_file_of(u).relative_to(STATIC)) for u in links} >= {"css/app.css"}
    for url in links:
        r = await http.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == IMMUTABLE, url
        assert r.content == _file_of(url).read_bytes(), url
        digest = hashlib.sha256(r.content).hexdigest()[:12]
        assert HASHED.match(url)["hash"] == digest, url  # type: ignore[index]


async def test_a_hashed_name_is_cached_for_a_year_and_a_plain_one_briefly(
    http: httpx.AsyncClient, svc: Services
) -> None:
    (vote_js,) = [u for u in STATIC_LINK.findall(await _vote_page(http, svc)) if "/vote." in u]
    hashed = await http.get(vote_js)
    plain = await http.get("/static/js/vote.js")
    body = (STATIC / "js/vote.js").read_bytes()

    assert hashed.status_code == plain.status_code == 200
    assert hashed.content == plain.content == body
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert plain.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert hashed.headers["content-type"] == "text/javascript; charset=utf-8"
    for r in (hashed, plain):  # the security middleware's headers, and no no-store
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in r.headers
        assert r.headers["vary"] == "Accept-Encoding"
    # Asking again with the ETag costs no body.
    again = await http.get("/static/js/vote.js", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # A page from before a release names an older hash: it gets today's file, not for long.
    stale = await http.get("/static/js/vote.000000000000.js")
    assert stale.status_code == 200 and stale.content == body
    assert stale.headers["cache-control"] != IMMUTABLE
    assert (await http.get("/static/js/nosuch.js")).status_code == 404
    assert (await http.get("/static/js/nosuch.0123456789ab.js")).status_code == 404


async def test_a_changed_file_gets_a_new_name(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    before = StaticAssets(folder)
    old = before.url("js/vote.js")
    (folder / "js/vote.js").write_text("console.log('a new release');\n")
    after = StaticAssets(folder)
    new = after.url("js/vote.js")

    assert old != new and HASHED.match(new) and HASHED.match(old)
    assert after.url("js/common.js") == before.url("js/common.js")  # unchanged: same name
    app = Starlette(routes=[Route("/static/{path:path}", after.serve)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        fresh, plain = await c.get(new), await c.get("/static/js/vote.js")
        old_page = await c.get(old)
    assert fresh.content == plain.content == b"console.log('a new release');\n"
    assert fresh.headers["cache-control"] == IMMUTABLE
    # The old name still answers (a page rendered before), but is no longer immutable.
    assert old_page.content == fresh.content and old_page.headers["cache-control"] != IMMUTABLE


async def test_text_is_gzipped_only_for_a_client_that_accepts_it(
    http: httpx.AsyncClient, node: Node
) -> None:
    for path in ("/static/vendor/socket.io.min.js", "/static/css/app.css", "/static/js/vote.js"):
        body = (STATIC / path.removeprefix("/static/")).read_bytes()
        packed = await http.get(path, headers=GZIP)
        plain = await http.get(path, headers=IDENTITY)
        assert packed.headers["content-encoding"] == "gzip", path
        assert packed.content == body  # httpx inflates it
        assert packed.num_bytes_downloaded < len(body) / 2, path
        assert "content-encoding" not in plain.headers and plain.content == body, path
        assert plain.num_bytes_downloaded == len(body)
    async with signed_in(node.url, "host@example.org") as host:
        room = await create_room(host.http)
        for n in range(6):
            await add_question(host.http, room["id"], title=f"Question {n}?", options="A,B,C")
        url = f"/api/rooms/{room['id']}/summary"
        json_packed = await host.http.get(url, headers=GZIP)
        json_plain = await host.http.get(url, headers=IDENTITY)
        page = await host.http.get(f"/host/rooms/{room['id']}/summary", headers=GZIP)
        workbook = await host.http.get(f"/api/rooms/{room['id']}/export.xlsx", headers=GZIP)
    assert json_packed.headers["content-encoding"] == "gzip"
    assert json_packed.headers["cache-control"] == "no-store"  # still never stored
    questions = json_packed.json()["summary"]["questions"]
    assert questions == json_plain.json()["summary"]["questions"] and len(questions) == 6
    assert "content-encoding" not in json_plain.headers
    # Pages hold secrets beside text from the URL: never compressed (BREACH).
    assert page.status_code == 200 and "content-encoding" not in page.headers
    # A workbook is a zip already.
    assert workbook.status_code == 200 and "content-encoding" not in workbook.headers


async def test_long_polling_still_works_for_a_client_that_accepts_gzip(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=GZIP)
    assert r.status_code == 200 and r.text.startswith("0{") and '"sid"' in r.text


async def test_a_streamed_answer_is_compressed_chunk_by_chunk() -> None:
    """The app's compression sends each chunk as it comes, nothing held back."""
    go_on = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first line of a long export\n" * 40
        await go_on.wait()
        yield b"second part\n" * 40

    async def endpoint(request: Any) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/csv")

    app = Starlette(routes=[Route("/stream", endpoint)], middleware=[compression()])
    sent: list[dict[str, Any]] = []
    first_chunk = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client says nothing more
        raise AssertionError

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/stream",
        "raw_path": b"/stream",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"t"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(first_chunk.wait(), 5)  # before the rest exists
    start = sent[0]
    assert dict(start["headers"])[b"content-encoding"] == b"gzip"
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert inflate.decompress(sent[1]["body"]) == b"first line of a long export\n" * 40
    go_on.set()
    await asyncio.wait_for(task, 5)
    rest = b"".join(m.get("body", b"") for m in sent[2:])
    assert inflate.decompress(rest) + inflate.flush() == b"second part\n" * 40


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_the_vote_pages_first_load_is_small(
    http: httpx.AsyncClient, svc: Services, lang: str
) -> None:
    """The page and every static file it links, as a browser gets them the first time."""
    room = await make_room(svc)
    page = await http.get(
        f"/j/{room.number}", params={"key": room.info.key, "lang": lang}, headers=GZIP
    )
    sizes = {"page": page.num_bytes_downloaded}
    plain = len(page.content)
    for url in STATIC_LINK.findall(page.text) + STRINGS_LINK.findall(page.text):
        r = await http.get(url, headers=GZIP)
        assert r.status_code == 200 and r.headers["cache-control"] == IMMUTABLE, url
        assert r.headers["content-encoding"] == "gzip", url
        sizes[url] = r.num_bytes_downloaded
        plain += len(r.content)
    total = sum(sizes.values())
    report = (
        f"vote page first load ({lang}): {total} bytes over the wire in {len(sizes)} "
        f"requests ({plain} bytes uncompressed): {sizes}"
    )
    print(report)
    assert len(sizes) == 7, report
    # The scripts' words came inside the page, uncompressed (8.5 KB in English, 16 KB in
    # Korean, escaped): in a cached, gzipped script of their own they cost about 3 KB.
    assert sizes["page"] < 2_000, report
    # Every kind's code and strings (seven kinds, ranking and the word cloud among them)
    # came to about 42 KB, a third of it the Socket.IO client: one file per kind fetched
    # on demand would save a few KB for a round trip more, which a weak network pays more.
    # Surveys, the lot drawing's styles and who may vote (a position, the on-site code)
    # brought it to about 48.6 KB, and the page's words out of the page to 44.8 KB (45.4
    # KB in Korean).
    assert total < 50_000, report


async def test_the_scripts_words_are_one_cached_file_per_language(
    http: httpx.AsyncClient, svc: Services
) -> None:
    room = await make_room(svc)
    urls = {}
    for lang in ("en", "ko"):
        page = await http.get(f"/j/{room.number}", params={"key": room.info.key, "lang": lang})
        (urls[lang],) = STRINGS_LINK.findall(page.text)
        assert "Your vote was counted" not in page.text  # not in the page any more
    assert urls["en"] != urls["ko"]
    plain = await http.get(urls["ko"], headers={"accept-encoding": "identity"})
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "content-encoding" not in plain.headers
    assert plain.text.startswith("window.mvStrings={") and plain.text.endswith("};\n")
    assert "투표" in plain.text  # Korean, as UTF-8
    again = await http.get(urls["ko"], headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304
    # A page from another release names another hash: it gets the current words, briefly.
    stale = await http.get(re.sub(r"\.[0-9a-f]{12}\.js$", ".000000000000.js", urls["ko"]))
    assert stale.status_code == 200 and stale.text == plain.text
    assert stale.headers["cache-control"] != IMMUTABLE
    for wrong in ("live.fr.js", "nothing.en.js", "live.en.js.map", "..%2Fsecret.en.js"):
        assert (await http.get(f"/strings/{wrong}")).status_code == 404, wrong
