"""What the ``parley`` command tests share: the real (migrated) SQLite file a command
runs on, ``tmp_path/parley.db``, seeded through the store's own functions and read
back with plain SQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.store import Database
from bot.store.sql import Tx
from tests import databases

T = TypeVar("T")


def seed(tmp_path: Path, work: Callable[[Tx], T]) -> T:
    """Run ``work(tx)`` in one transaction of the real (migrated) database."""

    async def go() -> T:
        database = await Database.open(databases.location(tmp_path))
        try:
            return await database.run(work)
        finally:
            await database.close()

    return asyncio.run(go())


def rows(tmp_path: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """What ``query`` finds in the database, read outside Parley."""
    with databases.connect(databases.location(tmp_path)) as db:
        return db.execute(query, params).fetchall()


def numbers_made(said: str, what: str) -> list[int]:
    """The numbers a command says it made (``Decision 3: …``, ``Broadcasts 4, 5: …``).
    A command's preview is worked out for real and undone; on PostgreSQL it still used
    up the ids it took (sequences are not rolled back), so what is made next need not be
    numbered from 1."""
    found = re.search(rf"^{what} ([\d, ]+):", said, re.MULTILINE)
    assert found, f"no '{what} N:' in {said!r}"
    return [int(number) for number in found.group(1).split(", ")]


def tables(db: Tx) -> list[str]:
    """The names of Parley's tables (with SQLite's own, there), in order, on either database."""
    if databases.ON_POSTGRES:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    return [str(row[0]) for row in db.execute(query)]
