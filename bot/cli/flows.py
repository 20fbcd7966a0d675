"""``parley flows check``: flow files and triggers checked, then translations and cost."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from bot.cli.common import settings_of
from bot.errors import ConfigError, FlowError
from bot.flowfile import load_flows
from bot.flowfile.report import (
    CatalogReport,
    FlowReport,
    report_catalogs,
    report_flow,
)
from bot.flowfile.triggers import load_triggers
from bot.triggers import TRIGGERS_FILE


@click.group()
def flows() -> None:
    """Flow files."""


@flows.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--quiet", is_flag=True, help="Only problems: no tables of translations and segments."
)
@click.pass_context
def check(ctx: click.Context, folder: Path | None, quiet: bool) -> None:
    """Check every flow file and triggers.yaml; then, for each language, what is not
    translated and what each reply costs in SMS segments. Problems are printed as
    file:line, and any problem exits 1; warnings do not."""
    from bot.content import load_content

    settings = settings_of(ctx)
    folder = folder or settings.flows_dir
    if not folder.is_dir():
        raise click.ClickException(f"{folder} is not a folder")
    try:
        loaded = load_flows(folder)
        triggers = load_triggers(folder, loaded)
    except FlowError as error:
        _fail(error.problems)
    click.echo(f"{len(loaded)} flows OK: {', '.join(sorted(loaded))}")
    if triggers.all:
        click.echo(f"{len(triggers.all)} triggers OK ({folder / TRIGGERS_FILE})")
    try:
        _, env = load_content(settings)
    except (ConfigError, FlowError) as error:
        raise click.ClickException(str(error)) from None
    languages = list(settings.languages)
    reports = {flow_id: report_flow(loaded[flow_id], languages, env) for flow_id in sorted(loaded)}
    catalogs = report_catalogs(settings.locales_dir, languages)
    notes = [note for r in reports.values() for note in r.notes]
    notes += [note for c in catalogs for note in c.notes]
    if not quiet:
        _coverage(reports, catalogs, languages)
        _segments(reports, languages)
    warnings = [note for note in notes if not note.error]
    errors = [note for note in notes if note.error]
    if warnings:
        click.echo(f"\n{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:")
        for note in warnings:
            click.echo(str(note))
    if errors:
        _fail([str(note) for note in errors])


def _fail(problems: Sequence[str]) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    count = len(problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''} found.", err=True)
    sys.exit(1)


def _coverage(
    reports: dict[str, FlowReport], catalogs: list[CatalogReport], languages: list[str]
) -> None:
    click.echo(f"\nTranslations ({len(languages)} languages: {' '.join(languages)})")
    for flow_id, report in reports.items():
        if not report.missing:
            click.echo(f"  {flow_id}: complete")
            continue
        for language, items in report.missing.items():
            click.echo(f"  {flow_id}: {language} is missing {', '.join(items)}")
    incomplete = [c for c in catalogs if c.missing or not c.sentences]
    sentences = max((c.sentences for c in catalogs), default=0)
    if not incomplete:
        click.echo(f"  the bot's own sentences: {sentences}, complete in every language")
    for catalog in incomplete:
        missing = len(catalog.missing) or "all"
        click.echo(f"  the bot's own sentences: {catalog.language} is missing {missing}")


def _segments(reports: dict[str, FlowReport], languages: list[str]) -> None:
    ranges = [_range(found) for r in reports.values() for found in r.completed.values()]
    width = max(4, *(len(cell) + 1 for cell in ranges), *(len(lang) + 1 for lang in languages))
    label_width = max(len(label) for r in reports.values() for label, _ in r.rows) + 4
    click.echo(
        "\nSMS segments per reply (the messages sent together, up to the question that"
        " waits), by language"
    )
    header = "".join(language.rjust(width) for language in languages)
    for flow_id, report in reports.items():
        click.echo(f"{flow_id.ljust(label_width)}{header}")
        for label, by_language in report.rows:
            cells = "".join(str(by_language.get(lang, "")).rjust(width) for lang in languages)
            click.echo(f"  {label.ljust(label_width - 2)}{cells}")
        cells = "".join(
            _range(report.completed.get(language)).rjust(width) for language in languages
        )
        click.echo(f"  {'whole flow'.ljust(label_width - 2)}{cells}")


def _range(found: tuple[int, int] | None) -> str:
    if found is None:
        return ""
    low, high = found
    return str(low) if low == high else f"{low}-{high}"
