"""Folding what residents type, and the keyword / yes-no vocabulary built on it."""

from __future__ import annotations

import pytest

from bot.lang.normalize import fold, fold_digits, key, strip_edges
from bot.lang.words import Keyword, is_reserved, keyword_of, keyword_word, yes_no_of

# -- fold / key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply", ["TAK!", "tak.", " Tak ", "tak", "TAK", "(tak)", "¡tak!", "Ｔａｋ"]
)
def test_key_ignores_case_punctuation_and_spaces(reply: str) -> None:
    assert key(reply) == "tak"


def test_fold_keeps_inner_punctuation_key_strips_the_edges() -> None:
    assert fold("TAK!") == "tak!"
    assert key("TAK!") == "tak"
    assert key("(b).") == "b"
    assert key("...") == ""


def test_fold_collapses_whitespace() -> None:
    assert fold("  two \t\n words  ") == "two words"
    assert fold("a\u00a0 b") == "a b"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Żółty", "zolty"),
        ("ŻÓŁTY", "zolty"),
        ("Język", "jezyk"),
        ("café", "cafe"),
        ("cafe\u0301", "cafe"),  # decomposed accent
        ("Ärger", "arger"),
        ("Straße", "strasse"),
        ("Ёлка", "елка"),
        ("İstanbul", "istanbul"),
    ],
)
def test_fold_removes_accents_on_latin_and_cyrillic(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    "spelling",
    [
        "oprește",  # s with comma below (U+0219), the correct Romanian letter
        "opreşte",  # s with cedilla (U+015F), what older phones send
        "OPREȘTE",
        "OPREŞTE",
        "opreste",
    ],
)
def test_romanian_comma_and_cedilla_fold_alike(spelling: str) -> None:
    assert fold(spelling) == "opreste"


@pytest.mark.parametrize("digit", ["3", "٣", "۳", "৩", "३", "３", "③"])
def test_digits_of_any_script_fold_to_ascii(digit: str) -> None:
    assert fold(digit) == "3"


def test_multi_digit_numbers_in_other_scripts() -> None:
    assert fold("١٢") == "12"
    assert fold("۱۲۳") == "123"
    assert fold("১২") == "12"
    assert fold("१२") == "12"
    assert fold_digits("a٣b") == "a3b"
    assert fold_digits("plain 3") == "plain 3"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("أ", "ا"),  # alef with hamza above
        ("إ", "ا"),  # alef with hamza below
        ("آ", "ا"),  # alef with madda
        ("ی", "ي"),  # Persian/Urdu yeh vs Arabic yeh
        ("ى", "ي"),  # alef maksura
        ("ک", "ك"),  # keheh vs kaf
        ("ة", "ه"),  # teh marbuta
        ("ہ", "ه"),  # Urdu heh goal
        ("إيقاف", "ايقاف"),
        ("اللغة", "اللغه"),
        ("روکیں", "روكيں"),
        ("نـعـم", "نعم"),  # tatweel
        ("مَدَد", "مدد"),  # harakat are dropped
    ],
)
def test_arabic_letter_variants_fold_equal(one: str, other: str) -> None:
    assert fold(one) == fold(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("কাল", "কল"),  # Bengali: "time" vs "machine", differ only by the vowel sign
        ("দিন", "দীন"),  # Bengali: short vs long i
        ("किताब", "कताब"),  # Devanagari vowel sign
        ("ज़", "ज"),  # Devanagari nukta (a combining mark) is meaningful
    ],
)
def test_indic_vowel_signs_and_marks_are_kept(one: str, other: str) -> None:
    assert fold(one) == one
    assert fold(one) != fold(other)


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u200e",
        "\u200f",
        "\u202a",
        "\u202e",
        "\u2060",
        "\u2066",
        "\ufeff",
    ],
)
def test_invisible_characters_are_removed(invisible: str) -> None:
    assert fold(f"{invisible}ta{invisible}k{invisible}") == "tak"
    assert key(f"{invisible}STOP{invisible}") == "stop"


def test_bidi_marks_around_arabic_are_removed() -> None:
    assert fold("\u200fنعم\u200e") == "نعم"


def test_strip_edges_only_touches_the_edges() -> None:
    assert strip_edges("(b).") == "b"
    assert strip_edges("«oui»") == "oui"
    assert strip_edges("a-b") == "a-b"
    assert strip_edges("") == ""


# -- keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        "Stop.",
        " stop ",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "STOPALL",
        "REVOKE",
        "OPTOUT",
        "opt out",
        "stop all",
        # pl
        "KONIEC",
        "wypisz",
        "Rezygnuję",
        "anuluj",
        # ro
        "Oprește",
        "Opreşte",
        "dezabonare",
        "anulare",
        # ar
        "توقف",
        "إيقاف",
        "الغاء",
        "إلغاء",
        # ur
        "بند",
        "رکیں",
    ],
)
def test_stop_words(word: str) -> None:
    assert keyword_of(word) is Keyword.STOP


@pytest.mark.parametrize(
    "word",
    [
        "START",
        "start",
        "UNSTOP",
        "subscribe",
        "zapisz",
        "Pornește",
        "abonare",
        "ابدأ",
        "بدء",
        "شروع",
    ],
)
def test_start_words(word: str) -> None:
    assert keyword_of(word) is Keyword.START


@pytest.mark.parametrize("word", ["HELP", "help?", "info", "POMOC", "ajutor", "مساعدة", "مدد"])
def test_help_words(word: str) -> None:
    assert keyword_of(word) is Keyword.HELP


@pytest.mark.parametrize(
    "word", ["LANGUAGE", "lang", "JĘZYK", "jezyk", "Limbă", "limba", "اللغة", "لغة", "زبان"]
)
def test_language_words(word: str) -> None:
    assert keyword_of(word) is Keyword.LANGUAGE


@pytest.mark.parametrize(
    "text",
    [
        "stop please",
        "please stop",
        "STOP STOP",
        "stopp",
        "OPT-OUT",
        "help me",
        "",
        "   ",
        "2",
        "tak",
    ],
)
def test_not_a_keyword(text: str) -> None:
    assert keyword_of(text) is None


def test_keywords_are_reserved_for_flows() -> None:
    assert is_reserved("Stop")
    assert is_reserved("Pomoc")
    assert not is_reserved("Stop the noise")
    assert not is_reserved("Housing")


def test_keyword_word_shown_to_residents() -> None:
    assert keyword_word("en", Keyword.STOP) == "STOP"
    assert keyword_word("pl", Keyword.HELP) == "POMOC"
    assert keyword_word("xx", Keyword.HELP) == "HELP"  # no words of its own: English


# -- yes / no ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "languages", "meaning"),
    [
        ("yes", ["en"], True),
        ("YES!", ["en"], True),
        ("y", ["en"], True),
        ("ok", ["en"], True),
        ("no", ["en"], False),
        ("Nope.", ["en"], False),
        ("tak", ["pl"], True),
        ("TAK!", ["pl"], True),
        ("Nie", ["pl"], False),
        ("da", ["ro"], True),
        ("Nu", ["ro"], False),
        ("نعم", ["ar"], True),
        ("naam", ["ar"], True),
        ("لا", ["ar"], False),
        ("ہاں", ["ur"], True),
        ("جی ہاں", ["ur"], True),
        ("haan", ["ur"], True),
        ("نہیں", ["ur"], False),
        ("nahi", ["ur"], False),
        # English works whatever the contact's language
        ("yes", ["pl"], True),
        ("no", ["ar"], False),
        # the first language that knows the word wins
        ("tak", ["en", "pl"], True),
    ],
)
def test_yes_no_of(text: str, languages: list[str], meaning: bool) -> None:
    assert yes_no_of(text, languages) is meaning


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        ("tak", ["en"]),  # Polish words only for Polish speakers
        ("da", ["pl"]),
        ("maybe", ["en"]),
        ("yes please", ["en"]),
        ("", ["en"]),
        ("1", ["en"]),  # numbers are the parser's business, not a word
    ],
)
def test_yes_no_of_unknown(text: str, languages: list[str]) -> None:
    assert yes_no_of(text, languages) is None


# -- letters that become variants once composed again ------------------------------------


@pytest.mark.parametrize(
    ("with_hamza", "plain"),
    [
        ("ۂ", "ہ"),  # heh goal with hamza above (Urdu izafat, as in خانۂ) vs heh goal
        ("ۓ", "ے"),  # yeh barree with hamza above vs yeh barree
    ],
)
def test_hamza_variants_of_mapped_letters_fold_alike(with_hamza: str, plain: str) -> None:
    assert fold(with_hamza) == fold(plain)
    assert fold(fold(with_hamza)) == fold(with_hamza)


def test_fold_is_idempotent_on_every_character_of_the_basic_plane() -> None:
    chars = (chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    changed = [ch for ch in chars if fold(fold(ch)) != fold(ch)]
    assert changed == []


# -- once bugs ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["ǿ", "Ǿ", "ø\u0301", "sǿren"])
def test_o_stroke_with_an_accent_folds_like_o_stroke(text: str) -> None:
    assert fold(fold(text)) == fold(text)
    assert fold(text) == fold(text.replace("ǿ", "ø").replace("Ǿ", "ø").replace("\u0301", ""))
