"""Many rows at once (bot/store/bulk.py): on SQLite a few INSERT … SELECT statements over
VALUES lists, on PostgreSQL COPY; either way every row as given, in its order, with the
values every row shares."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from bot.settings import Settings
from bot.store import Database, bulk, contacts
from bot.store.sql import Tx

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def test_rows_go_in_as_given_in_their_order_across_statements(settings: Settings) -> None:
    """2,100 rows of two columns: on a SQLite that takes 999 parameters a statement (as
    before 3.32), five statements of at most 497 rows; on PostgreSQL, COPY."""
    rows = [(1 + n % 3, f'{{"n": {n}}}') for n in range(2_100)]

    def work(tx: Tx) -> list[tuple[object, ...]]:
        if isinstance(tx, sqlite3.Connection):
            tx.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        for address in ("1001", "1002", "1003"):
            contacts.touch(tx, "telegram", address, "en", NOW)
        bulk.insert(tx, "sessions", ("contact_id",), [], {"flow_id": "none"})  # no statement
        bulk.insert(
            tx,
            "sessions",
            ("contact_id", "state"),
            rows,
            {"flow_id": "priorities", "status": "completed", "started_at": "a"}
            | {"updated_at": "b", "ended_at": "c"},
        )
        return [
            tuple(row)
            for row in tx.execute(
                "SELECT contact_id, state, flow_id, status, parent_id, broadcast_id,"
                " started_at, updated_at, ended_at FROM sessions ORDER BY id"
            )
        ]

    database = await Database.open(settings.database)
    try:
        stored = await database.run(work)
    finally:
        await database.close()
    shared = ("priorities", "completed", None, None, "a", "b", "c")
    assert stored == [(*row, *shared) for row in rows]
