"""Short, one-way names of connections and sessions, for log lines: a session id is what
a long-polling client presents as its key, so a line names its hash instead."""

from __future__ import annotations

import hashlib


def connection_id(sid: str) -> str:
    """A short, one-way name for a Socket.IO connection or an Engine.IO session."""
    return hashlib.blake2b(sid.encode(), digest_size=6).hexdigest()
