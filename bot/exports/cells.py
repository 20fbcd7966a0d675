"""CSV that opens safely and correctly in Excel, LibreOffice and Google Sheets.

Three things go wrong with a plain CSV file, and each is handled here:

* **Formulas.** A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
  return) is run as a formula by a spreadsheet. A resident could write one on purpose.
* **Text that is not kept as text.** A spreadsheet turns ``0207`` into 207, a 16-digit
  code into 1.2E+15, ``1-2`` into a date, ``TRUE`` into a boolean (``PRAWDA`` in a Polish
  LibreOffice, ``درست`` in a Persian one), ``50%`` into 0.5 and ``$5`` into a currency.
* **Scripts.** Excel reads a CSV file as the computer's local code page unless the file
  starts with a UTF-8 byte order mark; Arabic and Bengali then come out garbled.

A CSV file cannot say "this cell is text", so text cells of the first two kinds start
with an invisible mark, a ZERO WIDTH SPACE (U+200B). The cell then starts with neither a
formula sign nor a digit, so no spreadsheet runs it or reads it as a number, date or
boolean, whatever its language and import settings, and it shows exactly the text the
resident wrote. The apostrophe some exporters put there instead is the mark for "text"
only when typed into a spreadsheet: LibreOffice and Excel both keep an apostrophe read
from a CSV file as part of the cell, so the reader would see ``'0207``. (Checked against
LibreOffice's own CSV import, in every setting that matters, by tests/test_exports.py.)

The mark is added only where it is needed, so ordinary answers (``Housing``, ``Tak``,
``12``), ids like ``R-…`` and ``ID-4821``, and Parley's own ISO 8601 times stay exactly
as written, and a formula such as ``COUNTIF`` finds them. The rule is one and
reversible: a text cell that starts with the mark had one added (a text starting with
the mark itself gets another), so a program reading the file back drops exactly one
(:func:`read_text`). Numbers (counts, answers to number questions) are written as
numbers. Quoting follows RFC 4180 (Python's :mod:`csv`), so commas, quotes and line
breaks inside answers survive.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import IO, TypeAlias

Cell: TypeAlias = str | int | float | None
"""A value to write: text, a number, or None for an empty cell."""

BOM = "\ufeff"
PROGRESS_STEP = 1000
MARK = "\u200b"
_FORMULA_START = frozenset("=+-@\t\r" + MARK)
# After leading spaces, first characters of texts a spreadsheet may read as a number, a
# date, a time, a currency, an error value or a formula (any script's digits too).
_NUMBER_START = frozenset("=+-@.,($£€¥#")
# Whole-cell texts that stay numbers showing exactly the same: 0, or up to 15 digits
# without a leading zero (a spreadsheet keeps 15 significant digits).
_PLAIN_NUMBER = re.compile(r"0|[1-9][0-9]{0,14}")
# Parley's own times (ISO 8601 with the offset): left as they are, so programs parse them
# and a spreadsheet may read them as the date and time they are.
_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?", re.ASCII
)
# A month's name and a day or year ("Jan 5", "May 2026", "SEPT1"): a date to a spreadsheet.
_NAMED_DATE = re.compile(r"[^\W\d_]{3,9}\.?\s?\d{1,4}")
# Whole-cell words a spreadsheet reads as a boolean, in any case: English, and those
# LibreOffice reads in the shipped languages and in the usual office languages (each
# checked against LibreOffice's import in its locale by tests/test_exports.py).
BOOLEAN_WORDS: frozenset[str] = frozenset(
    word.casefold()
    for words in (
        ("TRUE", "FALSE"),  # English
        ("PRAWDA", "FAŁSZ"),  # Polish
        ("ADEVĂRAT", "FALS"),  # Romanian
        ("VERDADEIRO", "FALSO"),  # Portuguese
        ("VERDADERO", "FALSO"),  # Spanish
        ("ІСТИНА",),  # Ukrainian
        ("خطأ",),  # Arabic
        ("درست", "نادرست"),  # Persian
        ("RUN",),  # Somali
        ("WAHR", "FALSCH", "VRAI", "FAUX", "VERO", "FALSO", "WAAR", "ONWAAR"),  # de fr it nl
    )
    for word in words
)
# Texts longer than this that start with a letter and end with no space never need a
# mark: every boolean word and named date is shorter.
_SHORT = 16
# First characters of texts that are written as they are without a closer look when
# they are longer than _SHORT: every text needing a mark starts otherwise, or is short.
_PLAIN_START = frozenset(string.ascii_letters)
_REMEMBERED = 10_000  # short texts' cells remembered while writing a sheet


def needs_mark(text: str) -> bool:
    """Whether a spreadsheet would run ``text`` or show it as anything but this text."""
    if not text:
        return False
    if text[0] in _FORMULA_START:
        return True
    if _PLAIN_NUMBER.fullmatch(text) or _MOMENT.fullmatch(text):
        return False
    bare = text.strip()
    if not bare:
        return False
    first = bare[0]
    return (
        first in _NUMBER_START
        or first.isdecimal()
        or bare.casefold() in BOOLEAN_WORDS
        or _NAMED_DATE.fullmatch(bare) is not None
    )


def text_cell(text: str) -> str:
    """``text`` as a cell a spreadsheet shows as the same text."""
    return MARK + text if needs_mark(text) else text


def read_text(cell: str) -> str:
    """The text a cell written by :func:`text_cell` stands for."""
    return cell[1:] if cell.startswith(MARK) else cell


def cell(value: Cell) -> Cell:
    """``value`` as written to a sheet for people: a text as :func:`text_cell` makes it,
    anything else as it is (None is an empty cell)."""
    return text_cell(value) if isinstance(value, str) else value


def _cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str):
        return text_cell(value)
    return value


class _Marked(dict[Cell, str | int | float]):
    """Cells by value: short texts are remembered (a spreadsheet of answers has the same
    few replies many times), other values are worked out each time."""

    def __missing__(self, value: Cell) -> str | int | float:
        cell = _cell(value)
        if isinstance(value, str) and len(value) <= _SHORT and len(self) < _REMEMBERED:
            self[value] = cell
        return cell


class CsvText:
    """Cells as the CSV text :class:`Sheet` writes for them, quoted as its writer quotes
    them, without a line end: a row's part worked out once and written many times."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def __call__(self, cells: Sequence[Cell]) -> str:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        # One more, empty, cell: a row of one empty cell alone is written as "".
        self._writer.writerow([*cells, None])
        return buffer.getvalue()[: -len(",\r\n")]

    @staticmethod
    def cells(text: str, count: int) -> list[str]:
        """The ``count`` cells CSV text made by a CsvText stands for (as text)."""
        found = next(csv.reader([text]), []) if text else []
        return [*found, *[""] * (count - len(found))]


def _header_cell(name: str) -> str:
    """A column's name is kept as it is, so programs find columns by name ("run"), unless a
    spreadsheet would run it (a question's text could start with "=")."""
    return MARK + name if name[:1] in _FORMULA_START else name


class Sheet:
    """Rows written to a text stream as CSV; counts what it wrote.

    ``safe`` (for people, who open files in spreadsheets) marks text cells as above;
    without it (for programs, like a FLOIP package's data) every cell is as it is."""

    def __init__(
        self, out: IO[str], header: Sequence[str], bom: bool = False, safe: bool = True
    ) -> None:
        if bom:
            out.write(BOM)
        self._out = out
        self._writer = csv.writer(out)
        self._safe = safe
        self._writer.writerow([_header_cell(name) for name in header] if safe else header)
        self.rows = 0

    def write_all(
        self, rows: Iterable[Sequence[Cell]], progress: Callable[[int], None] | None = None
    ) -> int:
        """Write every row; ``progress(n)`` hears of each thousand. Returns the count."""
        if not self._safe:
            return self.write_marked(rows, progress)
        writerow, plain, short = self._writer.writerow, _PLAIN_START, _SHORT
        marked = _Marked()
        count = 0
        for row in rows:
            # Most cells are written as they are: empty ones (csv writes None as nothing),
            # whole numbers, longer texts starting with a letter. Looking at those inline,
            # and remembering the cells of short texts (replies like "1" or "yes"),
            # instead of a call per cell, takes a third off the time a large export takes.
            writerow(
                [
                    value
                    if value is None
                    or value.__class__ is int
                    or (
                        value.__class__ is str
                        and len(value) > short
                        and value[0] in plain
                        and not value[-1].isspace()  # "TRUE" and spaces is still a boolean
                    )
                    else marked[value]
                    for value in row
                ]
            )
            count += 1
            if progress is not None and count % PROGRESS_STEP == 0:
                progress(PROGRESS_STEP)
        if progress is not None:
            progress(count % PROGRESS_STEP)
        self.rows += count
        return count

    def write_lines(
        self, lines: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> int:
        """Write rows already made CSV text (by :class:`CsvText`, their cells marked), each
        without its line end: a thousand at a time."""
        write, lines = self._out.write, iter(lines)
        count = 0
        while batch := list(islice(lines, PROGRESS_STEP)):
            batch.append("")  # so the last row ends its line too
            write("\r\n".join(batch))
            count += len(batch) - 1
            if progress is not None:
                progress(len(batch) - 1)
        self.rows += count
        return count

    def write_marked(
        self, rows: Iterable[Sequence[Cell]], progress: Callable[[int], None] | None = None
    ) -> int:
        """Write rows whose cells are already as they go in the file (made with
        :func:`cell`, or for programs): a thousand at a time, each as it is."""
        writerows, rows = self._writer.writerows, iter(rows)
        count = 0
        while batch := list(islice(rows, PROGRESS_STEP)):
            writerows(batch)
            count += len(batch)
            if progress is not None:
                progress(len(batch))
        self.rows += count
        return count
