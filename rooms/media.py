"""Images a question or an option may show: uploads named by their content.

An upload is stored once under ``<sha256 of its bytes>.<ext>`` and shown at
``/media/<name>``; a question refers to it by that path. Only the four raster formats
every phone browser shows are accepted, and never SVG, which can carry scripts.
"""

from __future__ import annotations

import re

from rooms.errors import N_, VotingError, bad_request, phrase

MEDIA_PREFIX = "/media/"
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000

#: File extension -> content type of each accepted image format.
CONTENT_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}

_NAME = re.compile(r"[0-9a-f]{64}\.(?:png|jpg|gif|webp)")


def media_name(digest: str, ext: str) -> str:
    """The stored name of an upload whose sha256 is ``digest`` (hex)."""
    name = f"{digest}.{ext}"
    if not is_media_name(name):
        raise ValueError(f"not a media name: {name!r}")
    return name


def is_media_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def content_type(name: str) -> str:
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]


def name_of_path(path: str) -> str | None:
    """The stored name a ``/media/<name>`` path refers to, or ``None``."""
    if not path.startswith(MEDIA_PREFIX):
        return None
    name = path[len(MEDIA_PREFIX) :]
    return name if is_media_name(name) else None


def check_image_path(value: object, what: str) -> str:
    """An image reference of a question or an option: ``""`` or an uploaded media path."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or name_of_path(value) is None:
        raise bad_request(
            N_("{what} must be the path of an uploaded image (/media/…)"), what=phrase(what)
        )
    return value


def check_upload_size(size: int) -> None:
    if size > MAX_BYTES:
        raise bad_request(N_("the file is larger than 5 MiB"))


def check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise too_many_pixels()


def too_many_pixels() -> VotingError:
    return bad_request(N_("the image has more than {n} megapixels"), n=MAX_PIXELS // 1_000_000)


def not_an_image() -> VotingError:
    return bad_request(N_("the file is not an image (PNG, JPEG, GIF or WebP)"))
