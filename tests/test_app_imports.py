"""Putting Parley together imports a provider's SDK only where its channel is made: a
deployment on Twilio alone does not hold Telegram's in memory (16 MB), nor one on
Telegram alone Twilio's and aiohttp (15 MB)."""

from __future__ import annotations

import subprocess
import sys

from bot.app import TWILIO_CHANNELS
from bot.channels.twilio import TwilioChannel


def test_the_twilio_channels_named_without_the_sdk_are_the_channels() -> None:
    assert TwilioChannel.names == TWILIO_CHANNELS


def test_importing_the_app_imports_no_providers_sdk() -> None:
    code = (
        "import sys, bot.app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'telegram', 'twilio', 'aiohttp'}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_the_webhooks_import_telegrams_sdk_only_for_a_telegram_update() -> None:
    code = (
        "import sys, bot.server, bot.web.webhooks; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'telegram'}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"
