"""Uploaded images on disk: sniffed with Pillow, stored by content under ``DATA/media``.

The declared content type and file name are ignored: Pillow reads the header and
decides. Only the header and the chunk structure are read (``verify``), never the pixels,
so a small file claiming a huge canvas costs nothing; it is refused by its pixel count.

Every upload is recorded per host (``media_uploads``): a host's stored images count
against its quota (``MVOTING_MEDIA_QUOTA_MB``), each once however often uploaded.
``prune`` removes the images no question refers to once every upload of them is older
than the grace period, so an image uploaded for a question still being written stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError

from live.clock import now_ms
from live.engines import db
from live.services import Services
from live.settings import Settings
from rooms.errors import ErrorCode, VotingError
from rooms.media import (
    MEDIA_PREFIX,
    check_dimensions,
    check_upload_size,
    content_type,
    is_media_name,
    media_name,
    name_of_path,
    not_an_image,
    too_many_pixels,
)

#: Pillow's format name -> our file extension.
_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


@dataclass(frozen=True)
class Media:
    name: str
    width: int
    height: int

    @property
    def path(self) -> str:
        return MEDIA_PREFIX + self.name

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "type": content_type(self.name),
        }


def media_dir(settings: Settings) -> Path:
    return settings.data_dir / "media"


def sniff(data: bytes) -> tuple[str, int, int]:
    """The extension, width and height of an accepted image; else ``bad_request``.

    Not thread-safe (it changes the warning filters for the call): run it on the loop.
    """
    check_upload_size(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Pillow warns, then raises, past its own limit; both mean a bomb to us.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as img:
                ext, (width, height) = _FORMATS[str(img.format)], img.size
                check_dimensions(width, height)
                img.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, KeyError):
        raise not_an_image() from None
    return ext, width, height


async def save(svc: Services, host_id: str, data: bytes) -> Media:
    """Store an upload of ``host_id`` (once per content) within its quota, and describe it."""
    ext, width, height = sniff(data)
    name = media_name(hashlib.sha256(data).hexdigest(), ext)
    await _count(svc, host_id, name, len(data))
    # After the upload is recorded: a prune that took the file away meanwhile finds the
    # record and puts it back, or the file is written again here (see ``prune``).
    await asyncio.to_thread(_write_once, media_dir(svc.settings), name, data)
    return Media(name, width, height)


async def _count(svc: Services, host_id: str, name: str, size: int) -> None:
    """Record the upload against the host's quota; refused past it.

    The record is committed before the total is read: of two uploads at once each sees
    the other, so together they never pass the quota (both may be refused instead).
    """
    t = db.media_uploads
    async with svc.engine.begin() as conn:
        again = await conn.execute(
            t.update().where(t.c.host_id == host_id, t.c.name == name).values(uploaded_ms=now_ms())
        )
        if again.rowcount:
            return  # counted already
        await conn.execute(
            db.insert_ignoring_duplicates(conn, t).values(
                host_id=host_id, name=name, size=size, uploaded_ms=now_ms()
            )
        )
    async with svc.engine.connect() as conn:
        used = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(t.c.size), 0)).where(t.c.host_id == host_id)
        )
    quota = svc.settings.media_quota
    if int(used or 0) > quota:
        async with svc.engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.host_id == host_id, t.c.name == name))
        raise VotingError(ErrorCode.QUOTA_EXCEEDED, quota_mb=quota // (1024 * 1024))


def _write_once(folder: Path, name: str, data: bytes) -> None:
    target = folder / name
    if target.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    # Write aside, then rename: a reader never sees half a file, and two uploads of the
    # same image at once both end with the same complete one.
    temp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
    temp.write_bytes(data)
    os.replace(temp, target)


@dataclass(frozen=True)
class Pruned:
    removed: list[str]  #: names of the files removed
    freed: int  #: bytes
    kept: int  #: stored images still in use or in their grace period


_PATHS = re.compile(rf"{re.escape(MEDIA_PREFIX)}([0-9a-f]{{64}}\.(?:png|jpg|gif|webp))")


async def _referenced(svc: Services) -> set[str]:
    """The names of every image a question (draft, open or closed) refers to."""
    names: set[str] = set()
    async with svc.engine.connect() as conn:
        result = await conn.stream(sa.select(db.questions.c.spec))
        async for (spec,) in result:
            names.update(_PATHS.findall(str(spec)))
    return names


async def _referenced_now(svc: Services, name: str) -> bool:
    q = db.questions
    async with svc.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count()).where(sa.cast(q.c.spec, sa.Text).contains(name))
        )
    return bool(found)


async def _recent(svc: Services, name: str, cutoff_ms: int) -> bool:
    t = db.media_uploads
    async with svc.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count()).where(t.c.name == name, t.c.uploaded_ms >= cutoff_ms)
        )
    return bool(found)


async def prune(svc: Services) -> Pruned:
    """Remove the stored images no question uses whose uploads are all older than
    ``MVOTING_MEDIA_GRACE_HOURS``, and their records (which frees the hosts' quota)."""
    folder = media_dir(svc.settings)
    grace = svc.settings.media_grace
    cutoff_ms = now_ms() - int(grace * 1000)
    stored = sorted(p for p in folder.glob("*") if is_media_name(p.name)) if folder.is_dir() else []
    used = await _referenced(svc)
    removed, freed = [], 0
    for path in stored:
        name = path.name
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if (
            name in used
            or stat.st_mtime > time.time() - grace
            or await _recent(svc, name, cutoff_ms)
        ):
            continue
        # Set aside first, then look again: an upload records itself before it writes,
        # so one that came meanwhile is seen now and the file goes back (same content);
        # one that comes later finds no file and writes it anew.
        aside = folder / f".{name}.{secrets.token_hex(4)}.prune"
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            continue
        if await _referenced_now(svc, name) or await _recent(svc, name, cutoff_ms):
            os.replace(aside, path)
            continue
        async with svc.engine.begin() as conn:
            await conn.execute(db.media_uploads.delete().where(db.media_uploads.c.name == name))
        with contextlib.suppress(FileNotFoundError):
            aside.unlink()
        removed.append(name)
        freed += stat.st_size
    return Pruned(removed, freed, len(stored) - len(removed))


def file_of(settings: Settings, name: str) -> Path | None:
    """The stored file called ``name``, if the name is a media name and the file exists."""
    if not is_media_name(name):
        return None
    path = media_dir(settings) / name
    return path if path.is_file() else None


def exists(settings: Settings, path: str) -> bool:
    """Whether ``path`` (``/media/<name>``) names an image stored here."""
    name = name_of_path(path)
    return name is not None and file_of(settings, name) is not None
