"""What the ``parley`` commands share: settings from the command line, running a
coroutine with Parley's errors shown as plain messages, NAME=VALUE options."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from bot.errors import ParleyError
from bot.settings import Settings, load_settings


def settings_of(ctx: click.Context) -> Settings:
    config: Path | None = ctx.obj.get("config") if ctx.obj else None
    try:
        return load_settings(config_file=config)
    except ParleyError as error:
        raise click.ClickException(str(error)) from None


def run_async(coroutine: Any) -> None:
    try:
        asyncio.run(coroutine)
    except ParleyError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("", err=True)


def name_values(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got '{value}'", param_hint=option)
        pairs[name.strip()] = text.strip()
    return pairs
