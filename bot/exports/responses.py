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
from dataclasses import dataclass, field
from typing import Any

from bot.engine.flow import ChoiceQuestion, Flow, Question, TextQuestion
from bot.errors import ExportError
from bot.exports.cells import Cell
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
    # (stored answer, reply, language) -> its cells, for all but text questions:
    # residents send the same few replies, and each is worked out once per language
    # (which decides whose phone numbers are hidden in the reply).
    known: dict[tuple[str, str, str | None], list[Cell]] = field(default_factory=dict)


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
    return Table([*fixed, *questions], _rows(source, flow, slots, len(fixed), where, params), total)


def _rows(
    source: Source,
    flow: Flow,
    slots: dict[str, _Slot],
    fixed: int,
    where: str,
    params: list[object],
) -> Iterator[list[Cell]]:
    width = fixed + sum(slot.end - slot.value for slot in slots.values())
    # Two queries over the same runs in the same order, read side by side, so that a
    # run's details come once rather than with each of its answers. Both follow indexes
    # (sessions_flow, then answers_session): nothing is sorted, whatever their number.
    runs = "FROM sessions s JOIN contacts c ON c.id = s.contact_id"
    heads = source.tx.execute(
        "SELECT s.id, s.contact_id, c.channel, c.address, c.language, s.status, s.started_at,"
        f" s.ended_at {runs} WHERE s.flow_id = ?{where} ORDER BY s.started_at, s.id",
        [flow.id, *params],
    )
    answers = source.tx.execute(
        "SELECT s.id, a.step_id, a.value, a.raw, a.language FROM sessions s"
        f" JOIN answers a ON a.session_id = s.id WHERE s.flow_id = ?{where}"
        " ORDER BY s.started_at, s.id, a.id",
        [flow.id, *params],
    )

    def start(head: Sequence[Any], language: str | None) -> list[Cell]:
        session_id, contact_id, channel, address, contact_language, status, started, ended = head
        row: list[Cell] = [None] * width
        resident = source.resident(contact_id, channel, address)
        row[: len(resident)] = resident
        at = len(resident)
        row[at : at + 6] = [
            session_id,
            language or contact_language,
            channel,
            source.time(started),
            source.time(ended),
            STATUS.get(status, status),
        ]
        return row

    row: list[Cell] | None = None
    current = None
    resident_language: str | None = None
    for session_id, step_id, value, raw, language in answers:
        if session_id != current:
            if row is not None:
                yield row
            for head in heads:  # runs without answers come first
                if head[0] == session_id:
                    break
                yield start(head, None)
            else:
                raise AssertionError(f"run {session_id} has answers but was not found")
            row, current = start(head, language), session_id
            resident_language = head[4]
        assert row is not None
        said_in = language or resident_language
        slot = slots.get(step_id)
        if slot is None:
            continue  # a step the flow no longer asks
        if slot.reply is None:  # a text question: seldom twice the same answer
            _fill(row, slot, value, raw, source, said_in)
            continue
        cells = slot.known.get((value, raw, said_in))
        if cells is None:
            cells = _learn(slot, value, raw, source, width, said_in)
            if cells is None:
                _fill(row, slot, value, raw, source, said_in)
                continue
        row[slot.value : slot.end] = cells
    if row is not None:
        yield row
    for head in heads:
        yield start(head, None)


_UNSET = object()
# Answers remembered per question, and how long one may be: memory stays bounded.
_KNOWN, _KNOWN_LENGTH = 2048, 200


def _learn(
    slot: _Slot, value: str, raw: str, source: Source, width: int, language: str | None
) -> list[Cell] | None:
    """The cells an answer fills, remembered; None if it leaves one of its question's
    cells as it was (an odd stored value), is long, or too many are remembered."""
    if len(slot.known) >= _KNOWN or len(value) + len(raw) > _KNOWN_LENGTH:
        return None
    scratch: list[Any] = [_UNSET] * width
    _fill(scratch, slot, value, raw, source, language)
    cells = scratch[slot.value : slot.end]
    if _UNSET in cells:
        return None
    slot.known[value, raw, language] = cells
    return cells


def _fill(
    row: list[Any], slot: _Slot, value: str, raw: str, source: Source, language: str | None
) -> None:
    """Put one stored answer in its question's columns: what it fills depends on the
    stored answer, the reply and the language alone (see :func:`_learn`)."""
    text = source.text
    answer = _decoded(value)
    if isinstance(answer, list):
        chosen = [str(a) for a in answer]
        row[slot.value] = " ".join(chosen)
        if slot.label is not None:
            row[slot.label] = "; ".join(slot.labels.get(a, a) for a in chosen)
    elif isinstance(answer, str):
        row[slot.value] = text(answer, language) if slot.reply is None else answer
        if slot.label is not None:
            row[slot.label] = slot.labels.get(answer, answer)
    elif isinstance(answer, int | float):
        row[slot.value] = source.number(answer, raw, language)
    if slot.reply is not None:
        row[slot.reply] = text(raw, language)
