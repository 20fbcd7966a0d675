"""What the engine tests share: a fixed time, a two-language env, checked flows from YAML."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.engine import Env, Flow, LanguageName
from bot.flowfile import read_flow

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TWO_LANGUAGES = Env(
    languages={"en": LanguageName("English", "English"), "pl": LanguageName("Polski", "Polish")}
)


def checked_flow(text: str, path: str) -> Flow:
    """The flow in ``text``; fails the test on any flow-check problem."""
    flow, problems = read_flow(text, path)
    assert [message for _, message in problems] == []
    assert flow is not None
    return flow
