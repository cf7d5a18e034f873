"""Results for people: one question as CSV or XLSX, and a room's printable summary.

Percentages are of the question's ballots (so a multiple choice may sum past 100), to one
decimal. Text a host typed is written so that a spreadsheet never takes it for a formula.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from openpyxl import Workbook  # type: ignore[import-untyped]

from live import store
from live.engines import db
from live.services import Services
from live.web import i18n
from rooms.errors import N_

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HEADER = (N_("Option"), N_("Count"), N_("Percent"))
#: How a question's status reads in an export, in the request's language.
_STATUS = {"draft": N_("draft"), "open": N_("open"), "closed": N_("closed")}

_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class OptionResult:
    label: str
    description: str
    image: str
    count: int
    percent: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "description": self.description,
            "image": self.image,
            "count": self.count,
            "percent": self.percent,
        }


@dataclass(frozen=True)
class QuestionResult:
    question: store.LiveQuestion
    total: int
    archived: int  #: ballots the SQL archive holds so far
    finalized: bool  #: the worker has checked the closed question's archive
    options: tuple[OptionResult, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.question.public(),
            "options": [o.as_dict() for o in self.options],
            "total": self.total,
            "archived": self.archived,
            "finalized": self.finalized,
        }


def percent(count: int, total: int) -> float:
    return round(100 * count / total, 1) if total else 0.0


async def collect(svc: Services, questions: list[store.LiveQuestion]) -> list[QuestionResult]:
    """Each question's live tally, with what the archive holds of it."""
    live = await store.tallies(svc, questions)
    ids = [q.id for q in questions]
    async with svc.engine.connect() as conn:
        counted = await conn.execute(
            sa.select(db.ballots.c.question_id, sa.func.count())
            .where(db.ballots.c.question_id.in_(ids))
            .group_by(db.ballots.c.question_id)
        )
        archived = {qid: n for qid, n in counted}
        finalized = set(
            await conn.scalars(
                sa.select(db.questions.c.id).where(
                    db.questions.c.id.in_(ids), db.questions.c.finalized_ms.is_not(None)
                )
            )
        )
    out = []
    for q in questions:
        t = live[q.id]
        options = tuple(
            OptionResult(o.label, o.description, o.image, c, percent(c, t["total"]))
            for o, c in zip(q.spec.options, t["counts"], strict=True)
        )
        out.append(QuestionResult(q, t["total"], archived.get(q.id, 0), q.id in finalized, options))
    return out


def summary(room: dict[str, str], results: list[QuestionResult], at_ms: int) -> dict[str, Any]:
    """What a printable summary page shows of a room."""
    return {
        "room": {"id": room["id"], "number": room["number"], "title": room["title"]},
        "generated_ms": at_ms,
        "questions": [r.as_dict() for r in results],
    }


def _head(room_title: str, r: QuestionResult, at: datetime) -> list[tuple[str, Any]]:
    _ = i18n.gettext
    status = str(r.question.status)
    return [
        (_("Room title"), room_title),
        (_("Question"), r.question.spec.title),
        (_("Status"), _(_STATUS.get(status, status))),
        (_("Exported at (UTC)"), at),
    ]


def _header() -> list[str]:
    return [i18n.gettext(h) for h in HEADER]


def _csv_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_bytes(room_title: str, r: QuestionResult, at: datetime) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads Korean text as such.

    ``at`` is naive UTC.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    for label, value in _head(room_title, r, at):
        text = value.strftime(TIME_FORMAT) if isinstance(value, datetime) else value
        writer.writerow([label, _csv_text(text)])
    writer.writerow([])
    writer.writerow(_header())
    for o in r.options:
        writer.writerow([_csv_text(o.label), o.count, f"{o.percent:.1f}"])
    writer.writerow([i18n.gettext("Total"), r.total])
    return buf.getvalue().encode("utf-8-sig")


def xlsx_bytes(room_title: str, r: QuestionResult, at: datetime) -> bytes:
    """One sheet, ``Results``; percentages are fractions shown as ``0.0%``. ``at`` is naive UTC."""
    wb = Workbook()
    ws = wb.active
    ws.title = i18n.gettext("Results")
    for label, value in _head(room_title, r, at):
        ws.append([label, value])
    ws["B4"].number_format = "yyyy-mm-dd hh:mm:ss"
    ws.append([])
    ws.append(_header())
    for o in r.options:
        ws.append([o.label, o.count, o.count / r.total if r.total else 0.0])
        ws.cell(row=ws.max_row, column=3).number_format = "0.0%"
    ws.append([i18n.gettext("Total"), r.total])
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # openpyxl took it for a formula; it is text
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 24
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def download_name(title: str, ext: str) -> str:
    name = " ".join(_UNSAFE_IN_NAME.sub(" ", title).split())[:80].strip(" .")
    return f"{name or 'question'}.{ext}"


def content_disposition(title: str, ext: str) -> str:
    """``attachment`` with the title as a UTF-8 file name and an ASCII one for old clients."""
    name = download_name(title, ext)
    plain = _NOT_ASCII_NAME.sub("_", name.rsplit(".", 1)[0]).strip("_ .") or "question"
    return f"attachment; filename=\"{plain}.{ext}\"; filename*=UTF-8''{quote(name, safe='')}"
