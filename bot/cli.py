"""The ``parley`` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.chat import chat
from bot.errors import FlowError, ParleyError
from bot.flowfile import load_flows
from bot.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

SIMULATED_ADDRESSES = {"sms": "+447700900123", "telegram": "1000001"}


def _settings(ctx: click.Context) -> Settings:
    config: Path | None = ctx.obj.get("config") if ctx.obj else None
    try:
        return load_settings(config_file=config)
    except ParleyError as error:
        raise click.ClickException(str(error)) from None


def _run(coroutine: Any) -> None:
    try:
        asyncio.run(coroutine)
    except ParleyError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("", err=True)


@click.group()
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file (default: ./parley.toml if present, or $PARLEY_CONFIG).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what Parley does (never message text).")
@click.version_option(package_name="parley")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: bool) -> None:
    """Parley: surveys, ideas and polls by text message, in residents' own languages."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _chat_options(function: F) -> F:
    function = click.option(
        "--lang", "language", metavar="CODE", help="The resident's language, like pl or ar."
    )(function)
    function = click.option(
        "--from", "address", metavar="ADDRESS", help="The resident's phone number or chat id."
    )(function)
    function = click.option(
        "--channel",
        type=click.Choice(["sms", "telegram"]),
        default="sms",
        show_default=True,
        help="Which channel to simulate.",
    )(function)
    return function


def _chat(ctx: click.Context, channel: str, address: str | None, language: str | None) -> None:
    settings = _settings(ctx)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(
            f"Parley simulator ({channel}), database {settings.database}.\n"
            "Type as a resident would; send HELP, LANGUAGE or STOP any time. Ctrl-D to quit.",
            err=True,
        )
    address = address or SIMULATED_ADDRESSES[channel]
    _run(chat(settings, channel, address, language, sys.stdin, sys.stdout, interactive))


@main.command()
@_chat_options
@click.pass_context
def run(ctx: click.Context, channel: str, address: str | None, language: str | None) -> None:
    """Run Parley: the web service for Twilio and Telegram when they are configured;
    with no provider configured, chat with it here in the simulator."""
    settings = _settings(ctx)
    if not settings.has_provider:
        _chat(ctx, channel, address, language)
        return
    from bot.server import serve

    providers = [
        name for name, on in (("Twilio", settings.twilio), ("Telegram", settings.telegram)) if on
    ]
    mode = f", Telegram by {settings.telegram.mode}" if settings.telegram else ""
    click.echo(
        f"Parley: {' and '.join(providers)}{mode}; listening on"
        f" {settings.host}:{settings.port}, database {settings.database}. Ctrl-C stops.",
        err=True,
    )
    _run(serve(settings))


@main.command(name="chat")
@_chat_options
@click.pass_context
def chat_command(
    ctx: click.Context, channel: str, address: str | None, language: str | None
) -> None:
    """Talk to the bot as a resident. Reads one reply per line when stdin is not a terminal."""
    _chat(ctx, channel, address, language)


@main.group()
def flows() -> None:
    """Flow files."""


@flows.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def check(ctx: click.Context, folder: Path | None) -> None:
    """Check every flow file; print each problem as file:line, exit 1 if any."""
    folder = folder or _settings(ctx).flows_dir
    if not folder.is_dir():
        raise click.ClickException(f"{folder} is not a folder")
    try:
        loaded = load_flows(folder)
    except FlowError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        count = len(error.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found.", err=True)
        sys.exit(1)
    click.echo(f"{len(loaded)} flows OK: {', '.join(sorted(loaded))}")


@main.command()
@click.option("--flow", "flow_id", help="Only this flow's answers.")
@click.option("--limit", default=50, show_default=True, help="How many of the latest answers.")
@click.pass_context
def answers(ctx: click.Context, flow_id: str | None, limit: int) -> None:
    """Show the latest recorded answers (residents appear by contact number, never address)."""
    settings = _settings(ctx)
    _run(_print_answers(settings, flow_id, limit))


async def _print_answers(settings: Settings, flow_id: str | None, limit: int) -> None:
    from bot.store import Database

    database = await Database.open(settings.database)
    try:
        async with database.transaction() as tx:
            query = (
                "SELECT answered_at, contact_id, flow_id, step_id, value, language, channel"
                " FROM answers"
                + (" WHERE flow_id = ?" if flow_id else "")
                + " ORDER BY id DESC LIMIT ?"
            )
            params: tuple[Any, ...] = (flow_id, limit) if flow_id else (limit,)
            async with tx.execute(query, params) as cursor:
                rows = list(await cursor.fetchall())
    finally:
        await database.close()
    if not rows:
        click.echo("No answers yet.")
        return
    for row in reversed(rows):
        value = json.loads(row["value"])
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(
            f"{row['answered_at'][:19]}  contact {row['contact_id']:<4} {row['channel']:<8}"
            f" {row['language']:<3} {row['flow_id']}.{row['step_id']} = {shown}"
        )


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got '{value}'", param_hint=option)
        pairs[name.strip()] = text.strip()
    return pairs


@main.command()
@click.option(
    "--text",
    "texts",
    multiple=True,
    metavar="LANG=TEXT",
    help="The message in a language; the default language is required.",
)
@click.option(
    "--file",
    "text_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A YAML file of language: text.",
)
@click.option(
    "--lang",
    "languages",
    multiple=True,
    metavar="CODE",
    help="Only residents with this language (repeatable).",
)
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(["sms", "whatsapp", "telegram"]),
    help="Only this channel (repeatable).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="Only residents whose field has this value, like ward=North.",
)
@click.option("--took-part", metavar="FLOW", help="Only residents who answered this flow.")
@click.option(
    "--not-took-part", metavar="FLOW", help="Only residents who did not answer this flow."
)
@click.option(
    "--sample", type=click.IntRange(min=1), help="A random sample of this many residents."
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="The sample's seed: the same seed picks the same residents.",
)
@click.option("--yes", is_flag=True, help="Send without asking for confirmation.")
@click.pass_context
def broadcast(
    ctx: click.Context,
    texts: tuple[str, ...],
    text_file: Path | None,
    languages: tuple[str, ...],
    channels: tuple[str, ...],
    fields: tuple[str, ...],
    took_part: str | None,
    not_took_part: str | None,
    sample: int | None,
    seed: int,
    yes: bool,
) -> None:
    """Send a message to an audience: shows who gets it and what it costs, asks, then
    writes it to the outbox (a running `parley run` sends it)."""
    from bot.audience import Audience

    settings = _settings(ctx)
    messages = _pairs(texts, "--text")
    if text_file is not None:
        import yaml

        loaded = yaml.safe_load(text_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise click.ClickException(f"{text_file}: expected lines like  en: the message")
        messages = {str(k): v.strip() for k, v in loaded.items()} | messages
    if settings.default_language not in messages:
        raise click.ClickException(
            f"give the message in {settings.default_language} (the default language),"
            f" like --text '{settings.default_language}=...'"
        )
    audience = Audience(
        languages=languages,
        channels=channels,
        fields=_pairs(fields, "--field"),
        took_part_in=took_part,
        not_took_part_in=not_took_part,
        sample=sample,
        seed=seed,
    )
    _run(_broadcast(settings, messages, audience, yes))


async def _broadcast(settings: Settings, texts: dict[str, str], audience: Any, yes: bool) -> None:
    from bot import broadcast as broadcasts
    from bot.service import utc_now
    from bot.store import Database

    database = await Database.open(settings.database)
    try:
        recipients, preview = await broadcasts.choose(database, audience, texts, settings)
        for line in preview.lines():
            click.echo(line)
        if not recipients:
            click.echo("Nobody to send to.")
            return
        if settings.is_quiet(utc_now()):
            click.echo("It is quiet hours now: SMS and WhatsApp wait until they end.")
        if not yes and not click.confirm("Send it?", default=False):
            click.echo("Not sent.")
            return
        with click.progressbar(
            length=len(recipients), label="Writing to the outbox", file=sys.stderr
        ) as bar:
            broadcast_id = await broadcasts.send(
                database, recipients, texts, audience, settings, utc_now(), bar.update
            )
        click.echo(
            f"Broadcast {broadcast_id}: {len(recipients)} messages queued."
            " A running `parley run` sends them."
        )
    finally:
        await database.close()
