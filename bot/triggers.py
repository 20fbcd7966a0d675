"""Keyword triggers: a word on a poster that starts a flow, with an optional code.

"JOIN NORTH" starts the welcome and records the resident's area as North; "IDEA"
starts the idea flow, and "IDEA more benches" answers its first question at once. The
words work in every language of the file at once (a resident may text the poster's
English word or their own), are matched like keywords — case, accents and punctuation
aside — and are configured in
``flows/triggers.yaml``, read and checked by :mod:`bot.flowfile.triggers`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.lang.normalize import key

TRIGGERS_FILE = "triggers.yaml"
"""The file in the flows folder that holds the triggers."""

MAX_CODE = 20
"""A code is one short word: "NORTH", "B12". Anything longer is not a poster's code."""


@dataclass(frozen=True)
class Trigger:
    flow: str
    words: Mapping[str, tuple[str, ...]]  # by language
    field: str | None = None  # the contact field a code sets
    codes: Mapping[str, str] = dataclasses.field(default_factory=dict)  # folded code -> field value
    line: int = 0
    answer: bool = False  # the words after it answer the flow's first question


@dataclass(frozen=True)
class Triggered:
    """A message that is a trigger word, alone or with a code."""

    trigger: Trigger
    code: str | None = None  # as the resident typed it
    value: str | None = None  # the field's value for a known code
    text: str | None = None  # for an answering trigger: the answer, as typed

    @property
    def unknown_code(self) -> bool:
        return self.code is not None and self.value is None


class Triggers:
    """All triggers, indexed by their folded words."""

    def __init__(self, triggers: Iterable[Trigger] = ()) -> None:
        self.all = tuple(triggers)
        self._by_word: dict[str, Trigger] = {
            key(word): trigger
            for trigger in self.all
            for words in trigger.words.values()
            for word in words
        }

    def words(self) -> frozenset[str]:
        """Every trigger word, folded."""
        return frozenset(self._by_word)

    def match(self, text: str) -> Triggered | None:
        """The trigger ``text`` is, or None. A trigger with codes also matches with one
        short word after it (known or not); an answering trigger with any text after it;
        any other only on its own."""
        parts = text.split(None, 1)
        trigger = self._by_word.get(key(parts[0])) if parts else None
        if trigger is None:
            return None
        code = parts[1].strip() if len(parts) > 1 else ""
        if not key(code):
            return Triggered(trigger)
        if trigger.answer:
            return Triggered(trigger, text=code)
        if not trigger.codes or " " in code or len(code) > MAX_CODE:
            return None
        return Triggered(trigger, code, trigger.codes.get(key(code)))
