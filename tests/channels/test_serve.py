"""``parley run``'s own loop (bot.server.serve): what it does once started."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.server import YOUNG_OBJECTS, serve
from tests.channels.conftest import live_settings, twilio_env, until


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give back to the collector whatever the test's Parley set aside."""
    assert gc.get_freeze_count() == 0
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("unfrozen")
async def test_once_started_the_collector_leaves_start_up_and_young_objects_alone(
    tmp_path: Path, fake_twilio: tuple[object, str]
) -> None:
    """Start-up's objects live as long as the process; left to the collector, each of its
    full passes would walk all of them again (a tenth of a message's CPU under load)."""
    _, url = fake_twilio
    running = asyncio.create_task(serve(live_settings(tmp_path, **twilio_env(url))))
    try:
        await until(lambda: gc.get_freeze_count() > 0 or running.done())
        frozen = gc.get_freeze_count()
        youngest = gc.get_threshold()[0]
    finally:
        if not running.done():  # (its handler is in place only while it runs)
            signal.raise_signal(signal.SIGTERM)  # as a service manager stops it
        await running
    assert frozen > 10_000
    assert youngest == YOUNG_OBJECTS  # a message's objects do not wake the collector
