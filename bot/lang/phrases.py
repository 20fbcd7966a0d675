"""The bot's own sentences, from the gettext catalogs in ``locales/``.

Catalogs are read from the ``.po`` files with Babel and compiled in memory at start-up,
so a fresh checkout or install never runs with stale compiled catalogs. Message ids are
English; a language without a catalog, or a sentence not yet translated, gets English.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "parley"


class CatalogPhrases:
    """:class:`~bot.engine.env.Phrases` backed by gettext catalogs, one per language."""

    def __init__(self, catalogs: Mapping[str, NullTranslations]) -> None:
        self._catalogs = dict(catalogs)
        self._english = NullTranslations()

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._catalogs)

    def _catalog(self, language: str) -> NullTranslations:
        return self._catalogs.get(language, self._english)

    def text(self, language: str, message: str, /, **params: object) -> str:
        translated = self._catalog(language).gettext(message)
        return translated % params if params else translated

    def plural(self, language: str, singular: str, plural: str, n: int, /, **params: object) -> str:
        translated = self._catalog(language).ngettext(singular, plural, n)
        return translated % params if params else translated


def compile_po(path: Path) -> Translations:
    """Compile one ``.po`` file into a catalog in memory (fuzzy entries are left out)."""
    with path.open("rb") as po:
        catalog = read_po(po, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def load_phrases(locales: Path) -> CatalogPhrases:
    """Load ``locales/<lang>/LC_MESSAGES/parley.po`` for every language present."""
    catalogs = {
        po.parent.parent.name: compile_po(po)
        for po in sorted(locales.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }
    return CatalogPhrases(catalogs)
