"""Broadcast fan-out: choosing 100,000 residents and writing the broadcast to the
outbox in batches, on a real SQLite file.

    python3 bench/broadcast.py [--residents 100000]

Reports the time to choose the audience and preview the send, the time to write every
outbox row, and the process's peak memory. (Issue 4 names no figure; this records one.)
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.audience import Audience
from bot.broadcast import choose, send
from bot.settings import load_settings
from bot.store import Database

LANGUAGES = ("en", "pl", "ro", "ar", "ur")
TEXTS = {
    "en": "The panel chose the youth club. Thank you for taking part!",
    "pl": "Panel wybrał klub młodzieżowy. Dziękujemy za udział!",
    "ar": "اختارت اللجنة نادي الشباب. شكرًا لمشاركتك!",
}


def _residents(tx: sqlite3.Connection, count: int) -> None:
    now = datetime.now(UTC).isoformat()
    tx.executemany(
        "INSERT INTO contacts (channel, address, language, fields, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                "telegram" if n % 3 == 0 else "sms",
                f"+44773{n:07d}",
                LANGUAGES[n % len(LANGUAGES)],
                '{"ward": "North"}' if n % 2 else '{"ward": "South"}',
                now,
                now,
            )
            for n in range(count)
        ),
    )


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
        settings = load_settings(
            {"PARLEY_DATABASE": str(folder / "p.db")}, config_file=folder / "parley.toml"
        )
        database = await Database.open(settings.database)
        await database.run(lambda tx: _residents(tx, count))
        started = time.perf_counter()
        recipients, preview = await choose(database, Audience(), TEXTS, settings)
        chosen = time.perf_counter()
        await send(database, recipients, TEXTS, Audience(), settings, datetime.now(UTC))
        written = time.perf_counter()
        rows = await database.run(
            lambda tx: tx.execute("SELECT count(*) FROM outbox").fetchone()[0]
        )
        await database.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert rows == count == preview.recipients
    print(
        f"{count:,} residents: audience and preview in {chosen - started:.2f} s,"
        f" outbox written in {written - chosen:.2f} s"
        f" ({count / (written - chosen):,.0f} rows/s); peak memory {peak:.0f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().residents))
