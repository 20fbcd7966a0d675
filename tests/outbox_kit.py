"""What the tests and the benchmark of several dispatchers on one outbox share: queueing
messages for many residents, counting what is left, and the provider's busiest second."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store import Database, contacts, messages
from bot.store.sql import Tx


async def queue(database: Database, residents: int, count: int, numbers: str = "+44770") -> None:
    """``count`` messages for ``residents`` residents, queued in turn: message n (its text
    ``m<n>``) goes to resident n % residents, whose number begins ``numbers``."""
    now = datetime.now(UTC)

    def work(tx: Tx) -> None:
        people = [
            contacts.touch(tx, "sms", f"{numbers}{n:07d}", "en", now).id for n in range(residents)
        ]
        batch = [
            messages.NewOutbound(people[n % residents], "sms", f"m{n}", "en", segments=1)
            for n in range(count)
        ]
        messages.add_outbound_many(tx, batch, now)

    await database.run(work)


async def queued(database: Database) -> int:
    """How many messages are still queued."""

    def count(tx: Tx) -> int:
        return int(tx.execute("SELECT count(*) FROM outbox WHERE status = 'queued'").fetchone()[0])

    return await database.run(count)


def most_in_a_second(times: list[float]) -> int:
    """The most messages the provider accepted within any one second."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most
