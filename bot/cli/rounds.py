"""``parley pb``'s round commands: open a round, enter and translate bids, record the
panel's rulings, move the round on, see it, and export its ballots."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot.civic.budgeting import pabulib
from bot.cli.common import OutputPath, TextFile, name_values
from bot.cli.exports import whole_file
from bot.cli.office import Office, at_office, echo
from bot.desk import Desk, Refused, moments
from bot.desk import budgeting as desk_pb
from bot.desk.budgeting import BidSpec, RoundSpec, RoundView
from bot.outreach.audience import Audience
from bot.store.budgeting import STYLES


def _when(office: Office, text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    return moments.when(text, office.jobs.clock(), office.jobs.env.timezone, option)


def round_lines(view: RoundView) -> list[str]:
    """A round at the shell: its phase and budget, each bid, the ballots, the count."""
    found = view.round
    style = found.style + (f" (K={found.k})" if found.k else "")
    lines = [
        f"Round {found.id} '{found.name}': {found.phase}; budget {found.budget:,} {found.currency};"
        f" {style} ballot; decided by {found.rule}",
        f"Who votes: {Audience.from_json(found.audience).describe()}",
    ]
    for phase in ("screening", "voting", "counted"):
        at = found.at(phase)
        if at is not None:
            lines.append(f"  {phase} begins {at:%Y-%m-%d %H:%M} UTC")
    votes = view.tallies.votes
    for bid in view.bids:
        ruling = bid.status + (f" ({bid.reason})" if bid.reason else "")
        tally = f", {votes.get(bid.number, 0)} votes" if votes else ""
        lines.append(
            f"  {bid.number}. {bid.title[found.language]} - {bid.cost:,} - {bid.proposer}"
            f" - {ruling}{tally}"
        )
    lines.append(f"Ballots cast: {view.tallies.ballots}")
    if view.count is not None:
        lines += count_lines(view.count, found.currency)
    return lines


def count_lines(count: Mapping[str, Any], currency: str) -> list[str]:
    lines = []
    for rule, title in (("greedy", "Greedy by votes"), ("mes", "Method of Equal Shares")):
        outcome = count[rule]
        funded = ", ".join(str(f["id"]) for f in outcome["funded"]) or "none"
        lines.append(
            f"{title}: funds {funded}; spends {outcome['cost']:,}, leaves {outcome['left']:,}"
            f" {currency}"
        )
    return lines


@click.command("open")
@click.argument("name")
@click.option("--budget", type=int, required=True, help="The whole budget, like 100000.")
@click.option("--currency", default="GBP", show_default=True, help="ISO code, like GBP.")
@click.option("--style", type=click.Choice(STYLES), default="approval", show_default=True,
              help="approval: any projects within the budget; k_approval: up to K; "
              "ranking: rank up to K.")  # fmt: skip
@click.option("--k", type=click.IntRange(min=1), help="The most projects a ballot chooses.")
@click.option("--rule", type=click.Choice(desk_pb.RULES), default="greedy", show_default=True,
              help="What decides: greedy by votes, or the Method of Equal Shares.")  # fmt: skip
@click.option("--panel", "panel_id", type=int, help="The resident panel that screens the bids.")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="Only residents whose field has this value vote, like ward=North.")  # fmt: skip
@click.option("--screening-at", metavar="WHEN", help="When screening begins (else by hand).")
@click.option("--voting-at", metavar="WHEN", help="When voting begins (else by hand).")
@click.option("--counted-at", metavar="WHEN", help="When voting closes and is counted.")
@click.pass_context
def open_round(
    ctx: click.Context,
    name: str,
    budget: int,
    currency: str,
    style: str,
    k: int | None,
    rule: str,
    panel_id: int | None,
    fields: tuple[str, ...],
    screening_at: str | None,
    voting_at: str | None,
    counted_at: str | None,
) -> None:
    """Open a budgeting round for bids."""

    async def work(office: Office) -> None:
        spec = RoundSpec(
            name,
            budget,
            currency,
            Audience(fields=name_values(fields, "--field")),
            style,
            k,
            rule,
            panel_id,
            _when(office, screening_at, "screening_at"),
            _when(office, voting_at, "voting_at"),
            _when(office, counted_at, "counted_at"),
        )
        made = await office.at_desk(lambda desk: desk_pb.open_round(desk, spec))
        click.echo(f"Round {made.id} '{made.name}' is open for bids.")
        click.echo(f"Add bids with: parley pb bid {made.id} --title ... --cost ... --proposer ...")

    at_office(ctx, work)


@click.command()
@click.argument("round_id", type=int)
@click.option("--title", required=True, help="The project in a few words.")
@click.option("--description", default="", help="One line about it.")
@click.option(
    "--cost",
    type=int,
    help="What it costs, a whole amount (with --idea: the idea's, if it names one).",
)
@click.option("--proposer", required=True, help="The group that proposes it.")
@click.option("--ward", help="The ward it is in.")
@click.option("--idea", "idea_ref", metavar="ID", help="Made from this idea (its sender is told).")
@click.pass_context
def bid(
    ctx: click.Context,
    round_id: int,
    title: str,
    description: str,
    cost: int | None,
    proposer: str,
    ward: str | None,
    idea_ref: str | None,
) -> None:
    """Enter a bid (in the default language; translate it with `parley pb translate`)."""

    async def work(office: Office) -> None:
        def enter(desk: Desk) -> Any:
            if idea_ref is not None:
                return desk_pb.bid_from_idea(desk, round_id, idea_ref, cost, title, proposer)
            if cost is None:
                raise click.UsageError("give the bid's --cost")
            return desk_pb.add_bid(
                desk, round_id, BidSpec(title, description, cost, proposer, ward)
            )

        made = await office.at_desk(enter)
        click.echo(f"Bid {made.number} '{title}' ({made.cost:,}) is in round {round_id}.")

    at_office(ctx, work)


@click.command("import")
@click.argument("round_id", type=int)
@click.argument("file", type=TextFile())
@click.pass_context
def import_bids(ctx: click.Context, round_id: int, file: Path) -> None:
    """Enter bids from a CSV file (columns title, description, cost, proposer, ward) or
    from the PROJECTS of a Pabulib .pb file: all of them, or none."""

    if file.suffix == ".pb":
        try:
            election = pabulib.read(file)
        except pabulib.PabulibError as wrong:
            raise click.ClickException(str(wrong)) from None
        specs = [BidSpec(p.name or p.id, "", p.cost, "Pabulib") for p in election.projects]
    else:
        try:
            specs = desk_pb.read_bids(file.read_text(encoding="utf-8-sig"), str(file))
        except Refused as wrong:
            raise click.ClickException(str(wrong)) from None

    async def work(office: Office) -> None:
        made = await office.at_desk(
            lambda desk: desk_pb.import_bids(desk, round_id, specs, str(file))
        )
        click.echo(f"{len(made)} bids entered in round {round_id}.")

    at_office(ctx, work)


@click.command()
@click.argument("round_id", type=int)
@click.argument("number", type=int)
@click.argument("language")
@click.option("--title", required=True, help="The title in LANGUAGE.")
@click.option("--description", default="", help="The line in LANGUAGE.")
@click.pass_context
def translate(
    ctx: click.Context, round_id: int, number: int, language: str, title: str, description: str
) -> None:
    """Give bid NUMBER's title and line in LANGUAGE."""

    async def work(office: Office) -> None:
        await office.at_desk(
            lambda desk: desk_pb.translate(desk, round_id, number, language, title, description)
        )
        click.echo(f"Bid {number} is in {language} too.")

    at_office(ctx, work)


@click.command()
@click.argument("round_id", type=int)
@click.argument("number", type=int)
@click.option("--eligible/--ineligible", default=None,
              help="The ruling (a bid the panel votes on takes its vote's).")  # fmt: skip
@click.option("--reason", default="", help="The panel's reason (its proposer is told it).")
@click.pass_context
def rule(
    ctx: click.Context, round_id: int, number: int, eligible: bool | None, reason: str
) -> None:
    """Record the panel's ruling on bid NUMBER, and why."""

    async def work(office: Office) -> None:
        made = await office.at_desk(
            lambda desk: desk_pb.rule(desk, round_id, number, reason, eligible)
        )
        click.echo(f"Bid {number} is {made.status}.")

    at_office(ctx, work)


@click.command()
@click.argument("round_id", type=int)
@click.argument("phase", type=click.Choice(["screening", "voting", "counted"]))
@click.pass_context
def phase(ctx: click.Context, round_id: int, phase: str) -> None:
    """Begin the round's next phase now: screening (bids go to the panel), voting (the
    ballot goes to residents) or counted (voting closes; results go back)."""

    async def work(office: Office) -> None:
        await office.at_desk(lambda desk: desk_pb.begin(desk, round_id, phase), lambda _: 100)
        view = await office.at_desk(lambda desk: desk_pb.show(desk, round_id))
        echo(round_lines(view))

    at_office(ctx, work)


@click.command()
@click.argument("round_id", type=int, required=False)
@click.pass_context
def show(ctx: click.Context, round_id: int | None) -> None:
    """A round: its bids, rulings, ballots and the count by both rules (no ROUND_ID:
    every round, a line each)."""

    async def work(office: Office) -> None:
        if round_id is None:
            views = await office.at_desk(desk_pb.listing)
            for view in views:
                found = view.round
                click.echo(
                    f"{found.id}. {found.name}: {found.phase}, {len(view.bids)} bids,"
                    f" {view.tallies.ballots} ballots"
                )
            if not views:
                click.echo("No round yet: open one with parley pb open NAME --budget N")
            return
        echo(round_lines(await office.at_desk(lambda desk: desk_pb.show(desk, round_id))))

    at_office(ctx, work)


@click.command()
@click.argument("round_id", type=int)
@click.option("--pb", "pb_file", type=OutputPath(),
              help="Write a Pabulib .pb file (projects, pseudonymous votes).")  # fmt: skip
@click.option("--csv", "csv_file", type=OutputPath(),
              help="Write the ballots as CSV (pseudonymous voter ids).")  # fmt: skip
@click.pass_context
def export(ctx: click.Context, round_id: int, pb_file: Path | None, csv_file: Path | None) -> None:
    """Export the round's ballots: a Pabulib file others can count, and a CSV."""
    if pb_file is None and csv_file is None:
        raise click.UsageError("give --pb FILE, --csv FILE or both")

    async def work(office: Office) -> None:
        found = await office.at_desk(lambda desk: desk_pb.export(desk, round_id))
        if pb_file is not None:
            meta = {"description": found.round.name, "currency": found.round.currency}
            pabulib.write(found.election, pb_file, meta=meta)
            click.echo(f"{pb_file}: {len(found.rows)} ballots")
        if csv_file is not None:
            with whole_file(csv_file) as out:
                table = csv.writer(out)
                table.writerow(["voter", "choice", "language", "channel", "cast_at"])
                for voter, choice, language, channel, cast_at in found.rows:
                    table.writerow(
                        [voter, " ".join(map(str, choice)), language, channel, cast_at.isoformat()]
                    )
            click.echo(f"{csv_file}: {len(found.rows)} ballots")

    at_office(ctx, work)


ROUND_COMMANDS = (open_round, bid, import_bids, translate, rule, phase, show, export)
"""The round commands, added to ``parley pb`` (which also counts any Pabulib file)."""
