"""Turn a resident's reply into a typed answer, or say why it could not be.

Parsing is forgiving in the ways residents are: "2", "2.", " 2 ", "b" or "B" for the
second option, the option's words in any case and without accents, digits of any
script, "1 3" or "1,3" for several options. It is strict about meaning: a value is
returned only when it fits the question.
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
from bot.lang.words import yes_no_of

LETTERS = "abcdefghi"
_SEPARATORS = re.compile(r"[\s,;/&+،؛、]+")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


class Problem(enum.Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True)
class Parsed:
    value: Value


def parse(question: Question, reply: str, languages: Sequence[str]) -> Parsed | Problem:
    """Parse ``reply`` to ``question``; ``languages`` are the contact's, best first."""
    if not reply.strip():
        return Problem.EMPTY
    match question:
        case ChoiceQuestion():
            return parse_choice(question.options, question.words, question.multiple, reply)
        case YesNoQuestion():
            return _yes_no(reply, languages)
        case NumberQuestion():
            return _number(question, reply)
        case ScaleQuestion():
            return _scale(question, reply)
        case TextQuestion():
            text = reply.strip()
            return Parsed(text) if len(text) <= question.max_length else Problem.TOO_LONG
    raise TypeError(f"no parser for {type(question).__name__}")  # pragma: no cover


def parse_choice(
    options: tuple[Option, ...], words: Mapping[str, int], multiple: bool, reply: str
) -> Parsed | Problem:
    """Parse a reply to numbered options: numbers, letters or the options' words.

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
        else:
            return Problem.NOT_UNDERSTOOD
        if not 0 <= index < len(options):
            return Problem.NOT_UNDERSTOOD
        if index not in picked:
            picked.append(index)
    return _chosen(picked, options, multiple)


def _is_number(token: str) -> bool:
    """ASCII digits (other scripts' digits are folded to these), short enough to be a
    position: "⓵" or a 5,000-digit reply are not numbers here."""
    return token.isascii() and token.isdigit() and len(token) <= 3


def _chosen(picked: list[int], options: tuple[Option, ...], multiple: bool) -> Parsed | Problem:
    if multiple:
        return Parsed([options[i].id for i in sorted(picked)])
    if len(picked) != 1:
        return Problem.NOT_UNDERSTOOD
    return Parsed(options[picked[0]].id)


def _yes_no(reply: str, languages: Sequence[str]) -> Parsed | Problem:
    folded = key(reply)
    if folded in ("1", "a"):
        return Parsed("yes")
    if folded in ("2", "b"):
        return Parsed("no")
    meaning = yes_no_of(reply, languages)
    if meaning is None:
        return Problem.NOT_UNDERSTOOD
    return Parsed("yes" if meaning else "no")


_GROUPED = re.compile(r"-?\d{1,3}(?:[.,]\d{3})+")


def _single_number(reply: str, decimals: bool = False) -> float | None:
    """The one number in ``reply`` ("about 12 people" -> 12), or None if none or several."""
    folded = fold(reply)
    if not decimals:
        folded = _GROUPED.sub(lambda m: re.sub(r"[.,]", "", m.group()), folded)
    found = _NUMBER.findall(folded)
    if len(found) != 1 or len(found[0]) > 15:  # beyond what a resident means by a number
        return None
    return float(found[0].replace(",", "."))


def _number(question: NumberQuestion, reply: str) -> Parsed | Problem:
    number = _single_number(reply, question.decimals)
    if number is None:
        return Problem.NOT_UNDERSTOOD
    if not question.decimals and not number.is_integer():
        return Problem.NOT_UNDERSTOOD
    if question.minimum is not None and number < question.minimum:
        return Problem.NOT_UNDERSTOOD
    if question.maximum is not None and number > question.maximum:
        return Problem.NOT_UNDERSTOOD
    return Parsed(number if question.decimals else int(number))


def _scale(question: ScaleQuestion, reply: str) -> Parsed | Problem:
    number = _single_number(reply)
    if number is None or not number.is_integer():
        return Problem.NOT_UNDERSTOOD
    if not question.low <= number <= question.high:
        return Problem.NOT_UNDERSTOOD
    return Parsed(int(number))
