"""Putting Parley together: settings → flows, catalogs, database, service, dispatcher."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.channels.base import Channel
from bot.engine import Env, Flow
from bot.errors import ConfigError
from bot.flowfile import load_flows
from bot.lang.names import language_names
from bot.lang.phrases import load_phrases
from bot.outbox import Dispatcher
from bot.service import ConversationService, utc_now
from bot.settings import Settings
from bot.store import Database


def load_content(settings: Settings) -> tuple[dict[str, Flow], Env]:
    """Flows and the engine's environment; raises FlowError or ConfigError."""
    flows = load_flows(settings.flows_dir)
    for setting in ("start_flow", "menu_flow", "language_flow"):
        flow_id = getattr(settings, setting)
        if flow_id not in flows:
            raise ConfigError(
                f"PARLEY_{setting.upper()}: there is no flow '{flow_id}' in {settings.flows_dir}"
            )
    env = Env(load_phrases(settings.locales_dir), language_names(settings.languages))
    return flows, env


@dataclass
class App:
    settings: Settings
    database: Database
    service: ConversationService
    dispatcher: Dispatcher

    @classmethod
    async def open(
        cls,
        settings: Settings,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime] = utc_now,
    ) -> App:
        flows, env = load_content(settings)
        database = await Database.open(settings.database)
        dispatcher = Dispatcher(database, channels, clock)
        service = ConversationService(database, flows, env, settings, clock)
        return cls(settings, database, service, dispatcher)

    async def recover(self) -> None:
        """After a restart: act on stored messages, then send what is still queued."""
        await self.service.resume_pending()
        await self.dispatcher.drain()

    async def close(self) -> None:
        await self.database.close()
