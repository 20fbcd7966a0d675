"""What the engine needs to know about the deployment, passed in rather than looked up.

The bot's own sentences (hints, thanks) come through a :class:`Phrases` object so the
engine stays pure: the host loads the gettext catalogs once at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.engine.flow import Localized, Option, option_words


class Phrases(Protocol):
    """The bot's own sentences in a given language (msgids are English)."""

    def text(self, language: str, message: str, /, **params: object) -> str: ...

    def plural(
        self, language: str, singular: str, plural: str, n: int, /, **params: object
    ) -> str: ...


class EnglishPhrases:
    """Phrases without catalogs: the English msgids themselves."""

    def text(self, language: str, message: str, /, **params: object) -> str:
        return message % params if params else message

    def plural(self, language: str, singular: str, plural: str, n: int, /, **params: object) -> str:
        chosen = singular if n == 1 else plural
        return chosen % params if params else chosen


@dataclass(frozen=True)
class LanguageName:
    own: str  # "Polski", "العربية"
    english: str  # "Polish"


@dataclass(frozen=True)
class Env:
    phrases: Phrases = field(default_factory=EnglishPhrases)
    # The deployment's languages in menu order.
    languages: Mapping[str, LanguageName] = field(
        default_factory=lambda: {"en": LanguageName("English", "English")}
    )
    # The language menu as options, and its word index; derived once from ``languages``.
    language_options: tuple[Option, ...] = field(init=False, repr=False, compare=False)
    language_words: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        options = tuple(
            Option(code, Localized({code: name.own}), {"en": (name.english,)})
            for code, name in self.languages.items()
        )
        object.__setattr__(self, "language_options", options)
        object.__setattr__(self, "language_words", option_words(options))
