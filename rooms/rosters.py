"""A roster's rows, checked before anything is saved: which rows are taken, which are
refused and why.

A file's rows arrive as tuples of cell values (text, numbers, ``None``), from a workbook or
a CSV file (``live.rosters.files``). The first row that is not blank is its header if a
cell there names a column of phone numbers (전화번호, 휴대폰, phone, ...), beside which
names (이름, name) and groups (그룹, group) columns are found by their headers too; else, if its
first cell is a phone number, the file has no header and its first column is the numbers.

Each number is written one way (E.164, ``rooms.citizens.phones``), so ``010-1234-5678``
and ``+82 10 1234 5678`` are one number, the second a duplicate. A refusal never repeats
the number: it names the row, the cell and the reason.

The bounds keep a hostile file cheap: a cell starting with ``=`` (a formula) refuses the
whole file, naming its cell; past ``MAX_ROWS`` rows the file is refused; and after
``MAX_BLANK_RUN`` blank rows in a row the sheet is not read further (a sheet of a million
empty rows costs as much as one of a thousand): if any row follows them, blank or not, the
file is refused (``blank_rows``), since what comes after is not known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import phonenumbers

from rooms.citizens import phones
from rooms.errors import N_, ErrorCode, VotingError, bad_request

#: Rows of data a file may have (a header not counted).
MAX_ROWS = 100_000
#: Blank rows in a row after which the rest of a sheet is not read.
MAX_BLANK_RUN = 1_000
#: Cells read of each row: the columns found by header are among these.
MAX_COLUMNS = 26
MAX_NAME = 100
MAX_GROUP_NAME = 100
#: Groups one file's group column may make.
MAX_FILE_GROUPS = 50

#: Headers of the columns, most telling first: "번호" or "number" alone may head a column
#: of row numbers, so a column headed "전화번호" beside it is the one taken.
PHONE_HEADERS = (
    "전화번호", "휴대폰번호", "휴대전화번호", "핸드폰번호", "휴대폰", "휴대전화", "핸드폰",
    "연락처", "phone", "phonenumber", "phoneno", "mobile", "mobilephone", "mobilenumber",
    "cellphone", "cell", "telephone", "tel", "번호", "number",
)  # fmt: skip
NAME_HEADERS = ("이름", "성명", "성함", "name", "fullname")
GROUP_HEADERS = ("그룹", "그룹명", "group", "groupname", "소속", "분류")


class Reason(StrEnum):
    NOT_A_NUMBER = "not_a_number"  #: the cell is no phone number
    NOT_MOBILE = "not_mobile"  #: a phone number, but not a mobile one
    DUPLICATE = "duplicate"  #: the number of an earlier row (``of_line``)
    NO_NUMBER = "no_number"  #: the row has other cells, but its number's is empty
    NAME_TOO_LONG = "name_too_long"  #: a name past ``MAX_NAME`` characters
    GROUP_TOO_LONG = "group_too_long"  #: a group's name past ``MAX_GROUP_NAME`` characters
    TOO_MANY_GROUPS = "too_many_groups"  #: a group past the file's ``MAX_FILE_GROUPS``


#: What a preview says of each refused row.
REASONS: dict[Reason, str] = {
    Reason.NOT_A_NUMBER: N_("not a phone number"),
    Reason.NOT_MOBILE: N_("not a mobile number"),
    Reason.DUPLICATE: N_("the same number as row {of_line}"),
    Reason.NO_NUMBER: N_("no number"),
    Reason.NAME_TOO_LONG: N_("the name is longer than {max} characters"),
    Reason.GROUP_TOO_LONG: N_("the group's name is longer than {max} characters"),
    Reason.TOO_MANY_GROUPS: N_("the file names more than {max} groups"),
}


@dataclass(frozen=True)
class Columns:
    """Where a file's numbers, names and groups are (indices of cells in a row)."""

    phone: int
    name: int | None = None
    group: int | None = None
    header: bool = False  #: whether the first row is a header (and not data)


@dataclass(frozen=True)
class Row:
    """A taken row."""

    line: int  #: the row's number in the sheet (from 1, the header counted)
    e164: str
    name: str
    group: str  #: its group column's cell ("" if none)


@dataclass(frozen=True)
class Refused:
    line: int
    cell: str  #: the cell at fault, as a spreadsheet names it ("B7")
    reason: Reason
    name: str  #: the row's name, to find it by
    of_line: int | None = None  #: the earlier row of a duplicate

    def detail(self) -> dict[str, object]:
        """The fields of the reason's sentence."""
        if self.reason is Reason.DUPLICATE:
            return {"of_line": self.of_line}
        limits = {
            Reason.NAME_TOO_LONG: MAX_NAME,
            Reason.GROUP_TOO_LONG: MAX_GROUP_NAME,
            Reason.TOO_MANY_GROUPS: MAX_FILE_GROUPS,
        }
        return {"max": limits[self.reason]} if self.reason in limits else {}


@dataclass
class Checked:
    columns: Columns
    accepted: list[Row] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    #: The groups of the group column, each with its count of taken rows, in file order.
    groups: dict[str, int] = field(default_factory=dict)
    rows: int = 0  #: rows of data read (blank ones not counted)


def column_letter(index: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA``."""
    letters = ""
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_text(value: object) -> str:
    """A cell as text: a whole number without ``.0`` (a number saved as a number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _header_word(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _is_formula(value: object) -> bool:
    """A formula cell (its text starts with ``=``), or anything but a plain value (an
    array formula, a data table)."""
    if value is None or isinstance(value, int | float | bool):
        return False
    if isinstance(value, str):
        return value.lstrip().startswith("=")
    return not hasattr(value, "isoformat")  # dates and times are plain values


def find_columns(first: Sequence[object]) -> Columns:
    """The columns a file's first row shows; ``no_phone_column`` if none is of numbers."""
    words = [_header_word(cell_text(v)) for v in first]

    def column(headers: tuple[str, ...]) -> int | None:
        return next((words.index(h) for h in headers if h in words), None)

    phone = column(PHONE_HEADERS)
    if phone is not None:
        return Columns(phone, column(NAME_HEADERS), column(GROUP_HEADERS), header=True)
    if first and _looks_like_a_number(cell_text(first[0])):
        return Columns(0)
    raise VotingError(ErrorCode.NO_PHONE_COLUMN)


def _looks_like_a_number(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 7 and all(ch.isdigit() or ch in "+-(). " for ch in text)


def why_not(text: str) -> Reason:
    """Why ``text``, which ``phones.normalise`` refused, is not taken."""
    if len(text) > phones.MAX_INPUT:
        return Reason.NOT_A_NUMBER
    try:
        number = phonenumbers.parse(text, phones.DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return Reason.NOT_A_NUMBER
    if not phonenumbers.is_valid_number(number):
        return Reason.NOT_A_NUMBER
    return Reason.NOT_MOBILE


class RosterCheck:
    """Checks a file's rows one at a time (``feed``), so that a reader stops as soon as
    the rows are done (``done``) or the file is refused (``feed`` raises)."""

    def __init__(self) -> None:
        self.line = 0
        self.columns: Columns | None = None
        self.checked: Checked | None = None
        self.done = False
        #: Where the run of blank rows that ended the reading began (0: none did).
        self.gap_from = 0
        self._blank_run = 0
        self._seen: dict[str, int] = {}

    def feed(self, values: Sequence[object]) -> None:
        """The next row of the sheet (every row, blank ones too, in order)."""
        self.line += 1
        values = values[:MAX_COLUMNS]
        for i, v in enumerate(values):
            if _is_formula(v):
                raise VotingError(ErrorCode.FORMULA_IN_FILE, cell=f"{column_letter(i)}{self.line}")
        texts = [cell_text(v) for v in values]
        if not any(texts):
            self._blank_run += 1
            if self._blank_run >= MAX_BLANK_RUN:
                self.done = True
                self.gap_from = self.line - MAX_BLANK_RUN + 1
            return
        self._blank_run = 0
        if self.checked is None:
            self.columns = find_columns(values)
            self.checked = Checked(self.columns)
            if self.columns.header:
                return
        self._row(texts)

    def _row(self, texts: list[str]) -> None:
        checked = self.checked
        assert checked is not None
        cols = checked.columns
        checked.rows += 1
        if checked.rows > MAX_ROWS:
            raise VotingError(ErrorCode.TOO_MANY_ROWS, max=f"{MAX_ROWS:,}")

        def at(index: int | None) -> str:
            return texts[index] if index is not None and index < len(texts) else ""

        number, name, group = at(cols.phone), at(cols.name), at(cols.group)
        cell = f"{column_letter(cols.phone)}{self.line}"

        def refuse(reason: Reason, where: int | None = cols.phone, **extra: int) -> None:
            spot = f"{column_letter(where)}{self.line}" if where is not None else cell
            checked.refused.append(Refused(self.line, spot, reason, name[:MAX_NAME], **extra))

        if not number:
            refuse(Reason.NO_NUMBER)
            return
        try:
            e164 = phones.normalise(number)
        except VotingError:
            refuse(why_not(number))
            return
        if len(name) > MAX_NAME:
            refuse(Reason.NAME_TOO_LONG, cols.name)
            return
        if len(group) > MAX_GROUP_NAME:
            refuse(Reason.GROUP_TOO_LONG, cols.group)
            return
        if group and group not in checked.groups and len(checked.groups) >= MAX_FILE_GROUPS:
            refuse(Reason.TOO_MANY_GROUPS, cols.group)
            return
        earlier = self._seen.get(e164)
        if earlier is not None:
            refuse(Reason.DUPLICATE, of_line=earlier)
            return
        self._seen[e164] = self.line
        checked.accepted.append(Row(self.line, e164, name, group))
        if group:
            checked.groups[group] = checked.groups.get(group, 0) + 1

    def finish(self) -> Checked:
        """The rows checked; ``empty_file`` if no row (but a header) had anything in it."""
        if self.checked is None or self.checked.rows == 0:
            raise VotingError(ErrorCode.EMPTY_FILE)
        return self.checked


def check_rows(rows: Iterable[Sequence[object]]) -> Checked:
    """Every row of a file checked (reading stops at the bounds)."""
    check = RosterCheck()
    for values in rows:
        check.feed(values)
        if check.done:
            break
    return check.finish()


def check_group_name(name: object) -> str:
    """A group's name as it is kept: text of 1 to ``MAX_GROUP_NAME`` characters."""
    if not isinstance(name, str) or not name.strip():
        raise bad_request(N_("name the group"))
    text = " ".join(name.split())
    if len(text) > MAX_GROUP_NAME:
        raise bad_request(N_("a group's name has at most {max} characters"), max=MAX_GROUP_NAME)
    return text


def check_member_name(name: object) -> str:
    if name is None:
        return ""
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
        raise bad_request(N_("name must be text of at most {max} characters"), max=MAX_NAME)
    return " ".join(name.split())
