"""Results for people: one question as CSV or XLSX, a room as one workbook, and a room's
printable summary.

Percentages are of the question's ballots, that is of its voters (so a multiple choice may
sum past 100, which the export says), to one decimal; a rating adds its average. Labels a
kind gives by default ("Yes", a blank VS side) and the words for kinds and statuses are in
the request's language; times are the deployment's (``MVOTING_TIMEZONE``), the zone named
in their header. Text a host typed is written so that a spreadsheet never takes it for a
formula.

A ranking has no percentages (its counts are Borda points, not shares of the ballots): its
options are listed by points, most first, each with its rank, points and average place, and
the method is named (``ranking_rows``, ``borda_method``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.worksheet.hyperlink import Hyperlink  # type: ignore[import-untyped]

from live import store
from live.engines import db
from live.services import Services
from live.web import i18n
from rooms.errors import N_
from rooms.questions import Kind, QuestionSpec, fixed_label

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
HEADER = (N_("Option"), N_("Count"), N_("Percent"))
#: How a question's status reads in an export, in the request's language.
_STATUS = {"draft": N_("draft"), "open": N_("open"), "closed": N_("closed")}
#: How a question's kind reads, in the request's language (the console's words).
_KIND = {
    "single": N_("Single choice"),
    "multiple": N_("Multiple choice"),
    "yesno": N_("Yes / no"),
    "vs": N_("VS (two sides)"),
    "rating": N_("Rating scale"),
    "ranking": N_("Ranking"),
    "text": N_("Open text (word cloud)"),
    "survey": N_("Survey (several questions, one form)"),
}

_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: What Excel refuses in a sheet's name (and control characters), and its longest name.
_UNSAFE_IN_SHEET = re.compile(r"[\x00-\x1f\x7f\[\]:*?/\\]+")
_SHEET_NAME_MAX = 31


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
    opened_ms: int | None = None  #: when it last opened, if it did
    closed_ms: int | None = None  #: when it last closed, if it did

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
        rows = await conn.execute(
            sa.select(
                db.questions.c.id,
                db.questions.c.opened_ms,
                db.questions.c.closed_ms,
                db.questions.c.finalized_ms,
            ).where(db.questions.c.id.in_(ids))
        )
        times = {row.id: row for row in rows}
    finalized = {qid for qid, row in times.items() if row.finalized_ms is not None}
    answers = await _answers(svc, [q for q in questions if q.spec.kind is Kind.TEXT])
    out = []
    for q in questions:
        t = live[q.id]
        options = answers.get(q.id) or tuple(
            OptionResult(o.label, o.description, o.image, c, percent(c, t["total"]))
            for o, c in zip(q.spec.options, t["counts"], strict=True)
        )
        row = times.get(q.id)
        out.append(
            QuestionResult(
                q,
                t["total"],
                archived.get(q.id, 0),
                q.id in finalized,
                options,
                opened_ms=None if row is None else row.opened_ms,
                # A question opened again after closing is not closed any more.
                closed_ms=None if row is None or not q.closed else row.closed_ms,
            )
        )
    return out


async def _answers(
    svc: Services, questions: list[store.LiveQuestion]
) -> dict[str, tuple[OptionResult, ...]]:
    """Every answer of each open-text question as a row, most given first; one the host
    hid from the cloud says so in its description (it is a ballot all the same)."""
    out: dict[str, tuple[OptionResult, ...]] = {}
    for q in questions:
        words = await svc.redis.zrange(svc.keys.words(q.id), 0, -1, withscores=True)
        hidden = await svc.redis.smembers(svc.keys.hidden(q.id))
        total = int(await svc.redis.hget(svc.keys.tally(q.id), "total") or 0)
        note = i18n.gettext("Hidden from the word cloud by the host")
        out[q.id] = tuple(
            OptionResult(w, note if w in hidden else "", "", -int(n), percent(-int(n), total))
            for w, n in words  # scored minus their counts: most given first
        )
    return out


def summary(room: dict[str, str], results: list[QuestionResult], at_ms: int) -> dict[str, Any]:
    """What a printable summary page shows of a room."""
    return {
        "room": {"id": room["id"], "number": room["number"], "title": room["title"]},
        "generated_ms": at_ms,
        "questions": [r.as_dict() for r in results],
    }


def option_label(spec: QuestionSpec, index: int) -> str:
    """The option's label as people read it: a kind's default label in their language."""
    option = spec.options[index]
    fixed = fixed_label(spec.kind, index, option.label)
    if fixed is not None:
        return i18n.gettext(fixed)
    return option.label or getattr(option, "image_alt", "") or f"#{index + 1}"


def row_label(r: QuestionResult, index: int) -> str:
    """How row ``index`` of a result reads: its option's label, or an open-text answer."""
    if r.question.spec.kind is Kind.TEXT:
        return r.options[index].label
    return option_label(r.question.spec, index)


def status_word(status: str) -> str:
    return i18n.gettext(_STATUS.get(status, status))


def kind_word(kind: str) -> str:
    return i18n.gettext(_KIND.get(kind, kind))


def rating_average(counts: Sequence[int]) -> float | None:
    """A rating's mean value (option ``i`` is the value ``i + 1``), or None without ratings."""
    n = sum(counts)
    return sum((i + 1) * c for i, c in enumerate(counts)) / n if n else None


def leading(r: QuestionResult) -> str:
    """The option(s) with the most ballots, in the reader's language; "" before any."""
    most = max((o.count for o in r.options), default=0)
    if not most:
        return ""
    return " / ".join(row_label(r, i) for i, o in enumerate(r.options) if o.count == most)


def notes(r: QuestionResult) -> list[tuple[str, Any]]:
    """What a question's figures need besides the counts: a rating's average, and for a
    multiple choice that percentages are of voters."""
    _ = i18n.gettext
    spec = r.question.spec
    if spec.kind is Kind.RATING:
        avg = rating_average([o.count for o in r.options])
        return [(_("Average"), None if avg is None else round(avg, 1)), (_("Ratings"), r.total)]
    if spec.kind is Kind.MULTIPLE:
        return [(multiple_note(spec.max_choices), None)]
    if spec.kind is Kind.TEXT:
        return [
            (
                _(
                    "Answers as counted: letter case, spacing and punctuation do not make "
                    "two answers differ. The word cloud also shows a Korean word followed "
                    "by a particle (교육이) with the bare word (교육) when someone wrote it."
                ),
                None,
            ),
            (
                _("Percentages are of voters: each could give up to {n} answers.").format(
                    n=spec.max_choices
                ),
                None,
            ),
        ]
    if spec.kind is Kind.RANKING:
        return [(borda_method(len(spec.options)), None)]
    return []


@dataclass(frozen=True)
class RankedRow:
    """An option of a ranking's results: its place among them (ties share one), Borda
    points, and average place (1 is first; None before any ballot)."""

    rank: int
    option: int
    label: str
    description: str
    points: int
    average: float | None


def ranking_rows(spec: QuestionSpec, points: Sequence[int], total: int) -> list[RankedRow]:
    """A ranking's options by points, most first (ties in the options' order, with one
    rank: 1, 2, 2, 4); an option's average place is ``n - points / ballots``."""
    n = len(spec.options)
    order = sorted(range(n), key=lambda i: (-points[i], i))
    rows: list[RankedRow] = []
    for k, i in enumerate(order):
        rank = rows[-1].rank if rows and rows[-1].points == points[i] else k + 1
        average = n - points[i] / total if total else None
        label = option_label(spec, i)
        rows.append(RankedRow(rank, i, label, spec.options[i].description, points[i], average))
    return rows


def borda_method(options: int) -> str:
    """How a ranking is counted, for a question of ``options`` options."""
    first = options - 1
    return i18n.ngettext(
        "Borda count: first place gets {n} point, last none.",
        "Borda count: first place gets {n} points, last none.",
        first,
    ).format(n=first)


def _ranked(r: QuestionResult) -> list[RankedRow]:
    return ranking_rows(r.question.spec, [o.count for o in r.options], r.total)


def _ranking_header() -> list[str]:
    _ = i18n.gettext
    return [_("Rank"), _("Option"), _("Points"), _("Average place")]


def _average(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def multiple_note(max_choices: int) -> str:
    return i18n.gettext(
        "Percentages are of voters: each could choose up to {n}, so they may add up to "
        "more than 100%."
    ).format(n=max_choices)


def local_time(ms: int | None, zone: tzinfo) -> datetime | None:
    """``ms`` as the zone's wall-clock time, naive (a spreadsheet cell has no zone)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, zone).replace(tzinfo=None, microsecond=0)


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")


def _head(
    room_title: str, r: QuestionResult, at: datetime, zone_name: str
) -> list[tuple[str, Any]]:
    _ = i18n.gettext
    return [
        (_("Room title"), room_title),
        (_("Question"), r.question.spec.title),
        (_("Status"), status_word(str(r.question.status))),
        (_("Exported at ({zone})").format(zone=zone_name), at),
    ]


def _header() -> list[str]:
    return [i18n.gettext(h) for h in HEADER]


def _csv_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, float):
        return f"{value:.1f}"
    if value is None:
        return ""
    return _csv_text(value) if isinstance(value, str) else value


def csv_bytes(room_title: str, r: QuestionResult, at: datetime, zone: tzinfo = UTC) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads Korean text as such.

    ``at`` is the export's time, naive, in ``zone``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    for label, value in _head(room_title, r, at, _zone_name(zone)):
        writer.writerow([label, _csv_cell(value)])
    writer.writerow([])
    if r.question.spec.kind is Kind.RANKING:
        writer.writerow(_ranking_header())
        for row in _ranked(r):
            average = "" if row.average is None else f"{row.average:.2f}"
            writer.writerow([row.rank, _csv_text(row.label), row.points, average])
        writer.writerow([i18n.gettext("Ballots"), r.total])
        writer.writerow([_csv_text(borda_method(len(r.options)))])
        return buf.getvalue().encode("utf-8-sig")
    writer.writerow(_header())
    for i, o in enumerate(r.options):
        label = row_label(r, i)
        writer.writerow([_csv_text(label), o.count, f"{o.percent:.1f}"])
    writer.writerow([i18n.gettext("Total"), r.total])
    for label, value in notes(r):
        writer.writerow([_csv_text(label)] + ([] if value is None else [_csv_cell(value)]))
    return buf.getvalue().encode("utf-8-sig")


def _texts_stay_text(ws: Any) -> None:
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # openpyxl took it for a formula; it is text


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_bytes(room_title: str, r: QuestionResult, at: datetime, zone: tzinfo = UTC) -> bytes:
    """One sheet, ``Results``; percentages are fractions shown as ``0.0%``. ``at`` is the
    export's time, naive, in ``zone``."""
    wb = Workbook()
    ws = wb.active
    ws.title = i18n.gettext("Results")
    for label, value in _head(room_title, r, at, _zone_name(zone)):
        ws.append([label, value])
    ws["B4"].number_format = DATE_FORMAT
    ws.append([])
    if r.question.spec.kind is Kind.RANKING:
        ws.append(_ranking_header())
        for row in _ranked(r):
            ws.append([row.rank, row.label, row.points, _average(row.average)])
            ws.cell(row=ws.max_row, column=4).number_format = "0.00"
        ws.append([i18n.gettext("Ballots"), r.total])
        ws.append([borda_method(len(r.options))])
        _texts_stay_text(ws)
        for width, letter in zip((10, 40, 12, 16), "ABCD", strict=True):
            ws.column_dimensions[letter].width = width
        return _save(wb)
    ws.append(_header())
    for i, o in enumerate(r.options):
        ws.append([row_label(r, i), o.count, _fraction(o.count, r.total)])
        ws.cell(row=ws.max_row, column=3).number_format = "0.0%"
    ws.append([i18n.gettext("Total"), r.total])
    for label, value in notes(r):
        ws.append([label] if value is None else [label, value])
    _texts_stay_text(ws)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 24
    return _save(wb)


def _fraction(count: int, total: int) -> float:
    return count / total if total else 0.0


def sheet_names(titles: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """A sheet name per question: ``"<n>. <title>"`` without the characters Excel refuses
    (``[]:*?/\\``), at most 31 characters, not starting or ending with an apostrophe, and
    unique (Excel compares names without regard to case), also among ``taken``."""
    used = {t.casefold() for t in taken} | {"history"}  # Excel reserves "History"
    out = []
    for n, title in enumerate(titles, start=1):
        clean = " ".join(_UNSAFE_IN_SHEET.sub(" ", title).split())
        base = f"{n}. {clean}".strip().strip("'").strip()
        name = base[:_SHEET_NAME_MAX].rstrip().rstrip("'")
        k = 2
        while name.casefold() in used:
            tail = f" ({k})"
            name = base[: _SHEET_NAME_MAX - len(tail)].rstrip().rstrip("'") + tail
            k += 1
        used.add(name.casefold())
        out.append(name)
    return out


def room_xlsx_bytes(
    room: dict[str, str], results: list[QuestionResult], at: datetime, zone: tzinfo
) -> bytes:
    """A room's results: a summary sheet first (one row per question), then a sheet per
    question with its options' descriptions, counts and percentages."""
    _ = i18n.gettext
    zone_name = _zone_name(zone)
    opened = _("Opened ({zone})").format(zone=zone_name)
    closed = _("Closed ({zone})").format(zone=zone_name)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")
    ws.append([_("Room title"), room["title"]])
    ws.append([_("Room"), room["number"]])
    ws.append([_("Exported at ({zone})").format(zone=zone_name), at])
    ws["B3"].number_format = DATE_FORMAT
    ws.append([])
    ws.append(
        [
            "#",
            _("Question"),
            _("Kind"),
            _("Status"),
            _("Ballots"),
            _("Leading option or average"),
            opened,
            closed,
        ]
    )
    names = sheet_names([r.question.spec.title for r in results], taken=[ws.title])
    for n, r in enumerate(results, start=1):
        spec = r.question.spec
        if spec.kind is Kind.RATING:
            avg = rating_average([o.count for o in r.options])
            lead: Any = None if avg is None else round(avg, 1)
        elif spec.kind is Kind.SURVEY:  # each part leads on its own sheet
            lead = None
        else:
            lead = leading(r)
        ws.append(
            [
                n,
                spec.title,
                kind_word(str(spec.kind)),
                status_word(str(r.question.status)),
                r.total,
                lead,
                local_time(r.opened_ms, zone),
                local_time(r.closed_ms, zone),
            ]
        )
        row = ws.max_row
        title_cell = ws.cell(row=row, column=2)
        sheet = names[n - 1].replace("'", "''")
        title_cell.hyperlink = Hyperlink(ref=title_cell.coordinate, location=f"'{sheet}'!A1")
        if isinstance(lead, float):
            ws.cell(row=row, column=6).number_format = "0.0"
        for col in (7, 8):
            ws.cell(row=row, column=col).number_format = DATE_FORMAT
    for width, letter in zip((6, 50, 18, 12, 10, 30, 20, 20), "ABCDEFGH", strict=True):
        ws.column_dimensions[letter].width = width
    _texts_stay_text(ws)
    for name, r in zip(names, results, strict=True):
        _question_sheet(wb.create_sheet(name), room, r, opened, closed, zone)
    return _save(wb)


def _question_sheet(
    ws: Any,
    room: dict[str, str],
    r: QuestionResult,
    opened: str,
    closed: str,
    zone: tzinfo,
) -> None:
    _ = i18n.gettext
    spec = r.question.spec
    head: list[tuple[str, Any]] = [
        (_("Room title"), room["title"]),
        (_("Question"), spec.title),
        (_("Description"), spec.description),
        (_("Kind"), kind_word(str(spec.kind))),
        (_("Status"), status_word(str(r.question.status))),
        (opened, local_time(r.opened_ms, zone)),
        (closed, local_time(r.closed_ms, zone)),
        (_("Ballots"), r.total),
    ]
    for label, value in head:
        ws.append([label, value])
        if isinstance(value, datetime):
            ws.cell(row=ws.max_row, column=2).number_format = DATE_FORMAT
    ws.append([])
    if spec.kind is Kind.RANKING:
        _ranking_sheet(ws, r)
        return
    if spec.kind is Kind.SURVEY:
        from live.web.survey_export import part_rows  # it builds on this module

        for row in part_rows(r):
            ws.append(row)
        _texts_stay_text(ws)
        return
    ws.append([_("Option"), _("Description"), _("Count"), _("Percent")])
    for i, o in enumerate(r.options):
        ws.append([row_label(r, i), o.description, o.count, _fraction(o.count, r.total)])
        ws.cell(row=ws.max_row, column=4).number_format = "0.0%"
    ws.append([_("Total"), None, r.total])
    for label, value in notes(r):
        ws.append([label] if value is None else [label, None, value])
        if isinstance(value, float):
            ws.cell(row=ws.max_row, column=3).number_format = "0.0"
    _texts_stay_text(ws)
    for width, letter in zip((40, 50, 12, 12), "ABCD", strict=True):
        ws.column_dimensions[letter].width = width


def _ranking_sheet(ws: Any, r: QuestionResult) -> None:
    """A ranking's rows of its sheet: by points, with rank and average place, no percent."""
    _ = i18n.gettext
    ws.append([_("Rank"), _("Option"), _("Description"), _("Points"), _("Average place")])
    for row in _ranked(r):
        ws.append([row.rank, row.label, row.description, row.points, _average(row.average)])
        ws.cell(row=ws.max_row, column=5).number_format = "0.00"
    ws.append([_("Ballots"), None, None, r.total])
    ws.append([borda_method(len(r.options))])
    _texts_stay_text(ws)
    for width, letter in zip((10, 40, 50, 12, 16), "ABCDE", strict=True):
        ws.column_dimensions[letter].width = width


def download_name(title: str, ext: str) -> str:
    name = " ".join(_UNSAFE_IN_NAME.sub(" ", title).split())[:80].strip(" .")
    return f"{name or 'question'}.{ext}"


def content_disposition(title: str, ext: str) -> str:
    """``attachment`` with the title as a UTF-8 file name and an ASCII one for old clients."""
    name = download_name(title, ext)
    plain = _NOT_ASCII_NAME.sub("_", name.rsplit(".", 1)[0]).strip("_ .") or "question"
    return f"attachment; filename=\"{plain}.{ext}\"; filename*=UTF-8''{quote(name, safe='')}"
