"""Time and identifiers, in one place so every record agrees on their form."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id(length: int = 12) -> str:
    """A random id of lowercase letters and digits (no look-alikes)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
