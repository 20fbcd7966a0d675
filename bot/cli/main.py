"""The ``parley`` command."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.backup import backup
from bot.cli.broadcasts import STAFF_COMMANDS
from bot.cli.chat import chat, chat_log, logs_aside
from bot.cli.common import Parley, TextFile, check_languages, run_async, settings_of
from bot.cli.contacts import contacts
from bot.cli.db import db
from bot.cli.decisions import decision
from bot.cli.exports import EXPORT_COMMANDS
from bot.cli.flows import flows
from bot.cli.ideas import ideas
from bot.cli.listings import LISTING_COMMANDS
from bot.cli.panels import panel
from bot.cli.pb import pb
from bot.cli.residents import RESIDENT_COMMANDS
from bot.cli.results import results
from bot.cli.retention import retention
from bot.cli.rounds import ROUND_COMMANDS
from bot.cli.staff import audit, staff
from bot.settings import SETTINGS, Settings

F = TypeVar("F", bound=Callable[..., Any])


def _names(*settings: str) -> str:
    return ", ".join(SETTINGS[name].env_name(name) for name in settings)


NO_PROVIDER = (
    "no provider is configured, and with no terminal there is no simulator to start."
    f" For SMS set {_names('twilio_account_sid', 'twilio_auth_token', 'twilio_from')}"
    f" and {_names('public_url')}; for Telegram set {_names('telegram_bot_token')}"
    f" (with {_names('public_url', 'telegram_secret')}, or {_names('telegram_mode')}=polling);"
    " in the environment or in parley.toml (lowercase, like twilio_from)."
    " To try Parley without them: parley chat"
)

SIMULATED_ADDRESSES = {"sms": "+447700900123", "telegram": "1000001"}


@click.group(cls=Parley)
@click.option(
    "--config",
    type=TextFile(),
    help="Settings file (default: ./parley.toml if present, or $PARLEY_CONFIG).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what Parley does (never message text).")
@click.version_option(package_name="parley")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: bool) -> None:
    """Parley: surveys, ideas and polls by text message, in residents' own languages."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["verbose"] = verbose
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


def _chat(
    ctx: click.Context,
    channel: str,
    address: str | None,
    language: str | None,
    web: bool = False,
) -> None:
    settings = settings_of(ctx)
    if language is not None:
        check_languages(settings, [language], "--lang")
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(
            f"Parley simulator ({channel}), database {settings.database}.\n"
            "Type as a resident would; send HELP, LANGUAGE or STOP any time. Ctrl-D to quit.\n"
            f"Log lines go to {chat_log(settings.database)} (-v: here).",
            err=True,
        )
    address = address or SIMULATED_ADDRESSES[channel]
    with logs_aside(settings.database, bool(ctx.obj.get("verbose"))):
        run_async(
            chat(settings, channel, address, language, sys.stdin, sys.stdout, interactive, web)
        )


@main.command()
@_chat_options
@click.pass_context
def run(ctx: click.Context, channel: str, address: str | None, language: str | None) -> None:
    """Run Parley: the web service for Twilio and Telegram, and the staff web at /admin/,
    when a provider is configured; with none, chat with it here in the simulator, the
    staff web beside it (at a terminal; without one, it says which settings to set and
    exits 1)."""
    settings = settings_of(ctx)
    if language is not None:
        check_languages(settings, [language], "--lang")
    if not settings.has_provider:
        if not sys.stdin.isatty():  # a service or a container: nobody to chat with
            raise click.ClickException(NO_PROVIDER)
        _chat(ctx, channel, address, language, web=True)
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
    run_async(serve(settings))


@main.command(name="chat")
@_chat_options
@click.pass_context
def chat_command(
    ctx: click.Context, channel: str, address: str | None, language: str | None
) -> None:
    """Talk to the bot as a resident. Reads one reply per line when stdin is not a terminal."""
    _chat(ctx, channel, address, language)


@main.command()
@click.option("--flow", "flow_id", help="Only this flow's answers.")
@click.option("--limit", default=50, show_default=True, help="How many of the latest answers.")
@click.pass_context
def answers(ctx: click.Context, flow_id: str | None, limit: int) -> None:
    """Show the latest recorded answers (residents appear by contact number, never address)."""
    settings = settings_of(ctx)
    run_async(_print_answers(settings, flow_id, limit))


async def _print_answers(settings: Settings, flow_id: str | None, limit: int) -> None:
    from bot.store import Database

    database = await Database.open(settings.database)
    try:
        query = (
            "SELECT answered_at, contact_id, flow_id, step_id, value, language, channel"
            " FROM answers"
            + (" WHERE flow_id = ?" if flow_id else "")
            + " ORDER BY id DESC LIMIT ?"
        )
        params: tuple[Any, ...] = (flow_id, limit) if flow_id else (limit,)
        rows = await database.run(lambda tx: tx.execute(query, params).fetchall())
    finally:
        await database.close()
    if not rows and flow_id is not None:
        _check_flow(settings, flow_id)
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


def _check_flow(settings: Settings, flow_id: str) -> None:
    """A flow with no answers yet is fine; a flow that does not exist is a mistake."""
    from bot.content import load_content
    from bot.store.polls import poll_id_of

    flows_found, _ = load_content(settings)
    if flow_id not in flows_found and poll_id_of(flow_id) is None:
        raise click.BadParameter(
            f"there is no flow '{flow_id}'; flows: {', '.join(sorted(flows_found))}"
            " (a poll's flow is poll-N)",
            param_hint="--flow",
        )


main.add_command(flows)
for command in ROUND_COMMANDS:
    pb.add_command(command)
for command in RESIDENT_COMMANDS:
    contacts.add_command(command)

for command in [
    *STAFF_COMMANDS,
    results,
    *LISTING_COMMANDS,
    ideas,
    panel,
    decision,
    pb,
    *EXPORT_COMMANDS,
    contacts,
    staff,
    audit,
    retention,
    backup,
    db,
]:
    main.add_command(command)
