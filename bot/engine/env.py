"""What the engine needs to know about the deployment, passed in rather than looked up.

The bot's own sentences (hints, thanks) come through a :class:`Phrases` object so the
engine stays pure: the host loads the gettext catalogs once at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Protocol

from bot.engine.flow import Localized, Option, option_words
from bot.lang.words import prepare_numbers


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
class LanguageMenu:
    """The language menu as numbered options, with the words that pick each one."""

    options: tuple[Option, ...]
    words: Mapping[str, int]


@dataclass(frozen=True)
class Env:
    phrases: Phrases = field(default_factory=EnglishPhrases)
    # The deployment's languages in menu order.
    languages: Mapping[str, LanguageName] = field(
        default_factory=lambda: {"en": LanguageName("English", "English")}
    )
    # Where the deployment is: dates and times are shown to residents in this zone.
    timezone: tzinfo = UTC
    # One menu per language listed first (the resident's current language leads, so a
    # guessed or preselected language is always option 1); derived once from ``languages``.
    language_menus: Mapping[str, LanguageMenu] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        options = {
            code: Option(code, Localized({code: name.own}), {"en": (name.english,)})
            for code, name in self.languages.items()
        }
        menus: dict[str, LanguageMenu] = {}
        for first in self.languages:
            ordered = (options[first], *(o for code, o in options.items() if code != first))
            menus[first] = LanguageMenu(ordered, option_words(ordered))
        object.__setattr__(self, "language_menus", menus)
        prepare_numbers(self.languages)

    def language_menu(self, first: str) -> LanguageMenu:
        """The menu with ``first`` as option 1 (deployment order for an unknown code)."""
        return self.language_menus.get(first) or self.language_menus[next(iter(self.languages))]
