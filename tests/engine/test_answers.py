"""The answer parser: forgiving in how residents type, strict about what a value means."""

from __future__ import annotations

import pytest

from bot.engine import Env, LanguageName
from bot.engine.answers import Parsed, Problem, parse, parse_choice
from bot.engine.flow import (
    ChoiceQuestion,
    Localized,
    NumberQuestion,
    Option,
    ScaleQuestion,
    TextQuestion,
    Value,
    YesNoQuestion,
)
from bot.lang import words
from bot.lang.words import writes_numbers

NU = Problem.NOT_UNDERSTOOD


def _text(en: str, **others: str) -> Localized:
    return Localized({"en": en, **others})


OPTIONS = (
    Option("housing", _text("Housing", pl="Mieszkania"), {"en": ("rent", "homes")}),
    Option("safety", _text("Safety", pl="Bezpieczeństwo")),
    Option("transport", _text("Buses and transport"), {"en": ("bus", "buses")}),
    Option("nursery", _text("Żłobek")),
)
CHOICE = ChoiceQuestion(id="top", text=_text("What first?"), options=OPTIONS)
MULTIPLE = ChoiceQuestion(id="many", text=_text("Which?"), options=OPTIONS, multiple=True)


def _parse(
    question: ChoiceQuestion | NumberQuestion | ScaleQuestion, reply: str
) -> Value | Problem:
    result = parse(question, reply, ("en",))
    return result.value if isinstance(result, Parsed) else result


# -- single choice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "2",
        "2.",
        " 2 ",
        "2)",
        "(2)",
        "#2",
        "B",
        "b",
        "(b)",
        "b.",
        "B)",
        "safety",
        "SAFETY",
        "Safety!",
        "Bezpieczeństwo",
        "bezpieczenstwo",
        "BEZPIECZENSTWO",
    ],
)
def test_choice_second_option(reply: str) -> None:
    assert _parse(CHOICE, reply) == "safety"


@pytest.mark.parametrize(
    ("reply", "chosen"),
    [
        ("1", "housing"),
        ("a", "housing"),
        ("rent", "housing"),  # extra words
        ("Homes", "housing"),
        ("mieszkania", "housing"),  # the label in another language
        ("buses and transport", "transport"),
        ("BUS", "transport"),
        ("bus!", "transport"),
        ("Żłobek", "nursery"),
        ("zlobek", "nursery"),  # without accents
        ("ZLOBEK", "nursery"),
        ("d", "nursery"),
        ("4", "nursery"),
        ("nursery", "nursery"),  # the option id
        ("\u200b3\u200b", "transport"),  # invisible characters
    ],
)
def test_choice_by_number_letter_or_words(reply: str, chosen: str) -> None:
    assert _parse(CHOICE, reply) == chosen


@pytest.mark.parametrize("reply", ["٢", "۲", "২", "२", "２", "②"])
def test_choice_digits_of_other_scripts(reply: str) -> None:
    assert _parse(CHOICE, reply) == "safety"


@pytest.mark.parametrize("reply", ["1 3", "1,3", "a c", "housing safety", "1 bus"])
def test_single_choice_rejects_several_options(reply: str) -> None:
    assert _parse(CHOICE, reply) is NU


def test_single_choice_accepts_the_same_option_twice() -> None:
    assert _parse(CHOICE, "2 2") == "safety"
    assert _parse(CHOICE, "2 b") == "safety"


@pytest.mark.parametrize("reply", ["5", "0", "00", "10", "e", "j", "z", "99"])
def test_choice_out_of_range(reply: str) -> None:
    assert _parse(CHOICE, reply) is NU


@pytest.mark.parametrize(
    "reply",
    [
        "a bus",  # "a" is an article here, not option 1
        "I want a park",
        "a lot of things",
        "b and c",
        "maybe",
        "2.5",
        "1-3",
        "...",
    ],
)
def test_choice_not_understood(reply: str) -> None:
    assert _parse(CHOICE, reply) is NU


@pytest.mark.parametrize("reply", ["", " ", "\n\t "])
def test_choice_empty(reply: str) -> None:
    assert parse(CHOICE, reply, ("en",)) is Problem.EMPTY
    assert parse_choice(OPTIONS, CHOICE.words, False, reply) is Problem.EMPTY


# -- multiple choice ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "1 3",
        "1,3",
        "1, 3",
        "1 ,3",
        "3 1",
        "3,1",
        "1;3",
        "1/3",
        "1+3",
        "1 & 3",
        "1،3",
        "a c",
        "C A",
        "1 1 3",
        "3 3 1 1",
        "1 c",
        "rent bus",
        "bus, housing",
        "١ ٣",
        "1\n3",
    ],
)
def test_multiple_choice(reply: str) -> None:
    assert _parse(MULTIPLE, reply) == ["housing", "transport"]


@pytest.mark.parametrize(
    ("reply", "chosen"),
    [
        ("2", ["safety"]),
        ("b", ["safety"]),
        ("safety", ["safety"]),
        ("4 3 2 1", ["housing", "safety", "transport", "nursery"]),
        ("2 2 2", ["safety"]),
    ],
)
def test_multiple_choice_sorted_and_distinct(reply: str, chosen: list[str]) -> None:
    assert _parse(MULTIPLE, reply) == chosen


@pytest.mark.parametrize("reply", ["1 5", "0 1", "1 and 3", "a bus", "1 3 e"])
def test_multiple_choice_not_understood(reply: str) -> None:
    assert _parse(MULTIPLE, reply) is NU


# -- numbers -----------------------------------------------------------------------------

YEARS = NumberQuestion(id="years", text=_text("Years?"), minimum=0, maximum=99)
ANY_WHOLE = NumberQuestion(id="n", text=_text("How many?"))
LITRES = NumberQuestion(id="l", text=_text("Litres?"), minimum=0.5, maximum=10, decimals=True)


@pytest.mark.parametrize(
    ("reply", "number"),
    [
        ("0", 0),
        ("99", 99),
        ("12", 12),
        (" 12 ", 12),
        ("about 12", 12),
        ("12 years", 12),
        ("I think 12.", 12),
        ("12.0", 12),
        ("١٢", 12),
        ("۱۲", 12),
        ("১২", 12),
        ("१२", 12),
    ],
)
def test_number_within_bounds(reply: str, number: int) -> None:
    value = _parse(YEARS, reply)
    assert value == number
    assert type(value) is int


@pytest.mark.parametrize(
    "reply",
    ["-1", "100", "12 or 13", "between 10 and 20", "a hundred and one", "a lot", "1,000"],
)
def test_number_rejected(reply: str) -> None:
    assert _parse(YEARS, reply) is NU


@pytest.mark.parametrize("reply", ["12.5", "12,5", "2.5"])
def test_a_fraction_for_a_whole_number_is_told_apart(reply: str) -> None:
    assert _parse(YEARS, reply) is Problem.NOT_WHOLE


@pytest.mark.parametrize("reply", ["", "   "])
def test_number_empty(reply: str) -> None:
    assert parse(YEARS, reply, ("en",)) is Problem.EMPTY


@pytest.mark.parametrize(
    ("reply", "number"),
    [("1,000", 1000), ("1.000", 1000), ("12,345,678", 12345678), ("-3", -3), ("0", 0)],
)
def test_number_without_bounds_reads_thousands(reply: str, number: int) -> None:
    value = _parse(ANY_WHOLE, reply)
    assert value == number
    assert type(value) is int


@pytest.mark.parametrize(
    ("reply", "number"),
    [("2.5", 2.5), ("2,5", 2.5), ("about 2.5 litres", 2.5), ("3", 3.0), ("0.5", 0.5), ("10", 10.0)],
)
def test_number_with_decimals(reply: str, number: float) -> None:
    value = _parse(LITRES, reply)
    assert value == number
    assert type(value) is float


@pytest.mark.parametrize("reply", ["0.4", "10.5", "11", "-1", "2.5 or 3"])
def test_number_with_decimals_out_of_bounds(reply: str) -> None:
    assert _parse(LITRES, reply) is NU


def test_number_too_big_for_a_float_is_not_understood() -> None:
    question = NumberQuestion(id="n", text=_text("How much?"), decimals=True)
    assert parse(question, "1" * 400, ("en",)) is NU


def test_number_of_fifteen_characters_is_read() -> None:
    assert _parse(ANY_WHOLE, "1" * 15) == 111_111_111_111_111
    assert _parse(ANY_WHOLE, "-" + "1" * 14) == -11_111_111_111_111
    assert _parse(ANY_WHOLE, "1,000,000,000,000") == 1_000_000_000_000  # 13 digits once ungrouped


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("1" * 16, id="16-digits"),
        pytest.param("-" + "1" * 15, id="minus-15-digits"),
        pytest.param("0" * 15 + "3", id="15-zeros-then-3"),
        pytest.param("1" * 14 + ".5", id="16-characters-with-a-point"),
        pytest.param("1" * 400, id="400-digits"),
    ],
)
@pytest.mark.parametrize(
    "question",
    [
        pytest.param(ANY_WHOLE, id="whole"),
        pytest.param(NumberQuestion(id="d", text=_text("How much?"), decimals=True), id="decimals"),
    ],
)
def test_number_longer_than_fifteen_characters_is_not_understood(
    question: NumberQuestion, reply: str
) -> None:
    assert _parse(question, reply) is NU


# -- scales ------------------------------------------------------------------------------

FIVE = ScaleQuestion(id="s", text=_text("1 to 5?"))
ELEVEN = ScaleQuestion(id="s11", text=_text("0 to 10?"), low=0, high=10)


@pytest.mark.parametrize(
    ("question", "reply", "number"),
    [
        (FIVE, "1", 1),
        (FIVE, "5", 5),
        (FIVE, "3.", 3),
        (FIVE, "٣", 3),
        (FIVE, "about 4", 4),
        (ELEVEN, "0", 0),
        (ELEVEN, "10", 10),
    ],
)
def test_scale_within_range(question: ScaleQuestion, reply: str, number: int) -> None:
    value = _parse(question, reply)
    assert value == number
    assert type(value) is int


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        (FIVE, "0"),
        (FIVE, "6"),
        (FIVE, "4/5"),
        (FIVE, "3 or 4"),
        (FIVE, "good"),
        (ELEVEN, "11"),
        (ELEVEN, "-1"),
    ],
)
def test_scale_out_of_range(question: ScaleQuestion, reply: str) -> None:
    assert _parse(question, reply) is NU


def test_a_fraction_on_a_scale_is_told_apart() -> None:
    assert _parse(FIVE, "3.5") is Problem.NOT_WHOLE


@pytest.mark.parametrize("reply", ["0" * 15 + "3", "0" * 400 + "3", "3" * 16])
def test_scale_reply_longer_than_fifteen_characters_is_not_understood(reply: str) -> None:
    assert _parse(FIVE, reply) is NU


# -- text --------------------------------------------------------------------------------

SHORT = TextQuestion(id="t", text=_text("Anything else?"), max_length=10)


@pytest.mark.parametrize(
    ("reply", "text"),
    [("hello", "hello"), ("  hello  ", "hello"), ("0123456789", "0123456789"), ("Żółć", "Żółć")],
)
def test_text_is_kept_as_written_without_edge_spaces(reply: str, text: str) -> None:
    assert parse(SHORT, reply, ("en",)) == Parsed(text)


def test_text_length_is_counted_after_stripping() -> None:
    assert parse(SHORT, "   0123456789   ", ("en",)) == Parsed("0123456789")
    assert parse(SHORT, "01234567890", ("en",)) is Problem.TOO_LONG


@pytest.mark.parametrize("reply", ["", " ", "\n"])
def test_text_empty(reply: str) -> None:
    assert parse(SHORT, reply, ("en",)) is Problem.EMPTY


# -- yes / no ----------------------------------------------------------------------------

YESNO = YesNoQuestion(id="yn", text=_text("OK?"))


@pytest.mark.parametrize(
    ("reply", "language", "meaning"),
    [
        ("1", "en", "yes"),
        ("2", "en", "no"),
        ("1.", "pl", "yes"),
        ("a", "en", "yes"),
        ("B", "en", "no"),
        ("١", "ar", "yes"),
        ("۲", "ur", "no"),
        ("Yes", "en", "yes"),
        ("no!", "en", "no"),
        ("tak", "pl", "yes"),
        ("TAK!", "pl", "yes"),
        ("nie", "pl", "no"),
        ("da", "ro", "yes"),
        ("NU", "ro", "no"),
        ("نعم", "ar", "yes"),
        ("لا", "ar", "no"),
        ("naam", "ar", "yes"),
        ("ہاں", "ur", "yes"),
        ("جی ہاں", "ur", "yes"),
        ("نہیں", "ur", "no"),
        ("haan", "ur", "yes"),
        ("nahi", "ur", "no"),
        # English is understood whatever the contact's language
        ("yes", "pl", "yes"),
        ("no", "ro", "no"),
        ("ok", "ar", "yes"),
        ("NO", "ur", "no"),
    ],
)
def test_yes_no(reply: str, language: str, meaning: str) -> None:
    assert parse(YESNO, reply, (language,)) == Parsed(meaning)


@pytest.mark.parametrize(
    ("reply", "language"),
    [("3", "en"), ("0", "en"), ("maybe", "en"), ("tak", "en"), ("yes no", "en"), ("c", "pl")],
)
def test_yes_no_not_understood(reply: str, language: str) -> None:
    assert parse(YESNO, reply, (language,)) is NU


def test_yes_no_empty() -> None:
    assert parse(YESNO, "  ", ("en",)) is Problem.EMPTY


# -- digits that are not menu numbers ----------------------------------------------------


def test_ethiopic_numerals_one_to_nine_pick_options() -> None:
    """Tigrinya keyboards type ፩-፱, which Unicode does not call decimal digits."""
    assert parse(CHOICE, "፩", ("ti",)) == Parsed("housing")
    assert parse(MULTIPLE, "፩ ፫", ("ti",)) == parse(MULTIPLE, "1 3", ("en",))


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("⓵", id="double-circled-1"),
        pytest.param("᧚", id="new-tai-lue-1"),
        pytest.param("1 ⓷", id="1-and-double-circled-3"),
        pytest.param("1" * 4301, id="4301-digits"),
    ],
)
@pytest.mark.parametrize("question", [CHOICE, MULTIPLE], ids=["single", "multiple"])
def test_choice_with_non_decimal_or_over_long_digits_is_not_understood(
    question: ChoiceQuestion, reply: str
) -> None:
    assert parse(question, reply, ("en",)) is NU


def test_menu_numbers_win_over_options_labelled_with_digits() -> None:
    # Shown as "1. 0 / 2. 1 / 3. 2 / 4. 3 or more"; a resident replying 1 means "0".
    labels = ["0", "1", "2", "3 or more"]
    options = tuple(Option(f"k{n}", _text(label)) for n, label in enumerate(labels))
    kids = ChoiceQuestion(id="kids", text=_text("How many children?"), options=options)
    assert [_parse(kids, str(n)) for n in (1, 2, 3, 4)] == ["k0", "k1", "k2", "k3"]
    assert _parse(kids, "3 or more") == "k3"  # a label that is not a bare number still counts


# -- what people type: keycaps, number words, ordinals, exclusive options ----------------


@pytest.mark.parametrize(
    ("reply", "languages", "value"),
    [
        ("2️⃣", ("en",), "safety"),  # keycap: 2, variation selector, enclosing keycap
        ("2\u20e3", ("en",), "safety"),  # the keycap without its variation selector
        ("two", ("en",), "safety"),
        ("Two.", ("en",), "safety"),
        ("dos", ("es",), "safety"),
        ("dwa", ("pl",), "safety"),
        ("doi", ("ro",), "safety"),
        ("два", ("uk",), "safety"),
        ("دو", ("fa",), "safety"),
        ("اثنان", ("ar",), "safety"),
        ("three", ("pl",), "transport"),  # English is understood in every language
        ("the first one", ("en",), "housing"),
        ("The second one, please", ("en",), "safety"),
        ("2nd", ("en",), "safety"),
        ("third", ("en",), "transport"),
        ("el segundo", ("es",), "safety"),
        ("pierwszy", ("pl",), "housing"),
        ("al doilea", ("ro",), "safety"),
        ("другий", ("uk",), "safety"),
    ],
)
def test_numbers_people_type_pick_an_option(
    reply: str, languages: tuple[str, ...], value: str
) -> None:
    assert parse(CHOICE, reply, languages) == Parsed(value)


@pytest.mark.parametrize(
    ("reply", "languages"),
    [
        ("five", ("en",)),  # there are four options
        ("dos", ("en",)),  # Spanish words are Spanish residents' words only
        ("the first one or the second", ("en",)),  # two positions: not one answer
        ("the first thing I want to say is more buses", ("en",)),  # a sentence, not a choice
    ],
)
def test_number_words_that_name_no_single_option_are_not_understood(
    reply: str, languages: tuple[str, ...]
) -> None:
    assert parse(CHOICE, reply, languages) is NU


def test_several_options_by_keycaps_and_words() -> None:
    assert parse(MULTIPLE, "1️⃣ 3️⃣", ("en",)) == Parsed(["housing", "transport"])
    assert parse(MULTIPLE, "one, three", ("en",)) == Parsed(["housing", "transport"])
    assert parse(MULTIPLE, "jeden dwa", ("pl",)) == Parsed(["housing", "safety"])


@pytest.mark.parametrize("language", ["ur", "pa", "gu", "so", "ps", "ti"])
def test_languages_num2words_does_not_write_fall_back_to_digits_and_english(
    language: str,
) -> None:
    assert not writes_numbers(language)
    assert parse(CHOICE, "2", (language,)) == Parsed("safety")
    assert parse(CHOICE, "two", (language,)) == Parsed("safety")
    assert parse(CHOICE, "dwa", (language,)) is NU


def test_number_words_answer_number_scale_and_yes_no_questions() -> None:
    assert parse(YEARS, "twelve", ("en",)) == Parsed(12)
    assert parse(YEARS, "ninety-nine", ("en",)) == Parsed(99)
    assert parse(YEARS, "doce", ("es",)) == Parsed(12)
    assert parse(FIVE, "four", ("en",)) == Parsed(4)
    assert parse(FIVE, "4️⃣", ("en",)) == Parsed(4)
    assert parse(YESNO, "one", ("en",)) == Parsed("yes")
    assert parse(YESNO, "1️⃣", ("en",)) == Parsed("yes")


def test_number_word_tables_are_made_once_not_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    words._number_words.cache_clear()
    Env(languages={"es": LanguageName("Español", "Spanish")})  # loading makes the table

    def unreachable(*args: object, **kwargs: object) -> str:
        raise AssertionError("num2words called while parsing a reply")

    monkeypatch.setattr(words, "num2words", unreachable)
    assert parse(CHOICE, "tres", ("es",)) == Parsed("transport")
    assert parse(CHOICE, "el primero", ("es",)) == Parsed("housing")


WITH_NONE = ChoiceQuestion(
    id="services",
    text=_text("Which?"),
    options=(*OPTIONS, Option("none", _text("None of these"), exclusive=True)),
    multiple=True,
)


@pytest.mark.parametrize("reply", ["1 3 5", "5 1", "none, 2", "5️⃣ 1️⃣"])
def test_an_exclusive_option_with_others_is_refused(reply: str) -> None:
    assert parse(WITH_NONE, reply, ("en",)) is Problem.EXCLUSIVE


@pytest.mark.parametrize(
    ("reply", "value"), [("5", ["none"]), ("none", ["none"]), ("5 5", ["none"])]
)
def test_an_exclusive_option_alone_is_an_answer(reply: str, value: list[str]) -> None:
    assert parse(WITH_NONE, reply, ("en",)) == Parsed(value)
