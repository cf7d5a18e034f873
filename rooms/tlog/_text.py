"""Strict decoders shared by the C2SP text formats: base64 and decimal sizes.

Every C2SP format in ``rooms`` writes base64 as RFC 4648 section 4 (standard alphabet,
padded) and numbers as ASCII decimal without leading zeroes. Parsers accept exactly those
spellings, so one value has one encoding: Python's ``int`` would also take ``+7``, ``0_7``,
spaces or non-ASCII digits, and ``base64.b64decode`` ignores stray bits in the last
character.
"""

from __future__ import annotations

import base64
import binascii
import re

#: Tree sizes, indexes and timestamps are uint64 in every C2SP format.
MAX_U64 = 2**64 - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # str patterns take \d as any Unicode digit


def decode_base64(text: str) -> bytes | None:
    """The bytes ``text`` encodes in canonical padded base64, or None if it is not that."""
    try:
        value = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters
        return None
    return value if base64.b64encode(value).decode() == text else None


def encode_base64(value: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4)."""
    return base64.b64encode(value).decode()


def decode_decimal(text: str, maximum: int = MAX_U64) -> int | None:
    """The number ``text`` spells in ASCII decimal without leading zeroes, up to ``maximum``."""
    if not _DECIMAL.fullmatch(text) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None
