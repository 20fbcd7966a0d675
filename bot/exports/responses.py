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
from collections.abc import Iterator
from dataclasses import dataclass

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
        slots[question.id] = _Slot(question, at, label, reply, labels)
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
    width = fixed + sum(
        1 + (slot.label is not None) + (slot.reply is not None) for slot in slots.values()
    )
    cursor = source.tx.execute(
        "SELECT s.id, s.contact_id, c.channel, c.address, c.language, s.status,"
        " s.started_at, s.ended_at, a.step_id, a.value, a.raw, a.language"
        " FROM sessions s JOIN contacts c ON c.id = s.contact_id"
        " LEFT JOIN answers a ON a.session_id = s.id"
        f" WHERE s.flow_id = ?{where} ORDER BY s.started_at, s.id, a.id",
        [flow.id, *params],
    )
    row: list[Cell] | None = None
    current = None
    text = source.text
    for (
        session_id,
        contact_id,
        channel,
        address,
        contact_language,
        status,
        started,
        ended,
        step_id,
        value,
        raw,
        language,
    ) in cursor:
        if session_id != current:
            if row is not None:
                yield row
            current = session_id
            row = [None] * width
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
        assert row is not None
        slot = slots.get(step_id) if step_id is not None else None
        if slot is None:
            continue  # no answer yet, or a step the flow no longer asks
        answer = _decoded(value)
        if isinstance(answer, list):
            chosen = [str(a) for a in answer]
            row[slot.value] = " ".join(chosen)
            if slot.label is not None:
                row[slot.label] = "; ".join(slot.labels.get(a, a) for a in chosen)
        elif isinstance(answer, str):
            row[slot.value] = text(answer) if slot.reply is None else answer
            if slot.label is not None:
                row[slot.label] = slot.labels.get(answer, answer)
        elif isinstance(answer, int | float):
            row[slot.value] = answer
        if slot.reply is not None:
            row[slot.reply] = text(raw)
    if row is not None:
        yield row
