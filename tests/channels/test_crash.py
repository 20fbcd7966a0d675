"""Kill -9 in the middle of a big send, restart: nothing lost, few duplicates.

On a SQLite file whatever the suite runs on: on PostgreSQL the killed process's claims
last their 135 s (:data:`bot.outreach.outbox.CLAIM`, since other processes may be sending)
before a restart sends those messages. A process killed on PostgreSQL is
tests/channels/test_several_processes.py's, which waits them out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.store import Database, contacts, messages
from bot.store.sql import Tx
from tests.channels.conftest import until
from tests.fakes.twilio_api import FakeTwilio

from .conftest import twilio_env

RECIPIENTS = 2000
CONCURRENCY = 4


def _file(tmp_path: Path) -> Path:
    return tmp_path / "parley.db"


async def _queue(path: Path) -> None:
    """2,000 residents with one queued message each, as a broadcast leaves them."""
    database = await Database.open(path)
    now = datetime.now(UTC)

    def work(tx: Tx) -> None:
        for n in range(RECIPIENTS):
            contact = contacts.touch(tx, "sms", f"+44770{n:07d}", "en", now)
            text = f"Message {n}: the panel decided to fund the youth club."
            messages.add_outbound(
                tx, messages.NewOutbound(contact.id, "sms", text, "en", segments=1), now
            )

    await database.run(work)
    await database.close()


async def _parley(tmp_path: Path, api: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **twilio_env(api),
        "PARLEY_DATABASE": str(_file(tmp_path)),
        "PARLEY_PUBLIC_URL": "https://parley.example.org",
        "PARLEY_PORT": "0",
        "PARLEY_TWILIO_RATE": "400",
        "PARLEY_SEND_CONCURRENCY": str(CONCURRENCY),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_kill_9_mid_send_then_restart_loses_nothing(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, api = fake_twilio
    (tmp_path / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    await _queue(_file(tmp_path))

    first = await _parley(tmp_path, api)
    await until(lambda: len(fake.messages) >= RECIPIENTS // 3, within=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    at_kill = len(fake.messages)
    assert at_kill < RECIPIENTS, "the kill came after the send had finished"

    second = await _parley(tmp_path, api)
    try:
        await until(lambda: len({m["To"] for m in fake.messages}) == RECIPIENTS, within=60)
        await asyncio.sleep(0.3)  # anything still to come would be a duplicate
    finally:
        second.send_signal(signal.SIGTERM)
        _, errors = await second.communicate()
    assert second.returncode == 0, errors.decode()

    per_recipient = Counter(m["To"] for m in fake.messages)
    duplicates = sum(count - 1 for count in per_recipient.values())
    assert len(per_recipient) == RECIPIENTS
    assert duplicates <= CONCURRENCY

    database = await Database.open(_file(tmp_path))
    rows = await database.run(
        lambda tx: tx.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    )
    statuses = {row[0]: row[1] for row in rows}
    await database.close()
    assert statuses == {"sent": RECIPIENTS}
