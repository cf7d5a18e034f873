"""A survey's results for people: per part (its options' counts and percentages, a
rating part's average), and the whole survey as one row per ballot with the parts'
answers side by side.

A part's percentages are of the survey's ballots, as a question's are of its own (an
optional part left out by some voters sums below 100). The rows per ballot come from the
archive, in the order it took them; they carry no voter reference and no receipt.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook  # type: ignore[import-untyped]

from live.engines import db
from live.services import Services
from live.web import i18n
from live.web.export import (
    DATE_FORMAT,
    QuestionResult,
    _csv_cell,
    _csv_text,
    _fraction,
    _head,
    _header,
    _save,
    _texts_stay_text,
    _zone_name,
    kind_word,
    local_time,
    multiple_note,
    percent,
    rating_average,
    sheet_names,
)
from rooms.questions import Kind, Part, QuestionSpec, fixed_label
from rooms.survey import offsets, split


@dataclass(frozen=True)
class PartResult:
    number: int  #: 1 for the first part
    part: Part
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    total: int  #: the survey's ballots

    def notes(self) -> list[tuple[str, Any]]:
        _ = i18n.gettext
        if self.part.kind is Kind.RATING:
            avg = rating_average(self.counts)
            return [(_("Average"), None if avg is None else round(avg, 1))]
        if self.part.kind is Kind.MULTIPLE:
            return [(multiple_note(self.part.max_choices), None)]
        return []

    def heading(self) -> str:
        return i18n.gettext("Part {number}: {title}").format(
            number=self.number, title=self.part.title
        )


def part_label(spec: QuestionSpec, part: Part, index: int, first: int) -> str:
    """Option ``index`` of ``part`` as people read it (a yes/no part's default labels in
    their language)."""
    option = spec.options[first + index]
    fixed = fixed_label(part.kind, index, option.label)
    if fixed is not None:
        return i18n.gettext(fixed)
    return option.label or option.image_alt or f"#{index + 1}"


def parts_of(r: QuestionResult) -> list[PartResult]:
    spec = r.question.spec
    counts = [o.count for o in r.options]
    out = []
    for number, (part, first) in enumerate(
        zip(spec.parts, offsets(spec.parts), strict=True), start=1
    ):
        labels = tuple(part_label(spec, part, i, first) for i in range(part.size))
        out.append(
            PartResult(number, part, labels, tuple(counts[first : first + part.size]), r.total)
        )
    return out


def _part_rows(p: PartResult) -> Iterator[list[Any]]:
    for label, count in zip(p.labels, p.counts, strict=True):
        yield [label, count, percent(count, p.total)]


def part_rows(r: QuestionResult) -> Iterator[list[Any]]:
    """A survey's parts as the rows of its sheet in a room's workbook: each part's heading
    and kind, its options' counts and fractions, its figures."""
    _ = i18n.gettext
    for p in parts_of(r):
        yield [p.heading(), kind_word(str(p.part.kind))]
        yield [_("Option"), _("Count"), _("Percent")]
        for label, count, _share in _part_rows(p):
            yield [label, count, _fraction(count, p.total)]
        for label, value in p.notes():
            yield [label] if value is None else [label, value]
        yield []


def csv_bytes(room_title: str, r: QuestionResult, at: datetime, zone: tzinfo = UTC) -> bytes:
    """The survey's results part by part: each part's heading, then its options' rows."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for label, value in _head(room_title, r, at, _zone_name(zone)):
        writer.writerow([label, _csv_cell(value)])
    writer.writerow([i18n.gettext("Ballots"), r.total])
    for p in parts_of(r):
        writer.writerow([])
        writer.writerow([_csv_text(p.heading()), kind_word(str(p.part.kind))])
        writer.writerow(_header())
        for label, count, share in _part_rows(p):
            writer.writerow([_csv_text(label), count, f"{share:.1f}"])
        for label, value in p.notes():
            writer.writerow([_csv_text(label)] + ([] if value is None else [_csv_cell(value)]))
    return buf.getvalue().encode("utf-8-sig")


async def ballot_rows(svc: Services, r: QuestionResult) -> list[tuple[int, tuple[str, ...]]]:
    """Each archived ballot of the survey: its time (ms) and each part's answer, the
    labels of its picks joined by " / " ("" for a part left out)."""
    spec = r.question.spec
    labels = [p.labels for p in parts_of(r)]
    b = db.ballots
    async with svc.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(b.c.choices, b.c.cast_ms)
            .where(b.c.question_id == r.question.id)
            .order_by(b.c.id)
        )
        out = []
        for choices, cast_ms in rows:
            picks = split(spec.parts, [int(c) for c in choices])
            answers = tuple(
                " / ".join(labels[j][i] for i in chosen) for j, chosen in enumerate(picks)
            )
            out.append((int(cast_ms), answers))
    return out


def _ballot_header(spec: QuestionSpec, zone: tzinfo) -> list[str]:
    _ = i18n.gettext
    return [
        _("Ballot"),
        _("Time ({zone})").format(zone=_zone_name(zone)),
        *(p.title for p in spec.parts),
    ]


def ballots_csv_bytes(
    r: QuestionResult, rows: Sequence[tuple[int, tuple[str, ...]]], zone: tzinfo = UTC
) -> bytes:
    """One row per ballot, the parts' answers side by side."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([_csv_text(h) for h in _ballot_header(r.question.spec, zone)])
    for n, (cast_ms, answers) in enumerate(rows, start=1):
        writer.writerow([n, _csv_cell(local_time(cast_ms, zone)), *map(_csv_text, answers)])
    return buf.getvalue().encode("utf-8-sig")


def xlsx_bytes(
    room_title: str,
    r: QuestionResult,
    rows: Sequence[tuple[int, tuple[str, ...]]],
    at: datetime,
    zone: tzinfo = UTC,
) -> bytes:
    """A sheet per part (counts and percentages), then ``Ballots``: one row per ballot."""
    _ = i18n.gettext
    wb = Workbook()
    first = wb.active
    parts = parts_of(r)
    names = sheet_names([p.part.title for p in parts], taken=[_("Ballots")])
    for n, (name, p) in enumerate(zip(names, parts, strict=True)):
        ws = first if n == 0 else wb.create_sheet()
        ws.title = name
        for label, value in _head(room_title, r, at, _zone_name(zone)):
            ws.append([label, value])
        ws["B4"].number_format = DATE_FORMAT
        ws.append([p.heading(), kind_word(str(p.part.kind))])
        ws.append([])
        ws.append(_header())
        for label, count, _share in _part_rows(p):
            ws.append([label, count, _fraction(count, p.total)])
            ws.cell(row=ws.max_row, column=3).number_format = "0.0%"
        ws.append([_("Ballots"), r.total])
        for label, value in p.notes():
            ws.append([label] if value is None else [label, value])
        _texts_stay_text(ws)
        ws.column_dimensions["A"].width = 40
        ws.column_dimensions["B"].width = 24
    ws = wb.create_sheet(_("Ballots"))
    ws.append(_ballot_header(r.question.spec, zone))
    for n, (cast_ms, answers) in enumerate(rows, start=1):
        ws.append([n, local_time(cast_ms, zone), *answers])
        ws.cell(row=ws.max_row, column=2).number_format = DATE_FORMAT
    _texts_stay_text(ws)
    ws.column_dimensions["B"].width = 20
    for col in range(3, 3 + len(parts)):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 30
    return _save(wb)
