"""Fresh PostgreSQL databases for benchmarks: made on a server, dropped afterwards.

A benchmark given ``--postgres SERVER`` (a libpq URL of a user who may create databases,
e.g. ``postgresql://postgres@/postgres?host=/tmp/pgdev``) measures on a database of its
own there, beside its SQLite figure from the same run::

    with fresh_postgres(server) as database:  # a Postgres location, empty
        ...

Each is named ``bench_<pid>_<n>``, so runs side by side keep apart, and is dropped when
the block ends (its connections ended with it, whatever happened). Parley migrates it
when it first opens it, as it would a new production database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bot.store.location import Location, Postgres

_names = count()


def add_option(parser: argparse.ArgumentParser) -> None:
    """The ``--postgres SERVER`` option every benchmark that measures both takes."""
    parser.add_argument(
        "--postgres",
        metavar="SERVER",
        help="also measure on a fresh database made (and dropped) on this PostgreSQL server,"
        " a libpq URL, e.g. postgresql://postgres@/postgres?host=/tmp/pgdev",
    )


def _admin(server: str, statement: str) -> None:
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(statement.encode())


@contextlib.contextmanager
def fresh_postgres(server: str) -> Iterator[Postgres]:
    """A new, empty database on ``server``, dropped when the block ends."""
    name = f"bench_{os.getpid()}_{next(_names)}"
    _admin(server, f"CREATE DATABASE {name}")
    try:
        yield Postgres(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    finally:
        _admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def inbound_counts(database: Location) -> Iterator[Callable[[], tuple[int, int]]]:
    """A reader of (stored, not yet acted on) inbound messages, on one connection from
    outside Parley: what the inbound benchmarks poll. A SQLite file is read without
    taking its write lock."""
    query = "SELECT count(*), count(*) FILTER (WHERE handled_at IS NULL) FROM inbound"
    with contextlib.ExitStack() as stack:
        if isinstance(database, Postgres):
            connection: Any = stack.enter_context(psycopg.connect(database.url, autocommit=True))
        else:
            connection = stack.enter_context(
                contextlib.closing(sqlite3.connect(database, timeout=30))
            )

        def counts() -> tuple[int, int]:
            stored, pending = connection.execute(query).fetchone()
            return int(stored), int(pending)

        yield counts


def engine_name(database: Location) -> str:
    """What a row of figures is measured on, for the benchmarks' tables."""
    return "PostgreSQL" if isinstance(database, Postgres) else "SQLite"


def setting(database: Location) -> str:
    """``database`` as PARLEY_DATABASE names it (a URL with its password, if any)."""
    return database.url if isinstance(database, Postgres) else str(database)
