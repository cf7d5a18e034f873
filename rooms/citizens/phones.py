"""Mobile numbers: parsed, checked and written one way (E.164), then only keyed.

``010-1234-5678``, ``01012345678`` and ``+82 10 1234 5678`` are one number: each parses
(default region KR) to ``+821012345678``. An account holds no number, only
``phone_ref``: HMAC-SHA256 under a pepper kept outside the database. A plain hash would
not do: a Korean mobile number has about 10⁸ values, hashed through in a minute on one
core. The refusal of a number that does not parse never repeats it.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from rooms.errors import ErrorCode, VotingError

DEFAULT_REGION = "KR"
#: Longer input is refused before parsing (an E.164 number has at most 15 digits).
MAX_INPUT = 40

_MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_PHONE = b"mvoting-phone/v1\n"


def normalise(raw: object, region: str = DEFAULT_REGION) -> str:
    """The mobile number ``raw`` names, in E.164 (``+821012345678``); else
    ``invalid_phone``."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_INPUT:
        raise VotingError(ErrorCode.INVALID_PHONE)
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        raise VotingError(ErrorCode.INVALID_PHONE) from None
    if not phonenumbers.is_valid_number(number):
        raise VotingError(ErrorCode.INVALID_PHONE)
    if phonenumbers.number_type(number) not in _MOBILE:
        raise VotingError(ErrorCode.INVALID_PHONE)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_ref(pepper: bytes, e164: str) -> str:
    """The number's reference: the only form of it an account, a key or a log holds."""
    return hmac.new(pepper, _PHONE + e164.encode(), hashlib.sha256).hexdigest()
