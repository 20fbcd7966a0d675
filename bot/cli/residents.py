"""``parley contacts report`` and ``parley contacts forget``: answering a resident who
asks "what do you hold about me?" or "delete me". Both are organisers' (every shell user
is) and both are in the audit log; erasing shows what it will erase, then asks."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import OutputPath
from bot.cli.exports import whole_file
from bot.cli.office import Office, at_office, echo
from bot.cli.preview import go_ahead
from bot.desk import Desk, residents
from bot.exports import resident


@click.command(name="report")
@click.argument("contact")
@click.option("--json", "json_file", type=OutputPath(), help="The JSON file [contact-N.json].")
@click.option("--html", "html_file", type=OutputPath(), help="The page [contact-N.html].")
@click.pass_context
def report(
    ctx: click.Context, contact: str, json_file: Path | None, html_file: Path | None
) -> None:
    """Everything Parley holds about one resident (CONTACT: their contact number or phone
    number), as JSON and as a readable page, to hand over to them.

    Never send it by text: give it in person or by a secure route."""

    async def work(office: Office) -> None:
        def made(desk: Desk) -> tuple[int, dict[str, object]]:
            contact_id = residents.contact_of(desk, contact)
            return contact_id, residents.report(desk, contact_id)

        contact_id, data = await office.at_desk(made)
        written = []
        for given, suffix, text in (
            (json_file, "json", resident.as_json(data)),
            (html_file, "html", resident.as_html(data, office.settings.timezone)),
        ):
            path = given or Path(f"contact-{contact_id}.{suffix}")
            with whole_file(path) as out:  # 0600: it holds a resident's data
                out.write(text)
            written.append(str(path))
        echo(
            [
                f"Contact {contact_id}: everything Parley holds, in {written[0]} and"
                f" {written[1]} (readable only by you).",
                "Give it to the resident in person or by a secure route; never by text.",
            ]
        )

    at_office(ctx, work)


@click.command(name="forget")
@click.argument("contact")
@click.option("--yes", is_flag=True, help="Do not ask (for scripts).")
@click.pass_context
def forget(ctx: click.Context, contact: str, yes: bool) -> None:
    """Erase a resident for good (CONTACT: their contact number or phone number): their
    address, fields, messages and what they wrote. Their votes stay counted, anonymous,
    and nothing is ever sent to them again."""

    async def work(office: Office) -> None:
        def previewed(desk: Desk) -> residents.Preview:
            return residents.forget_preview(desk, residents.contact_of(desk, contact))

        preview = await office.at_desk(previewed)
        if preview.forgotten:
            echo([f"Contact {preview.contact_id} was erased already."])
            return
        echo(_preview_lines(preview))
        if not go_ahead(f"Erase contact {preview.contact_id} for good?", yes):
            return
        erased = await office.at_desk(lambda desk: residents.forget(desk, preview.contact_id))
        clean = await office.database.checkpoint()
        echo(
            [
                f"Contact {preview.contact_id} erased: {erased.inbound} messages from them and"
                f" {erased.outbound} to them, {erased.answers} answers, {erased.ideas} ideas.",
                "Backups still hold them until they expire."
                + ("" if clean else " The database file lets go of them at its next checkpoint."),
            ]
        )

    at_office(ctx, work)


def _preview_lines(preview: residents.Preview) -> list[str]:
    kept = []
    if preview.votes:
        kept.append(f"{preview.votes} votes")
    if preview.ballots:
        kept.append(f"{preview.ballots} budgeting ballots")
    if preview.panels:
        kept.append(f"{preview.panels} panel places")
    lines = [
        f"Contact {preview.contact_id} ({preview.channel}). Erasing them erases:",
        f"  their {'phone number' if preview.channel != 'telegram' else 'chat id'},"
        " language and fields",
        f"  {preview.inbound} messages from them and {preview.outbound} to them",
        f"  what they wrote in {preview.answers} answers and {preview.ideas} ideas",
    ]
    if kept:
        lines.append(f"  {', '.join(kept)} stay counted, anonymous.")
    lines.append("  They are never texted again; if the number texts later, it is a new contact.")
    return lines


RESIDENT_COMMANDS = [report, forget]
