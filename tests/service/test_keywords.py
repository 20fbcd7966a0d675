"""Global keywords (STOP, START, HELP, LANGUAGE) before any flow, in any shipped language."""

from __future__ import annotations

import pytest

from tests.conftest import Harness

# A resident who has agreed and is inside the priorities survey, on its first question.
SURVEY = ["hello", "1", "1", "1"]


async def into_survey(harness: Harness, address: str = "+447700900001") -> list[str]:
    replies: list[str] = []
    for text in SURVEY:
        replies = await harness.send(text, address)
    return replies


async def test_new_resident_gets_the_welcome_language_menu(harness: Harness) -> None:
    [reply] = await harness.send("hello")
    assert "Choose your language" in reply
    assert "\n2. Polski\n" in reply
    assert "العربية" in reply


async def test_survey_starts_after_welcome_and_menu(harness: Harness) -> None:
    [reply] = await into_survey(harness)
    assert "What should be fixed first?" in reply


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        "Stop.",
        "UNSUBSCRIBE",
        "cancel",
        "END",
        "quit",
        "STOPALL",
        "revoke",
        "optout",
        "KONIEC",
        "Oprește",
        "توقف",
        "بند",
    ],
)
async def test_stop_mid_survey_opts_out_with_one_confirmation_and_nothing_after(
    harness: Harness, word: str
) -> None:
    await into_survey(harness)
    replies = await harness.send(word)
    assert len(replies) == 1
    assert "no more messages" in replies[0] or "START" in replies[0]
    [contact] = await harness.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is not None
    answers = await harness.rows("SELECT value, raw FROM answers WHERE flow_id = 'priorities'")
    assert answers == []  # the keyword was not taken as an answer
    for later in ("1", "hello", "LANGUAGE", "STOP"):
        assert await harness.send(later) == []
    sessions = await harness.rows("SELECT status FROM sessions WHERE status = 'active'")
    assert sessions == []


async def test_start_opts_back_in(harness: Harness) -> None:
    await into_survey(harness)
    await harness.send("STOP")
    [reply] = await harness.send("START")
    assert "Welcome back" in reply
    [contact] = await harness.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is None
    [reply] = await harness.send("hello")
    assert "What would you like to do?" in reply  # consent given before: straight to the menu


async def test_unstop_opts_back_in(harness: Harness) -> None:
    await harness.send("hello")
    await harness.send("STOP")
    [reply] = await harness.send("unstop")
    assert "Welcome back" in reply


async def test_help_answers_and_repeats_the_question(harness: Harness) -> None:
    await into_survey(harness)
    [reply] = await harness.send("HELP")
    assert "Parley: reply with the number of your answer" in reply
    assert reply.endswith("5. Youth services")
    assert await harness.rows("SELECT * FROM answers WHERE flow_id = 'priorities'") == []


async def test_help_is_answered_even_when_opted_out(harness: Harness) -> None:
    await harness.send("hello")
    await harness.send("STOP")
    [reply] = await harness.send("HELP")
    assert "Reply START" in reply


async def test_language_mid_survey_changes_language_and_returns_to_the_question(
    harness: Harness,
) -> None:
    await into_survey(harness)
    [menu] = await harness.send("LANGUAGE")
    assert "Choose your language" in menu
    [reply] = await harness.send("2")
    assert "po polsku" in reply
    assert "Co naprawić najpierw?" in reply  # the same question, now in Polish
    await harness.send("1")
    [answer] = await harness.rows(
        "SELECT step_id, value, language FROM answers WHERE flow_id = 'priorities'"
    )
    assert answer == {"step_id": "top_issue", "value": '"housing"', "language": "pl"}


async def test_language_keyword_in_another_language(harness: Harness) -> None:
    await into_survey(harness)
    [menu] = await harness.send("język")
    assert "1. English" in menu


async def test_keyword_must_be_the_whole_message(harness: Harness) -> None:
    await into_survey(harness)
    await harness.send("1")  # housing
    replies = await harness.send("please stop the rent rising")
    assert "Please reply with a number from 1 to 3." in replies[0]
    [contact] = await harness.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is None


async def test_messages_queued_before_stop_are_cancelled_not_sent(harness: Harness) -> None:
    await into_survey(harness)
    await harness.app.database.run(
        lambda tx: tx.execute(
            "INSERT INTO outbox (contact_id, channel, text, created_at)"
            " VALUES (1, 'sms', 'a poll reminder queued earlier', ?)",
            (harness.clock().isoformat(),),
        )
    )
    [reply] = await harness.send("STOP")
    assert "no more messages" in reply
    [row] = await harness.rows(
        "SELECT status FROM outbox WHERE text = 'a poll reminder queued earlier'"
    )
    assert row["status"] == "cancelled"


async def test_stop_confirmation_is_in_the_residents_language(harness: Harness) -> None:
    for text in ["cześć", "2", "tak", "1"]:
        await harness.send(text)
    [reply] = await harness.send("STOP")
    assert reply == "Nie wyślemy Ci więcej wiadomości. Aby je znów włączyć, wyślij START."
