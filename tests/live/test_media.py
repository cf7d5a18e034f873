"""Images: uploads sniffed and stored by content, served back, used by questions."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from live.services import Services
from rooms.media import MAX_BYTES
from tests.conftest import Node, connect
from tests.live.hosting import Host, add_question, assert_error, create_room, signed_in


@pytest.fixture
async def host(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "host@example.org") as h:
        yield h


def _image(fmt: str, size: tuple[int, int] = (3, 2)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG that claims a ``width`` x ``height`` canvas."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _stored(svc: Services) -> list[Path]:
    folder = svc.settings.data_dir / "media"
    return sorted(folder.iterdir()) if folder.exists() else []


async def _upload_form(host: Host, data: bytes, name: str = "photo.png") -> httpx.Response:
    return await host.http.post("/api/media", files={"file": (name, data, "image/png")})


@pytest.mark.parametrize(
    ("fmt", "ext", "mime"),
    [
        pytest.param("PNG", "png", "image/png", id="png"),
        pytest.param("JPEG", "jpg", "image/jpeg", id="jpeg"),
        pytest.param("GIF", "gif", "image/gif", id="gif"),
        pytest.param("WEBP", "webp", "image/webp", id="webp"),
    ],
)
async def test_an_uploaded_image_is_stored_by_content_and_served_back(
    svc: Services, host: Host, fmt: str, ext: str, mime: str
) -> None:
    data = _image(fmt)
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"

    # Sent as a form with a misleading name and type: the content decides.
    r = await host.http.post("/api/media", files={"file": ("x.txt", data, "text/plain")})

    assert r.status_code == 201, r.text
    assert r.json() == {
        "ok": True,
        "media": {"path": f"/media/{name}", "width": 3, "height": 2, "type": mime},
    }
    assert _stored(svc) == [svc.settings.data_dir / "media" / name]
    assert (svc.settings.data_dir / "media" / name).read_bytes() == data
    async with httpx.AsyncClient(base_url=str(host.http.base_url)) as anyone:
        served = await anyone.get(f"/media/{name}")
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == mime
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_a_raw_body_upload_and_a_repeat_give_the_same_file(svc: Services, host: Host) -> None:
    data = _image("PNG", (5, 4))

    first = await host.http.post("/api/media", content=data, headers={"content-type": "image/png"})
    again = await _upload_form(host, data)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["media"]["width"] == 5
    assert len(_stored(svc)) == 1


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
NOT_AN_IMAGE = "the file is not an image (PNG, JPEG, GIF or WebP)"
TOO_LARGE = "the file is larger than 5 MiB"
TOO_MANY_PIXELS = "the image has more than 40 megapixels"


@pytest.mark.parametrize(
    ("send", "detail"),
    [
        pytest.param(
            {"files": {"file": ("a.png", b"hello", "image/png")}}, NOT_AN_IMAGE, id="text"
        ),
        pytest.param({"files": {"file": ("a.svg", SVG, "image/svg+xml")}}, NOT_AN_IMAGE, id="svg"),
        pytest.param(
            {"files": {"file": ("a.bmp", _image("BMP"), "image/bmp")}}, NOT_AN_IMAGE, id="bmp"
        ),
        pytest.param(
            {"files": {"file": ("a.png", _image("PNG")[:40], "image/png")}},
            NOT_AN_IMAGE,
            id="truncated-png",
        ),
        pytest.param(
            {"content": b"", "headers": {"content-type": "image/png"}}, NOT_AN_IMAGE, id="empty"
        ),
        pytest.param(
            {"content": b"x" * (MAX_BYTES + 1), "headers": {"content-type": "image/png"}},
            TOO_LARGE,
            id="raw-too-large",
        ),
        pytest.param(
            {"files": {"file": ("a.png", _image("PNG") + b"\0" * MAX_BYTES, "image/png")}},
            TOO_LARGE,
            id="form-too-large",
        ),
        pytest.param(
            {"content": b"x" * (5 * MAX_BYTES), "headers": {"content-type": "image/png"}},
            TOO_LARGE,
            id="raw-far-too-large",
        ),
        pytest.param(
            {"files": {"file": ("a.png", _png_header(8000, 5001), "image/png")}},
            TOO_MANY_PIXELS,
            id="just-over-40-megapixels",
        ),
        pytest.param(
            {"files": {"file": ("a.png", _png_header(10_000, 10_000), "image/png")}},
            TOO_MANY_PIXELS,
            id="past-pillow-warning",
        ),
        pytest.param(
            {"files": {"file": ("a.png", _png_header(20_000, 20_000), "image/png")}},
            TOO_MANY_PIXELS,
            id="past-pillow-limit",
        ),
        pytest.param(
            {"files": {"picture": ("a.png", _image("PNG"), "image/png")}},
            "send the image as the form field file",
            id="wrong-field",
        ),
        pytest.param(
            {"data": {"file": "not a file"}, "files": {"other": ("a", b"a", "text/plain")}},
            "send the image as the form field file",
            id="field-not-a-file",
        ),
        pytest.param(
            {
                "files": [
                    ("file", ("a.png", _image("PNG"), "image/png")),
                    ("file", ("b.png", _image("PNG"), "image/png")),
                ]
            },
            "the form is not valid multipart",
            id="two-files",
        ),
    ],
)
async def test_a_refused_upload_stores_nothing(
    svc: Services, host: Host, send: dict[str, Any], detail: str
) -> None:
    r = await host.http.post("/api/media", **send)

    assert assert_error(r, 400, "bad_request") == f"The request is malformed: {detail}."
    assert _stored(svc) == []


@pytest.mark.parametrize(
    ("data", "status"),
    [
        pytest.param(_image("PNG"), 201, id="small"),
        pytest.param(b"\0" * (MAX_BYTES + 1), 400, id="too-large"),  # over in the last chunk
        pytest.param(b"\0" * (MAX_BYTES + 300_000), 400, id="too-large-then-more"),
    ],
)
async def test_a_chunked_raw_upload_is_measured_as_it_arrives(
    svc: Services, host: Host, data: bytes, status: int
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]

    r = await host.http.post("/api/media", content=chunks(), headers={"content-type": "image/png"})

    assert "content-length" not in r.request.headers
    assert r.status_code == status, r.text
    assert len(_stored(svc)) == (1 if status == 201 else 0)
    if status == 400:
        assert TOO_LARGE in r.json()["error"]["message"]


async def test_a_40_megapixel_image_is_accepted(svc: Services, host: Host) -> None:
    r = await _upload_form(host, _png_header(8000, 5000))

    assert r.status_code == 201, r.text
    assert (r.json()["media"]["width"], r.json()["media"]["height"]) == (8000, 5000)


async def test_only_a_signed_in_host_uploads(node: Node, svc: Services) -> None:
    async with httpx.AsyncClient(base_url=node.url) as anonymous:
        r = await anonymous.post("/api/media", files={"file": ("a.png", _image("PNG"))})
    assert_error(r, 401, "unauthorized")
    assert _stored(svc) == []


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * 64 + ".png", id="valid-name-not-stored"),
        pytest.param("a" * 64 + ".svg", id="svg"),
        pytest.param("A" * 64 + ".png", id="upper-case"),
        pytest.param("secret", id="no-extension"),
        pytest.param("..%2Fmvoting.db", id="traversal"),
        pytest.param(".%2E%2Fsecret", id="dots"),
    ],
)
async def test_only_stored_media_names_are_served(node: Node, svc: Services, name: str) -> None:
    (svc.settings.data_dir / "media").mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=node.url) as anyone:
        r = await anyone.get(f"/media/{name}")
    assert r.status_code == 404


async def test_questions_and_options_show_uploaded_images(
    node: Node, svc: Services, host: Host
) -> None:
    a = (await _upload_form(host, _image("PNG"))).json()["media"]["path"]
    b = (await _upload_form(host, _image("GIF"))).json()["media"]["path"]
    room = await create_room(host.http)

    q = await add_question(
        host.http,
        room["id"],
        title="Which logo?",
        image=a,
        options=[{"label": "Round", "image": a}, {"label": "Square", "image": b}],
    )

    assert q["image"] == a
    assert [(o["label"], o["image"]) for o in q["options"]] == [("Round", a), ("Square", b)]
    # Attendees see a question once it opens.
    assert (await host.http.post(f"/api/questions/{q['id']}/open")).status_code == 200
    async with connect(node.url) as attendee:
        ack = await attendee.join(room["number"], key=room["key"])
    assert ack["questions"][0]["image"] == a
    assert [o["image"] for o in ack["questions"][0]["options"]] == [a, b]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(
            {"image": "/media/" + "a" * 64 + ".png"},
            "the image /media/" + "a" * 64 + ".png was not uploaded",
            id="well-formed-never-uploaded",
        ),
        pytest.param(
            {"image": "https://example.org/a.png"},
            "image must be the path of an uploaded image (/media/…)",
            id="elsewhere",
        ),
        pytest.param(
            {"options": [{"label": "A", "image": "/static/a.png"}, "B"]},
            "option image must be the path of an uploaded image (/media/…)",
            id="option-elsewhere",
        ),
    ],
)
async def test_a_question_with_an_image_not_uploaded_is_refused(
    svc: Services, host: Host, body: dict[str, Any], detail: str
) -> None:
    room = await create_room(host.http)

    r = await host.http.post(
        f"/api/rooms/{room['id']}/questions", json={"title": "Q", "options": "A,B", **body}
    )

    assert assert_error(r, 400, "bad_request") == f"The request is malformed: {detail}."
    assert (await host.http.get(f"/api/rooms/{room['id']}")).json()["questions"] == []
