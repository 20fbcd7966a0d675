"""Coming back: a resident who writes after a month away is greeted "welcome back" in
their language; an unfinished survey quietly expires and is never answered by accident."""

from __future__ import annotations

import json

import pytest

from bot.service import WELCOME_BACK_AFTER
from tests.conftest import Harness

WELCOME_BACK = "Welcome back to Parley!"
WELCOME_BACK_PL = "Witamy ponownie w Parley!"  # locales/pl/LC_MESSAGES/parley.po
MENU = "What would you like to do?"
MENU_PL = "Co chcesz zrobić?"


async def say_all(harness: Harness, texts: list[str], address: str = "+447700900001") -> str:
    replies: list[str] = []
    for text in texts:
        replies = await harness.send(text, address)
    return "\n".join(replies)


async def finish_welcome(harness: Harness, language_choice: str = "1") -> None:
    """A new resident picks a language and agrees: the welcome is complete."""
    reply = await say_all(harness, ["hi", language_choice, "1"])
    assert "1. " in reply  # the menu the welcome hands on to
    [welcome] = await harness.rows("SELECT status FROM sessions WHERE flow_id = 'welcome'")
    assert welcome["status"] == "completed"


def test_the_threshold_is_thirty_days() -> None:
    assert WELCOME_BACK_AFTER.days == 30


async def test_back_after_a_month_is_welcomed_in_their_language_before_the_menu(
    harness: Harness,
) -> None:
    await finish_welcome(harness, "2")  # Polski
    harness.clock.advance(days=31)
    [reply] = await harness.send("cześć")
    greeting, rest = reply.split("\n\n", 1)
    assert greeting == WELCOME_BACK_PL
    assert rest.startswith(MENU_PL)
    assert reply.count(WELCOME_BACK_PL) == 1


async def test_back_after_a_month_in_english(harness: Harness) -> None:
    await finish_welcome(harness)
    harness.clock.advance(days=31)
    [reply] = await harness.send("hello")
    assert reply.startswith(f"{WELCOME_BACK}\n\n{MENU}")


async def test_back_after_two_days_is_not_greeted(harness: Harness) -> None:
    await finish_welcome(harness, "2")
    harness.clock.advance(days=2)
    [reply] = await harness.send("cześć")
    assert reply.startswith(MENU_PL)
    assert WELCOME_BACK_PL not in reply


async def test_the_greeting_is_once_not_at_every_message(harness: Harness) -> None:
    await finish_welcome(harness)
    harness.clock.advance(days=45)
    [first] = await harness.send("hello")
    assert first.startswith(WELCOME_BACK)
    harness.clock.advance(minutes=1)
    [second] = await harness.send("1")  # the survey, from the menu
    assert WELCOME_BACK not in second
    assert "What should be fixed first?" in second


async def test_exactly_thirty_days_is_not_yet_away(harness: Harness) -> None:
    await finish_welcome(harness)
    harness.clock.advance(days=30)
    [reply] = await harness.send("hello")
    assert WELCOME_BACK not in reply
    harness.clock.advance(days=30, seconds=1)
    [reply] = await harness.send("hello")
    assert reply.startswith(WELCOME_BACK)


async def test_a_new_resident_is_not_welcomed_back(harness: Harness) -> None:
    [reply] = await harness.send("hello")
    assert "Welcome back" not in reply
    assert reply.startswith("Welcome to Parley!")
    [contact] = await harness.rows("SELECT previous_seen_at, last_seen_at FROM contacts")
    assert contact["previous_seen_at"] is None


async def test_previous_seen_is_the_message_before(harness: Harness) -> None:
    start = harness.clock()
    await harness.send("hello")
    harness.clock.advance(days=3)
    await harness.send("1")
    [contact] = await harness.rows("SELECT previous_seen_at, last_seen_at FROM contacts")
    assert contact["previous_seen_at"] == start.isoformat()
    assert contact["last_seen_at"] == harness.clock().isoformat()


async def test_stop_after_a_long_time_gets_only_the_confirmation(harness: Harness) -> None:
    await finish_welcome(harness)
    harness.clock.advance(days=40)
    replies = await harness.send("STOP")
    assert replies == ["You will get no more messages from us. To start again, reply START."]


async def test_an_opted_out_resident_is_not_greeted(harness: Harness) -> None:
    await finish_welcome(harness)
    await harness.send("STOP")
    harness.clock.advance(days=60)
    assert await harness.send("hello") == []
    [reply] = await harness.send("HELP")
    assert "Welcome back to" not in reply
    harness.clock.advance(days=40)
    [reply] = await harness.send("START")
    assert reply == "Welcome back! You will get our messages again. Reply STOP to stop."


async def test_the_greeting_goes_with_a_trigger_reply(harness: Harness) -> None:
    await finish_welcome(harness)
    harness.clock.advance(days=31)
    [reply] = await harness.send("IDEA")
    assert reply == (
        f"{WELCOME_BACK}\n\nWhat is your idea to make the area better? Write it in one message."
    )


# -- an unfinished survey expires quietly ----------------------------------------------


async def into_priorities_second_question(harness: Harness) -> None:
    await finish_welcome(harness)
    reply = await say_all(harness, ["1"])  # the menu: the survey
    assert "What should be fixed first?" in reply
    reply = await say_all(harness, ["1"])  # housing
    assert "What is the biggest housing problem?" in reply


@pytest.mark.parametrize("days", [10, 3.5])
async def test_an_unfinished_survey_expires_without_pestering(
    harness: Harness, days: float
) -> None:
    await into_priorities_second_question(harness)
    sent_before = len(harness.sent)
    harness.clock.advance(days=days)  # priorities expire after 3 days
    await harness.app.jobs.run_due()
    await harness.app.dispatcher.drain()
    assert harness.sent[sent_before:] == []  # no reminder, no "are you still there?"
    outbox = await harness.rows("SELECT id FROM outbox WHERE status != 'sent'")
    assert outbox == []

    [reply] = await harness.send("2")
    assert "What is the biggest housing problem?" not in reply
    assert reply.startswith(MENU)  # consent given: the menu, as for any later message
    [survey] = await harness.rows(
        "SELECT status, ended_at FROM sessions WHERE flow_id = 'priorities'"
    )
    assert survey["status"] == "expired"
    assert survey["ended_at"] == harness.clock().isoformat()
    answers = await harness.rows(
        "SELECT step_id, value FROM answers WHERE flow_id = 'priorities' ORDER BY id"
    )
    assert [(a["step_id"], json.loads(a["value"])) for a in answers] == [("top_issue", "housing")]
    # The "2" was not an answer to anything: the menu waits for its own reply.
    assert await harness.rows("SELECT * FROM answers WHERE raw = '2'") == []


async def test_within_its_expiry_the_survey_carries_on(harness: Harness) -> None:
    await into_priorities_second_question(harness)
    harness.clock.advance(days=2, hours=23)
    [reply] = await harness.send("2")  # repairs and damp
    assert "Which services do you use?" in reply
    answers = await harness.rows(
        "SELECT step_id, value FROM answers WHERE flow_id = 'priorities' ORDER BY id"
    )
    assert [a["step_id"] for a in answers] == ["top_issue", "housing_problem"]


async def test_an_expired_survey_and_a_month_away_greets_then_the_menu(
    harness: Harness,
) -> None:
    await into_priorities_second_question(harness)
    harness.clock.advance(days=35)
    await harness.app.jobs.run_due()
    await harness.app.dispatcher.drain()
    [reply] = await harness.send("1")
    assert reply.startswith(f"{WELCOME_BACK}\n\n{MENU}")
    answers = await harness.rows("SELECT step_id FROM answers WHERE flow_id = 'priorities'")
    assert [a["step_id"] for a in answers] == ["top_issue"]
    statuses = await harness.rows("SELECT flow_id, status FROM sessions ORDER BY id")
    assert statuses[-2:] == [
        {"flow_id": "priorities", "status": "expired"},
        {"flow_id": "menu", "status": "active"},
    ]
