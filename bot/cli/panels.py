"""``parley panel``: resident panels chosen by lot at the shell (invite, show, select,
notify, vote)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot import staff_text
from bot.civic import panels as panel_work
from bot.cli.broadcasts import send_drafted
from bot.cli.common import TextFile, check_languages, name_values
from bot.cli.office import Office, at_office, echo
from bot.cli.preview import go_ahead, news
from bot.desk import Desk, moments, rehearse
from bot.desk import panels as desk_panels
from bot.desk.broadcasts import Drafted
from bot.desk.panels import PanelView
from bot.english import counted
from bot.store import broadcasts


def report(view: PanelView) -> list[str]:
    return staff_text.panel(view.panel, view.members, view.quotas)


@click.group()
def panel() -> None:
    """Resident panels chosen by lot: invite, select, notify, vote."""


@panel.command()
@click.argument("name")
@click.option("--sample", type=click.IntRange(min=1), required=True, help="How many to invite.")
@click.option("--seed", type=int, required=True, help="The sample's seed (write it down).")
@click.option("--by", "strata", metavar="FIELD", help="Spread the sample over this contact field.")
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.pass_context
def invite(
    ctx: click.Context, name: str, sample: int, seed: int, strata: str | None, yes: bool
) -> None:
    """Stage 1: invite a seeded random sample to volunteer (the panel flow)."""

    async def work(office: Office) -> None:
        def make(desk: Desk) -> Drafted:
            return desk_panels.invite(desk, name, sample, seed, strata).drafted

        def head(desk: Desk) -> int:
            return desk_panels.invite(desk, name, sample, seed, strata).panel_id

        panel_id = await office.at_desk(lambda desk: rehearse(desk, head))
        click.echo(f"Panel {panel_id} '{name}':")
        sent = await send_drafted(office, make, yes)
        if sent is not None:
            click.echo(f"See who volunteers with: parley panel show {panel_id}")

    at_office(ctx, work)


@panel.command()
@click.argument("panel_id", type=int)
@click.option(
    "--quotas",
    type=TextFile(),
    help="CSV: category,value,min,max: the pool against these (before the draw).",
)
@click.pass_context
def show(ctx: click.Context, panel_id: int, quotas: Path | None) -> None:
    """The pool by category against the quotas; once drawn, each volunteer's chance of
    selection and status."""

    async def work(office: Office) -> None:
        chosen = panel_work.load_quotas(quotas) if quotas else None
        view = await office.at_desk(lambda desk: desk_panels.show(desk, panel_id, chosen))
        echo(report(view))
        if not view.panel.selected:
            click.echo(
                f"Draw it with: parley panel select {panel_id} --size N --quotas FILE --seed N"
            )

    at_office(ctx, work)


@panel.command()
@click.argument("panel_id", type=int)
@click.option("--size", type=click.IntRange(min=1), required=True, help="Members to choose.")
@click.option("--quotas", type=TextFile(), required=True, help="CSV: category,value,min,max.")
@click.option("--seed", type=int, required=True, help="The draw's seed (write it down).")
@click.pass_context
def select(ctx: click.Context, panel_id: int, size: int, quotas: Path, seed: int) -> None:
    """Stage 2: draw the panel from the volunteers, within the quotas (maximin)."""

    async def work(office: Office) -> None:
        chosen = panel_work.load_quotas(quotas)  # a problem: "file:line: what"
        volunteers = await office.at_desk(lambda desk: desk_panels.pool(desk, panel_id))
        click.echo(
            f"Drawing {size} from {counted(len(volunteers), 'volunteer')} (maximin, seed {seed})…"
        )
        drawn = await asyncio.to_thread(desk_panels.draw, volunteers, chosen, size, seed)
        view = await office.at_desk(
            lambda desk: desk_panels.select(desk, panel_id, volunteers, chosen, size, drawn)
        )
        echo(report(view))
        click.echo(f"Tell them with: parley panel notify {panel_id}")

    at_office(ctx, work)


@panel.command()
@click.argument("panel_id", type=int)
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.pass_context
def notify(ctx: click.Context, panel_id: int, yes: bool) -> None:
    """Ask the chosen to take their seat; thank the others (in their languages)."""

    async def work(office: Office) -> None:
        def preview(desk: Desk) -> list[str]:
            since = broadcasts.last_id(desk.tx)
            desk_panels.notify(desk, panel_id)
            return news(desk, since)

        echo(await office.at_desk(lambda desk: rehearse(desk, preview)))
        if not go_ahead("Ask the chosen to take their seat and thank the others?", yes):
            return
        sent = await office.at_desk(lambda desk: desk_panels.notify(desk, panel_id))
        click.echo(f"Broadcasts {', '.join(map(str, sent))}: the chosen and the reserves told.")
        click.echo(f"See who takes their seat with: parley panel show {panel_id}")

    at_office(ctx, work)


@panel.command()
@click.argument("panel_id", type=int)
@click.option("--proposal", required=True, help="What the panel votes on, in the default language.")
@click.option(
    "--translation",
    "translations",
    multiple=True,
    metavar="LANG=TEXT",
    help="The proposal in another language.",
)
@click.option(
    "--quorum", default="50%", show_default=True, help="Share of members (50%) or a number."
)
@click.option(
    "--threshold",
    default="majority",
    show_default=True,
    help="majority, two-thirds or a share like 80%.",
)
@click.option("--closes", metavar="WHEN", help="Closing time: 18:00, 2026-12-01 18:00 or 3d.")
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.pass_context
def vote(
    ctx: click.Context,
    panel_id: int,
    proposal: str,
    translations: tuple[str, ...],
    quorum: str,
    threshold: str,
    closes: str | None,
    yes: bool,
) -> None:
    """Put a proposal or funding bid to the members who took their seat."""

    async def work(office: Office) -> None:
        settings = office.settings
        texts = {settings.default_language: proposal, **name_values(translations, "--translation")}
        check_languages(settings, list(texts), "--translation")

        def make(desk: Desk) -> Drafted:
            at = moments.when(closes, desk.now, settings.timezone, "closes") if closes else None
            return desk_panels.vote(desk, panel_id, texts, quorum, threshold, at).drafted

        def poll_of(desk: Desk, drafted: Drafted) -> int:
            found = broadcasts.get(desk.tx, drafted.id)
            assert found is not None
            assert found.poll_id is not None
            return found.poll_id

        poll_id = await office.at_desk(lambda desk: rehearse(desk, lambda d: poll_of(d, make(d))))
        click.echo(f"Panel vote: poll {poll_id} (quorum {quorum}, threshold {threshold})")
        sent = await send_drafted(office, make, yes)
        if sent is not None:
            made = await office.at_desk(lambda desk: poll_of(desk, sent))
            click.echo(f"See the vote with: parley results {made}")

    at_office(ctx, work)
