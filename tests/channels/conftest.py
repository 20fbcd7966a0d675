"""Parley running for real (web service, dispatcher, pollers) against fake providers on
127.0.0.1, driven through the real twilio and python-telegram-bot SDKs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sized
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.server import Server
from bot.service import utc_now
from bot.settings import Settings, load_settings
from tests import databases
from tests.fakes.servers import serving
from tests.fakes.telegram_api import FakeTelegram, Residents
from tests.fakes.twilio_api import FakeTwilio

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"
PARLEY_NUMBER = "+447700900999"
BOT_TOKEN = "123456:TEST-token_for-parley"
SECRET = "telegram-secret-1"
PUBLIC_URL = "https://parley.example.org"


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check()`` holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the condition")
        await asyncio.sleep(0.01)


async def until_length(items: Callable[[], Sized], length: int) -> None:
    """Wait until ``items()`` has ``length`` items (a provider has had so many messages)."""
    await until(lambda: len(items()) == length)


@pytest.fixture
async def fake_twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    async with serving(fake.app()) as url:
        yield fake, url
    await fake.close()


@pytest.fixture
async def fake_telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(BOT_TOKEN)
    async with serving(fake.app()) as url:
        yield fake, url


def live_settings(tmp_path: Path, **env: str) -> Settings:
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    base = {
        "PARLEY_DATABASE": databases.of(tmp_path),
        "PARLEY_PORT": "0",
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "PARLEY_TWILIO_RATE": "100",
        "PARLEY_TELEGRAM_CHAT_RATE": "100",
        "PARLEY_RETRY_DELAY": "0.05",
    }
    return load_settings({**base, **env}, config_file=config)


def twilio_env(api_url: str) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": PARLEY_NUMBER,
        "PARLEY_TWILIO_API_URL": api_url,
    }


def telegram_env(api_url: str, mode: str = "webhook") -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "PARLEY_TELEGRAM_SECRET": SECRET,
        "PARLEY_TELEGRAM_MODE": mode,
        "PARLEY_TELEGRAM_API_URL": api_url,
    }


def inbound_sms(sender: str, body: str, sid: str) -> dict[str, str]:
    """The form Twilio posts for a resident's SMS to Parley's number."""
    return {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": PARLEY_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def twilio_signature(path: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a form Twilio posts to ``path`` of the public URL."""
    return str(RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, params))


@dataclass
class Live:
    """A running Parley and a client posting to it as the providers would."""

    server: Server
    client: httpx.AsyncClient
    residents: Residents
    _sids: int = 0

    async def sms(
        self, sender: str, body: str, sid: str | None = None, signature: str | None = None
    ) -> httpx.Response:
        """Post an inbound SMS the way Twilio does: a form signed for the public URL."""
        self._sids += 1
        params = inbound_sms(sender, body, sid or f"SMin{self._sids:030d}")
        return await self.post_twilio("/twilio/sms", params, signature)

    async def post_twilio(
        self, path: str, params: dict[str, str], signature: str | None = None
    ) -> httpx.Response:
        if signature is None:
            signature = twilio_signature(path, params)
        return await self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    async def telegram(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/telegram", json=update, headers=headers)

    async def until_row(self, query: str, within: float = 10.0) -> None:
        """Wait until ``query`` finds a row (the dispatcher recorded a result, say)."""
        deadline = time.monotonic() + within
        while not await self.rows(query):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for a row from {query}")
            await asyncio.sleep(0.01)

    async def until_all_sent(self) -> None:
        """Wait until the outbox holds nothing queued (results recorded, not just sent)."""
        await self.until_row(
            "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE status = 'queued')"
        )

    async def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        assert self.server.app is not None
        return await self.server.app.database.run(
            lambda tx: [dict(row) for row in tx.execute(query, params)]
        )


@pytest.fixture
def live() -> Callable[[Settings], Any]:
    """``async with live(settings) as parley:`` runs Parley until the block ends."""

    @contextlib.asynccontextmanager
    async def running(
        settings: Settings, clock: Callable[[], datetime] = utc_now
    ) -> AsyncIterator[Live]:
        server = Server(settings, clock)
        await server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=base) as client:
                yield Live(server, client, Residents())
        finally:
            await server.stop()

    return running
