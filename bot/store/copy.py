"""``parley db copy``: every row of one Parley database into another, empty one.

The usual move is from a SQLite file to PostgreSQL, when a deployment outgrows one
process. Both databases are first brought to the same schema version; the target must
hold no rows at all (nothing is merged or overwritten). Tables are copied in an order
that puts every row after the rows it refers to, each in primary-key order, a batch at a
time, all in one transaction on the target: a failed copy leaves the target empty.
The source is read from one consistent snapshot, so Parley may keep running on it
(what arrives after the snapshot began is not copied: stop Parley for the final copy).
Afterwards each table's rows are counted on both sides.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from graphlib import TopologicalSorter

from bot.errors import ParleyError
from bot.store import database as sqlite_side
from bot.store.database import Database, snapshot, writing
from bot.store.location import Location, Postgres
from bot.store.sql import Tx

BATCH = 2000  # rows read, and written, at a time
_NOT_COPIED = {"parley_schema"}  # each database keeps its own migration record


@dataclass(frozen=True)
class Copied:
    """One table: rows in the source, rows in the target after the copy."""

    table: str
    source: int
    target: int


def tables() -> list[tuple[str, list[str]]]:
    """Parley's tables and their columns, every table after those it refers to, read off
    the shipped schema (the SQLite migrations, applied to a database in memory)."""
    memory = sqlite3.connect(":memory:")
    try:
        for _, _, sql in sqlite_side.migrations():
            memory.executescript(sql)
        names = [
            row[0]
            for row in memory.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        graph = TopologicalSorter[str]()
        columns = {}
        for name in names:
            referred = {row[2] for row in memory.execute(f"PRAGMA foreign_key_list({name})")}
            graph.add(name, *(other for other in referred if other != name))
            columns[name] = [row[1] for row in memory.execute(f"PRAGMA table_info({name})")]
        return [(name, columns[name]) for name in graph.static_order()]
    finally:
        memory.close()


def _count(tx: Tx, table: str) -> int:
    return int(tx.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _rows(tx: Tx, table: str, columns: list[str]) -> Iterator[tuple[object, ...]]:
    order = "id" if "id" in columns else ", ".join(columns)
    # Parents before children within a table too (a session after the one it interrupted).
    for row in tx.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
        yield tuple(row)


async def prepare(source: Location, target: Location) -> None:
    """Migrate both to this release's schema (ParleyError if they are the same database)."""
    if str(source) == str(target):
        raise ParleyError(f"{target}: that is the database being copied; copy it to another")
    for location in (source, target):
        opened = await Database.open(location)
        await opened.close()


def copy(
    source: Location,
    target: Location,
    progress: Callable[[int], None] = lambda done: None,
) -> list[Copied]:
    """Copy every row from ``source`` into the empty ``target``; each table's two counts.

    ``progress(rows)`` is told of each batch written. ParleyError, writing nothing, if
    the target holds any row."""
    shape = tables()
    with snapshot(source) as reading, writing(target) as tx:
        occupied = [name for name, _ in shape if _count(tx, name)]
        if occupied:
            raise ParleyError(
                f"{target}: holds rows already (in {', '.join(occupied[:5])}); copy only"
                " into a new, empty database"
            )
        counts = {name: _count(reading, name) for name, _ in shape if name not in _NOT_COPIED}
        for name, columns in shape:
            if name in _NOT_COPIED:
                continue
            _write(tx, target, name, columns, _rows(reading, name, columns), progress)
        if isinstance(target, Postgres):
            _continue_identities(tx, [name for name, columns in shape if "id" in columns])
        return [Copied(name, counts[name], _count(tx, name)) for name in counts]


def total_rows(source: Location) -> int:
    """How many rows a copy of ``source`` moves (for a progress bar)."""
    with snapshot(source) as reading:
        return sum(_count(reading, name) for name, _ in tables() if name not in _NOT_COPIED)


def _write(
    tx: Tx,
    target: Location,
    table: str,
    columns: list[str],
    rows: Iterator[tuple[object, ...]],
    progress: Callable[[int], None],
) -> None:
    names = ", ".join(columns)
    if isinstance(target, Postgres):  # COPY: the fastest way in, and one round trip a batch
        connection = tx.connection  # type: ignore[attr-defined]
        waiting = 0
        with connection.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as stream:
            for row in rows:
                stream.write_row(row)
                waiting += 1
                if waiting == BATCH:
                    progress(waiting)
                    waiting = 0
        progress(waiting)
        return
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            tx.executemany(insert, batch)
            progress(len(batch))
            batch = []
    if batch:
        tx.executemany(insert, batch)
        progress(len(batch))


def _continue_identities(tx: Tx, tables_with_ids: list[str]) -> None:
    """New rows on PostgreSQL take ids after the copied ones (its identity columns do not
    follow ids written explicitly, as SQLite's do)."""
    for table in tables_with_ids:
        tx.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
