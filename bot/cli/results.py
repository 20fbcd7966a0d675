"""``parley results``: a poll's or a survey's counts and breakdown, and its chart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot import staff_text
from bot.cli.common import OutputPath
from bot.cli.office import Office, at_office, echo
from bot.desk import Desk, NotFound, Refused, lookup
from bot.desk import results as desk_results


@click.command()
@click.argument("target", metavar="POLL|FLOW")
@click.option("--by", metavar="WHAT", help="Break down by language, channel or a contact field.")
@click.option("--chart", type=OutputPath(), help="Also draw a bar chart to this PNG file.")
@click.option("--question", metavar="ID", help="Survey question to chart (default: the first).")
@click.pass_context
def results(
    ctx: click.Context, target: str, by: str | None, chart: Path | None, question: str | None
) -> None:
    """Results of a poll (by number) or a survey (by flow id): counts, percentages and a
    breakdown; live while a poll is open."""
    if by is not None and len(by.split()) != 1:
        raise click.BadParameter(
            "one word: language, channel or a contact field", param_hint="--by"
        )

    async def work(office: Office) -> None:
        def lines(desk: Desk) -> list[str]:
            if target.isdigit():
                return staff_text.poll_results(desk_results.of_poll(desk, int(target), by))
            try:
                return staff_text.report(desk_results.of_flow(desk, target, by))
            except NotFound:
                polls = ", ".join(lookup.recent(desk.tx, "poll")) or "none yet"
                raise Refused(
                    f"there is no poll or flow '{target}'; flows: {', '.join(sorted(desk.flows))};"
                    f" polls: {polls}"
                ) from None

        echo(await office.at_desk(lines))
        if chart is not None:
            from bot.civic.fonts import Fonts

            fonts = Fonts.find(office.settings.fonts_dir)
            picture = await office.at_desk(
                lambda desk: desk_results.chart(desk, target, fonts, question)
            )
            await asyncio.to_thread(chart.write_bytes, picture.png)
            click.echo(f"Chart written to {chart}.", err=True)
            if picture.legend:
                click.echo("The chart numbers its bars (this script cannot be drawn here):")
                echo(list(picture.legend))

    at_office(ctx, work)
