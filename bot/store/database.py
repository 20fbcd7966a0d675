"""The database: SQLite (one file, the default) or PostgreSQL (bot/store/postgres.py).

:class:`Database` is what the rest of Parley holds: :meth:`Database.run` runs a unit of
work (a plain function of a :class:`~bot.store.sql.Tx`) in one whole transaction, and
:func:`snapshot` gives a consistent read-only view for long reads. ``Database.open``
picks the database PARLEY_DATABASE names.

The rest of this module is SQLite: one connection, numbered migrations, explicit
transactions.

SQLite allows one writer at a time, so Parley keeps a connection for most work and
serialises transactions on it with an asyncio lock (and one for small units, below): a
transaction is ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back whole on any error, so
nothing is ever half-written.

The connection lives on aiosqlite's thread. :meth:`Database.run` hands that thread a
whole unit of work (a plain function of the connection) and awaits it once, instead of
one round trip between threads per statement: under load each round trip waits for the
GIL, and a message's dozen statements would cost milliseconds rather than microseconds.
Units arriving together share one commit (see :meth:`Database.run`).

A resident's message is a small unit: a dozen indexed statements, most of its time the
engine's Python, which holds the GIL on either thread. Handed to the database thread,
each statement releases the GIL and waits to take it back from a busy event loop, which
costs more than the statement. So small units run on a second connection the event loop
owns, batched per turn of the loop, and never wait there: that connection gives up at
once when another writer holds the database (a staff command in another process, a
broadcast's batch on the thread), and the batch goes to the thread to wait its turn;
it never checkpoints (the fsync is the thread's, every thousand units).

The database holds residents' phone numbers: it is created readable by its owner only
(0600), and SQLite gives its -wal, -shm and -journal files the database file's mode.

On SQLite one process sends from a database (:class:`RunLock`): Parley's claims on what
it sends are made for processes sharing a PostgreSQL database (``Database.shared``), and
one SQLite file has one writer anyway. Commands that only read or add to it (exports,
staff commands) need no lock.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import fcntl
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

from bot.errors import ConfigError
from bot.store.location import Location, Postgres
from bot.store.sql import Row, Tx, row_class

# aiosqlite logs every statement with its parameters at DEBUG: phone numbers and message
# texts would reach the logs. Parley's own log lines say what happened without them.
logging.getLogger("aiosqlite").setLevel(logging.INFO)
log = logging.getLogger(__name__)

T = TypeVar("T")

PRIVATE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")
PRAGMAS = (
    "foreign_keys = ON",
    "synchronous = NORMAL",
    # Erased text is overwritten, not left behind in the file's free space.
    "secure_delete = ON",
    # The journal of each unit's savepoint (group commit) in memory: written to a
    # temporary file, it was a fifth of a unit's time.
    "temp_store = MEMORY",
)
"""Both connections' settings (each then says how long it waits for a lock)."""
CHECKPOINT_EVERY = 1000  # small units committed on the loop between the thread's checkpoints

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with Parley, in order."""
    found = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, ... without gaps: {versions}")
    return found


def make_private(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it (SQLite gives the files
    it makes beside it the same mode), and tighten one made before Parley did this."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    for name in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        try:
            if name.stat().st_mode & 0o077:
                os.chmod(name, PRIVATE)
        except FileNotFoundError:
            continue
        except OSError as error:  # another user's file: say so, and carry on
            log.warning("%s: others can read it, and it cannot be changed: %s", name, error)


class RunLock:
    """The one process that runs the bot on a database: an exclusive lock on
    ``<database>.lock``, held from :meth:`acquire` to :meth:`release` (or the end of the
    process, whichever way it ends: the system drops the lock with the process)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: Path) -> RunLock:
        """Take the lock, or raise ConfigError naming the database if a process holds it."""
        database.parent.mkdir(parents=True, exist_ok=True)
        path = database.with_name(database.name + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (process {holder})" if holder.isdigit() else ""
            raise ConfigError(
                f"{database}: another Parley is already running on this database{who};"
                " stop it first (one `parley run` or `parley chat` per database)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


class Database(abc.ABC):
    """A database Parley runs on; ``await Database.open(location)`` gives the right one."""

    location: Location
    shared: bool = False
    """Whether several processes may run Parley on it at once (PostgreSQL): then what one
    process sends or writes it claims first, and each lane's pace is kept in the database."""

    @staticmethod
    async def open(location: Location) -> Database:
        """Open (creating a SQLite file if needed) and migrate the database at ``location``."""
        if isinstance(location, Postgres):
            from bot.store.postgres import PostgresDatabase  # psycopg loads only for it

            return await PostgresDatabase.connect(location)
        return await SqliteDatabase.open_file(location)

    @abc.abstractmethod
    async def run(self, work: Callable[[Tx], T], *, small: bool = False) -> T:
        """Run ``work(tx)`` atomically; its result (or its error). ``small``: the
        caller knows it to be a handful of indexed statements (a resident's message),
        which SQLite runs without a hop to its thread when it can."""

    @abc.abstractmethod
    def snapshot(self) -> contextlib.AbstractContextManager[Tx]:
        """A read-only, consistent view of the database, for long reads."""

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The version of the schema the database is at."""

    @abc.abstractmethod
    async def checkpoint(self) -> bool:
        """Make erased rows gone from the files too; False if it must wait for a reader."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish what was handed over, then close."""

    def leadership(self) -> Leadership:
        """Which process does the work that must be done by one at a time (resuming
        interrupted broadcasts, the daily retention run): on SQLite, the one process."""
        return SoleProcess()


class Leadership(Protocol):
    """A claim to lead, tried again and again; it lasts while its holder lives."""

    def try_lead(self) -> bool:
        """Lead, or go on leading; False while another process does (blocks: call it
        from a thread)."""

    def release(self) -> None: ...


class SoleProcess:
    """The leadership of a database only one process runs on."""

    def try_lead(self) -> bool:
        return True

    def release(self) -> None:
        return None


def snapshot(location: Location) -> contextlib.AbstractContextManager[Tx]:
    """A read-only view of the database holding one consistent state, for long reads
    (exports) that must neither block the bot's writes nor wait for them."""
    if isinstance(location, Postgres):
        from bot.store import postgres

        return postgres.snapshot(location)
    return read_only(location)


def writing(location: Location) -> contextlib.AbstractContextManager[Tx]:
    """One transaction on a connection of its own, committed at the end and rolled back
    on an error: for the few writes made outside :meth:`Database.run` (commands that run
    beside the bot, set-up before it starts)."""
    if isinstance(location, Postgres):
        from bot.store import postgres

        return postgres.connected(location)
    return _sqlite_writing(location)


def _tuple_rows(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    return row_class(tuple(column[0] for column in cursor.description))(values)


@contextlib.contextmanager
def _sqlite_writing(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, isolation_level=None, timeout=5)
    connection.row_factory = _tuple_rows  # rows as PostgreSQL's come: tuples with names
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()


class Held(Protocol):
    """A lock held on a database until released."""

    def release(self) -> None: ...


class Unlocked:
    """No lock: several processes share a PostgreSQL database (they claim what they send)."""

    def release(self) -> None:
        return None


def run_lock(location: Location) -> Held:
    """The lock a process running the bot holds on its database: on SQLite the one
    process's (see :class:`RunLock`); on PostgreSQL none, as processes share it."""
    if isinstance(location, Postgres):
        return Unlocked()
    return RunLock.acquire(location)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection holding one consistent view of the SQLite database: in WAL
    mode it never blocks the writer, nor waits for it."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("BEGIN")
        yield connection
    finally:
        connection.close()


def version_of(location: Location) -> int:
    """The schema version of the database at ``location``, migrating nothing (0: none yet)."""
    if isinstance(location, Postgres):
        from bot.store import postgres

        return postgres.version_of(location)
    if not location.is_file():
        return 0
    with read_only(location) as tx:
        return int(tx.execute("PRAGMA user_version").fetchone()[0])


def known_version() -> int:
    """The schema version this release of Parley migrates to."""
    return len(migrations())


def newer_schema(database: str, found: int, known: int) -> str:
    """Why Parley refuses a database a newer release has migrated."""
    return (
        f"{database}: its schema is version {found}, newer than this Parley knows ({known});"
        " run the Parley release that migrated it, or a newer one"
    )


class SqliteDatabase(Database):
    """Parley's database in one SQLite file (see the module's docstring)."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self._waiting: list[tuple[Callable[[Tx], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._inline: sqlite3.Connection | None = None  # the event loop's (small units)
        self._small: list[tuple[Callable[[Tx], Any], asyncio.Future[Any]]] = []
        self._unchecked = 0  # small units committed since the thread last checkpointed
        self._checkpointer: asyncio.Task[None] | None = None
        self.path = path
        self.location: Path = path

    @classmethod
    async def open_file(cls, path: Path) -> SqliteDatabase:
        """Open (creating if needed, owner-only) and migrate the database at ``path``."""
        make_private(path)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            connection.row_factory = aiosqlite.Row
            await connection.execute("PRAGMA journal_mode = WAL")
            for pragma in (*PRAGMAS, "busy_timeout = 5000"):
                await connection.execute(f"PRAGMA {pragma}")
            database = cls(connection, path)
            await database._migrate()
            database._inline = _inline_connection(path)
        except BaseException:  # not a database, say: its thread must not keep us running
            await connection.close()
            raise
        return database

    async def _migrate(self) -> None:
        async with self._connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        known = len(migrations())
        if current > known:
            raise ConfigError(newer_schema(str(self.path), current, known))
        # Foreign keys are off while migrating, so a migration can rebuild a table the
        # way SQLite documents (create, copy, drop, rename); they are checked before
        # each commit instead.
        await self._connection.execute("PRAGMA foreign_keys = OFF")
        try:
            for version, name, sql in migrations():
                if version <= current:
                    continue
                await self._connection.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};"
                )
                async with self._connection.execute("PRAGMA foreign_key_check") as cursor:
                    broken = await cursor.fetchone()
                if broken is not None:
                    await self._connection.execute("ROLLBACK")
                    raise RuntimeError(f"migration {name} breaks a foreign key in {broken[0]}")
                await self._connection.execute("COMMIT")
        finally:
            await self._connection.execute("PRAGMA foreign_keys = ON")

    async def schema_version(self) -> int:
        async with self._connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def run(self, work: Callable[[Tx], T], *, small: bool = False) -> T:
        """Run ``work(tx)`` atomically on the database thread; its result (or its error).

        Group commit: units of work that arrive while the thread is busy are run
        together in the next transaction, each under its own savepoint, so one that
        fails is undone alone and the others still commit. Every caller resumes only
        once the transaction holding its work has committed. A quiet moment means a
        batch of one; a busy one means one commit, and one write to disk, for many.

        A ``small`` unit runs the same way on the event loop's connection instead, with
        the others that arrive in the same turn of the loop (see the module's docstring)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if small and self._inline is not None:
            if not self._small:
                loop.call_soon(self._commit_small)
            self._small.append((work, future))
        else:
            self._hand_over([(work, future)])
        return await future

    def _hand_over(self, batch: list[tuple[Callable[[Tx], Any], asyncio.Future[Any]]]) -> None:
        """Queue units for the database thread's next transaction."""
        self._waiting += batch
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._lock:  # never inside a transaction() under way
                    # aiosqlite runs every call on its thread through _execute; it has
                    # no public way to run a function there (its own methods use it).
                    outcomes = await self._connection._execute(self._commit_all, batch)  # type: ignore[no-untyped-call]
            except BaseException as error:  # the commit itself failed: so did every unit
                _settle(batch, error)
                continue
            _resolve(batch, outcomes)

    def _commit_all(
        self, batch: list[tuple[Callable[[Tx], Any], Any]]
    ) -> list[tuple[Any, Exception | None]]:
        connection: sqlite3.Connection = self._connection._conn
        connection.execute("BEGIN IMMEDIATE")
        return _commit_units(connection, batch)

    def _commit_small(self) -> None:
        """Run the small units of this turn of the loop in one transaction on the loop's
        connection; to the thread instead if another writer holds the database now."""
        batch, self._small = self._small, []
        connection = self._inline
        if not batch:
            return
        if connection is None:  # closed meanwhile
            self._hand_over(batch)
            return
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as busy:
            if busy.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # (or an extended BUSY_)
                _settle(batch, busy)
                return
            self._hand_over(batch)  # the thread waits for the lock, the loop never does
            return
        try:
            outcomes = _commit_units(connection, batch)
        except BaseException as error:  # the commit itself failed: so did every unit
            _settle(batch, error)
            return
        _resolve(batch, outcomes)
        self._unchecked += len(batch)
        if self._unchecked >= CHECKPOINT_EVERY and (
            self._checkpointer is None or self._checkpointer.done()
        ):
            self._unchecked = 0
            self._checkpointer = asyncio.create_task(self._checkpoint_passively())

    async def _checkpoint_passively(self) -> None:
        """Copy what the loop's connection wrote into the database file, on the thread
        (the fsync is there), writers carrying on meanwhile."""
        checkpoint = "PRAGMA wal_checkpoint(PASSIVE)"
        try:
            async with self._lock, self._connection.execute(checkpoint) as cursor:
                await cursor.fetchone()
        except sqlite3.Error as error:  # the next one will do it
            log.warning("checkpoint failed: %s", error)

    def snapshot(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return read_only(self.path)

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file and empty it, so that what
        was erased is gone from both; False when a reader (another process) held it back
        (SQLite then finishes it at a later checkpoint)."""
        checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)"
        async with self._lock, self._connection.execute(checkpoint) as cursor:
            row = await cursor.fetchone()
        return row is not None and int(row[0]) == 0

    async def close(self) -> None:
        self._commit_small()  # what was handed over is committed before closing
        if self._flusher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._checkpointer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await self._connection.close()


def _inline_connection(path: Path) -> sqlite3.Connection:
    """The event loop's connection for small units (see the module's docstring): the
    thread's settings, but it never waits for a lock and never checkpoints."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=0)
    connection.row_factory = sqlite3.Row
    try:
        for pragma in (*PRAGMAS, "busy_timeout = 0", "wal_autocheckpoint = 0"):
            connection.execute(f"PRAGMA {pragma}")
    except BaseException:
        connection.close()
        raise
    return connection


def _commit_units(
    connection: sqlite3.Connection, batch: list[tuple[Callable[[Tx], Any], Any]]
) -> list[tuple[Any, Exception | None]]:
    """Run each unit of ``batch`` under its own savepoint in the transaction just begun
    on ``connection``, then commit: each unit's result or error."""
    outcomes: list[tuple[Any, Exception | None]] = []
    try:
        for work, _ in batch:
            connection.execute("SAVEPOINT unit")
            try:
                outcomes.append((work(connection), None))
            except Exception as failure:
                connection.execute("ROLLBACK TO unit")
                outcomes.append((None, failure))
            connection.execute("RELEASE unit")
        connection.execute("COMMIT")
    except BaseException:
        # Whatever failed (a unit's BaseException, or COMMIT itself: busy, disk
        # full), leave no transaction open behind; SQLite may have rolled back already.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return outcomes


def _settle(batch: list[tuple[Any, asyncio.Future[Any]]], error: BaseException) -> None:
    """Fail every unit of a batch whose transaction failed; what is not an Exception
    (KeyboardInterrupt, SystemExit) then goes on up, to stop the process."""
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
    if not isinstance(error, Exception):
        raise error


def _resolve(
    batch: list[tuple[Any, asyncio.Future[Any]]], outcomes: list[tuple[Any, Exception | None]]
) -> None:
    """Give each unit's caller its result or error (unless it gave up waiting)."""
    for (_, future), (result, failure) in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(result)
