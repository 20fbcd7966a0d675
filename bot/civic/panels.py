"""Resident panels chosen by lot (the two-stage civic lottery), and their votes.

Stage 1: a seeded random sample of opted-in residents, optionally spread over areas in
proportion, is sent the ``panel`` flow: would you like to be in the draw, are you
eligible, and a few profile questions. Each choice question after the yes/no ones is a
category the draw balances. Who answers yes to both is a volunteer.

Stage 2: :func:`bot.civic.sortition.draw` picks the panel from the volunteers within each
category's minimum and maximum (the quotas file), with each volunteer's chance reported.
The chosen are asked to take their seat (the ``panel_seat`` flow); the others are thanked.

Replacement rule, when someone declines their seat: the seat goes to a reserve (a
volunteer not chosen) such that every quota is still met; among those, to the reserves
who share the most categories with the person who declined; among equals, by a draw
seeded with the panel's seed and the decliner's volunteer number (so it can be re-run).
If no reserve keeps every quota, the closest match is taken and staff are told.

Panel votes are polls put to the members who took their seat: yes, no or abstain, each
member's vote private. Quorum is the share (or number) of members who must vote;
abstaining counts towards quorum, not towards the threshold. The threshold is the share
of yes among yes and no: ``majority`` (more than half), ``two-thirds`` (at least 2/3)
or a percentage such as ``80%`` (at least that). A vote passes when both are met.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from bot.civic.polls import results
from bot.civic.sortition import Draw, Quota
from bot.engine import Env, Flow
from bot.engine.flow import ChoiceQuestion, YesNoQuestion
from bot.errors import ConfigError
from bot.flowfile.yamllines import SourceError, read_source
from bot.outreach.audience import Audience
from bot.store import broadcasts, panels, polls
from bot.store.broadcasts import NewBroadcast
from bot.store.panels import Member
from bot.store.polls import NewPoll, Poll, PollOption
from bot.store.sql import Tx

SEAT = "seat"  # the panel_seat flow's question

# -- stage 1: volunteers -----------------------------------------------------------------


def categories(flow: Flow) -> list[str]:
    """The categories a panel flow asks about: its choice questions."""
    return [step.id for step in flow.steps if isinstance(step, ChoiceQuestion)]


def volunteered(
    tx: Tx,
    flow: Flow,
    answers: Mapping[str, object],
    contact_id: int,
    broadcast_id: int | None,
    now: datetime,
) -> int | None:
    """Record a resident who finished the panel flow as a volunteer, if they said yes to
    the yes/no questions; returns the panel, or None."""
    asked = [step.id for step in flow.steps if isinstance(step, YesNoQuestion)]
    if not all(answers.get(step) == "yes" for step in asked):
        return None
    panel_id = panels.inviting(tx, broadcast_id)
    if panel_id is None:
        return None
    profile = {name: str(answers[name]) for name in categories(flow) if name in answers}
    panels.volunteer(tx, panel_id, contact_id, profile, now)
    return panel_id


def pool(members: Sequence[Member]) -> dict[str, Mapping[str, str]]:
    """The volunteers the draw chooses from, by their label (V1, V2 ...)."""
    return {m.label: m.profile for m in members}


# -- quotas --------------------------------------------------------------------------------

QUOTA_COLUMNS = ("category", "value", "min", "max")


def read_quotas(text: str, path: str) -> list[Quota]:
    """Quotas from CSV with columns category,value,min,max; problems as ``path:line``."""
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as error:  # a cell too long, say
        raise ConfigError(f"{path}:{reader.line_num}: not valid CSV: {error}") from None
    if not rows or [cell.strip().lower() for cell in rows[0]] != list(QUOTA_COLUMNS):
        raise ConfigError(f"{path}:1: the first line must be: {','.join(QUOTA_COLUMNS)}")
    quotas: list[Quota] = []
    seen: set[tuple[str, str]] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(QUOTA_COLUMNS):
            raise ConfigError(f"{path}:{line}: expected 4 values: category,value,min,max")
        category, value, low, high = (cell.strip() for cell in row)
        if not category or not value:
            raise ConfigError(f"{path}:{line}: the category and the value are needed")
        if not (_count(low) and _count(high)):
            raise ConfigError(f"{path}:{line}: min and max are whole numbers: '{low}', '{high}'")
        if int(low) > int(high):
            raise ConfigError(f"{path}:{line}: min {low} is more than max {high}")
        if (category, value) in seen:
            raise ConfigError(f"{path}:{line}: {category} = {value} is listed twice")
        seen.add((category, value))
        quotas.append(Quota(category, value, int(low), int(high)))
    if not quotas:
        raise ConfigError(f"{path}:2: no quotas")
    return quotas


def _count(cell: str) -> bool:
    """A whole number a quota can be: ASCII digits, not more than a billion."""
    return cell.isascii() and cell.isdigit() and len(cell) <= 9


def load_quotas(path: Path) -> list[Quota]:
    """The quotas in a CSV file, read as safely as flow files (UTF-8, at most 1 MB)."""
    try:
        text = read_source(path)
    except SourceError as error:
        raise ConfigError(f"{path}:{error.line}: {error.what}") from None
    return read_quotas(text.removeprefix("\ufeff"), str(path))


def met(chosen: Sequence[Mapping[str, str]], quotas: Sequence[Quota]) -> bool:
    """Whether a panel (its members' profiles) keeps every quota."""
    for quota in quotas:
        count = sum(1 for profile in chosen if profile.get(quota.category) == quota.value)
        if not quota.minimum <= count <= quota.maximum:
            return False
    return True


# -- stage 2: the draw, its report, and telling volunteers -----------------------------------


def record(
    tx: Tx,
    panel_id: int,
    members: Sequence[Member],
    quotas: Sequence[Quota],
    size: int,
    draw: Draw,
    now: datetime,
) -> None:
    by_label = {m.label: m.contact_id for m in members}
    panels.record_selection(
        tx,
        panel_id,
        size,
        draw.seed,
        [asdict(q) for q in quotas],
        {by_label[label]: chance for label, chance in draw.probabilities.items()},
        {by_label[label] for label in draw.chosen},
        now,
    )


@dataclass(frozen=True)
class PoolRow:
    """One category value of a panel's pool: its volunteers, those chosen, its quota."""

    category: str
    value: str
    volunteers: int
    chosen: int  # chosen or seated, once drawn
    quota: Quota | None

    @property
    def short(self) -> bool:
        """The pool cannot meet this value's minimum."""
        return self.quota is not None and self.volunteers < self.quota.minimum


def pool_rows(members: Sequence[Member], quotas: Sequence[Quota]) -> list[PoolRow]:
    """The pool by category value, against the quotas (every value either names)."""
    limits = {(q.category, q.value): q for q in quotas}
    values = {(c, v) for m in members for c, v in m.profile.items()} | set(limits)
    seated = (panels.SELECTED, panels.ACCEPTED)
    rows = []
    for category, value in sorted(values):
        having = [m for m in members if m.profile.get(category) == value]
        chosen = sum(1 for m in having if m.status in seated)
        rows.append(PoolRow(category, value, len(having), chosen, limits.get((category, value))))
    return rows


def not_chosen_text(env: Env, language: str) -> str:
    return env.phrases.text(
        language,
        "Thank you for volunteering. This time you were not chosen by lot for the panel."
        " We will tell you what it decides.",
    )


def notify(tx: Tx, env: Env, seat_flow: str, panel_id: int, who: str, now: datetime) -> list[int]:
    """Ask the chosen to take their seat and thank the others, now (broadcasts)."""
    asked = NewBroadcast(
        broadcasts.FLOW,
        Audience(panel=panel_id, panel_status=(panels.SELECTED,)).to_json(),
        flow_id=seat_flow,
        created_by=who,
    )
    thanked = NewBroadcast(
        broadcasts.MESSAGE,
        Audience(panel=panel_id, panel_status=(panels.RESERVE,)).to_json(),
        texts={code: not_chosen_text(env, code) for code in env.languages},
        created_by=who,
    )
    return [broadcasts.send_now(tx, new, now) for new in (asked, thanked)]


# -- taking a seat, declining it, and the replacement rule -----------------------------------


@dataclass(frozen=True)
class Replacement:
    member: Member
    keeps_quotas: bool
    shared: int  # categories in common with whoever declined


def replacement(
    members: Sequence[Member], declined: Member, quotas: Sequence[Quota], seed: int
) -> Replacement | None:
    """Who takes a declined seat, by the rule in this module's description."""
    seated = [
        m.profile
        for m in members
        if m.status in (panels.SELECTED, panels.ACCEPTED) and m.contact_id != declined.contact_id
    ]
    reserves = [m for m in members if m.status == panels.RESERVE]
    if not reserves:
        return None
    keeping = [m for m in reserves if met([*seated, m.profile], quotas)]
    candidates = keeping or reserves

    def shared(m: Member) -> int:
        return sum(1 for c, v in declined.profile.items() if m.profile.get(c) == v)

    best = max(shared(m) for m in candidates)
    closest = [m for m in candidates if shared(m) == best]
    chosen = random.Random(seed * 1_000_003 + declined.number).choice(closest)
    return Replacement(chosen, bool(keeping), best)


def seat_answered(
    tx: Tx, contact_id: int, seat: object, seat_flow: str, now: datetime
) -> Replacement | None:
    """A chosen member took their seat or declined it. A declined seat goes to a reserve,
    who is asked in turn; returns that replacement."""
    panel_id = panels.seated_panel(tx, contact_id)
    if panel_id is None:
        return None
    if seat == "yes":
        panels.set_status(tx, panel_id, contact_id, panels.ACCEPTED, now)
        return None
    panels.set_status(tx, panel_id, contact_id, panels.DECLINED, now)
    panel = panels.get(tx, panel_id)
    assert panel is not None
    members = panels.members(tx, panel_id)
    declined = next(m for m in members if m.contact_id == contact_id)
    quotas = [Quota(**q) for q in panel.quotas or []]  # type: ignore[arg-type]
    chosen = replacement(members, declined, quotas, panel.seed or 0)
    if chosen is None:
        return None
    panels.set_status(tx, panel_id, chosen.member.contact_id, panels.SELECTED, now, contact_id)
    broadcasts.send_now(
        tx,
        NewBroadcast(
            broadcasts.FLOW,
            Audience(contacts=(chosen.member.contact_id,)).to_json(),
            flow_id=seat_flow,
            created_by="panel rule",
        ),
        now,
    )
    return chosen


# -- panel votes -----------------------------------------------------------------------------

YES, NO, ABSTAIN = "yes", "no", "abstain"
_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d+)?)\s*%$")


def vote_options(env: Env) -> tuple[PollOption, ...]:
    """Yes, no, abstain, in every language."""
    phrases = env.phrases
    return (
        PollOption(YES, {code: phrases.text(code, "Yes") for code in env.languages}),
        PollOption(NO, {code: phrases.text(code, "No") for code in env.languages}),
        PollOption(ABSTAIN, {code: phrases.text(code, "Abstain") for code in env.languages}),
    )


def threshold_of(text: str) -> Fraction:
    """``majority``, ``two-thirds`` or a percentage like ``80%``; raises ValueError."""
    word = text.strip().lower()
    if word in ("majority", "simple"):
        return Fraction(1, 2)
    if word in ("two-thirds", "2/3"):
        return Fraction(2, 3)
    match = _PERCENT.match(word)
    if match is None or not 0 < float(match.group(1)) <= 100:
        raise ValueError(f"'{text}' is not majority, two-thirds or a percentage like 80%")
    return Fraction(match.group(1)) / 100


def quorum_of(text: str, members: int) -> int:
    """How many members must vote: ``50%`` of them (rounded up) or a number."""
    word = text.strip()
    if word.isdigit():
        return int(word)
    match = _PERCENT.match(word)
    if match is None or not 0 <= float(match.group(1)) <= 100:
        raise ValueError(f"'{text}' is not a share like 50% or a number of members")
    share = Fraction(match.group(1)) / 100 * members
    return -(-share.numerator // share.denominator)


def panel_poll(
    env: Env,
    source: str,
    proposal: Mapping[str, str],
    panel_id: int,
    quorum: str,
    threshold: str,
    closes_at: datetime | None,
    who: str,
) -> NewPoll:
    threshold_of(threshold)  # checked here, so a bad one is refused before anything is made
    quorum_of(quorum, 1)
    return NewPoll(
        question=dict(proposal),
        options=vote_options(env),
        language=source,
        results="private",
        closes_at=closes_at,
        created_by=who,
        panel_id=panel_id,
        quorum=quorum,
        threshold=threshold,
    )


@dataclass(frozen=True)
class Outcome:
    members: int
    yes: int
    no: int
    abstain: int
    quorum: str
    needed: int  # votes needed for quorum
    threshold: str
    quorum_met: bool
    threshold_met: bool

    @property
    def voted(self) -> int:
        return self.yes + self.no + self.abstain

    @property
    def passed(self) -> bool:
        return self.quorum_met and self.threshold_met

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "passed": self.passed})

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text)
        data.pop("passed", None)
        return cls(**data)


def outcome(counts: Mapping[str, int], members: int, quorum: str, threshold: str) -> Outcome:
    yes, no, abstain = (counts.get(k, 0) for k in (YES, NO, ABSTAIN))
    needed = quorum_of(quorum, members)
    bar = threshold_of(threshold)
    decisive = yes + no
    if bar == Fraction(1, 2):
        reached = decisive > 0 and 2 * yes > decisive  # more than half
    else:
        reached = decisive > 0 and Fraction(yes, decisive) >= bar
    return Outcome(
        members,
        yes,
        no,
        abstain,
        quorum,
        needed,
        threshold,
        yes + no + abstain >= needed,
        reached,
    )


def decide(tx: Tx, poll: Poll) -> Outcome:
    """A closed panel vote's outcome, from its votes and the members seated: recorded."""
    assert poll.panel_id is not None
    assert poll.quorum is not None
    assert poll.threshold is not None
    counts = results(tx, poll).overall.counts
    decided = outcome(counts, seated(tx, poll.panel_id), poll.quorum, poll.threshold)
    polls.set_outcome(tx, poll.id, decided.to_json())
    return decided


def seated(tx: Tx, panel_id: int) -> int:
    """Members who took their seat: the base for quorum."""
    return sum(1 for m in panels.members(tx, panel_id) if m.status == panels.ACCEPTED)
