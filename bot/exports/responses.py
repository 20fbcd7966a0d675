"""Survey responses: one row per resident per run of a flow, a fixed set of columns per
question in the order the flow defines them, whatever branch each resident took.

For a choice question there are three columns: the coded answer (option ids, several
separated by spaces), its label in the flow's own language, and the reply as the
resident sent it. Number, scale, yes/no and language questions have the answer and the
reply; a text question's answer is the reply itself (without surrounding spaces). A
question a resident never reached is blank. Runs that got no answer are kept, so the
status column tells who was asked and did not reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine.flow import ChoiceQuestion, Flow, Question, TextQuestion
from bot.errors import ExportError
from bot.exports.cells import CsvText, cell, text_cell
from bot.exports.source import Filters, Source, Table

FIXED = ["run", "language", "channel", "started", "finished", "status"]
STATUS = {"interrupted": "active"}  # waiting under another flow: still under way


@dataclass(frozen=True)
class _Slot:
    """Where a question's cells go in the row, and how its answer reads."""

    question: Question
    value: int  # column of the coded answer
    label: int | None  # column of the option labels (choice questions)
    reply: int | None  # column of the raw reply (all but text questions)
    labels: dict[str, str]  # option id -> label in the flow's language
    end: int  # the column after its last


def _one_line(text: str) -> str:
    return " ".join(text.split())


def columns(flow: Flow, first: int) -> tuple[list[str], dict[str, _Slot]]:
    """Headers for the flow's questions (id and question text), and their slots."""
    header: list[str] = []
    slots: dict[str, _Slot] = {}
    for question in flow.questions():
        text = _one_line(question.text.get(flow.language, flow.language))
        at = first + len(header)
        header.append(f"{question.id}: {text}")
        label = reply = None
        labels: dict[str, str] = {}
        if isinstance(question, ChoiceQuestion):
            label = first + len(header)
            header.append(f"{question.id} (label)")
            labels = {o.id: o.label.get(flow.language, flow.language) for o in question.options}
        if not isinstance(question, TextQuestion):
            reply = first + len(header)
            header.append(f"{question.id} (reply)")
        slots[question.id] = _Slot(question, at, label, reply, labels, first + len(header))
    return header, slots


def _decoded(value: str) -> object:
    """A stored answer (JSON); plain strings, the most common, without the parser."""
    if len(value) > 1 and value[0] == '"' and "\\" not in value:
        return value[1:-1]
    return json.loads(value)


def table(source: Source, filters: Filters) -> Table:
    if filters.flow_id is None:
        raise ExportError("responses: say which flow (--flow ID; a poll's flow is poll-N)")
    flow = source.flows(filters.flow_id)
    if flow is None:
        raise ExportError(f"responses: there is no flow '{filters.flow_id}'")
    fixed = [*source.resident_header(), *FIXED]
    questions, slots = columns(flow, len(fixed))
    where, params = filters.between("s.started_at")
    total = source.count(
        f"SELECT COUNT(*) FROM sessions s WHERE s.flow_id = ?{where}", [flow.id, *params]
    )
    lines = _lines(source, flow, slots, where, params)
    return Table([*fixed, *questions], iter(()), total, lines=lines)


# Cells remembered, and how long an answer may be to be remembered: memory stays bounded.
_KNOWN, _KNOWN_LENGTH = 8192, 200
_RESIDENTS = 65_536
_TIME_LENGTH = len("2026-11-02T18:00:00+00:00")
_SEPARATOR = "\x1f"  # ASCII's unit separator


def _lines(
    source: Source,
    flow: Flow,
    slots: dict[str, _Slot],
    where: str,
    params: list[object],
) -> Iterator[str]:
    """The rows as CSV text, their cells already marked (see :func:`bot.exports.cells.cell`).

    A row is put together from parts already CSV text: the run's own cells, then each
    question's. A million answers are a few thousand distinct ones (residents send the
    same few replies): the text of each (question, stored answer, reply, language) is
    worked out once, phone numbers hidden, texts marked and quoted, and put in each row
    having it; so are each resident's, and each word's (languages, channels, statuses).
    """
    text = CsvText()
    # Where each question's part goes in a row (the run's cells are the first part), and
    # a question not reached: as many empty cells as it has columns.
    part = {step_id: at for at, step_id in enumerate(slots, start=1)}
    blank = tuple(text([None] * (slot.end - slot.value)) for slot in slots.values())
    # Two queries over the same runs in the same order, read side by side, so that a
    # run's details come once rather than with each of its answers. Both follow indexes
    # (sessions_flow, then answers_session): nothing is sorted, whatever their number.
    runs = "FROM sessions s JOIN contacts c ON c.id = s.contact_id"
    heads = source.rows(
        "SELECT s.id, s.contact_id, c.channel, c.address, c.language, s.status, s.started_at,"
        f" s.ended_at {runs} WHERE s.flow_id = ?{where} ORDER BY s.started_at, s.id",
        [flow.id, *params],
    )
    # An answer as one text, its language, step, stored value and reply: one string to
    # make and hash a row, not four. Only the reply, last, may hold the separator (ids,
    # language codes and JSON as Parley writes it hold no control character).
    answers = source.rows(
        "SELECT s.id, a.language || ? || a.step_id || ? || a.value || ? || a.raw"
        f" FROM sessions s JOIN answers a ON a.session_id = s.id WHERE s.flow_id = ?{where}"
        " ORDER BY s.started_at, s.id, a.id",
        [_SEPARATOR, _SEPARATOR, _SEPARATOR, flow.id, *params],
    )
    time = source.time

    def when(stamp: str | None) -> str:
        """A stored time as shown: only one whose offset has seconds (local mean time,
        before time zones) is longer, and only that one needs a mark. Digits, dashes,
        colons and a plus sign: never quoted."""
        shown = time(stamp)
        if shown is None:
            return ""
        return text_cell(shown) if len(shown) > _TIME_LENGTH else shown

    residents: dict[int, str] = {}  # contact id -> their cells
    word = _Words(text)  # languages, channels and statuses: their cells

    def start(head: Sequence[Any], language: str | None) -> list[str]:
        session_id, contact_id, channel, address, contact_language, status, started, ended = head
        resident = residents.get(contact_id)
        if resident is None:
            if len(residents) >= _RESIDENTS:
                residents.clear()
            name, *shown = source.resident(contact_id, channel, address)
            # A pseudonym (R- and base 32) needs neither a mark nor quotes; an address may.
            cells = text([name, *map(cell, shown)]) if shown else str(name)
            resident = residents[contact_id] = cells
        return [
            f"{resident},{session_id},{word[language or contact_language]},{word[channel]},"
            f"{when(started)},{when(ended)},{word[STATUS.get(status, status)]}",
            *blank,
        ]

    # An answer (as read) -> the part it fills, and its text
    known: dict[str, tuple[int, str]] = {}
    row: list[str] = []  # none yet (a row is never empty)
    join = ",".join
    current = None
    resident_language = ""
    for session_id, answer in answers:
        if session_id != current:
            if row:
                yield join(row)
            for head in heads:  # runs without answers come first
                if head[0] == session_id:
                    break
                yield join(start(head, None))
            else:
                raise AssertionError(f"run {session_id} has answers but was not found")
            row, current = start(head, answer.partition(_SEPARATOR)[0] or None), session_id
            resident_language = head[4] or ""
        if answer[0] == _SEPARATOR:  # stored without a language: in the resident's
            answer = resident_language + answer
        found = known.get(answer)
        if found is None:
            language, step_id, value, raw = answer.split(_SEPARATOR, 3)
            slot = slots.get(step_id)
            if slot is None:
                continue  # a step the flow no longer asks
            at = part[step_id]
            cells = _cells(slot, value, raw, source, language or None)
            if _UNSET in cells:  # an odd stored value leaves a cell as it was
                was = text.cells(row[at], len(cells))
                row[at] = text([b if a is _UNSET else a for a, b in zip(cells, was, strict=True)])
                continue
            found = at, text(cells)
            if len(known) < _KNOWN and len(value) + len(raw) <= _KNOWN_LENGTH:
                known[answer] = found
        row[found[0]] = found[1]
    if row:
        yield join(row)
    for head in heads:
        yield join(start(head, None))


_UNSET: Any = object()


class _Words(dict[str | None, str]):
    """Cells of the few words a column holds (languages, channels, statuses), as text."""

    def __init__(self, text: CsvText) -> None:
        super().__init__()
        self._text = text

    def __missing__(self, word: str | None) -> str:
        shown = self[word] = self._text([cell(word)])
        return shown


def _cells(slot: _Slot, value: str, raw: str, source: Source, language: str | None) -> list[Any]:
    """The cells one stored answer puts in its question's columns, marked; _UNSET where
    it leaves a cell as it was. They depend on the stored answer, the reply and the
    language alone (the language decides whose phone numbers are hidden)."""
    scratch: list[Any] = [_UNSET] * (slot.end - slot.value)
    _fill(scratch, slot, value, raw, source, language)
    return [shown if shown is _UNSET else cell(shown) for shown in scratch]


def _fill(
    row: list[Any], slot: _Slot, value: str, raw: str, source: Source, language: str | None
) -> None:
    """Put one stored answer in its question's columns (counted from the first)."""
    text = source.text
    answer = _decoded(value)
    first = slot.value
    if isinstance(answer, list):
        chosen = [str(a) for a in answer]
        row[0] = " ".join(chosen)
        if slot.label is not None:
            row[slot.label - first] = "; ".join(slot.labels.get(a, a) for a in chosen)
    elif isinstance(answer, str):
        row[0] = text(answer, language) if slot.reply is None else answer
        if slot.label is not None:
            row[slot.label - first] = slot.labels.get(answer, answer)
    elif isinstance(answer, int | float):
        row[0] = source.number(answer, raw, language)
    if slot.reply is not None:
        row[slot.reply - first] = text(raw, language)
