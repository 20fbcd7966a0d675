"""PostgreSQL: the same units of work as on SQLite, for several processes on one server.

A unit of work is a plain function of a :class:`~bot.store.sql.Tx`, run whole in one
transaction. Here it runs on one of a few threads, each taking a connection from a
psycopg pool (:meth:`PostgresDatabase.run`): PostgreSQL lets transactions run side by
side, so there is no group commit as on SQLite. A transaction the server aborted for a
conflict (a deadlock, a serialisation failure) is run again from the start; a server that
cannot be reached raises :class:`~bot.errors.DatabaseUnavailable`, which webhooks answer
with 503 so providers send the message again.

Several ``parley run`` share one database (``shared``): each claims the messages it sends
and the broadcasts it writes before it does so, and each lane's pace is kept in the
``lanes`` table, so the deployment as a whole keeps it (:mod:`bot.outreach.outbox`).

:class:`PostgresTx` gives psycopg Parley's SQL as written for both databases: ``?``
becomes ``%s`` (and a literal ``%`` doubles), and ``LIKE`` becomes ``ILIKE``, since
SQLite's LIKE ignores case. Results come back as SQLite gives them: 0/1 for Python
booleans written, integers for whole sums, rows that answer to names and positions.

Migrations: ``migrations/postgresql/`` holds one file per schema version from the first
PostgreSQL knew (0013, the whole schema to that point); each later version has a file in
both folders. Processes starting together take turns (an advisory lock), and the version
is kept in ``parley_schema``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from itertools import count
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg.rows import RowMaker

from bot.errors import ConfigError, DatabaseUnavailable
from bot.store.database import Database, newer_schema
from bot.store.location import Postgres
from bot.store.sql import Cursor, Row, Tx, row_class

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_SIZE = 4  # connections (and threads) per process; the server's max_connections bounds all
CONNECT_TIMEOUT = 5  # seconds: a server that does not answer by then is unreachable
LOCK_TIMEOUT = "5s"  # a unit waits this long for a row another holds, as SQLite's busy_timeout
STREAM_ROWS = 2000  # rows fetched at a time by a snapshot's server-side cursors
_MIGRATION_LOCK = 7_411_502_001  # pg_advisory_lock key while migrating (any fixed number)
_LEADER_LOCK = 7_411_502_003  # pg_advisory_lock key of the leading process
_RETRIES = 5  # a unit aborted for a conflict is tried this many times in all

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every PostgreSQL migration, in order, without gaps."""
    found = []
    folder = resources.files("bot.store").joinpath("migrations").joinpath("postgresql")
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if not versions or versions != list(range(versions[0], versions[0] + len(versions))):
        raise RuntimeError(f"PostgreSQL migrations must be numbered without gaps: {versions}")
    return found


# -- Parley's SQL, as psycopg takes it --------------------------------------------------

_TOKENS = re.compile(
    r"""'(?:[^']|'')*'       # a string literal: its ? is text
      | "(?:[^"]|"")*"       # a quoted name
      | --[^\n]*             # a comment
      | \?                   # a placeholder
      | %                    # a literal percent sign
      | \bLIKE\b             # SQLite's LIKE ignores case
    """,
    re.VERBOSE | re.IGNORECASE,
)


def _token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token == "?":
        return "%s"
    if token == "%":
        return "%%"
    if token.upper() == "LIKE":
        return "ILIKE"
    return token.replace("%", "%%")  # psycopg reads % even inside literals and comments


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """Parley's SQL (``?`` placeholders) as psycopg takes it (``%s``)."""
    return _TOKENS.sub(_token, sql)


class _BoolAsInteger(Dumper):
    """Python booleans go in as 0 and 1, the flags' column type on both databases."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsNumber(Loader):
    """``sum`` of integers is numeric on PostgreSQL: an int when whole, as SQLite gives."""

    def load(self, data: Any) -> int | float:
        text = bytes(data)
        return float(text) if b"." in text or b"e" in text.lower() else int(text)


def _rows(cursor: Any) -> RowMaker[Row]:
    description = cursor.description
    names = tuple(column.name for column in description) if description else ()
    return row_class(names)


def _configure(connection: psycopg.Connection[Any]) -> None:
    connection.adapters.register_dumper(bool, _BoolAsInteger)
    connection.adapters.register_loader("numeric", _NumericAsNumber)
    connection.row_factory = _rows


def _configure_pooled(connection: psycopg.Connection[Any]) -> None:
    """A unit of work's connection: as any, and it never waits forever for a lock (a
    migration's connection does wait, for another process migrating)."""
    _configure(connection)
    connection.execute("SELECT set_config('lock_timeout', %s, false)", (LOCK_TIMEOUT,))


_READS = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)


class _ReadAhead:
    """A server-side cursor read one batch ahead, on a thread of its own: the server
    works out (and sends) the next rows while Parley writes these out, instead of each
    waiting for the other. An iterator, like the cursor: reading it in several loops
    carries on where the last stopped."""

    def __init__(self, cursor: Any, thread: ThreadPoolExecutor) -> None:
        self._cursor = cursor
        self._thread = thread
        self._rows: Iterator[Any] = iter(())
        self._coming: Future[list[Any]] | None = None
        self._done = False

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        return next(self, None)

    def fetchall(self) -> list[Any]:
        return list(self)

    def close(self) -> None:
        """Close the cursor now (a snapshot's end closes every one left open)."""
        if self._coming is not None:
            self._coming.result()  # the read under way finishes first
            self._coming = None
        self._done = True
        self._cursor.close()

    def __iter__(self) -> _ReadAhead:
        return self

    def __next__(self) -> Any:
        while True:
            row = next(self._rows, _END)
            if row is not _END:
                return row
            if self._done:
                raise StopIteration
            if self._coming is None:
                self._coming = self._thread.submit(self._cursor.fetchmany, STREAM_ROWS)
            rows = self._coming.result()
            self._coming = None
            if len(rows) < STREAM_ROWS:  # the last batch: nothing to read ahead
                self._done = True
            else:
                self._coming = self._thread.submit(self._cursor.fetchmany, STREAM_ROWS)
            self._rows = iter(rows)


_END = object()


def _nothing() -> None:
    pass


class PostgresTx:
    """A connection inside one transaction, taking Parley's SQL as written for SQLite.

    With ``stream`` (a snapshot's reads), each statement reads through a server-side
    cursor, a few thousand rows at a time and one batch ahead, so an export of a million
    rows never holds them all, nor waits for each batch."""

    def __init__(self, connection: psycopg.Connection[Any], stream: bool = False) -> None:
        self.connection = connection
        self.statements = 0  # done so far: none means nothing reached the server
        self._stream = stream
        self._names = count()
        self._open: list[Any] = []  # a snapshot's server-side cursors, closed with it
        self._reader: ThreadPoolExecutor | None = None  # reads them ahead

    def end_snapshot(self) -> None:
        """End a snapshot's transaction, and with it every cursor it opened. Rolled back
        (a read-only transaction has nothing to keep), the server drops them all at once;
        each is then closed here without a word to the server. Closing them one by one
        would fail at one a ``ROLLBACK TO`` already dropped (a desk operation refused, a
        page's "not found", undoes its savepoint): that failure would abort the
        transaction and leave the cursor open, for psycopg to warn of."""
        if self._reader is not None:
            self._reader.shutdown(wait=True)  # a read ahead under way ends first
            self._reader = None
        with contextlib.suppress(psycopg.Error):
            self.connection.execute("ROLLBACK")
        for cursor in self._open:
            with contextlib.suppress(psycopg.Error):
                cursor.close()
        self._open.clear()

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        query = translate(sql)
        if self._stream and _READS.match(query):  # (a savepoint, say, is no cursor's)
            named = self.connection.cursor(name=f"parley_{next(self._names)}")
            self._open.append(named)
            named.itersize = STREAM_ROWS
            named.execute(query, parameters)
            self.statements += 1
            if self._reader is None:
                self._reader = ThreadPoolExecutor(1, thread_name_prefix="parley-read")
            return _ReadAhead(named, self._reader)
        if self._reader is not None:
            # A read ahead still under way finishes first: after a ROLLBACK TO, say, its
            # cursor would be gone, and the failed FETCH would abort the whole snapshot.
            self._reader.submit(_nothing).result()
        cursor = self.connection.execute(query, parameters)
        self.statements += 1
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor:
        """Run ``sql`` once per parameter row. A plain INSERT of one row is sent as COPY
        instead: the rows stream to the server, which stores them without planning and
        running a statement for each (as executemany's pipeline has it do), a few times as
        fast for a broadcast's outbox rows and a survey's sessions."""
        copying = _as_copy(sql)
        cursor = self.connection.cursor()
        if copying is None:
            cursor.executemany(translate(sql), parameters)
        else:
            statement, template, slots = copying
            with cursor.copy(statement) as stream:
                if not slots:  # every value a parameter, in order
                    for row in parameters:
                        stream.write_row(row)
                else:
                    for row in parameters:
                        values = list(template)
                        for slot, value in zip(slots, row, strict=True):
                            values[slot] = value
                        stream.write_row(values)
        self.statements += 1
        return cursor


# An INSERT of one row, each value a placeholder, a string, a whole number or NULL, with
# nothing after it (no ON CONFLICT, no RETURNING): what COPY does just as well.
_PLAIN_INSERT = re.compile(
    r"^\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]*)\)\s*VALUES\s*\(([^()]*)\)\s*$", re.IGNORECASE
)
_VALUE = re.compile(r"\s*(\?|'(?:[^']|'')*'|-?\d+|NULL)\s*(?:,|$)", re.IGNORECASE)


@lru_cache(maxsize=256)
def _as_copy(sql: str) -> tuple[str, tuple[Any, ...], tuple[int, ...]] | None:
    """For a plain INSERT: its COPY statement, each column's constant (None for those a
    parameter gives) and which columns the parameters give, unless that is all of them
    (then no slots). None for any other statement."""
    plain = _PLAIN_INSERT.match(sql)
    if plain is None:
        return None
    table, names, values = plain.groups()
    columns = [name.strip() for name in names.split(",")]
    template: list[Any] = []
    slots: list[int] = []
    at = 0
    while at < len(values):
        found = _VALUE.match(values, at)
        if found is None or found.end() == at:
            return None
        value = found.group(1)
        if value == "?":
            slots.append(len(template))
            template.append(None)
        elif value.startswith("'"):
            template.append(value[1:-1].replace("''", "'"))
        else:
            template.append(None if value.upper() == "NULL" else int(value))
        at = found.end()
    if len(template) != len(columns) or not slots:
        return None
    every = slots == list(range(len(columns)))
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    return statement, tuple(template), () if every else tuple(slots)


def _connect(location: Postgres, **options: Any) -> psycopg.Connection[Any]:
    try:
        connection = psycopg.connect(
            location.url, connect_timeout=CONNECT_TIMEOUT, autocommit=True, **options
        )
    except psycopg.Error as error:
        raise unreachable(location, error) from None
    _configure(connection)
    return connection


def unreachable(location: Postgres, error: BaseException) -> ConfigError:
    """The one line that says which server could not be reached, and what to check."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    reason = reason.replace(location.url, str(location))
    return ConfigError(
        f"PARLEY_DATABASE: cannot reach the {location.server} ({reason}); check that"
        " PostgreSQL runs there, accepts connections from this machine, and knows this user"
        " and password (PGPASSWORD or ~/.pgpass)"
    )


@contextlib.contextmanager
def snapshot(location: Postgres) -> Iterator[PostgresTx]:
    """A read-only connection holding one consistent view, for long reads (exports)."""
    connection = _connect(location)
    try:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        tx = PostgresTx(connection, stream=True)
        try:
            yield tx
        finally:
            tx.end_snapshot()
    finally:
        connection.close()


def version_of(location: Postgres) -> int:
    """The database's schema version, migrating nothing (0 for a new database)."""
    with _connect(location) as connection:
        return _version(connection)


def migrate(location: Postgres) -> None:
    """Bring the database's schema up to date (``parley db migrate``; also at start)."""
    with _connect(location) as connection:
        _migrate(connection, location)


@contextlib.contextmanager
def connected(location: Postgres) -> Iterator[PostgresTx]:
    """One transaction on a connection of its own, committed at the end (rolled back on
    an error): for commands that write outside a running Parley (``parley db copy``)."""
    with _connect(location) as connection, connection.transaction():
        yield PostgresTx(connection)


class Leader:
    """The leading process: it holds a session advisory lock on a connection of its own.
    The server drops the lock the moment that connection ends, which a killed process's
    does at once (its socket closes) and a vanished machine's within about 20 s (TCP
    keepalives), so another process takes over at its next try."""

    def __init__(self, location: Postgres) -> None:
        self.location = location
        self._connection: psycopg.Connection[Any] | None = None

    def try_lead(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute("SELECT 1")
                return True
            except psycopg.Error:  # the server or the network went: the lock with it
                self.release()
        try:
            connection = psycopg.connect(
                self.location.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=5,
                keepalives_count=3,
            )
        except psycopg.Error:
            return False
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (_LEADER_LOCK,)).fetchone()
        except psycopg.Error:
            row = None
        if row is None or not row[0]:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None


class PostgresDatabase(Database):
    """Parley's database on a PostgreSQL server (see the module's docstring)."""

    shared = True  # several processes run on it, claiming what they send

    def __init__(self, location: Postgres, pool: psycopg_pool.ConnectionPool[Any]) -> None:
        self.location: Postgres = location
        self._pool = pool
        self._threads = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="parley-db")

    @classmethod
    async def connect(cls, location: Postgres) -> PostgresDatabase:
        """Connect (ConfigError naming the server if it cannot be reached) and migrate."""
        return await asyncio.to_thread(cls._open, location)

    @classmethod
    def _open(cls, location: Postgres) -> PostgresDatabase:
        with _connect(location) as first:  # the real reason, if the server cannot be reached
            _migrate(first, location)
        pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            location.url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            configure=_configure_pooled,
            timeout=CONNECT_TIMEOUT,  # a webhook waits no longer for a connection: then 503
            # A lost connection is tried again after 1, 2, 4, 8, ... s (for 5 minutes
            # unless told): a server back after a long outage could wait a minute to be
            # used. Given up after 5 s, it is tried afresh at the next demand: a server
            # that is back is used within about 2 s, however long it was away.
            reconnect_timeout=CONNECT_TIMEOUT,
            open=False,
            name="parley",
        )
        pool.open()
        return cls(location, pool)

    def snapshot(self) -> contextlib.AbstractContextManager[Tx]:
        return snapshot(self.location)

    async def run(self, work: Callable[[Tx], T], *, small: bool = False) -> T:
        """Run ``work(tx)`` in one transaction on a pooled connection; its result or error
        (``small`` or not: every unit is a round trip to the server from a thread)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._unit, work)

    def _unit(self, work: Callable[[Any], T]) -> T:
        for attempt in range(1, _RETRIES + 1):
            tx: PostgresTx | None = None
            try:
                with self._pool.connection() as connection, connection.transaction():
                    tx = PostgresTx(connection)
                    return work(tx)
            except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected):
                if attempt == _RETRIES:
                    raise
                time.sleep(0.005 * attempt)  # the other transaction finishes meanwhile
            except pg_errors.LockNotAvailable as error:
                raise DatabaseUnavailable(
                    f"the {self.location.server} is busy: a row this needs was held"
                    f" longer than {LOCK_TIMEOUT}"
                ) from error
            except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
                if isinstance(error, pg_errors.QueryCanceled):
                    raise
                # A pooled connection the server closed while it lay idle fails on its
                # first statement, before anything was done: once more, on a new one.
                unused = tx is None or tx.statements == 0
                if attempt == 1 and unused and not isinstance(error, psycopg_pool.PoolTimeout):
                    continue
                raise DatabaseUnavailable(
                    f"the {self.location.server} cannot be reached"
                ) from error
        raise AssertionError("unreachable")

    async def schema_version(self) -> int:
        return await self.run(lambda tx: _version(tx.connection))  # type: ignore[attr-defined]

    def leadership(self) -> Leader:
        return Leader(self.location)

    async def checkpoint(self) -> bool:
        """Nothing to do: PostgreSQL's own checkpoints and vacuum reclaim erased rows."""
        return True

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.close)
        self._threads.shutdown(wait=True)


def _version(connection: psycopg.Connection[Any]) -> int:
    found = connection.execute("SELECT to_regclass('parley_schema')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = connection.execute("SELECT max(version) FROM parley_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _migrate(connection: psycopg.Connection[Any], location: Postgres) -> None:
    """Bring the schema up to date, one whole transaction per version; refuse a newer one."""
    shipped = migrations()
    newest = shipped[-1][0]
    connection.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS parley_schema (version BIGINT PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = _version(connection)
        if current > newest:
            raise ConfigError(newer_schema(str(location), current, newest))
        for version, name, sql in shipped:
            if version <= current:
                continue
            with connection.transaction():
                connection.execute(sql.encode())  # several statements: no placeholders
                connection.execute(
                    "INSERT INTO parley_schema (version, name, applied_at) VALUES (%s, %s, %s)",
                    (version, name, datetime.now(UTC).isoformat()),
                )
            log.info("database migrated to version %d (%s)", version, name)
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
