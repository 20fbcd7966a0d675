"""The language menu: paged to fit three SMS segments, the resident's own language first,
"0" for more; a new SMS resident's language guessed from their first message, and only
ever offered first, never imposed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from bot.channels.base import Outbound
from bot.channels.segments import segments
from bot.engine.runner import MENU_PAGE_UNITS, NEXT_PAGE
from bot.settings import Settings, load_settings
from tests.conftest import Clock, Harness, open_app

LANGUAGES = ["en", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "gu", "lt", "so", "uk", "fa"]
LANGUAGES += ["ps", "ti"]  # the default 16, in menu order
ANNA = "+447700900001"
MORE_LANGUAGES = "More languages"  # the "0." line, in English
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"))
_LINE = re.compile(r"^(\d+)\. (.+)$")


def numbered(text: str) -> list[tuple[str, str]]:
    """The menu's numbered lines as (number, label), direction marks aside."""
    found = []
    for line in text.splitlines():
        match = _LINE.match(line.translate(_MARKS))
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def numbers(text: str) -> list[int]:
    return [int(n) for n, _ in numbered(text) if n != NEXT_PAGE]


def labels(text: str) -> list[str]:
    return [label for n, label in numbered(text) if n != NEXT_PAGE]


async def one(harness: Harness, text: str, address: str = ANNA, **kwargs: str) -> str:
    [reply] = await harness.send(text, address, **kwargs)
    return reply


async def contact_language(harness: Harness, address: str = ANNA) -> str:
    [row] = await harness.rows("SELECT language FROM contacts WHERE address = ?", address)
    language: str = row["language"]
    return language


async def all_pages(harness: Harness, first: str, address: str = ANNA) -> list[str]:
    """Every page of the menu whose first page is ``first``, pressing "0" until it wraps."""
    pages = [first]
    for _ in range(len(LANGUAGES)):
        page = await one(harness, NEXT_PAGE, address)
        if page == pages[0]:
            return pages
        pages.append(page)
    raise AssertionError("the menu never came back to its first page")


# -- 16 languages: paged ---------------------------------------------------------------


async def test_the_first_page_starts_with_english_and_ends_with_more(harness: Harness) -> None:
    page = await one(harness, "hello")
    assert page.startswith("Welcome to Parley!")
    lines = numbered(page)
    assert lines[0] == ("1", "English")
    assert lines[1] == ("2", "Polski")
    assert lines[-1] == (NEXT_PAGE, MORE_LANGUAGES)
    assert page.endswith(f"\n{NEXT_PAGE}. {MORE_LANGUAGES}")
    assert len(lines) < len(LANGUAGES)  # not all 16 on one page
    assert segments(page).count <= 3


async def test_zero_shows_the_next_page_and_the_last_wraps_to_the_first(
    harness: Harness,
) -> None:
    first = await one(harness, "hello")
    pages = await all_pages(harness, first)
    assert len(pages) >= 2
    expected = 1
    for page in pages:
        assert page.startswith("Welcome to Parley! Have your say about your area.")
        assert numbers(page)[0] == expected  # numbers continue from the page before
        assert numbers(page) == list(range(expected, expected + len(numbers(page))))
        assert numbered(page)[-1] == (NEXT_PAGE, MORE_LANGUAGES)
        assert segments(page).count <= 3
        expected += len(numbers(page))
    # Every language appears on exactly one page, numbered 1 to 16 in all.
    assert expected == len(LANGUAGES) + 1
    names = [label for page in pages for label in labels(page)]
    assert len(names) == len(set(names)) == len(LANGUAGES)
    assert {"English", "Polski", "Українська", "العربية", "ትግርኛ"} <= set(names)
    # "0" on the last page went back to page 1 (all_pages stops there): once more is page 2.
    assert await one(harness, NEXT_PAGE) == pages[1]
    [session] = await harness.rows("SELECT status FROM sessions")
    assert session["status"] == "active"
    assert await harness.rows("SELECT * FROM answers") == []  # paging is not an answer


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_fits_three_segments_in_every_language(
    harness: Harness, language: str
) -> None:
    first = await one(harness, "hello", language=language)
    assert numbered(first)[0][0] == "1"
    pages = await all_pages(harness, first)
    assert len(pages) >= 2
    for page in pages:
        assert segments(page).count <= 3, (language, page)
        assert segments(page).units <= MENU_PAGE_UNITS + len(page.splitlines()), language
    names = [label for page in pages for label in labels(page)]
    assert len(names) == len(set(names)) == len(LANGUAGES)


async def test_a_number_from_another_page_picks_that_language(harness: Harness) -> None:
    first = await one(harness, "hello")
    assert 13 not in numbers(first)
    reply = await one(harness, "13")
    assert reply.startswith("Ми надішлемо вам кілька коротких питань")  # the consent, in Ukrainian
    assert await contact_language(harness) == "uk"


async def test_a_number_from_page_one_while_on_page_two(harness: Harness) -> None:
    await one(harness, "hello")
    second = await one(harness, NEXT_PAGE)
    assert 2 not in numbers(second)
    await one(harness, "2")
    assert await contact_language(harness) == "pl"


@pytest.mark.parametrize(
    ("text", "language"),
    [("Polski", "pl"), ("polski", "pl"), ("Ukrainian", "uk"), ("Українська", "uk")],
)
async def test_a_language_by_its_name(harness: Harness, text: str, language: str) -> None:
    await one(harness, "hello")
    await one(harness, text)
    assert await contact_language(harness) == language


@pytest.mark.parametrize("text", ["more", "MORE", "More languages", " 0 "])
async def test_more_pages_too(harness: Harness, text: str) -> None:
    first = await one(harness, "hello")
    second = await one(harness, text)
    assert second != first
    assert numbers(second)[0] == numbers(first)[-1] + 1


async def test_an_out_of_range_number_gets_the_full_range_hint(harness: Harness) -> None:
    await one(harness, "hello")
    reply = await one(harness, "17")
    assert reply == "Please reply with a number from 1 to 16."


async def test_the_residents_language_is_first_and_more_is_translated(harness: Harness) -> None:
    await one(harness, "hello")
    await one(harness, "2")  # Polski
    await one(harness, "1")  # agree
    page = await one(harness, "JĘZYK")  # LANGUAGE, in Polish
    assert page.startswith("Wybierz język:")
    lines = numbered(page)
    assert lines[0] == ("1", "Polski")
    assert lines[1] == ("2", "English")
    assert lines[-1] == (NEXT_PAGE, "Więcej języków")
    assert segments(page).count <= 3
    second = await one(harness, "więcej języków")
    assert numbers(second)[0] == numbers(page)[-1] + 1
    assert numbered(second)[-1] == (NEXT_PAGE, "Więcej języków")
    # Option 2 on this menu is English.
    await one(harness, "2")
    assert await contact_language(harness) == "en"


async def test_a_preselected_language_is_option_one(harness: Harness) -> None:
    page = await one(harness, "hello", language="uk")
    assert page.startswith("Вітаємо в Parley!")
    assert numbered(page)[0] == ("1", "Українська")
    assert numbered(page)[1] == ("2", "English")
    assert numbered(page)[-1] == (NEXT_PAGE, "Інші мови")
    await one(harness, "1")
    assert await contact_language(harness) == "uk"


# -- a new SMS resident's language, guessed --------------------------------------------


async def test_a_polish_first_message_gets_the_welcome_in_polish(harness: Harness) -> None:
    page = await one(harness, "Cześć, chcę wziąć udział w ankiecie")
    assert page.startswith("Witamy w Parley!")
    assert numbered(page)[0] == ("1", "Polski")
    assert numbered(page)[1] == ("2", "English")
    assert numbered(page)[-1] == (NEXT_PAGE, "Więcej języków")
    reply = await one(harness, "1")
    assert reply.startswith("Wyślemy Ci")
    assert await contact_language(harness) == "pl"


async def test_the_guess_is_never_imposed(harness: Harness) -> None:
    await one(harness, "Cześć, chcę wziąć udział w ankiecie")
    reply = await one(harness, "2")  # English
    assert reply.startswith("We will send you a few short questions")
    assert await contact_language(harness) == "en"
    [answer] = await harness.rows("SELECT value FROM answers WHERE step_id = 'language'")
    assert answer["value"] == '"en"'


async def test_a_short_first_message_gets_the_default_menu(harness: Harness) -> None:
    page = await one(harness, "hi")
    assert page.startswith("Welcome to Parley!")
    assert numbered(page)[0] == ("1", "English")
    assert await contact_language(harness) == "en"


async def test_a_returning_resident_is_not_guessed_again(harness: Harness) -> None:
    await one(harness, "hi")
    await one(harness, "Cześć, chcę wziąć udział w ankiecie")  # not a choice: a hint
    assert await contact_language(harness) == "en"


async def test_a_provider_hint_wins_over_the_guess(harness: Harness) -> None:
    page = await one(harness, "Cześć, chcę wziąć udział w ankiecie", language="uk")
    assert numbered(page)[0] == ("1", "Українська")
    assert await contact_language(harness) == "uk"


# -- Telegram: buttons -----------------------------------------------------------------


async def test_telegram_shows_every_language_as_buttons_on_one_screen(harness: Harness) -> None:
    sms = await one(harness, "hello")  # the same menu by SMS: numbered, paged
    reply = await one(harness, "/start", "1001", channel="telegram")
    message = harness.sent[-1]
    assert message.channel == "telegram"
    assert message.text == reply
    # The buttons are the list: the text is the question alone, not the lines again.
    assert numbered(reply) == []
    assert reply == sms.splitlines()[0]
    assert MORE_LANGUAGES not in reply
    # Every language at once, in menu order: no page, no "More languages" button.
    assert [b.reply for b in message.buttons] == [str(n) for n in range(1, len(LANGUAGES) + 1)]
    assert [b.label for b in message.buttons][:2] == ["English", "Polski"]
    assert NEXT_PAGE not in [b.reply for b in message.buttons]
    # A language from the end of the list is one press away.
    ukrainian = next(b for b in message.buttons if b.label == "Українська")
    await one(harness, ukrainian.reply, "1001", channel="telegram")
    assert await contact_language(harness, "1001") == "uk"


# -- a few languages: one page ---------------------------------------------------------


def settings_with(tmp_path: Path, languages: str) -> Settings:
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    environ = {"PARLEY_DATABASE": str(tmp_path / "small.db"), "PARLEY_LANGUAGES": languages}
    return load_settings(environ, config_file=config)


@pytest.fixture
def small(tmp_path: Path, clock: Clock) -> Callable[[str], AbstractAsyncContextManager[Harness]]:
    @asynccontextmanager
    async def opened(languages: str) -> AsyncIterator[Harness]:
        sent: list[Outbound] = []
        app = await open_app(settings_with(tmp_path, languages), clock, sent)
        bench = Harness(app, clock, sent)
        try:
            yield bench
        finally:
            await bench.app.close()

    return opened


async def test_three_languages_are_not_paged(
    small: Callable[[str], AbstractAsyncContextManager[Harness]],
) -> None:
    async with small("en,pl,ar") as harness:
        page = await one(harness, "hello")
        assert numbered(page) == [("1", "English"), ("2", "Polski"), ("3", "العربية")]
        assert f"{NEXT_PAGE}." not in page
        assert MORE_LANGUAGES not in page
        # "0" and "more" are no page: the usual hint.
        assert await one(harness, NEXT_PAGE) == "Please reply with a number from 1 to 3."
        assert await one(harness, "more") == "Please reply with a number from 1 to 3."
        await one(harness, "3")
        assert await contact_language(harness) == "ar"


async def test_three_languages_on_telegram_have_no_more_button(
    small: Callable[[str], AbstractAsyncContextManager[Harness]],
) -> None:
    async with small("en,pl,ar") as harness:
        await one(harness, "hello", "1001", channel="telegram")
        buttons = harness.sent[-1].buttons
        assert [(b.reply, b.label) for b in buttons] == [
            ("1", "English"),
            ("2", "Polski"),
            ("3", "العربية"),
        ]


async def test_an_untranslated_language_is_still_option_one(
    small: Callable[[str], AbstractAsyncContextManager[Harness]],
) -> None:
    """A deployment language the welcome is not written in (French here): the question
    is shown in English, but the numbers shown are the numbers read back."""
    async with small("en,pl,fr") as harness:
        page = await one(harness, "Bonjour, je voudrais participer à l'enquête sur le quartier")
        assert await contact_language(harness) == "fr"  # the guess
        assert page.startswith("Welcome to Parley!")  # no French text in the flow
        shown = {label: number for number, label in numbered(page)}
        assert shown["Français"] == "1"  # the guess leads, as in a translated menu
        await one(harness, shown["English"])
        assert await contact_language(harness) == "en"


async def test_an_untranslated_language_menu_reads_back_what_it_shows(
    small: Callable[[str], AbstractAsyncContextManager[Harness]],
) -> None:
    async with small("en,pl,fr") as harness:
        page = await one(harness, "bonjour", language="fr")
        shown = {label: number for number, label in numbered(page)}
        assert set(shown) == {"English", "Polski", "Français"}
        await one(harness, shown["Polski"])
        assert await contact_language(harness) == "pl"
        page = await one(harness, "LANGUAGE")
        assert numbered(page)[0] == ("1", "Polski")
