"""A budgeting round as residents meet it: the ballot's flow, and what they are told
(the panel's screening, the count) in their language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.engine import Env, Flow
from bot.engine.flow import BallotItem, BallotQuestion, EndStep, Localized
from bot.lang import formats
from bot.store.budgeting import Bid, Round

BALLOT_STEP = "ballot"
EXPIRY = timedelta(days=120)
"""A ballot session waits this long at most; the close of voting ends it first."""


def as_flow(round_: Round, bids: Sequence[Bid], env: Env) -> Flow:
    """The flow a ballot is cast through: the eligible bids, then thanks."""
    languages = {*env.languages, round_.language}
    intro = {code: _intro(round_, env, code) for code in languages}
    thanks = {
        code: env.phrases.text(
            code,
            "Thank you for voting! You can change your ballot until voting closes:"
            " send new numbers.",
        )
        for code in languages
    }
    items = tuple(
        BallotItem(
            str(bid.number),
            Localized(dict(bid.title)),
            Localized(dict(bid.description)),
            bid.cost,
            bid.proposer,
        )
        for bid in bids
    )
    return Flow(
        id=round_.flow_id,
        title=round_.name,
        language=round_.language,
        expiry=EXPIRY,
        steps=(
            BallotQuestion(
                id=BALLOT_STEP,
                text=Localized(intro),
                items=items,
                budget=round_.budget,
                currency=round_.currency,
                language=round_.language,
                limit=round_.k if round_.style != "approval" else None,
                within_budget=round_.style == "approval",
                ranked=round_.style == "ranking",
            ),
            EndStep(id="thanks", text=Localized(thanks)),
        ),
    )


def _intro(round_: Round, env: Env, language: str) -> str:
    text = round_.name
    if round_.counted_at is not None:
        when = formats.when(round_.counted_at, language, env.timezone)
        text += " " + env.phrases.text(language, "Voting closes %(when)s.", when=when)
    return text


def title(bid: Bid, language: str, source: str) -> str:
    return bid.title.get(language) or bid.title[source]


def shown_language(bids: Sequence[Bid], language: str, source: str) -> str:
    """``language`` if every bid has a title in it, else the round's own."""
    return language if all(language in bid.title for bid in bids) else source


def screening_text(env: Env, round_: Round, bid: Bid, language: str) -> str:
    """What a proposer hears after the panel's screening."""
    name = title(bid, language, round_.language)
    if bid.status == "eligible":
        return env.phrases.text(
            language,
            "Your bid '%(bid)s' is on the ballot of %(round)s. Good luck!",
            bid=name,
            round=round_.name,
        )
    reason = bid.reason or env.phrases.text(language, "The resident panel voted against it.")
    return env.phrases.text(
        language,
        "Your bid '%(bid)s' will not be on the ballot of %(round)s. The panel's reason: %(reason)s",
        bid=name,
        round=round_.name,
        reason=reason,
    )


def results_text(
    env: Env,
    round_: Round,
    bids: Sequence[Bid],
    funded: Sequence[int],
    left: int,
    language: str,
) -> str:
    """The result for voters: what is funded, and the money left."""
    by_number = {bid.number: bid for bid in bids}
    money = formats.money
    lines = [
        env.phrases.text(language, "%(round)s: the projects funded.", round=round_.name),
        *(
            f"- {title(by_number[n], language, round_.language)}"
            f" ({money(by_number[n].cost, round_.currency, language)})"
            for n in funded
        ),
    ]
    if not funded:
        lines.append(env.phrases.text(language, "No project could be funded."))
    lines.append(
        env.phrases.text(
            language, "Money left: %(left)s.", left=money(left, round_.currency, language)
        )
    )
    return "\n".join(lines)


def results_texts(
    env: Env, round_: Round, bids: Sequence[Bid], funded: Sequence[int], left: int
) -> dict[str, str]:
    """:func:`results_text` for each language, never half-translated."""
    texts = {}
    for code in {*env.languages, round_.language}:
        language = shown_language(bids, code, round_.language)
        texts[code] = results_text(env, round_, bids, funded, left, language)
    return texts


def proposer_result_text(
    env: Env, round_: Round, bid: Bid, funded: bool, votes: int, language: str
) -> str:
    name = title(bid, language, round_.language)
    if funded:
        return env.phrases.text(
            language,
            "Good news: your bid '%(bid)s' will be funded (%(cost)s).",
            bid=name,
            cost=formats.money(bid.cost, round_.currency, language),
        )
    return env.phrases.plural(
        language,
        "Your bid '%(bid)s' was not funded this time. It got %(votes)s vote.",
        "Your bid '%(bid)s' was not funded this time. It got %(votes)s votes.",
        votes,
        bid=name,
        votes=votes,
    )
