"""Uploaded images on disk: sniffed with Pillow, stored by content under ``DATA/media``.

The declared content type and file name are ignored: Pillow reads the header and
decides. Only the header and the chunk structure are read (``verify``), never the pixels,
so a small file claiming a huge canvas costs nothing; it is refused by its pixel count.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from live.settings import Settings
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


async def save(settings: Settings, data: bytes) -> Media:
    """Store an upload (once per content) and describe it."""
    ext, width, height = sniff(data)
    name = media_name(hashlib.sha256(data).hexdigest(), ext)
    await asyncio.to_thread(_write_once, media_dir(settings), name, data)
    return Media(name, width, height)


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
