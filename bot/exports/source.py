"""What every export reads with, and what it gives back: a header and a stream of rows."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.engine import Flow
from bot.errors import ExportError
from bot.exports.cells import Cell
from bot.exports.pseudonyms import Pseudonyms
from bot.lang.pii import PHONE, hide_contact_details
from bot.store.sql import Tx

PHONE_HIDDEN = f"[{PHONE}]"

# A time as Parley stores it: ``datetime.isoformat()`` of a UTC time.
_UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00", re.ASCII)
_HOURS_KEPT = 100_000  # eleven years of hours


_MOMENTS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def moment(text: str, timezone: ZoneInfo, end: bool = False) -> datetime:
    """A date (``2026-11-01``) or time (``2026-11-01 18:00``) in the deployment's time
    zone. A bare date given as the end of a range includes that whole day."""
    for layout in _MOMENTS:
        try:
            parsed = datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
        if end and layout == _MOMENTS[0]:
            parsed += timedelta(days=1)
        return parsed.replace(tzinfo=timezone)
    raise ExportError(f"'{text}' is not a date like 2026-11-01 or 2026-11-01 18:00")


@dataclass(frozen=True)
class Filters:
    flow_id: str | None = None  # responses: which flow (a poll's flow is poll-N)
    poll_id: int | None = None  # votes: which poll (None: every poll)
    since: datetime | None = None  # from this moment (inclusive)
    until: datetime | None = None  # to this moment (exclusive)
    unmoderated_flagged: bool = True  # ideas: flagged ones no organiser has approved yet

    def between(self, column: str) -> tuple[str, list[object]]:
        """SQL conditions (`` AND …``) keeping rows whose ``column`` is in range. Stored
        times are UTC ISO 8601 text, which sorts as time does."""
        sql, params = "", list[object]()
        if self.since is not None:
            sql += f" AND {column} >= ?"
            params.append(self.since.astimezone(ZoneInfo("UTC")).isoformat())
        if self.until is not None:
            sql += f" AND {column} < ?"
            params.append(self.until.astimezone(ZoneInfo("UTC")).isoformat())
        return sql, params

    def to_json(self) -> dict[str, str | int]:
        shown: dict[str, str | int] = {}
        if self.flow_id is not None:
            shown["flow"] = self.flow_id
        if self.poll_id is not None:
            shown["poll"] = self.poll_id
        if self.since is not None:
            shown["since"] = self.since.isoformat()
        if self.until is not None:
            shown["until"] = self.until.isoformat()
        if not self.unmoderated_flagged:
            shown["flagged"] = "approved only"
        return shown


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: Iterator[list[Cell]]
    total: int  # how many rows will come, for a progress bar
    # Or the rows already as CSV text (cells.CsvText, each without its line end), their
    # cells as a spreadsheet should get them (made with cells.cell, a text cell carrying
    # its mark): written as they are, in place of ``rows``.
    lines: Iterator[str] | None = None


class Source:
    """The open transaction an export reads in, and how it shows residents and times."""

    def __init__(
        self,
        tx: Tx,
        timezone: ZoneInfo,
        pseudonyms: Pseudonyms,
        flows: Callable[[str], Flow | None],
        addresses: bool = False,
        *,
        region: str,
    ) -> None:
        self.tx = tx
        self.region = region  # where phone numbers without a +country code are from
        self.flows = flows
        self.addresses = addresses  # raw addresses and texts as written: organisers only
        self.pseudonyms = pseudonyms
        self._timezone = timezone
        self._hours: dict[str, tuple[str, str] | tuple[()]] = {}

    def time(self, stamp: str | None) -> str | None:
        """A stored UTC time as ISO 8601 in the deployment's time zone, with its offset."""
        if not stamp:
            return None
        if _UTC_STAMP.fullmatch(stamp):
            hour = self._hours.get(stamp[:13])
            if hour is None:
                hour = self._hours[stamp[:13]] = self._hour(stamp[:13])
            if hour:  # the same minutes and seconds: only the date and hour change
                return hour[0] + stamp[13:19] + hour[1]
        moment = datetime.fromisoformat(stamp).astimezone(self._timezone)
        return moment.isoformat(timespec="seconds")

    def _hour(self, utc: str) -> tuple[str, str] | tuple[()]:
        """For a UTC hour (``2026-10-25T00``): that hour locally (``2026-10-25T01``) and
        the offset (``+01:00``), if the offset is whole hours all through it; else ``()``.

        An export has many times in the same hour: converting each takes a tenth of
        the time of a large export, converting the hour once next to nothing."""
        if len(self._hours) >= _HOURS_KEPT:
            self._hours.clear()
        start = datetime.fromisoformat(utc + ":00:00+00:00")
        local = start.astimezone(self._timezone)
        offset = local.utcoffset()
        last = (start + timedelta(hours=1, microseconds=-1)).astimezone(self._timezone)
        if offset is None or offset != last.utcoffset() or offset % timedelta(hours=1):
            return ()
        shown = local.isoformat(timespec="seconds")
        return shown[:13], shown[19:]

    def resident_header(self) -> list[str]:
        return ["resident", "address"] if self.addresses else ["resident"]

    def resident(self, contact_id: int, channel: str, address: str) -> list[Cell]:
        name = self.pseudonyms.of(contact_id, channel, address)
        return [name, address] if self.addresses else [name]

    def text(self, text: str | None, language: str | None = None) -> str | None:
        """What a resident wrote, with phone numbers and emails hidden unless the export
        is an organiser's with addresses. ``language``: the one the resident writes in,
        whose country's numbers are looked for too (see :func:`bot.lang.pii.find`)."""
        if text is None or self.addresses:
            return text
        return hide_contact_details(text, self.region, language)

    def number(self, value: float, raw: str, language: str | None = None) -> float | str:
        """A number answer, unless it is a phone number sent to a number question
        with no maximum (hidden, as in the reply, unless the export is with addresses)."""
        if (
            self.addresses
            or abs(value) < 1_000_000
            or hide_contact_details(raw, self.region, language) == raw
        ):
            return value
        return PHONE_HIDDEN

    def rows(self, sql: str, params: Sequence[object]) -> Iterator[Sequence[Any]]:
        """A query's rows for a large export, read by position: plain tuples on SQLite,
        whose rows by name (sqlite3.Row) take a tenth of a large export's time. One
        iterator: reading it in several loops carries on where the last stopped."""
        cursor = self.tx.execute(sql, params)
        if isinstance(cursor, sqlite3.Cursor):
            cursor.row_factory = None  # read at each fetch: none is fetched yet
        return iter(cursor)

    def count(self, sql: str, params: Sequence[object]) -> int:
        row = self.tx.execute(sql, params).fetchone()
        return int(row[0]) if row else 0
