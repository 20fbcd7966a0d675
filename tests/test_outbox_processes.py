"""Several dispatchers on one PostgreSQL database, as several ``parley run`` processes
would be (each with a pool of its own), sending through the real twilio SDK to the fake
Twilio: every message once, each contact's in order, the lane's rate kept by all of
them together, and a dispatcher that dies mid-call loses nothing. Two processes writing
one broadcast write each resident once.

Skipped without ``PARLEY_TEST_POSTGRES`` (a server where tests may create databases).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.base import Channel, Outbound
from bot.channels.simulator import SimulatorChannel
from bot.channels.twilio import TwilioChannel
from bot.outreach import outbox, schedule
from bot.outreach.audience import Audience
from bot.outreach.broadcast import fan_out
from bot.outreach.outbox import Dispatcher, Lane
from bot.settings import TwilioSettings, load_settings
from bot.store import Database, broadcasts, contacts, messages
from bot.store.broadcasts import NewBroadcast
from bot.store.sql import Tx
from tests import databases
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, PARLEY_NUMBER, until
from tests.fakes.servers import serving
from tests.fakes.twilio_api import FakeTwilio
from tests.outbox_kit import most_in_a_second, queue, queued

pytestmark = databases.needs_server

CONTACTS = 500
PER_CONTACT = 4  # 2,000 messages in all
RATE = 100.0  # the lane's SMS segments a second, for the whole deployment
CONCURRENCY = 4


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def _fake() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)  # no rate of its own: the test counts
    async with serving(fake.app()) as url:
        yield fake, url


_channels: list[TwilioChannel] = []  # closed after each test


@pytest.fixture(autouse=True)
async def _closing_channels() -> AsyncIterator[None]:
    yield
    while _channels:
        await _channels.pop().close()


def _dispatcher(
    database: Database,
    api: str,
    claim_for: float = outbox.CLAIM,
    quiet: Callable[[], bool] | None = None,
) -> Dispatcher:
    channel = TwilioChannel(TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, PARLEY_NUMBER, api), None)
    _channels.append(channel)
    lane = Lane("twilio", ("sms",), RATE, by_segments=True, quiet=quiet)
    return Dispatcher(
        database, {"sms": channel}, _now, [lane], concurrency=CONCURRENCY, claim_for=claim_for
    )


def _in_order(fake: FakeTwilio) -> None:
    by_contact: defaultdict[str, list[int]] = defaultdict(list)
    for message in fake.messages:
        by_contact[message["To"]].append(int(message["Body"][1:]))
    assert len(by_contact) == CONTACTS
    for numbers in by_contact.values():
        assert numbers == sorted(numbers)


async def test_three_dispatchers_send_each_message_once_in_order_at_the_lanes_rate() -> None:
    location = databases.fresh_postgres()
    opened = [await Database.open(location) for _ in range(3)]
    try:
        await queue(opened[0], CONTACTS, CONTACTS * PER_CONTACT)
        async with _fake() as (fake, api):
            dispatchers = [_dispatcher(database, api) for database in opened]
            tasks = [asyncio.create_task(d.run()) for d in dispatchers]
            try:
                total = CONTACTS * PER_CONTACT
                await until(lambda: len(fake.messages) >= total, within=total / RATE + 30)
                await until_nothing_queued(opened[0])
                await asyncio.sleep(0.3)  # anything still to come would be a duplicate
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            sent = Counter(message["Body"] for message in fake.messages)
            assert len(sent) == total
            assert set(sent.values()) == {1}  # each once
            _in_order(fake)
            times = [at for at, status in fake.attempts if status == 201]
            # Slots are reserved 1/RATE apart, and each request leaves at its slot, or
            # later by however long the event loop (shared here by three dispatchers,
            # the fake and three SDKs, on a busy machine) took to get to it. A second's
            # window holds the requests whose slots lie within it and up to that
            # lateness before it: measured 101-105 at 100/s; 10% allows 100 ms of it.
            # Three processes each at the lane's own rate would have sent 300.
            assert most_in_a_second(times) <= RATE * 1.1 + 1
            elapsed = max(times) - min(times)
            assert elapsed >= (total - RATE * 1.1) / RATE  # the whole run at the rate, too
            for database in opened:
                assert await queued(database) == 0
    finally:
        for database in opened:
            await database.close()


async def until_nothing_queued(database: Database) -> None:
    for _ in range(500):
        if await queued(database) == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("messages still queued")


class Hangs:
    """A channel whose calls, after the first few, never come back: the process died
    in the middle of them (nothing reached the provider)."""

    name = "twilio"

    def __init__(self, channel: Channel, answered: int) -> None:
        self.channel = channel
        self.answered = answered
        self.hung: dict[int, float] = {}  # outbox id -> when its call began (monotonic)

    async def send(self, message: Outbound) -> str:
        if self.answered <= 0:
            self.hung[message.outbox_id] = time.monotonic()
            await asyncio.Event().wait()
        self.answered -= 1
        return await self.channel.send(message)


async def test_a_dispatcher_dying_mid_call_leaves_claims_that_another_sends_once_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "STOP_GRACE", 0.0)  # no grace: the calls in flight are cut
    contacts_count, per_contact, claim = 100, 2, 2.0
    location = databases.fresh_postgres()
    opened = [await Database.open(location) for _ in range(2)]
    try:
        await queue(opened[0], contacts_count, contacts_count * per_contact)
        async with _fake() as (fake, api):
            dying, surviving = (_dispatcher(db, api, claim_for=claim) for db in opened)
            hangs = Hangs(dying.channels["sms"], answered=20)
            dying.channels = {"sms": hangs}
            dying_task = asyncio.create_task(dying.run())
            await until(lambda: len(hangs.hung) == CONCURRENCY)
            surviving_task = asyncio.create_task(surviving.run())
            dying_task.cancel()  # abruptly: its hung calls are cut, their claims stay
            await asyncio.gather(dying_task, return_exceptions=True)
            held = await opened[1].run(
                lambda tx: [
                    row[0]
                    for row in tx.execute(
                        "SELECT id FROM outbox WHERE status = 'queued' AND claimed_by = ?",
                        (dying.claimer,),
                    )
                ]
            )
            assert sorted(held) == sorted(hangs.hung)  # what it had not begun, it gave up
            try:
                total = contacts_count * per_contact
                await until(lambda: len(fake.messages) >= total, within=total / RATE + 30)
                await until_nothing_queued(opened[1])
                await asyncio.sleep(0.3)
            finally:
                surviving_task.cancel()
                await asyncio.gather(surviving_task, return_exceptions=True)
            accepted = [at for at, status in fake.attempts if status == 201]
            at = {m["Body"]: when for m, when in zip(fake.messages, accepted, strict=True)}
            texts = await opened[1].run(
                lambda tx: dict(tuple(row) for row in tx.execute("SELECT id, text FROM outbox"))
            )
            for outbox_id, began in hangs.hung.items():
                # renewed just before the call began, the claim held it back until expired
                assert at[texts[outbox_id]] >= began + claim - 0.1
            sent = Counter(message["Body"] for message in fake.messages)
            assert len(sent) == total
            assert set(sent.values()) == {1}  # none lost, none twice
            by_contact: defaultdict[str, list[int]] = defaultdict(list)
            for message in fake.messages:
                by_contact[message["To"]].append(int(message["Body"][1:]))
            assert all(numbers == sorted(numbers) for numbers in by_contact.values())
    finally:
        for database in opened:
            await database.close()


async def test_quiet_hours_and_a_paused_broadcast_hold_for_every_dispatcher() -> None:
    """Three dispatchers on one database, in quiet hours: only replies go, by any of
    them. After quiet hours, a broadcast paused from one place stays unsent by all three
    while the other goes."""
    location = databases.fresh_postgres()
    opened = [await Database.open(location) for _ in range(3)]
    quiet = True
    now = _now()

    def scene(tx: Tx) -> tuple[int, int]:
        people = [contacts.touch(tx, "sms", f"+44775{n:07d}", "en", now).id for n in range(30)]
        news, later = (
            broadcasts.create(
                tx,
                NewBroadcast(broadcasts.MESSAGE, Audience().to_json(), texts=texts),
                "queued",
                now,
            )
            for texts in ({"en": "news"}, {"en": "later"})
        )
        batch = [
            messages.NewOutbound(
                person, "sms", f"{name}-{n}", "en", segments=1, broadcast_id=broadcast_id
            )
            for name, broadcast_id, group in (
                ("news", news, people[:10]),
                ("later", later, people[10:20]),
                ("reply", None, people[20:]),
            )
            for n, person in enumerate(group)
        ]
        messages.add_outbound_many(tx, batch, now)
        return news, later

    def sent(fake: FakeTwilio, name: str) -> int:
        return sum(message["Body"].startswith(name) for message in fake.messages)

    try:
        _, later = await opened[0].run(scene)
        async with _fake() as (fake, api):
            dispatchers = [_dispatcher(d, api, quiet=lambda: quiet) for d in opened]
            tasks = [asyncio.create_task(d.run()) for d in dispatchers]
            try:
                await until(lambda: sent(fake, "reply") == 10, within=20)
                await asyncio.sleep(2 * outbox.IDLE_POLL)  # each has looked again since
                assert sent(fake, "news") == sent(fake, "later") == 0
                await opened[1].run(lambda tx: broadcasts.set_paused(tx, later, True, _now()))
                quiet = False
                await until(lambda: sent(fake, "news") == 10, within=20)
                await asyncio.sleep(2 * outbox.IDLE_POLL)
                assert sent(fake, "later") == 0
                assert len(fake.messages) == 20
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for database in opened:
            await database.close()


# -- writing a broadcast: one process at a time ------------------------------------------

NEWS = {"en": "The community fridge opens on Saturday."}
RESIDENTS = 300


async def _two_apps(
    tmp_path: Path, behind: timedelta = timedelta(0)
) -> tuple[App, App, list[Outbound]]:
    """Two Parleys on one new database (the first's clock ``behind`` the real one), with
    residents who consented and a broadcast to them all whose writing has begun."""
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    settings = load_settings(
        {"PARLEY_DATABASE": databases.fresh_postgres().url}, config_file=config
    )
    sent: list[Outbound] = []
    channels = {"sms": SimulatorChannel("sms", sent.append)}
    first = await App.open(settings, channels, lambda: _now() - behind)
    second = await App.open(settings, channels, _now)
    now = _now()

    def scene(tx: Tx) -> None:
        for n in range(RESIDENTS):
            contact = contacts.touch(tx, "sms", f"+44774{n:07d}", "en", now)
            contacts.update(tx, contact, {"consent": "yes"})
        new = NewBroadcast(broadcasts.MESSAGE, Audience().to_json(), texts=NEWS)
        broadcasts.create(tx, new, "sending", now)

    await first.database.run(scene)
    return first, second, sent


async def _written(app: App) -> Counter[int]:
    rows = await app.database.run(
        lambda tx: [row[0] for row in tx.execute("SELECT contact_id FROM outbox")]
    )
    return Counter(rows)


async def test_two_processes_resuming_one_broadcast_at_once_write_each_resident_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=schedule.__name__)
    monkeypatch.setattr(schedule, "fan_out", functools.partial(fan_out, batch=10))
    first, second, _ = await _two_apps(tmp_path)
    try:
        done = await asyncio.gather(first.jobs.resume(), second.jobs.resume())
        assert list(done) == [1, 1]  # both looked; one wrote, the other found the lease held
        assert "another process is writing it" in caplog.text
        written = await _written(first)
        assert len(written) == RESIDENTS
        assert set(written.values()) == {1}
        [(status, recipients, writer)] = await first.database.run(
            lambda tx: [
                tuple(row)
                for row in tx.execute("SELECT status, recipients, writer FROM broadcasts")
            ]
        )
        assert (status, recipients, writer) == ("queued", RESIDENTS, None)
    finally:
        await first.close()
        await second.close()


async def test_a_writer_whose_lease_ran_out_stops_and_the_one_taking_over_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The first writer's clock is an hour behind, so its lease has run out from the
    moment it takes it: the second takes over after the first's first batch, writes the
    rest, and the first's next batch finds its lease gone and stops, writing nothing."""
    monkeypatch.setattr(schedule, "fan_out", functools.partial(fan_out, batch=10))
    first, second, _ = await _two_apps(tmp_path, behind=timedelta(hours=1))
    one_batch = asyncio.Event()
    try:
        writing = asyncio.create_task(first.jobs.resume(lambda done: one_batch.set()))
        await one_batch.wait()
        assert await second.jobs.resume() == 1
        await writing
        written = await _written(first)
        assert len(written) == RESIDENTS
        assert set(written.values()) == {1}
        # Its next batch finds the lease gone; on a busy machine the first may write its
        # last batch before the second takes over, and then it is its finish that does.
        stopped = ("another process writes it now", "another process finishes writing it")
        assert any(line in caplog.text for line in stopped), caplog.text
        [(status, recipients)] = await first.database.run(
            lambda tx: [
                tuple(row) for row in tx.execute("SELECT status, recipients FROM broadcasts")
            ]
        )
        assert (status, recipients) == ("queued", RESIDENTS)
    finally:
        await first.close()
        await second.close()
