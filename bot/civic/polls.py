"""Polls: a question with 2-9 numbered options, asked through a one-question flow.

A poll is stored in the database (a community worker makes one from a phone), and each
resident it is sent to answers it like any survey question: by number, by letter, by
an option's word in their language, or by pressing a button. The last vote counts
until the poll closes. Results stay with staff until then; afterwards residents may see
them (and, if the poll says so, each voter is sent them in their language).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.civic.budgeting.round import as_flow as ballot_flow
from bot.engine import Env, Flow
from bot.engine.flow import (
    MAX_OPTIONS,
    OPEN_POLLS,
    BranchStep,
    Case,
    ChoiceQuestion,
    EndStep,
    Localized,
    OnFail,
    Option,
    Step,
)
from bot.lang import formats
from bot.outreach.audience import Audience
from bot.store import budgeting, polls, sessions
from bot.store.polls import Poll, PollOption
from bot.store.sql import Tx

MIN_OPTIONS = 2
QUESTION_STEP = "vote"
EXPIRY = timedelta(days=90)
"""A poll session waits this long at most; a closed poll's sessions end at closing."""


def as_flow(poll: Poll, env: Env) -> Flow:
    """The flow residents answer the poll through: the question, then thanks."""
    source = poll.language
    options = tuple(
        Option(option.id, Localized(dict(option.texts)), dict(option.words))
        for option in poll.options
    )
    question = dict(poll.question)
    if poll.closes_at is not None:
        closes_at = poll.closes_at
        question = {
            code: text
            + "\n"
            + env.phrases.text(
                code, "Voting closes %(when)s.", when=formats.when(closes_at, code, env.timezone)
            )
            for code, text in question.items()
        }
    thanks_texts = {code: _thanks(poll, env, code) for code in {*env.languages, source}}
    return Flow(
        id=poll.flow_id,
        title=poll.question[source],
        language=source,
        expiry=EXPIRY,
        steps=(
            ChoiceQuestion(
                id=QUESTION_STEP,
                text=Localized(question),
                options=options,
                multiple=poll.multiple,
                attempts=2,
                on_fail=OnFail.END,  # no vote, so no "thank you for voting"
            ),
            EndStep(id="thanks", text=Localized(thanks_texts)),
        ),
    )


LABEL_LENGTH = 60
"""How much of a poll's question the list of open polls shows, to keep an SMS short."""


def open_polls_flow(open_polls: Sequence[Poll], env: Env) -> Flow:
    """The flow the menu's "vote" option starts (:data:`OPEN_POLLS`): the open polls.

    None open: a short "no poll" message. One: its question straight away. Several
    (newest first): which one, then its question. A resident who voted already is
    asked again and their new answer replaces their vote (see :func:`bot.store.polls.vote`).
    """
    languages = tuple(dict.fromkeys(env.languages))
    source = languages[0]
    if not open_polls:
        none = {
            code: env.phrases.text(code, "There is no poll open right now.") for code in languages
        }
        steps: tuple[Step, ...] = (EndStep(id="none", text=Localized(none)),)
    elif len(open_polls) == 1:
        steps = (EndStep(id="one", then=open_polls[0].flow_id),)
    else:
        which = {
            code: env.phrases.text(code, "Which poll would you like to vote in?")
            for code in languages
        }
        options = tuple(
            Option(poll.flow_id, Localized({code: _label(poll, code) for code in languages}))
            for poll in open_polls[:MAX_OPTIONS]
        )
        cases = tuple(Case(goto=f"to-{o.id}", values=(o.id,)) for o in options)
        steps = (
            ChoiceQuestion(id="which", text=Localized(which), options=options),
            BranchStep(id="which_branch", on="which", cases=cases),
            *(EndStep(id=f"to-{o.id}", then=o.id) for o in options),
        )
    return Flow(
        id=OPEN_POLLS,
        title="Open polls",
        language=source,
        expiry=timedelta(days=1),
        steps=steps,
        attempts=2,
        on_fail=OnFail.END,
    )


def _label(poll: Poll, language: str) -> str:
    text = " ".join((poll.question.get(language) or poll.question[poll.language]).split())
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1].rstrip() + "…"


def open_for(tx: Tx, contact_id: int | None, limit: int) -> list[Poll]:
    """The open polls (not a panel's) whose audience includes the resident, newest first:
    each poll sent to everyone (no rule narrowing its audience, so a resident who joined
    since may vote too), and each poll sent to them. A poll for ward North is not
    offered to a resident of ward South; a poll put to a random sample, only to those
    drawn. Two indexed queries, however many residents and polls there are."""
    sends = polls.open_sends(tx)
    offered = {poll_id for poll_id, _, audience in sends if Audience.from_json(audience).everyone}
    narrowed = [b for poll_id, b, _ in sends if poll_id not in offered]
    if contact_id is not None and narrowed:
        given = polls.given_to(tx, contact_id, narrowed)
        offered |= {poll_id for poll_id, b, _ in sends if b in given}
    newest = [poll_id for poll_id in dict.fromkeys(p for p, _, _ in sends) if poll_id in offered]
    return [poll for poll_id in newest[:limit] if (poll := polls.get(tx, poll_id)) is not None]


class FlowBook:
    """Flows by id: those from the flow files, each poll's (built once, on first use;
    a poll's question and options never change after it is made), and the open polls a
    resident may vote in (:data:`OPEN_POLLS`, built afresh each time, as polls open and
    close)."""

    def __init__(self, files: Mapping[str, Flow], env: Env) -> None:
        self.files = files
        self.env = env
        self._polls: dict[int, Flow] = {}
        self._ballots: dict[int, Flow] = {}

    def get(self, tx: Tx, flow_id: str, contact_id: int | None = None) -> Flow | None:
        """The flow; for :data:`OPEN_POLLS`, the open polls offered to ``contact_id``
        (see :func:`open_for`; None: no one in particular, so those sent to everyone)."""
        flow = self.files.get(flow_id)
        if flow is not None:
            return flow
        if flow_id == OPEN_POLLS:
            return open_polls_flow(open_for(tx, contact_id, MAX_OPTIONS), self.env)
        round_id = budgeting.round_id_of(flow_id)
        if round_id is not None:
            return self._ballot(tx, round_id)
        poll_id = polls.poll_id_of(flow_id)
        if poll_id is None:
            return None
        flow = self._polls.get(poll_id)
        if flow is None:
            poll = polls.get(tx, poll_id)
            if poll is None:
                return None
            flow = self._polls[poll_id] = as_flow(poll, self.env)
        return flow

    def _ballot(self, tx: Tx, round_id: int) -> Flow | None:
        """A round's ballot: its eligible bids, fixed once voting has begun."""
        flow = self._ballots.get(round_id)
        if flow is None:
            found = budgeting.get_round(tx, round_id)
            if found is None:
                return None
            flow = ballot_flow(found, budgeting.bids(tx, round_id, "eligible"), self.env)
            if found.phase in ("voting", "counted"):
                self._ballots[round_id] = flow
        return flow


def translated(
    question: Mapping[str, str], options: tuple[PollOption, ...], language: str, line: str
) -> tuple[dict[str, str], tuple[PollOption, ...]] | None:
    """The poll with ``line`` ("question | option | option ...") as its ``language``
    text; None unless the line gives the question and every option."""
    parts = [part.strip() for part in line.split("|")]
    if len(parts) != len(options) + 1 or not all(parts):
        return None
    labelled = tuple(
        replace(option, texts={**option.texts, language: label})
        for option, label in zip(options, parts[1:], strict=True)
    )
    return {**question, language: parts[0]}, labelled


def _thanks(poll: Poll, env: Env, language: str) -> str:
    if poll.results == "send":
        return env.phrases.text(
            language, "Thank you for voting! We will send you the result when the poll closes."
        )
    return env.phrases.text(language, "Thank you for voting!")


def check(poll: polls.NewPoll, now: datetime) -> str | None:
    """What is wrong with a poll about to be created, or None."""
    wrong = problem(poll, now)
    return wrong[1] if wrong else None


def problem(poll: polls.NewPoll, now: datetime) -> tuple[str, str] | None:
    """What is wrong with a poll about to be created, as (the part of it: question,
    options or closes; what is wrong), or None."""
    if not poll.question.get(poll.language, "").strip():
        return "question", f"the question needs a text in {poll.language}"
    if not MIN_OPTIONS <= len(poll.options) <= MAX_OPTIONS:
        return (
            "options",
            f"a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options, not {len(poll.options)}",
        )
    ids = [option.id for option in poll.options]
    if len(set(ids)) != len(ids):
        return "options", "two options have the same id"
    for option in poll.options:
        if not option.texts.get(poll.language, "").strip():
            return "options", f"option '{option.id}' needs a text in {poll.language}"
    if poll.closes_at is not None and poll.closes_at <= now:
        return "closes", "the closing time has already passed"
    return None


def options_from_labels(labels: Sequence[str], language: str) -> tuple[PollOption, ...]:
    """Options from their labels in ``language``; ids are the labels' first words made
    plain ("Youth club" -> ``youth_club``), numbered if that is not unique."""
    options: list[PollOption] = []
    used: set[str] = set()
    for position, label in enumerate(labels, start=1):
        slug = "_".join("".join(ch for ch in word if ch.isalnum()) for word in label.split()[:3])
        slug = slug.lower().strip("_")[:30] if slug.isascii() else ""
        option_id = (
            slug if slug and slug not in used and not slug.isdigit() else f"option{position}"
        )
        used.add(option_id)
        options.append(PollOption(option_id, {language: label.strip()}))
    return tuple(options)


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    voters: int
    counts: Mapping[str, int]  # option id -> votes (several per voter for multiple)

    def percent(self, option_id: str) -> int:
        """Share of voters who chose the option, rounded."""
        return round(100 * self.share(option_id))

    def share(self, option_id: str) -> float:
        """Share of voters who chose the option, 0 to 1."""
        return self.counts.get(option_id, 0) / self.voters if self.voters else 0.0


@dataclass(frozen=True)
class Results:
    poll: Poll
    overall: Tally
    by: str | None = None  # what the breakdown is by: language, channel or a field
    groups: Mapping[str, Tally] = field(default_factory=dict)


def results(tx: Tx, poll: Poll, by: str | None = None) -> Results:
    """Counts and percentages, overall and (``by`` language, channel or a contact
    field) per group; residents without that field are counted as "(none)".

    SQLite counts the votes (:func:`bot.store.polls.tally`): read one by one into
    Python, the 50,000 votes of a poll put to everyone took half a second."""
    overall: Counter[str] = Counter()
    voters = 0
    groups: dict[str, tuple[Counter[str], list[int]]] = {}
    for value, choice, votes in polls.tally(tx, poll.id, by):
        voters += votes
        for option in choice:
            overall[option] += votes
        if by is None:
            continue
        group = (value or "") if by in polls.BY_VOTE else (value or "(none)")
        counts, seen = groups.setdefault(group, (Counter(), [0]))
        seen[0] += votes
        for option in choice:
            counts[option] += votes
    return Results(
        poll,
        Tally(voters, dict(overall)),
        by,
        {group: Tally(seen[0], dict(counts)) for group, (counts, seen) in groups.items()},
    )


def resident_text(poll: Poll, tally: Tally, language: str, env: Env) -> str:
    """The result as a resident reads it, wholly in their language when the poll has it
    (question and every option), else wholly in the poll's own: never half-translated."""
    texts = [poll.question, *(option.texts for option in poll.options)]
    if not all(texts.get(language) for texts in texts):
        language = poll.language
    phrases = env.phrases
    lines = [phrases.text(language, "Poll result: %(question)s", question=poll.question[language])]
    for n, option in enumerate(poll.options, start=1):
        votes = tally.counts.get(option.id, 0)
        count = phrases.plural(language, "%(n)d vote", "%(n)d votes", votes, n=votes)
        share = formats.percent(tally.share(option.id), language)
        lines.append(f"{n}. {option.texts[language]}: {count} ({share})")
    lines.append(
        phrases.plural(
            language,
            "%(n)d person voted. Thank you!",
            "%(n)d people voted. Thank you!",
            tally.voters,
            n=tally.voters,
        )
    )
    return "\n".join(lines)


def close(tx: Tx, poll_id: int, now: datetime) -> bool:
    """Close the poll and end the sessions still waiting for a vote on it; False if it
    was closed already. Residents interrupted by the poll go back to where they were."""
    if not polls.close(tx, poll_id, now):
        return False
    for session_id, parent_id in tx.execute(
        "SELECT id, parent_id FROM sessions WHERE flow_id = ? AND status = 'active'",
        (polls.flow_id(poll_id),),
    ).fetchall():
        sessions.give_way(tx, session_id, parent_id, now)
    return True
