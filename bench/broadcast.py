"""Broadcast fan-out: choosing 100,000 residents and writing the broadcast to the
outbox in batches, on a real SQLite file.

    .venv/bin/python bench/broadcast.py [--residents 100000] [--postgres SERVER]

For a message and then for a poll (which also opens a session per resident), reports
the time to choose the audience and preview the send, the time to write every outbox
row, and the process's peak memory. Issue 4's figure: audience + fan-out within 3 s.

With ``--postgres SERVER`` it runs twice, each time in a process of its own: on SQLite,
then on a fresh database on that PostgreSQL server (bench/databases.py), the same figures
for each (issue 21: PostgreSQL within SQLite's goal).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.databases import add_option, engine_name, fresh_postgres
from bot.civic.polls import as_flow, options_from_labels
from bot.content import load_content
from bot.desk import Actor, Desk, Front, Role
from bot.desk.broadcasts import schedule, store_draft
from bot.outreach.audience import Audience
from bot.outreach.broadcast import Content, Message, Survey
from bot.outreach.schedule import Jobs
from bot.settings import Settings, load_settings
from bot.store import Database, broadcasts, polls
from bot.store.broadcasts import NewBroadcast
from bot.store.sql import Tx

LANGUAGES = ("en", "pl", "ro", "ar", "ur")
BENCH = Actor("bench", Role.ORGANISER, Front.CLI)
TEXTS = {
    "en": "The panel chose the youth club. Thank you for taking part!",
    "pl": "Panel wybrał klub młodzieżowy. Dziękujemy za udział!",
    "ar": "اختارت اللجنة نادي الشباب. شكرًا لمشاركتك!",
}

POLL = polls.NewPoll(
    {"en": "Which evening should the youth club open?", "pl": "Który wieczór dla klubu?"},
    options_from_labels(["Monday", "Wednesday", "Friday"], "en"),
    "en",
)


def _residents(tx: Tx, count: int) -> None:
    now = datetime.now(UTC).isoformat()
    tx.executemany(
        "INSERT INTO contacts (channel, address, language, fields, created_at, last_seen_at,"
        " consent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                "telegram" if n % 3 == 0 else "sms",
                f"+44773{n:07d}",
                LANGUAGES[n % len(LANGUAGES)],
                '{"ward": "North"}' if n % 2 else '{"ward": "South"}',
                now,
                now,
                now,
            )
            for n in range(count)
        ),
    )


async def _send(
    settings: Settings, database: Database, jobs: Jobs, new: NewBroadcast, content: Content
) -> tuple[float, float, int]:
    """Draft (audience + preview), confirm, write: seconds choosing, seconds writing, rows."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    drafted = await database.run(
        lambda tx: store_draft(Desk(tx, settings, jobs.env, jobs.flows, now, BENCH), new, content)
    )
    chosen = time.perf_counter()
    await database.run(
        lambda tx: schedule(Desk(tx, settings, jobs.env, jobs.flows, now, BENCH), drafted.id, None)
    )
    await jobs.run_due()
    written = time.perf_counter()
    rows = await database.run(
        lambda tx: tx.execute(
            "SELECT count(*) FROM outbox WHERE broadcast_id = ?", (drafted.id,)
        ).fetchone()[0]
    )
    assert rows == drafted.preview.recipients
    return chosen - started, written - chosen, rows


async def main(count: int, on: str | None = None) -> None:
    """Both sends on a new SQLite file, or on the PostgreSQL database ``on`` names."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
        settings = load_settings(
            {"PARLEY_DATABASE": on or str(folder / "p.db")}, config_file=folder / "parley.toml"
        )
        flows, env = load_content(settings)
        database = await Database.open(settings.database)
        jobs = Jobs(database, flows, env, settings, lambda: datetime.now(UTC))
        await database.run(lambda tx: _residents(tx, count))
        everyone = Audience().to_json()
        message = await _send(
            settings,
            database,
            jobs,
            NewBroadcast(broadcasts.MESSAGE, everyone, texts=TEXTS),
            Message(TEXTS),
        )
        made = datetime.now(UTC)
        poll = await database.run(lambda tx: polls.get(tx, polls.create(tx, POLL, made)))
        assert poll is not None
        asked = await _send(
            settings,
            database,
            jobs,
            NewBroadcast(broadcasts.POLL, everyone, flow_id=poll.flow_id, poll_id=poll.id),
            Survey(as_flow(poll, env)),
        )
        await database.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine = engine_name(settings.database)
    for name, (choosing, writing, rows) in (("message", message), ("poll", asked)):
        assert rows == count
        print(
            f"{engine:<10} {name:<8} {count:,} residents: audience and preview {choosing:.2f} s,"
            f" outbox written {writing:.2f} s ({count / writing:,.0f} rows/s),"
            f" together {choosing + writing:.2f} s"
        )
    print(f"{engine:<10} peak memory {peak:.0f} MB")


def both(count: int, server: str) -> None:
    """SQLite, then a fresh database on the PostgreSQL ``server``: each in a process of its
    own, so each peak memory is its own."""
    command = [sys.executable, __file__, "--residents", str(count)]
    subprocess.run(command, check=True)
    with fresh_postgres(server) as database:
        subprocess.run([*command, "--on", database.url], check=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    add_option(parser)
    parser.add_argument("--on", metavar="URL", help=argparse.SUPPRESS)  # both()'s child
    args = parser.parse_args()
    if args.postgres:
        both(args.residents, args.postgres)
    else:
        asyncio.run(main(args.residents, args.on))
