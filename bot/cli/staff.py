"""``parley staff``: the staff web's accounts (add, list, password, remove, role), and
``parley audit``: every staff action from any front."""

from __future__ import annotations

import asyncio
import sys

import click

from bot.cli.exports import moment
from bot.cli.office import Office, at_office, echo
from bot.desk import Desk
from bot.desk import accounts as desk_accounts
from bot.desk import audit as desk_audit
from bot.desk.accounts import Password
from bot.english import local_time, table

_ROLE = click.Choice(["organiser", "worker"])


def _password(field: str = "password") -> str:
    """A new password: asked twice at a terminal, else the first line of standard input
    (for scripts: ``echo "$PASSWORD" | parley staff add amina --role worker``)."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line.strip():
        raise click.UsageError("give the password on standard input (one line)")
    return line.rstrip("\r\n")


async def _hashed(text: str) -> Password:
    return await asyncio.to_thread(desk_accounts.password, text)


@click.group()
def staff() -> None:
    """Staff web accounts: who may sign in at /admin, as organiser or worker."""


@staff.command()
@click.argument("name")
@click.option("--role", type=_ROLE, required=True, help="organiser: everything; worker: less.")
@click.pass_context
def add(ctx: click.Context, name: str, role: str) -> None:
    """Add an account; its password comes from a prompt (or standard input)."""
    text = _password()

    async def work(office: Office) -> None:
        secret = await _hashed(text)
        made = await office.at_desk(lambda desk: desk_accounts.add(desk, name, role, secret))
        click.echo(
            f"Staff account '{made.name}' ({made.role.value}) added. They sign in at /admin."
        )

    at_office(ctx, work)


@staff.command(name="list")
@click.pass_context
def listing(ctx: click.Context) -> None:
    """The accounts, with their role and when their password was set."""

    async def work(office: Office) -> None:
        found = await office.at_desk(desk_accounts.listing)
        if not found:
            click.echo(
                "No staff accounts yet. Add one with: parley staff add NAME --role organiser"
            )
            return
        zone = office.settings.timezone
        rows = [
            (
                one.name,
                one.role.value,
                local_time(one.created_at, zone),
                local_time(one.password_at, zone),
            )
            for one in found
        ]
        echo(table(("Name", "role", "added", "password set"), rows))

    at_office(ctx, work)


@staff.command()
@click.argument("name")
@click.pass_context
def password(ctx: click.Context, name: str) -> None:
    """Set an account's password (from a prompt, or standard input); it is signed out."""
    text = _password()

    async def work(office: Office) -> None:
        secret = await _hashed(text)
        await office.at_desk(lambda desk: desk_accounts.set_password(desk, name, secret))
        click.echo(f"Password of '{name}' set; every session of it has ended.")

    at_office(ctx, work)


@staff.command()
@click.argument("name")
@click.option("--role", type=_ROLE, required=True)
@click.pass_context
def role(ctx: click.Context, name: str, role: str) -> None:
    """Make an account an organiser or a worker."""

    async def work(office: Office) -> None:
        changed = await office.at_desk(lambda desk: desk_accounts.set_role(desk, name, role))
        click.echo(f"'{changed.name}' is now a {changed.role.value}.")

    at_office(ctx, work)


@staff.command()
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove an account; it is signed out, and what it did stays in the audit log."""

    async def work(office: Office) -> None:
        gone = await office.at_desk(lambda desk: desk_accounts.remove(desk, name))
        click.echo(f"Staff account '{gone.name}' removed.")

    at_office(ctx, work)


@click.command(name="audit")
@click.option(
    "--actor", help="Only what this staff member did (an account, a shell user, contact N)."
)
@click.option(
    "--front", type=click.Choice(["phone", "cli", "web", "system"]), help="Only from this front."
)
@click.option("--action", help="Only this action (poll.close), or a family of them (poll).")
@click.option("--since", metavar="DATE", help="From this date or time (local).")
@click.option("--until", metavar="DATE", help="Up to this date (included) or time (local).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def audit(
    ctx: click.Context,
    actor: str | None,
    front: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> None:
    """Every staff action, newest first: who, when, from which front, what."""

    async def work(office: Office) -> None:
        settings = office.settings
        chosen = desk_audit.AuditFilter(
            actor,
            front,
            action,
            moment(since, settings, "--since"),
            moment(until, settings, "--until", end=True),
        )

        def look(desk: Desk) -> desk_audit.AuditPage:
            return desk_audit.search(desk, chosen, None, limit)

        page = await office.at_desk(look)
        if not page.entries:
            click.echo(
                "Nothing in the audit log yet."
                if chosen == desk_audit.AuditFilter()
                else "Nothing matches."
            )
            return
        rows = [
            (
                local_time(entry.at, settings.timezone),
                entry.actor,
                entry.front,
                entry.action,
                entry.target,
            )
            for entry in page.entries
        ]
        echo(table(("When", "who", "front", "what", "of"), rows))

    at_office(ctx, work)
