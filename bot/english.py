"""Staff read Parley's reports in English: counts of things agree with their number."""

from __future__ import annotations


def counted(number: int, noun: str, nouns: str | None = None) -> str:
    """``1 voter``, ``2 voters``, ``0 voters``; ``nouns`` for an irregular plural."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {nouns or noun + 's'}"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Rows in columns as wide as their widest cell, the last one left ragged."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i < len(widths) - 1 else cell
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    ]
