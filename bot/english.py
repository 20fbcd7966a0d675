"""Staff read Parley's reports in English: counts that agree with their number, aligned
columns, and times in the deployment's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def counted(number: int, noun: str, nouns: str | None = None) -> str:
    """``1 voter``, ``2 voters``, ``0 voters``; ``nouns`` for an irregular plural."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {nouns or noun + 's'}"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Rows in columns as wide as their widest cell, the last one left ragged."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i < len(widths) - 1 else cell
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    ]


def local_time(moment: datetime, timezone: ZoneInfo) -> str:
    """``Wed 04 Mar 12:00``, in the deployment's time zone."""
    return moment.astimezone(timezone).strftime("%a %d %b %H:%M")


def span(delay: timedelta) -> str:
    """``2 d``, ``6 h``, ``30 min``."""
    minutes = int(delay.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"
