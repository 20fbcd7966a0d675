"""The database each test runs on: a new SQLite file, or a new PostgreSQL database.

The suite runs on SQLite by default. With ``PARLEY_TEST_DATABASE=postgresql`` every test
gets a database of its own on the PostgreSQL server ``PARLEY_TEST_POSTGRES`` names (a
libpq URL of a user who may create databases, e.g.
``postgresql://postgres@/postgres?host=/tmp/pg``): a copy of a migrated template, made
once per run, dropped when the test ends. ``.ci/run`` runs the suite both ways.

:func:`connect` reaches into a test's database from outside the app, on either.
"""

from __future__ import annotations

import contextlib
import os
from itertools import count
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.store.database import writing
from bot.store.location import Location, Postgres, parse_location
from bot.store.sql import Tx

SERVER = os.environ.get("PARLEY_TEST_POSTGRES", "")
ON_POSTGRES = os.environ.get("PARLEY_TEST_DATABASE", "sqlite") == "postgresql"
TEMPLATE = f"parley_test_template_{os.getpid()}"  # runs side by side keep apart

_names = count()
_made: list[str] = []  # databases made for the test under way, dropped after it
_template_ready = False


def server() -> str:
    """PARLEY_TEST_POSTGRES, or a clear failure when the suite was asked for PostgreSQL."""
    if not SERVER:
        raise RuntimeError(
            "PARLEY_TEST_POSTGRES is not set: name a PostgreSQL server where tests may"
            " create databases (a libpq URL)"
        )
    return SERVER


def on(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    parts = urlsplit(server())
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(server(), autocommit=True) as connection:
        connection.execute(statement.encode())


def _make_template() -> None:
    global _template_ready
    if _template_ready:
        return
    from bot.store.postgres import migrate

    _admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {TEMPLATE}")
    migrate(Postgres(on(TEMPLATE)))
    _template_ready = True


def fresh_postgres() -> Postgres:
    """A new, migrated database on the test server, dropped when the test ends."""
    _make_template()
    name = f"parley_test_{os.getpid()}_{next(_names)}"
    # FILE_COPY: the template copied as files, half the time of writing it through the WAL
    _admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
    _made.append(name)
    return Postgres(on(name))


_given: dict[tuple[Path, str], str] = {}


def of(tmp_path: Path, file: str = "parley.db") -> str:
    """PARLEY_DATABASE for a test: the SQLite file ``tmp_path/file``, or on PostgreSQL a
    database of its own: the same one each time a test asks for the same file."""
    if not ON_POSTGRES:
        return str(tmp_path / file)
    key = (tmp_path, file)
    if key not in _given:
        _given[key] = fresh_postgres().url
    return _given[key]


def location(tmp_path: Path, file: str = "parley.db") -> Location:
    """:func:`of` as a location, for ``Database.open`` and :func:`connect`."""
    return parse_location(of(tmp_path, file))


def beside(database: Location, file: str) -> Location:
    """Another database for the same test: a file beside a SQLite one, or a new one."""
    if isinstance(database, Path):
        return database.with_name(file)
    return fresh_postgres()


def missing(database: Location) -> Location:
    """A database that is not there: a file beside a SQLite one that nobody made, or a
    name no database on the server has."""
    if isinstance(database, Path):
        return database.with_name("missing.db")
    return Postgres(on(f"parley_test_{os.getpid()}_missing"))


def drop_made() -> None:
    """Drop the databases the test made (its connections, if any are left, are ended)."""
    _given.clear()
    while _made:
        _admin(f"DROP DATABASE IF EXISTS {_made.pop()} WITH (FORCE)")


def drop_template() -> None:
    global _template_ready
    if _template_ready:
        _admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        _template_ready = False


def connect(location: Location) -> contextlib.AbstractContextManager[Tx]:
    """A connection to a test's database from outside the app, committed at the end."""
    return writing(location)


def every_value(database: Postgres) -> bytes:
    """Every value of every table (and the schema's own), as one text: what a test looks
    through for something that must be gone."""
    from bot.store.postgres import connected

    found = []
    with connected(database) as tx:
        tables = [
            row[0]
            for row in tx.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        for table in tables:
            found += [str(tuple(row)) for row in tx.execute(f"SELECT * FROM {table}")]
    return "\n".join(found).encode()


needs_server = pytest.mark.skipif(
    not SERVER,
    reason="PARLEY_TEST_POSTGRES is not set (a libpq URL to a PostgreSQL server where tests"
    " may create databases, e.g. postgresql://postgres@/postgres?host=/tmp/pg); .ci/run"
    " starts one",
)
