"""Guessing a new resident's language from their first text, only when it is clear."""

from __future__ import annotations

import pytest

from bot.lang.guess import LanguageGuesser
from bot.settings import SETTINGS

LANGUAGES = tuple(SETTINGS["languages"].default.split(","))
GUESS = LanguageGuesser(LANGUAGES)  # one for the module: the model takes ~0.5 s to load


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("pl", "Dzień dobry, chciałbym się dowiedzieć więcej o ankiecie"),
        ("es", "Hola, quiero saber más sobre la encuesta de mi barrio"),
        ("lt", "Labas, norėčiau sužinoti daugiau apie apklausą"),
        ("ro", "Bună ziua, aș vrea să știu mai multe despre sondaj"),
        ("uk", "Добрий день, я хочу дізнатися більше про опитування"),
        ("ar", "مرحبا، أريد أن أعرف المزيد عن هذا الاستبيان"),
        ("ur", "السلام علیکم، میں اس سروے کے بارے میں مزید جاننا چاہتا ہوں"),
        ("fa", "سلام، من می‌خواهم درباره‌ی این نظرسنجی بیشتر بدانم"),
        ("ps", "سلام، زه غواړم د دې سروې په اړه نور معلومات ترلاسه کړم"),
        ("bn", "নমস্কার, আমি এই জরিপ সম্পর্কে আরও জানতে চাই"),
        ("pa", "ਸਤ ਸ੍ਰੀ ਅਕਾਲ, ਮੈਂ ਇਸ ਸਰਵੇ ਬਾਰੇ ਹੋਰ ਜਾਣਨਾ ਚਾਹੁੰਦਾ ਹਾਂ"),
        ("gu", "નમસ્તે, હું આ સર્વે વિશે વધુ જાણવા માંગુ છું"),
        ("ti", "ሰላም፣ ብዛዕባ እዚ መጽናዕቲ ዝያዳ ክፈልጥ እደሊ"),
    ],
)
def test_a_clear_sentence_is_guessed_right(language: str, text: str) -> None:
    assert GUESS(text) == language


def test_tigrinya_is_known_by_its_script_though_the_model_lacks_it() -> None:
    assert GUESS("ሰላም ከመይ ኣለኹም") == "ti"


@pytest.mark.parametrize("text", ["hi", "3", "JOIN NORTH", "ok", "STOP", "", "  ", "1 3", "👍"])
def test_a_short_text_gives_no_guess(text: str) -> None:
    """A keyword, a number or a greeting says nothing about the language."""
    assert GUESS(text) is None


@pytest.mark.parametrize(
    "text", ["مرحبا، أريد أن أعرف المزيد عن هذا الاستبيان", "Добрий день, я хочу дізнатися більше"]
)
def test_a_script_no_deployed_language_uses_gives_no_guess(text: str) -> None:
    guess = LanguageGuesser(["en", "pl"])
    assert guess(text) is None


def test_a_language_outside_the_deployment_is_never_guessed() -> None:
    guess = LanguageGuesser(["en", "pl"])
    assert guess("Hola, quiero saber más sobre la encuesta de mi barrio") in ("en", "pl", None)
    assert guess("Dzień dobry, chciałbym się dowiedzieć więcej o ankiecie") == "pl"
