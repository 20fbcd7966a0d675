"""The count of a budgeting round: which bids the budget funds, by two rules, the rules
themselves being pabutools' (the participatory budgeting researchers' library, the one
equalshares.net and Pabulib are checked against). Parley only hands it the round and
reads back what it chose.

**greedy**, greedy by votes, what most cities use: the bid with the most votes is funded
first, then the next, each one that still fits in what is left. This is pabutools'
``greedy_utilitarian_welfare`` with the *cost* satisfaction (``Cost_Sat``). That rule
orders bids by total satisfaction divided by cost; a voter's cost satisfaction with a
bid they chose is its cost, so the ratio is the bid's number of votes. (With the
cardinality satisfaction the ratio would be votes per pound, which funds cheap bids
first: not what a city means by "greedy".)

**mes**, the Method of Equal Shares with cost utilities, as equalshares.net and the
Pabulib studies run it: the budget is split equally between the voters, and a bid is
funded when its supporters can pay for it from their shares, the bid costing each of
them least per pound of it first (pabutools' ``method_of_equal_shares``). The method
alone often leaves money unspent, so it is completed the usual way (pabutools'
``completion_by_rule_combination``, as pabutools' documentation gives it): first the
voters' shares are raised step by step, and the method run again each time, until
raising them further would overspend the real budget (pabutools' own iterated variant,
``voter_budget_increment``, which its documentation recommends over the slower general
``exhaustion_by_budget_increase``); the step is one currency unit per voter
(equalshares.net's "Add1") while a share is at most 100 units, and 1% of the share
beyond that (the general exhaustion's default step), so a large budget among few voters
does not take thousands of runs. Then whatever money is still left goes greedy by votes,
as above. :class:`Share` says, for each bid, what its supporters paid, or that the
completion funded it.

Both rules:

- A ranking counts as approval of the projects ranked. pabutools' Borda satisfaction
  gives a voter nothing for the project they rank last, so a ranking of one project
  would count for nothing, and greedy with it would order bids by points per pound.
  The order is kept (in :class:`Election` and in Pabulib files) but does not weigh.
- A bid nobody chose is never funded, even with money left over: the rules are given
  only the bids at least one ballot chose. (pabutools' greedy would otherwise spend what
  is left on them.)
- Ties go to the lower project id in text order ("10" before "9"): pabutools' default,
  lexicographic tie-breaking. Arithmetic is exact (pabutools' default fractions), so
  the same round always gives the same outcome, and a tie is a real one.
- Neither spends more than the budget; :func:`count` checks it again.

Time and memory grow with the number of different ballots (identical ones are merged)
times the number of bids and, for Equal Shares, times the number of runs its completion
takes (often a hundred or so). pabutools is pure Python, and Equal Shares with its
completion is slow on large rounds: with 100 bids, 1,000 ballots take about 7 s and
170 MB, 10,000 about 100 s and 1.4 GB, 100,000 about 8 minutes and 5.4 GB; greedy
takes under 2 s at 100,000 (``bench/pb_count.py``). Count a large round where that
time and memory can be spared, not while holding the database. pabutools is imported
only when a count is made (its import takes about a second).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

Style = Literal["approval", "ranking"]
Rule = Literal["greedy", "mes"]
RULES: tuple[Rule, ...] = ("greedy", "mes")

ADD1_UP_TO = 100
"""The largest share (currency units per voter) raised one unit at a time; beyond it,
Equal Shares' completion raises shares by 1% of the first share."""


@dataclass(frozen=True)
class Project:
    """A bid as counted: its id (as written in a Pabulib file, or the bid's number), its
    cost in whole currency units, and its name."""

    id: str
    cost: int
    name: str = ""

    def __post_init__(self) -> None:
        if not self.id or self.id != self.id.strip() or any(c in self.id for c in ",\n\r"):
            raise ValueError(
                f"project id {self.id!r}: ids are not empty, have no spaces at the ends,"
                " and no commas (votes are written as ids separated by commas)"
            )
        if isinstance(self.cost, bool) or not isinstance(self.cost, int) or self.cost <= 0:
            raise ValueError(f"project {self.id}: the cost must be a whole number above 0")


@dataclass(frozen=True)
class Election:
    """A round to count: the budget, the bids on the ballot, and each ballot's chosen
    project ids (for a ranking, first choice first). ``currency``, ``description``,
    ``max_length`` (the most a ballot may choose) and the pseudonymous ``voter_ids`` are
    carried to and from Pabulib files and do not change the count."""

    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[tuple[str, ...], ...]
    style: Style = "approval"
    currency: str = ""
    description: str = ""
    max_length: int | None = None
    voter_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget <= 0:
            raise ValueError("the budget must be a whole number above 0")
        if self.style not in ("approval", "ranking"):
            raise ValueError(f"style {self.style!r}: approval or ranking")
        ids = [p.id for p in self.projects]
        if len(set(ids)) != len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"project {twice} is in the round twice")
        if self.max_length is not None and self.max_length <= 0:
            raise ValueError("max_length must be above 0")
        known = set(ids)
        for number, ballot in enumerate(self.ballots, 1):
            if len(set(ballot)) != len(ballot):
                raise ValueError(f"ballot {number} chooses a project twice: {ballot}")
            if not known.issuperset(ballot):
                unknown = next(i for i in ballot if i not in known)
                raise ValueError(f"ballot {number} chooses {unknown!r}, not in the round")
            if self.max_length is not None and len(ballot) > self.max_length:
                raise ValueError(f"ballot {number} chooses more than {self.max_length}")
        if self.voter_ids is not None:
            if len(self.voter_ids) != len(self.ballots):
                raise ValueError("voter_ids: one for each ballot")
            if len(set(self.voter_ids)) != len(self.voter_ids):
                raise ValueError("voter_ids: each voter once")


@dataclass(frozen=True)
class Share:
    """How a bid funded under Equal Shares was paid for, in exact fractions of the
    currency unit. Funded from voters' shares: ``payers`` of its supporters paid
    ``paid`` in all (its cost), each between ``smallest`` and ``largest``. Funded by the
    completion from the money left (``completion``): no one's share paid for it, and
    the other fields are 0."""

    payers: int
    paid: Fraction
    smallest: Fraction
    largest: Fraction
    completion: bool = False


@dataclass(frozen=True)
class Funded:
    """A funded bid: its id, cost and votes, and under Equal Shares how it was paid for."""

    id: str
    cost: int
    votes: int
    share: Share | None = None


@dataclass(frozen=True)
class Outcome:
    """What a rule funds, in the order it chose them; what that costs and what is left;
    and every bid's votes (the number of ballots that chose it)."""

    rule: Rule
    funded: tuple[Funded, ...]
    cost: int
    left: int
    votes: Mapping[str, int]


def count(election: Election, rule: Rule) -> Outcome:
    """Count ``election`` by ``rule`` (``greedy`` or ``mes``; see the module's notes)."""
    if rule not in RULES:
        raise ValueError(f"rule {rule!r}: one of {', '.join(RULES)}")
    votes = Counter(project for ballot in election.ballots for project in ballot)
    tally = {p.id: votes[p.id] for p in election.projects}
    chosen: list[str] = []
    shares: dict[str, Share] = {}
    if any(tally.values()):
        chosen, shares = _RULES[rule](election, tally)
    costs = {p.id: p.cost for p in election.projects}
    funded = tuple(Funded(i, costs[i], tally[i], shares.get(i)) for i in chosen)
    spent = sum(f.cost for f in funded)
    if spent > election.budget:  # pabutools never does this; should it ever, stop here
        raise RuntimeError(f"{rule} spent {spent} of a budget of {election.budget}")
    return Outcome(rule, funded, spent, election.budget - spent, tally)


def both(election: Election) -> tuple[Outcome, Outcome]:
    """The round counted by greedy and by Equal Shares, to show side by side."""
    return count(election, "greedy"), count(election, "mes")


# -- pabutools --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Round:
    """The round in pabutools' terms: the bids someone chose (``Instance``), identical
    ballots merged (``ApprovalMultiProfile``), and the voters' cost satisfaction."""

    instance: Any
    profile: Any
    satisfaction: Any


def _pabutools(election: Election, tally: Mapping[str, int]) -> _Round:
    from pabutools.election import (  # type: ignore[import-untyped]
        ApprovalMultiProfile,
        FrozenApprovalBallot,
        Instance,
    )
    from pabutools.election import Project as Bid

    standing = {p.id: Bid(p.id, p.cost) for p in election.projects if tally[p.id] > 0}
    instance = Instance(standing.values(), budget_limit=election.budget)
    alike = Counter(tuple(sorted(ballot)) for ballot in election.ballots)
    merged = {FrozenApprovalBallot(standing[i] for i in ids): n for ids, n in alike.items()}
    profile = ApprovalMultiProfile(merged, instance=instance)
    return _Round(instance, profile, _cost_satisfaction(profile, tally))


def _cost_satisfaction(profile: Any, tally: Mapping[str, int]) -> Any:
    """pabutools' cost satisfaction (``Cost_Sat``) of every voter, with each bid's total
    (its votes times its cost) counted once: greedy asks for the total of every bid,
    and pabutools sums it over every ballot each time, the most of greedy's time at
    100,000 ballots (tens of seconds)."""
    from pabutools.election import Cost_Sat, SatisfactionMultiProfile

    class CostSatisfaction(SatisfactionMultiProfile):  # type: ignore[misc]
        def total_satisfaction_project(self, project: Any) -> Any:
            return tally[project.name] * project.cost

    return CostSatisfaction(instance=profile.instance, multiprofile=profile, sat_class=Cost_Sat)


def _greedy(election: Election, tally: Mapping[str, int]) -> tuple[list[str], dict[str, Share]]:
    from pabutools.rules import greedy_utilitarian_welfare  # type: ignore[import-untyped]

    pb = _pabutools(election, tally)
    chosen = greedy_utilitarian_welfare(
        pb.instance, pb.profile, sat_profile=pb.satisfaction, is_sat_additive=True
    )
    return [bid.name for bid in chosen], {}


def _mes(election: Election, tally: Mapping[str, int]) -> tuple[list[str], dict[str, Share]]:
    from pabutools.fractions import frac  # type: ignore[import-untyped]
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    pb = _pabutools(election, tally)
    voters = len(election.ballots)
    step = 1 if election.budget <= ADD1_UP_TO * voters else frac(election.budget, 100 * voters)
    equal_shares: list[Any] = []

    def mes(instance: Any, profile: Any, **options: Any) -> Any:
        """pabutools' Equal Shares, its outcome kept for how each bid was paid for."""
        outcome = method_of_equal_shares(instance, profile, **options)
        equal_shares.append(outcome)
        return outcome

    chosen = completion_by_rule_combination(
        pb.instance,
        pb.profile,
        [mes, greedy_utilitarian_welfare],
        [
            {"sat_profile": pb.satisfaction, "voter_budget_increment": step, "analytics": True},
            {"sat_profile": pb.satisfaction, "is_sat_additive": True},
        ],
    )
    shares = _shares(equal_shares[0])
    completed = Share(0, Fraction(0), Fraction(0), Fraction(0), completion=True)
    return [bid.name for bid in chosen], {
        bid.name: shares.get(bid.name, completed) for bid in chosen
    }


def _shares(outcome: Any) -> dict[str, Share]:
    """What each voter paid for each bid Equal Shares funded, from the record pabutools
    keeps of its last run (``analytics``): every voter's share before and after."""
    details = outcome.details
    shares = {}
    for step in details.iterations:
        if step.selected_project is None:
            continue
        paid = [
            (before - after, alike)
            for before, after, alike in zip(
                step.voters_budget,
                step.voters_budget_after_selection,
                details.voter_multiplicity,
                strict=True,
            )
            if before != after
        ]
        amounts = [_fraction(amount) for amount, _ in paid]
        shares[step.selected_project.name] = Share(
            payers=sum(alike for _, alike in paid),
            paid=sum((a * alike for a, (_, alike) in zip(amounts, paid, strict=True)), Fraction(0)),
            smallest=min(amounts),
            largest=max(amounts),
        )
    return shares


def _fraction(number: Any) -> Fraction:
    """A pabutools number (a gmpy2 fraction, or an int) as Python's own fraction."""
    return Fraction(int(number.numerator), int(number.denominator))


_RULES: Mapping[Rule, Callable[[Election, Mapping[str, int]], tuple[list[str], dict[str, Share]]]]
_RULES = {"greedy": _greedy, "mes": _mes}
