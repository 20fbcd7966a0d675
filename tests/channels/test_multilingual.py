"""Golden multilingual scenarios through the real SDKs: the priorities survey completed in
Arabic over SMS with Eastern Arabic digits, in Bengali with Bengali digits, in Polish by
option words, in Ukrainian on Telegram by buttons, and LANGUAGE mid-survey."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.engine.flow import Localized, Question
from bot.flowfile import load_flows
from bot.paths import bundled
from tests.channels.conftest import (
    Live,
    live_settings,
    telegram_env,
    twilio_env,
    until,
    until_length,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

FLOWS = load_flows(bundled("flows"))
PRIORITIES = FLOWS["priorities"]
RESIDENT = "+447700900321"
CHAT = 5550077


def text_of(flow_id: str, step_id: str, language: str) -> str:
    step = FLOWS[flow_id].step(step_id)
    text = getattr(step, "text", None)
    assert isinstance(text, Localized)
    assert language in text.texts, f"{flow_id}.{step_id} is not translated into {language}"
    return text.texts[language]


def plain(text: str) -> str:
    """What a resident reads: the direction marks are invisible."""
    return text.replace("\u200f", "").replace("\u200e", "")


async def answers_of(parley: Live) -> list[tuple[str, Any, str]]:
    rows = await parley.rows(
        "SELECT step_id, value, language FROM answers WHERE flow_id = 'priorities' ORDER BY id"
    )
    return [(row["step_id"], json.loads(row["value"]), row["language"]) for row in rows]


async def sms_conversation(parley: Live, fake: FakeTwilio, script: list[str]) -> list[str]:
    for count, text in enumerate(script, 1):
        assert (await parley.sms(RESIDENT, text)).status_code == 200
        await until_length(lambda: fake.to(RESIDENT), count)
    await parley.until_all_sent()
    return [plain(text) for text in fake.to(RESIDENT)]


def assert_survey_in(replies: list[str], language: str) -> None:
    """Every question of the path taken came in ``language``, and the ending too."""
    questions = [s for s in PRIORITIES.steps if isinstance(s, Question)]
    asked = [
        q for q in questions if any(text_of("priorities", q.id, language) in r for r in replies)
    ]
    assert {q.id for q in asked} >= {"top_issue", "services", "safe_at_night", "years", "panel"}
    assert replies[-1] == text_of("priorities", "done", language)


async def test_priorities_in_arabic_over_sms_with_eastern_arabic_digits(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    script = [
        "مرحبا، أريد المشاركة في الاستبيان",  # guessed Arabic: the menu leads with العربية
        "١",  # العربية
        "١",  # consent: yes
        "١",  # menu: the survey
        "٣",  # buses and transport
        "١ ٢",  # doctor, library
        "٢",  # safe at night: 2
        "١٠",  # ten years
        "٢",  # panel: no
        "لا",  # nothing else
    ]
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        replies = await sms_conversation(parley, fake, script)
        answers = await answers_of(parley)
        contact = await parley.rows("SELECT language FROM contacts")
    assert replies[0].startswith(text_of("welcome", "language", "ar"))
    assert "\n1. العربية\n2. English" in replies[0]  # the guess leads, and is confirmed
    assert_survey_in(replies, "ar")
    assert answers == [
        ("top_issue", "transport", "ar"),
        ("services", ["gp", "library"], "ar"),
        ("safe_at_night", 2, "ar"),
        ("years", 10, "ar"),
        ("panel", "no", "ar"),
        ("more", "لا", "ar"),
    ]
    assert contact == [{"language": "ar"}]
    # On the phone, right-to-left lines that start with a Latin word read right to left.
    assert any(m["Body"].startswith("\u200f") or "\n\u200f" in m["Body"] for m in fake.messages)


async def test_priorities_in_bengali_with_bengali_digits_after_paging_the_menu(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    script = [
        "hello",
        "০",  # more languages
        "৯",  # বাংলা (9 on the first page, asked for by its number from any page)
        "হ্যাঁ",  # consent: yes
        "১",  # menu: the survey
        "১",  # housing
        "২",  # repairs and damp
        "১ ৩",  # doctor, community centre
        "৪",
        "১২",
        "১",  # panel: yes
        "পার্কে আরও বেঞ্চ",
    ]
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        replies = await sms_conversation(parley, fake, script)
        answers = await answers_of(parley)
    assert replies[0].endswith("0. More languages")
    assert "\n10. ગુજરાતી" in replies[1]  # the second page carries on the numbering
    assert replies[2].startswith(text_of("welcome", "consent", "bn"))
    assert_survey_in(replies, "bn")
    assert answers == [
        ("top_issue", "housing", "bn"),
        ("housing_problem", "repairs", "bn"),
        ("services", ["gp", "community_centre"], "bn"),
        ("safe_at_night", 4, "bn"),
        ("years", 12, "bn"),
        ("panel", "yes", "bn"),
        ("more", "পার্কে আরও বেঞ্চ", "bn"),
    ]


async def test_priorities_in_polish_by_option_words(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    script = [
        "Cześć, chcę wziąć udział w ankiecie",
        "Polski",
        "Tak!",
        "ankieta",  # menu: the survey, by its word
        "BEZPIECZEŃSTWO.",  # safety, by its label, shouting
        "lekarz, biblioteka",  # two services by their words
        "4",
        "3",
        "nie",
        "Więcej ławek w parku",
    ]
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        replies = await sms_conversation(parley, fake, script)
        answers = await answers_of(parley)
    assert "\n1. Polski\n2. English" in replies[0]
    assert_survey_in(replies, "pl")
    assert answers == [
        ("top_issue", "safety", "pl"),
        ("services", ["gp", "library"], "pl"),
        ("safe_at_night", 4, "pl"),
        ("years", 3, "pl"),
        ("panel", "no", "pl"),
        ("more", "Więcej ławek w parku", "pl"),
    ]


async def test_priorities_in_ukrainian_on_telegram_by_buttons(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    steps = [
        ("type", "/start"),
        ("press", "1"),  # Українська, first because the app's language is Ukrainian
        ("press", "1"),  # consent: yes
        ("press", "1"),  # menu: the survey
        ("press", "2"),  # safety
        ("tick", "tick:3"),  # community centre, ticked: nothing sent yet
        ("press", "done"),  # sends what is ticked
        ("press", "5"),  # safe at night
        ("type", "5"),  # years: typed, a number has no buttons
        ("press", "1"),  # panel: yes
        ("type", "Більше лавок у парку"),
    ]
    async with live(live_settings(tmp_path, **telegram_env(api, "webhook"))) as parley:
        count = 0
        for kind, data in steps:
            if kind in ("press", "tick"):
                last = fake.to(CHAT)[-1]
                keyboard = last["reply_markup"]["inline_keyboard"]
                assert data in [button["callback_data"] for row in keyboard for button in row]
                update = parley.residents.press(CHAT, data, "uk", on=last)
            else:
                update = parley.residents.message(CHAT, data, "uk")
            assert (await parley.telegram(update)).status_code == 200
            if kind == "tick":
                await until(lambda: len(fake.edits) == 1)
                continue
            count += 1
            await until_length(lambda: fake.to(CHAT), count)
        await until(lambda: len(fake.answered) == 8)
        sent = fake.to(CHAT)
        answers = await answers_of(parley)
    replies = [plain(m["text"]) for m in sent]
    first_keyboard = sent[0]["reply_markup"]["inline_keyboard"]
    assert first_keyboard[0][0]["text"].endswith("Українська")
    # Every language on one screen: no "Інші мови" (more languages) button to page on.
    assert [row[0]["callback_data"] for row in first_keyboard] == [str(n) for n in range(1, 17)]
    assert_survey_in(replies, "uk")
    assert answers == [
        ("top_issue", "safety", "uk"),
        ("services", ["community_centre"], "uk"),
        ("safe_at_night", 5, "uk"),
        ("years", 5, "uk"),
        ("panel", "yes", "uk"),
        ("more", "Більше лавок у парку", "uk"),
    ]


async def test_language_mid_survey_switches_and_resumes_where_the_resident_was(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    script = [
        "hi",
        "1",  # English
        "yes",
        "1",  # the survey
        "2",  # safety
        "IDIOMA",  # Spanish word for LANGUAGE, mid-survey
        "Español",
        "1 2",  # the services question again, now in Spanish
        "ЯЗИК",  # not a keyword in any language: a hint, in Spanish
        "мова",  # the Ukrainian word works for a Spanish speaker too
        "1",  # the menu now leads with Español: keep it
        "3",
    ]
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        replies = await sms_conversation(parley, fake, script)
        answers = await answers_of(parley)
        sessions = await parley.rows("SELECT flow_id, status FROM sessions ORDER BY id")
    services_es = text_of("priorities", "services", "es")
    assert replies[5].startswith(text_of("language", "language", "en"))
    assert text_of("language", "done", "es") in replies[6]
    assert services_es in replies[6]  # resumed at the same question, in Spanish
    assert services_es not in replies[8]
    assert replies[9].startswith(text_of("language", "language", "es"))
    assert "\n1. Español\n2. English" in replies[9]
    assert text_of("priorities", "safe_at_night", "es") in replies[10]
    assert answers[:3] == [
        ("top_issue", "safety", "en"),
        ("services", ["gp", "library"], "es"),
        ("safe_at_night", 3, "es"),
    ]
    assert [row["flow_id"] for row in sessions].count("language") == 2
    assert {row["status"] for row in sessions if row["flow_id"] == "language"} == {"completed"}
