"""Importing contacts: a 100,000-row CSV file, as ``parley contacts import`` reads,
checks and imports it, into a real SQLite file.

    .venv/bin/python -m bench.contacts_import [--rows 100000] [--keep FOLDER]

The file is made first (seeded): GB mobile numbers written as people write them in a
spreadsheet (``07400 123456``, ``07400123456``, now and then ``+44 7400 123456``), on SMS
and a few on WhatsApp, a few Telegram chat ids, a language for most (some left blank),
the consent record (a date, sometimes with a time, and how), and three fields (ward,
age band, tenure). Every row is good: the figure is the work of a clean import.

Then ``parley contacts import FILE`` runs in a process of its own (start-up included),
on a new database that already holds 20,000 other contacts, some of them opted out;
then once more with the same file (every row now known: nothing added, nothing
changed). Each run's wall time is a figure, and the first is the target's. For the
record of where the time goes, the same import is then timed in this process, step by
step: reading and checking the rows (:func:`bot.desk.contacts.read_file`), and the one
transaction that writes them (:func:`bot.desk.contacts.import_checked`).

Target (issue 20): 100,000 rows imported in under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers

from bot.desk import Actor, Desk, Front, Role
from bot.desk import contacts as desk_contacts
from bot.settings import Settings, load_settings
from bot.store import Database
from bot.store.sql import Tx

TARGET_SECONDS = 10.0
ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "en", "en", "pl", "ro", "ur", "pa", "ar", "bn", "so", "")
WARDS = ("North", "South", "Riverside", "Old Town", "Hillside", "")
AGES = ("16-29", "30-44", "45-64", "65+", "")
TENURES = ("owned", "private rent", "social rent", "")
HOW = (
    "paper form at the community centre",
    "texted JOIN",
    "ward meeting sign-up sheet",
    "door knocking, verbal consent noted",
    "online form on the council website",
)
OTHERS = 20_000
"""Contacts the database holds before the import (not in the file)."""
BENCH = Actor("bench", Role.ORGANISER, Front.CLI)
_SUMMARY = re.compile(r"(\d[\d,]*) added")


def _mobile(national: int) -> str:
    """A GB mobile number (``7400123456``) written in one of the ways people do."""
    digits = f"0{national}"
    kind = national % 10
    if kind < 6:
        return f"{digits[:5]} {digits[5:]}"  # 07400 123456
    if kind < 9:
        return digits  # 07400123456
    return f"+44 {digits[1:5]} {digits[5:]}"  # +44 7400 123456


def numbers(count: int, seed: int) -> list[int]:
    """``count`` different valid GB mobile numbers (national, without the 0)."""
    chooser = random.Random(seed)
    found: list[int] = []
    seen: set[int] = set()
    while len(found) < count:
        national = chooser.randrange(7_400_000_000, 8_000_000_000)
        if national in seen:
            continue
        seen.add(national)
        parsed = phonenumbers.parse(f"+44{national}")
        if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            found.append(national)
    return found


def make_file(path: Path, rows: int, seed: int) -> None:
    chooser = random.Random(seed)
    telegram = rows // 50  # 2 %
    mobiles = numbers(rows - telegram + OTHERS, seed)[OTHERS:]
    chats = chooser.sample(range(100_000_000, 9_999_999_999), telegram)
    start = datetime(2026, 6, 1, 9, 0)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ("address", "channel", "language", "consent_at", "consent_how", "ward", "age", "tenure")
        )
        for n in range(rows):
            if n % 50 == 49:
                address, channel = str(chats[n // 50]), "telegram"
            else:
                address = _mobile(mobiles[n - n // 50])
                channel = "whatsapp" if n % 20 == 3 else "sms"
            when = start + timedelta(minutes=chooser.randrange(0, 150 * 24 * 60))
            consent_at = f"{when:%Y-%m-%d}" if n % 3 else f"{when:%Y-%m-%d %H:%M}"
            writer.writerow(
                (
                    address,
                    channel,
                    chooser.choice(LANGUAGES),
                    consent_at,
                    chooser.choice(HOW),
                    chooser.choice(WARDS),
                    chooser.choice(AGES),
                    chooser.choice(TENURES),
                )
            )


def _others(tx: Tx, seed: int) -> None:
    """Contacts already there: residents who texted in, every tenth opted out."""
    stamp = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
    tx.executemany(
        "INSERT INTO contacts (channel, address, language, fields, opted_out_at, created_at,"
        " last_seen_at, consent_at) VALUES ('sms', ?, 'en', '{}', ?, ?, ?, ?)",
        (
            (f"+44{national}", stamp if n % 10 == 0 else None, stamp, stamp, stamp)
            for n, national in enumerate(numbers(OTHERS, seed))
        ),
    )


def settings_for(folder: Path) -> Settings:
    config = folder / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    return load_settings({"PARLEY_DATABASE": str(folder / "parley.db")}, config_file=config)


async def prepare(settings: Settings, seed: int) -> None:
    database = await Database.open(settings.database)
    try:
        await database.run(lambda tx: _others(tx, seed))
    finally:
        await database.close()


def command_time(folder: Path, path: Path) -> tuple[float, str]:
    """``parley contacts import FILE`` in a process of its own: seconds, and what it said."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    env["PARLEY_DATABASE"] = str(folder / "parley.db")
    command = [sys.executable, "-m", "bot", "--config", str(folder / "parley.toml")]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "contacts", "import", str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"parley contacts import failed:\n{done.stdout}{done.stderr}")
    return took, done.stdout.strip()


async def in_process(settings: Settings, path: Path) -> tuple[float, float, int]:
    """The same import in this process: seconds reading and checking, seconds writing."""
    from bot.content import load_content

    flows, env = load_content(settings)
    now = datetime.now(UTC)
    text = path.read_text(encoding="utf-8")  # noqa: ASYNC240 (read before the clock starts)
    started = time.perf_counter()
    checked = desk_contacts.read_file(text, settings, now)
    read = time.perf_counter()
    database = await Database.open(settings.database)
    try:
        done = await database.run(
            lambda tx: desk_contacts.import_checked(
                Desk(tx, settings, env, flows, now, BENCH), checked
            )
        )
    finally:
        await database.close()
    return read - started, time.perf_counter() - read, done.added


def count(folder: Path, query: str) -> int:
    with closing(sqlite3.connect(folder / "parley.db")) as db:
        return int(db.execute(query).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--keep", type=Path, help="Make the file and databases here, and keep them."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        path = base / "contacts.csv"
        started = time.perf_counter()
        make_file(path, args.rows, args.seed)
        size = path.stat().st_size / 1_000_000
        took = time.perf_counter() - started
        print(f"file: {args.rows:,} rows, {size:.1f} MB, made in {took:.1f} s")

        command = base / "command"
        command.mkdir(exist_ok=True)
        (command / "parley.db").unlink(missing_ok=True)
        asyncio.run(prepare(settings_for(command), args.seed))
        first, said = command_time(command, path)
        print(f"parley contacts import, {OTHERS:,} contacts there before: {first:.2f} s  ({said})")
        again, said = command_time(command, path)
        print(f"the same file again: {again:.2f} s  ({said})")
        contacts = count(command, "SELECT count(*) FROM contacts")
        consents = count(command, "SELECT count(*) FROM consents")
        print(f"contacts {contacts:,}, consent events {consents:,}")

        alone = base / "in_process"
        alone.mkdir(exist_ok=True)
        (alone / "parley.db").unlink(missing_ok=True)
        settings = settings_for(alone)
        asyncio.run(prepare(settings, args.seed))
        reading, writing, added = asyncio.run(in_process(settings, path))
        print(
            f"in this process: read and checked {reading:.2f} s"
            f" ({args.rows / reading:,.0f} rows/s), written {writing:.2f} s ({added:,} added)"
        )
        met = first < TARGET_SECONDS
        print(f"target {TARGET_SECONDS:.0f} s: {'meets' if met else 'MISSES'} it ({first:.2f} s)")


if __name__ == "__main__":
    main()
