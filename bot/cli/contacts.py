"""``parley contacts``: residents imported from a CSV file (with the consent each gave),
listed by filters, shown one at a time, their fields set by hand.

Residents are shown by contact number and by the pseudonymous id exports name them by
(``R-…``), never by phone number or chat id unless an organiser asks (``--addresses``),
which the audit log records. Every import is in the audit log too. The group is
:data:`contacts`; ``report`` and ``forget`` join it from :mod:`bot.cli.residents`.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.cli.common import check_languages, name_values, progress, settings_of
from bot.cli.office import Office, at_office, echo
from bot.cli.residents import RESIDENT_COMMANDS
from bot.desk import Desk, Invalid, rehearse
from bot.desk import contacts as desk_contacts
from bot.desk.contacts import CHANNELS, Checked, ContactFilter, ContactRow, Imported
from bot.english import counted, local_time, table
from bot.settings import Settings

_LINE = re.compile(r"^line (\d+): ")
EVENTS = {
    "consent": "agreed to messages",
    "declined": "said no to questions",
    "opt_out": "opted out",
    "opt_in": "opted in again",
}


@click.group()
def contacts() -> None:
    """Residents: import them from a CSV file, list, show, set their fields."""


# -- import -----------------------------------------------------------------------------------


def _text_of(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise click.ClickException(
            f"{path}: not UTF-8 text (byte {error.start}): save it from your spreadsheet as"
            " “CSV UTF-8”"
        ) from None


def _many(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


@contextmanager
def no_collector() -> Iterator[None]:
    """Without Python's cycle collector while a big file goes in: its rows are a million
    objects that live to the end, which the collector would walk again and again (a
    second in seven, for 100,000 rows), and that make no cycles to collect."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def checked_file(path: Path, settings: Settings) -> Checked:
    """The file read and every row checked, with a progress bar for a big one; a file
    that cannot be read as contacts is one ``FILE:LINE: what`` error."""
    from bot.service import utc_now

    text = _text_of(path)
    lines = text.count("\n")
    try:
        with progress(lines, "Checking") as bar:
            checked = desk_contacts.read_file(text, settings, utc_now(), bar.update)
            bar.update(lines)  # the last few hundred (a bar stops at its end)
            return checked
    except Invalid as problem:
        at_line = _LINE.match(problem.problem)  # "line 1: no 'address' column"
        if at_line is None:
            raise click.ClickException(f"{path}: {problem.problem}") from None
        said = problem.problem[at_line.end() :]
        raise click.ClickException(f"{path}:{at_line.group(1)}: {said}") from None


async def imported(
    office: Office, checked: Checked, skip_bad: bool, dry_run: bool = False
) -> Imported:
    """Import the checked rows in one transaction, with a progress bar of the rows
    written; or, for a dry run, what it would do (done, then undone)."""

    with progress(len(checked.rows), "Importing") as bar:

        def once(desk: Desk) -> Imported:
            return desk_contacts.import_checked(desk, checked, skip_bad, bar.update)

        return await office.at_desk(lambda desk: rehearse(desk, once) if dry_run else once(desk))


def _summary(done: Imported, dry_run: bool) -> list[str]:
    total = done.added + done.updated + done.unchanged
    lines = [
        f"{_many(total, 'contact')} {'would be imported' if dry_run else 'imported'}:"
        f" {done.added:,} added, {done.updated:,} updated, {done.unchanged:,} unchanged."
    ]
    if done.stayed_opted_out:
        one = done.stayed_opted_out == 1
        stay = "would stay" if dry_run else "stays" if one else "stay"
        lines.append(
            f"{done.stayed_opted_out:,} who had opted out {stay} opted out:"
            " no consent is recorded for them."
        )
    return lines


@contacts.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Import the good rows, skipping those refused.")
@click.option("--dry-run", is_flag=True, help="Say what would happen, and change nothing.")
@click.pass_context
def import_contacts(ctx: click.Context, file: Path, skip_bad: bool, dry_run: bool) -> None:
    """Import contacts from a CSV file (with the consent each gave).

    Its columns: address (a mobile number, or a Telegram chat id), channel (sms,
    whatsapp or telegram; sms if left out), language, consent_at and consent_how (when
    and how they agreed to messages); any other column is a field, like ward. Every bad
    row is named (FILE:LINE: why), and then nothing is imported, unless --skip-bad.
    Someone who opted out stays opted out, whatever the file says."""
    settings = settings_of(ctx)
    with no_collector():
        checked = checked_file(file, settings)
    for line, why in checked.refused:
        click.echo(f"{file}:{line}: {why}", err=True)
    bad = len(checked.refused)
    them = "it" if bad == 1 else "them"
    if bad and not skip_bad and not dry_run:  # the database is not even opened
        raise click.ClickException(
            f"nothing imported: {_many(bad, 'row')} refused (listed above). Put {them} right"
            f" or take {them} out, or give --skip-bad to import the rest"
        )
    if not checked.rows:
        raise click.ClickException(f"{file}: no contacts to import")

    async def work(office: Office) -> None:
        with no_collector():
            done = await imported(office, checked, skip_bad or dry_run, dry_run)
        lines = _summary(done, dry_run)
        if dry_run:
            lines.insert(0, f"Dry run of {file}: nothing was changed.")
        if bad and skip_bad:
            lines.append(f"{_many(bad, 'row')} refused (listed above): skipped.")
        elif bad:
            lines.append(
                f"{_many(bad, 'row')} refused (listed above): as the file is, nothing would be"
                " imported; with --skip-bad, the rest would be."
            )
        echo(lines)

    at_office(ctx, work)
    if bad and not skip_bad:
        ctx.exit(1)


# -- list, show, set --------------------------------------------------------------------------


def _fields(row: ContactRow) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(row.fields.items()))


def _state(row: ContactRow) -> str:
    if row.forgotten:
        return "erased"
    if row.opted_out:
        return "opted out"
    if row.unreachable:
        return "unreachable"
    if row.consent_at is None:
        return "no consent"
    return "reachable"


@contacts.command(name="list")
@click.option("--language", metavar="CODE", help="Only residents in this language.")
@click.option("--channel", type=click.Choice(CHANNELS), help="Only on this channel.")
@click.option(
    "--field", "fields", multiple=True, metavar="NAME=VALUE",
    help="Only those with this field value (repeat for several: all must hold).",
)  # fmt: skip
@click.option(
    "--opted-out/--not-opted-out", "opted_out", default=None,
    help="Only those who opted out, or only those who did not.",
)  # fmt: skip
@click.option(
    "--took-part", "took_part", metavar="FLOW_ID|poll:N",
    help="Only those who answered this survey, or voted in poll N (poll:3).",
)  # fmt: skip
@click.option(
    "--addresses", is_flag=True,
    help="Show phone numbers and chat ids too (organisers). Logged in the audit log.",
)  # fmt: skip
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many."
)
@click.option(
    "--older", type=click.IntRange(min=1), metavar="CONTACT",
    help="The next page: contacts older than this contact number.",
)  # fmt: skip
@click.pass_context
def list_contacts(
    ctx: click.Context,
    language: str | None,
    channel: str | None,
    fields: tuple[str, ...],
    opted_out: bool | None,
    took_part: str | None,
    addresses: bool,
    limit: int,
    older: int | None,
) -> None:
    """List contacts, newest first, chosen by filters.

    Each is shown by contact number and by the pseudonymous id exports name them by,
    with channel, language, state and fields; phone numbers only with --addresses."""

    async def work(office: Office) -> None:
        if language is not None:
            check_languages(office.settings, [language], "--language")
        chosen = ContactFilter(
            language=language,
            channel=channel,
            fields=name_values(fields, "--field"),
            opted_out=opted_out,
            took_part=took_part,
        )

        def look(desk: Desk) -> desk_contacts.ContactPage:
            return desk_contacts.search(desk, chosen, older, None, limit, addresses, named=True)

        page = await office.at_desk(look)
        if not page.rows:
            click.echo(
                "No contacts yet. Import some with: parley contacts import FILE.csv"
                if chosen.empty and older is None
                else "No contacts match."
            )
            return
        where = ("address",) if addresses else ()
        header = ("Contact", "resident", "channel", *where, "language", "state", "fields")
        rows = [
            (
                str(row.id),
                row.resident or "",
                row.channel,
                *((row.address or "",) if addresses else ()),
                row.language or "-",
                _state(row),
                _fields(row),
            )
            for row in page.rows
        ]
        echo(table(header, rows))
        if page.older is not None:
            click.echo(f"More: the same with --older {page.older}", err=True)

    at_office(ctx, work)


def _show_lines(view: desk_contacts.ContactView, office: Office) -> list[str]:
    zone = office.settings.timezone
    row = view.contact
    state = {
        "erased": "erased: nothing is kept about them but anonymous counts",
        "opted out": "opted out: nothing is sent to them",
        "unreachable": "unreachable: they blocked the bot; nothing is sent until they write",
        "no consent": "no consent on record: no broadcast reaches them",
        "reachable": "can be reached",
    }[_state(row)]
    lines = [f"Contact {row.id} ({row.resident})"]
    if row.address is not None:
        kind = "chat id" if row.channel == "telegram" else "phone number"
        lines.append(f"  {kind}: {row.address}")
    lines += [
        f"  channel: {row.channel}",
        f"  language: {row.language or 'not chosen'}",
        f"  state: {state}",
        f"  fields: {_fields(row) or 'none'}",
        f"  joined: {local_time(row.created_at, zone)}, last heard from:"
        f" {local_time(row.last_seen_at, zone)}",
        f"  took part: {counted(view.answers, 'answer')}, {counted(view.votes, 'vote')},"
        f" {counted(view.ideas, 'idea')}",
    ]
    if not view.consents:
        lines.append("Consent record: nothing recorded.")
        return lines
    lines.append("Consent record:")
    lines += [
        "  " + line
        for line in table(
            ("when", "what", "how", "recorded by"),
            [
                (
                    local_time(event.at, zone),
                    EVENTS.get(event.event, event.event),
                    event.how,
                    event.recorded_by,
                )
                for event in view.consents
            ],
        )
    ]
    return lines


@contacts.command(name="show")
@click.argument("contact_id", metavar="ID", type=click.IntRange(min=1))
@click.option(
    "--address", "address", is_flag=True,
    help="Show their phone number or chat id too. Logged in the audit log.",
)  # fmt: skip
@click.pass_context
def show_contact(ctx: click.Context, contact_id: int, address: bool) -> None:
    """Show one contact, with their consent record.

    Their channel, language, state and fields, how often they took part, and every
    consent, opt-out and opt-in on record."""

    async def work(office: Office) -> None:
        view = await office.at_desk(
            lambda desk: desk_contacts.show(desk, contact_id, address, named=True)
        )
        echo(_show_lines(view, office))

    at_office(ctx, work)


@contacts.command(name="set")
@click.argument("contact_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("changes", metavar="NAME=VALUE...", nargs=-1, required=True)
@click.pass_context
def set_contact(ctx: click.Context, contact_id: int, changes: tuple[str, ...]) -> None:
    """Set a contact's fields, or their language.

    NAME=VALUE sets a field (ward=North), NAME= with nothing removes it, language=CODE
    sets their language. Consent is not a field: it comes from the resident or an
    import."""
    given = name_values(changes, "NAME=VALUE")

    async def work(office: Office) -> None:
        row = await office.at_desk(lambda desk: desk_contacts.set_fields(desk, contact_id, given))
        click.echo(
            f"Contact {row.id}: language {row.language or 'not chosen'};"
            f" fields {_fields(row) or 'none'}."
        )

    at_office(ctx, work)


for command in RESIDENT_COMMANDS:  # parley contacts report, forget: one resident's data
    contacts.add_command(command)
