"""The edge where refusals become socket acks and HTTP responses: one shape for both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rooms.errors import ErrorCode, VotingError

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.BAD_CREDENTIALS: 401,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_OWNER: 403,
    ErrorCode.UNKNOWN_ROOM: 404,
    ErrorCode.UNKNOWN_QUESTION: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CLOSED: 409,
    ErrorCode.ALREADY_VOTED: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.NOT_DRAINED: 409,
    ErrorCode.NOT_JOINED: 409,
    ErrorCode.NOT_ELIGIBLE: 403,
    ErrorCode.INVALID_CHOICE: 422,
    ErrorCode.TOO_MANY_CHOICES: 422,
    ErrorCode.FULL: 409,
    ErrorCode.EMPTY_ANSWER: 422,
    ErrorCode.ANSWER_TOO_LONG: 422,
    ErrorCode.DUPLICATE_ANSWER: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_MANY_DEVICES: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.NOT_LOGGED_YET: 404,
    ErrorCode.RECEIPTS_OFF: 403,
    ErrorCode.QUOTA_EXCEEDED: 403,
    ErrorCode.RESULTS_HIDDEN: 403,
    ErrorCode.INVALID_PHONE: 422,
    ErrorCode.BAD_CODE: 422,
    ErrorCode.WRONG_CODE: 401,
    ErrorCode.CODE_EXPIRED: 410,
    ErrorCode.BAD_SIGN_IN: 401,
    ErrorCode.PASSWORD_CHANGE_REQUIRED: 403,
    ErrorCode.NOT_ADMIN: 403,
    ErrorCode.NOT_OFFICIAL: 403,
    ErrorCode.NOT_AUTHOR: 403,
    ErrorCode.WRONG_FILE_TYPE: 415,
    ErrorCode.BROKEN_FILE: 422,
    ErrorCode.EMPTY_FILE: 422,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.FORMULA_IN_FILE: 422,
    ErrorCode.TOO_MANY_ROWS: 413,
    ErrorCode.BLANK_ROWS: 422,
    ErrorCode.NO_PHONE_COLUMN: 422,
    ErrorCode.NOT_MONITOR: 403,
    ErrorCode.PROHIBITED_WORD: 422,
    ErrorCode.COMMENTS_OFF: 403,
    ErrorCode.EDIT_TIME_OVER: 409,
    ErrorCode.POLL_HIDDEN: 410,
    # Refusals of a ballot or a join: answered in acks, and with these over HTTP.
    ErrorCode.PART_UNANSWERED: 422,
    ErrorCode.PROFILE_INCOMPLETE: 403,
    ErrorCode.POSITION_NEEDED: 422,
    ErrorCode.OUT_OF_AREA: 403,
    ErrorCode.SITE_CODE_NEEDED: 403,
    ErrorCode.WRONG_SITE_CODE: 403,
}


def error_body(err: VotingError, translate: Callable[[str], str] | None = None) -> dict[str, Any]:
    """``{"ok": false, "error": {"code", "message"}}`` -- acks and JSON bodies alike; the
    message in the client's language where ``translate`` (its catalog's gettext) is given."""
    return {"ok": False, "error": err.as_dict(translate)}


def status_of(err: VotingError) -> int:
    return HTTP_STATUS[err.code]
