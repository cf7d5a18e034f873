"""A roster's file read from its bytes: a workbook (.xlsx) or a CSV file, as rows of cell
values for ``rooms.rosters``.

The name says which it should be and the bytes must agree (a text file named ``.xlsx``,
or a workbook named ``.csv``, is ``wrong_file_type``). A workbook is read with openpyxl
in read-only mode, which streams the sheet's XML instead of building it in memory, and
through defusedxml (installed beside it): a document type with entities ("billion
laughs") or external references is refused, not expanded. A workbook whose parts would
unpack to more than ``MAX_UNPACKED`` bytes is refused before any is read; anything
openpyxl cannot read is ``broken_file``. A CSV file is UTF-8 (with or without its BOM) or
CP949, as Korean Excel saves it, with commas, semicolons or tabs.

Rows are read lazily: ``rooms.rosters.RosterCheck`` says when to stop.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import openpyxl  # type: ignore[import-untyped]

from rooms.errors import ErrorCode, VotingError
from rooms.rosters import MAX_BLANK_RUN, MAX_COLUMNS, MAX_ROWS, RosterCheck

log = logging.getLogger("mvoting.rosters")

#: The largest file taken (refused by its size before it is read).
MAX_BYTES = 10 * 1024 * 1024
#: What a workbook's parts may unpack to, together.
MAX_UNPACKED = 200 * 1024 * 1024
_ZIP = b"PK\x03\x04"


class Kind(StrEnum):
    XLSX = "xlsx"  #: an Excel workbook (its first sheet is read)
    CSV = "csv"  #: comma-separated values


def kind_of(filename: str, data: bytes) -> Kind:
    """What the file is, by its name, once its bytes agree; else refused."""
    if not data.strip():
        raise VotingError(ErrorCode.EMPTY_FILE)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext == Kind.XLSX:
        if not data.startswith(_ZIP):
            raise VotingError(ErrorCode.WRONG_FILE_TYPE)
        return Kind.XLSX
    if ext in (Kind.CSV, "txt"):
        if data.startswith(b"PK") or b"\0" in data[:65536]:
            raise VotingError(ErrorCode.WRONG_FILE_TYPE)
        return Kind.CSV
    raise VotingError(ErrorCode.WRONG_FILE_TYPE)


@dataclass
class Sheet:
    rows: Iterator[Sequence[object]]
    #: About how many rows there are (for progress); ``None`` if unknown.
    estimate: int | None
    closing: contextlib.ExitStack


def _broken(exc: BaseException) -> VotingError:
    # The exception's type only: its text may quote the file.
    log.info("a roster's workbook was refused (%s)", type(exc).__name__)
    return VotingError(ErrorCode.BROKEN_FILE)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """openpyxl warns of what it skips in a workbook (styles, data validation); here that
    is no one's concern. Not thread-safe: run on the event loop, with no ``await`` inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def open_sheet(kind: Kind, data: bytes) -> Sheet:
    """The file's rows (of its first sheet, for a workbook), to be read in order."""
    if kind is Kind.CSV:
        text = _text(data)
        return Sheet(_csv_rows(text), text.count("\n") + 1, contextlib.ExitStack())
    stack = contextlib.ExitStack()
    try:
        with _quiet():
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
                    raise VotingError(ErrorCode.BROKEN_FILE)
            book: Any = openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=False, keep_links=False
            )
            stack.callback(book.close)
            if not book.worksheets:
                raise VotingError(ErrorCode.EMPTY_FILE)
            sheet = book.worksheets[0]
            estimate = sheet.max_row if isinstance(sheet.max_row, int) else None
    except VotingError:
        stack.close()
        raise
    except Exception as exc:  # a hostile workbook fails anywhere in openpyxl
        stack.close()
        raise _broken(exc) from None
    if estimate is not None:
        estimate = min(estimate, MAX_ROWS + 1)
    return Sheet(_xlsx_rows(sheet), estimate, stack)


def _xlsx_rows(sheet: Any) -> Iterator[Sequence[object]]:
    rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise _broken(exc) from None
        yield row


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise VotingError(ErrorCode.WRONG_FILE_TYPE)


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count)


def _csv_rows(text: str) -> Iterator[Sequence[object]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field past csv's own bound, a stray quote
            raise _broken(exc) from None
        yield row[:MAX_COLUMNS]


def feed(sheet: Sheet, check: RosterCheck, n: int) -> bool:
    """Give ``check`` the sheet's next ``n`` rows at most; whether the rows are done."""
    with _quiet():
        for _ in range(n):
            row = next(sheet.rows, None)
            if row is None:
                return True
            check.feed(row)
            if check.done:
                if check.gap_from and next(sheet.rows, None) is not None:
                    raise VotingError(
                        ErrorCode.BLANK_ROWS, row=check.gap_from, run=f"{MAX_BLANK_RUN:,}"
                    )
                return True
    return False
