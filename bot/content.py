"""What a deployment says and asks: its flows, and the engine's environment (the bot's
own sentences, the languages' names, the time zone). Light to import: the commands and
the export worker load it without the providers' libraries."""

from __future__ import annotations

from bot.engine import Env, Flow
from bot.errors import ConfigError
from bot.flowfile import load_flows
from bot.lang.names import language_names
from bot.lang.phrases import load_phrases
from bot.settings import Settings


def load_content(settings: Settings) -> tuple[dict[str, Flow], Env]:
    """Flows and the engine's environment; raises FlowError or ConfigError."""
    flows = load_flows(settings.flows_dir)
    for setting in ("start_flow", "menu_flow", "language_flow"):
        flow_id = getattr(settings, setting)
        if flow_id not in flows:
            raise ConfigError(
                f"PARLEY_{setting.upper()}: there is no flow '{flow_id}' in {settings.flows_dir}"
            )
    env = Env(
        load_phrases(settings.locales_dir),
        language_names(settings.languages),
        timezone=settings.timezone,
    )
    return flows, env
