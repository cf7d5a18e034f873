"""Uploads have a per-host quota and rate, and images no question uses are pruned."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
from PIL import Image

from live.settings import Settings
from tests.conftest import Node, run_node
from tests.live.hosting import add_question, assert_error, create_room, signed_in

ROOT = Path(__file__).resolve().parents[2]


def _noise(side: int) -> bytes:
    """A PNG of a little over ``3 * side**2`` bytes (noise does not compress), unlike any."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, format="PNG")
    return buf.getvalue()


def _stored(settings: Settings) -> list[str]:
    folder = settings.data_dir / "media"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def _upload(http: httpx.AsyncClient, data: bytes) -> httpx.Response:
    return await http.post("/api/media", files={"file": ("a.png", data, "image/png")})


async def test_a_host_stores_images_up_to_its_quota(settings: Settings) -> None:
    images = [_noise(350) for _ in range(3)]  # ~370 KB each: two fit in 1 MiB, three do not
    async with (
        run_node(settings.with_(media_quota=1024 * 1024)) as node,
        signed_in(node.url, "q@example.org") as host,
    ):
        first, second = [await _upload(host.http, d) for d in images[:2]]
        assert (first.status_code, second.status_code) == (201, 201)

        message = assert_error(await _upload(host.http, images[2]), 403, "quota_exceeded")

        assert message == (
            "Your uploaded images would take more than your 1 MiB; images no question uses "
            "are removed after a while."
        )
        assert len(_stored(settings)) == 2
        # An image uploaded again counts once; another host has a quota of its own.
        assert (await _upload(host.http, images[0])).status_code == 201
        async with signed_in(node.url, "other@example.org") as other:
            assert (await _upload(other.http, images[2])).status_code == 201
            assert (await _upload(other.http, images[0])).status_code == 201
            assert_error(await _upload(other.http, images[1]), 403, "quota_exceeded")
        assert len(_stored(settings)) == 3


async def test_a_host_uploads_a_limited_number_of_images_an_hour(settings: Settings) -> None:
    async with (
        run_node(settings.with_(media_uploads_per_hour=3)) as node,
        signed_in(node.url, "r@example.org") as host,
    ):
        for _ in range(3):
            assert (await _upload(host.http, _noise(20))).status_code == 201

        r = await _upload(host.http, _noise(20))

        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "rate_limited"
        assert 3590 <= r.json()["error"]["retry_after"] <= 3600
        assert r.headers["retry-after"] == str(r.json()["error"]["retry_after"])
        assert len(_stored(settings)) == 3


def _prune(settings: Settings, grace_hours: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVOTING_")}
    env.update(
        REDIS_URL=str(settings.redis_url),
        MVOTING_KEY_PREFIX=settings.key_prefix,
        MVOTING_SECRET="test-secret",
        MVOTING_DATA=str(settings.data_dir),
        MVOTING_MEDIA_GRACE_HOURS=str(grace_hours),
    )
    return subprocess.run(
        [sys.executable, "-m", "live.cli", "media", "prune"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_prune_removes_only_images_no_question_uses_past_the_grace_period(
    node: Node, settings: Settings
) -> None:
    async with signed_in(node.url, "m@example.org") as host:
        used, option, unused = [
            (await _upload(host.http, _noise(20))).json()["media"]["path"] for _ in range(3)
        ]
        room = await create_room(host.http)
        await add_question(
            host.http, room["id"], image=used, options=[{"label": "A", "image": option}, "B"]
        )

        # Within the grace period nothing goes: an image may await its question.
        kept = await asyncio.to_thread(_prune, settings, 24)
        assert (kept.returncode, kept.stdout) == (0, "removed 0 images (0 bytes); kept 3\n")
        assert len(_stored(settings)) == 3

        unused_file = settings.data_dir / "media" / unused.removeprefix("/media/")
        size = unused_file.stat().st_size

        done = await asyncio.to_thread(_prune, settings, 0)

        assert (done.returncode, done.stdout) == (0, f"removed 1 images ({size} bytes); kept 2\n")
        assert _stored(settings) == sorted(p.removeprefix("/media/") for p in (used, option))
        assert (await host.http.get(unused)).status_code == 404
        assert (await host.http.get(used)).status_code == 200
        assert (await host.http.get(option)).status_code == 200
