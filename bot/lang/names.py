"""Languages named as their speakers write them ("Polski", "العربية"), from Babel's CLDR data."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError

from bot.engine import LanguageName
from bot.errors import ConfigError


def language_names(codes: Iterable[str]) -> dict[str, LanguageName]:
    names: dict[str, LanguageName] = {}
    for code in codes:
        try:
            locale = Locale.parse(code.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            raise ConfigError(f"PARLEY_LANGUAGES: '{code}' is not a language Babel knows") from None
        own = locale.get_display_name(locale) or code
        english = locale.get_display_name("en") or code
        names[code] = LanguageName(own[:1].upper() + own[1:], english)
    return names
