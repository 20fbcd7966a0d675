"""Languages' names come from a table made from Babel (bot/lang/cldr_names.py), which must
say what Babel says; a code the table lacks is asked of Babel."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.lang.cldr_names import NAMES
from bot.lang.names import TABLE, babel_names, language_names, table_codes, table_text
from bot.settings import SETTINGS


def test_the_table_is_what_babel_gives_every_language_it_has_a_locale_for() -> None:
    """Fails after a Babel upgrade that changes a name: ``python -m bot.lang.names``."""
    assert list(NAMES) == table_codes()
    assert {code: babel_names(code) for code in table_codes()} == NAMES
    assert TABLE.read_text(encoding="utf-8") == table_text()


def test_the_default_languages_are_in_the_table() -> None:
    assert set(SETTINGS["languages"].default.split(",")) <= set(NAMES)


def test_names_are_their_own_and_english() -> None:
    names = language_names(["pl", "ar", "pt-BR"])
    assert (names["pl"].own, names["pl"].english) == ("Polski", "Polish")
    assert (names["ar"].own, names["ar"].english) == ("العربية", "Arabic")
    assert (names["pt-BR"].own, names["pt-BR"].english) == babel_names("pt-BR")
    assert names["pt-BR"].english == "Portuguese (Brazil)"


def test_a_code_babel_does_not_know_is_refused() -> None:
    with pytest.raises(ConfigError, match="'xx' is not a language Babel knows"):
        language_names(["en", "xx"])
