"""A message stored but never acted on (stored by an older Parley, or before a crash) is
acted on before the resident's next one, in one unit of work with it, and that one is
acted on with the contact as it stands after the first."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from bot.store import contacts, messages
from bot.store.database import SqliteDatabase
from bot.store.sql import Tx
from tests.conftest import Clock, Harness
from tests.test_polls import staffed

RESIDENT = "+447700900001"


async def test_a_message_left_unhandled_is_handled_first_then_the_new_one(
    harness: Harness,
) -> None:
    await harness.send("hi", RESIDENT)  # the welcome asks for a language

    def stored_not_handled(tx: Tx) -> None:
        contact = contacts.find(tx, "sms", RESIDENT)
        assert contact is not None
        messages.add_inbound(tx, contact.id, "sms", "left-behind", "1", harness.clock())

    await harness.app.database.run(stored_not_handled)
    await harness.send("yes", RESIDENT)

    inbound = await harness.rows("SELECT id, text, handled_at, error FROM inbound ORDER BY id")
    assert [(row["text"], row["error"]) for row in inbound] == [
        ("hi", None),
        ("1", None),
        ("yes", None),
    ]
    assert all(row["handled_at"] is not None for row in inbound)
    replies = await harness.rows("SELECT reply_to FROM outbox ORDER BY id")
    assert [row["reply_to"] for row in replies] == [row["id"] for row in inbound]
    # "1" chose English, so "yes" answered the welcome's next question, not the menu.
    answered = await harness.rows("SELECT step_id, raw FROM answers ORDER BY id")
    assert [row["raw"] for row in answered][-2:] == ["1", "yes"]


async def test_with_none_waiting_a_message_is_stored_handled_in_one_write(
    harness: Harness,
) -> None:
    """The usual message, none of the resident's waiting: it goes into the inbound table
    handled already (its transaction commits it and its effects together), never
    inserted pending and then updated."""
    database = harness.app.database
    if not isinstance(database, SqliteDatabase):
        pytest.skip("statements are traced on SQLite")
    await harness.send("hi", RESIDENT)
    seen: list[str] = []
    for small in (False, True):  # on both connections: the thread's and the loop's
        await database.run(partial(_trace, seen.append), small=small)
    try:
        await harness.send("1", RESIDENT)
    finally:
        for small in (False, True):
            await database.run(partial(_trace, None), small=small)
    writes = [
        sql.split(" (")[0] for sql in seen if re.match(r"(INSERT INTO|UPDATE) inbound\b", sql)
    ]
    assert writes == ["INSERT INTO inbound"]
    inbound = await harness.rows("SELECT text, received_at, handled_at, error FROM inbound")
    assert [(row["text"], row["error"]) for row in inbound] == [("hi", None), ("1", None)]
    assert all(row["handled_at"] == row["received_at"] for row in inbound)
    assert len(await harness.rows("SELECT id FROM answers")) == 1


def _trace(callback: Callable[[str], object] | None, tx: Tx) -> None:
    assert isinstance(tx, sqlite3.Connection)
    tx.set_trace_callback(callback)


async def test_a_residents_message_runs_on_the_event_loop_a_staff_members_on_the_thread(
    tmp_path: Path, clock: Clock
) -> None:
    """A resident's message is a small unit (see bot/store/database.py); a staff member's
    command may be an export or a broadcast, so whatever staff send goes to the thread."""
    async with staffed(tmp_path, clock, "sms:+447700900900=organiser") as harness:
        database = harness.app.database
        if not isinstance(database, SqliteDatabase):
            pytest.skip("SQLite's connections")
        where: list[tuple[bool, str]] = []
        for small in (False, True):
            record = partial(_where, where.append, small)
            await database.run(partial(_trace, record), small=small)
        try:
            await harness.send("hi", RESIDENT)
            await harness.send("/help", "+447700900900")
        finally:
            for small in (False, True):
                await database.run(partial(_trace, None), small=small)
    inserted = [small for small, sql in where if sql.startswith("INSERT INTO inbound ")]
    assert inserted == [True, False]


def _where(record: Callable[[tuple[bool, str]], object], small: bool, sql: str) -> None:
    record((small, sql))
