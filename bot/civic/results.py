"""Results at a glance: how a poll or a survey's questions were answered, as a table
for staff (counts, percentages, a breakdown by language, channel or a contact field)
and as a bar chart (:mod:`bot.civic.chart`).

Each resident counts once per run: their last answer to a question. A question
answered with several options counts each option, so percentages (of the people who
answered) can add up to more than 100.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.civic.chart import Bar, Chart, Picture, render
from bot.civic.fonts import Fonts
from bot.civic.polls import results as poll_results
from bot.engine.flow import (
    ChoiceQuestion,
    Flow,
    LanguageQuestion,
    NumberQuestion,
    Question,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)
from bot.errors import ExportError
from bot.store import polls
from bot.store.polls import Poll
from bot.store.sql import Tx

ALL = "all"
NONE = "(none)"
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Summary:
    """One question: how many answered, and how many chose each option."""

    question_id: str
    question: str  # in the source language
    labels: tuple[str, ...]  # the options, in the source language
    codes: tuple[str, ...]  # what the answers store for them
    answered: int
    counts: tuple[int, ...]
    groups: Mapping[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)

    def percent(self, count: int, answered: int | None = None) -> int:
        total = self.answered if answered is None else answered
        return round(100 * count / total) if total else 0

    def chart(self, note: str) -> Chart:
        bars = tuple(
            Bar(label, count, count / self.answered if self.answered else 0.0)
            for label, count in zip(self.labels, self.counts, strict=True)
        )
        return Chart(self.question, bars, note)


@dataclass(frozen=True)
class Report:
    title: str
    summaries: tuple[Summary, ...]
    notes: tuple[str, ...] = ()  # number and text questions, in a line each
    by: str | None = None

    def summary(self, question_id: str | None) -> Summary:
        """The question a chart is of: the one named, else the first with options."""
        for summary in self.summaries:
            if question_id is None or summary.question_id == question_id:
                return summary
        known = ", ".join(s.question_id for s in self.summaries) or "none"
        raise ExportError(f"no question '{question_id}' with options to chart (those: {known})")


def find(tx: Tx, target: str, flows: Mapping[str, Flow], languages: Sequence[str]) -> Report:
    """The report of a poll (by its number) or a survey (by its flow id)."""
    if target.isdigit():
        poll = polls.get(tx, int(target))
        if poll is None:
            raise ExportError(f"There is no poll {target}.")
        return of_poll(tx, poll)
    flow = flows.get(target)
    if flow is None:
        raise ExportError(f"There is no flow '{target}'.")
    return of_flow(tx, flow, languages)


def draw(report: Report, question: str | None, fonts: Fonts) -> Picture:
    """The bar chart of a report's question (the first with options, if not named)."""
    summary = report.summary(question)
    return render(summary.chart(f"{summary.answered} answered"), fonts)


def of_poll(tx: Tx, poll: Poll, by: str | None = None) -> Report:
    found = poll_results(tx, poll, by)
    codes = tuple(option.id for option in poll.options)
    summary = Summary(
        "vote",
        poll.question[poll.language],
        tuple(option.texts[poll.language] for option in poll.options),
        codes,
        found.overall.voters,
        tuple(found.overall.counts.get(code, 0) for code in codes),
        {
            group: (tally.voters, tuple(tally.counts.get(code, 0) for code in codes))
            for group, tally in found.groups.items()
        },
    )
    state = {"draft": "not sent yet", "open": "open, live", "closed": "closed"}[poll.status]
    return Report(f"Poll {poll.id} ({state})", (summary,), by=by)


def _options(question: Question, languages: Sequence[str], source: str) -> list[tuple[str, str]]:
    """(stored code, label) for each answer a question can have, or [] for none."""
    match question:
        case ChoiceQuestion():
            return [(o.id, o.label.get(source, source)) for o in question.options]
        case YesNoQuestion():
            return [("yes", "yes"), ("no", "no")]
        case ScaleQuestion():
            return [(str(n), str(n)) for n in range(question.low, question.high + 1)]
        case LanguageQuestion():
            return [(code, code) for code in languages]
    return []


def _group(by: str | None) -> str:
    if by is None:
        return "NULL"
    if by in ("language", "channel"):
        return f"a.{by}"
    if not FIELD.match(by):
        raise ExportError(f"'{by}' is not a field name: use language, channel or a field")
    return f"json_extract(c.fields, '$.{by}')"


def of_flow(tx: Tx, flow: Flow, languages: Sequence[str], by: str | None = None) -> Report:
    """Each question's last answer per run, counted in SQL; only the counts come back."""
    runs, completed = tx.execute(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'completed')"
        " FROM sessions WHERE flow_id = ?",
        (flow.id,),
    ).fetchone()
    # Counted overall (ALL) and, with ``by``, in the answer's group as well.
    tallies: Counter[tuple[str, str, str]] = Counter()  # (step, code, group)
    answered: Counter[tuple[str, str]] = Counter()  # (step, group)
    numbers: dict[str, tuple[float, float, float, int]] = {}  # low, high, sum, count
    for step, value, group in tx.execute(
        f"SELECT a.step_id, a.value, {_group(by)} FROM answers a"
        " JOIN contacts c ON c.id = a.contact_id"
        " WHERE a.id IN (SELECT MAX(id) FROM answers WHERE flow_id = ?"
        " GROUP BY session_id, step_id)",
        (flow.id,),
    ):
        groups = (ALL, NONE if group is None else str(group)) if by else (ALL,)
        decoded = json.loads(value)
        if isinstance(decoded, int | float) and not isinstance(decoded, bool):
            low, high, added, n = numbers.get(step, (decoded, decoded, 0.0, 0))
            numbers[step] = (min(low, decoded), max(high, decoded), added + decoded, n + 1)
        chosen = decoded if isinstance(decoded, list) else [decoded]
        for key in groups:
            answered[(step, key)] += 1
            for code in chosen:
                tallies[(step, str(code), key)] += 1
    summaries, notes = [], []
    split_by = sorted({key for (_, key) in answered if key != ALL})
    for question in flow.questions():
        text = " ".join(question.text.get(flow.language, flow.language).split())
        options = _options(question, languages, flow.language)
        total = answered[(question.id, ALL)]
        if options:
            codes = tuple(code for code, _ in options)
            counts = {
                key: tuple(tallies[(question.id, code, key)] for code in codes)
                for key in (ALL, *split_by)
            }
            summaries.append(
                Summary(
                    question.id,
                    text,
                    tuple(label for _, label in options),
                    codes,
                    total,
                    counts[ALL],
                    {key: (answered[(question.id, key)], counts[key]) for key in split_by},
                )
            )
        elif isinstance(question, NumberQuestion) and numbers.get(question.id):
            low, high, added, n = numbers[question.id]
            notes.append(
                f"{question.id}: {text} {total} answered; lowest {low:g},"
                f" highest {high:g}, average {added / n:.1f}"
            )
        elif isinstance(question, TextQuestion | NumberQuestion):
            notes.append(f"{question.id}: {text} {total} answered")
    title = f"Survey '{flow.id}' ({flow.title}): {runs} runs, {completed} completed"
    return Report(title, tuple(summaries), tuple(notes), by)
