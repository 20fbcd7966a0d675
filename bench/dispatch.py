"""Outbound pacing: the dispatcher's achieved send rate against fake providers that
enforce the configured rate, through the real python-telegram-bot and twilio SDKs.

    .venv/bin/python bench/dispatch.py [--seconds 15]

Telegram: one message to each of many chats at the default 30 messages/s, against a
fake Bot API that refuses (429) anything beyond 30/s. Twilio: SMS of one to three
segments at 10 segments/s, against a fake REST API that counts segments the same way.
Both fakes allow a burst of one second's worth, as a token bucket, and nothing more.
The rate achieved is measured at the fake, between the first and last message.

Target (issue 3): at least 95% of the configured rate, with no 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App
from bot.channels.segments import segments
from bot.settings import load_settings
from bot.store import contacts, messages
from bot.store.sql import Tx
from tests.fakes.servers import serving
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

TARGET = 0.95
TELEGRAM_RATE = 30.0
TWILIO_RATE = 10.0
TOKEN = "123456:bench-token"
SID, AUTH = "AC" + "c" * 32, "bench-auth"
TEXTS = (  # 1, 2 and 3 GSM-7 segments
    "Your panel meets on Tuesday at 6pm in the library.",
    "The panel chose the youth club and the bus shelter. " * 4,
    "Thank you for taking part. Here is what the panel decided and why. " * 6,
)


def _queue(tx: Tx, channel: str, count: int) -> None:
    now = datetime.now(UTC)
    for n in range(count):
        address = str(7_000_000 + n) if channel == "telegram" else f"+44772{n:07d}"
        contact = contacts.touch(tx, channel, address, "en", now)
        text = TEXTS[n % len(TEXTS)]
        count_ = segments(text).count if channel == "sms" else None
        messages.add_outbound(
            tx, messages.NewOutbound(contact.id, channel, text, "en", segments=count_), now
        )


async def _measure(
    folder: Path, env: dict[str, str], channel: str, count: int, delivered: Callable[[], int]
) -> None:
    """Queue ``count`` messages and run the dispatcher until the fake has them all."""
    (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    settings = load_settings(
        {"PARLEY_DATABASE": str(folder / "parley.db"), **env}, config_file=folder / "parley.toml"
    )
    app = await App.open(settings)
    try:
        if app.telegram is not None:
            await app.telegram.start()
        await app.database.run(lambda tx: _queue(tx, channel, count))
        sending = asyncio.create_task(app.dispatcher.run())
        deadline = time.monotonic() + count  # far more than needed
        while delivered() < count and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a fake)
            await asyncio.sleep(0.05)
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    finally:
        await app.close()


def _rate(times: list[float], weights: list[float]) -> float:
    """Units per second between the first and the last arrival: each message's units
    buy the time until the next one, so the last one's are not counted."""
    return sum(weights[:-1]) / (times[-1] - times[0])


async def main(seconds: float) -> None:
    telegram_count = int(TELEGRAM_RATE * seconds)
    twilio_segments_wanted = TWILIO_RATE * seconds
    twilio_count = int(twilio_segments_wanted / 2)  # the texts average two segments
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        telegram = FakeTelegram(TOKEN, rate=TELEGRAM_RATE)
        async with serving(telegram.app()) as api:
            (folder / "t").mkdir()
            env = {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "PARLEY_TELEGRAM_MODE": "polling",
                "PARLEY_TELEGRAM_API_URL": api,
            }
            await _measure(
                folder / "t", env, "telegram", telegram_count, lambda: len(telegram.sent)
            )
        sent = [t for t, status in telegram.attempts if status == 200]
        telegram_rate = _rate(sent, [1.0] * len(sent))

        twilio = FakeTwilio(SID, AUTH, rate=TWILIO_RATE)
        async with serving(twilio.app()) as api:
            (folder / "s").mkdir()
            env = {
                "TWILIO_ACCOUNT_SID": SID,
                "TWILIO_AUTH_TOKEN": AUTH,
                "TWILIO_FROM": "+447700900999",
                "PARLEY_PUBLIC_URL": "https://parley.example.org",
                "PARLEY_TWILIO_API_URL": api,
                "PARLEY_TWILIO_RATE": str(TWILIO_RATE),
            }
            await _measure(folder / "s", env, "sms", twilio_count, lambda: len(twilio.messages))
        times = [t for t, status in twilio.attempts if status == 201]
        weights = [float(segments(m["Body"]).count) for m in twilio.messages]
        twilio_rate = _rate(times, weights)
    for name, rate, target, unit, refused, count in (
        ("Telegram", telegram_rate, TELEGRAM_RATE, "messages", telegram.too_fast, len(sent)),
        ("Twilio", twilio_rate, TWILIO_RATE, "segments", twilio.too_fast, len(times)),
    ):
        share = rate / target
        verdict = "meets" if share >= TARGET and refused == 0 else "MISSES"
        print(
            f"{name}: {count} messages at {rate:.2f} {unit}/s of {target:g} configured"
            f" ({share:.1%}), {refused} refused as too fast ({verdict} the target)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each run")
    asyncio.run(main(parser.parse_args().seconds))
