"""Broadcast fan-out: choosing 100,000 residents and writing the broadcast to the
outbox in batches, on a real SQLite file.

    .venv/bin/python bench/broadcast.py [--residents 100000] [--postgres SERVER]

For a message and then for a poll (which also opens a session per resident), reports
the time to choose the audience and preview the send, the time to write every outbox
row (and the process's CPU time meanwhile, every thread's: on a busy machine a steadier
figure), and the process's peak memory. Issue 4's figure: audience + fan-out within 3 s;
issue 22's: the same on a machine doing 35,400 engine steps a second, so the goal here
is 3 s scaled by this machine's engine figure, printed first (bench/engine.py's measure,
1 s in this process).

Beside each, the floor: the very rows Parley wrote (read back from its outbox, and for
the poll its sessions) inserted into a fresh database of the same schema and residents
with one plain ``executemany`` per table, in one transaction (on PostgreSQL that
``executemany`` is COPY): what storing them costs at the least, with no choosing,
rendering, batching or lease.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import engine
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
from bot.store.location import parse_location
from bot.store.sql import Tx

GOAL_SECONDS = 3.0  # audience, preview and fan-out, on the issue's machine
ISSUE_STEPS = 35_400  # bench/engine.py's figure on the machine issue 22 measured on
LANGUAGES = ("en", "pl", "ro", "ar", "ur")
BENCH = Actor("bench", Role.ORGANISER, Front.CLI)
TEXTS = {
    "en": "The panel chose the youth club. Thank you for taking part!",
    "pl": "Panel wybrał klub młodzieżowy. Dziękujemy za udział!",
    "ar": "اختارت اللجنة نادي الشباب. شكرًا لمشاركتك!",
}

# The columns the floor inserts (the broadcast's id last): every one Parley's fan-out gives.
OUTBOX = (
    "contact_id", "channel", "kind", "text", "buttons", "language", "reply_to", "segments",
    "created_at", "broadcast_id",
)  # fmt: skip
SESSIONS = (
    "contact_id", "flow_id", "status", "state", "parent_id", "started_at", "updated_at",
    "ended_at", "broadcast_id",
)  # fmt: skip

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
) -> Sent:
    """Draft (audience + preview), confirm, write."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    drafted = await database.run(
        lambda tx: store_draft(Desk(tx, settings, jobs.env, jobs.flows, now, BENCH), new, content)
    )
    chosen = time.perf_counter()
    cpu = time.process_time()
    await database.run(
        lambda tx: schedule(Desk(tx, settings, jobs.env, jobs.flows, now, BENCH), drafted.id, None)
    )
    await jobs.run_due()
    written = time.perf_counter()
    cpu = time.process_time() - cpu
    rows = await database.run(
        lambda tx: tx.execute(
            "SELECT count(*) FROM outbox WHERE broadcast_id = ?", (drafted.id,)
        ).fetchone()[0]
    )
    assert rows == drafted.preview.recipients
    return Sent(drafted.id, chosen - started, written - chosen, cpu, rows)


@dataclass(frozen=True)
class Sent:
    broadcast_id: int
    choosing: float  # seconds: audience and preview
    writing: float  # seconds: confirming and writing the outbox (and sessions)
    cpu: float  # the process's CPU seconds while writing, every thread's
    rows: int


def _written(tx: Tx, broadcast_id: int) -> tuple[list[Any], list[Any]]:
    """The outbox rows and sessions a broadcast wrote, as :func:`_floor` inserts them
    (its broadcast id left out)."""
    outbox = tx.execute(
        f"SELECT {', '.join(OUTBOX[:-1])} FROM outbox WHERE broadcast_id = ? ORDER BY id",
        (broadcast_id,),
    ).fetchall()
    sessions = tx.execute(
        f"SELECT {', '.join(SESSIONS[:-1])} FROM sessions WHERE broadcast_id = ? ORDER BY id",
        (broadcast_id,),
    ).fetchall()
    return [tuple(row) for row in outbox], [tuple(row) for row in sessions]


async def _floor(database: Database, count: int, outbox: list[Any], sessions: list[Any]) -> float:
    """Seconds to insert these rows into ``database`` (its residents as Parley's), one
    plain executemany per table, in one transaction."""
    made = datetime.now(UTC)
    broadcast_id = await database.run(
        lambda tx: broadcasts.create(
            tx, NewBroadcast(broadcasts.MESSAGE, Audience().to_json(), texts=TEXTS), "sending", made
        )
    )
    outbox = [(*row, broadcast_id) for row in outbox]
    sessions = [(*row, broadcast_id) for row in sessions]

    def insert(tx: Tx) -> None:
        for table, columns, rows in (("outbox", OUTBOX, outbox), ("sessions", SESSIONS, sessions)):
            if rows:
                tx.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)})"
                    f" VALUES ({', '.join('?' * len(columns))})",
                    rows,
                )

    started = time.perf_counter()
    await database.run(insert)
    return time.perf_counter() - started


async def main(count: int, on: str | None = None, floor_on: str | None = None) -> None:
    """Both sends on a new SQLite file, or on the PostgreSQL database ``on`` names; then
    the floor on another (``floor_on``, or a second file)."""
    steps, elapsed = engine.run(1.0)
    rate = steps / elapsed
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
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the floor
        written = [
            await database.run(partial(_written, broadcast_id=sent.broadcast_id))
            for sent in (message, asked)
        ]
        await database.close()
        floor_db = await Database.open(parse_location(floor_on or str(folder / "floor.db")))
        await floor_db.run(lambda tx: _residents(tx, count))
        floors = [await _floor(floor_db, count, outbox, sessions) for outbox, sessions in written]
        await floor_db.close()
    label = engine_name(settings.database)
    goal = GOAL_SECONDS * ISSUE_STEPS / rate
    print(
        f"{'engine':<10} {rate:,.0f} steps/s (bench/engine.py, 1 s, this process): issue 22's"
        f" {GOAL_SECONDS:.0f} s at {ISSUE_STEPS:,} steps/s is {goal:.2f} s here"
    )
    for name, sent, floor in (("message", message, floors[0]), ("poll", asked, floors[1])):
        assert sent.rows == count
        together = sent.choosing + sent.writing
        verdict = "meets" if together <= goal else "MISSES"
        print(
            f"{label:<10} {name:<8} {count:,} residents: audience and preview"
            f" {sent.choosing:.2f} s, outbox written {sent.writing:.2f} s"
            f" ({count / sent.writing:,.0f} rows/s, CPU {sent.cpu:.2f} s), together"
            f" {together:.2f} s ({verdict} {goal:.2f} s)"
        )
        what = "outbox rows" if name == "message" else "outbox rows and sessions"
        print(
            f"{label:<10} {'floor':<8} the {name}'s {what}, one executemany a table in"
            f" one transaction: {floor:.2f} s (Parley's writing {sent.writing / floor:.2f}x)"
        )
    print(f"{label:<10} peak memory {peak:.0f} MB")


def both(count: int, server: str) -> None:
    """SQLite, then a fresh database on the PostgreSQL ``server`` (and another for the
    floor): each in a process of its own, so each peak memory is its own."""
    command = [sys.executable, __file__, "--residents", str(count)]
    subprocess.run(command, check=True)
    with fresh_postgres(server) as database, fresh_postgres(server) as floor:
        subprocess.run([*command, "--on", database.url, "--floor-on", floor.url], check=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    add_option(parser)
    parser.add_argument("--on", metavar="URL", help=argparse.SUPPRESS)  # both()'s child
    parser.add_argument("--floor-on", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres:
        both(args.residents, args.postgres)
    else:
        asyncio.run(main(args.residents, args.on, args.floor_on))
