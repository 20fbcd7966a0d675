"""Build a :class:`~bot.engine.flow.Flow` from a flow file's YAML, collecting every problem.

Each problem is one line ``path:LINE: step 'id': what is wrong``, so an author can fix a
whole file in one pass. Graph checks (references, reachability) are in :mod:`.checks`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import timedelta
from itertools import chain
from typing import Any

from bot.engine.flow import (
    MAX_OPTIONS,
    BranchStep,
    Case,
    ChoiceQuestion,
    EndStep,
    Flow,
    LanguageQuestion,
    Localized,
    MessageStep,
    NumberQuestion,
    OnFail,
    Option,
    Question,
    ScaleQuestion,
    SetStep,
    Step,
    TextQuestion,
    YesNoQuestion,
)
from bot.flowfile.yamllines import LineList, LineMap
from bot.lang.normalize import key as fold_key
from bot.lang.words import is_reserved

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

FLOW_KEYS = ("flow", "title", "language", "expiry", "attempts", "on_fail", "steps")
_COMMON = ("id", "type", "goto")
_QUESTION = (*_COMMON, "text", "field", "attempts", "on_fail")
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "message": (*_COMMON, "text"),
    "choice": (*_QUESTION, "options", "multiple"),
    "number": (*_QUESTION, "min", "max", "decimals"),
    "text": (*_QUESTION, "max_length"),
    "yesno": _QUESTION,
    "scale": (*_QUESTION, "min", "max"),
    "language": tuple(k for k in _QUESTION if k != "field"),
    "branch": ("id", "type", "on", "cases", "else"),
    "set": (*_COMMON, "field", "value"),
    "end": ("id", "type", "text", "then"),
}


class Skip(Exception):
    """Raised inside a step after a problem was reported, to stop reading that step."""


class FlowReader:
    """Reads one flow file's data; ``problems`` lists what is wrong, in file order."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []
        self.source = "en"
        self.where = ""

    # -- reporting -------------------------------------------------------------------

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, f"{self.path}:{line}: {self.where}{message}"))

    def fail(self, line: int, message: str) -> Skip:
        self.problem(line, message)
        return Skip()

    def unknown_keys(self, data: LineMap, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                self.problem(data.line_of(key), f"unknown key '{key}'{_suggest(key, allowed)}")

    # -- values ----------------------------------------------------------------------

    def required(self, data: LineMap, key: str, hint: str = "") -> Any:
        if key not in data or data[key] is None:
            raise self.fail(data.line, f"missing '{key}'{hint}")
        return data[key]

    def typed(self, data: LineMap, key: str, kind: type, default: Any, what: str) -> Any:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(data.line_of(key), f"'{key}' must be {what}")
            return default
        return value

    def identifier(self, data: LineMap, key: str, what: str) -> str:
        value = self.required(data, key)
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(
                data.line_of(key),
                f"{what} {value!r} must be lowercase letters, digits and _ (like 'q1')",
            )
        return value

    def localized(self, data: LineMap, key: str, required: bool = True) -> Localized | None:
        if key not in data or data[key] is None:
            if required:
                raise self.fail(data.line, f"missing '{key}'")
            return None
        value, line = data[key], data.line_of(key)
        if isinstance(value, str):
            value = {self.source: value}
        if not isinstance(value, dict):
            raise self.fail(line, f"'{key}' must be a text or a map of language: text")
        texts: dict[str, str] = {}
        for language, text in value.items():
            at = value.line_of(language) if isinstance(value, LineMap) else line
            if not _LANGUAGE.match(language):
                self.problem(at, f"'{language}' is not a language code (like 'pl' or 'ar')")
            elif not isinstance(text, str | int) or isinstance(text, bool):
                self.problem(at, f"'{key}' in '{language}' must be a text")
                texts[language] = ""
            elif not str(text).strip():
                self.problem(at, f"'{key}' in '{language}' is empty")
                texts[language] = ""
            else:
                texts[language] = str(text).strip()
        if texts.get(self.source) == "":
            raise Skip()  # already reported as empty or not a text
        texts = {language: text for language, text in texts.items() if text}
        if self.source not in texts:
            raise self.fail(
                line, f"'{key}' has no '{self.source}' version (the flow's source language)"
            )
        return Localized(texts)

    def text(self, data: LineMap, key: str = "text") -> Localized:
        """A required localized text."""
        text = self.localized(data, key)
        assert text is not None
        return text

    def words(self, data: LineMap) -> dict[str, tuple[str, ...]]:
        value = data.get("words")
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(
            isinstance(words, list) and all(isinstance(w, str | int) for w in words)
            for words in value.values()
        ):
            raise self.fail(data.line_of("words"), "'words' must map a language to a list")
        return {language: tuple(str(w) for w in words) for language, words in value.items()}

    def on_fail(self, data: LineMap) -> OnFail | None:
        value = data.get("on_fail")
        if value is None:
            return None
        try:
            return OnFail(value)
        except ValueError:
            raise self.fail(data.line_of("on_fail"), "'on_fail' must be 'skip' or 'end'") from None

    def attempts(self, data: LineMap) -> int | None:
        value = self.typed(data, "attempts", int, None, "a whole number of tries, 1 or more")
        if value is not None and value < 1:
            self.problem(data.line_of("attempts"), "'attempts' must be 1 or more")
        return value  # type: ignore[no-any-return]

    def number(self, data: LineMap, key: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(data.line_of(key), f"'{key}' must be a number")
        return value

    # -- the flow --------------------------------------------------------------------

    def read(self, data: Any, expected_id: str) -> Flow | None:
        if not isinstance(data, LineMap):
            self.problem(1, "a flow file must be a map with 'flow', 'title', 'steps' …")
            return None
        self.unknown_keys(data, FLOW_KEYS)
        try:
            flow_id = self.identifier(data, "flow", "flow id")
            language = self.required(data, "language", " (the source language, like 'en')")
            if not isinstance(language, str) or not _LANGUAGE.match(language):
                raise self.fail(data.line_of("language"), f"'{language}' is not a language code")
            self.source = language
            title = self.required(data, "title")
            expiry = self.duration(data)
            steps_data = self.required(data, "steps")
        except Skip:
            return None
        if flow_id != expected_id:
            self.problem(
                data.line_of("flow"),
                f"flow id '{flow_id}' must match the file name '{expected_id}.yaml'",
            )
        if not isinstance(steps_data, LineList) or not steps_data:
            self.problem(data.line_of("steps"), "'steps' must be a list of at least one step")
            return None
        steps = self.steps(steps_data)
        self.where = ""
        flow = Flow(
            id=flow_id,
            title=str(title),
            language=language,
            expiry=expiry,
            steps=tuple(steps),
            attempts=self.attempts(data) or 3,
            on_fail=self._guard(lambda: self.on_fail(data)) or OnFail.SKIP,
            path=self.path,
        )
        return flow

    def _guard(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Skip:
            return None

    def duration(self, data: LineMap) -> timedelta:
        value = self.required(data, "expiry", " (how long to wait for a reply, like 3d or 12h)")
        match = _DURATION.match(str(value).strip())
        if not match:
            raise self.fail(
                data.line_of("expiry"),
                f"'expiry' {value!r} must be a number and a unit m, h, d or w (like 3d)",
            )
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})

    def steps(self, items: LineList) -> list[Step]:
        steps: list[Step] = []
        first_line: dict[str, int] = {}
        for index, item in enumerate(items):
            self.where = ""
            line = items.line_of(index)
            if not isinstance(item, LineMap):
                self.problem(line, f"step {index + 1} must be a map with 'id' and 'type'")
                continue
            raw_id = item.get("id")
            self.where = f"step '{raw_id}': " if raw_id else f"step {index + 1}: "
            try:
                step = self.step(item)
            except Skip:
                continue
            if step.id in first_line:
                self.problem(line, f"duplicate step id (first used on line {first_line[step.id]})")
                continue
            first_line[step.id] = line
            steps.append(step)
        return steps

    def step(self, data: LineMap) -> Step:
        step_id = self.identifier(data, "id", "step id")
        kind = self.required(data, "type")
        if not isinstance(kind, str) or kind not in STEP_KEYS:
            raise self.fail(
                data.line_of("type"),
                f"unknown step type '{kind}'{_suggest(str(kind), tuple(STEP_KEYS))};"
                f" step types are: {', '.join(STEP_KEYS)}",
            )
        self.unknown_keys(data, STEP_KEYS[kind])
        common: dict[str, Any] = {"id": step_id, "line": data.line}
        if "goto" in data:
            common["goto"] = self.identifier(data, "goto", "goto")
        if kind == "message":
            return MessageStep(**common, text=self.text(data))
        if kind == "branch":
            return self.branch(data, common)
        if kind == "set":
            return SetStep(
                **common,
                field=self.identifier(data, "field", "field"),
                value=str(self.required(data, "value")),
            )
        if kind == "end":
            then = self.identifier(data, "then", "flow") if "then" in data else None
            return EndStep(**common, text=self.localized(data, "text", required=False), then=then)
        return self.question(kind, data, common)

    def question(self, kind: str, data: LineMap, common: dict[str, Any]) -> Question:
        common["text"] = self.text(data)
        common["attempts"] = self.attempts(data)
        common["on_fail"] = self.on_fail(data)
        if kind != "language" and "field" in data:
            common["field"] = self.identifier(data, "field", "field")
        if kind == "choice":
            multiple = self.typed(data, "multiple", bool, False, "true or false")
            return ChoiceQuestion(**common, options=self.options(data), multiple=multiple)
        if kind == "number":
            low, high = self.number(data, "min"), self.number(data, "max")
            if low is not None and high is not None and low > high:
                self.problem(data.line_of("min"), f"'min' {low} is more than 'max' {high}")
            decimals = self.typed(data, "decimals", bool, False, "true or false")
            return NumberQuestion(**common, minimum=low, maximum=high, decimals=decimals)
        if kind == "text":
            limit = self.typed(data, "max_length", int, 500, "a whole number of characters")
            if limit < 1:
                self.problem(data.line_of("max_length"), "'max_length' must be 1 or more")
            return TextQuestion(**common, max_length=limit)
        if kind == "scale":
            low = self.typed(data, "min", int, 1, "a whole number")
            high = self.typed(data, "max", int, 5, "a whole number")
            if not 0 <= low < high or high - low + 1 > MAX_OPTIONS + 1:
                self.problem(
                    data.line_of("min"),
                    f"scale {low} to {high} must go up and have at most 10 points (like 1 to 5)",
                )
            return ScaleQuestion(**common, low=low, high=high)
        if kind == "yesno":
            return YesNoQuestion(**common)
        return LanguageQuestion(**common)

    def options(self, data: LineMap) -> tuple[Option, ...]:
        items = self.required(data, "options")
        line = data.line_of("options")
        if not isinstance(items, LineList) or len(items) < 2:
            raise self.fail(line, "'options' must be a list of at least 2 options")
        if len(items) > MAX_OPTIONS:
            self.problem(
                line,
                f"{len(items)} options, but at most {MAX_OPTIONS} fit one-digit replies; "
                "split the question",
            )
        options: list[Option] = []
        seen: set[str] = set()
        owners: dict[str, str] = {}  # folded word -> the option it names
        for index, item in enumerate(items):
            at = items.line_of(index)
            if not isinstance(item, LineMap):
                self.problem(at, f"option {index + 1} must be a map with 'id' and 'text'")
                continue
            try:
                self.unknown_keys(item, ("id", "text", "words", "exclusive"))
                option_id = self.identifier(item, "id", "option id")
                label = self.text(item)
                words = self.words(item)
                exclusive = self.typed(item, "exclusive", bool, False, "true or false")
            except Skip:
                continue
            if option_id in seen:
                self.problem(at, f"duplicate option id '{option_id}'")
            seen.add(option_id)
            for text in (*label.texts.values(), *(w for ws in words.values() for w in ws)):
                if is_reserved(text):
                    self.problem(
                        at,
                        f"option '{option_id}': '{text}' is a keyword (like STOP or HELP) "
                        "and would never reach the question",
                    )
            for text in (option_id, *label.texts.values(), *chain(*words.values())):
                other = owners.setdefault(fold_key(text), option_id)
                if other != option_id and fold_key(text):
                    self.problem(
                        at,
                        f"option '{option_id}': '{text}' also names option '{other}', "
                        "so a resident who sends it would always get the first",
                    )
            options.append(Option(option_id, label, words, exclusive))
        return tuple(options)

    def branch(self, data: LineMap, common: dict[str, Any]) -> BranchStep:
        on = self.identifier(data, "on", "'on'")
        items = self.required(data, "cases")
        if not isinstance(items, LineList) or not items:
            raise self.fail(data.line_of("cases"), "'cases' must be a list of at least 1 case")
        cases: list[Case] = []
        for index, item in enumerate(items):
            at = items.line_of(index)
            if not isinstance(item, LineMap):
                self.problem(at, f"case {index + 1} must be a map with 'is' or 'min'/'max'")
                continue
            self.unknown_keys(item, ("is", "min", "max", "goto"))
            try:
                goto = self.identifier(item, "goto", "goto")
                low, high = self.number(item, "min"), self.number(item, "max")
            except Skip:
                continue
            raw = item.get("is")
            values = tuple(raw) if isinstance(raw, list) else (() if raw is None else (raw,))
            values = tuple("yes" if v is True else "no" if v is False else v for v in values)
            if not values and low is None and high is None:
                self.problem(at, f"case {index + 1} needs 'is', 'min' or 'max'")
                continue
            cases.append(Case(goto, values, low, high, at))
        otherwise = self.identifier(data, "else", "else") if "else" in data else None
        return BranchStep(
            id=common["id"], line=common["line"], on=on, cases=tuple(cases), otherwise=otherwise
        )


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""
