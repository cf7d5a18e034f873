"""The on-site code: a time-based code (RFC 6238, six digits, 30-second steps) from a
room's secret, shown as a QR code on the presenter screen and changing every step.

A code is accepted during its own step and the next one, so a photo of the screen
forwarded outside the hall stops working within a minute. A connection that showed a
valid code gets a *site pass* (keyed to the room and the device, and dated), which it
presents again when it reconnects: one scan lasts the whole event, from that device only,
and at most ``PASS_LIFETIME_S`` (a day's event; a room used again next week asks again).

What it stops: a link or a photo of the code passed on to someone who is not in the
hall, or a casual remote voter. What it does not stop: someone in the hall reading the
current code to a friend outside by phone (each relay works for at most a minute, but
it works).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

STEP_S = 30
DIGITS = 6
_KEY = b"mvoting-site-code/v1\n"
_PASS = b"mvoting-site-pass/v2\n"
#: How long a site pass lets its device back in without a new scan (s).
PASS_LIFETIME_S = 12 * 3600


def site_key(secret: bytes, room_id: str) -> bytes:
    """The room's code key (20 bytes, as RFC 6238 uses with SHA-1), derived from the
    server's secret: nothing to store, the same on every node."""
    return hmac.new(secret, _KEY + room_id.encode(), hashlib.sha256).digest()[:20]


def _totp(key: bytes) -> TOTP:
    return TOTP(key, DIGITS, SHA1(), STEP_S, enforce_key_length=False)


def code_at(key: bytes, time_s: float) -> str:
    return _totp(key).generate(int(time_s)).decode()


def expires_at(time_s: float) -> int:
    """When the code shown at ``time_s`` is no longer shown (s since the epoch); it is
    accepted for one more step after that."""
    return (int(time_s) // STEP_S + 1) * STEP_S


def check_code(key: bytes, code: object, time_s: float) -> bool:
    """Whether ``code`` is the code of the current step or of the one before."""
    if not isinstance(code, str) or len(code) != DIGITS or not code.isascii():
        return False
    now = int(time_s)
    return any(hmac.compare_digest(code, code_at(key, now - back * STEP_S)) for back in (0, 1))


def site_pass(secret: bytes, room_id: str, device: str, issued_s: float) -> str:
    """``<issued s>.<mac>``: the pass of ``device`` in ``room_id``, given at ``issued_s``."""
    issued = str(int(issued_s))
    body = _PASS + room_id.encode() + b"\n" + device.encode() + b"\n" + issued.encode()
    digest = hmac.new(secret, body, hashlib.sha256)
    return f"{issued}.{base64.urlsafe_b64encode(digest.digest()[:18]).decode()}"


def check_pass(secret: bytes, room_id: str, device: str, value: object, now_s: float) -> bool:
    """Whether ``value`` is a pass of ``device`` in ``room_id`` given in the last
    ``PASS_LIFETIME_S`` (and not in the future)."""
    if not isinstance(value, str) or not value.isascii() or len(value) > 64:
        return False
    issued, _, _ = value.partition(".")
    if not issued.isdigit() or not 0 <= now_s - int(issued) <= PASS_LIFETIME_S:
        return False
    return hmac.compare_digest(value, site_pass(secret, room_id, device, int(issued)))
