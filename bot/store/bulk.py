"""Many rows into one table at once, the fastest way each database has: a broadcast's
outbox rows and sessions, a batch of 2,000 at a time.

SQLite's ``executemany`` runs its INSERT once for each row; one ``INSERT … SELECT`` over
a VALUES list of the rows stores them all in one run of the statement, in less than half
the time (100,000 outbox rows: 0.31 s of CPU against 0.70 s). On PostgreSQL a plain
INSERT's ``executemany`` goes as COPY (bot/store/postgres.py), faster still there, where
a VALUES list of thousands of parameters is planned afresh for each statement (100,000
outbox rows in batches: 1.29 s against 1.97 s). Either way the rows go in in the order
given (SQLite runs a VALUES list row by row; the dispatcher sends a broadcast in its
outbox rows' order): tests/store/test_bulk.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from bot.store.sql import Tx


def insert(
    tx: Tx,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    same: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` into ``table``: each row the values of ``columns`` in order, and
    every row also the values ``same`` gives its columns."""
    if not rows:
        return
    fixed = dict(same or {})
    names = (*columns, *fixed)
    if not isinstance(tx, sqlite3.Connection):  # PostgreSQL: COPY
        values = tuple(fixed.values())
        tx.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [(*row, *values) for row in rows] if values else rows,
        )
        return
    # As many rows a statement as SQLite takes parameters (32,766 unless built otherwise;
    # 999 before 3.32): a batch of 2,000 in one statement is a tenth faster than in twelve.
    limit = tx.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, (limit - len(fixed)) // len(columns))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        parameters = list(fixed.values())
        for row in part:
            parameters.extend(row)
        tx.execute(_statement(table, tuple(columns), tuple(fixed), len(part)), parameters)


@lru_cache(maxsize=64)
def _statement(table: str, columns: tuple[str, ...], fixed: tuple[str, ...], rows: int) -> str:
    """SQLite's INSERT … SELECT of ``rows`` rows of ``columns``, and ``fixed``'s values
    (the first parameters) in every row. SQLite names a VALUES list's columns column1,
    column2, …"""
    row = f"({', '.join('?' * len(columns))})"
    chosen = [f"column{n}" for n in range(1, len(columns) + 1)] + ["?"] * len(fixed)
    return (
        f"INSERT INTO {table} ({', '.join((*columns, *fixed))}) SELECT {', '.join(chosen)}"
        f" FROM (VALUES {', '.join([row] * rows)})"
    )
