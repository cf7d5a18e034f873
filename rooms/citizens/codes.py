"""One-time codes, as NIST SP 800-63B-4 (§3.1.3) and OWASP ASVS 5.0 (V6.6) ask.

Six digits from ``secrets``, valid at most ten minutes, good for one check that matches.
A re-send makes a new code but leaves the count of failed checks as it was; past the
failure limit the number is locked for its purpose, a re-sent code with it. Only a keyed
digest of a code is stored (``code_digest``), bound to the number and the purpose: a
sign-up's code does not reset a password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from rooms.errors import ErrorCode, VotingError

DIGITS = 6
#: Seconds a code stays valid at most (a setting may shorten it, never lengthen it).
LONGEST_LIFETIME = 600

_CODE = b"mvoting-code/v1\n"


class Purpose(StrEnum):
    SIGN_UP = "signup"  #: a new account for the number
    RESET = "reset"  #: a new password for the number's account
    CHANGE = "change"  #: a signed-in citizen moves their account to this number
    LINK = "link"  #: an outside identity provider's account is linked to this number


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def check_code(raw: object) -> str:
    """The code as typed, spaces and dashes dropped; ``bad_code`` unless six digits."""
    if not isinstance(raw, str) or len(raw) > 20:
        raise VotingError(ErrorCode.BAD_CODE)
    code = raw.replace(" ", "").replace("-", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        raise VotingError(ErrorCode.BAD_CODE)
    return code


def code_digest(secret: bytes, purpose: str, phone_ref: str, code: str) -> str:
    """What is stored of a code: keyed, and bound to the number and the purpose (a
    ``Purpose``, or one bound to an account: ``change:<citizen id>``)."""
    msg = _CODE + f"{purpose}\n{phone_ref}\n{code}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()
