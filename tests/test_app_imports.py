"""Putting Parley together imports a provider's SDK only where its channel is made: a
deployment on Twilio alone does not hold Telegram's in memory (16 MB), nor one on
Telegram alone Twilio's and aiohttp (15 MB)."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.app import TWILIO_CHANNELS
from bot.channels.twilio import TwilioChannel


def test_the_twilio_channels_named_without_the_sdk_are_the_channels() -> None:
    assert TwilioChannel.names == TWILIO_CHANNELS


def _loaded(imports: str, packages: set[str]) -> list[str]:
    """Which of ``packages`` a new Python has loaded once it ran ``import IMPORTS``."""
    code = f"import json, sys, {imports}; print(json.dumps(sorted(sys.modules)))"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return sorted({name.split(".")[0] for name in json.loads(found)} & packages)


def test_importing_the_app_imports_no_providers_sdk() -> None:
    assert _loaded("bot.app", {"telegram", "twilio", "aiohttp"}) == []


def test_the_webhooks_import_telegrams_sdk_only_for_a_telegram_update() -> None:
    assert _loaded("bot.server, bot.web.webhooks", {"telegram"}) == []
