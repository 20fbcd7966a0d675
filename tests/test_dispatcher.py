"""The dispatcher's loop on a real SQLite file, with small channels that fail on purpose:
unforeseen errors back off and give up, the loop rests while sends are in flight, and
a commit that fails leaves the database usable."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.channels.base import Outbound
from bot.outreach.outbox import Dispatcher, Lane
from bot.store import Database, contacts, messages
from bot.store.sql import Tx
from tests import databases


class Broken:
    """A channel whose provider library fails in a way nobody foresaw."""

    name = "sms"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: Outbound) -> str:
        self.calls += 1
        raise ValueError("odd answer from the provider")


class Slow:
    name = "sms"

    async def send(self, message: Outbound) -> str:
        await asyncio.sleep(0.5)
        return f"slow-{message.outbox_id}"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(databases.location(tmp_path))
    yield database
    await database.close()


async def _queue(database: Database, count: int, contact: str = "+447700900001") -> None:
    now = datetime.now(UTC)

    def work(tx: Tx) -> None:
        person = contacts.touch(tx, "sms", contact, "en", now)
        for n in range(count):
            messages.add_outbound(
                tx, messages.NewOutbound(person.id, "sms", f"message {n}", "en"), now
            )

    await database.run(work)


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[None]:
    task = asyncio.create_task(dispatcher.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _rows(database: Database, query: str) -> list[Any]:
    return await database.run(lambda tx: [tuple(row) for row in tx.execute(query)])


async def test_an_unforeseen_error_backs_off_then_gives_up(database: Database) -> None:
    channel = Broken()
    lane = Lane("sms", ("sms",), 1000.0)
    dispatcher = Dispatcher(
        database,
        {"sms": channel},
        lambda: datetime.now(UTC),
        [lane],
        attempts=3,
        retry_delay=0.2,
    )
    await _queue(database, 1)
    async with running(dispatcher):
        for _ in range(200):
            if await _rows(database, "SELECT 1 FROM outbox WHERE status = 'failed'"):
                break
            await asyncio.sleep(0.02)
    [(status, attempts, error)] = await _rows(
        database, "SELECT status, attempts, error FROM outbox"
    )
    assert (status, attempts) == ("failed", 3)
    assert error == "gave up after 3 tries: unexpected ValueError"
    assert channel.calls == 3  # not resent in a tight loop


async def test_the_loop_rests_while_a_send_is_in_flight(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = 0
    real_due = messages.due

    def counting_due(*args: Any, **kwargs: Any) -> list[messages.QueuedMessage]:
        nonlocal looks
        looks += 1
        return real_due(*args, **kwargs)

    monkeypatch.setattr(messages, "due", counting_due)
    lane = Lane("sms", ("sms",), 1000.0)
    dispatcher = Dispatcher(database, {"sms": Slow()}, lambda: datetime.now(UTC), [lane])
    await _queue(database, 2)  # the second waits for the first: same contact
    async with running(dispatcher):
        await asyncio.sleep(1.3)
    assert await _rows(database, "SELECT status FROM outbox") == [("sent",), ("sent",)]
    assert looks < 50  # a handful of looks, not thousands while the first was in flight


async def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path) -> None:
    # SQLite's own: units of work share a commit there, and a rule checked only at COMMIT
    # (a deferred foreign key, a PRAGMA) must not leave that shared transaction open.
    # PostgreSQL commits each unit on a connection of its own: this runs on a SQLite file.
    database = await Database.open(tmp_path / "parley.db")

    def breaks_a_deferred_rule(tx: Tx) -> None:
        tx.execute("PRAGMA defer_foreign_keys = ON")
        tx.execute(
            "INSERT INTO inbound (contact_id, channel, provider_id, text, received_at)"
            " VALUES (999, 'sms', 'x', 'hi', 'now')"  # no contact 999: fails at COMMIT
        )

    try:
        with pytest.raises(sqlite3.IntegrityError):
            await database.run(breaks_a_deferred_rule)
        await _queue(database, 1)  # the next unit of work commits normally
        assert await _rows(database, "SELECT count(*) FROM outbox") == [(1,)]
        assert await _rows(database, "SELECT count(*) FROM inbound") == [(0,)]
    finally:
        await database.close()


class Recorder:
    name = "sms"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: Outbound) -> str:
        self.sent.append(message.text)
        return f"rec-{message.outbox_id}"


async def test_in_quiet_hours_a_lane_holds_broadcasts_and_sends_replies(
    database: Database,
) -> None:
    now = datetime.now(UTC)

    def queue(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO broadcasts (texts, audience, status, created_at)"
            " VALUES ('{}', '{}', 'queued', 'now')"
        )
        one = contacts.touch(tx, "sms", "+447700900001", "en", now)
        two = contacts.touch(tx, "sms", "+447700900002", "en", now)
        broadcast = messages.NewOutbound(one.id, "sms", "broadcast", "en", broadcast_id=1)
        messages.add_outbound(tx, broadcast, now)
        messages.add_outbound(tx, messages.NewOutbound(two.id, "sms", "reply", "en"), now)

    await database.run(queue)
    quiet = True
    channel = Recorder()
    lane = Lane("sms", ("sms",), 1000.0, quiet=lambda: quiet)
    dispatcher = Dispatcher(database, {"sms": channel}, lambda: datetime.now(UTC), [lane])
    async with running(dispatcher):
        await asyncio.sleep(0.3)
        held = list(channel.sent)
        quiet = False  # morning
        dispatcher.wake()
        await asyncio.sleep(0.3)
    assert held == ["reply"]
    assert channel.sent == ["reply", "broadcast"]


async def test_a_lane_woken_as_it_is_stopped_stops(database: Database) -> None:
    """A message queued in the same moment as ``parley run`` stops must not keep the
    idle lane going: the stop would then wait for ever (Python 3.11's wait_for lost
    such a cancel)."""
    lane = Lane("sms", ("sms",), 1000.0)
    dispatcher = Dispatcher(database, {"sms": Slow()}, lambda: datetime.now(UTC), [lane])
    for _ in range(5):
        task = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(0.05)  # the queue is empty: the lane is idle, waiting
        dispatcher.wake()
        task.cancel()  # in the same turn of the loop as the wake
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert task.cancelled()
