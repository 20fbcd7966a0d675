"""Putting Parley together: settings → flows, catalogs, database, channels, service and
dispatcher."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.channels.base import Channel
from bot.content import load_content
from bot.flowfile.triggers import load_triggers
from bot.lang.guess import LanguageGuesser
from bot.outreach.outbox import Dispatcher, Lane
from bot.outreach.schedule import Jobs
from bot.phone.attachments import FileMaker
from bot.service import ConversationService, utc_now
from bot.settings import Settings
from bot.store import Database
from bot.store.database import Held, run_lock

if TYPE_CHECKING:  # each provider's SDK is imported only where its channel is made
    from bot.channels.telegram import TelegramChannel
    from bot.channels.twilio import TwilioChannel

TWILIO_SMS_PATH = "/twilio/sms"
TWILIO_STATUS_PATH = "/twilio/status"
TELEGRAM_PATH = "/telegram"
TWILIO_CHANNELS = ("sms", "whatsapp")  # TwilioChannel.names, without importing Twilio's SDK


def lanes_for(
    settings: Settings,
    channels: Mapping[str, Channel],
    clock: Callable[[], datetime] = utc_now,
) -> list[Lane]:
    """One paced lane per provider account, for the channels that exist. Broadcast SMS
    and WhatsApp wait out quiet hours (a text always rings; a Telegram chat can be muted)."""
    pace = settings.dispatch
    lanes = []
    if "telegram" in channels:
        lanes.append(Lane("telegram", ("telegram",), pace.telegram_rate, pace.telegram_chat_rate))
    twilio = tuple(name for name in TWILIO_CHANNELS if name in channels)
    if twilio:
        lanes.append(
            Lane(
                "twilio",
                twilio,
                pace.twilio_rate,
                by_segments=True,
                quiet=lambda: settings.is_quiet(clock()),
            )
        )
    others = tuple(name for name in channels if name != "telegram" and name not in twilio)
    if others:  # the simulator: as fast as the terminal takes it
        lanes.append(Lane("other", others, 1000.0))
    return lanes


@dataclass
class App:
    """Everything one Parley process runs, opened on one database."""

    settings: Settings
    database: Database
    service: ConversationService
    dispatcher: Dispatcher
    jobs: Jobs
    guesser: LanguageGuesser
    twilio: TwilioChannel | None = None
    telegram: TelegramChannel | None = None
    lock: Held | None = None

    @classmethod
    async def open(
        cls,
        settings: Settings,
        channels: Mapping[str, Channel] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> App:
        """Open with the given channels, or (None) with the providers the settings name.

        On SQLite one App runs on a database at a time (see :class:`RunLock`): a second
        raises ConfigError rather than send everything queued a second time. Several
        share a PostgreSQL database, claiming what each sends."""
        flows, env = load_content(settings)
        triggers = load_triggers(settings.flows_dir, flows)
        guesser = LanguageGuesser(settings.languages)
        lock = run_lock(settings.database)
        try:
            twilio = telegram = None
            if channels is None:
                channels, twilio, telegram = _providers(settings)
            database = await Database.open(settings.database)
        except BaseException:
            lock.release()
            raise
        pace = settings.dispatch
        dispatcher = Dispatcher(
            database,
            channels,
            clock,
            lanes_for(settings, channels, clock),
            concurrency=pace.concurrency,
            attempts=pace.attempts,
            retry_delay=pace.retry_delay,
            make_file=FileMaker(database, settings, flows, env, clock),
        )
        service = ConversationService(
            database,
            flows,
            env,
            settings,
            clock,
            dispatcher.wake,
            triggers=triggers,
            guess=guesser,
        )
        jobs = Jobs(database, flows, env, settings, clock, dispatcher.wake)
        return cls(settings, database, service, dispatcher, jobs, guesser, twilio, telegram, lock)

    async def recover(self) -> None:
        """After a restart: act on stored messages, then send what is still queued."""
        await self.service.resume_pending()
        await self.dispatcher.drain()

    async def close(self) -> None:
        if self.twilio is not None:
            await self.twilio.close()
        if self.telegram is not None:
            await self.telegram.close()
        await self.database.close()
        if self.lock is not None:
            self.lock.release()


def _providers(
    settings: Settings,
) -> tuple[dict[str, Channel], TwilioChannel | None, TelegramChannel | None]:
    channels: dict[str, Channel] = {}
    twilio = telegram = None
    if settings.twilio is not None:
        from bot.channels.twilio import TwilioChannel

        status_url = f"{settings.public_url}{TWILIO_STATUS_PATH}" if settings.public_url else None
        twilio = TwilioChannel(settings.twilio, status_url)
        for name in TwilioChannel.names:
            channels[name] = twilio
    if settings.telegram is not None:
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel(settings.telegram, settings.dispatch.concurrency)
        channels["telegram"] = telegram
    return channels, twilio, telegram
