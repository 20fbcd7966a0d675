"""``parley pb``: participatory budgeting at the shell. This module holds the group and
``parley pb count``, which counts a Pabulib file by both rules (or one), with no
database: to check a round's result, or to count another city's round the way Parley
would. The round commands attach themselves to the same group."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from bot.civic.budgeting import pabulib
from bot.civic.budgeting.count import RULES, Election, Outcome, Rule, Share, both, count
from bot.cli.rounds import ROUND_COMMANDS

NAME_WIDTH = 28
RULE_TITLES = {"greedy": "Greedy", "mes": "Equal Shares"}


class BadFile(click.ClickException):
    """A file that cannot be counted: one ``Error: file:line: what`` line, exit 2."""

    exit_code = 2


@click.group()
def pb() -> None:
    """Participatory budgeting: rounds, bids, ballots and the count."""


@pb.command("count")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rule",
    type=click.Choice(RULES),
    help="Count by this rule only: greedy (by votes) or mes (the Method of Equal Shares,"
    " completed). Without it, both side by side.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print JSON: for one --rule, an object with "funded" (project ids as in the file,'
    ' in the order chosen), "cost", "left", "budget" and "votes" (and for mes "shares");'
    ' without --rule, {"greedy": {...}, "mes": {...}}.',
)
def count_command(file: Path, rule: Rule | None, as_json: bool) -> None:
    """Count a Pabulib .pb file: which projects each rule funds, what it spends and what
    is left. A file that is not valid Pabulib is one line, file:line: what is wrong
    (exit 2). Equal Shares takes minutes and gigabytes on a large round (about 8 minutes
    and 5 GB for 100 projects and 100,000 ballots)."""
    try:
        election = pabulib.read(file)
    except pabulib.PabulibError as wrong:
        raise BadFile(str(wrong)) from None
    outcomes = both(election) if rule is None else (count(election, rule),)
    if as_json:
        shown: Any = {o.rule: _json(election, o) for o in outcomes}
        click.echo(json.dumps(shown if rule is None else shown[rule], indent=2))
        return
    for line in table(election, outcomes):
        click.echo(line)


def _json(election: Election, outcome: Outcome) -> dict[str, Any]:
    made: dict[str, Any] = {
        "rule": outcome.rule,
        "funded": [f.id for f in outcome.funded],
        "cost": outcome.cost,
        "left": outcome.left,
        "budget": election.budget,
        "votes": dict(outcome.votes),
    }
    if outcome.rule == "mes":
        made["shares"] = {
            f.id: {
                "payers": f.share.payers,
                "paid": float(f.share.paid),
                "smallest": float(f.share.smallest),
                "largest": float(f.share.largest),
                "completion": f.share.completion,
            }
            for f in outcome.funded
            if f.share is not None
        }
    return made


def table(election: Election, outcomes: tuple[Outcome, ...]) -> list[str]:
    """The count as a table: a line per project (in the file's order) with its cost,
    votes and, per rule, ✓ funded or — not (under Equal Shares, how its cost was
    shared); then what each rule spends and leaves."""
    currency = f" {election.currency}" if election.currency else ""
    kind = "ranking" if election.style == "ranking" else "approval"
    lines = [
        f"Budget {election.budget:,}{currency}; {len(election.projects)} projects;"
        f" {len(election.ballots):,} ballots ({kind}).",
        "",
    ]
    funded = [{f.id: f for f in outcome.funded} for outcome in outcomes]
    rows = [["Project", "Name", "Cost", "Votes", *(RULE_TITLES[o.rule] for o in outcomes)]]
    for project in election.projects:
        name = project.name
        if len(name) > NAME_WIDTH:
            name = name[: NAME_WIDTH - 1] + "…"
        row = [project.id, name, f"{project.cost:,}", f"{outcomes[0].votes[project.id]:,}"]
        for chosen in funded:
            found = chosen.get(project.id)
            shared = "" if found is None else _shared(found.share)
            row.append("—" if found is None else f"✓ {shared}".rstrip())
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {2, 3}  # numbers
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    for outcome in outcomes:
        lines.append(
            f"{RULE_TITLES[outcome.rule]}: funds {len(outcome.funded)}, spends"
            f" {outcome.cost:,}{currency}, leaves {outcome.left:,}{currency}."
        )
    return lines


def _shared(share: Share | None) -> str:
    """How Equal Shares paid for a project: ``12 paid 50 each``, ``12 paid 40-60``, or
    ``from what was left`` (the completion); nothing for greedy."""
    if share is None:
        return ""
    if share.completion:
        return "from what was left"
    if share.smallest == share.largest:
        return f"{share.payers:,} paid {_money(share.smallest)} each"
    return f"{share.payers:,} paid {_money(share.smallest)}-{_money(share.largest)}"


def _money(amount: Fraction) -> str:
    whole = round(amount)
    if amount == whole:
        return f"{whole:,}"
    return f"{float(amount):,.2f}"


for command in ROUND_COMMANDS:  # parley pb open, bid, ...: the rounds of a deployment
    pb.add_command(command)
