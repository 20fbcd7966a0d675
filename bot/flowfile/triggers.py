"""Read and check ``triggers.yaml``: keyword triggers, with ``file:line`` problems.

::

    triggers:
      - flow: welcome          # the flow the word starts
        words:                 # per language; every language's words work for everyone
          en: [join]
          pl: [dołącz]
        field: area            # optional: a code after the word sets this contact field
        codes:                 # code on the poster: the value stored
          NORTH: North
          SOUTH: South
      - flow: idea
        words: {en: [idea]}
        answer: true           # "IDEA more benches": the rest answers the first question
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.engine.flow import OPEN_POLLS, Flow, Question, TextQuestion
from bot.errors import FlowError
from bot.flowfile.reader import FlowReader, Skip
from bot.flowfile.yamllines import (
    LineList,
    LineMap,
    SourceError,
    load_yaml,
    problem_of,
    read_source,
)
from bot.lang.normalize import key
from bot.lang.words import is_reserved, yes_no_of
from bot.triggers import MAX_CODE, TRIGGERS_FILE, Trigger, Triggers

TRIGGER_KEYS = ("flow", "words", "field", "codes", "answer")
_RESERVED_FIELDS = frozenset({"language", "consent"})


def read_triggers(
    text: str, path: str, flows: Mapping[str, Flow]
) -> tuple[Triggers, list[tuple[int, str]]]:
    """The triggers in ``text`` and the problems found, as (line, "path:line: what")."""
    reader = FlowReader(path)
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as error:
        line, what = problem_of(error, hint=False)
        return Triggers(), [(line, f"{path}:{line}: {what}")]
    if data is None:
        return Triggers(), []
    if not isinstance(data, LineMap) or not isinstance(data.get("triggers"), LineList):
        return Triggers(), [(1, f"{path}:1: the file must have 'triggers:', a list")]
    reader.unknown_keys(data, ("triggers",))
    triggers: list[Trigger] = []
    owners: dict[str, int] = {}  # folded word -> line of the trigger that has it
    for index, item in enumerate(data["triggers"]):
        line = data["triggers"].line_of(index)
        reader.where = f"trigger {index + 1}: "
        if not isinstance(item, LineMap):
            reader.problem(line, "must be a map with 'flow' and 'words'")
            continue
        try:
            trigger = _read_trigger(reader, item, flows)
        except Skip:
            continue
        for word in _all_words(trigger):
            folded = key(word)
            if folded in owners and owners[folded] != item.line:
                reader.problem(
                    item.line_of("words"),
                    f"'{word}' is already a word of the trigger on line {owners[folded]}",
                )
            owners.setdefault(folded, item.line)
        triggers.append(trigger)
    return Triggers(triggers), sorted(reader.problems)


def _all_words(trigger: Trigger) -> list[str]:
    return [word for words in trigger.words.values() for word in words]


def _read_trigger(reader: FlowReader, item: LineMap, flows: Mapping[str, Flow]) -> Trigger:
    reader.unknown_keys(item, TRIGGER_KEYS)
    flow_id = reader.identifier(item, "flow", "flow id")
    if flow_id not in flows and flow_id != OPEN_POLLS:
        raise reader.fail(item.line_of("flow"), f"there is no flow '{flow_id}'")
    if not isinstance(item.get("words"), dict) or not item["words"]:
        raise reader.fail(item.line, "'words' must map a language to a list, like en: [join]")
    words = reader.words(item)
    for language, listed in words.items():
        at = item["words"].line_of(language)
        if not listed:
            reader.problem(at, f"no words in '{language}'")
        for word in listed:
            folded = key(word)
            if not folded or " " in folded:
                reader.problem(at, f"'{word}' must be one word")
            elif folded.isdigit() or is_reserved(word) or yes_no_of(word, (language,)) is not None:
                reader.problem(
                    at, f"'{word}' is a number, a keyword or a yes/no answer; choose another word"
                )
    field = item.get("field")
    codes_data: Any = item.get("codes")
    codes: dict[str, str] = {}
    if field is not None:
        field = reader.identifier(item, "field", "field")
        if field in _RESERVED_FIELDS:
            reader.problem(item.line_of("field"), f"'{field}' is set by its own question")
        if not isinstance(codes_data, LineMap) or not codes_data:
            raise reader.fail(item.line_of("field"), "'field' needs 'codes', like NORTH: North")
        for code, value in codes_data.items():
            at = codes_data.line_of(code)
            folded = key(str(code))
            if not folded or " " in folded or len(str(code)) > MAX_CODE:
                reader.problem(at, f"code '{code}' must be one word of up to {MAX_CODE} letters")
            elif not isinstance(value, str | int) or not str(value).strip():
                reader.problem(at, f"code '{code}' needs a value, like {code}: North")
            elif folded in codes:
                reader.problem(at, f"code '{code}' is listed twice")
            else:
                codes[folded] = str(value).strip()
    elif codes_data is not None:
        reader.problem(item.line_of("codes"), "'codes' need 'field': the contact field they set")
    answer = item.get("answer", False)
    if not isinstance(answer, bool):
        reader.problem(item.line_of("answer"), "'answer' is true or false")
        answer = False
    elif answer and field is not None:
        reader.problem(item.line_of("answer"), "a trigger takes a code or an answer, not both")
        answer = False
    elif answer and not _asks_text_first(flows[flow_id]):
        reader.problem(
            item.line_of("answer"),
            f"'answer: true' needs flow '{flow_id}' to start with a text question",
        )
        answer = False
    return Trigger(flow_id, words, field, codes, item.line, answer)


def _asks_text_first(flow: Flow) -> bool:
    first = next((step for step in flow.steps if isinstance(step, Question)), None)
    return isinstance(first, TextQuestion)


def load_triggers(
    directory: Path, flows: Mapping[str, Flow], shown_as: str | None = None
) -> Triggers:
    """``directory/triggers.yaml`` (none if absent); raises FlowError listing problems."""
    path = directory / TRIGGERS_FILE
    if not path.exists():
        return Triggers()
    prefix = shown_as if shown_as is not None else str(directory)
    shown = f"{prefix}/{TRIGGERS_FILE}"
    try:
        text = read_source(path)
    except SourceError as error:
        raise FlowError([f"{shown}:{error.line}: {error.what}"]) from None
    triggers, problems = read_triggers(text, shown, flows)
    if problems:
        raise FlowError([message for _, message in problems])
    return triggers
