"""A budgeting ballot by text: choosing projects within a budget, up to K, or ranking them.

Pure functions over a :class:`BallotQuestion`: how a page of the numbered list reads,
what a reply means, and whether a choice fits. The runner keeps the resident's choice
so far in the session (:func:`draft_key`), so nothing chosen is lost to a reply that
is refused: a choice over the budget or over K, an unknown number, a word.

Replies: numbers in any order with any separator ("3 7 12", "3,7,12") choose those
projects (in that order for a ranking); ``+3`` ticks or unticks one, ``-3`` takes one
out; ``?3`` tells more about one; ``0`` shows the next page; YES (in the resident's
language) casts the ballot. Buttons send the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.channels.segments import segments
from bot.engine.env import Env
from bot.engine.events import Button, ButtonKind
from bot.engine.flow import BallotItem, BallotQuestion
from bot.lang.formats import listing, money
from bot.lang.normalize import fold, key, strip_edges
from bot.lang.words import cardinal_of, yes_no_of

PAGE_SEGMENTS = 3
"""The most SMS segments one page of the list takes (as the language menu's pages)."""
BUTTONS_AT_ONCE = 90
"""Projects shown as buttons on one screen; Telegram allows 100 buttons a message."""
NEXT_PAGE = "0"
TICK = "✅ "

_SEPARATORS = re.compile(r"[\s,;/&،؛、.]+")
_EDIT = re.compile(r"^([+\-?])\s*(\S+)$")


def draft_key(step_id: str) -> str:
    """Where the session keeps the choice not yet cast (item ids, in order)."""
    return f"{step_id}~chosen"


# -- what a reply means -------------------------------------------------------------------


@dataclass(frozen=True)
class Choose:
    ids: tuple[str, ...]  # a whole new choice


@dataclass(frozen=True)
class Toggle:
    id: str


@dataclass(frozen=True)
class Remove:
    id: str


@dataclass(frozen=True)
class Describe:
    id: str


@dataclass(frozen=True)
class Cast:
    pass


@dataclass(frozen=True)
class NextPage:
    pass


@dataclass(frozen=True)
class Refused:
    """A reply that chooses nothing: why, in the resident's language."""

    hint: str


Action = Choose | Toggle | Remove | Describe | Cast | NextPage | Refused


def read(step: BallotQuestion, text: str, language: str, env: Env, also: str = "en") -> Action:
    """What the resident's ``text`` asks for; words (YES, number words) are read in
    ``language`` and ``also`` (the resident's own, if the ballot is shown in another)."""
    words = tuple(dict.fromkeys((language, also)))
    folded = strip_edges(fold(text))
    phrases = env.phrases
    if not folded:
        return Refused(_how(step, language, env))
    if folded == NEXT_PAGE:
        return NextPage()
    if yes_no_of(text, words) is True or key(text) in _cast_words(words, env):
        return Cast()
    edit = _EDIT.match(fold(text).strip())
    if edit is not None:
        position = _position(edit.group(2), words)
        if position is None or not 1 <= position <= len(step.items):
            return Refused(_unknown(step, edit.group(2), language, env))
        item = step.items[position - 1].id
        if edit.group(1) == "+":
            return Toggle(item)
        return Remove(item) if edit.group(1) == "-" else Describe(item)
    tokens = [t for t in _SEPARATORS.split(folded) if t]
    positions: list[int] = []
    for token in tokens:
        position = _position(token, words)
        if position is None:
            return Refused(_how(step, language, env))
        if not 1 <= position <= len(step.items):
            return Refused(_unknown(step, token, language, env))
        if position in positions:
            return Refused(
                phrases.text(
                    language, "You gave %(number)s twice. Give each number once.", number=position
                )
            )
        positions.append(position)
    if not positions:
        return Refused(_how(step, language, env))
    return Choose(tuple(step.items[p - 1].id for p in positions))


def _cast_words(languages: Sequence[str], env: Env) -> set[str]:
    cast = {key(env.phrases.text(language, "Cast my ballot")) for language in languages}
    return cast | {"yes", "cast"}


def _position(token: str, languages: Sequence[str]) -> int | None:
    if token.isascii() and token.isdigit() and len(token) <= 3:
        return int(token)
    return cardinal_of(token, languages)


def _how(step: BallotQuestion, language: str, env: Env) -> str:
    return env.phrases.text(
        language,
        "Reply with the numbers of the projects you choose, like: %(example)s",
        example=example(step),
    )


def _unknown(step: BallotQuestion, given: str, language: str, env: Env) -> str:
    return env.phrases.text(
        language,
        "There is no project %(given)s. The projects are 1 to %(last)s.",
        given=given[:6],
        last=len(step.items),
    )


def example(step: BallotQuestion) -> str:
    """ "3 7 12" on a long list, "1 3" on a short one."""
    count = len(step.items)
    picks = [n for n in (3, 7, 12) if n <= count] if count >= 7 else [1, min(3, count)]
    return " ".join(str(n) for n in dict.fromkeys(picks))


# -- whether a choice fits ------------------------------------------------------------


def cost(step: BallotQuestion, ids: Sequence[str]) -> int:
    """What the projects ``ids`` cost together."""
    by_id = {item.id: item.cost for item in step.items}
    return sum(by_id[i] for i in ids)


def problem(step: BallotQuestion, ids: Sequence[str], language: str, env: Env) -> str | None:
    """Why ``ids`` cannot be a ballot (over K, over the budget), saying by how much."""
    phrases = env.phrases
    if step.limit is not None and len(ids) > step.limit:
        return phrases.text(
            language,
            "You can choose up to %(limit)s projects. That is %(over)s too many.",
            limit=step.limit,
            over=len(ids) - step.limit,
        )
    total = cost(step, ids)
    if step.within_budget and total > step.budget:
        return phrases.text(
            language,
            "That costs %(total)s: %(over)s over the budget of %(budget)s.",
            total=money(total, step.currency, language),
            over=money(total - step.budget, step.currency, language),
            budget=money(step.budget, step.currency, language),
        )
    return None


def toggled(chosen: Sequence[str], item: str) -> list[str]:
    return [i for i in chosen if i != item] if item in chosen else [*chosen, item]


def ordered(step: BallotQuestion, ids: Sequence[str]) -> list[str]:
    """A ranking as given; any other choice in list order."""
    if step.ranked:
        return list(ids)
    positions = {item.id: n for n, item in enumerate(step.items)}
    return sorted(ids, key=positions.__getitem__)


# -- how it reads ---------------------------------------------------------------------


def numbers(step: BallotQuestion, ids: Sequence[str], language: str) -> str:
    """The chosen projects by their numbers on the list: "3, 7 and 12"."""
    positions = {item.id: n for n, item in enumerate(step.items, 1)}
    return listing([str(positions[i]) for i in ids], language)


def summary(step: BallotQuestion, ids: Sequence[str], language: str, env: Env) -> str:
    """ "You chose 3, 7 and 12: £46,500 of £100,000." (a ranking: in that order)."""
    phrases = env.phrases
    total = money(cost(step, ids), step.currency, language)
    budget = money(step.budget, step.currency, language)
    chosen = numbers(step, ids, language)
    if step.ranked:
        return phrases.text(language, "Your order: %(chosen)s (first choice first).", chosen=chosen)
    return phrases.text(
        language,
        "You chose %(chosen)s: %(total)s of %(budget)s.",
        chosen=chosen,
        total=total,
        budget=budget,
    )


def cast(step: BallotQuestion, ids: Sequence[str], language: str, env: Env) -> str:
    """ "Your ballot is cast: 3, 7 and 12 (£46,500 of £100,000)." """
    phrases = env.phrases
    chosen = numbers(step, ids, language)
    if step.ranked:
        return phrases.text(language, "Your ballot is cast: %(chosen)s.", chosen=chosen)
    return phrases.text(
        language,
        "Your ballot is cast: %(chosen)s (%(total)s of %(budget)s).",
        chosen=chosen,
        total=money(cost(step, ids), step.currency, language),
        budget=money(step.budget, step.currency, language),
    )


def confirm(step: BallotQuestion, ids: Sequence[str], language: str, env: Env) -> str:
    return (
        summary(step, ids, language, env)
        + " "
        + env.phrases.text(language, "Reply YES to cast your ballot, or send new numbers.")
    )


def still(step: BallotQuestion, ids: Sequence[str], language: str, env: Env) -> str:
    """What stays chosen after a refused reply."""
    if not ids:
        return ""
    return env.phrases.text(
        language, "Your choice is still %(chosen)s.", chosen=numbers(step, ids, language)
    )


def instruction(step: BallotQuestion, language: str, env: Env) -> str:
    phrases = env.phrases
    budget = money(step.budget, step.currency, language)
    if step.ranked:
        return phrases.text(
            language,
            "Rank up to %(limit)s projects, your first choice first.",
            limit=step.limit or len(step.items),
        )
    if step.within_budget:
        return phrases.text(
            language, "Choose projects that fit in the budget of %(budget)s.", budget=budget
        )
    return phrases.text(
        language, "Choose up to %(limit)s projects.", limit=step.limit or len(step.items)
    )


def line(step: BallotQuestion, position: int, item: BallotItem, language: str) -> str:
    return (
        f"{position}. {label(step, item, language)} - {money(item.cost, step.currency, language)}"
    )


def label(step: BallotQuestion, item: BallotItem, language: str) -> str:
    return item.title.get(language, step.language)


def pages(step: BallotQuestion, prompt: str, language: str, env: Env) -> list[range]:
    """The list split into pages of at most :data:`PAGE_SEGMENTS` SMS segments: the
    first with the prompt, each with the "0. More" line and how to answer."""
    lines = [line(step, n, item, language) for n, item in enumerate(step.items, 1)]
    if _fits(step, prompt, lines, False, language, env):
        return [range(len(lines))]
    found: list[range] = []
    start = 0
    for index in range(len(lines)):
        heading = prompt if not found else None
        if index > start and not _fits(
            step, heading, lines[start : index + 1], True, language, env
        ):
            found.append(range(start, index))
            start = index
    found.append(range(start, len(lines)))
    return found


def _fits(
    step: BallotQuestion,
    prompt: str | None,
    chunk: list[str],
    paged: bool,
    language: str,
    env: Env,
) -> bool:
    text = _page(step, prompt, chunk, paged, language, env)
    return segments(text).count <= PAGE_SEGMENTS


def _page(
    step: BallotQuestion,
    prompt: str | None,
    chunk: Sequence[str],
    paged: bool,
    language: str,
    env: Env,
) -> str:
    phrases = env.phrases
    rows = [*([prompt] if prompt else []), *chunk]
    if paged:
        more = phrases.text(language, "More projects")
        rows.append(f"{NEXT_PAGE}. {more}")
    rows.append(
        phrases.text(language, "Reply with numbers, like: %(example)s", example=example(step))
    )
    return "\n".join(rows)


def page_text(
    step: BallotQuestion,
    prompt: str,
    ranges: Sequence[range],
    page: int,
    language: str,
    env: Env,
) -> str:
    """Page ``page`` of the list (the first carries the prompt)."""
    shown = ranges[page % len(ranges)]
    chunk = [line(step, n + 1, step.items[n], language) for n in shown]
    heading = prompt if page % len(ranges) == 0 else None
    return _page(step, heading, chunk, len(ranges) > 1, language, env)


def screen_text(
    step: BallotQuestion, prompt: str, ids: Sequence[str], language: str, env: Env
) -> str:
    """What stands beside the buttons: the prompt and the running total."""
    phrases = env.phrases
    total = money(cost(step, ids), step.currency, language)
    budget = money(step.budget, step.currency, language)
    if step.ranked or not step.within_budget:
        chosen = phrases.text(
            language,
            "Chosen: %(count)s of %(limit)s.",
            count=len(ids),
            limit=step.limit or len(step.items),
        )
    else:
        chosen = phrases.text(
            language, "Chosen: %(total)s of %(budget)s.", total=total, budget=budget
        )
    press = phrases.text(
        language,
        "Press a project to tick or untick it, then %(cast)s.",
        cast=phrases.text(language, "Cast my ballot"),
    )
    return f"{prompt}\n{press}\n\n{chosen}"


def buttons(
    step: BallotQuestion, ids: Sequence[str], page: range | None, language: str, env: Env
) -> tuple[Button, ...]:
    """A button per project (ticked if chosen; ranked ones show their place), then Cast.
    ``page``: only that page's projects, and a button for the next page."""
    shown = range(len(step.items)) if page is None else page
    keys: list[Button] = []
    for index in shown:
        item = step.items[index]
        text = line(step, index + 1, item, language)
        if item.id in ids:
            text = (f"#{list(ids).index(item.id) + 1} " if step.ranked else TICK) + text
        keys.append(Button(text, f"+{index + 1}", ButtonKind.PICK))
    if page is not None:
        keys.append(Button(env.phrases.text(language, "More projects"), NEXT_PAGE, ButtonKind.PICK))
    keys.append(Button(env.phrases.text(language, "Cast my ballot"), "YES", ButtonKind.PICK))
    return tuple(keys)


def described(step: BallotQuestion, item_id: str, language: str, env: Env) -> str:
    position = next(n for n, item in enumerate(step.items, 1) if item.id == item_id)
    item = step.items[position - 1]
    about = item.description.get(language, step.language) if item.description.texts else ""
    by = env.phrases.text(language, "Proposed by %(group)s.", group=item.proposer)
    return "\n".join(part for part in (line(step, position, item, language), about, by) if part)
