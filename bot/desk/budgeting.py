"""Participatory budgeting, for staff: open a round, enter bids (by hand, from a CSV file
or from a resident's idea), translate them, record the panel's rulings, move the round
through its phases, and see the ballots and the count."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from babel.numbers import get_currency_name

from bot.civic.budgeting import phases
from bot.desk import lookup
from bot.desk.context import Desk, operation, rehearse
from bot.desk.errors import Invalid, Refused
from bot.exports import pseudonyms
from bot.outreach.audience import Audience
from bot.store import budgeting, jobs
from bot.store.budgeting import Bid, NewBid, NewRound, Round, Tallies

if TYPE_CHECKING:
    from bot.civic.budgeting import count as counting

ROUNDS = "budgeting rounds"
RULES = ("greedy", "mes")


@dataclass(frozen=True)
class RoundSpec:
    """A round as an organiser describes it."""

    name: str
    budget: int
    currency: str = "GBP"
    audience: Audience = field(default_factory=Audience)
    style: str = "approval"  # approval (within the budget), k_approval, ranking
    k: int | None = None
    rule: str = "greedy"  # what decides: greedy by votes, or the Method of Equal Shares
    panel_id: int | None = None
    screening_at: datetime | None = None
    voting_at: datetime | None = None
    counted_at: datetime | None = None


@dataclass(frozen=True)
class BidSpec:
    title: str
    description: str
    cost: int
    proposer: str
    ward: str | None = None
    proposer_id: int | None = None  # who hears about it (a contact)
    idea_id: int | None = None


@dataclass(frozen=True)
class RoundView:
    round: Round
    bids: tuple[Bid, ...]
    tallies: Tallies
    count: Mapping[str, Any] | None  # both rules' outcomes, once counted


def _currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or get_currency_name(code, locale="en") == code:
        raise Invalid("currency", f"'{code}' is not a currency code like GBP or EUR")
    return code


def _times(spec: RoundSpec, now: datetime) -> None:
    given = [
        (name, at)
        for name, at in (
            ("screening_at", spec.screening_at),
            ("voting_at", spec.voting_at),
            ("counted_at", spec.counted_at),
        )
        if at is not None
    ]
    for name, at in given:
        if at <= now:
            raise Invalid(name, f"{name.removesuffix('_at')} is in the past")
    for (first, a), (then, b) in pairwise(given):
        if b <= a:
            raise Invalid(
                then, f"{then.removesuffix('_at')} must come after {first.removesuffix('_at')}"
            )


@operation("pb.open", organiser=ROUNDS)
def open_round(desk: Desk, spec: RoundSpec) -> Round:
    """Open a round for bids, with its phases scheduled if times are given."""
    if not spec.name.strip():
        raise Invalid("name", "give the round a name")
    if spec.budget <= 0:
        raise Invalid("budget", "the budget is a whole amount above 0")
    if spec.style not in budgeting.STYLES:
        raise Invalid("style", f"the ballot style is one of {', '.join(budgeting.STYLES)}")
    if spec.style != "approval" and (spec.k is None or spec.k < 1):
        raise Invalid("k", f"a {spec.style} ballot needs K, the most projects a ballot chooses")
    if spec.rule not in RULES:
        raise Invalid("rule", "the rule is greedy or mes")
    if spec.panel_id is not None:
        lookup.panel(desk, spec.panel_id)
    _times(spec, desk.now)
    new = NewRound(
        name=spec.name.strip(),
        budget=spec.budget,
        currency=_currency(spec.currency),
        audience=spec.audience.to_json(),
        style=spec.style,
        k=spec.k if spec.style != "approval" else None,
        rule=spec.rule,
        language=desk.settings.default_language,
        panel_id=spec.panel_id,
        screening_at=spec.screening_at,
        voting_at=spec.voting_at,
        counted_at=spec.counted_at,
        created_by=desk.actor.who,
    )
    round_id = budgeting.create_round(desk.tx, new, desk.now)
    for phase, kind in phases.JOBS.items():
        at = new.at(phase)
        if at is not None:
            jobs.add(desk.tx, kind, round_id, at)
    desk.audit("pb.open", f"round {round_id}", budget=spec.budget, style=spec.style)
    return lookup.round_(desk, round_id)


def _open_for_bids(desk: Desk, round_: Round) -> None:
    if round_.phase not in ("bids", "screening"):
        raise Refused(f"round {round_.id} is {round_.phase}: its bids can no longer change")


def checked_bid(desk: Desk, round_: Round, spec: BidSpec) -> NewBid:
    """The bid ``spec`` describes, refused naming the field that is wrong."""
    if not spec.title.strip():
        raise Invalid("title", "give the bid a title")
    if not spec.proposer.strip():
        raise Invalid("proposer", "say which group proposes it")
    if spec.cost <= 0:
        raise Invalid("cost", "the cost is a whole amount above 0")
    if spec.cost > round_.budget:
        raise Invalid(
            "cost", f"the cost {spec.cost} is more than the round's whole budget {round_.budget}"
        )
    source = round_.language
    return NewBid(
        title={source: spec.title.strip()},
        description={source: spec.description.strip()},
        cost=spec.cost,
        proposer=spec.proposer.strip(),
        proposer_id=spec.proposer_id,
        ward=(spec.ward or "").strip() or None,
        idea_id=spec.idea_id,
    )


@operation("pb.bid")
def add_bid(desk: Desk, round_id: int, spec: BidSpec) -> Bid:
    """Enter a bid: its title and one line in the round's language, cost, proposer."""
    round_ = lookup.round_(desk, round_id)
    _open_for_bids(desk, round_)
    bid = budgeting.add_bid(desk.tx, round_id, checked_bid(desk, round_, spec), desk.now)
    desk.audit("pb.bid", f"round {round_id} bid {bid.number}", cost=bid.cost)
    return bid


_AMOUNT = re.compile(
    r"(?:£|€|\$)\s?(\d{1,3}(?:,\d{3})+|\d+)|(\d{1,3}(?:,\d{3})+|\d+)\s?(?:pounds|gbp)\b", re.I
)


def cost_in(text: str) -> int | None:
    """The amount an idea names ("£4,500", "4500 pounds"), if it names one."""
    found = _AMOUNT.search(text)
    if found is None:
        return None
    return int((found.group(1) or found.group(2)).replace(",", ""))


@operation("pb.bid_from_idea")
def bid_from_idea(
    desk: Desk, round_id: int, idea_ref: str, cost: int | None, title: str, proposer: str
) -> Bid:
    """Turn a resident's idea (sent by text, with a cost) into a bid; its sender is the
    proposer who hears about it. No ``cost``: the amount the idea names."""
    idea = lookup.idea(desk, idea_ref)
    cost = cost if cost is not None else cost_in(idea.shown_text)
    if cost is None:
        raise Invalid("cost", f"idea {idea_ref} names no cost: give one")
    spec = BidSpec(
        title, idea.shown_text, cost, proposer, proposer_id=idea.contact_id, idea_id=idea.id
    )
    round_ = lookup.round_(desk, round_id)
    _open_for_bids(desk, round_)
    bid = budgeting.add_bid(desk.tx, round_id, checked_bid(desk, round_, spec), desk.now)
    desk.audit("pb.bid_from_idea", f"round {round_id} bid {bid.number}", idea=idea.id)
    return bid


BID_COLUMNS = ("title", "description", "cost", "proposer", "ward")


def read_bids(text: str, name: str = "bids.csv") -> list[BidSpec]:
    """Bids from a CSV file with columns title, description, cost, proposer (and ward);
    a wrong row is refused as ``file:line: what is wrong``."""
    rows = csv.DictReader(io.StringIO(text))
    missing = [c for c in BID_COLUMNS[:4] if c not in (rows.fieldnames or ())]
    if missing:
        raise Invalid(
            "file", f"{name}:1: missing column {missing[0]} (columns: {', '.join(BID_COLUMNS)})"
        )
    found = []
    for row in rows:
        line = rows.line_num
        cost = (row.get("cost") or "").replace(",", "").strip()
        if not cost.isdigit():
            raise Invalid(
                "file", f"{name}:{line}: the cost '{row.get('cost')}' is not a whole amount"
            )
        found.append(
            BidSpec(
                (row.get("title") or "").strip(),
                (row.get("description") or "").strip(),
                int(cost),
                (row.get("proposer") or "").strip(),
                (row.get("ward") or "").strip() or None,
            )
        )
    return found


@operation("pb.import_bids")
def import_bids(
    desk: Desk, round_id: int, specs: Sequence[BidSpec], name: str = "bids.csv"
) -> list[Bid]:
    """Enter many bids at once: all of them, or none (a wrong row names its line)."""
    round_ = lookup.round_(desk, round_id)
    _open_for_bids(desk, round_)
    made = []
    for line, spec in enumerate(specs, 2):
        try:
            new = checked_bid(desk, round_, spec)
        except Invalid as wrong:
            raise Invalid("file", f"{name}:{line}: {wrong}") from None
        made.append(budgeting.add_bid(desk.tx, round_id, new, desk.now))
    desk.audit("pb.import_bids", f"round {round_id}", bids=len(made))
    return made


@operation("pb.translate")
def translate(
    desk: Desk, round_id: int, number: int, language: str, title: str, description: str
) -> Bid:
    """A bid's title and line in another language."""
    if language not in desk.settings.languages:
        raise Invalid(
            "language",
            f"unknown language '{language}'; languages: {', '.join(desk.settings.languages)}",
        )
    round_ = lookup.round_(desk, round_id)
    _open_for_bids(desk, round_)
    bid = lookup.bid(desk, round_id, number)
    if not title.strip():
        raise Invalid("title", f"give the title in {language}")
    changes = {
        "title": {**bid.title, language: title.strip()},
        "description": {**bid.description, language: description.strip()},
    }
    budgeting.update_bid(desk.tx, bid.id, changes)
    desk.audit("pb.translate", f"round {round_id} bid {number}", language=language)
    return lookup.bid(desk, round_id, number)


@operation("pb.rule", organiser=ROUNDS)
def rule(desk: Desk, round_id: int, number: int, reason: str, eligible: bool | None = None) -> Bid:
    """Record the panel's ruling on a bid and its reason. A bid the panel votes on takes
    its vote's outcome (its reason may be given while the vote is open); one screened at
    a meeting takes ``eligible``."""
    round_ = lookup.round_(desk, round_id)
    _open_for_bids(desk, round_)
    bid = lookup.bid(desk, round_id, number)
    status: str | None
    if bid.poll_id is not None:
        status = phases.screened(desk.tx, bid)
        if status is None:  # still voting: the reason now, the ruling when the vote closes
            if eligible is not None:
                raise Refused(f"the panel is still voting on bid {number} (poll {bid.poll_id})")
            budgeting.update_bid(desk.tx, bid.id, {"reason": reason.strip() or None})
            desk.audit("pb.rule", f"round {round_id} bid {number}", status="voting")
            return lookup.bid(desk, round_id, number)
        if eligible is not None and eligible != (status == "eligible"):
            raise Invalid("eligible", f"the panel voted bid {number} {status}")
    elif eligible is None:
        raise Invalid("eligible", f"say whether bid {number} is eligible")
    else:
        status = "eligible" if eligible else "ineligible"
    if status == "ineligible" and not reason.strip():
        raise Invalid("reason", "give the panel's reason: its proposer is told it")
    budgeting.update_bid(desk.tx, bid.id, {"status": status, "reason": reason.strip() or None})
    desk.audit("pb.rule", f"round {round_id} bid {number}", status=status)
    return lookup.bid(desk, round_id, number)


@operation("pb.phase", organiser=ROUNDS)
def begin(desk: Desk, round_id: int, phase: str) -> Round:
    """Begin the round's next phase now (screening, voting or counted)."""
    round_ = lookup.round_(desk, round_id)
    if phase not in phases.JOBS:
        raise Invalid("phase", "the phase is screening, voting or counted")
    world = phases.World(desk.tx, desk.env, desk.flows, desk.actor.who, desk.now)
    try:
        rehearse(desk, lambda _: phases.begin(world, round_id, phase))
    except phases.NotReady as problem:
        raise Refused(str(problem)) from None
    # Begun by the job, due now, exactly as a scheduled change would be.
    jobs.add(desk.tx, phases.JOBS[phase], round_id, desk.now)
    desk.effects.scheduled = True
    desk.audit("pb.phase", f"round {round_id}", phase=phase, was=round_.phase)
    return round_


@operation("pb.show", changes=False)
def show(desk: Desk, round_id: int) -> RoundView:
    round_ = lookup.round_(desk, round_id)
    tallies = budgeting.tallies(desk.tx, round_id)
    if round_.phase == "voting" and not desk.actor.organiser:
        tallies = Tallies(tallies.ballots)  # live counts are organisers' until voting closes
    return RoundView(round_, tuple(budgeting.bids(desk.tx, round_id)), tallies, round_.count)


@operation("pb.list", changes=False)
def listing(desk: Desk, limit: int = 50) -> list[RoundView]:
    return [show(desk, r.id) for r in budgeting.rounds(desk.tx, limit)]


@dataclass(frozen=True)
class Ballots:
    """A round's ballots as exported: pseudonymous voter ids, never an address."""

    round: Round
    election: counting.Election
    rows: tuple[
        tuple[str, tuple[int, ...], str, str, datetime], ...
    ]  # id, choice, lang, channel, cast


@operation("pb.export", organiser="exporting ballots")
def export(desk: Desk, round_id: int) -> Ballots:
    """The round's bids and ballots (for a Pabulib file and a CSV), voters named by the
    exports' pseudonymous ids; recorded in the audit log."""
    round_ = lookup.round_(desk, round_id)
    if round_.phase not in ("voting", "counted"):
        raise Refused(f"round {round_id} has no ballots yet (it is in its {round_.phase} phase)")
    key = pseudonyms.key(desk.tx, desk.settings.export_secret, desk.now)
    rows = []
    for found in budgeting.ballots_with_addresses(desk.tx, round_id):
        ballot, address = found
        voter = pseudonyms.pseudonym(key, ballot.channel, address)
        rows.append((voter, ballot.choice, ballot.language, ballot.channel, ballot.cast_at))
    election = phases.election(desk.tx, round_)
    election = replace(election, voter_ids=tuple(row[0] for row in rows))
    desk.audit("pb.export", f"round {round_id}", ballots=len(rows))
    return Ballots(round_, election, tuple(rows))
