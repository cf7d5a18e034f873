"""Every refusal reads as a whole sentence, its fields put in, in English and in Korean.

Table-driven over every code (``rooms.errors``) with representative fields, and through
the HTTP API and the socket where a real request produces the refusal, in Korean.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from live.errors import HTTP_STATUS
from live.web.i18n import translations
from rooms.errors import N_, ErrorCode, VotingError, bad_request, conflict, invalid_state, not_found
from rooms.questions import Kind
from rooms.visibility import Visibility
from tests.conftest import Node, connect
from tests.live.hosting import Host, add_question, create_room, signed_in

KO = translations("ko").gettext

#: Latin words a Korean sentence may hold: the API's field names and file formats.
ALLOWED = {
    "image_alt", "max_choices", "choices", "question", "questions", "receipts", "password",
    "key", "presenter", "room", "join", "vote", "nonce", "file", "old", "new", "null",
    "true", "false", "JSON", "application", "json", "Content", "Length", "multipart",
    "PNG", "JPEG", "GIF", "WebP", "MiB", "KiB", "VS", "ID", "media",
    "xlsx", "CSV", "phone",  # a roster's file formats and its header
    # the values a field takes, listed where one is wrong
    *(k.value for k in Kind), *(v.value for v in Visibility), "after", "close",
}  # fmt: skip


def assert_korean(text: str) -> None:
    assert "{" not in text and "}" not in text, text
    # An id (it has a digit, like every id the server makes) is no English word.
    words = re.findall(r"[A-Za-z_0-9]+", text)
    stray = [w for w in words if w not in ALLOWED and not re.search(r"[0-9]", w)]
    assert not stray, f"English left in {text!r}: {stray}"
    assert re.search(r"[가-힣]", text), text


def assert_english(text: str) -> None:
    assert "{" not in text and "}" not in text, text
    assert text.endswith("."), text


#: One refusal of every code, with the fields its real raisers give.
EVERY_CODE: dict[ErrorCode, VotingError] = {
    ErrorCode.BAD_CREDENTIALS: VotingError(ErrorCode.BAD_CREDENTIALS),
    ErrorCode.UNKNOWN_ROOM: VotingError(ErrorCode.UNKNOWN_ROOM, room="482913"),
    ErrorCode.UNKNOWN_QUESTION: VotingError(ErrorCode.UNKNOWN_QUESTION, question="q1234"),
    ErrorCode.NOT_JOINED: VotingError(ErrorCode.NOT_JOINED),
    ErrorCode.CLOSED: VotingError(ErrorCode.CLOSED),
    ErrorCode.ALREADY_VOTED: VotingError(ErrorCode.ALREADY_VOTED),
    ErrorCode.NOT_ELIGIBLE: VotingError(ErrorCode.NOT_ELIGIBLE),
    ErrorCode.INVALID_CHOICE: VotingError(ErrorCode.INVALID_CHOICE),
    ErrorCode.TOO_MANY_CHOICES: VotingError(ErrorCode.TOO_MANY_CHOICES, max_choices=2),
    ErrorCode.EMPTY_ANSWER: VotingError(ErrorCode.EMPTY_ANSWER),
    ErrorCode.ANSWER_TOO_LONG: VotingError(ErrorCode.ANSWER_TOO_LONG, limit=40),
    ErrorCode.DUPLICATE_ANSWER: VotingError(ErrorCode.DUPLICATE_ANSWER),
    ErrorCode.PART_UNANSWERED: VotingError(ErrorCode.PART_UNANSWERED),
    ErrorCode.RATE_LIMITED: VotingError(ErrorCode.RATE_LIMITED, retry_after=30),
    ErrorCode.TOO_MANY_DEVICES: VotingError(ErrorCode.TOO_MANY_DEVICES),
    ErrorCode.UNAUTHORIZED: VotingError(ErrorCode.UNAUTHORIZED),
    ErrorCode.FORBIDDEN: VotingError(ErrorCode.FORBIDDEN),
    ErrorCode.NOT_OWNER: VotingError(ErrorCode.NOT_OWNER),
    ErrorCode.NOT_FOUND: not_found(N_("question {id}"), "q1234"),
    ErrorCode.CONFLICT: conflict(N_("This invitation has been used already.")),
    ErrorCode.INVALID_STATE: invalid_state(N_("The question is open already.")),
    ErrorCode.NOT_DRAINED: VotingError(ErrorCode.NOT_DRAINED),
    ErrorCode.UNAVAILABLE: VotingError(ErrorCode.UNAVAILABLE),
    ErrorCode.NOT_LOGGED_YET: VotingError(ErrorCode.NOT_LOGGED_YET),
    ErrorCode.RECEIPTS_OFF: VotingError(ErrorCode.RECEIPTS_OFF),
    ErrorCode.QUOTA_EXCEEDED: VotingError(ErrorCode.QUOTA_EXCEEDED, quota_mb=100),
    ErrorCode.RESULTS_HIDDEN: VotingError(ErrorCode.RESULTS_HIDDEN),
    ErrorCode.INVALID_PHONE: VotingError(ErrorCode.INVALID_PHONE),
    ErrorCode.BAD_CODE: VotingError(ErrorCode.BAD_CODE),
    ErrorCode.WRONG_CODE: VotingError(ErrorCode.WRONG_CODE, attempts_left=3),
    ErrorCode.CODE_EXPIRED: VotingError(ErrorCode.CODE_EXPIRED),
    ErrorCode.BAD_SIGN_IN: VotingError(ErrorCode.BAD_SIGN_IN),
    ErrorCode.PASSWORD_CHANGE_REQUIRED: VotingError(ErrorCode.PASSWORD_CHANGE_REQUIRED),
    ErrorCode.NOT_ADMIN: VotingError(ErrorCode.NOT_ADMIN),
    ErrorCode.NOT_OFFICIAL: VotingError(ErrorCode.NOT_OFFICIAL),
    ErrorCode.NOT_AUTHOR: VotingError(ErrorCode.NOT_AUTHOR),
    ErrorCode.WRONG_FILE_TYPE: VotingError(ErrorCode.WRONG_FILE_TYPE),
    ErrorCode.BROKEN_FILE: VotingError(ErrorCode.BROKEN_FILE),
    ErrorCode.EMPTY_FILE: VotingError(ErrorCode.EMPTY_FILE),
    ErrorCode.FILE_TOO_LARGE: VotingError(ErrorCode.FILE_TOO_LARGE, max_mb=10),
    ErrorCode.FORMULA_IN_FILE: VotingError(ErrorCode.FORMULA_IN_FILE, cell="B7"),
    ErrorCode.TOO_MANY_ROWS: VotingError(ErrorCode.TOO_MANY_ROWS, max="100,000"),
    ErrorCode.BLANK_ROWS: VotingError(ErrorCode.BLANK_ROWS, row=3, run="1,000"),
    ErrorCode.NO_PHONE_COLUMN: VotingError(ErrorCode.NO_PHONE_COLUMN),
    ErrorCode.FULL: VotingError(ErrorCode.FULL),
    ErrorCode.PROFILE_INCOMPLETE: VotingError(ErrorCode.PROFILE_INCOMPLETE),
    ErrorCode.POSITION_NEEDED: VotingError(ErrorCode.POSITION_NEEDED),
    ErrorCode.OUT_OF_AREA: VotingError(ErrorCode.OUT_OF_AREA),
    ErrorCode.SITE_CODE_NEEDED: VotingError(ErrorCode.SITE_CODE_NEEDED),
    ErrorCode.WRONG_SITE_CODE: VotingError(ErrorCode.WRONG_SITE_CODE),
    ErrorCode.NOT_MONITOR: VotingError(ErrorCode.NOT_MONITOR),
    ErrorCode.PROHIBITED_WORD: VotingError(ErrorCode.PROHIBITED_WORD, word="광고"),
    ErrorCode.COMMENTS_OFF: VotingError(ErrorCode.COMMENTS_OFF),
    ErrorCode.EDIT_TIME_OVER: VotingError(ErrorCode.EDIT_TIME_OVER, minutes=5),
    ErrorCode.POLL_HIDDEN: VotingError(ErrorCode.POLL_HIDDEN, reason="광고"),
}
EVERY_CODE[ErrorCode.BAD_REQUEST] = bad_request(
    N_("{name} is longer than {limit} characters"),
    name=bad_request(N_("title")).fields["detail"],
    limit=500,
)


def test_every_code_has_an_http_status() -> None:
    """A refusal raised over HTTP is answered with its status, never a server error."""
    assert [c for c in ErrorCode if c not in HTTP_STATUS] == []
    assert {status // 100 for status in HTTP_STATUS.values()} <= {4, 5}


def test_the_table_has_every_code() -> None:
    assert set(EVERY_CODE) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_every_code_reads_whole_in_both_languages(code: ErrorCode) -> None:
    err = EVERY_CODE[code]
    assert err.code is code
    assert_english(err.message)
    assert_korean(err.text(KO))
    assert err.as_dict(KO)["message"] == err.text(KO)


@pytest.fixture
async def owner(node: Node) -> AsyncIterator[Host]:
    async with signed_in(node.url, "owner@example.org") as host:
        host.http.headers["accept-language"] = "ko-KR,ko;q=0.9"
        yield host


async def _refusal(r: Any, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    message: str = error["message"]
    assert_korean(message)
    return message


async def test_real_refusals_of_the_api_read_whole_in_korean(owner: Host) -> None:
    room = await create_room(owner.http)
    q = await add_question(owner.http, room["id"], title="A")
    base = f"/api/rooms/{room['id']}"
    # The agenda: nothing left after its end, nothing before the first.
    assert (await owner.http.post(f"{base}/next")).status_code == 200
    assert (await owner.http.post(f"{base}/next")).json()["current"] is None
    await _refusal(await owner.http.post(f"{base}/next"), 409, "invalid_state")
    assert (await owner.http.post(f"{base}/current", json={"question": q["id"]})).status_code == 200
    await _refusal(await owner.http.post(f"{base}/previous"), 409, "invalid_state")
    # A closed question's results cannot be hidden; it can no longer be edited or deleted.
    await _refusal(await owner.http.post(f"/api/questions/{q['id']}/hide"), 409, "invalid_state")
    await _refusal(
        await owner.http.patch(f"/api/questions/{q['id']}", json={"title": "B"}),
        409,
        "invalid_state",
    )
    await _refusal(await owner.http.delete(f"/api/questions/{q['id']}"), 409, "invalid_state")
    await _refusal(await owner.http.post(f"/api/questions/{q['id']}/close"), 409, "invalid_state")
    await _refusal(await owner.http.post("/api/rooms/nope1/next"), 404, "not_found")
    await _refusal(await owner.http.post(f"/api/questions/{q['id']}/fly2"), 404, "not_found")
    await _refusal(
        await owner.http.post(f"{base}/questions", json={"title": "", "options": "A,B"}),
        400,
        "bad_request",
    )
    await _refusal(
        await owner.http.post(f"{base}/questions", json={"title": "T", "kind": "x"}),
        400,
        "bad_request",
    )
    await _refusal(
        await owner.http.post(f"{base}/order", json={"questions": []}), 400, "bad_request"
    )
    await _refusal(
        await owner.http.post(f"{base}/current", json={"question": "zz9"}), 404, "not_found"
    )


async def test_socket_refusals_are_in_the_connections_language(node: Node, owner: Host) -> None:
    room = await create_room(owner.http)
    q = await add_question(owner.http, room["id"], kind="multiple", max_choices=2)
    await owner.http.post(f"/api/questions/{q['id']}/open")
    async with connect(node.url, headers={"Cookie": "mv_lang=ko"}) as phone:
        assert (await phone.join(room["number"], key=room["key"]))["ok"]
        ack = await phone.vote(q["id"], [0, 1, 2])
        assert ack["error"]["code"] == "too_many_choices"
        assert_korean(ack["error"]["message"])
        assert "2" in ack["error"]["message"]
        ack = await phone.call("vote", {"question": q["id"]})
        assert ack["error"]["code"] == "bad_request"
        assert_korean(ack["error"]["message"])
    async with connect(node.url) as phone:  # no language: English
        ack = await phone.call("vote", {"question": q["id"], "choices": [0]})
        assert ack["error"] == {"code": "not_joined", "message": "Join a room before voting."}
