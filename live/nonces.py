"""Ballot nonces: 16 random bytes each, read from the OS a page at a time.

Every ballot without a nonce of its client's gets one (``live.cast.do_cast``). Asking the
OS for 16 bytes a ballot (``secrets.token_hex``) was 3 % of the web process's samples in a
2,000-ballot burst, 40 % of the cast's own: a ``getrandom`` call and four Python frames
each. The bytes are the same ``os.urandom`` bytes, read 4 KiB at a time and handed out
once each. A forked child starts with none, so it never hands out its parent's.
"""

from __future__ import annotations

import os

_PAGE = 4096
_SIZE = 16

_pool = b""
_taken = _PAGE  # nothing left: the first call reads a page


def new_nonce() -> str:
    """32 hex characters of fresh randomness, never handed out before in this process."""
    global _pool, _taken
    if _taken + _SIZE > len(_pool):
        _pool, _taken = os.urandom(_PAGE), 0
    start = _taken
    _taken = start + _SIZE
    return _pool[start : start + _SIZE].hex()


def _forget() -> None:
    global _pool, _taken
    _pool, _taken = b"", _PAGE


os.register_at_fork(after_in_child=_forget)
