"""``parley db copy`` of a database with every kind of row: a SQLite file holding rows in
every table of the schema, made through Parley's own code (residents texting, staff on the
phone and the web, budgeting, panels, decisions, erasure), copied to a new PostgreSQL
database with identical counts and contents, Parley working on the copy afterwards (new
ids follow the copied ones), the refusals, and the copy back to a new SQLite file.

The copies need a PostgreSQL server: ``PARLEY_TEST_POSTGRES`` is a libpq URL to one where
the test may create databases (``postgresql://postgres@/postgres?host=/tmp/pgdev``).
Without it they are skipped. The source is a SQLite file whatever PARLEY_TEST_DATABASE
says: the move the command is for is from SQLite.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from bot.channels.base import Outbound
from bot.cli.main import main
from bot.settings import load_settings
from bot.store import (
    Database,
    audit,
    broadcasts,
    budgeting,
    contacts,
    erasure,
    exports,
    jobs,
    panels,
    polls,
)
from bot.store.broadcasts import NewBroadcast
from bot.store.copy import tables
from bot.store.database import snapshot
from bot.store.location import Location, Postgres
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests import databases
from tests.conftest import Clock, Harness, open_app
from tests.test_polls import POLL, Resident, join, put
from tests.web.conftest import ORGANISER, WORKER, add_account, browser
from tests.web.test_budgeting_pages import VOTERS, voting
from tests.web.test_decisions import RECORD, _previewed, _voters

STAFF_PHONE = ("9001", "telegram")  # an organiser on the phone: /poll, /send
ARABIC = "+447700900801"
POLISH = "+447700900802"
ASKED = "Czy 100% budżetu? هل الحديقة مفتوحة؟ 50%_off?"  # % _ ? reach SQL as text


async def _every_kind_of_row(path: Path, clock: Clock) -> None:
    """Fill the SQLite file at ``path``: at least one row in every table."""
    config = path.with_name("parley.toml")
    config.write_text("[parley]\n", encoding="utf-8")
    environ = {
        "PARLEY_DATABASE": str(path),
        "PARLEY_STAFF": f"{STAFF_PHONE[1]}:{STAFF_PHONE[0]}=organiser",
    }
    sent: list[Outbound] = []
    app = await open_app(load_settings(environ, config_file=config), clock, sent)
    harness = Harness(app, clock, sent)
    try:
        await _fill(harness)
    finally:
        await app.close()


async def _fill(harness: Harness) -> None:
    now = harness.clock()

    def accounts(tx: Tx) -> None:
        add_account(tx, ORGANISER[0], "organiser", ORGANISER[1], harness)
        add_account(tx, WORKER[0], "worker", WORKER[1], harness)

    await harness.app.database.run(accounts)
    signed = await browser(harness)
    try:
        await signed.sign_in(WORKER[0], "not the password")  # a sign-in failure
        await signed.sign_in(*ORGANISER)  # a staff session
        # Poll 1, its voters (consents, votes, one opted out) and an idea.
        await harness.app.database.run(_voters(harness))
        # A decision sent from the web: a form post, a decision, its send, a broadcast.
        _, sending = await _previewed(signed, RECORD)
        recorded = await signed.post("/admin/decisions/new", sending)
        assert recorded.status_code == 303, recorded.text
        # A budgeting round opened on the web, its bids ruled on, now voting.
        await voting(harness, signed)
    finally:
        await signed.client.aclose()
    await harness.app.jobs.run_due()
    await harness.app.dispatcher.drain()

    # Residents in Arabic and Polish, answering a poll sent from the phone by text.
    await join(
        harness,
        Resident(ARABIC, "sms", "en", ward="الشمال"),
        Resident(POLISH, "telegram", "pl", ward="Północ"),
    )
    await put(harness, f"/poll {POLL}", STAFF_PHONE)
    await harness.send("2", ARABIC)
    await harness.send("Środa", POLISH, "telegram")
    await harness.send(ASKED, ARABIC)

    def rest(tx: Tx) -> None:
        arabic = contacts.find(tx, "sms", ARABIC)
        assert arabic is not None
        # A ballot in the round (its id 1), by a resident the round reached.
        voter = contacts.find(tx, "sms", VOTERS[0])
        assert voter is not None
        budgeting.cast(tx, 1, voter.id, [1, 2], "en", "sms", now)
        # A panel whose invitation is a broadcast and whose vote is a poll put to it, its
        # broadcast referring to the poll: tables referring to each other in a loop.
        panel = panels.create(tx, "Panel Łódź", 7, now)
        invite = broadcasts.create(
            tx,
            NewBroadcast(broadcasts.MESSAGE, "{}", texts={"pl": "Zaproszenie do panelu"}),
            "draft",
            now,
        )
        panels.set_invite(tx, panel, invite)
        panels.volunteer(tx, panel, arabic.id, {"ward": "الشمال", "age": "30-39"}, now)
        panels.record_selection(tx, panel, 1, 11, [], {arabic.id: 1 / 3}, {arabic.id}, now)
        options = tuple(PollOption(name, {"en": name}) for name in ("yes", "no"))
        question = {"en": "Fund the mural?"}
        voted = polls.create(
            tx, NewPoll(question, options, "en", panel_id=panel, quorum="50%"), now
        )
        flow = polls.flow_id(voted)
        broadcasts.create(
            tx, NewBroadcast(broadcasts.POLL, "{}", flow_id=flow, poll_id=voted), "draft", now
        )
        export = exports.record(tx, "contacts", "csv", {"ward": "Północ"}, False, "olu", now)
        exports.finish(tx, export, 3)
        jobs.add(tx, "close", voted, now)
        audit.record(
            tx, now, "olu", "organiser", "web", "note", "panel 1", {"said": ASKED, "n": None}
        )
        # A resident forgotten: address, language and fields erased, texts blanked.
        forgotten = contacts.find(tx, "sms", "+447700900004")
        assert forgotten is not None
        erasure.forget(tx, forgotten.id, now, {})
        # A lane's shared pace: nothing in Parley writes it on SQLite yet (one process
        # sends there), so it is put in by hand, as a process sending on PostgreSQL would.
        tx.execute(
            "INSERT INTO lanes (name, next_at) VALUES ('telegram', ?)"
            " ON CONFLICT (name) DO NOTHING",
            (now.timestamp() + 0.125,),
        )

    await harness.app.database.run(rest)


# -- reading the two sides ------------------------------------------------------------------


def _keys(sqlite_file: Path) -> dict[str, list[int]]:
    """Each table's primary key, as positions among its columns (SQLite's own word)."""
    found = {}
    with sqlite3.connect(sqlite_file) as connection:
        for table, _ in tables():
            described = list(connection.execute(f"PRAGMA table_info({table})"))
            key = sorted((row[5], row[0]) for row in described if row[5])
            found[table] = [position for _, position in key]
    return found


def _contents(location: Location, keys: dict[str, list[int]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, each value with its Python type."""
    found = {}
    with snapshot(location) as tx:
        for table, columns in tables():
            rows = _all(tx, f"SELECT {', '.join(columns)} FROM {table}")
            rows.sort(key=lambda row, key=keys[table]: tuple(row[at] for at in key))  # type: ignore[misc]
            found[table] = [tuple((type(value), value) for value in row) for row in rows]
    return found


def _column(contents: dict[str, list[tuple[Any, ...]]], table: str, name: str) -> list[Any]:
    """One column's values, as :func:`_contents` read them."""
    at = dict(tables())[table].index(name)
    return [row[at][1] for row in contents[table]]


def _counts(location: Location) -> dict[str, int]:
    with snapshot(location) as tx:
        return {table: _all(tx, f"SELECT count(*) FROM {table}")[0][0] for table, _ in tables()}


def _all(tx: Tx, statement: str) -> list[tuple[Any, ...]]:
    cursor: Any = tx.execute(statement)  # on PostgreSQL, a server-side cursor: closed here
    try:
        return [tuple(row) for row in cursor]
    finally:
        cursor.close()


def _copy(source: Location | str, target: Location | str) -> Result:
    arguments = ["db", "copy", "--from", str(source), "--to", _url(target)]
    return CliRunner().invoke(main, arguments)


def _url(location: Location | str) -> str:
    return location.url if isinstance(location, Postgres) else str(location)


def _listed(output: str) -> dict[str, tuple[int, int]]:
    """The command's table of counts: table -> (source, target)."""
    rows = re.findall(r"^(\w+)\s+([\d,]+)\s+([\d,]+)$", output, re.MULTILINE)
    return {name: (int(a.replace(",", "")), int(b.replace(",", ""))) for name, a, b in rows}


# -- the copy ----------------------------------------------------------------------------


@databases.needs_server
def test_a_copy_of_every_kind_of_row_has_the_same_counts_and_contents(
    tmp_path: Path, clock: Clock
) -> None:
    source = tmp_path / "parley.db"
    asyncio.run(_every_kind_of_row(source, clock))
    counts = _counts(source)
    empty = [table for table, rows in counts.items() if not rows]
    assert empty == [], f"no rows made here in {', '.join(empty)}: add some to _fill"
    keys = _keys(source)
    before = _contents(source, keys)

    target = databases.fresh_postgres()
    copied = _copy(source, target)
    assert copied.exit_code == 0, copied.output
    assert _listed(copied.output) == {table: (n, n) for table, n in counts.items()}
    assert f"Copied {sum(counts.values()):,} rows in {len(counts)} tables" in copied.output
    after = _contents(target, keys)
    for table, _ in tables():
        assert after[table] == before[table], table
    # The awkward values were there, and went across as they were.
    assert ASKED in _column(after, "inbound", "text")
    assert any("Północ" in fields for fields in _column(after, "contacts", "fields"))
    assert any("الشمال" in fields for fields in _column(after, "contacts", "fields"))
    assert _column(after, "panel_members", "probability") == [1 / 3]
    assert None in _column(after, "contacts", "language")  # the forgotten resident's
    assert any(_column(after, "contacts", "forgotten_at"))

    # Copying again, into what is now not empty: refused, one line, nothing changed.
    again = _copy(source, target)
    assert again.exit_code != 0
    [line] = again.output.strip().splitlines()
    assert line.startswith("Error: ")
    assert "holds rows already" in line
    assert _counts(target) == counts

    # Parley runs on the copy: a new contact takes the id after the copied ones.
    async def newcomer() -> int:
        database = await Database.open(target)
        try:
            made = await database.run(
                lambda tx: contacts.touch(tx, "sms", "+447700900999", "ar", clock())
            )
            return made.id
        finally:
            await database.close()

    last = max(row[0][1] for row in before["contacts"])
    assert asyncio.run(newcomer()) == last + 1

    # And back: PostgreSQL to a new SQLite file, the same again (with the newcomer).
    back = tmp_path / "back.db"
    returned = _copy(target, back)
    assert returned.exit_code == 0, returned.output
    assert _contents(back, keys) == _contents(target, keys)
    assert _counts(back)["contacts"] == counts["contacts"] + 1


def test_a_copy_onto_itself_or_to_no_database_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "parley.db"
    onto = _copy(source, source)
    assert onto.exit_code != 0
    assert not source.exists()  # refused before anything was opened
    asyncio.run(_opened(source))
    before = source.read_bytes()
    for same in (str(source), f"{tmp_path}/../{tmp_path.name}/parley.db"):
        refused = _copy(source, same)
        assert refused.exit_code == 1, refused.output
        [line] = refused.output.strip().splitlines()
        assert line == f"Error: {same}: that is the database being copied; copy it to another"
    assert source.read_bytes() == before
    wrong = _copy(source, "mysql://x")
    assert wrong.exit_code == 2
    assert "--to" in wrong.output
    assert "mysql://" in wrong.output


@databases.needs_server
def test_a_copy_from_a_file_that_is_not_there_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    refused = _copy(missing, databases.fresh_postgres())
    assert refused.exit_code == 1
    assert refused.output.strip() == f"Error: {missing}: no such database file to copy"
    assert not missing.exists()


async def _opened(path: Path) -> None:
    database = await Database.open(path)
    await database.close()
