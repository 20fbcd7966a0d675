"""``parley backup``: a copy of the database made while Parley serves a steady load of
signed Twilio webhooks opens on its own, passes SQLite's integrity check and holds
every message answered before it began; it is 0600 whatever the umask, replaces an
earlier backup whole, and a backup that cannot be made is one ``Error:`` line that
leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.cli.backup import size
from bot.cli.main import main
from bot.errors import ConfigError
from bot.server import Server
from bot.store import Database, contacts
from bot.store.backup import backup
from bot.store.database import RunLock
from bot.store.sql import Tx
from tests.channels.conftest import Live, live_settings, twilio_env
from tests.fakes.servers import serving
from tests.fakes.telegram_api import Residents
from tests.fakes.twilio_api import FakeTwilio

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
SENDERS = 4
"""Webhooks in flight at once, as Twilio posts them: one resident each, new ones all along."""


@dataclass
class Load:
    """Residents texting Parley all along, each a new contact: the time each signed
    webhook was answered (all answered 200, or the load fails)."""

    parley: Live
    answered: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def sender(self, number: int) -> None:
        sent = 0
        while not self.stop.is_set():
            resident = f"+447700{number}{sent:05d}"
            response = await self.parley.sms(resident, "hi")
            assert response.status_code == 200, response.text
            self.answered.append(time.monotonic())
            sent += 1

    def since(self, moment: float) -> int:
        return sum(1 for at in self.answered if at > moment)


@contextlib.asynccontextmanager
async def under_load(tmp_path: Path) -> AsyncIterator[Load]:
    """Parley running for real (web service, dispatcher, the run lock) against a fake
    Twilio, with :data:`SENDERS` residents posting signed webhooks until the block ends.
    On a SQLite file whichever database the suite runs on: ``parley backup`` is SQLite's
    own (on PostgreSQL it points to pg_dump)."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    sqlite = str(tmp_path / "parley.db")
    async with serving(fake.app()) as api:
        server = Server(live_settings(tmp_path, PARLEY_DATABASE=sqlite, **twilio_env(api)))
        await server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                load = Load(Live(server, client, Residents()))
                senders = [asyncio.create_task(load.sender(n)) for n in range(SENDERS)]
                try:
                    deadline = time.monotonic() + 30
                    while len(load.answered) < 20:  # under way before the test goes on
                        failed = [task for task in senders if task.done()]
                        if failed:
                            await failed[0]  # its error, not a wait for ever
                        assert time.monotonic() < deadline, "the load never got going"
                        await asyncio.sleep(0.01)
                    yield load
                finally:
                    load.stop.set()
                    await asyncio.gather(*senders)
        finally:
            await server.stop()


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Tx]:
    """The backup opened as a restored database would be: alone, without its source."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
        yield copy


def check_copy(path: Path) -> int:
    """What every good backup is; the number of residents it holds."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with opened(path) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        (residents,) = copy.execute("SELECT count(*) FROM contacts").fetchone()
    beside = sorted(p.name for p in path.parent.iterdir() if path.name in p.name)
    assert beside == [path.name]  # no -wal, -shm or -journal, and no half-made copy
    return int(residents)


def check_one_moment(path: Path, answered_before: int) -> int:
    """A backup made under load is one moment's database, not pieces of several, and
    holds every webhook answered before it began (an answered webhook was committed)."""
    residents = check_copy(path)
    with opened(path) as copy:
        (messages,) = copy.execute("SELECT count(*) FROM inbound").fetchone()
        # Each resident's message and the welcome it was answered with were stored
        # together: they are in the copy together, or neither is.
        (unwelcomed,) = copy.execute(
            "SELECT count(*) FROM inbound i WHERE NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.reply_to = i.id)"
        ).fetchone()
        (silent,) = copy.execute(
            "SELECT count(*) FROM contacts c WHERE NOT EXISTS"
            " (SELECT 1 FROM inbound i WHERE i.contact_id = c.id)"
        ).fetchone()
    assert (unwelcomed, silent) == (0, 0)
    assert messages == residents >= answered_before
    return residents


async def test_the_command_backs_up_while_parley_serves_webhooks(tmp_path: Path) -> None:
    """``parley backup`` in a process of its own, as cron or systemd runs it, while the
    running Parley holds its run lock and answers webhooks throughout."""
    target = tmp_path / "backups" / "parley-2026-12-02.db"
    target.parent.mkdir()
    async with under_load(tmp_path) as load:
        with pytest.raises(ConfigError):  # Parley is running: the lock is taken
            RunLock.acquire(tmp_path / "parley.db")
        answered_before, began = len(load.answered), time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "backup", str(target),
            env={**os.environ, "PARLEY_DATABASE": str(tmp_path / "parley.db"),
                 "PARLEY_CONFIG": str(tmp_path / "parley.toml")},
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        during = load.since(began)
        residents = await load.parley.rows("SELECT count(*) AS n FROM contacts")
    assert process.returncode == 0, err.decode()
    assert during > 0, "no webhook was answered while the backup ran"
    line = out.decode().strip()
    assert line.startswith(f"Backed up {tmp_path / 'parley.db'} to {target}: ")
    assert line.endswith(f"{size(target.stat().st_size)}, integrity ok.")
    in_copy = check_one_moment(target, answered_before)
    assert in_copy <= residents[0]["n"]


async def test_a_copy_of_many_small_steps_is_one_moment_of_a_busy_database(
    tmp_path: Path,
) -> None:
    """Two pages a step, with a pause between: the copy takes many steps while residents'
    messages are committed between them, and is still one consistent snapshot (a copy
    that read afresh at each step would start over at every commit, and never end)."""
    target = tmp_path / "backup.db"
    async with under_load(tmp_path) as load:
        answered_before, began = len(load.answered), time.monotonic()
        made = await asyncio.to_thread(backup, tmp_path / "parley.db", target, pages=2, pause=0.005)
        during = load.since(began)
    assert during >= SENDERS, "too few commits while the copy was made to show anything"
    assert made.size == target.stat().st_size > 2 * 4096
    check_one_moment(target, answered_before)


# -- the command's edges: one line, exit 1, nothing left behind ------------------------------


def _database(tmp_path: Path, residents: int) -> Path:
    """A migrated database holding ``residents`` contacts (and the empty settings file
    the command reads)."""
    path = tmp_path / "parley.db"
    (tmp_path / "parley.toml").touch()

    async def go() -> None:
        database = await Database.open(path)
        try:
            await database.run(
                lambda tx: [
                    contacts.ensure(tx, "sms", f"+4477009{n:05d}", "en", NOW)
                    for n in range(residents)
                ]
            )
        finally:
            await database.close()

    asyncio.run(go())
    return path


def parley_backup(tmp_path: Path, *args: str, database: Path | None = None) -> tuple[int, str]:
    env = {
        "PARLEY_DATABASE": str(database or tmp_path / "parley.db"),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
    }
    result = CliRunner().invoke(main, ["backup", *args], env=env)
    return result.exit_code, result.output


def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_the_backup_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    _database(tmp_path, 3)
    was = os.umask(0)
    try:
        code, output = parley_backup(tmp_path, str(tmp_path / "backup.db"))
    finally:
        os.umask(was)
    assert code == 0, output
    assert stat.S_IMODE((tmp_path / "backup.db").stat().st_mode) == 0o600


def test_a_new_backup_replaces_the_old_one_whole(tmp_path: Path) -> None:
    _database(tmp_path, 3)
    target = tmp_path / "backup.db"
    target.write_bytes(b"last night's backup")
    target.chmod(0o644)
    assert parley_backup(tmp_path, str(target))[0] == 0
    assert check_copy(target) == 3
    _database(tmp_path, 5)  # two more residents since
    code, output = parley_backup(tmp_path, str(target))
    assert code == 0, output
    shown = size(target.stat().st_size)
    assert output == f"Backed up {tmp_path / 'parley.db'} to {target}: {shown}, integrity ok.\n"
    assert check_copy(target) == 5


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("parley.db", "parley.db: that is the database or one of its own files"),
        ("./parley.db-wal", "parley.db-wal: that is the database or one of its own files"),
        ("nowhere/backup.db", "nowhere/backup.db: the folder nowhere does not exist"),
        (".", ".: is a folder"),
    ],
)
def test_a_backup_that_cannot_be_made_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, says: str
) -> None:
    _database(tmp_path, 1)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    code, output = parley_backup(tmp_path, given)
    assert (code, output.splitlines()) == (1, [output.strip()])
    assert output.startswith(f"Error: {says}")
    assert _listing(tmp_path) == before


def test_a_missing_database_is_named_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "parley.db"
    (tmp_path / "parley.toml").touch()
    code, output = parley_backup(tmp_path, str(tmp_path / "backup.db"), database=missing)
    assert code == 1
    assert output.startswith(f"Error: {missing}: there is no database here; PARLEY_DATABASE")
    assert len(output.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parley.toml"]


def test_a_damaged_database_leaves_the_last_backup_as_it_was(tmp_path: Path) -> None:
    """A copy failing the integrity check is not kept: last night's backup stays."""
    path = tmp_path / "parley.db"
    (tmp_path / "parley.toml").touch()
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (word TEXT)")
        db.execute("CREATE INDEX t_word ON t (word)")
        db.execute("INSERT INTO t VALUES ('needle-0001')")
        db.commit()
    raw = path.read_bytes()  # the word is in the table's page, then in the index's
    at = raw.rindex(b"needle-0001")
    path.write_bytes(raw[:at] + b"thread-0001" + raw[at + 11 :])
    target = tmp_path / "backup.db"
    target.write_bytes(b"last night's backup")
    before = _listing(tmp_path)
    code, output = parley_backup(tmp_path, str(target))
    assert code == 1
    assert output.startswith("Error: the copy fails SQLite's integrity check (")
    assert len(output.splitlines()) == 1
    assert target.read_bytes() == b"last night's backup"
    assert _listing(tmp_path) == before


def test_sizes_read_as_a_file_manager_shows_them() -> None:
    assert [size(n) for n in (0, 999, 1000, 12_345_678, 999_960, 3 * 10**9)] == [
        "0 bytes",
        "999 bytes",
        "1.0 kB",
        "12.3 MB",
        "1.0 MB",
        "3.0 GB",
    ]
