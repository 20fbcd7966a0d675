"""Settings fail at start-up naming the setting."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.content import load_content
from bot.errors import ConfigError
from bot.settings import load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, config_file=_write(tmp_path, ""))
    assert settings.database == Path("parley.db")
    assert settings.languages == tuple(
        [
            "en",
            "pl",
            "ro",
            "pa",
            "ur",
            "pt",
            "es",
            "ar",
            "bn",
            "gu",
            "lt",
            "so",
            "uk",
            "fa",
            "ps",
            "ti",
        ]
    )
    assert settings.default_language == "en"
    assert settings.flows_dir.joinpath("welcome.yaml").is_file()


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = _write(tmp_path, '[parley]\nname = "From file"\ndatabase = "a.db"\n')
    settings = load_settings({"PARLEY_NAME": "From env"}, config_file=config)
    assert settings.name == "From env"
    assert settings.database == Path("a.db")


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"PARLEY_TIMEZONE": "Mars/Base"}, "", "PARLEY_TIMEZONE: 'Mars/Base' is not a time zone"),
        ({"PARLEY_LANGUAGES": "en,Polish"}, "", "PARLEY_LANGUAGES: 'Polish' is not a language"),
        ({"PARLEY_LANGUAGES": " , "}, "", "PARLEY_LANGUAGES: list at least one language"),
        ({"PARLEY_FLOWS": "/no/such/folder"}, "", "PARLEY_FLOWS: the folder /no/such/folder"),
        ({}, "[parley]\ndatabse = 'x.db'\n", "unknown setting 'databse' in [parley]"),
        ({}, "[parley\n", "not valid TOML"),
    ],
)
def test_bad_settings_name_the_setting(
    tmp_path: Path, env: dict[str, str], toml: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(env, config_file=_write(tmp_path, toml))


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PARLEY_CONFIG: the settings file"):
        load_settings({"PARLEY_CONFIG": str(tmp_path / "nope.toml")})


def test_unknown_flow_named_in_settings(tmp_path: Path) -> None:
    settings = load_settings({"PARLEY_MENU_FLOW": "missing"}, config_file=_write(tmp_path, ""))
    with pytest.raises(ConfigError, match="PARLEY_MENU_FLOW: there is no flow 'missing'"):
        load_content(settings)


def test_language_babel_does_not_know(tmp_path: Path) -> None:
    settings = load_settings({"PARLEY_LANGUAGES": "en,qq"}, config_file=_write(tmp_path, ""))
    with pytest.raises(ConfigError, match="PARLEY_LANGUAGES: 'qq' is not a language Babel"):
        load_content(settings)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "parley.toml"
    path.write_text(text, encoding="utf-8")
    return path


PROVIDER_ERRORS = [
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, "TWILIO_AUTH_TOKEN: needed with TWILIO_ACCOUNT_SID"),
    (
        {"TWILIO_ACCOUNT_SID": "SID", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+447700900000"},
        "TWILIO_ACCOUNT_SID: expected AC followed by 32 hex digits",
    ),
    (
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "Parley"},
        "TWILIO_FROM: expected a phone number",
    ),
    (
        {
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM": "+447700900000",
        },
        "PARLEY_PUBLIC_URL: needed with Twilio",
    ),
    ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN: expected the token"),
    (
        {"TELEGRAM_BOT_TOKEN": "1:abc", "PARLEY_TELEGRAM_MODE": "webhook"},
        "PARLEY_PUBLIC_URL: needed for Telegram webhook mode",
    ),
    (
        {"TELEGRAM_BOT_TOKEN": "1:abc", "PARLEY_PUBLIC_URL": "https://x.org"},
        "PARLEY_TELEGRAM_SECRET: needed for Telegram webhook mode",
    ),
    (
        {"TELEGRAM_BOT_TOKEN": "1:abc", "PARLEY_TELEGRAM_MODE": "push"},
        "PARLEY_TELEGRAM_MODE: 'push' is neither webhook nor polling",
    ),
    (
        {"PARLEY_PUBLIC_URL": "parley.example.org"},
        "PARLEY_PUBLIC_URL: 'parley.example.org' is not a URL",
    ),
    ({"PARLEY_TELEGRAM_RATE": "0"}, "PARLEY_TELEGRAM_RATE: 0 is out of range"),
    ({"PARLEY_SEND_CONCURRENCY": "two"}, "PARLEY_SEND_CONCURRENCY: 'two' is not a whole number"),
    ({"PARLEY_PORT": "70000"}, "PARLEY_PORT: 70000 is out of range"),
]


@pytest.mark.parametrize(("env", "message"), PROVIDER_ERRORS)
def test_bad_provider_settings_name_the_setting(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        load_settings(env, config_file=_write(tmp_path, ""))


def test_telegram_polls_without_a_public_url(tmp_path: Path) -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "1:abc"}, config_file=_write(tmp_path, ""))
    assert settings.telegram is not None
    assert settings.telegram.mode == "polling"
    assert settings.twilio is None


def test_twilio_with_a_messaging_service(tmp_path: Path) -> None:
    env = {
        "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM": "MG" + "b" * 32,
        "PARLEY_PUBLIC_URL": "https://parley.example.org/",
    }
    settings = load_settings(env, config_file=_write(tmp_path, ""))
    assert settings.twilio is not None
    assert settings.twilio.sender == "MG" + "b" * 32
    assert settings.public_url == "https://parley.example.org"  # no trailing slash


def test_staff_are_read_by_channel_and_address(tmp_path: Path) -> None:
    staff = "telegram:123456789=organiser, sms:+447700900001=worker"
    settings = load_settings({"PARLEY_STAFF": staff}, config_file=_write(tmp_path, ""))
    assert settings.staff == {
        ("telegram", "123456789"): "organiser",
        ("sms", "+447700900001"): "worker",
    }


@pytest.mark.parametrize(
    ("staff", "message"),
    [
        ("telegram:123=boss", "entry 1: the role is organiser or worker"),
        ("telegram:123=worker,telegram:alice=worker", "entry 2: a Telegram user id is a number"),
        ("sms:07700900001=worker", "entry 1: a phone number is like"),
        ("email:a@b.org=worker", "entry 1 is not CHANNEL:ADDRESS=ROLE"),
    ],
)
def test_bad_staff_entries_are_named_without_the_address(
    tmp_path: Path, staff: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"PARLEY_STAFF: {message}") as refused:
        load_settings({"PARLEY_STAFF": staff}, config_file=_write(tmp_path, ""))
    assert "07700900001" not in str(refused.value)
    assert "alice" not in str(refused.value)


def test_quiet_hours_are_read_as_a_span_of_local_hours(tmp_path: Path) -> None:
    base = {"PARLEY_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("[parley]\n", encoding="utf-8")
    assert load_settings(base).quiet_hours == (time(21, 0), time(9, 0))
    given = load_settings({**base, "PARLEY_QUIET_HOURS": "22:30-07:00"})
    assert given.quiet_hours == (time(22, 30), time(7, 0))
    assert load_settings({**base, "PARLEY_QUIET_HOURS": "off"}).quiet_hours is None
