"""Settings, loaded once at start-up and passed in explicitly.

Each setting can come from the environment (``PARLEY_*``, for secrets and containers)
or from a ``parley.toml`` file (``[parley]`` table, lowercase names without the prefix).
The environment wins. Anything wrong stops start-up with a :class:`ConfigError` that
names the setting.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError
from bot.paths import bundled

DEFAULT_CONFIG_FILE = "parley.toml"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class Settings:
    database: Path
    flows_dir: Path
    locales_dir: Path
    languages: tuple[str, ...]  # the deployment's languages, menu order; the first is default
    name: str  # what the bot calls itself in HELP
    timezone: ZoneInfo
    start_flow: str  # for a contact's first message
    menu_flow: str  # for a message when nothing is under way
    language_flow: str  # for the LANGUAGE keyword

    @property
    def default_language(self) -> str:
        return self.languages[0]


# name -> (default, description); defaults are strings, converted below.
SETTINGS: dict[str, tuple[str, str]] = {
    "database": ("parley.db", "SQLite file, created on first run"),
    "flows": ("", "folder of flow files (default: the bundled flows)"),
    "locales": ("", "folder of gettext catalogs (default: the bundled catalogs)"),
    "languages": ("en,pl,ro,ar,ur", "languages offered, comma-separated; the first is default"),
    "name": ("Parley", "the name residents see in HELP"),
    "timezone": ("Europe/London", "time zone of the deployment (IANA name)"),
    "start_flow": ("welcome", "flow for a new contact's first message"),
    "menu_flow": ("menu", "flow for a message when no survey is under way"),
    "language_flow": ("language", "flow the LANGUAGE keyword opens"),
}


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    environ = os.environ if environ is None else environ
    file_values = _read_file(config_file, environ)
    raw: dict[str, str] = {}
    for name, (default, _) in SETTINGS.items():
        env_name = f"PARLEY_{name.upper()}"
        if env_name in environ:
            raw[name] = environ[env_name]
        elif name in file_values:
            raw[name] = str(file_values[name])
        else:
            raw[name] = default
    return _convert(raw)


def _read_file(config_file: Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    explicit = config_file is not None or "PARLEY_CONFIG" in environ
    path = config_file or Path(environ.get("PARLEY_CONFIG", DEFAULT_CONFIG_FILE))
    if not path.exists():
        if explicit:
            raise ConfigError(f"PARLEY_CONFIG: the settings file {path} does not exist")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    table = data.get("parley", {})
    unknown = sorted(set(table) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting '{unknown[0]}' in [parley]")
    return dict(table)


def _convert(raw: dict[str, str]) -> Settings:
    languages = tuple(code.strip() for code in raw["languages"].split(",") if code.strip())
    if not languages:
        raise ConfigError("PARLEY_LANGUAGES: list at least one language, like 'en,pl'")
    for code in languages:
        if not _LANGUAGE.match(code):
            raise ConfigError(f"PARLEY_LANGUAGES: '{code}' is not a language code like 'pl'")
    try:
        timezone = ZoneInfo(raw["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"PARLEY_TIMEZONE: '{raw['timezone']}' is not a time zone like 'Europe/London'"
        ) from None
    flows_dir = Path(raw["flows"]) if raw["flows"] else bundled("flows")
    locales_dir = Path(raw["locales"]) if raw["locales"] else bundled("locales")
    for setting, folder in (("PARLEY_FLOWS", flows_dir), ("PARLEY_LOCALES", locales_dir)):
        if not folder.is_dir():
            raise ConfigError(f"{setting}: the folder {folder} does not exist")
    return Settings(
        database=Path(raw["database"]).expanduser(),
        flows_dir=flows_dir,
        locales_dir=locales_dir,
        languages=languages,
        name=raw["name"].strip() or "Parley",
        timezone=timezone,
        start_flow=raw["start_flow"],
        menu_flow=raw["menu_flow"],
        language_flow=raw["language_flow"],
    )
