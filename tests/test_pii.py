"""Personal details in what residents write: phone numbers are found by libphonenumber,
so ordinary numbers (ages, years, dates, times, amounts) are left alone.

Every number below is fictional: UK numbers from Ofcom's ranges for drama (07700 900xxx,
020 7946 0xxx, 0161 496 0xxx), the rest in the shape of their country's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.lang import pii
from bot.settings import load_settings

FLAGGED = [
    # English, UK numbers as people write them
    "Call me on 07700 900123 about it",
    "ring +44 (0)20 7946 0958",
    "my mobile is 07700900456",
    "text 07700-900-456 if the lights go out",
    "call me on 07700 - 900 - 456",
    "phone (07700) 900456 after six",
    "07700.900.456 is my number",
    "my number 07700/900/456",
    "call me on 07700–900–456",  # en dashes
    "call07700900456",  # run on to the word
    "ring me 07700900456please",
    "office 020 7946 0958, ask for Sam",
    "landline 0161 496 0000",
    "+44 7700 900456 any time",
    "whatsapp +447700900456",
    "0044 7700 900456 from abroad",
    "two numbers: 07700 900 111 or 07700 900 222",
    "kids club 16-29 year olds, call 07700 900789",
    # other countries, with their code
    "Zadzwoń: +48 600 123 456",
    "numer +48 600-123-456, pytać o Annę",
    "Sunați-mă la +40 712 345 678",
    "Ligue para +351 912 345 678",
    "Llámame al +34 612 34 56 78",
    "Mano numeris +370 612 34567",
    "Wac ii +252 61 5123456",
    "Телефонуйте +380 67 123 4567",
    "call my cousin +1 415 555 2671",
    "mon numéro +33 6 12 34 56 78",
    # native digits, touching words and not
    "اتصل ٠٧٧٠٠٩٠٠١٢٣",
    "اتصل٠٧٧٠٠٩٠٠٤٥٦",
    "رقمي ٠٧٧٠٠ ٩٠٠ ٤٥٦ شكرا",
    "رقمي +44 ٧٧٠٠ ٩٠٠ ٤٥٦",
    "شماره من ۰۷۷۰۰۹۰۰۴۵۶ است",
    "با من تماس بگیرید ۰۷۷۰۰-۹۰۰-۴۵۶",
    "আমাকে ফোন করুন ০৭৭০০ ৯০০ ৪৫৬",
    "নম্বর০৭৭০০৯০০৪৫৬",
    "ਮੈਨੂੰ ਫ਼ੋਨ ਕਰੋ ੦੭੭੦੦ ੯੦੦ ੪੫੬",
    "મને ફોન કરો ૦૭૭૦૦ ૯૦૦ ૪૫૬",
    "مجھے کال کریں ۰۷۷۰۰۹۰۰۴۵۶",
    "زنګ ووهئ +44 7700 900456",
    "ደውሉ 07700 900456",
    "Мій номер 07700 900456",
]
NOT_FLAGGED = [
    "More benches in the park",
    "Bus 25 every 10 minutes at night",
    "Open the youth club 3 evenings a week",
    "Spend £4,000 on street lights in 2027",
    "Więcej autobusów nocnych",
    "A club for 16-29 year olds",
    "sessions for ages 16-29 and 30-45",
    "budget for 2024-2025",
    "plan for 2024-2025 and 2025-2026",
    "from 2020 to 2024, 2024-2028",
    "open 09:00-17:00 Monday to Friday",
    "meeting on 14.03.2026 at 18:30",
    "from 01.01.2026 to 31.12.2026",
    "spotkanie 14.03.2026 18:00",
    "on 5.11.26 and 01/02/2026",
    "clean-up day 2026-03-14",
    "from 12/03/2026 to 19/03/2026",
    "about 1,500,000 people use the bus",
    "£12,500 for 250 new bins",
    "ID-4821 was a good idea",
    "bus 7, 25 and 205",
    "room 12, floor 3",
    "10-15 minutes walk",
    "Klub dla młodzieży 16-29 lat",
    "budżet na lata 2024-2025",
    "Club pentru tineri 16-29 de ani",
    "Clube para jovens dos 16-29 anos",
    "Presupuesto 2024-2025 para el parque",
    "Jaunimo klubas 16–29 metų",
    "Naadi dhallinyarada 16-29 sano",
    "Клуб для молоді 16-29 років",
    "Бюджет на 2024–2025 роки",
    "نادي للشباب ١٦-٢٩ سنة",
    "ميزانية ٢٠٢٤-٢٠٢٥",
    "باشگاه برای جوانان ۱۶-۲۹ ساله",
    "بودجه ۱۴۰۳-۱۴۰۴",
    "১৬-২৯ বছর বয়সীদের জন্য ক্লাব",
    "২০২৪-২০২৫ সালের বাজেট",
    "੧੬-੨੯ ਸਾਲ ਦੇ ਨੌਜਵਾਨਾਂ ਲਈ",
    "૧૬-૨૯ વર્ષના યુવાનો માટે",
    "۱۶-۲۹ سال کے نوجوانوں کے لیے",
    "ክለብ ንመንእሰያት 16-29 ዓመት",
    "bins emptied 2x a week, 52 weeks a year",
    "we need 3-4 more crossings by 2030",
    "Between 2019-2023 crime fell 12%",
]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(FLAGGED) >= 40
    assert len(NOT_FLAGGED) >= 40
    scripts = {"Latin": "a", "Arabic": "ا", "Bengali": "অ", "Cyrillic": "а", "Ethiopic": "ክ"}
    for texts in (FLAGGED, NOT_FLAGGED):
        for name, letter in scripts.items():
            letters = {chr(c) for c in range(ord(letter), ord(letter) + 80)}
            assert any(letters & set(text) for text in texts), name


@pytest.mark.parametrize("text", FLAGGED)
def test_phone_numbers_are_flagged_and_hidden_whole(text: str) -> None:
    found = pii.find(text, "GB")
    assert pii.kinds(found) == ["phone"]
    shown = pii.redact(text, found)
    assert "[phone]" in shown
    # Every digit of the number is gone; the words around it are kept.
    kept = [ch for ch in shown if ch.isdecimal()]
    assert len(kept) <= 4, shown  # at most an age range left ("16-29")
    assert shown.replace("[phone]", "").strip(" ,.:") != ""


@pytest.mark.parametrize("text", NOT_FLAGGED)
def test_ordinary_numbers_are_not_flagged(text: str) -> None:
    assert pii.find(text, "GB") == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("اتصل٠٧٧٠٠٩٠٠٤٥٦ شكرا", "اتصل[phone] شكرا"),
        ("নম্বর০৭৭০০৯০০৪৫৬ দিন", "নম্বর[phone] দিন"),
        ("شماره من ۰۷۷۰۰ ۹۰۰ ۴۵۶ است", "شماره من [phone] است"),
        ("call07700900456please", "call[phone]please"),
        ("club 16-29, call 07700 900789", "club 16-29, call [phone]"),
        ("budget 2024-2025: ring 020 7946 0958", "budget 2024-2025: ring [phone]"),
    ],
)
def test_native_digits_and_touching_words_keep_their_places(text: str, shown: str) -> None:
    assert pii.redact(text, pii.find(text, "GB")) == shown


def test_the_region_decides_numbers_written_without_a_country_code() -> None:
    polish = "Zadzwoń 600 123 456 wieczorem"
    assert pii.find(polish, "GB") == []
    assert pii.kinds(pii.find(polish, "PL")) == ["phone"]
    assert pii.kinds(pii.find("Zadzwoń +48 600 123 456", "GB")) == ["phone"]
    assert pii.hide_contact_details(polish, "PL") == "Zadzwoń [phone] wieczorem"
    assert pii.hide_contact_details("Club 16-29 in 2024-2025", "PL") == "Club 16-29 in 2024-2025"


# Numbers as written in the country a resident's language points to, with no +country
# code: a GB deployment finds them only when it knows the resident's language.
LANGUAGES = ("en", "pl", "ro", "ar", "ur", "pa", "pt", "es", "bn", "gu", "lt", "so", "uk",
             "fa", "ps", "ti")  # fmt: skip
HOME_FLAGGED = [
    ("pl", "mój numer 600 123 456"),
    ("pl", "Zadzwoń 512-345-678 wieczorem"),
    ("ro", "Sunați-mă la 0722 123 456"),
    ("uk", "Мій номер 067 123 4567"),
    ("uk", "телефон 050-123-45-67"),
    ("lt", "Mano numeris 8 612 34567"),
    ("lt", "skambinkite 861234567"),
    ("pt", "Ligue para (11) 91234-5678"),
    ("es", "Llámame al 612 34 56 78"),
    ("es", "mi número 612345678"),
    ("pa", "ਮੇਰਾ ਨੰਬਰ 98765 43210"),
    ("gu", "મારો નંબર ૯૮૭૬૫ ૪૩૨૧૦"),
    ("so", "Wac ii 061 5123456"),
    ("fa", "شماره من ۰۹۱۲ ۳۴۵ ۶۷۸۹"),
    ("bn", "আমার নম্বর ০১৭১২-৩৪৫৬৭৮"),
    ("en", "call me at (415) 555-2671"),
]
# Amounts that are real numbers in some of those countries: Somalia's and Poland's
# landlines, a Polish mobile range. A number in another country is looked for only if
# it is a mobile there and not a round amount.
ROUND_AMOUNTS = [
    "budżet 2 500 000 zł na 2026",
    "R$ 1.500.000 para a praça",
    "population 125 000 000",
    "600 000 000 zł for the region",
    "1 000 000 000 people",
    "budget 2500000",
    "ticket 1234567",
]


def test_every_shipped_language_points_to_a_country_with_phone_numbers() -> None:
    regions = {language: pii.language_region(language) for language in LANGUAGES}
    assert regions == {
        "en": "US", "pl": "PL", "ro": "RO", "ar": "EG", "ur": "PK", "pa": "IN", "pt": "BR",
        "es": "ES", "bn": "BD", "gu": "IN", "lt": "LT", "so": "SO", "uk": "UA", "fa": "IR",
        "ps": "AF", "ti": "ET",
    }  # fmt: skip
    assert pii.language_region("pt-PT") == pii.language_region("pt_PT") == "PT"
    for odd in (None, "", "xx", "zz_ZZ", "???"):
        assert pii.language_region(odd) is None


@pytest.mark.parametrize(("language", "text"), HOME_FLAGGED)
def test_a_number_from_the_residents_own_country_is_flagged(language: str, text: str) -> None:
    found = pii.find(text, "GB", language)
    assert pii.kinds(found) == ["phone"], (language, text)
    shown = pii.redact(text, found)
    assert "[phone]" in shown
    assert not any(ch.isdecimal() for ch in shown)
    assert pii.hide_contact_details(text, "GB", language) == shown


def test_the_home_corpus_covers_six_countries_the_gb_region_alone_misses() -> None:
    missed = {language for language, text in HOME_FLAGGED if not pii.find(text, "GB")}
    assert len(missed) >= 6  # pl lt pt es pa gu en


@pytest.mark.parametrize("text", NOT_FLAGGED + ROUND_AMOUNTS)
def test_ordinary_numbers_are_not_flagged_whatever_the_language(text: str) -> None:
    for language in LANGUAGES:
        assert pii.find(text, "GB", language) == [], language


@pytest.mark.parametrize("text", FLAGGED)
def test_the_language_adds_numbers_and_never_loses_one(text: str) -> None:
    for language in LANGUAGES:
        assert pii.kinds(pii.find(text, "GB", language)) == ["phone"], language


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "parley.toml"
    path.write_text("[parley]\n", encoding="utf-8")
    return path


def test_the_region_setting_defaults_to_gb_and_is_checked(tmp_path: Path) -> None:
    assert load_settings({}, config_file=_config(tmp_path)).region == "GB"
    assert load_settings({"PARLEY_REGION": "pl"}, config_file=_config(tmp_path)).region == "PL"
    with pytest.raises(ConfigError, match="PARLEY_REGION: 'Poland' is not a country code"):
        load_settings({"PARLEY_REGION": "Poland"}, config_file=_config(tmp_path))
