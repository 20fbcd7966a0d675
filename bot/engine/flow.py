"""What a flow is, once loaded: immutable steps that the engine walks.

Flow files (``flows/*.yaml``) are turned into these objects by :mod:`bot.flowfile`,
which also checks them; the engine trusts what it is given.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import chain
from typing import Any, TypeAlias

from bot.lang.normalize import key

# An answer as stored: an option id, option ids, a number, "yes"/"no" or free text.
Value: TypeAlias = str | int | float | list[str]

MAX_OPTIONS = 9
"""Options are numbered 1-9 so a reply is one keypress on any phone."""

OPEN_POLLS = "polls"
"""A flow a flow file's ``then`` (or a trigger) may start without defining it: the polls
open right now, made by Parley from the database (bot/polls.py)."""


@dataclass(frozen=True)
class Localized:
    """A text in several languages; the flow's source language is always present."""

    texts: Mapping[str, str]

    def get(self, language: str, fallback: str) -> str:
        return self.texts.get(language) or self.texts[fallback]


@dataclass(frozen=True)
class Option:
    """One numbered option of a choice question."""

    id: str
    label: Localized
    # Extra words accepted for this option, per language (e.g. "flat" for "Housing").
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Chosen only on its own in a multiple choice ("None of these").
    exclusive: bool = False


class OnFail(enum.Enum):
    """What happens after the last unparseable reply to a question."""

    SKIP = "skip"
    END = "end"


@dataclass(frozen=True, kw_only=True)
class Step:
    """A step of a flow. ``goto`` overrides "carry on with the next step"."""

    id: str
    line: int = 0
    goto: str | None = None


@dataclass(frozen=True, kw_only=True)
class MessageStep(Step):
    text: Localized


@dataclass(frozen=True, kw_only=True)
class Question(Step):
    """A step that waits for the resident's reply."""

    text: Localized
    field: str | None = None  # also store the answer in this contact field
    attempts: int | None = None  # None: the flow's default
    on_fail: OnFail | None = None


def option_words(options: tuple[Option, ...]) -> Mapping[str, int]:
    """Folded word -> option position, for every word that names an option: its id, its
    label and its extra words in any language (a resident may type the English label
    back). The first option to claim a word keeps it."""
    index: dict[str, int] = {}
    for position, option in enumerate(options):
        words = (option.id, *option.label.texts.values(), *chain(*option.words.values()))
        for word in words:
            folded = key(word)
            if folded:
                index.setdefault(folded, position)
    return index


@dataclass(frozen=True, kw_only=True)
class ChoiceQuestion(Question):
    options: tuple[Option, ...]
    multiple: bool = False
    words: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", option_words(self.options))


@dataclass(frozen=True, kw_only=True)
class NumberQuestion(Question):
    minimum: float | None = None
    maximum: float | None = None
    decimals: bool = False


@dataclass(frozen=True, kw_only=True)
class TextQuestion(Question):
    max_length: int = 500


@dataclass(frozen=True, kw_only=True)
class YesNoQuestion(Question):
    pass


@dataclass(frozen=True, kw_only=True)
class ScaleQuestion(Question):
    low: int = 1
    high: int = 5


@dataclass(frozen=True, kw_only=True)
class LanguageQuestion(Question):
    """Offers the deployment's languages in their own names; sets the contact's language."""


@dataclass(frozen=True)
class BallotItem:
    """A project on a budgeting ballot."""

    id: str  # how the ballot records it (the bid's number)
    title: Localized
    description: Localized
    cost: int  # whole units of the ballot's currency
    proposer: str = ""


@dataclass(frozen=True, kw_only=True)
class BallotQuestion(Question):
    """A participatory budgeting ballot: choose projects within the budget
    (``within_budget``), up to ``limit`` of them, or rank up to ``limit`` (``ranked``).
    See :mod:`bot.engine.ballot`."""

    items: tuple[BallotItem, ...]
    budget: int
    currency: str  # ISO 4217
    language: str  # the language the projects were written in
    limit: int | None = None
    within_budget: bool = True
    ranked: bool = False


@dataclass(frozen=True)
class Case:
    """A branch case: matches when the answer is one of ``values`` or within the bounds."""

    goto: str
    values: tuple[str | int | float, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class BranchStep(Step):
    on: str
    cases: tuple[Case, ...]
    otherwise: str | None = None  # None: the next step


@dataclass(frozen=True, kw_only=True)
class SetStep(Step):
    field: str
    value: str


@dataclass(frozen=True, kw_only=True)
class EndStep(Step):
    text: Localized | None = None
    then: str | None = None  # a flow to start next


@dataclass(frozen=True)
class Flow:
    id: str
    title: str
    language: str
    expiry: timedelta
    steps: tuple[Step, ...]
    attempts: int = 3
    on_fail: OnFail = OnFail.SKIP
    path: str = ""
    _positions: Mapping[str, int] = field(init=False, repr=False, compare=False)
    # Questions as rendered per (step id, language, page, env); filled by the engine as it
    # goes. A memo of a pure function, so it never changes what the engine returns.
    rendered: dict[tuple[object, ...], Any] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_positions", {s.id: i for i, s in enumerate(self.steps)})

    def position(self, step_id: str) -> int:
        return self._positions[step_id]

    def step(self, step_id: str) -> Step:
        return self.steps[self._positions[step_id]]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._positions

    def questions(self) -> tuple[Question, ...]:
        return tuple(s for s in self.steps if isinstance(s, Question))
