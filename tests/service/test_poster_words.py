"""Keyword triggers from posters ("JOIN NORTH"), through the real service and database,
and the checks on ``triggers.yaml``; and the greeting for a resident back after a while."""

from __future__ import annotations

import json

from bot.flowfile import load_flows
from bot.flowfile.triggers import read_triggers
from bot.paths import bundled
from tests.conftest import Harness

FLOWS = load_flows(bundled("flows"))
WELCOME_PROMPT = "Welcome to Parley! Have your say about your area. Choose your language:"


async def contact_fields(harness: Harness, address: str) -> dict[str, str]:
    rows = await harness.rows("SELECT fields FROM contacts WHERE address = ?", address)
    fields: dict[str, str] = json.loads(rows[0]["fields"])
    return fields


async def test_join_north_sets_the_area_and_starts_the_welcome(harness: Harness) -> None:
    replies = await harness.send("JOIN NORTH", "+447700900801")
    assert replies[0].startswith(WELCOME_PROMPT)
    assert (await contact_fields(harness, "+447700900801"))["area"] == "North"
    sessions = await harness.rows("SELECT flow_id, status FROM sessions")
    assert sessions == [{"flow_id": "welcome", "status": "active"}]


async def test_trigger_words_match_like_keywords_in_any_language(harness: Harness) -> None:
    assert (await harness.send("join  north!", "+447700900802"))[0].startswith(WELCOME_PROMPT)
    assert (await contact_fields(harness, "+447700900802"))["area"] == "North"
    await harness.send("dołącz south", "+447700900803")
    assert (await contact_fields(harness, "+447700900803"))["area"] == "South"
    await harness.send("JOIN", "+447700900804")
    assert "area" not in await contact_fields(harness, "+447700900804")


async def test_an_unknown_code_gets_a_hint_and_starts_nothing(harness: Harness) -> None:
    replies = await harness.send("JOIN NROTH", "+447700900805")
    assert replies == [
        "Sorry, we do not know the code NROTH. Please check the poster and try again."
    ]
    assert await harness.rows("SELECT id FROM sessions") == []
    assert "area" not in await contact_fields(harness, "+447700900805")


async def test_a_trigger_ends_the_survey_under_way_and_starts_its_flow(harness: Harness) -> None:
    address = "+447700900806"
    for text in ("hi", "1", "yes", "1"):  # into the priorities survey
        await harness.send(text, address)
    replies = await harness.send("IDEA", address)
    assert replies == [FLOWS["idea"].steps[0].text.texts["en"]]  # type: ignore[attr-defined]
    rows = await harness.rows("SELECT flow_id, status FROM sessions ORDER BY id")
    assert rows[-2:] == [
        {"flow_id": "priorities", "status": "expired"},
        {"flow_id": "idea", "status": "active"},
    ]


async def test_at_a_free_text_question_an_unknown_code_is_the_answer(harness: Harness) -> None:
    address = "+447700900807"
    for text in ("hi", "1", "yes", "2"):  # the idea flow: "What is your idea…"
        await harness.send(text, address)
    await harness.send("join later", address)
    answers = await harness.rows("SELECT step_id, value FROM answers WHERE flow_id = 'idea'")
    assert answers == [{"step_id": "idea", "value": json.dumps("join later")}]


async def test_an_opted_out_resident_is_not_signed_up_by_a_trigger(harness: Harness) -> None:
    address = "+447700900808"
    await harness.send("hi", address)
    await harness.send("STOP", address)
    replies = await harness.send("JOIN NORTH", address)
    assert replies == ["Parley: you get no messages from us. Reply START to get them again."]
    opted = await harness.rows("SELECT opted_out_at FROM contacts WHERE address = ?", address)
    assert opted[0]["opted_out_at"] is not None
    assert "area" not in await contact_fields(harness, address)


async def test_a_resident_back_after_a_month_is_welcomed_back_in_their_language(
    harness: Harness,
) -> None:
    address = "+447700900809"
    for text in ("hej", "2", "tak"):  # Polish, consent given
        await harness.send(text, address)
    harness.clock.advance(days=2)
    assert not (await harness.send("x", address))[0].startswith("Witamy ponownie")
    harness.clock.advance(days=31)
    replies = await harness.send("hej", address)
    assert replies[0].startswith("Witamy ponownie w Parley!")
    assert "Co chcesz zrobić?" in replies[0]  # then the menu, in the same reply
    harness.clock.advance(days=40)
    stopped = await harness.send("STOP", address)
    assert not stopped[0].startswith("Witamy ponownie")


def test_a_broken_triggers_file_is_reported_as_file_and_line() -> None:
    text = """\
triggers:
  - flow: nowhere
    words: {en: [go]}
  - flow: welcome
    words:
      en: [stop, "two words", "7", yes]
  - flow: idea
    words: {en: [join]}
    codes: {NORTH: North}
  - flow: welcome
    words: {en: [join]}
    field: area
    codes: {NORTH: North, north: Again}
    colour: red
"""
    _, problems = read_triggers(text, "flows/triggers.yaml", FLOWS)
    assert sorted(message for _, message in problems) == sorted(
        [
            "flows/triggers.yaml:2: trigger 1: there is no flow 'nowhere'",
            "flows/triggers.yaml:6: trigger 2: 'stop' is a number, a keyword or a yes/no answer;"
            " choose another word",
            "flows/triggers.yaml:6: trigger 2: 'two words' must be one word",
            "flows/triggers.yaml:6: trigger 2: '7' is a number, a keyword or a yes/no answer;"
            " choose another word",
            "flows/triggers.yaml:6: trigger 2: 'yes' is a number, a keyword or a yes/no answer;"
            " choose another word",
            "flows/triggers.yaml:9: trigger 3: 'codes' need 'field': the contact field they set",
            "flows/triggers.yaml:11: trigger 4: 'join' is already a word of the trigger on line 7",
            "flows/triggers.yaml:13: trigger 4: code 'north' is listed twice",
            "flows/triggers.yaml:14: trigger 4: unknown key 'colour'",
        ]
    )
