"""Languages named as their speakers write them ("Polski", "العربية"), from Babel's CLDR data.

The names of the languages Babel has a locale for without a region ("pl", not "pt-BR")
come from a table made from Babel (bot/lang/cldr_names.py, ``python -m bot.lang.names``
writes it again; tests/lang/test_names.py fails if it differs from what Babel gives):
asking Babel loads each language's whole locale data, 21 MB and 0.2 s for the sixteen
default languages at every ``parley run``, for two words each. Other codes ask Babel.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from bot.engine import LanguageName
from bot.errors import ConfigError
from bot.lang.cldr_names import NAMES

TABLE = Path(__file__).with_name("cldr_names.py")


def language_names(codes: Iterable[str]) -> dict[str, LanguageName]:
    names: dict[str, LanguageName] = {}
    for code in codes:
        own, english = NAMES.get(code) or babel_names(code)
        names[code] = LanguageName(own, english)
    return names


def babel_names(code: str) -> tuple[str, str]:
    """The language's own name (capitalised) and its English name, asked of Babel."""
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ConfigError(f"PARLEY_LANGUAGES: '{code}' is not a language Babel knows") from None
    own = locale.get_display_name(locale) or code
    english = locale.get_display_name("en") or code
    return own[:1].upper() + own[1:], english


def table_codes() -> list[str]:
    """The languages the table names: those Babel has a locale for without a region."""
    from babel.localedata import locale_identifiers

    return sorted(code for code in locale_identifiers() if code.isalpha() and code.islower())


def table_text() -> str:
    """bot/lang/cldr_names.py as Babel's data makes it."""
    import json

    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def entry(code: str) -> str:
        own, english = babel_names(code)
        return f"    {quoted(code)}: ({quoted(own)}, {quoted(english)}),"

    lines = [
        '"""The names of the languages Babel has a locale for without a region: their own',
        "(capitalised) and the English one. Made by ``python -m bot.lang.names``; not to be",
        'edited (tests/lang/test_names.py compares it with Babel)."""',
        "",
        "NAMES: dict[str, tuple[str, str]] = {",
        *(entry(code) for code in table_codes()),
        "}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    TABLE.write_text(table_text(), encoding="utf-8")
    sys.stdout.write(f"wrote {TABLE}\n")
