"""The language menu: the resident's language first, paged to at most 3 SMS segments."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.channels.segments import as_sent
from bot.content import load_content
from bot.engine import Env, Reply, Start, advance
from bot.engine.flow import LanguageQuestion
from bot.engine.runner import render_question
from bot.flowfile import load_flows
from bot.paths import bundled
from bot.settings import load_settings

FLOWS = load_flows(bundled("flows"))
_, ENV = load_content(load_settings({"PARLEY_DATABASE": ":memory:"}))
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^\u200e?\u200f?(\d+)\. ", text, re.MULTILINE)]


@pytest.mark.parametrize("language", list(ENV.languages))
@pytest.mark.parametrize("flow_id", ["welcome", "language"])
def test_pages_list_every_language_once_within_three_segments(flow_id: str, language: str) -> None:
    flow = FLOWS[flow_id]
    question = flow.steps[0]
    assert isinstance(question, LanguageQuestion)
    pages = [render_question(flow, question, language, ENV)[0]]
    while (text := render_question(flow, question, language, ENV, len(pages))[0]) != pages[0]:
        pages.append(text)  # "0" on the last page goes back to the first
    listed = [n for text in pages for n in numbers(text) if n]
    assert sorted(listed) == list(range(1, len(ENV.languages) + 1))
    assert all(as_sent(text, "sms")[1] <= 3 for text in pages)  # type: ignore[operator]
    if len(pages) > 1:
        assert all(text.splitlines()[-1].startswith("0. ") for text in pages)
    first = pages[0].splitlines()[1]
    assert first.endswith(ENV.languages[language].own)  # their own language leads


def test_zero_pages_on_and_wraps_round_and_numbers_work_from_any_page() -> None:
    flow = FLOWS["language"]
    turn = advance(flow, None, Start("en"), NOW, ENV)
    first = turn.messages[0].text
    second = advance(flow, turn.session, Reply("0"), NOW, ENV)
    assert numbers(second.messages[0].text)[0] == max(numbers(first)) + 1
    again = advance(flow, second.session, Reply("more"), NOW, ENV)
    assert again.messages[0].text == first  # back to the first page
    assert again.session.tries == 0  # paging is not a wrong answer
    chosen = advance(flow, second.session, Reply("2"), NOW, ENV)  # on page 1, sent on page 2
    assert chosen.session.language == "pl"


def test_a_short_menu_is_not_paged() -> None:
    env = Env(languages={code: ENV.languages[code] for code in ("en", "pl", "ar")})
    question = FLOWS["language"].steps[0]
    assert isinstance(question, LanguageQuestion)
    text, buttons, _ = render_question(FLOWS["language"], question, "en", env)
    assert "0. " not in text
    assert [b.reply for b in buttons] == ["1", "2", "3"]


def test_buttons_are_every_language_on_every_page_beside_the_question_alone() -> None:
    """SMS pages the menu; a channel with buttons shows all of it on one screen."""
    flow = FLOWS["welcome"]
    question = flow.steps[0]
    assert isinstance(question, LanguageQuestion)
    first, second = (render_question(flow, question, "en", ENV, page) for page in (0, 1))
    assert first.text != second.text  # two SMS pages...
    every = [str(n) for n in range(1, len(ENV.languages) + 1)]
    for page in (first, second):  # ...and the same buttons with each, no "0"
        assert [b.reply for b in page.buttons] == every
        assert page.beside_buttons == first.text.splitlines()[0]
