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
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise
from pathlib import Path
from typing import Protocol, cast

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


@dataclass(frozen=True)
class Table:
    """One of Parley's tables, as the copy sees it."""

    name: str
    columns: list[str]
    key: list[str]  # its primary key's columns: the order its rows are copied in
    later: list[str]  # references closing a loop of tables: written once all rows are in


def tables() -> list[tuple[str, list[str]]]:
    """Parley's tables and their columns, every table after those it refers to."""
    return [(table.name, table.columns) for table in _schema()]


def _schema() -> list[Table]:
    """Parley's tables in copying order, read off the shipped schema (the SQLite
    migrations, applied to a database in memory).

    Some tables refer to each other in a loop (a panel's invitation is a broadcast, a
    panel's vote a poll, a poll's broadcast refers to the poll): no order of tables puts
    every row after the rows it refers to. One nullable reference in each loop is left
    empty while the rows go in, and filled in once all of them are (``later``)."""
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
        columns: dict[str, list[str]] = {}
        keys: dict[str, list[str]] = {}
        optional: dict[str, set[str]] = {}
        refers: dict[str, dict[str, list[str]]] = {}  # table -> table it refers to -> columns
        for name in names:
            described = list(memory.execute(f"PRAGMA table_info({name})"))
            columns[name] = [row[1] for row in described]
            keys[name] = [row[1] for row in sorted(described, key=lambda row: row[5]) if row[5]]
            optional[name] = {row[1] for row in described if not row[3] and not row[5]}
            refers[name] = {}
            for row in memory.execute(f"PRAGMA foreign_key_list({name})"):
                if row[2] != name:  # within a table, key order puts the rows referred to first
                    refers[name].setdefault(row[2], []).append(row[3])
    finally:
        memory.close()
    later: dict[str, list[str]] = {name: [] for name in names}
    while True:
        graph = TopologicalSorter[str]()
        for name in names:
            graph.add(name, *refers[name])
        try:
            order = list(graph.static_order())
            break
        except CycleError as error:
            referring, referred, held = _loosest(error.args[1], refers, optional)
            del refers[referring][referred]
            later[referring] += held
    return [Table(name, columns[name], keys[name] or columns[name], later[name]) for name in order]


def _loosest(
    loop: list[str], refers: dict[str, dict[str, list[str]]], optional: dict[str, set[str]]
) -> tuple[str, str, list[str]]:
    """A reference in ``loop`` whose columns may be empty: (referring, referred, columns)."""
    for one, other in pairwise(loop):
        for referring, referred in ((other, one), (one, other)):
            held = refers[referring].get(referred)
            if held and set(held) <= optional[referring]:
                return referring, referred, held
    raise RuntimeError(f"tables {', '.join(loop)} refer to each other through required columns")


class _Closable(Protocol):
    def close(self) -> None: ...


def _read(tx: Tx, statement: str) -> Iterator[tuple[object, ...]]:
    """A statement's rows, its cursor closed after: a snapshot's, on PostgreSQL, is a
    server-side cursor, kept open until closed (and warned of, if never closed)."""
    cursor = tx.execute(statement)
    try:
        for row in cursor:
            yield tuple(row)
    finally:
        cast(_Closable, cursor).close()


def _count(tx: Tx, table: str) -> int:
    [(found,)] = _read(tx, f"SELECT count(*) FROM {table}")
    return int(cast(int, found))


def _rows(tx: Tx, table: Table) -> Iterator[tuple[object, ...]]:
    """The table's rows in key order (parents before children within a table too: a
    session after the one it interrupted), its ``later`` references left empty."""
    empty = [table.columns.index(column) for column in table.later]
    statement = (
        f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {', '.join(table.key)}"
    )
    for row in _read(tx, statement):
        values = list(row)
        for position in empty:
            values[position] = None
        yield tuple(values)


def _fill_later(reading: Tx, tx: Tx, table: Table) -> None:
    """Write the references :func:`_rows` left empty, now that every row they refer to is in."""
    given = " OR ".join(f"{column} IS NOT NULL" for column in table.later)
    rows = _read(
        reading, f"SELECT {', '.join(table.later + table.key)} FROM {table.name} WHERE {given}"
    )
    update = (
        f"UPDATE {table.name} SET {', '.join(f'{column} = ?' for column in table.later)}"
        f" WHERE {' AND '.join(f'{column} = ?' for column in table.key)}"
    )
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            tx.executemany(update, batch)
            batch = []
    if batch:
        tx.executemany(update, batch)


async def prepare(source: Location, target: Location) -> None:
    """Migrate both to this release's schema (ParleyError if they are the same database)."""
    if _same(source, target):
        raise ParleyError(f"{target}: that is the database being copied; copy it to another")
    if isinstance(source, Path) and not source.is_file():  # opening it would make an empty one
        raise ParleyError(f"{source}: no such database file to copy")
    for location in (source, target):
        opened = await Database.open(location)
        await opened.close()


def _same(one: Location, other: Location) -> bool:
    if isinstance(one, Path) and isinstance(other, Path):
        return one.resolve() == other.resolve()
    return one == other


def copy(
    source: Location,
    target: Location,
    progress: Callable[[int], None] = lambda done: None,
) -> list[Copied]:
    """Copy every row from ``source`` into the empty ``target``; each table's two counts.

    ``progress(rows)`` is told of each batch written. ParleyError, writing nothing, if
    the target holds any row."""
    shape = [table for table in _schema() if table.name not in _NOT_COPIED]
    with snapshot(source) as reading, writing(target) as tx:
        occupied = [table.name for table in shape if _count(tx, table.name)]
        if occupied:
            raise ParleyError(
                f"{target}: holds rows already (in {', '.join(occupied[:5])}); copy only"
                " into a new, empty database"
            )
        counts = {table.name: _count(reading, table.name) for table in shape}
        for table in shape:
            _write(tx, target, table.name, table.columns, _rows(reading, table), progress)
        for table in shape:
            if table.later:
                _fill_later(reading, tx, table)
        if isinstance(target, Postgres):
            _continue_identities(tx, [table.name for table in shape if "id" in table.columns])
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
    follow ids written explicitly, as SQLite's do). The tables staff name by number have no
    identity: they take max(id) + 1 anyway (migrations/postgresql/0014)."""
    for table in tables_with_ids:
        tx.execute(
            f"SELECT setval(sequence, coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            f" FROM (SELECT pg_get_serial_sequence('{table}', 'id') AS sequence) found"
            " WHERE sequence IS NOT NULL"
        )
