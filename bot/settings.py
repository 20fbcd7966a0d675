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
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError
from bot.paths import bundled
from bot.store.location import Location, parse_location

DEFAULT_CONFIG_FILE = "parley.toml"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str  # also the key webhook signatures are checked with
    sender: str  # a phone number (E.164) or a Messaging Service SID (MG...)
    api_url: str | None  # another Twilio-compatible endpoint; None for Twilio itself


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    mode: str  # 'webhook' or 'polling'
    secret: str | None  # checked on every webhook call; needed in webhook mode
    api_url: str | None  # e.g. a self-hosted Bot API server; None for Telegram's own


@dataclass(frozen=True)
class DispatchSettings:
    telegram_rate: float  # messages per second, whole bot
    telegram_chat_rate: float  # messages per second to one chat
    twilio_rate: float  # SMS segments per second per sender
    concurrency: int  # calls in flight to each provider; the most a crash can resend
    attempts: int  # tries before a transiently failing message is given up
    retry_delay: float  # seconds before the first retry; doubles each time


@dataclass(frozen=True)
class Settings:
    database: Location  # a SQLite file, or a PostgreSQL server
    flows_dir: Path
    locales_dir: Path
    languages: tuple[str, ...]  # the deployment's languages, menu order; the first is default
    name: str  # what the bot calls itself in HELP
    timezone: ZoneInfo
    start_flow: str  # for a contact's first message
    menu_flow: str  # for a message when nothing is under way
    language_flow: str  # for the LANGUAGE keyword
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # where providers reach this service, no trailing slash
    twilio: TwilioSettings | None = None
    telegram: TelegramSettings | None = None
    dispatch: DispatchSettings = DispatchSettings(30.0, 1.0, 1.0, 4, 8, 2.0)
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(9, 0))  # local start, end
    sms_price: float = 0.04  # per SMS segment, for cost estimates
    currency: str = "GBP"
    staff: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (channel, address) -> role
    idea_flow: str = "idea"  # its first text question is an idea, stored as given
    panel_flow: str = "panel"  # a panel invitation's profile questions; ends as a volunteer
    panel_seat_flow: str = "panel_seat"  # a chosen volunteer takes their seat or declines
    export_secret: str | None = None  # key of pseudonymous ids; None: one kept in the database
    fonts_dir: Path | None = None  # more fonts for results charts
    region: str = "GB"  # where a phone number written without +country is from (ISO 3166)
    # How long residents' data is kept (the daily retention job); None: for ever.
    retention_messages: timedelta | None = timedelta(days=365)  # text of messages in and out
    retention_answers: timedelta | None = timedelta(days=730)  # their words in answers, ideas
    retention_contacts: timedelta | None = timedelta(days=730)  # a contact not heard from

    def is_quiet(self, now: datetime) -> bool:
        """Whether ``now`` falls in quiet hours, in the deployment's time zone."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        local = now.astimezone(self.timezone).time()
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # across midnight, like 21:00-09:00

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def has_provider(self) -> bool:
        return self.twilio is not None or self.telegram is not None


@dataclass(frozen=True)
class Setting:
    default: str
    description: str
    env: str = ""  # the environment variable; PARLEY_<NAME> unless given

    def env_name(self, name: str) -> str:
        return self.env or f"PARLEY_{name.upper()}"


# Defaults are strings, converted and checked below.
SETTINGS: dict[str, Setting] = {
    "database": Setting(
        "parley.db",
        "SQLite file, created on first run; or postgresql://user@host/dbname (password in"
        " PGPASSWORD or ~/.pgpass)",
    ),
    "flows": Setting("", "folder of flow files (default: the bundled flows)"),
    "locales": Setting("", "folder of gettext catalogs (default: the bundled catalogs)"),
    "languages": Setting(
        "en,pl,ro,pa,ur,pt,es,ar,bn,gu,lt,so,uk,fa,ps,ti", "languages offered; the first is default"
    ),
    "name": Setting("Parley", "the name residents see in HELP"),
    "timezone": Setting("Europe/London", "time zone of the deployment (IANA name)"),
    "region": Setting(
        "GB", "country residents' local phone numbers are from (two letters, like GB or PL)"
    ),
    "start_flow": Setting("welcome", "flow for a new contact's first message"),
    "menu_flow": Setting("menu", "flow for a message when no survey is under way"),
    "language_flow": Setting("language", "flow the LANGUAGE keyword opens"),
    "idea_flow": Setting("idea", "flow whose first text answer is stored as an idea"),
    "panel_flow": Setting("panel", "flow a panel invitation starts (profile questions)"),
    "panel_seat_flow": Setting("panel_seat", "flow asking a chosen volunteer to take a seat"),
    "export_secret": Setting(
        "",
        "key (16+ characters) that makes residents' ids in exports; default: one made"
        " once and kept in the database",
    ),
    "fonts": Setting("", "folder of extra fonts for results charts (e.g. for Gurmukhi)"),
    "host": Setting("127.0.0.1", "address the web service listens on"),
    "port": Setting("8080", "port the web service listens on"),
    "public_url": Setting("", "the https URL providers call (needed for Twilio and webhooks)"),
    "twilio_account_sid": Setting("", "Twilio Account SID", "TWILIO_ACCOUNT_SID"),
    "twilio_auth_token": Setting("", "Twilio Auth Token", "TWILIO_AUTH_TOKEN"),
    "twilio_from": Setting("", "Twilio number or Messaging Service SID", "TWILIO_FROM"),
    "twilio_api_url": Setting("", "another Twilio-compatible API endpoint"),
    "telegram_bot_token": Setting("", "token from @BotFather", "TELEGRAM_BOT_TOKEN"),
    "telegram_mode": Setting("", "webhook or polling (default: webhook with a public URL)"),
    "telegram_secret": Setting("", "secret token Telegram sends with each webhook call"),
    "telegram_api_url": Setting("", "another Bot API server, e.g. a self-hosted one"),
    "telegram_rate": Setting("30", "Telegram messages per second, whole bot"),
    "telegram_chat_rate": Setting("1", "Telegram messages per second to one chat"),
    "twilio_rate": Setting("1", "SMS segments per second per sending number"),
    "send_concurrency": Setting("4", "calls in flight at once to each provider"),
    "send_attempts": Setting("8", "tries before a failing message is given up"),
    "retry_delay": Setting("2", "seconds before the first retry (then doubling)"),
    "quiet_hours": Setting("21:00-09:00", "local hours when broadcast SMS wait; 'off' for none"),
    "sms_price": Setting("0.04", "price of one SMS segment, for cost estimates"),
    "currency": Setting("GBP", "currency of sms_price"),
    "retention_messages": Setting(
        "365d", "how long the text of messages in and out is kept (90d, 52w; never: for ever)"
    ),
    "retention_answers": Setting(
        "730d", "how long residents' own words in answers and ideas are kept (choices stay)"
    ),
    "retention_contacts": Setting(
        "730d", "how long a resident not heard from is kept before they are forgotten"
    ),
    "staff": Setting(
        "",
        "who may use staff commands, as CHANNEL:ADDRESS=ROLE separated by commas"
        " (telegram:123456789=organiser, sms:+447700900001=worker)",
    ),
}

ROLES = ("organiser", "worker")


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    environ = os.environ if environ is None else environ
    file_values = _read_file(config_file, environ)
    raw: dict[str, str] = {}
    for name, setting in SETTINGS.items():
        env_name = setting.env_name(name)
        if env_name in environ:
            raw[name] = environ[env_name].strip()
        elif name in file_values:
            raw[name] = str(file_values[name]).strip()
        else:
            raw[name] = setting.default
    return _convert(raw)


def _read_file(config_file: Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    # Named as given: the --config option (config_file), else $PARLEY_CONFIG.
    source = "--config" if config_file is not None else "PARLEY_CONFIG"
    explicit = config_file is not None or "PARLEY_CONFIG" in environ
    path = config_file or Path(environ.get("PARLEY_CONFIG", DEFAULT_CONFIG_FILE))
    if not path.exists():
        if explicit:
            raise ConfigError(f"{source}: the settings file {path} does not exist")
        return {}
    if not path.is_file():
        raise ConfigError(f"{source}: {path} is a folder, not a settings file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:  # arrays or tables nested thousands deep
        raise ConfigError(f"{path}: not valid TOML: nested too deep") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ConfigError(f"{source}: {path} cannot be read: {error.strerror}") from None
    table = data.get("parley", {})
    unknown = sorted(set(table) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting '{unknown[0]}' in [parley]")
    return dict(table)


def _env(name: str) -> str:
    return SETTINGS[name].env_name(name)


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
    public_url = _url(raw, "public_url")
    return Settings(
        database=parse_location(raw["database"]),
        flows_dir=flows_dir,
        locales_dir=locales_dir,
        languages=languages,
        name=raw["name"].strip() or "Parley",
        timezone=timezone,
        region=_region(raw["region"]),
        start_flow=raw["start_flow"],
        menu_flow=raw["menu_flow"],
        language_flow=raw["language_flow"],
        idea_flow=raw["idea_flow"],
        panel_flow=raw["panel_flow"],
        panel_seat_flow=raw["panel_seat_flow"],
        export_secret=_export_secret(raw["export_secret"]),
        fonts_dir=_folder(raw, "fonts"),
        host=raw["host"] or "127.0.0.1",
        port=int(_number(raw, "port", whole=True, high=65535)),
        public_url=public_url,
        twilio=_twilio(raw, public_url),
        telegram=_telegram(raw, public_url),
        quiet_hours=_quiet_hours(raw["quiet_hours"]),
        sms_price=_number(raw, "sms_price"),
        currency=raw["currency"] or "GBP",
        staff=_staff(raw["staff"]),
        retention_messages=_kept_for(raw, "retention_messages"),
        retention_answers=_kept_for(raw, "retention_answers"),
        retention_contacts=_kept_for(raw, "retention_contacts"),
        dispatch=DispatchSettings(
            telegram_rate=_number(raw, "telegram_rate", positive=True),
            telegram_chat_rate=_number(raw, "telegram_chat_rate", positive=True),
            twilio_rate=_number(raw, "twilio_rate", positive=True),
            concurrency=int(_number(raw, "send_concurrency", whole=True, low=1)),
            attempts=int(_number(raw, "send_attempts", whole=True, low=1)),
            retry_delay=_number(raw, "retry_delay"),
        ),
    )


_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_BOT_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _twilio(raw: dict[str, str], public_url: str | None) -> TwilioSettings | None:
    names = ("twilio_account_sid", "twilio_auth_token", "twilio_from")
    given = [name for name in names if raw[name]]
    if not given:
        return None
    for name in names:
        if not raw[name]:
            raise ConfigError(f"{_env(name)}: needed with {_env(given[0])} to use Twilio")
    if not _ACCOUNT_SID.match(raw["twilio_account_sid"]):
        raise ConfigError("TWILIO_ACCOUNT_SID: expected AC followed by 32 hex digits")
    sender = raw["twilio_from"]
    if not (_PHONE.match(sender) or _SERVICE_SID.match(sender)):
        raise ConfigError(
            "TWILIO_FROM: expected a phone number like +447700900000 or a Messaging Service SID"
        )
    if public_url is None:
        raise ConfigError(
            "PARLEY_PUBLIC_URL: needed with Twilio, to check webhook signatures and to"
            " receive delivery reports (like https://parley.example.org)"
        )
    return TwilioSettings(
        raw["twilio_account_sid"], raw["twilio_auth_token"], sender, _url(raw, "twilio_api_url")
    )


def _telegram(raw: dict[str, str], public_url: str | None) -> TelegramSettings | None:
    token = raw["telegram_bot_token"]
    if not token:
        return None
    if not _BOT_TOKEN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN: expected the token from @BotFather, like 123:AbC")
    mode = raw["telegram_mode"] or ("webhook" if public_url else "polling")
    if mode not in ("webhook", "polling"):
        raise ConfigError(f"PARLEY_TELEGRAM_MODE: '{mode}' is neither webhook nor polling")
    secret = raw["telegram_secret"] or None
    if secret is not None and not _SECRET.match(secret):
        raise ConfigError(
            "PARLEY_TELEGRAM_SECRET: use 1 to 256 letters, digits, _ or - (Telegram's rule)"
        )
    if mode == "webhook":
        if public_url is None:
            raise ConfigError(
                "PARLEY_PUBLIC_URL: needed for Telegram webhook mode"
                " (or set PARLEY_TELEGRAM_MODE=polling)"
            )
        if secret is None:
            raise ConfigError(
                "PARLEY_TELEGRAM_SECRET: needed for Telegram webhook mode, so that only"
                " Telegram can post updates"
            )
    return TelegramSettings(token, mode, secret, _url(raw, "telegram_api_url"))


_STAFF = re.compile(r"^(sms|whatsapp|telegram):([^=\s]+)=([a-z]+)$")


def _staff(text: str) -> dict[tuple[str, str], str]:
    staff: dict[tuple[str, str], str] = {}
    for number, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), start=1):
        match = _STAFF.match(entry)
        if match is None:
            raise ConfigError(
                f"PARLEY_STAFF: entry {number} is not CHANNEL:ADDRESS=ROLE, like"
                " telegram:123456789=organiser"
            )
        channel, address, role = match.groups()
        if role not in ROLES:
            raise ConfigError(f"PARLEY_STAFF: entry {number}: the role is organiser or worker")
        if channel == "telegram" and not address.lstrip("-").isdigit():
            raise ConfigError(f"PARLEY_STAFF: entry {number}: a Telegram user id is a number")
        if channel != "telegram" and not _PHONE.match(address):
            raise ConfigError(f"PARLEY_STAFF: entry {number}: a phone number is like +447700900001")
        staff[(channel, address)] = role
    return staff


def _export_secret(text: str) -> str | None:
    if not text:
        return None
    if len(text) < 16:
        raise ConfigError(
            "PARLEY_EXPORT_SECRET: use at least 16 characters, so that ids in exports"
            " cannot be traced back to phone numbers by guessing"
        )
    return text


def _folder(raw: dict[str, str], name: str) -> Path | None:
    if not raw[name]:
        return None
    folder = Path(raw[name]).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{_env(name)}: the folder {folder} does not exist")
    return folder


_HOURS = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])-([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def _region(text: str) -> str:
    region = text.strip().upper()
    if region == SETTINGS["region"].default:
        # One phonenumbers knows: importing it (a fifth of a command's start) only to be
        # told so is not worth it.
        return region
    import phonenumbers

    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"PARLEY_REGION: '{text}' is not a country code like GB or PL (two letters, ISO 3166)"
        )
    return region


def _quiet_hours(text: str) -> tuple[time, time] | None:
    if text.lower() in ("off", "none", ""):
        return None
    match = _HOURS.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(
            f"PARLEY_QUIET_HOURS: '{text}' is not a span of hours like 21:00-09:00 (or off)"
        )
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if (h1, m1) == (h2, m2):
        raise ConfigError("PARLEY_QUIET_HOURS: the start and the end are the same time")
    return time(h1, m1), time(h2, m2)


_KEPT_FOR = re.compile(r"^([0-9]+)\s*([dw])$")
LONGEST_KEPT = 36500
"""Days: the longest a retention setting can say (a hundred years); ``never`` is longer."""


def _kept_for(raw: dict[str, str], name: str) -> timedelta | None:
    """A retention setting: days (``90d``) or weeks (``52w``), or ``never``: None."""
    text = raw[name].strip().lower()
    if text == "never":
        return None
    match = _KEPT_FOR.match(text)
    if match is None:
        raise ConfigError(f"{_env(name)}: '{raw[name]}' is not a time like 365d or 52w (or never)")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if not 1 <= days <= LONGEST_KEPT:
        raise ConfigError(
            f"{_env(name)}: {raw[name]} is out of range (use 1d to {LONGEST_KEPT}d, or never)"
        )
    return timedelta(days=days)


def _url(raw: dict[str, str], name: str) -> str | None:
    value = raw[name].rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"{_env(name)}: '{value}' is not a URL like https://example.org")
    return value


def _number(
    raw: dict[str, str],
    name: str,
    *,
    whole: bool = False,
    low: float = 0.0,
    high: float | None = None,
    positive: bool = False,
) -> float:
    text = raw[name]
    try:
        value = float(int(text)) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{_env(name)}: '{text}' is not {kind}") from None
    if positive and value <= 0:
        raise ConfigError(f"{_env(name)}: {text} is out of range (use a number above 0)")
    if value < low or (high is not None and value > high):
        bound = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"{_env(name)}: {text} is out of range (use {bound})")
    return value
