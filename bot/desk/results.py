"""Results: a poll's counts (live for organisers; for workers once it has closed) and a
survey's, overall and broken down by language, channel or a contact field, and the bar
chart of either."""

from __future__ import annotations

from bot.civic import polls as poll_work
from bot.civic import results as reports
from bot.civic.chart import Picture
from bot.civic.fonts import Fonts
from bot.desk import lookup
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid
from bot.errors import ExportError
from bot.store.polls import Poll


def _readable(desk: Desk, poll: Poll) -> None:
    if poll.status != "closed":
        desk.require_organiser("live results of an open poll")


def _field(by: str | None) -> str | None:
    if by is not None and (len(by.split()) != 1 or not reports.FIELD.match(by)):
        raise Invalid("by", "one word: language, channel or a contact field")
    return by


@operation("results.poll", changes=False)
def of_poll(desk: Desk, poll_id: int, by: str | None = None) -> poll_work.Results:
    """A poll's counts and percentages, overall and per group of ``by``."""
    poll = lookup.poll(desk, poll_id)
    _readable(desk, poll)
    return poll_work.results(desk.tx, poll, _field(by))


@operation("results.flow", changes=False)
def of_flow(desk: Desk, flow_id: str, by: str | None = None) -> reports.Report:
    """Each question of a survey: how it was answered (each run's last answer)."""
    flow = lookup.flow(desk, flow_id)
    return reports.of_flow(desk.tx, flow, desk.settings.languages, _field(by))


@operation("results.report", changes=False)
def report(desk: Desk, target: str, by: str | None = None) -> reports.Report:
    """The report of a poll (its number) or a survey (its flow's id), as charts draw it."""
    if target.isdigit():
        poll = lookup.poll(desk, int(target))
        _readable(desk, poll)
        return reports.of_poll(desk.tx, poll, _field(by))
    return of_flow(desk, target, by)


@operation("results.chart", changes=False)
def chart(desk: Desk, target: str, fonts: Fonts, question: str | None = None) -> Picture:
    """The bar chart of a poll, or of a survey's question (the first with options)."""
    found = report(desk, target)
    try:
        return reports.draw(found, question, fonts)
    except ExportError as problem:
        raise Invalid("question", str(problem)) from None
