"""CSV that opens safely and correctly in Excel, LibreOffice and Google Sheets.

Three things go wrong with a plain CSV file, and each is handled here:

* **Formulas.** A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
  return) is run as a formula by a spreadsheet. A resident could write one on purpose.
* **Numbers that are not numbers.** A spreadsheet turns ``0207`` into 207, a 16-digit
  code into 1.2E+15, and ``1-2`` into a date.
* **Scripts.** Excel reads a CSV file as the computer's local code page unless the file
  starts with a UTF-8 byte order mark; Arabic and Bengali then come out garbled.

Text cells of either of the first two kinds are written with a leading apostrophe, the
mark spreadsheets use for "this is text". The rule is one and reversible: a text cell
that starts with an apostrophe had one added, so a program reading the file back drops
exactly one (:func:`read_text`). Numbers (counts, answers to number questions) are
written as numbers. Quoting follows RFC 4180 (Python's :mod:`csv`), so commas, quotes
and line breaks inside answers survive.
"""

from __future__ import annotations

import csv
import re
import string
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TypeAlias

Cell: TypeAlias = str | int | float | None
"""A value to write: text, a number, or None for an empty cell."""

BOM = "\ufeff"
PROGRESS_STEP = 1000
MARK = "'"
_FORMULA_START = frozenset("=+-@\t\r" + MARK)
# Whole-cell texts a spreadsheet would turn into a different number or a date.
_MISREAD = re.compile(
    r"""^\s*(?:
        0\d+([.,]\d+)?              # a leading zero: 0207
      | \d{16,}                     # more digits than a spreadsheet keeps
      | \d+([.,]\d+)?[eE]\d+        # looks like scientific notation: 1E5
      | \d{1,4}[/.-]\d{1,2}([/.-]\d{1,4})?  # looks like a date: 1-2, 3/4/25
      | \d{1,2}:\d{2}(:\d{2})?      # looks like a time: 9:30
      | \d+([.,]\d+)?\s*%           # a percentage
    )\s*$""",
    re.VERBOSE,
)


# First characters of texts that are written as they are without a closer look: every
# misread text starts with a digit or a space (after which the pattern looks further).
_PLAIN_START = frozenset(string.ascii_letters) | {""}
_REMEMBERED, _REMEMBERED_LENGTH = 10_000, 16  # short texts' cells, while writing a sheet


def text_cell(text: str) -> str:
    """``text`` as a cell a spreadsheet shows as the same text."""
    if text and (text[0] in _FORMULA_START or _MISREAD.match(text)):
        return MARK + text
    return text


def read_text(cell: str) -> str:
    """The text a cell written by :func:`text_cell` stands for."""
    return cell[1:] if cell.startswith(MARK) else cell


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
        if isinstance(value, str) and len(value) <= _REMEMBERED_LENGTH and len(self) < _REMEMBERED:
            self[value] = cell
        return cell


def _exact(value: Cell) -> str | int | float:
    return "" if value is None else value


class Sheet:
    """Rows written to a text stream as CSV; counts what it wrote.

    ``safe`` (for people, who open files in spreadsheets) marks text cells as above;
    without it (for programs, like a FLOIP package's data) every cell is as it is."""

    def __init__(
        self, out: IO[str], header: Sequence[str], bom: bool = False, safe: bool = True
    ) -> None:
        if bom:
            out.write(BOM)
        self._writer = csv.writer(out)
        self._safe = safe
        self._cell = _cell if safe else _exact
        self._writer.writerow([self._cell(name) for name in header])
        self.rows = 0

    def write_all(
        self, rows: Iterable[Sequence[Cell]], progress: Callable[[int], None] | None = None
    ) -> int:
        """Write every row; ``progress(n)`` hears of each thousand. Returns the count."""
        writerow, plain, safe = self._writer.writerow, _PLAIN_START, self._safe
        marked = _Marked()
        count = 0
        for row in rows:
            # Most cells are written as they are: empty ones (csv writes None as nothing),
            # whole numbers, texts starting with a letter. Looking at those inline, and
            # remembering the marks of short texts (replies like "1"), instead of a call
            # per cell, takes a third off the time a large export takes.
            writerow(
                [
                    value
                    if value is None
                    or value.__class__ is int
                    or (value.__class__ is str and value[:1] in plain)
                    else marked[value]
                    for value in row
                ]
                if safe
                else row
            )
            count += 1
            if progress is not None and count % PROGRESS_STEP == 0:
                progress(PROGRESS_STEP)
        if progress is not None:
            progress(count % PROGRESS_STEP)
        self.rows += count
        return count
