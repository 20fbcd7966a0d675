"""The record of exports: who asked for what, when, and whether it carried addresses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from bot.store.sql import Row, Tx


def record(
    tx: Tx,
    what: str,
    format: str,
    filters: Mapping[str, object],
    addresses: bool,
    who: str,
    now: datetime,
) -> int:
    row = tx.execute(
        "INSERT INTO exports (what, format, filters, addresses, requested_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (what, format, json.dumps(dict(filters)), int(addresses), who, now.isoformat()),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish(tx: Tx, export_id: int, rows: int) -> None:
    tx.execute("UPDATE exports SET rows = ? WHERE id = ?", (rows, export_id))


def recent(tx: Tx, limit: int) -> list[Row]:
    """The latest exports, oldest first."""
    rows = tx.execute("SELECT * FROM exports ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return rows[::-1]
