"""The SQLite store: migrations, pragmas, and transactions that never half-write."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest

from bot.store import Database
from bot.store import database as database_module
from bot.store.database import migrations
from bot.store.sql import Tx


def test_migrations_are_numbered_without_gaps() -> None:
    found = migrations()
    assert [version for version, _, _ in found] == list(range(1, len(found) + 1))


async def test_open_migrates_and_sets_pragmas(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "sub" / "p.db")
    try:
        assert await database.schema_version() == len(migrations())
        names = ("foreign_keys", "secure_delete", "temp_store")

        def pragmas(tx: Tx) -> list[int]:
            return [tx.execute(f"PRAGMA {name}").fetchone()[0] for name in names]

        # On both connections. temp_store 2 (memory): the savepoint each unit of a group
        # commit runs under keeps its journal in memory; in a temporary file, writing it
        # was a fifth of a unit's time (py-spy --native: pwrite64).
        assert await database.run(pragmas) == [1, 1, 2]
        assert await database.run(pragmas, small=True) == [1, 1, 2]
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


# -- small units: a resident's message, on the event loop's own connection -------------


def _insert(address: str, fail: bool = False) -> Callable[[Tx], tuple[str, int]]:
    def work(tx: Tx) -> tuple[str, int]:
        tx.execute(
            "INSERT INTO contacts (channel, address, created_at, last_seen_at)"
            " VALUES ('sms', ?, 'now', 'now')",
            (address,),
        )
        if fail:
            raise ValueError(f"unit {address} failed")
        return address, threading.get_ident()

    return work


def _trace(callback: Callable[[str], object] | None, tx: Tx) -> None:
    assert isinstance(tx, sqlite3.Connection)
    tx.set_trace_callback(callback)


async def test_small_units_of_one_turn_share_a_transaction_on_the_event_loop(
    tmp_path: Path,
) -> None:
    """No hop to the database thread: the units run on the loop's thread, those handed
    over in one turn of the loop in one transaction, and one that fails is undone alone."""
    database = await Database.open(tmp_path / "p.db")
    seen: list[str] = []
    try:
        await database.run(partial(_trace, seen.append), small=True)
        results = await asyncio.gather(
            database.run(_insert("+1"), small=True),
            database.run(_insert("+2", fail=True), small=True),
            database.run(_insert("+3"), small=True),
            return_exceptions=True,
        )
        await database.run(partial(_trace, None), small=True)
        rows = await database.run(
            lambda tx: [r[0] for r in tx.execute("SELECT address FROM contacts ORDER BY id")]
        )
    finally:
        await database.close()
    loop_thread = threading.get_ident()
    assert results[0] == ("+1", loop_thread)
    assert isinstance(results[1], ValueError)
    assert results[2] == ("+3", loop_thread)
    assert rows == ["+1", "+3"]
    begun = [sql for sql in seen if sql in ("BEGIN IMMEDIATE", "COMMIT")]
    assert begun == ["COMMIT", "BEGIN IMMEDIATE", "COMMIT", "BEGIN IMMEDIATE"]


async def test_a_small_unit_goes_to_the_thread_rather_than_wait_for_another_writer(
    tmp_path: Path,
) -> None:
    """Another process writing holds the database: the loop does not wait for it (the
    whole process would stall), the unit waits its turn on the database thread."""
    database = await Database.open(tmp_path / "p.db")
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(database.run(_insert("+1"), small=True))
        started = time.monotonic()
        await asyncio.sleep(0.2)  # the loop runs on meanwhile
        stalled = time.monotonic() - started - 0.2  # (SQLite's busy timeout is 5 s)
        assert not waiting.done()
        other.execute("COMMIT")
        address, thread = await waiting
        rows = await database.run(lambda tx: tx.execute("SELECT count(*) FROM contacts").fetchone())
    finally:
        other.close()
        await database.close()
    assert (address, rows[0]) == ("+1", 1)
    assert thread != threading.get_ident()
    assert stalled < 2.5


async def test_what_the_loop_writes_reaches_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's connection never checkpoints (the fsync would stall the loop): every
    few hundred units the database thread copies the write-ahead log into the file."""
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 3)
    path = tmp_path / "p.db"

    def in_the_file() -> int:  # the file alone, the write-ahead log ignored
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as file:
            return int(file.execute("SELECT count(*) FROM contacts").fetchone()[0])

    database = await Database.open(path)
    try:
        assert await database.checkpoint()  # the tables in the file, none of their rows
        never = await database.run(
            lambda tx: tx.execute("PRAGMA wal_autocheckpoint").fetchone()[0], small=True
        )
        await database.run(_insert("+1"), small=True)  # the second small unit
        before = in_the_file()
        await database.run(_insert("+2"), small=True)  # the third: a checkpoint
        for _ in range(100):  # under way on the thread
            if in_the_file() == 2:
                break
            await asyncio.sleep(0.02)
        after = in_the_file()
    finally:
        await database.close()
    assert never == 0
    assert (before, after) == (0, 2)


async def test_closing_commits_the_small_units_handed_over(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "p.db")
    handed = asyncio.create_task(database.run(_insert("+1"), small=True))
    await asyncio.sleep(0)  # handed over, not yet run: the loop's next turn would
    await database.close()
    assert (await handed)[0] == "+1"
    with contextlib.closing(sqlite3.connect(tmp_path / "p.db")) as file:
        assert file.execute("SELECT address FROM contacts").fetchall() == [("+1",)]
