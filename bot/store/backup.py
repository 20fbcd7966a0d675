"""A backup of the database while Parley runs: one consistent, checked, self-contained
copy in one file, readable by its owner only.

The copy is SQLite's own backup (:meth:`sqlite3.Connection.backup`) from a read-only
connection, taken a few hundred pages at a time with a pause between steps. It takes no
:class:`~bot.store.database.RunLock`: in WAL mode a reader never blocks the writer, so
the running bot's webhooks and sends carry on. The connection holds one read
transaction from the first step to the last, so every step reads the same snapshot; a
backup whose steps each read afresh would start over at every commit, and under a
steady load of messages would never finish.

The copy is written to a hidden file beside the target (0600 before SQLite opens it),
checked with ``PRAGMA integrity_check``, turned from WAL mode into a single file
(``journal_mode = DELETE``), flushed to disk and only then renamed over the target.
Whatever fails, nothing half-written is left at the target: the hidden file is removed
and an earlier backup there stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError, ParleyError
from bot.store.database import PRIVATE, SIDE_FILES, read_only

PAGES_PER_STEP = 1024
"""Pages copied per step: 4 MB at SQLite's usual page size."""

PAUSE = 0.005
"""Seconds between steps, so a large copy shares the disk with the running bot."""


@dataclass(frozen=True)
class Backup:
    """A finished backup: where it is and how many bytes it holds."""

    path: Path
    size: int


def backup(
    database: Path, target: Path, pages: int = PAGES_PER_STEP, pause: float = PAUSE
) -> Backup:
    """Copy ``database`` to ``target`` (replacing a file there), checked whole."""
    _check(database, target)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise ParleyError(
            f"{target}: no file can be made in {target.parent} ({error.strerror})"
        ) from None
    temporary = Path(name)
    try:
        os.fchmod(fd, PRIVATE)  # mkstemp's 0600, whatever the umask left of it
        with read_only(database) as source:
            source.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # the read starts here
            copy = sqlite3.connect(temporary, isolation_level=None)
            try:
                # Python's own ``sleep`` applies only when SQLite is busy: the pause
                # between steps is made by the progress callback instead.
                source.backup(copy, pages=pages, progress=lambda *_: time.sleep(pause))
                source.close()  # the snapshot is no longer needed: let checkpoints run
                _finish(copy, temporary)
            finally:
                copy.close()
        os.fsync(fd)
        os.replace(temporary, target)
    except BaseException:
        for leftover in (temporary, *(_beside(temporary, side) for side in SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    finally:
        os.close(fd)
    _sync_folder(target.parent)
    return Backup(target, target.stat().st_size)


def _check(database: Path, target: Path) -> None:
    """Refuse, before anything is written, a backup that cannot be made as asked."""
    if not database.is_file():
        raise ConfigError(
            f"{database}: there is no database here; PARLEY_DATABASE (or database in"
            " parley.toml) names the file Parley runs on"
        )
    real = Path(os.path.realpath(database))
    ours = {real, *(_beside(real, side) for side in (*SIDE_FILES, ".lock"))}
    if Path(os.path.realpath(target)) in ours or (
        target.exists() and os.path.samefile(target, database)
    ):
        raise ParleyError(
            f"{target}: that is the database or one of its own files; back it up to another file"
        )
    if target.is_dir():
        raise ParleyError(f"{target}: is a folder; give the backup's file name")
    if not target.parent.is_dir():
        raise ParleyError(f"{target}: the folder {target.parent} does not exist")


def _finish(copy: sqlite3.Connection, path: Path) -> None:
    """Make the copy one file on its own, and check it page by page."""
    # The copy's first page says WAL, as the database's does; in rollback mode it needs
    # no -wal or -shm file beside it, and opens read-only anywhere.
    (mode,) = copy.execute("PRAGMA journal_mode = DELETE").fetchone()
    if mode != "delete":
        raise ParleyError(f"{path}: the copy could not leave WAL mode ({mode})")
    problems = [row[0] for row in copy.execute("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        raise ParleyError(
            f"the copy fails SQLite's integrity check ({'; '.join(problems)}): the database"
            " itself may be damaged; nothing was written"
        )


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to disk, so a crash cannot bring back the old backup."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
