"""PostgreSQL as Parley's database: where PARLEY_DATABASE points, the SQL as psycopg takes
it, start-up against a server that is not there or a schema that is too new, and
``parley db status``/``migrate``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.errors import ConfigError
from bot.store import Database
from bot.store.database import known_version, version_of, writing
from bot.store.location import Postgres, parse_location
from bot.store.postgres import translate
from tests import databases

NOWHERE = "postgresql://parley@/parley?host=/nonexistent-socket-folder"


def test_a_path_is_sqlite_and_a_url_is_postgresql(tmp_path: Path) -> None:
    assert parse_location(str(tmp_path / "p.db")) == tmp_path / "p.db"
    assert parse_location("~/parley.db") == Path.home() / "parley.db"
    for url in ("postgresql://u@db.example/parley", "postgres://u@db.example:5433/parley"):
        assert parse_location(url) == Postgres(url)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("mysql://u@h/db", "mysql:// is not a database Parley runs on"),
        ("postgresql://u@h:port/db", "the URL's port is not a number"),
        ("  ", "empty"),
    ],
)
def test_a_wrong_database_setting_names_it(value: str, said: str) -> None:
    with pytest.raises(ConfigError, match=r"^PARLEY_DATABASE: ") as caught:
        parse_location(value)
    assert said in str(caught.value)


def test_a_password_in_the_url_is_never_printed() -> None:
    location = Postgres("postgresql://parley:s3cret@db.example:5432/parley?sslmode=require")
    assert "s3cret" not in str(location)
    assert str(location) == "postgresql://parley:***@db.example:5432/parley?sslmode=require"
    assert location.server == "database parley on db.example:5432"
    assert Postgres(NOWHERE).server == "database parley on /nonexistent-socket-folder"


def test_parleys_sql_reaches_psycopg_with_its_placeholders() -> None:
    assert translate("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)"
    )
    # A question mark or percent sign in a literal or a name is text, not a placeholder.
    assert translate("SELECT '?', \"a?\" WHERE x LIKE 'pb-%' AND y = ?") == (
        "SELECT '?', \"a?\" WHERE x ILIKE 'pb-%%' AND y = %s"
    )
    assert translate("SELECT 7 % 3 -- why? 100%\n, ?") == "SELECT 7 %% 3 -- why? 100%%\n, %s"
    assert translate("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"
    assert translate("SELECT unlikely FROM t WHERE a NOT like ?") == (
        "SELECT unlikely FROM t WHERE a NOT ILIKE %s"
    )


async def test_a_server_that_is_not_there_stops_start_up_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        await Database.open(Postgres(NOWHERE))
    said = str(caught.value)
    assert said.startswith(
        "PARLEY_DATABASE: cannot reach the database parley on /nonexistent-socket-folder ("
    )
    assert "check that PostgreSQL runs there" in said
    assert "\n" not in said


@pytest.mark.parametrize("command", [["db", "migrate"], ["db", "status"], ["run"]])
def test_commands_say_the_server_cannot_be_reached(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    env = {
        "PARLEY_DATABASE": NOWHERE,
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
        "TELEGRAM_BOT_TOKEN": "123:abc",  # a provider, so that `run` gets as far as the database
        "PARLEY_TELEGRAM_MODE": "polling",
    }
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 1, result.output
    *starting, line = result.stderr.splitlines()  # `run` first says what it starts
    assert len(starting) <= 1
    assert "Traceback" not in result.output
    assert line.startswith("Error: PARLEY_DATABASE: cannot reach the database parley on"), line


async def test_a_sqlite_file_from_a_newer_parley_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    database = await Database.open(path)
    await database.close()
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {known_version() + 1}")
    with pytest.raises(ConfigError, match="newer than this Parley knows") as caught:
        await Database.open(path)
    assert f"schema is version {known_version() + 1}" in str(caught.value)


@databases.needs_server
async def test_a_postgresql_database_from_a_newer_parley_is_refused() -> None:
    location = databases.fresh_postgres()
    with writing(location) as tx:
        tx.execute(
            "INSERT INTO parley_schema (version, name, applied_at) VALUES (?, 'later', 'now')",
            (known_version() + 1,),
        )
    with pytest.raises(ConfigError, match="newer than this Parley knows"):
        await Database.open(location)


@databases.needs_server
def test_db_status_and_migrate_on_a_new_postgresql_database(tmp_path: Path) -> None:
    import psycopg

    name = "parley_test_new_empty"
    with psycopg.connect(databases.server(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        (tmp_path / "parley.toml").write_text("[parley]\n", encoding="utf-8")
        env = {
            "PARLEY_DATABASE": databases.on(name),
            "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
        }
        status = CliRunner().invoke(main, ["db", "status"], env=env)
        assert status.exit_code == 0, status.output
        assert "(PostgreSQL)" in status.output
        assert "Schema version: none yet" in status.output
        migrated = CliRunner().invoke(main, ["db", "migrate"], env=env)
        assert migrated.exit_code == 0, migrated.output
        assert f"schema version 0 → {known_version()}, migrated" in migrated.output
        assert version_of(Postgres(databases.on(name))) == known_version()
        again = CliRunner().invoke(main, ["db", "migrate"], env=env)
        assert f"schema version {known_version()}, up to date" in again.output
        status = CliRunner().invoke(main, ["db", "status"], env=env)
        assert f"Schema version: {known_version()}, up to date" in status.output
    finally:
        with psycopg.connect(databases.server(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_db_status_of_a_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    env = {
        "PARLEY_DATABASE": str(tmp_path / "parley.db"),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
    }
    status = CliRunner().invoke(main, ["db", "status"], env=env)
    assert "(SQLite)" in status.output
    assert "none yet" in status.output
    assert not (tmp_path / "parley.db").exists()  # status creates nothing
    CliRunner().invoke(main, ["db", "migrate"], env=env)
    status = CliRunner().invoke(main, ["db", "status"], env=env)
    assert f"Schema version: {known_version()}, up to date" in status.output


@databases.needs_server
def test_one_process_leads_and_another_takes_over_when_it_goes() -> None:
    from bot.store.postgres import Leader

    location = databases.fresh_postgres()
    first, second = Leader(location), Leader(location)
    try:
        assert first.try_lead()
        assert first.try_lead()  # still leading
        assert not second.try_lead()
        first.release()  # as when its process dies: the session, and the lock, end
        assert second.try_lead()
        assert not first.try_lead()
    finally:
        first.release()
        second.release()


@databases.needs_server
async def test_many_rows_inserted_on_postgresql_are_the_rows_sqlite_stores(tmp_path: Path) -> None:
    # A plain INSERT goes to PostgreSQL as COPY (placeholders, a literal with a quote in
    # it, NULL); one with ON CONFLICT row by row, as written. Both as SQLite has them.
    plain = (
        "INSERT INTO contacts (channel, address, language, opted_out_at, fields, created_at,"
        " last_seen_at) VALUES (?, ?, ?, NULL, '{\"ward\": \"St Mary''s\"}', ?, ?)"
    )
    rows = [("sms", f"+4477009001{n:02d}", None if n % 2 else "pl", "t1", "t2") for n in range(30)]
    rows.append(("telegram", "1234\t5\\6\nline", "en", "t1", "t2"))  # COPY's own characters
    again = (
        "INSERT INTO contacts (channel, address, created_at, last_seen_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (channel, address) DO NOTHING"
    )
    found = []
    sqlite = await Database.open(tmp_path / "p.db")  # migrated
    await sqlite.close()
    for location in (tmp_path / "p.db", databases.fresh_postgres()):
        with writing(location) as tx:
            tx.executemany(plain, rows)
            tx.executemany(again, [("sms", "+447700900100", "t3", "t3"), ("sms", "+44", "t", "t")])
            found.append(
                [
                    tuple(row)
                    for row in tx.execute(
                        "SELECT channel, address, language, opted_out_at, fields, created_at,"
                        " last_seen_at FROM contacts ORDER BY id"  # ids: conflicts use some
                    )
                ]
            )
    assert found[0] == found[1]
    assert len(found[0]) == 32
    assert found[0][0][4] == '{"ward": "St Mary\'s"}'


@databases.needs_server
async def test_a_unit_waits_for_a_held_row_no_longer_than_sqlite_would() -> None:
    # A row held by a transaction that does not end (a stuck process, a person in psql)
    # makes the unit that needs it give up as unavailable, as SQLite's busy_timeout does,
    # rather than wait for ever with its webhook: then it is tried again and goes through.
    import asyncio

    import psycopg

    from bot.errors import DatabaseUnavailable

    location = databases.fresh_postgres()
    with writing(location) as tx:
        tx.execute(
            "INSERT INTO contacts (channel, address, created_at, last_seen_at)"
            " VALUES ('sms', '+447700900001', 't', 't')"
        )
    database = await Database.open(location)
    touch = "UPDATE contacts SET last_seen_at = 'now' WHERE address = '+447700900001'"
    try:
        with psycopg.connect(location.url) as holder:  # a transaction, left open
            holder.execute(touch)
            with pytest.raises(DatabaseUnavailable, match="held longer than 5s"):
                await asyncio.wait_for(database.run(lambda tx: tx.execute(touch)), 30)
        await asyncio.wait_for(database.run(lambda tx: tx.execute(touch)), 30)
    finally:
        await database.close()
