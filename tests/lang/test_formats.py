"""Dates, numbers, lists and plural forms as each resident's language writes them."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.civic.polls import as_flow
from bot.content import load_content
from bot.engine import Env
from bot.engine.flow import ChoiceQuestion
from bot.engine.runner import render_question
from bot.lang import formats
from bot.lang.phrases import DOMAIN, CatalogPhrases, load_phrases
from bot.paths import bundled
from bot.settings import SETTINGS, Settings
from bot.store.polls import Poll, PollOption

LANGUAGES = tuple(SETTINGS["languages"].default.split(","))
LONDON = ZoneInfo("Europe/London")
TUESDAY_EVENING = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Greenwich Mean Time
VOTE = ("%(n)d vote", "%(n)d votes")
VOTED = ("%(n)d person voted. Thank you!", "%(n)d people voted. Thank you!")


@pytest.fixture(scope="module")
def phrases() -> CatalogPhrases:
    return load_phrases(bundled("locales"))


def _say(phrases: CatalogPhrases, language: str, sentence: tuple[str, str], n: int) -> str:
    return phrases.plural(language, *sentence, n, n=n)


def _form(phrases: CatalogPhrases, language: str, sentence: tuple[str, str], n: int) -> str:
    """The sentence for ``n`` with the number taken out, to compare forms."""
    said = _say(phrases, language, sentence, n)
    assert str(n) in said
    return said.replace(str(n), "#", 1)


# -- plural forms through the real catalogs -------------------------------------------


@pytest.mark.parametrize("sentence", [VOTE, VOTED])
def test_polish_has_one_few_and_many_forms(
    phrases: CatalogPhrases, sentence: tuple[str, str]
) -> None:
    one, few, many = (_form(phrases, "pl", sentence, n) for n in (1, 2, 5))
    assert len({one, few, many}) == 3
    assert _form(phrases, "pl", sentence, 22) == few
    assert _form(phrases, "pl", sentence, 25) == many
    assert _form(phrases, "pl", sentence, 12) == many  # 12-14 are "many", unlike 2-4


def test_polish_votes_are_counted_as_a_pole_would(phrases: CatalogPhrases) -> None:
    said = [_say(phrases, "pl", VOTE, n) for n in (1, 2, 5, 22, 25)]
    assert said == ["1 głos", "2 głosy", "5 głosów", "22 głosy", "25 głosów"]


@pytest.mark.parametrize("sentence", [VOTE, VOTED])
def test_arabic_picks_six_forms_for_zero_one_two_few_many_and_other(
    phrases: CatalogPhrases, sentence: tuple[str, str]
) -> None:
    """Arabic rightly writes some forms alike ("0 صوت", "100 صوت"), so the test checks that
    each count picks its own form of the catalog entry, and that the dual, few and many
    forms differ from each other and from the singular."""
    with (bundled("locales") / "ar" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, domain=DOMAIN)
    entry = catalog.get(sentence)
    assert entry is not None
    forms = entry.string
    assert isinstance(forms, tuple)
    header = dict(catalog.mime_headers)["Plural-Forms"]
    formula = re.search(r"plural=(.+?);?\s*$", header)
    assert formula is not None
    choose = gettext.c2py(formula.group(1))
    counts = (0, 1, 2, 3, 11, 100)
    assert [choose(n) for n in counts] == [0, 1, 2, 3, 4, 5]
    for index, n in enumerate(counts):
        assert _say(phrases, "ar", sentence, n) == forms[index] % {"n": n}
    one, two, few, many = (_form(phrases, "ar", sentence, n) for n in (1, 2, 3, 11))
    assert len({one, two, few, many}) == 4


@pytest.mark.parametrize("sentence", [VOTE, VOTED])
def test_ukrainian_has_one_few_and_many_forms(
    phrases: CatalogPhrases, sentence: tuple[str, str]
) -> None:
    one, few, many = (_form(phrases, "uk", sentence, n) for n in (1, 2, 5))
    assert len({one, few, many}) == 3
    assert _form(phrases, "uk", sentence, 21) == one
    assert _form(phrases, "uk", sentence, 22) == few
    assert _form(phrases, "uk", sentence, 11) == many


def test_ukrainian_votes_are_counted_as_a_ukrainian_would(phrases: CatalogPhrases) -> None:
    said = [_say(phrases, "uk", VOTE, n) for n in (1, 21, 2, 22, 5, 11)]
    assert said == ["1 голос", "21 голос", "2 голоси", "22 голоси", "5 голосів", "11 голосів"]


def test_a_language_without_a_catalog_counts_in_english(phrases: CatalogPhrases) -> None:
    assert _say(phrases, "xx", VOTE, 1) == "1 vote"
    assert _say(phrases, "xx", VOTE, 2) == "2 votes"


# -- dates and times ------------------------------------------------------------------


def test_english_dates_are_british() -> None:
    """Day before month, 24-hour clock."""
    assert formats.when(TUESDAY_EVENING, "en", LONDON) == "Tuesday 1 December, 18:00"
    assert formats.day(TUESDAY_EVENING, "en", LONDON) == "Tuesday 1 December"


@pytest.mark.parametrize(
    ("language", "parts"),
    [
        ("pl", ("wtorek", "1 grudnia", "18:00")),
        ("uk", ("вівторок", "1 грудня", "18:00")),
        ("ar", ("الثلاثاء", "ديسمبر")),
        ("ro", ("marți", "decembrie", "18:00")),
        ("es", ("martes", "diciembre", "18:00")),
    ],
)
def test_dates_are_written_in_the_residents_language(language: str, parts: tuple[str, ...]) -> None:
    written = formats.when(TUESDAY_EVENING, language, LONDON)
    for part in parts:
        assert part in written


@pytest.mark.parametrize("language", LANGUAGES)
def test_days_name_the_weekday_and_month_in_full(language: str) -> None:
    """CLDR's day pattern abbreviates ("wt., 1 gru"); residents read the names in full."""
    locale = formats.locale_of(language)
    written = formats.day(TUESDAY_EVENING, language, LONDON)
    assert locale.days["format"]["wide"][1] in written  # Monday is 0
    months = (locale.months["format"]["wide"][12], locale.months["stand-alone"]["wide"][12])
    assert any(month in written for month in months)


def test_summer_times_are_shown_in_british_summer_time() -> None:
    """17:00 UTC in July is 18:00 in London."""
    summer = datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
    assert formats.when(summer, "en", LONDON) == "Wednesday 1 July, 18:00"


@pytest.mark.parametrize("language", ["xx", "zz-ZZ", "", "not a language"])
def test_an_unknown_language_is_written_as_british_english(language: str) -> None:
    assert formats.when(TUESDAY_EVENING, language, LONDON) == "Tuesday 1 December, 18:00"
    assert formats.number(5000, language) == "5,000"
    assert str(formats.locale_of(language)) == "en_GB"


# -- numbers and lists ----------------------------------------------------------------


def test_polish_thousands_are_separated_by_a_non_breaking_space() -> None:
    assert formats.number(5000, "pl") == "5\u00a0000"


def test_english_thousands_are_separated_by_a_comma() -> None:
    assert formats.number(5000, "en") == "5,000"
    assert formats.number(1234.5, "en") == "1,234.5"


@pytest.mark.parametrize(
    ("language", "written"), [("en", "75%"), ("pl", "75%"), ("es", "75\u00a0%")]
)
def test_percentages_are_whole_and_written_the_local_way(language: str, written: str) -> None:
    assert formats.percent(0.75, language) == written
    assert formats.percent(2 / 3, "en") == "67%"


def test_lists_join_with_the_languages_own_and() -> None:
    assert formats.listing(["A", "B", "C"], "pl") == "A, B i C"
    assert formats.listing(["A", "B", "C"], "en") == "A, B and C"
    assert formats.listing(["A"], "pl") == "A"
    assert formats.listing([], "pl") == ""


# -- a poll's closing time ------------------------------------------------------------


@pytest.fixture
def env(settings: Settings) -> Env:
    assert settings.timezone == LONDON
    return load_content(settings)[1]


def _poll() -> Poll:
    return Poll(
        question={
            "en": "Which should we fund?",
            "pl": "Co powinniśmy sfinansować?",
            "uk": "Що нам варто профінансувати?",
            "ar": "ما الذي يجب أن نموّله؟",
        },
        options=(
            PollOption("park", {"en": "Park", "pl": "Park", "uk": "Парк", "ar": "حديقة"}),
            PollOption(
                "library",
                {"en": "Library", "pl": "Biblioteka", "uk": "Бібліотека", "ar": "مكتبة"},
            ),
        ),
        language="en",
        closes_at=TUESDAY_EVENING,
        id=7,
        status="open",
    )


@pytest.mark.parametrize(
    ("language", "closing"),
    [
        ("en", "Voting closes Tuesday 1 December, 18:00."),
        ("pl", "Koniec głosowania: wtorek, 1 grudnia, 18:00."),
        ("uk", "Голосування закриється: вівторок, 1 грудня, 18:00."),
        ("ar", "موعد انتهاء التصويت: الثلاثاء، 1 ديسمبر، 6:00 م."),
    ],
)
def test_a_poll_says_when_voting_closes_in_the_residents_language(
    env: Env, language: str, closing: str
) -> None:
    poll = _poll()
    flow = as_flow(poll, env)
    question = flow.steps[0]
    assert isinstance(question, ChoiceQuestion)
    text = render_question(flow, question, language, env).text
    park, library = (option.texts[language] for option in poll.options)
    assert text.split("\n") == [poll.question[language], closing, f"1. {park}", f"2. {library}"]
