"""Rosters over HTTP with the real job worker: a file uploaded, previewed with its refused
rows before anything is saved, confirmed into groups; bad files refused whole; a large
file imported in the background with its progress; groups edited, and the roster sets
of the polls that target them kept in step; the numbers written nowhere."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa

from live.engines import db
from live.jobs import JobWorker, running_jobs
from live.polls import store as polls
from live.rosters.files import MAX_BYTES
from live.rosters.polls import attach
from live.services import Services
from live.settings import Settings
from rooms.citizens.phones import normalise, phone_ref
from rooms.errors import ErrorCode
from rooms.polls import Author, PollStatus, check_poll
from rooms.questions import build_question
from tests.conftest import Node, run_node
from tests.live.citizenry import make_official, official
from tests.live.hosting import Host, signed_in

MiB = 1024 * 1024
#: One number three ways, and others.
KIM = ("010-2345-6789", "01023456789", "+82 10 2345 6789")
LEE, PARK, CHOI = "010-9876-5432", "010-2222-3333", "010-3333-4444"


@pytest.fixture
async def jobs(svc: Services) -> AsyncIterator[JobWorker]:
    async with running_jobs(svc) as worker:
        yield worker


@pytest.fixture
async def host(node: Node, jobs: JobWorker) -> AsyncIterator[Host]:
    async with signed_in(node.url, "roster@example.org") as h:
        yield h


def workbook(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def with_sheet(data: bytes, xml: str) -> bytes:
    """The workbook ``data`` with its first sheet's XML replaced by ``xml``."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            dst.writestr(
                item.filename, xml if item.filename == "xl/worksheets/sheet1.xml" else body
            )
    return out.getvalue()


SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


async def send(http: httpx.AsyncClient, name: str, data: bytes) -> httpx.Response:
    return await http.post(
        "/api/rosters/uploads",
        params={"name": name},
        content=data,
        headers={"content-type": "application/octet-stream"},
    )


async def settle(
    http: httpx.AsyncClient, upload_id: str, *, seen: list[tuple[str, int]] | None = None
) -> dict[str, Any]:
    """The upload once its job is done with it (ready, failed or done), every state and
    progress seen on the way kept in ``seen``."""
    deadline = time.monotonic() + 60
    while True:
        r = await http.get(f"/api/rosters/uploads/{upload_id}")
        assert r.status_code == 200, r.text
        upload: dict[str, Any] = r.json()["upload"]
        if seen is not None:
            seen.append((upload["state"], upload["done"]))
        if upload["state"] in ("ready", "failed", "done"):
            return upload
        assert time.monotonic() < deadline, upload
        await asyncio.sleep(0.05)


async def checked(http: httpx.AsyncClient, name: str, data: bytes) -> dict[str, Any]:
    r = await send(http, name, data)
    assert r.status_code == 202, r.text
    assert r.json()["upload"]["state"] == "queued"
    return await settle(http, r.json()["upload"]["id"])


async def confirmed(http: httpx.AsyncClient, upload_id: str, **choice: Any) -> dict[str, Any]:
    r = await http.post(f"/api/rosters/uploads/{upload_id}/confirm", json=choice)
    assert r.status_code == 202, r.text
    assert r.json()["upload"]["state"] == "saving"
    done = await settle(http, upload_id)
    assert done["state"] == "done", done
    return done


async def groups(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await http.get("/api/rosters")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["groups"]
    return found


def ref(settings: Settings, phone: str) -> str:
    return phone_ref(settings.phone_pepper.reveal(), normalise(phone))


async def members(svc: Services, group_id: str) -> set[str]:
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.roster_members.c.phone_ref).where(db.roster_members.c.group_id == group_id)
        )
        return set(rows.scalars())


async def test_a_workbook_is_previewed_with_its_refusals_then_saved_into_a_new_group(
    host: Host, svc: Services
) -> None:
    data = workbook(
        [
            ["번호", "전화번호", "이름"],
            [1, KIM[0], "김민지"],
            [2, "02-123-4567", "서울시청"],  # a landline
            [3, "hello", "Lee"],
            [4, KIM[2], "Kim again"],  # the first row's number, written otherwise
            [5, None, "Park"],
            [6, 1098765432, "이서준"],  # a number saved as a number: its 0 lost
            [None, None, None],
            [8, "+82 2 123 4567", "Landline"],
        ]
    )
    upload = await checked(host.http, "명단.xlsx", data)
    assert upload["state"] == "ready", upload
    preview = upload["preview"]
    # The number column is B (its header), not A ("번호" is no phone column's).
    assert preview["columns"] == {"phone": "B", "name": "C", "group": None, "header": True}
    assert preview["accepted"] == 2 and preview["rows"] == 7
    assert preview["sample"] == [
        {"line": 2, "name": "김민지", "group": ""},
        {"line": 7, "name": "이서준", "group": ""},
    ]
    assert [
        (r["line"], r["cell"], r["reason"], r["name"], r["why"]) for r in preview["refused"]
    ] == [
        (3, "B3", "not_mobile", "서울시청", "not a mobile number"),
        (4, "B4", "not_a_number", "Lee", "not a phone number"),
        (5, "B5", "duplicate", "Kim again", "the same number as row 2"),
        (6, "B6", "no_number", "Park", "no number"),
        (9, "B9", "not_mobile", "Landline", "not a mobile number"),
    ]
    assert preview["refused_count"] == 5
    assert await groups(host.http) == []  # nothing saved before the host confirms

    done = await confirmed(host.http, upload["id"], name="  Volunteers ")
    [saved] = done["result"]["groups"]
    assert (saved["name"], saved["size"], saved["added"]) == ("Volunteers", 2, 2)
    assert await groups(host.http) == [{"id": saved["id"], "name": "Volunteers", "size": 2}]
    assert await members(svc, saved["id"]) == {
        ref(svc.settings, KIM[1]),
        ref(svc.settings, "01098765432"),
    }
    r = await host.http.get(f"/api/rosters/{saved['id']}")
    assert sorted(m["name"] for m in r.json()["members"]) == ["김민지", "이서준"]
    # Confirmed once only.
    r = await host.http.post(f"/api/rosters/uploads/{upload['id']}/confirm", json={"name": "B"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_state")

    # Into the same group again: the numbers already there are not added twice.
    again = await checked(
        host.http, "more.xlsx", workbook([["phone", "name"], [KIM[0], ""], [PARK, "Park"]])
    )
    done = await confirmed(host.http, again["id"], group=saved["id"])
    assert [(g["name"], g["size"], g["added"]) for g in done["result"]["groups"]] == [
        ("Volunteers", 3, 1)
    ]


async def test_a_korean_csv_with_a_group_column_makes_several_groups(host: Host) -> None:
    rows = [
        ["이름", "휴대폰", "그룹"],
        ["김민지", KIM[0], "마포구 주민"],
        ["이서준", LEE, "강남구 주민"],
        ["박지호", PARK, "마포구 주민"],
        ["최유나", CHOI, ""],
    ]
    upload = await checked(host.http, "roster.csv", csv_bytes(rows, "cp949"))  # as Excel saves it
    preview = upload["preview"]
    assert preview["columns"] == {"phone": "B", "name": "A", "group": "C", "header": True}
    assert preview["groups"] == [
        {"name": "마포구 주민", "count": 2},
        {"name": "강남구 주민", "count": 1},
    ]
    assert preview["ungrouped"] == 1
    r = await host.http.post(
        f"/api/rosters/uploads/{upload['id']}/confirm", json={"by_column": True}
    )
    assert r.status_code == 400 and "rows that have none" in r.json()["error"]["message"]
    done = await confirmed(host.http, upload["id"], by_column=True, name="기타")
    made = {g["name"]: g["size"] for g in done["result"]["groups"]}
    assert made == {"기타": 1, "마포구 주민": 2, "강남구 주민": 1}
    assert sorted(g["name"] for g in await groups(host.http)) == sorted(made)

    # A later file's group column reuses the host's group of the same name.
    later = await checked(
        host.http, "later.csv", csv_bytes([["phone", "group"], ["010-5555-6666", "기타"]])
    )
    done = await confirmed(host.http, later["id"], by_column=True)
    assert [(g["name"], g["size"]) for g in done["result"]["groups"]] == [("기타", 2)]
    assert len(await groups(host.http)) == 3


async def test_a_first_column_of_numbers_needs_no_header(host: Host) -> None:
    data = f"{KIM[0]}\n{LEE}\n\nnot a number\n".encode()
    upload = await checked(host.http, "numbers.csv", data)
    preview = upload["preview"]
    assert preview["columns"] == {"phone": "A", "name": None, "group": None, "header": False}
    assert preview["accepted"] == 2
    assert [(r["line"], r["reason"]) for r in preview["refused"]] == [(4, "not_a_number")]


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + f']><worksheet xmlns="{SHEET_NS}"><sheetData><row r="1">'
    + '<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)


def _blank_sheet() -> str:
    """A header, a number, a million empty rows, then a number never read."""
    empty = "".join(f'<row r="{i}"/>' for i in range(3, 1_000_003))
    return (
        f'<worksheet xmlns="{SHEET_NS}"><dimension ref="A1:A1000003"/><sheetData>'
        f'<row r="1">{inline("A1", "phone")}</row><row r="2">{inline("A2", KIM[0])}</row>'
        f'{empty}<row r="1000003">{inline("A1000003", LEE)}</row></sheetData></worksheet>'
    )


BASE = workbook([["phone"], [KIM[0]]])

#: Files refused when they are sent: (name, bytes, status, code).
REFUSED_AT_ONCE = [
    pytest.param(
        "a.xlsx", csv_bytes([["phone"], [KIM[0]]]), 415, "wrong_file_type", id="csv-named-xlsx"
    ),
    pytest.param("a.xlsx", b"just some text\n", 415, "wrong_file_type", id="text-named-xlsx"),
    pytest.param("a.csv", BASE, 415, "wrong_file_type", id="xlsx-named-csv"),
    pytest.param("a.xls", BASE, 415, "wrong_file_type", id="old-excel"),
    pytest.param("a.pdf", b"%PDF-1.4", 415, "wrong_file_type", id="pdf"),
    pytest.param("a.csv", b"", 422, "empty_file", id="empty"),
    pytest.param("a.csv", b"x" * (MAX_BYTES + 1), 413, "file_too_large", id="past-the-size"),
]

#: Files refused by the job that reads them: (name, bytes, code, sentence).
REFUSED_BY_THE_JOB = [
    pytest.param("a.csv", b"phone\n", "empty_file", "The file holds no rows.", id="header-only"),
    pytest.param(
        "a.xlsx", b"PK\x03\x04" + b"\x00" * 200, "broken_file",
        "The file is damaged or holds content that is not allowed; save it again from your "
        "spreadsheet program.", id="broken-zip",
    ),
    pytest.param(
        "a.xlsx", with_sheet(BASE, "<worksheet><sheetData><row>"), "broken_file",
        "The file is damaged or holds content that is not allowed; save it again from your "
        "spreadsheet program.", id="broken-xml",
    ),
    pytest.param(
        "a.xlsx", with_sheet(BASE, BILLION_LAUGHS), "broken_file",
        "The file is damaged or holds content that is not allowed; save it again from your "
        "spreadsheet program.", id="billion-laughs",
    ),
    pytest.param(
        "a.xlsx", workbook([["phone", "name"], [KIM[0], "Kim"], [LEE, '=HYPERLINK("http://x.example","Lee")']]),
        "formula_in_file", "Cell B3 holds a formula; save the sheet with plain values only.",
        id="xlsx-formula",
    ),
    pytest.param(
        "a.csv", csv_bytes([["phone"], [KIM[0]], ["=1+1"]]), "formula_in_file",
        "Cell A3 holds a formula; save the sheet with plain values only.", id="csv-formula",
    ),
    pytest.param(
        "a.csv", b"phone\n" + b"x\n" * 100_001, "too_many_rows",
        "The file has more than 100,000 rows; split it into smaller files.", id="too-many-rows",
    ),
    pytest.param(
        "a.csv", csv_bytes([["city", "ward"], ["Seoul", "Mapo"]]), "no_phone_column",
        "No column of phone numbers was found: head it 전화번호 or phone, or put the numbers "
        "in the first column.", id="no-phone-column",
    ),
]  # fmt: skip


async def _nothing_saved(host: Host, svc: Services) -> None:
    assert await groups(host.http) == []
    async with svc.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(db.roster_members)) == 0
    rows = [k async for k in svc.redis.scan_iter(match=svc.keys.prefix + "{ru:*}:rows")]
    assert rows == []


@pytest.mark.parametrize(("name", "data", "status", "code"), REFUSED_AT_ONCE)
async def test_a_file_of_the_wrong_type_or_size_is_refused_when_sent(
    host: Host, svc: Services, name: str, data: bytes, status: int, code: str
) -> None:
    r = await send(host.http, name, data)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"].endswith(".")
    await _nothing_saved(host, svc)
    assert [k async for k in svc.redis.scan_iter(match=svc.keys.prefix + "{ru:*")] == []


@pytest.mark.parametrize(("name", "data", "code", "message"), REFUSED_BY_THE_JOB)
async def test_a_bad_file_is_refused_whole_by_the_job_and_changes_nothing(
    host: Host, svc: Services, name: str, data: bytes, code: str, message: str
) -> None:
    started = time.monotonic()
    upload = await checked(host.http, name, data)
    assert time.monotonic() - started < 20  # the entities are not expanded, say
    assert upload["state"] == "failed", upload
    assert upload["error"] == {"code": code, "message": message}
    assert "preview" not in upload
    await _nothing_saved(host, svc)
    # The file itself is gone from Valkey once read.
    assert [k async for k in svc.redis.scan_iter(match=svc.keys.prefix + "{ru:*}:file")] == []


async def test_a_million_blank_rows_are_not_read_and_refuse_the_file(
    host: Host, svc: Services
) -> None:
    """Reading stops a thousand blank rows after the first number; since rows follow them,
    which are not read (a number among them here), the file is refused, naming the row."""
    started = time.monotonic()
    upload = await checked(host.http, "blank.xlsx", with_sheet(BASE, _blank_sheet()))
    assert time.monotonic() - started < 20
    assert upload["state"] == "failed", upload
    assert upload["error"]["code"] == "blank_rows"
    assert upload["error"]["message"].startswith("From row 3 the sheet has 1,000 blank rows")
    assert "preview" not in upload
    await _nothing_saved(host, svc)


async def test_blank_rows_at_the_end_of_a_sheet_are_only_skipped(host: Host) -> None:
    """A thousand blank rows with nothing after them end the sheet: the numbers before
    them are taken."""
    empty = "".join(f'<row r="{i}"/>' for i in range(3, 1003))
    sheet = (
        f'<worksheet xmlns="{SHEET_NS}"><sheetData>'
        f'<row r="1">{inline("A1", "phone")}</row><row r="2">{inline("A2", KIM[0])}</row>'
        f"{empty}</sheetData></worksheet>"
    )
    upload = await checked(host.http, "tail.xlsx", with_sheet(BASE, sheet))
    assert upload["state"] == "ready", upload
    assert upload["preview"]["accepted"] == 1


async def test_uploads_need_a_signed_in_host(node: Node) -> None:
    async with httpx.AsyncClient(base_url=node.url) as anyone:
        r = await send(anyone, "a.csv", b"phone\n010-2345-6789\n")
        assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
        assert (await anyone.get("/api/rosters")).status_code == 401
        r = await anyone.get("/host/rosters", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/host/signin?next=/host/rosters"


async def test_another_hosts_upload_and_groups_are_not_found(node: Node, host: Host) -> None:
    upload = await checked(host.http, "a.csv", f"phone\n{KIM[0]}\n".encode())
    done = await confirmed(host.http, upload["id"], name="Mine")
    group_id = done["result"]["groups"][0]["id"]
    async with signed_in(node.url, "other@example.org") as other:
        for r in (
            await other.http.get(f"/api/rosters/uploads/{upload['id']}"),
            await other.http.get(f"/api/rosters/{group_id}"),
            await other.http.patch(f"/api/rosters/{group_id}", json={"name": "Theirs"}),
            await other.http.delete(f"/api/rosters/{group_id}"),
            await other.http.post(f"/api/rosters/{group_id}/members", json={"phone": LEE}),
        ):
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), r.text
        assert await groups(other.http) == []
    assert await groups(host.http) == [{"id": group_id, "name": "Mine", "size": 1}]


def _valid_numbers(n: int) -> list[str]:
    found: list[str] = []
    i = 0
    while len(found) < n:
        number = f"010-{2000 + i // 10_000:04d}-{i % 10_000:04d}"
        i += 1
        try:
            normalise(number)
        except Exception:
            continue
        found.append(number)
    return found


async def test_a_50000_row_file_is_imported_in_the_background_with_its_progress(
    host: Host, svc: Services
) -> None:
    numbers = _valid_numbers(50_000)
    data = workbook([["전화번호", "이름"], *([p, f"시민 {i}"] for i, p in enumerate(numbers))])
    r = await send(host.http, "city.xlsx", data)
    assert r.status_code == 202, r.text
    upload_id = r.json()["upload"]["id"]
    seen: list[tuple[str, int]] = []
    upload = await settle(host.http, upload_id, seen=seen)
    assert upload["state"] == "ready" and upload["preview"]["accepted"] == 50_000
    reading = [done for state, done in seen if state == "parsing"]
    assert len(set(reading)) >= 3 and reading == sorted(reading), seen
    r = await host.http.post(f"/api/rosters/uploads/{upload_id}/confirm", json={"name": "City"})
    assert r.status_code == 202
    seen.clear()
    done = await settle(host.http, upload_id, seen=seen)
    saving = [d for state, d in seen if state == "saving"]
    # Progress part-way, never backwards; the last poll may catch the save at its end.
    assert len(set(saving)) >= 3 and saving == sorted(saving) and saving[0] < 50_000, seen
    assert done["state"] == "done" and done["done"] == done["total"] == 50_000
    [group] = await groups(host.http)
    assert group["size"] == 50_000


@pytest.mark.parametrize(
    ("offset", "listed"),
    [
        pytest.param("0", 1, id="the-first-page"),
        pytest.param("1", 0, id="just-past-the-end"),
        pytest.param(str(10**25), 0, id="past-the-database-integers"),
    ],
)
async def test_a_page_of_a_group_past_its_end_is_empty(
    host: Host, offset: str, listed: int
) -> None:
    http = host.http
    group = (await http.post("/api/rosters", json={"name": "A"})).json()["group"]
    r = await http.post(f"/api/rosters/{group['id']}/members", json={"phone": LEE, "name": "Lee"})
    assert r.status_code == 201, r.text
    r = await http.get(f"/api/rosters/{group['id']}", params={"offset": offset, "limit": "10"})
    assert r.status_code == 200, r.text
    assert len(r.json()["members"]) == listed
    assert r.json()["group"]["size"] == 1


async def test_a_group_is_edited_renamed_and_deleted(host: Host, svc: Services) -> None:
    http = host.http
    a = (await http.post("/api/rosters", json={"name": "A"})).json()["group"]
    b = (await http.post("/api/rosters", json={"name": "B"})).json()["group"]
    r = await http.post("/api/rosters", json={"name": "A"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")

    r = await http.post(f"/api/rosters/{a['id']}/members", json={"phone": KIM[0], "name": "Kim"})
    assert r.status_code == 201, r.text
    kim = r.json()["member"]
    assert kim == {"member": ref(svc.settings, KIM[0]), "name": "Kim"}
    for written in KIM[1:]:  # the same number however written
        r = await http.post(f"/api/rosters/{a['id']}/members", json={"phone": written})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    r = await http.post(f"/api/rosters/{a['id']}/members", json={"phone": "02-123-4567"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_phone")
    await http.post(f"/api/rosters/{a['id']}/members", json={"phone": LEE, "name": "Lee"})

    r = await http.post(
        f"/api/rosters/{a['id']}/members/move", json={"phone": KIM[2], "to": b["id"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["to"]["size"] == 1
    assert await members(svc, b["id"]) == {kim["member"]}
    r = await http.get(f"/api/rosters/{b['id']}")
    assert r.json()["members"] == [kim]  # the name moved with it
    r = await http.post(
        f"/api/rosters/{a['id']}/members/remove", json={"member": ref(svc.settings, LEE)}
    )
    assert r.status_code == 200 and r.json()["group"]["size"] == 0
    r = await http.post(f"/api/rosters/{a['id']}/members/remove", json={"phone": LEE})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")

    r = await http.patch(f"/api/rosters/{a['id']}", json={"name": "B"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    r = await http.patch(f"/api/rosters/{a['id']}", json={"name": "Renamed"})
    assert r.json()["group"]["name"] == "Renamed"
    r = await http.delete(f"/api/rosters/{a['id']}")
    assert r.status_code == 200
    assert await groups(http) == [{"id": b["id"], "name": "B", "size": 1}]


async def _poll(svc: Services, questions: int = 2) -> polls.Poll:
    """A poll opening in an hour (its author a citizen: who made it is no matter here)."""
    from tests.live.citizenry import make_citizen

    async with svc.engine.connect() as conn:
        authors = await conn.scalar(sa.select(sa.func.count()).select_from(db.citizens))
    if not authors:
        await make_citizen(svc, "010-8888-9999")
    async with svc.engine.connect() as conn:
        author = await conn.scalar(sa.select(db.citizens.c.id))
    now = int(time.time() * 1000)
    spec = check_poll(
        {
            "title": "Which bus route first?",
            "area": "transport",
            "opens_ms": now + 3_600_000,
            "closes_ms": now + 7_200_000,
        },
        now_ms=now,
    )
    qs = [build_question(f"Q{i}", "single", "Yes,No") for i in range(questions)]
    return await polls.create_poll(svc, spec, qs, Author(citizen_id=author))


async def roster_set(svc: Services, qid: str) -> set[str]:
    return set(await svc.redis.smembers(svc.keys.roster(qid)))


async def test_a_polls_roster_follows_its_groups_while_the_poll_is_not_closed(
    host: Host, svc: Services
) -> None:
    http, s = host.http, svc.settings
    a = (await http.post("/api/rosters", json={"name": "A"})).json()["group"]["id"]
    b = (await http.post("/api/rosters", json={"name": "B"})).json()["group"]["id"]
    for group, phones_in in ((a, (KIM[0], LEE)), (b, (LEE, PARK))):
        for p in phones_in:
            assert (
                await http.post(f"/api/rosters/{group}/members", json={"phone": p})
            ).status_code == 201
    poll = await _poll(svc)
    q1, q2 = poll.question_ids

    with pytest.raises(Exception) as refused:  # another host's group, or none
        await attach(svc, poll.id, list(poll.question_ids), (a, "nosuchgroup"), host.id)
    assert getattr(refused.value, "code", None) is ErrorCode.NOT_FOUND
    assert await roster_set(svc, q1) == set()

    await attach(svc, poll.id, list(poll.question_ids), (a, b), host.id)
    everyone = {ref(s, KIM[0]), ref(s, LEE), ref(s, PARK)}
    assert await roster_set(svc, q1) == await roster_set(svc, q2) == everyone

    # LEE is in both groups: removed from one, the poll keeps it.
    await http.post(f"/api/rosters/{a}/members/remove", json={"phone": LEE})
    assert await roster_set(svc, q1) == everyone
    await http.post(f"/api/rosters/{b}/members/remove", json={"phone": LEE})
    assert await roster_set(svc, q2) == everyone - {ref(s, LEE)}
    await http.post(f"/api/rosters/{a}/members", json={"phone": CHOI})
    assert ref(s, CHOI) in await roster_set(svc, q1)
    # A move between two groups of the poll keeps the number on its roster.
    r = await http.post(f"/api/rosters/{a}/members/move", json={"phone": KIM[1], "to": b})
    assert r.status_code == 200
    assert ref(s, KIM[0]) in await roster_set(svc, q1)
    # A file confirmed into a targeted group reaches the poll too.
    upload = await checked(http, "late.csv", b"phone\n010-7777-8888\n")
    await confirmed(http, upload["id"], group=b)
    assert ref(s, "010-7777-8888") in await roster_set(svc, q2)

    r = await http.delete(f"/api/rosters/{a}")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_state")
    assert "Which bus route first?" in r.json()["error"]["message"]
    r = await http.get(f"/api/rosters/{a}")
    assert r.json()["polls"] == [
        {"id": poll.id, "title": "Which bus route first?", "status": "scheduled"}
    ]

    # Once the poll is closed its roster stays as it was, and the group may go.
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.polls.update().where(db.polls.c.id == poll.id).values(status=str(PollStatus.CLOSED))
        )
    before = await roster_set(svc, q1)
    await http.post(f"/api/rosters/{b}/members/remove", json={"phone": PARK})
    await http.post(f"/api/rosters/{b}/members", json={"phone": "010-4444-5555"})
    assert await roster_set(svc, q1) == before
    assert (await http.delete(f"/api/rosters/{a}")).status_code == 200


async def test_a_citizens_reference_is_the_roster_entrys_however_the_number_is_written(
    host: Host, svc: Services, node: Node
) -> None:
    from tests.live.citizenry import citizen, make_citizen

    await make_citizen(svc, KIM[1])
    async with citizen(node.url, KIM[2]) as kim:
        async with svc.engine.connect() as conn:
            account_ref = await conn.scalar(
                sa.select(db.citizens.c.phone_ref).where(db.citizens.c.id == kim.id)
            )
    upload = await checked(host.http, "kim.csv", csv_bytes([["phone"], *([k] for k in KIM)]))
    assert upload["preview"]["accepted"] == 1
    assert [r["reason"] for r in upload["preview"]["refused"]] == ["duplicate", "duplicate"]
    done = await confirmed(host.http, upload["id"], name="Kim")
    assert await members(svc, done["result"]["groups"][0]["id"]) == {account_ref}


def _forms(e164: str) -> list[bytes]:
    national = "0" + e164[3:]
    return [
        e164.encode(),
        e164[1:].encode(),
        national.encode(),
        f"{national[:3]}-{national[3:7]}-{national[7:]}".encode(),
        e164[3:].encode(),  # the digits after the country code (a number saved as a number)
    ]


async def test_the_roster_numbers_are_written_nowhere(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """After uploads (a workbook, a CSV, refused files), confirmations and every edit by
    number, no form of any number is in the database file, any Valkey key or value, any
    log line or any HTTP response."""
    caplog.set_level(logging.DEBUG)
    responses: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        responses.append(response)

    numbers = [KIM[0], LEE, PARK, CHOI, "010-5555-6666"]
    async with run_node(settings) as node, open_svc(settings) as svc, running_jobs(svc):
        async with httpx.AsyncClient(base_url=node.url, event_hooks={"response": [keep]}) as http:
            r = await http.post(
                "/api/hosts", json={"email": "h@example.org", "password": "correct horse"}
            )
            assert r.status_code == 201
            x = await checked(
                http,
                "a.xlsx",
                workbook(
                    [["phone", "name"], [KIM[0], "Kim"], [1098765432, "Lee"], [KIM[2], "dup"]]
                ),
            )
            c = await checked(
                http,
                "b.csv",
                csv_bytes([["phone", "group"], [PARK, "G1"], [CHOI, "G2"], ["02-123-4567", "G1"]]),
            )
            await checked(http, "c.csv", csv_bytes([["phone"], [PARK], ["=1+1"]]))
            await send(http, "d.xlsx", csv_bytes([["phone"], [PARK]]))
            done = await confirmed(http, x["id"], name="X")
            await confirmed(http, c["id"], by_column=True)
            gx = done["result"]["groups"][0]["id"]
            g1 = next(g["id"] for g in await groups(http) if g["name"] == "G1")
            await http.post(
                f"/api/rosters/{gx}/members", json={"phone": "010-5555-6666", "name": "N"}
            )
            await http.post(f"/api/rosters/{gx}/members/move", json={"phone": KIM[1], "to": g1})
            await http.post(f"/api/rosters/{gx}/members/remove", json={"phone": LEE})
            await http.post(f"/api/rosters/{gx}/members/remove", json={"phone": LEE})  # refused
            await http.get(f"/api/rosters/{gx}")
            assert (await http.get(f"/host/rosters/{g1}")).status_code == 200
            assert (await http.get("/host/rosters")).status_code == 200
    forms = [f for p in numbers for f in _forms(normalise(p))]

    def clean(where: str, data: bytes) -> None:
        for form in forms:
            assert form not in data, f"{form!r} in {where}"

    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "mvoting.db" for p in files)
    for path in files:
        clean(str(path), path.read_bytes())
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url or "")
    try:
        keys = [k async for k in redis.scan_iter(match=settings.key_prefix + "*")]
        assert len(keys) > 3
        for key in keys:
            clean(f"the key {key!r}", key)
            clean(f"the value of {key!r}", await redis.dump(key) or b"")
    finally:
        await redis.aclose()
    for record in caplog.records:
        clean(f"the log line {record.getMessage()!r}", record.getMessage().encode())
    assert len(responses) > 15
    for response in responses:
        clean(f"a response to {response.request.url}", response.content)
        clean(f"the headers of {response.request.url}", str(response.headers).encode())


def open_svc(settings: Settings) -> Any:
    from live.services import open_services

    return open_services(settings)


async def test_a_host_who_is_not_an_official_is_told_rosters_limit_no_poll_of_theirs(
    host: Host, node: Node, svc: Services
) -> None:
    page = await host.http.get("/host/rosters")
    assert page.status_code == 200
    assert 'data-testid="not-official"' in page.text
    assert 'href="/host/rosters"' not in (await host.http.get("/host")).text
    once = await make_official(svc, "rosters@seoul.go.kr", "Civil Affairs Division")
    async with official(node.url, "rosters@seoul.go.kr", once) as desk:
        assert 'href="/host/rosters"' in (await desk.http.get("/host")).text
        page = await desk.http.get("/host/rosters")
        assert page.status_code == 200 and 'data-testid="not-official"' not in page.text


async def test_one_group_limits_two_polls_and_its_edits_reach_both(
    host: Host, svc: Services
) -> None:
    http, s = host.http, svc.settings
    group = (await http.post("/api/rosters", json={"name": "Board"})).json()["group"]["id"]
    for p in (KIM[0], LEE):
        await http.post(f"/api/rosters/{group}/members", json={"phone": p})
    first, second = await _poll(svc), await _poll(svc)
    for poll in (first, second):
        await attach(svc, poll.id, list(poll.question_ids), (group,), host.id)
    both = {ref(s, KIM[0]), ref(s, LEE)}
    for poll in (first, second):
        assert {q: await roster_set(svc, q) for q in poll.question_ids} == {
            q: both for q in poll.question_ids
        }
    await http.post(f"/api/rosters/{group}/members", json={"phone": PARK})
    await http.post(f"/api/rosters/{group}/members/remove", json={"phone": LEE})
    after = {ref(s, KIM[0]), ref(s, PARK)}
    for poll in (first, second):
        for q in poll.question_ids:
            assert await roster_set(svc, q) == after
    listed = (await http.get(f"/api/rosters/{group}")).json()["polls"]
    assert sorted(p["id"] for p in listed) == sorted([first.id, second.id])


async def test_a_50_mb_upload_without_a_length_is_cut_off_while_it_streams(
    host: Host, svc: Services
) -> None:
    """Sent chunked (no Content-Length to refuse it by), 50 MB are read only up to the
    limit: 413 file_too_large, and nothing kept."""
    sent = 0

    async def fifty_megabytes() -> Any:
        nonlocal sent
        chunk = b"010-1234-5678\n" * 4681  # about 64 KiB
        while sent < 50 * 1024 * 1024:
            sent += len(chunk)
            yield chunk

    r = await host.http.post(
        "/api/rosters/uploads",
        params={"name": "big.csv"},
        content=fifty_megabytes(),
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large", r.text
    await _nothing_saved(host, svc)
    assert [k async for k in svc.redis.scan_iter(match=svc.keys.prefix + "{ru:*")] == []
