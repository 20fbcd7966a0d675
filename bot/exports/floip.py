"""Survey responses as a FLOIP Flow Results package, so they load into other tools.

The package is a Frictionless Data Package: a ``datapackage.json`` descriptor whose one
resource describes the questions (id, type, label in the flow's language, choices) and
points to ``data/responses.csv``, one row per answer with the six columns the Flow Results
specification (1.0.0-rc1) defines: timestamp, row id, contact id, question id, response
and response metadata. Contact ids are the same pseudonymous ids as in the CSV exports.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

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
from bot.exports.cells import Sheet
from bot.exports.source import Filters, Source

VERSION = "1.0.0-rc1"
DATA_PATH = "data/responses.csv"
FIELDS = [
    {"name": "timestamp", "title": "Timestamp", "type": "datetime"},
    {"name": "row_id", "title": "Row ID", "type": "string"},
    {"name": "contact_id", "title": "Contact ID", "type": "string"},
    {"name": "question_id", "title": "Question ID", "type": "string"},
    {"name": "response", "title": "Response", "type": "any"},
    {"name": "response_metadata", "title": "Response Metadata", "type": "object"},
]
# ISO 639-3 codes, which the specification asks for, of the languages Parley ships.
ISO_639_3 = {
    "ar": "ara", "bn": "ben", "en": "eng", "es": "spa", "fa": "fas", "gu": "guj",
    "lt": "lit", "pa": "pan", "pl": "pol", "ps": "pus", "pt": "por", "ro": "ron",
    "so": "som", "ti": "tir", "uk": "ukr", "ur": "urd",
}  # fmt: skip


def question(item: Question, flow: Flow, languages: tuple[str, ...]) -> dict[str, Any]:
    """A question as the specification describes one."""
    kind, options = "text", dict[str, list[Any]]()
    match item:
        case ChoiceQuestion():
            kind = "select_many" if item.multiple else "select_one"
            options = {"choices": [option.id for option in item.options]}
        case YesNoQuestion():
            kind, options = "select_one", {"choices": ["yes", "no"]}
        case LanguageQuestion():
            kind, options = "select_one", {"choices": list(languages)}
        case ScaleQuestion():
            kind, options = "numeric", {"range": [item.low, item.high]}
        case NumberQuestion():
            kind = "numeric"
            if item.minimum is not None and item.maximum is not None:
                options = {"range": [item.minimum, item.maximum]}
        case TextQuestion():
            kind = "text"
    label = " ".join(item.text.get(flow.language, flow.language).split())
    return {"type": kind, "label": label, "type_options": options}


def descriptor(flow: Flow, languages: tuple[str, ...], now: datetime) -> dict[str, Any]:
    stamp = now.isoformat(timespec="seconds")
    schema: dict[str, Any] = {
        "fields": FIELDS,
        "questions": {q.id: question(q, flow, languages) for q in flow.questions()},
    }
    if flow.language in ISO_639_3:
        schema["language"] = ISO_639_3[flow.language]
    name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in flow.id.lower())
    return {
        "profile": "flow-results-package",
        "name": f"parley-{name}",
        "title": flow.title,
        "flow_results_specification_version": VERSION,
        "created": stamp,
        "modified": stamp,
        "id": str(uuid.uuid4()),
        "resources": [
            {
                "name": "responses",
                "path": DATA_PATH,
                "profile": "tabular-data-resource",
                "mediatype": "text/csv",
                "format": "csv",
                "encoding": "utf-8",
                "schema": schema,
            }
        ],
    }


# Responses remembered, and how long an answer may be to be remembered.
_KNOWN, _KNOWN_LENGTH = 8192, 200
_RESIDENTS = 65_536


def _rows(source: Source, flow: Flow, filters: Filters) -> Iterator[list[Any]]:
    where, params = filters.between("a.answered_at")
    asked = {q.id for q in flow.questions()}
    cursor = source.rows(
        "SELECT a.id, a.answered_at, a.contact_id, c.channel, c.address, a.step_id, a.value,"
        " a.raw, a.language, a.session_id FROM answers a JOIN contacts c ON c.id = a.contact_id"
        f" WHERE a.flow_id = ?{where} ORDER BY a.id",
        [flow.id, *params],
    )
    time, pseudonym = source.time, source.pseudonyms.of
    residents: dict[int, str] = {}  # contact id -> pseudonym, for the most recent
    # (question, stored answer, reply, language) -> the response, and its metadata after
    # the run: residents send the same few replies, each worked out once.
    known: dict[tuple[str, str, str, str], tuple[Any, str]] = {}
    for answer_id, at, contact_id, channel, address, step, value, raw, language, run in cursor:
        key = (step, value, raw, language)
        found = known.get(key)
        if found is None:
            if step not in asked:
                continue
            found = _response(source, value, raw, language)
            if len(known) < _KNOWN and len(value) + len(raw) <= _KNOWN_LENGTH:
                known[key] = found
        response, metadata = found
        resident = residents.get(contact_id)
        if resident is None:
            if len(residents) >= _RESIDENTS:
                residents.clear()
            resident = residents[contact_id] = pseudonym(contact_id, channel, address)
        yield [
            time(at),
            str(answer_id),
            resident,
            step,
            response,
            f'{{"run": "{run}", {metadata}',
        ]


def _response(source: Source, value: str, raw: str, language: str) -> tuple[Any, str]:
    """An answer's response cell, and its metadata as JSON without the opening brace
    and the run (which comes first, and differs from row to row)."""
    response = json.loads(value)
    if isinstance(response, list):
        response = json.dumps(response, ensure_ascii=False)
    elif isinstance(response, str):
        response = source.text(response, language)
    else:
        response = source.number(response, raw, language)
    metadata = {"reply": source.text(raw, language)}
    if language in ISO_639_3:
        metadata["language"] = ISO_639_3[language]
    return response, json.dumps(metadata, ensure_ascii=False)[1:]


@contextmanager
def _files(target: Path) -> Iterator[Callable[[str], IO[str]]]:
    """Where the package's two files go: a zip file (``*.zip``) or a folder. Both are
    made beside the target under a temporary name and moved into place only once
    complete, so a failed export leaves nothing behind."""
    in_use = target.exists() and (target.is_file() or any(target.iterdir()))
    if in_use and target.suffix.lower() != ".zip":
        raise ExportError(f"{target} is not an empty folder: give a new folder or a .zip")
    parent = target.parent if str(target.parent) else Path(".")
    if target.suffix.lower() == ".zip":
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=parent)
        os.close(handle)
        temporary = Path(name)
        try:
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:

                def open_zip(name: str) -> IO[str]:
                    return io.TextIOWrapper(archive.open(name, "w"), encoding="utf-8", newline="")

                yield open_zip
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        (folder / "data").mkdir()

        def open_file(name: str) -> IO[str]:
            return (folder / name).open("w", encoding="utf-8", newline="")

        yield open_file
        if target.exists():
            target.rmdir()  # empty, as checked
        os.replace(folder, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write(
    source: Source,
    filters: Filters,
    languages: tuple[str, ...],
    target: Path,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the package for the flow ``filters`` names; the number of responses."""
    if filters.flow_id is None:
        raise ExportError("floip: say which flow (--flow ID; a poll's flow is poll-N)")
    flow = source.flows(filters.flow_id)
    if flow is None:
        raise ExportError(f"floip: there is no flow '{filters.flow_id}'")
    with _files(target) as open_file:
        with open_file("datapackage.json") as out:
            json.dump(descriptor(flow, languages, now), out, ensure_ascii=False, indent=2)
        with open_file(DATA_PATH) as out:
            # For programs: cells exactly as they are, no spreadsheet marks.
            sheet = Sheet(out, [field["name"] for field in FIELDS], safe=False)
            return sheet.write_all(_rows(source, flow, filters), progress)
