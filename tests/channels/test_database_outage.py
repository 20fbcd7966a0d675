"""The database goes away for 10 s in the middle of traffic, and comes back: nothing a
provider was told was received is lost, nothing is sent twice, and Parley carries on
without a restart.

Parley runs on a fresh PostgreSQL database reached through a proxy the test cuts
(tests/fakes/tcp_proxy.py). Ten residents text in steadily; the test's client posts
their messages as Twilio does: a webhook answered 503, or not answered at all, is sent
again after a pause with the same MessageSid; a 200 is an acknowledgement. The cut comes
while the bot is sending a reply, so the provider accepts a message whose result cannot
be recorded until the database is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from bot.store.location import Postgres
from tests import databases
from tests.channels.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Live,
    inbound_sms,
    live_settings,
    twilio_env,
    until,
)
from tests.fakes.servers import serving
from tests.fakes.tcp_proxy import TcpProxy, proxying, server_socket
from tests.fakes.twilio_api import FakeTwilio

pytestmark = databases.needs_server

RESIDENTS = 10
SURVEY = ["hi", "1", "yes", "1", "1", "2", "1 3", "4", "12", "1", "More street lights"]
MESSAGES = SURVEY + SURVEY[:9]  # 20 each: the survey, then most of it again
EVERY = 1.25  # seconds between a resident's messages: 20 over 25 s
CUT_AFTER = 5.0  # seconds of traffic before the database goes
OUTAGE = 10.0  # seconds it stays away
RESEND_PAUSE = 1.0  # seconds "Twilio" waits before posting an unanswered webhook again
WEBHOOK_TIMEOUT = 15.0  # seconds "Twilio" waits for an answer (Twilio's own default)


class CuttingTwilio(FakeTwilio):
    """The fake Twilio API, able to cut the database the moment it accepts a message:
    the bot then holds a sent message whose result it cannot record."""

    cut_next: Callable[[], None] | None = None
    cut_during: str | None = None  # the sid of the message accepted as the cut came

    async def create(self, request: Request) -> Response:
        cut, self.cut_next = self.cut_next, None
        if cut is not None:
            cut()
        response = await super().create(request)
        if cut is not None and self.messages:
            self.cut_during = self.messages[-1]["sid"]
        return response


@dataclass
class Provider:
    """Posts residents' messages as Twilio does, resending what was not acknowledged."""

    parley: Live
    acknowledged: list[str] = field(default_factory=list)  # MessageSids answered 200
    answers: Counter[int | str] = field(default_factory=Counter)  # status, or the error
    posts: int = 0
    longest: float = 0.0  # seconds, the longest a post waited for its answer

    async def deliver(self, sender: str, sid: str, body: str) -> None:
        params = inbound_sms(sender, body, sid)
        while True:
            self.posts += 1
            posted = time.monotonic()
            try:
                response = await self.parley.post_twilio("/twilio/sms", params)
            except httpx.TransportError as error:  # refused, cut off or timed out: again
                self.answers[type(error).__name__] += 1
                await asyncio.sleep(RESEND_PAUSE)
                continue
            finally:
                self.longest = max(self.longest, time.monotonic() - posted)
            self.answers[response.status_code] += 1
            if response.status_code == 200:
                self.acknowledged.append(sid)
                return
            if response.status_code != 503:  # a 500 or a refusal: Twilio would give up
                raise AssertionError(f"{sid} answered {response.status_code}: {response.text}")
            await asyncio.sleep(RESEND_PAUSE)

    async def resident(self, number: int, start: float) -> None:
        """One resident's messages, one every EVERY seconds (later if one was held up)."""
        sender = f"+4477009{number:05d}"
        for n, body in enumerate(MESSAGES):
            due = start + n * EVERY + number * EVERY / RESIDENTS
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await self.deliver(sender, f"SM{number:04d}{n:028d}", body)


@pytest.fixture
async def cutting_twilio() -> AsyncIterator[tuple[CuttingTwilio, str]]:
    fake = CuttingTwilio(ACCOUNT_SID, AUTH_TOKEN)
    async with serving(fake.app()) as url:
        yield fake, url


async def _health(parley: Live) -> int:
    try:
        return (await parley.client.get("/healthz")).status_code
    except httpx.TransportError:
        return 0


def _read(database: Postgres, query: str) -> list[dict[str, Any]]:
    with databases.connect(database) as tx:
        return [dict(row) for row in tx.execute(query)]


async def test_ten_seconds_without_the_database_lose_nothing_and_send_nothing_twice(
    tmp_path: Path,
    cutting_twilio: tuple[CuttingTwilio, str],
    live: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fake, api = cutting_twilio
    database = databases.fresh_postgres()
    name = urlsplit(database.url).path.lstrip("/")
    with proxying(server_socket(databases.server())) as proxy:
        settings = live_settings(tmp_path, PARLEY_DATABASE=proxy.url(name), **twilio_env(api))
        async with live(settings) as parley:
            parley.client.timeout = httpx.Timeout(WEBHOOK_TIMEOUT)
            provider = Provider(parley)
            start = time.monotonic()
            traffic = asyncio.gather(
                *(provider.resident(number, start) for number in range(RESIDENTS))
            )
            cut_at, restored_at, back_at = await _outage(parley, fake, proxy, start)
            await asyncio.wait_for(traffic, timeout=120)
            await parley.until_row(
                "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE status = 'queued')"
                " AND NOT EXISTS (SELECT 1 FROM inbound WHERE handled_at IS NULL)",
                within=60,
            )
            assert await _health(parley) == 200

    inbound = _read(database, "SELECT provider_id, handled_at, error FROM inbound")
    outbox = _read(
        database,
        "SELECT o.id, o.text, o.status, o.provider_id, c.address FROM outbox o"
        " JOIN contacts c ON c.id = o.contact_id ORDER BY o.id",
    )

    # The outage bit: connections were refused, webhooks answered 503 and sent again.
    assert proxy.refused > 0
    assert provider.posts > RESIDENTS * len(MESSAGES)
    assert set(provider.answers) <= {200, 503, "ReadTimeout", "RemoteProtocolError"}
    assert provider.answers[503] > 0
    # Every acknowledged message is stored once and handled: none lost, retries recognised.
    assert len(provider.acknowledged) == RESIDENTS * len(MESSAGES)
    assert Counter(row["provider_id"] for row in inbound) == Counter(provider.acknowledged)
    assert all(row["handled_at"] is not None and row["error"] is None for row in inbound)
    # Every reply queued reached Twilio exactly once, each resident's in order.
    assert {row["status"] for row in outbox} == {"sent"}
    assert len(fake.messages) == len(outbox)
    assert sorted(m["sid"] for m in fake.messages) == sorted(row["provider_id"] for row in outbox)
    assert fake.cut_during in {row["provider_id"] for row in outbox}
    for number in range(RESIDENTS):
        sender = f"+4477009{number:05d}"
        queued = [row["text"] for row in outbox if row["address"] == sender]
        assert fake.to(sender) == queued
        assert len(queued) >= len(MESSAGES)
    # The outage was logged in lines, never a traceback.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    outbox_lines = [r for r in caplog.records if r.name == "bot.outreach.outbox"]
    assert len(outbox_lines) <= 10, [r.getMessage() for r in outbox_lines]
    first_reply = min(at for at, _ in fake.attempts if at > restored_at)
    print(
        f"\ncut {cut_at - start:.1f} s into the traffic, restored {restored_at - cut_at:.1f} s"
        f" later; healthy again {back_at - restored_at:.2f} s after the restore, the first"
        f" reply sent after {first_reply - restored_at:.2f} s;"
        f" {provider.posts} posts for {len(provider.acknowledged)} messages {provider.answers},"
        f" the longest answered in {provider.longest:.1f} s; warnings and errors logged:"
        f" {dict(Counter(r.name for r in caplog.records if r.levelno >= logging.WARNING))}"
    )
    for record in outbox_lines:
        print(f"  {record.levelname} {record.getMessage()}")


async def _outage(
    parley: Live, fake: CuttingTwilio, proxy: TcpProxy, start: float
) -> tuple[float, float, float]:
    """Cut the database while a reply is being sent, CUT_AFTER s into the traffic; restore
    it OUTAGE s later; (when cut, when restored, when /healthz first answered 200 again)."""
    await asyncio.sleep(CUT_AFTER - (time.monotonic() - start))
    fake.cut_next = proxy.cut
    await until(lambda: proxy.is_cut, within=15)
    cut_at = time.monotonic()
    assert await _health(parley) == 503
    await asyncio.sleep(OUTAGE - (time.monotonic() - cut_at))
    proxy.restore()
    restored_at = time.monotonic()
    while await _health(parley) != 200:
        assert time.monotonic() - restored_at < 30, "/healthz not healthy 30 s after restore"
        await asyncio.sleep(0.05)
    return cut_at, restored_at, time.monotonic()
