"""Several dispatchers on one PostgreSQL database, as several ``parley run`` would be.

    PARLEY_TEST_POSTGRES=postgresql://postgres@/postgres?host=/tmp/pgdev \\
        .venv/bin/python -m bench.outbox_processes [--messages 3000] [--rate 100]

Each dispatcher has a pool of its own, as a process would; all run in this one process
(one event loop), so the figures are a floor for separate processes.

1. The deployment's pace: three dispatchers send to the fake Twilio (the real twilio SDK,
   over loopback) on a lane of ``--rate`` segments/s; measured at the fake, the rate
   between the first and last message and the most accepted within any one second.
   Target: the rate kept by the three together (three processes each at its own pace
   would send three times as fast), every message once.
2. Claims per second: one, then three, dispatchers send through a channel that answers at
   once, on a lane too fast to hold them back: what the database's round trips allow
   (a claim and the lane's slot, the check just before the call, the result).
3. Slot reservations per second on one lane's row, from 1 and from 4 threads at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg

from bot.channels.base import Outbound
from bot.channels.twilio import TwilioChannel
from bot.outreach.outbox import Dispatcher, Lane, SharedPacer
from bot.settings import TwilioSettings
from bot.store import Database
from bot.store.location import Postgres
from bot.store.postgres import PostgresTx, _configure
from tests import databases
from tests.fakes.servers import serving
from tests.fakes.twilio_api import FakeTwilio
from tests.outbox_kit import most_in_a_second, queue, queued

SID, AUTH, FROM = "AC" + "b" * 32, "bench-auth", "+447700900999"
CONTACTS = 500
CONCURRENCY = 8  # calls in flight per dispatcher: enough that a call's latency on a
# busy machine does not bound 100/s


def _now() -> datetime:
    return datetime.now(UTC)


async def _until_sent(database: Database) -> None:
    while await queued(database):  # noqa: ASYNC110 (another process's doing: no event)
        await asyncio.sleep(0.05)


async def _running(dispatchers: list[Dispatcher], database: Database) -> float:
    """Run the dispatchers until nothing is queued; the seconds it took."""
    started = time.perf_counter()
    tasks = [asyncio.create_task(d.run()) for d in dispatchers]
    try:
        await _until_sent(database)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return time.perf_counter() - started


async def pace(count: int, rate: float, processes: int) -> None:
    location = databases.fresh_postgres()
    opened = [await Database.open(location) for _ in range(processes)]
    fake = FakeTwilio(SID, AUTH)
    channels = []
    try:
        await queue(opened[0], CONTACTS, count, "+44773")
        async with serving(fake.app()) as api:
            dispatchers = []
            for database in opened:
                channel = TwilioChannel(TwilioSettings(SID, AUTH, FROM, api), None)
                channels.append(channel)
                lane = Lane("twilio", ("sms",), rate, by_segments=True)
                dispatchers.append(
                    Dispatcher(database, {"sms": channel}, _now, [lane], concurrency=CONCURRENCY)
                )
            await _running(dispatchers, opened[0])
            await asyncio.sleep(0.3)
    finally:
        for channel in channels:
            await channel.close()
        for database in opened:
            await database.close()
    times = sorted(at for at, status in fake.attempts if status == 201)
    sent = Counter(message["Body"] for message in fake.messages)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    print(
        f"pace: {processes} dispatcher(s), lane {rate:g}/s, {count} messages: {achieved:.2f}/s"
        f" ({achieved / rate:.1%}), most in any one second {most_in_a_second(times)},"
        f" sent twice {sum(n - 1 for n in sent.values())}, not sent {count - len(sent)}"
    )


class Instant:
    name = "instant"

    async def send(self, message: Outbound) -> str:
        return f"id-{message.outbox_id}"


async def claims(count: int, processes: int) -> None:
    location = databases.fresh_postgres()
    opened = [await Database.open(location) for _ in range(processes)]
    try:
        await queue(opened[0], CONTACTS, count, "+44773")
        dispatchers = [
            Dispatcher(database, {"sms": Instant()}, _now, [Lane("fast", ("sms",), 100_000.0)])
            for database in opened
        ]
        seconds = await _running(dispatchers, opened[0])
    finally:
        for database in opened:
            await database.close()
    print(f"claims: {processes} dispatcher(s), {count} messages: {count / seconds:,.0f}/s")


def reservations(threads: int, each: int = 2000) -> None:
    location: Postgres = databases.fresh_postgres()
    pacer = SharedPacer("bench", 1_000_000.0)

    def one_connection() -> None:
        with psycopg.connect(location.url, autocommit=True) as connection:
            _configure(connection)
            for _ in range(each):
                with connection.transaction():
                    pacer.reserve(PostgresTx(connection))

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(one_connection) for _ in range(threads)]:
            future.result()
    seconds = time.perf_counter() - started
    print(f"reservations: {threads} thread(s): {threads * each / seconds:,.0f}/s")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    arguments = parser.parse_args()
    try:
        for processes in (3, 1):
            await pace(arguments.messages, arguments.rate, processes)
        for processes in (1, 3):
            await claims(arguments.messages, processes)
        for threads in (1, 4):
            reservations(threads)
    finally:
        with contextlib.suppress(Exception):
            databases.drop_made()
            databases.drop_template()


if __name__ == "__main__":
    asyncio.run(main())
