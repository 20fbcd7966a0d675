"""Direction marks: each line of a message is laid out the way its language reads, on
any phone, and the marks cost nothing on plain text and never get in the way of a reply."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest

from bot.channels.segments import as_sent, segments
from bot.content import load_content
from bot.engine import Env, Flow
from bot.engine.flow import EndStep, MessageStep, Question
from bot.engine.runner import render_question
from bot.lang.bidi import LEFT_TO_RIGHT_MARK, RIGHT_TO_LEFT_MARK, for_display
from bot.lang.normalize import key
from bot.settings import SETTINGS, Settings

RLM, LRM = RIGHT_TO_LEFT_MARK, LEFT_TO_RIGHT_MARK
LANGUAGES = tuple(SETTINGS["languages"].default.split(","))
RIGHT_TO_LEFT = frozenset({"ar", "ur", "fa", "ps"})

URDU_WELCOME = "Parley میں خوش آمدید!\nآپ کیا کرنا چاہیں گے؟"
ARABIC_MENU = "اختر لغتك:\n1. العربية\n2. English\n3. Polski"
ENGLISH_MENU = "Choose your language:\n1. English\n2. Polski\n5. اردو"


def test_an_urdu_line_that_starts_with_a_latin_name_is_marked_right_to_left() -> None:
    shown = for_display(URDU_WELCOME)
    assert shown.split("\n") == [RLM + "Parley میں خوش آمدید!", "آپ کیا کرنا چاہیں گے؟"]


def test_a_latin_option_in_an_arabic_menu_is_marked_right_to_left() -> None:
    shown = for_display(ARABIC_MENU)
    assert shown.split("\n") == ["اختر لغتك:", "1. العربية", RLM + "2. English", RLM + "3. Polski"]


def test_an_arabic_language_menu_runs_right_to_left_though_most_names_do_not() -> None:
    """The menu names each language in its own script, so most of its letters are not
    Arabic; the sentence decides the direction, not the options."""
    menu = "اختر لغتك:\n1. العربية\n2. English\n3. Polski\n4. ਪੰਜਾਬੀ\n5. اردو\n6. Українська"
    assert for_display(menu).split("\n") == [
        "اختر لغتك:",
        "1. العربية",
        RLM + "2. English",
        RLM + "3. Polski",
        RLM + "4. ਪੰਜਾਬੀ",
        "5. اردو",
        RLM + "6. Українська",
    ]


def test_a_line_that_starts_with_arabic_letters_gets_no_mark() -> None:
    assert for_display("مرحبًا بك في Parley!") == "مرحبًا بك في Parley!"
    assert for_display("1. العربية") == "1. العربية"  # digits do not set a direction


def test_an_urdu_option_in_an_english_menu_is_marked_left_to_right() -> None:
    shown = for_display(ENGLISH_MENU)
    assert shown.split("\n") == [
        "Choose your language:",
        "1. English",
        "2. Polski",
        LRM + "5. اردو",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "What would you like to do?\n1. Answer a survey\n2. Send an idea",
        "Co chcesz zrobić?\n1. Odpowiedz na ankietę",
        "Ce vrei să faci?",
        "Що ви хочете зробити?",  # Cyrillic is left to right too
        "Voting closes Tuesday 1 December, 18:00.",
        "",
    ],
)
def test_left_to_right_text_comes_back_unchanged(text: str) -> None:
    assert for_display(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Reply 1 for yes or 2 for no. Send STOP to stop.",
        "Café à 5€? Ça coûte 3£ - répondez OUI",  # GSM-7, but not ASCII
        "x" * 400,  # three segments
    ],
)
def test_gsm7_text_is_sent_as_written_in_as_many_segments(text: str) -> None:
    sent, count = as_sent(text, "sms")
    assert sent == text
    assert count == segments(text).count


def test_a_marked_message_is_sent_with_its_marks_on_every_channel() -> None:
    for channel in ("sms", "telegram", "whatsapp"):
        sent, _ = as_sent(URDU_WELCOME, channel)
        assert sent.startswith(RLM + "Parley")


def test_marking_a_marked_text_again_changes_nothing() -> None:
    """A text may pass through twice (a report, then the outbox); marks must not pile up."""
    menu = "اختر لغتك:\n1. العربية\n2. English\n3. Polski\n4. Português\n5. Română"
    for text in (URDU_WELCOME, ARABIC_MENU, ENGLISH_MENU, menu):
        once = for_display(text)
        assert for_display(once) == once


@pytest.mark.parametrize(
    ("echoed", "typed"),
    [
        (RLM + "2. English", "2. English"),
        (RLM + "English", "English"),
        (LRM + "اردو", "اردو"),
        (RLM + "Parley", "parley"),
    ],
)
def test_marks_are_ignored_when_a_resident_sends_the_text_back(echoed: str, typed: str) -> None:
    """A resident who copies an option from the message copies its invisible mark too."""
    assert key(echoed) == key(typed)


# -- everything Parley ships --------------------------------------------------------


def _first_strong(line: str) -> str | None:
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind in ("L", "R", "AL"):
            return "L" if kind == "L" else "R"
    return None


def _said(flow: Flow, language: str, env: Env) -> Iterator[tuple[str, str]]:
    """What each step of ``flow`` sends in ``language``: questions with their options."""
    for step in flow.steps:
        if isinstance(step, Question):
            for page in (0, 1):  # the language menu has pages
                yield step.id, render_question(flow, step, language, env, page)[0]
        elif isinstance(step, MessageStep) or (isinstance(step, EndStep) and step.text):
            assert step.text is not None
            yield step.id, step.text.get(language, flow.language)


@pytest.fixture
def content(settings: Settings) -> tuple[dict[str, Flow], Env]:
    return load_content(settings)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_line_parley_sends_runs_in_its_languages_direction(
    language: str, content: tuple[dict[str, Flow], Env]
) -> None:
    """Each line of every question (with its numbered options, and the language menu
    with every language's own name) and message of the bundled flows, as sent by SMS."""
    flows, env = content
    direction = "R" if language in RIGHT_TO_LEFT else "L"
    wrong = [
        (flow.id, step_id, line)
        for flow in flows.values()
        for step_id, text in _said(flow, language, env)
        for line in as_sent(text, "sms")[0].split("\n")
        if _first_strong(line) not in (direction, None)
    ]
    assert wrong == []
