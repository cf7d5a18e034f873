"""Keyed references: device tokens and per-question voter references.

A voter reference is ``HMAC(secret, question id ‖ identity)``: the same voter always has
the same reference on one question, different references on two questions, and the
reference reveals nothing of the identity to whoever holds the archive or the ledger.
"""

from __future__ import annotations

import base64
import hmac

_DEVICE = b"mvoting-device/v1\n"
_VOTER = b"mvoting-voter/v1\n"


def voter_ref(secret: bytes, question_id: str, identity: str) -> str:
    msg = _VOTER + question_id.encode() + b"\n" + identity.encode()
    return hmac.digest(secret, msg, "sha256").hex()  # one call into OpenSSL, per ballot


def citizen_identity(citizen_id: str) -> str:
    """Who a citizen's ballots count as in a poll: the account, whatever the device (a
    device id never has a colon, so the two cannot meet)."""
    return f"citizen:{citizen_id}"


def official_identity(host_id: str) -> str:
    """Who an official's ballots count as in an internal vote (``rooms.eligibility``)."""
    return f"official:{host_id}"


def sign_device(secret: bytes, device_id: str) -> str:
    """A token naming a device; whoever presents it again is the same attendee."""
    return f"{device_id}.{_device_mac(secret, device_id)}"


def verify_device(secret: bytes, token: object) -> str | None:
    """The device id of a valid token, else ``None`` (never an exception).

    Tokens are ASCII (device ids are, and the MAC is base64url); anything else is refused
    before ``compare_digest``, which raises on non-ASCII text.
    """
    if not isinstance(token, str) or not token.isascii():
        return None
    if token.count(".") != 1 or len(token) > 200:
        return None
    device_id, mac = token.split(".")
    if not device_id or not hmac.compare_digest(mac, _device_mac(secret, device_id)):
        return None
    return device_id


def _device_mac(secret: bytes, device_id: str) -> str:
    digest = hmac.digest(secret, _DEVICE + device_id.encode(), "sha256")
    return base64.urlsafe_b64encode(digest[:18]).decode()
