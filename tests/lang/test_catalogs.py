"""Every shipped language is complete: the bot's own sentences (gettext catalogs) and every
text of every bundled flow, with the right plural forms, placeholders and script.

A resident never sees English in the middle of their language, and a translation can
never make the bot fail when it fills in a placeholder.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.content import load_content
from bot.engine import Env, Flow
from bot.engine.flow import ChoiceQuestion, EndStep, Localized, MessageStep, Question
from bot.flowfile import load_flows
from bot.flowfile.report import FlowReport, report_catalogs, report_flow
from bot.lang.guess import script_of
from bot.lang.phrases import DOMAIN, compile_po
from bot.paths import bundled
from bot.settings import SETTINGS, load_settings
from tests import databases

LANGUAGES = tuple(SETTINGS["languages"].default.split(","))
SOURCE = "en"
LOCALES = bundled("locales")
TRANSLATED = tuple(language for language in LANGUAGES if language != SOURCE)

# Languages not written in Latin letters, and the Unicode script their letters are named by.
SCRIPTS = {code: script_of(code) for code in LANGUAGES if script_of(code) != "LATIN"}

_PLACEHOLDER = re.compile(r"%\((\w+)\)([a-zA-Z])")


def _catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, domain=DOMAIN)


def _messages(catalog: Catalog) -> Iterator[Message]:
    """The catalog's entries, without the header."""
    return (message for message in catalog if message.id)


def _ids(message: Message) -> tuple[str, ...]:
    """The English sentence, and its plural for a plural entry."""
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def _strings(message: Message) -> tuple[str, ...]:
    string = message.string
    if isinstance(string, str):
        return (string,)
    return tuple(string or ("",))


def _placeholders(text: str) -> set[str]:
    return {match.group(0) for match in _PLACEHOLDER.finditer(text)}


def _sample_params(message: Message) -> dict[str, object]:
    """A value for each placeholder of the English sentence: a number for ``%(n)d``."""
    params: dict[str, object] = {}
    for text in _ids(message):
        for match in _PLACEHOLDER.finditer(text):
            name, conversion = match.groups()
            params[name] = 7 if conversion == "d" else name.upper()
    return params


def _plural_forms(catalog: Catalog) -> tuple[int, str]:
    header = dict(catalog.mime_headers)["Plural-Forms"]
    found = re.fullmatch(r"\s*nplurals=(\d+);\s*plural=(.+?);?\s*", header)
    assert found, f"Plural-Forms header not understood: {header!r}"
    return int(found.group(1)), found.group(2)


def _flow_texts(flow: Flow) -> Iterator[tuple[str, Localized]]:
    """Every text a resident can be sent from ``flow``, with what to call it."""
    for step in flow.steps:
        if isinstance(step, MessageStep | Question):
            yield f"{flow.id}: step '{step.id}'", step.text
            if isinstance(step, ChoiceQuestion):
                for option in step.options:
                    yield f"{flow.id}: step '{step.id}' option '{option.id}'", option.label
        elif isinstance(step, EndStep) and step.text is not None:
            yield f"{flow.id}: step '{step.id}'", step.text


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow]:
    return dict(load_flows(bundled("flows")))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    folder = tmp_path_factory.mktemp("settings")
    config = folder / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    settings = load_settings({"PARLEY_DATABASE": databases.of(folder)}, config_file=config)
    return load_content(settings)[1]


@pytest.fixture(scope="module")
def flow_reports(flows: dict[str, Flow], env: Env) -> dict[str, FlowReport]:
    return {flow_id: report_flow(flow, LANGUAGES, env) for flow_id, flow in flows.items()}


def test_the_default_deployment_offers_the_sixteen_shipped_languages() -> None:
    """The checks below run over these; a shorter default would quietly check less."""
    assert ",".join(LANGUAGES) == "en,pl,ro,pa,ur,pt,es,ar,bn,gu,lt,so,uk,fa,ps,ti"


# -- the gettext catalogs ------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_a_catalog_that_compiles_with_every_sentence(language: str) -> None:
    path = _catalog_path(language)
    assert path.is_file()
    compiled = compile_po(path)
    for message in _messages(_read(path)):
        string = message.string
        if isinstance(message.id, str) and isinstance(string, str) and string:
            assert compiled.gettext(message.id) == string


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_entry_is_fuzzy(language: str) -> None:
    """A fuzzy entry is left out when the catalog is compiled: residents would get English."""
    catalog = _read(_catalog_path(language))
    assert not catalog.fuzzy
    assert [_ids(m)[0] for m in _messages(catalog) if m.fuzzy] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_and_every_plural_form_is_translated(language: str) -> None:
    catalog = _read(_catalog_path(language))
    untranslated = [_ids(m)[0] for m in _messages(catalog) if not all(_strings(m))]
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_header_has_as_many_forms_as_babel_and_each_entry_has_them_all(
    language: str,
) -> None:
    catalog = _read(_catalog_path(language))
    forms, _ = _plural_forms(catalog)
    assert forms == get_plural(language).num_plurals
    plurals = [m for m in _messages(catalog) if m.pluralizable]
    assert plurals, "the template has plural sentences; the catalog should too"
    assert {_ids(m)[0]: len(_strings(m)) for m in plurals} == {_ids(m)[0]: forms for m in plurals}


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_formula_picks_one_form_per_cldr_category(language: str) -> None:
    """The header's formula (what gettext runs) agrees with CLDR's plural rules for every
    count up to 1000: each form stands for one CLDR category and each category uses one
    form. Zero is left out where CLDR counts it as "one" (Bengali, Gujarati, Punjabi,
    Portuguese, Tigrinya): gettext's convention there is "n != 1". Whole millions are
    counted too: Spanish and Portuguese give them a form of their own ("1.000.000 de
    votos")."""
    forms, formula = _plural_forms(_read(_catalog_path(language)))
    if forms == 1:
        return
    choose = gettext.c2py(formula)
    rule = Locale.parse(language).plural_form
    categories: dict[int, set[str]] = {}
    chosen: dict[str, set[int]] = {}
    millions = [1_000_000, 2_000_000, 1_000_001, 5_000_000, 10_000_000]
    for n in [*range(1 if rule(0) == "one" else 0, 1001), *millions]:
        categories.setdefault(choose(n), set()).add(rule(n))
        chosen.setdefault(rule(n), set()).add(choose(n))
    assert sorted(categories) == list(range(forms))
    assert all(len(found) == 1 for found in categories.values()), categories
    assert all(len(found) == 1 for found in chosen.values()), chosen


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_exactly_the_placeholders_of_the_english(language: str) -> None:
    problems = []
    for message in _messages(_read(_catalog_path(language))):
        expected = set().union(*(_placeholders(text) for text in _ids(message)))
        for string in _strings(message):
            if _placeholders(string) != expected:
                problems.append((_ids(message)[0], sorted(_placeholders(string))))
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_with_placeholders_format_with_sample_values(language: str) -> None:
    """The bot fills placeholders with ``%``: a stray ``%`` or a changed conversion
    (``%(n)s`` for ``%(n)d``) would raise, or print a placeholder, at a resident."""
    for message in _messages(_read(_catalog_path(language))):
        params = _sample_params(message)
        if not params:
            continue
        for string in filter(None, _strings(message)):
            rest = _PLACEHOLDER.sub("", string).replace("%%", "")
            assert "%" not in rest, f"a stray % in {string!r}"
            try:
                filled = string % params
            except (KeyError, TypeError, ValueError) as error:
                pytest.fail(f"{_ids(message)[0]!r}: {string!r}: {error!r}")
            assert "%(" not in filled


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_exactly_the_templates_sentences(language: str) -> None:
    """Nothing missing (it would be English) and nothing stale (a sentence the code no
    longer says, wasted on translators)."""
    template = {m.id for m in _messages(_read(LOCALES / f"{DOMAIN}.pot"))}
    catalog = _read(_catalog_path(language))
    assert {m.id for m in _messages(catalog)} == template
    assert not catalog.obsolete


@pytest.mark.parametrize("language", LANGUAGES)
def test_flows_check_finds_no_error_in_the_catalog(language: str) -> None:
    """``parley flows check`` runs the same report."""
    (report,) = report_catalogs(LOCALES, [language])
    assert [str(note) for note in report.notes if note.error] == []
    assert report.missing == []
    assert report.sentences > 0


# -- the bundled flows --------------------------------------------------------------


def test_the_bundled_flows_are_there(flows: dict[str, Flow]) -> None:
    assert {"welcome", "language", "menu", "priorities", "idea", "poll_fund"} <= set(flows)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_flow_text_is_translated_without_errors(
    language: str, flow_reports: dict[str, FlowReport]
) -> None:
    missing = {
        flow_id: report.missing[language]
        for flow_id, report in flow_reports.items()
        if report.missing.get(language)
    }
    errors = [
        str(note)
        for report in flow_reports.values()
        for note in report.notes
        if note.error and note.text.startswith(f"{language}:")
    ]
    assert missing == {}
    assert errors == []


# -- scripts ------------------------------------------------------------------------


def _foreign_letters(text: str, script: str) -> list[str]:
    """Letters of ``text`` in neither ``script`` nor Latin (names: Parley, GP, STOP)."""
    return [
        f"{ch} ({unicodedata.name(ch, '?')})"
        for ch in text
        if ch.isalpha() and not unicodedata.name(ch, "").startswith((script, "LATIN"))
    ]


@pytest.mark.parametrize(("language", "script"), SCRIPTS.items())
def test_flow_texts_use_only_their_own_script_and_latin(
    language: str, script: str, flows: dict[str, Flow]
) -> None:
    """Catches a stray letter from a look-alike script (a Persian letter in Pashto is
    fine, both are Arabic script; a Russian-only letter would not be caught, a Latin
    "o" neither: this is a sanity check, not a spelling check)."""
    problems = {
        name: found
        for flow in flows.values()
        for name, text in _flow_texts(flow)
        if (found := _foreign_letters(text.texts.get(language, ""), script))
    }
    assert problems == {}


@pytest.mark.parametrize(("language", "script"), SCRIPTS.items())
def test_catalog_translations_use_only_their_own_script_and_latin(
    language: str, script: str
) -> None:
    problems = {
        _ids(message)[0]: found
        for message in _messages(_read(_catalog_path(language)))
        for string in _strings(message)
        if (found := _foreign_letters(string, script))
    }
    assert problems == {}
