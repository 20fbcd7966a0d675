"""What the ``parley`` command tests share: the real (migrated) SQLite file a command
runs on, ``tmp_path/parley.db``, seeded through the store's own functions and read
back with plain SQL."""

from __future__ import annotations

import asyncio
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
