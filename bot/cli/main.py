"""The ``parley`` command.

Its commands are imported only when one is run (or its own help asked for): ``parley
--help`` lists them all, each with its one-line help, from :data:`COMMANDS`, without
importing the channels' SDKs, the web service or the desk that some of them need.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.cli.common import Parley, TextFile, check_languages, run_async, settings_of

if TYPE_CHECKING:
    from bot.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

# Each command of ``parley`` defined elsewhere: where it is (``module:name``) and its
# help's first sentence, which is all ``parley --help`` shows of it (tests/test_cli_lazy.py
# checks both against the command itself).
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": (
        "bot.cli.staff:audit",
        "Every staff action, newest first: who, when, from which front, what.",
    ),
    "backup": (
        "bot.cli.backup:backup",
        "Copy the database to FILE, whole and consistent, while Parley keeps running.",
    ),
    "broadcast": (
        "bot.cli.broadcasts:broadcast",
        "Send a message, a survey flow or a poll to an audience: shows who gets it and what"
        " it costs, asks, then writes it to the outbox (a running `parley run` sends it; one"
        " set for later is sent by `parley run` when its time comes).",
    ),
    "broadcasts": (
        "bot.cli.listings:broadcasts_command",
        "The broadcasts, newest first: what, state, how far sending has got, and to whom.",
    ),
    "cancel": (
        "bot.cli.broadcasts:cancel",
        "Cancel a broadcast: what is not yet sent never is.",
    ),
    "close": (
        "bot.cli.broadcasts:close",
        "Close a poll now (its result goes to voters if it says so).",
    ),
    "contacts": (
        "bot.cli.contacts:contacts",
        "Residents: import them from a CSV file, list, show, set their fields.",
    ),
    "db": (
        "bot.cli.db:db",
        "The database Parley runs on (PARLEY_DATABASE): its schema, and moving it.",
    ),
    "decision": (
        "bot.cli.decisions:decision",
        "Decisions sent back to everyone who took part: record, update, reach.",
    ),
    "export": (
        "bot.cli.exports:export",
        "Export responses, votes, ideas, decisions, contacts or messages.",
    ),
    "exports": (
        "bot.cli.exports:exports_log",
        "The record of exports: what, how many rows, by whom, and which carried addresses.",
    ),
    "flows": ("bot.cli.flows:flows", "Flow files."),
    "ideas": (
        "bot.cli.ideas:ideas",
        "Moderate residents' ideas: list, approve, reject, merge, shortlist into a poll.",
    ),
    "panel": (
        "bot.cli.panels:panel",
        "Resident panels chosen by lot: invite, select, notify, vote.",
    ),
    "pause": (
        "bot.cli.broadcasts:pause",
        "Pause a broadcast: nothing more of it is sent until resumed.",
    ),
    "pb": (
        "bot.cli.pb:pb",
        "Participatory budgeting: rounds, bids, ballots and the count.",
    ),
    "poll": (
        "bot.cli.broadcasts:poll",
        "Make a poll (send it with `parley broadcast --poll N`).",
    ),
    "polls": (
        "bot.cli.listings:polls_command",
        "The polls, newest first: state, closing time, residents asked and voters.",
    ),
    "results": (
        "bot.cli.results:results",
        "Results of a poll (by number) or a survey (by flow id): counts, percentages and a"
        " breakdown; live while a poll is open.",
    ),
    "resume": ("bot.cli.broadcasts:resume", "Resume a paused broadcast."),
    "retention": (
        "bot.cli.retention:retention",
        "How long residents' data is kept (the retention_* settings) and what the next daily"
        " run, at 03:00, will erase.",
    ),
    "staff": (
        "bot.cli.staff:staff",
        "Staff web accounts: who may sign in at /admin, as organiser or worker.",
    ),
}


def no_provider() -> str:
    """What ``parley run`` says when no provider is configured and nobody is at a terminal."""
    from bot.settings import SETTINGS

    def names(*settings: str) -> str:
        return ", ".join(SETTINGS[name].env_name(name) for name in settings)

    return (
        "no provider is configured, and with no terminal there is no simulator to start."
        f" For SMS set {names('twilio_account_sid', 'twilio_auth_token', 'twilio_from')}"
        f" and {names('public_url')}; for Telegram set {names('telegram_bot_token')}"
        f" (with {names('public_url', 'telegram_secret')}, or {names('telegram_mode')}=polling);"
        " in the environment or in parley.toml (lowercase, like twilio_from)."
        " To try Parley without them: parley chat"
    )


SIMULATED_ADDRESSES = {"sms": "+447700900123", "telegram": "1000001"}


@click.group(cls=Parley, lazy=COMMANDS)
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
    from bot.cli.chat import chat, chat_log, logs_aside

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
            raise click.ClickException(no_provider())
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
