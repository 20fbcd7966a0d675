"""A real browser for the staff web: Debian's Chromium, driven by Playwright, against a
Parley running for real (web service, dispatcher, scheduler) on 127.0.0.1, whose
providers are the fake Twilio and Telegram servers the channel tests use.

Playwright's own browser download does not work on these machines: ``.ci/run``
installs Debian's ``chromium`` package when it is missing, and it is launched from
``/usr/bin/chromium``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.store import Database, contacts, staff
from bot.store.sql import Tx
from tests.channels.conftest import Live, live_settings, telegram_env, twilio_env
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.web.conftest import hashed

# A shared 2-core machine running the whole suite can be slow to draw a page: assertions
# about what a page shows wait up to 20 s (Playwright's default is 5 s).
expect.set_options(timeout=20_000)

CHROMIUM = Path("/usr/bin/chromium")
INSTALLED = CHROMIUM.exists()  # looked at once, when the tests are collected
ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ORGANISER = ("olu", "organiser password 1")
WORKER = ("wren", "worker password 22")
SMS_EN, SMS_PL = "+447700900301", "+447700900302"
TG_EN, TG_AR = 6101, 6102


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not INSTALLED:
        missing = "Debian's Chromium is not installed: apt-get install -y chromium"
        if os.environ.get("PARLEY_BROWSER_TESTS") == "required":  # .ci/run: never skipped
            raise AssertionError(missing)
        pytest.skip(missing)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGUMENTS)
        try:
            yield browser
        finally:
            await browser.close()


def _prepare(tx: Tx, now: datetime) -> None:
    """Staff accounts, and residents who joined earlier and agreed to questions."""
    staff.add(tx, ORGANISER[0], "organiser", hashed(ORGANISER[1]), now)
    staff.add(tx, WORKER[0], "worker", hashed(WORKER[1]), now)
    for channel, address, language in (
        ("sms", SMS_EN, "en"),
        ("sms", SMS_PL, "pl"),
        ("telegram", str(TG_EN), "en"),
        ("telegram", str(TG_AR), "ar"),
    ):
        contact = contacts.touch(tx, channel, address, language, now)
        contacts.update(tx, contact, {"consent": "yes", "ward": "North"})


@dataclass
class Site:
    """Parley, its fake providers, and where the staff web is."""

    parley: Live
    twilio: FakeTwilio
    telegram: FakeTelegram
    url: str  # http://127.0.0.1:PORT

    async def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        return await self.parley.rows(query, *params)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path,
    live: Any,
    twilio: tuple[FakeTwilio, str],
    telegram: tuple[FakeTelegram, str],
    **env: str,
) -> AsyncIterator[Site]:
    settings = live_settings(
        tmp_path,
        **twilio_env(twilio[1]),
        **telegram_env(telegram[1]),
        PARLEY_QUIET_HOURS="off",
        **env,
    )
    database = await Database.open(settings.database)
    await database.run(lambda tx: _prepare(tx, datetime.now().astimezone()))
    await database.close()
    async with live(settings) as parley:
        yield Site(parley, twilio[0], telegram[0], f"http://127.0.0.1:{parley.server.port}")


async def sign_in(page: Page, site: Site, who: tuple[str, str]) -> None:
    """Sign in by the form, as a person does."""
    await page.goto(f"{site.url}/admin/login")
    await page.get_by_label("Your name").fill(who[0])
    await page.get_by_label("Password").fill(who[1])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{site.url}/admin/")
