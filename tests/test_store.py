"""The SQLite store: migrations, pragmas, and transactions that never half-write."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable
from pathlib import Path

import pytest

from bot.store import Database
from bot.store.database import migrations
from bot.store.sql import Tx


def test_migrations_are_numbered_without_gaps() -> None:
    found = migrations()
    assert [version for version, _, _ in found] == list(range(1, len(found) + 1))


async def test_open_migrates_and_sets_pragmas(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "sub" / "p.db")
    try:
        assert await database.schema_version() == len(migrations())
        pragmas = await database.run(
            lambda tx: [tx.execute(f"PRAGMA {name}").fetchone()[0] for name in ("foreign_keys",)]
        )
        assert pragmas == [1]
        with sqlite3.connect(tmp_path / "sub" / "p.db") as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        await database.close()


async def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    for _ in range(2):
        database = await Database.open(tmp_path / "p.db")
        assert await database.schema_version() == len(migrations())
        await database.close()


async def insert_then_crash(database: Database) -> None:
    def work(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO contacts (channel, address, created_at, last_seen_at)"
            " VALUES ('sms', '+447700900001', 'now', 'now')"
        )
        raise RuntimeError("crash half-way")

    await database.run(work)


async def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "p.db")
    try:
        with pytest.raises(RuntimeError):
            await insert_then_crash(database)
        count = await database.run(
            lambda tx: tx.execute("SELECT count(*) FROM contacts").fetchone()
        )
        assert count[0] == 0
    finally:
        await database.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "p.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await database.run(
                lambda tx: tx.execute(
                    "INSERT INTO inbound (contact_id, channel, provider_id, text, received_at)"
                    " VALUES (99, 'sms', 'x', 'hi', 'now')"
                )
            )
    finally:
        await database.close()


async def test_units_sharing_a_commit_fail_alone(tmp_path: Path) -> None:
    """Work queued together shares one transaction; a unit that fails is undone alone."""
    import asyncio

    database = await Database.open(tmp_path / "p.db")

    def insert(address: str, fail: bool = False) -> Awaitable[str]:
        def work(tx: Tx) -> str:
            tx.execute(
                "INSERT INTO contacts (channel, address, created_at, last_seen_at)"
                " VALUES ('sms', ?, 'now', 'now')",
                (address,),
            )
            if fail:
                raise ValueError(f"unit {address} failed")
            return address

        return database.run(work)

    try:
        results = await asyncio.gather(
            insert("+1"), insert("+2", fail=True), insert("+3"), return_exceptions=True
        )
        rows = await database.run(
            lambda tx: [r[0] for r in tx.execute("SELECT address FROM contacts ORDER BY id")]
        )
    finally:
        await database.close()
    assert results[0] == "+1"
    assert isinstance(results[1], ValueError)
    assert results[2] == "+3"
    assert rows == ["+1", "+3"]
