"""Turn a resident's reply into a typed answer, or say why it could not be.

Parsing is forgiving in the ways residents are: "2", "2.", " 2 ", "b" or "B" for the
second option, the option's words in any case and without accents, digits of any
script, keycaps ("2️⃣"), number words in the resident's language or English ("two",
"dos", "the first one"), "1 3" or "1,3" for several options. It is strict about meaning:
a value is returned only when it fits the question, and an option that excludes the
others ("None of these") is never recorded with them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.engine.flow import (
    ChoiceQuestion,
    NumberQuestion,
    Option,
    Question,
    ScaleQuestion,
    TextQuestion,
    Value,
    YesNoQuestion,
)
from bot.lang.normalize import fold, key, strip_edges
from bot.lang.words import cardinal_of, ordinal_of, yes_no_of

LETTERS = "abcdefghi"
_SEPARATORS = re.compile(r"[\s,;/&+،؛、]+")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


class Problem(enum.Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_UNDERSTOOD = "not_understood"
    NOT_WHOLE = "not_whole"  # "2.5" where a whole number is asked for
    EXCLUSIVE = "exclusive"  # "1 3 5" where 5 is "None of these"


MAX_ORDINAL_TOKENS = 4
"""A reply read for an ordinal ("the first one") is this short; a longer one is a sentence."""


@dataclass(frozen=True)
class Parsed:
    value: Value


def parse(question: Question, reply: str, languages: Sequence[str]) -> Parsed | Problem:
    """Parse ``reply`` to ``question``; ``languages`` are the contact's, best first."""
    if not reply.strip():
        return Problem.EMPTY
    match question:
        case ChoiceQuestion():
            return parse_choice(
                question.options, question.words, question.multiple, reply, languages
            )
        case YesNoQuestion():
            return _yes_no(reply, languages)
        case NumberQuestion():
            return _number(question, reply, languages)
        case ScaleQuestion():
            return _scale(question, reply, languages)
        case TextQuestion():
            text = reply.strip()
            return Parsed(text) if len(text) <= question.max_length else Problem.TOO_LONG
    raise TypeError(f"no parser for {type(question).__name__}")  # pragma: no cover


def parse_choice(
    options: tuple[Option, ...],
    words: Mapping[str, int],
    multiple: bool,
    reply: str,
    languages: Sequence[str] = (),
) -> Parsed | Problem:
    """Parse a reply to numbered options: numbers, letters, the options' words, or numbers
    written as words in ``languages`` (the contact's, best first) or English.

    ``words`` is :func:`~bot.engine.flow.option_words` of ``options``, computed once.
    """
    if not reply.strip():
        return Problem.EMPTY
    by_word = words
    folded = fold(reply)
    whole = strip_edges(folded)
    # A number is the option's position even when an option's label is a number too.
    if whole in by_word and not _is_number(whole):
        return _chosen([by_word[whole]], options, multiple)

    tokens = [strip_edges(t) for t in _SEPARATORS.split(folded)]
    tokens = [t for t in tokens if t]
    if not tokens:
        return Problem.NOT_UNDERSTOOD
    # Single letters count as option letters only when every token is a number or a
    # letter, so the article "a" in a sentence is not read as option 1.
    letters_ok = all(_is_number(t) or (len(t) == 1 and t in LETTERS) for t in tokens)
    picked: list[int] = []
    for token in tokens:
        if _is_number(token):
            index = int(token) - 1
        elif letters_ok and len(token) == 1:
            index = LETTERS.index(token)
        elif token in by_word:
            index = by_word[token]
        elif (number := cardinal_of(token, languages)) is not None:
            index = number - 1
        else:
            return _by_ordinal(whole, tokens, options, multiple, languages)
        if not 0 <= index < len(options):
            return Problem.NOT_UNDERSTOOD
        if index not in picked:
            picked.append(index)
    return _chosen(picked, options, multiple)


def _by_ordinal(
    whole: str,
    tokens: list[str],
    options: tuple[Option, ...],
    multiple: bool,
    languages: Sequence[str],
) -> Parsed | Problem:
    """ "The first one", "el segundo", "al doilea": the positions a short reply names
    by ordinal words; the words around them ("the", "one") are let be."""
    if len(tokens) > MAX_ORDINAL_TOKENS:
        return Problem.NOT_UNDERSTOOD
    whole_ordinal = ordinal_of(whole, languages)
    found = [whole_ordinal] if whole_ordinal is not None else []
    if not found:
        found = [n for t in tokens if (n := ordinal_of(t, languages)) is not None]
    if not found or not all(1 <= n <= len(options) for n in found):
        return Problem.NOT_UNDERSTOOD
    return _chosen(list(dict.fromkeys(n - 1 for n in found)), options, multiple)


def _is_number(token: str) -> bool:
    """ASCII digits (other scripts' digits are folded to these), short enough to be a
    position: "⓵" or a 5,000-digit reply are not numbers here."""
    return token.isascii() and token.isdigit() and len(token) <= 3


def _chosen(picked: list[int], options: tuple[Option, ...], multiple: bool) -> Parsed | Problem:
    if multiple:
        if len(picked) > 1 and any(options[i].exclusive for i in picked):
            return Problem.EXCLUSIVE
        return Parsed([options[i].id for i in sorted(picked)])
    if len(picked) != 1:
        return Problem.NOT_UNDERSTOOD
    return Parsed(options[picked[0]].id)


def _yes_no(reply: str, languages: Sequence[str]) -> Parsed | Problem:
    folded = key(reply)
    number = cardinal_of(folded, languages)
    if folded in ("1", "a") or number == 1:
        return Parsed("yes")
    if folded in ("2", "b") or number == 2:
        return Parsed("no")
    meaning = yes_no_of(reply, languages)
    if meaning is None:
        return Problem.NOT_UNDERSTOOD
    return Parsed("yes" if meaning else "no")


_GROUPED = re.compile(r"-?\d{1,3}(?:[.,]\d{3})+")


def _single_number(reply: str, languages: Sequence[str], decimals: bool = False) -> float | None:
    """The one number in ``reply`` ("about 12 people" -> 12, "twelve" -> 12), or None if
    none or several."""
    folded = fold(reply)
    spelled = cardinal_of(folded, languages)
    if spelled is not None:
        return float(spelled)
    if not decimals:
        folded = _GROUPED.sub(lambda m: re.sub(r"[.,]", "", m.group()), folded)
    found = _NUMBER.findall(folded)
    if len(found) != 1 or len(found[0]) > 15:  # beyond what a resident means by a number
        return None
    return float(found[0].replace(",", "."))


def _number(question: NumberQuestion, reply: str, languages: Sequence[str]) -> Parsed | Problem:
    number = _single_number(reply, languages, question.decimals)
    if number is None:
        return Problem.NOT_UNDERSTOOD
    if not question.decimals and not number.is_integer():
        return Problem.NOT_WHOLE
    if question.minimum is not None and number < question.minimum:
        return Problem.NOT_UNDERSTOOD
    if question.maximum is not None and number > question.maximum:
        return Problem.NOT_UNDERSTOOD
    return Parsed(number if question.decimals else int(number))


def _scale(question: ScaleQuestion, reply: str, languages: Sequence[str]) -> Parsed | Problem:
    number = _single_number(reply, languages)
    if number is None:
        return Problem.NOT_UNDERSTOOD
    if not number.is_integer():
        return Problem.NOT_WHOLE
    if not question.low <= number <= question.high:
        return Problem.NOT_UNDERSTOOD
    return Parsed(int(number))
