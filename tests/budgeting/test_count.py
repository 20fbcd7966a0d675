"""The count: Parley's outcome is pabutools' own, called directly on the same Pabulib
file (approval and ordinal, and on random small rounds), no rule overspends, and the
choices the count makes are the ones bot/civic/budgeting/count.py documents: greedy by
votes, not votes per pound; a bid nobody chose never funded; a ranking counted as
approval; ties to the lower id in text order; what each voter paid under Equal Shares."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.civic.budgeting import pabulib
from bot.civic.budgeting.count import (
    RULES,
    Election,
    Outcome,
    Project,
    Rule,
    Share,
    both,
    count,
)

# -- pabutools itself, on the file ------------------------------------------------------


def pabutools_funds(path: Path, rule: Rule) -> list[str]:
    """What pabutools funds when called directly on a Pabulib file, the recipe spelled
    out here rather than taken from Parley: cost satisfaction; for Equal Shares, the
    shares raised by one unit per voter (by 1% of the share above 100 units), then
    greedy. The bids no ballot chose are taken out of the instance first: the one thing
    Parley does before pabutools (pabutools' greedy would fund them with money left)."""
    from pabutools.election import (  # type: ignore[import-untyped]
        Cost_Sat,
        Instance,
        parse_pabulib,
    )
    from pabutools.fractions import frac  # type: ignore[import-untyped]
    from pabutools.rules import (  # type: ignore[import-untyped]
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    instance, profile = parse_pabulib(str(path))
    chosen = {project for ballot in profile for project in ballot}
    instance = Instance(chosen, budget_limit=instance.budget_limit)
    if not chosen:
        return []
    if rule == "greedy":
        funded = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    else:
        voters = profile.num_ballots()
        budget = instance.budget_limit
        step = 1 if budget <= 100 * voters else frac(budget, 100 * voters)
        funded = completion_by_rule_combination(
            instance,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": Cost_Sat, "voter_budget_increment": step}, {"sat_class": Cost_Sat}],
        )
    return [project.name for project in funded]


def parley_funds(path: Path, rule: Rule) -> list[str]:
    return [f.id for f in count(pabulib.read(path), rule).funded]


APPROVAL = """META
key;value
description;Approval: two neighbourhoods and a few who want everything
num_projects;6
num_votes;14
budget;1000
vote_type;approval
PROJECTS
project_id;cost;name
1;500;Playground
2;300;Library hours
3;250;Benches
4;400;Bus shelter
5;150;Mural
6;200;Trees
VOTES
voter_id;vote
1;1,2
2;1,2
3;1,2,3
4;1,3
5;1
6;4,5
7;4,5
8;4,6
9;4
10;5,6
11;1,2,3,4,5,6
12;6
13;2,6
14;3
"""

ORDINAL = """META
key;value
description;Ordinal: the same bids ranked, up to three
num_projects;6
num_votes;12
budget;900
vote_type;ordinal
max_length;3
PROJECTS
project_id;cost;name
1;500;Playground
2;300;Library hours
3;250;Benches
4;400;Bus shelter
5;150;Mural
6;200;Trees
VOTES
voter_id;vote
1;2,1
2;1,2,3
3;3,1
4;1
5;4,5,6
6;5,4
7;6,4
8;4
9;6,5
10;2,6,1
11;3
12;5,1,2
"""


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("text", [APPROVAL, ORDINAL], ids=["approval", "ordinal"])
def test_the_count_is_what_pabutools_funds_called_directly_on_the_file(
    tmp_path: Path, text: str, rule: Rule
) -> None:
    path = tmp_path / "round.pb"
    path.write_text(text, encoding="utf-8")
    assert parley_funds(path, rule) == pabutools_funds(path, rule)


def test_the_two_rules_differ_on_these_rounds(tmp_path: Path) -> None:
    """So the agreement above is about two different answers, not one."""
    path = tmp_path / "round.pb"
    path.write_text(APPROVAL, encoding="utf-8")
    greedy, mes = both(pabulib.read(path))
    assert [f.id for f in greedy.funded] != [f.id for f in mes.funded]


# -- random small rounds ----------------------------------------------------------------


@st.composite
def elections(draw: Any) -> Election:
    sizes = draw(st.integers(1, 8))
    costs = draw(st.lists(st.integers(1, 120), min_size=sizes, max_size=sizes))
    projects = tuple(Project(str(n + 1), cost) for n, cost in enumerate(costs))
    ids = [p.id for p in projects]
    ballots = draw(
        st.lists(st.lists(st.sampled_from(ids), unique=True, max_size=sizes), max_size=30)
    )
    return Election(
        budget=draw(st.integers(1, 400)),
        projects=projects,
        ballots=tuple(tuple(b) for b in ballots),
        style=draw(st.sampled_from(["approval", "ranking"])),
    )


def _made(budget: int, costs: list[int], ballots: list[str]) -> Election:
    projects = tuple(Project(str(n), cost) for n, cost in enumerate(costs, 1))
    return Election(budget, projects, tuple(tuple(b.split()) for b in ballots))


# Rounds where Equal Shares' step tells: shares of 22.83 raised 1 at a time fund 1, 3
# and 2 (by 1% of the share: 1, 3 and 4); shares of 190, by 1% of the share, fund 1, 4
# and 3 (1 at a time: 1, 3 and 4).
ADD1 = _made(137, [35, 35, 45, 45], ["1 2", "1", "2 3 4", "1 3", "3", "4"])
ONE_PERCENT = _made(950, [600, 600, 150, 50], ["1 4", "", "1 2 3", "2 3 4", ""])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(election=elections())
@example(election=ADD1)
@example(election=ONE_PERCENT)
def test_random_rounds_never_overspend_and_are_what_pabutools_funds(
    tmp_path_factory: pytest.TempPathFactory, election: Election
) -> None:
    path = tmp_path_factory.mktemp("random") / "round.pb"
    pabulib.write(election, path)
    for outcome in both(election):
        assert outcome.cost == sum(f.cost for f in outcome.funded) <= election.budget
        assert outcome.left == election.budget - outcome.cost
        assert [f.id for f in outcome.funded] == pabutools_funds(path, outcome.rule)
        chosen = [p for b in election.ballots for p in b]
        assert outcome.votes == {p.id: chosen.count(p.id) for p in election.projects}
        for funded in outcome.funded:
            assert funded.votes > 0
            if outcome.rule == "mes":
                assert funded.share is not None
                assert funded.share.completion or funded.share.paid == funded.cost


# -- what the count chooses to do -------------------------------------------------------


def funds(election: Election, rule: Rule) -> list[str]:
    return [f.id for f in count(election, rule).funded]


def test_greedy_funds_the_most_voted_bid_first_not_the_most_votes_per_pound() -> None:
    """The pool has three votes, the benches two; the benches have far more votes per
    pound, and funding them first would leave too little for the pool."""
    election = Election(
        budget=950,
        projects=(Project("pool", 900), Project("benches", 100)),
        ballots=(("pool",), ("pool",), ("pool", "benches"), ("benches",)),
    )
    assert funds(election, "greedy") == ["pool"]


@pytest.mark.parametrize("rule", RULES)
def test_a_bid_nobody_chose_is_never_funded_even_with_money_left(rule: Rule) -> None:
    election = Election(
        budget=1000,
        projects=(Project("1", 300), Project("2", 100, "nobody's")),
        ballots=(("1",), ("1",)),
    )
    outcome = count(election, rule)
    assert [f.id for f in outcome.funded] == ["1"]
    assert outcome.left == 700
    assert outcome.votes == {"1": 2, "2": 0}


@pytest.mark.parametrize("rule", RULES)
def test_a_ranking_counts_as_approval_of_each_project_ranked(rule: Rule) -> None:
    """A ranking of one project counts for it (Borda would give it nothing), and the
    order does not weigh: the same choices ranked or approved fund the same bids."""
    projects = (Project("1", 60), Project("2", 50), Project("3", 40))
    ballots = (("3",), ("3",), ("2", "1"), ("1", "2"), ("3", "1"))
    ranked = Election(100, projects, ballots, style="ranking")
    approved = Election(100, projects, tuple(tuple(sorted(b)) for b in ballots))
    assert funds(ranked, rule) == funds(approved, rule)
    assert "3" in funds(ranked, rule)


@pytest.mark.parametrize("rule", RULES)
def test_a_tie_goes_to_the_lower_id_in_text_order(rule: Rule) -> None:
    """Same cost, same votes, money for one: "10" sorts before "9" as text."""
    election = Election(
        budget=100,
        projects=(Project("9", 100), Project("10", 100)),
        ballots=(("9",), ("10",), ("9", "10")),
    )
    assert funds(election, rule) == ["10"]


@pytest.mark.parametrize("rule", RULES)
def test_the_same_ballots_in_any_order_give_the_same_outcome(rule: Rule) -> None:
    shuffle = random.Random(7)
    projects = tuple(Project(str(n), cost) for n, cost in enumerate([120, 80, 200, 60, 150], 1))
    ballots = [
        tuple(shuffle.sample([p.id for p in projects], shuffle.randint(1, 4))) for _ in range(40)
    ]
    first = count(Election(400, projects, tuple(ballots)), rule)
    shuffle.shuffle(ballots)
    again = count(Election(400, projects, tuple(ballots)), rule)
    assert again == first


def test_equal_shares_says_what_each_supporter_paid_and_what_the_completion_funded() -> None:
    """Two voters with shares of 50. The first wants the garden (60), the second the
    lights (60) and the bench (30). At shares of 50 only the bench is affordable; raised
    to 60 each could buy their 60, and both would overspend, so Equal Shares stops at
    the bench. What is left (70) goes greedy by votes: the garden, the lower id of two
    one-vote bids."""
    election = Election(
        budget=100,
        projects=(Project("a-garden", 60), Project("b-lights", 60), Project("c-bench", 30)),
        ballots=(("a-garden",), ("b-lights", "c-bench")),
    )
    outcome = count(election, "mes")
    assert [(f.id, f.share) for f in outcome.funded] == [
        ("c-bench", Share(1, Fraction(30), Fraction(30), Fraction(30))),
        ("a-garden", Share(0, Fraction(0), Fraction(0), Fraction(0), completion=True)),
    ]
    assert (outcome.cost, outcome.left) == (90, 10)


def test_equal_shares_splits_a_cost_unequally_when_a_supporter_has_less_left() -> None:
    """Six voters, shares of 25. The playground (60) has four supporters and goes first,
    15 each. The first voter, who wants the garden (60) too, has 10 left for it, so its
    two other supporters pay 25 each."""
    election = Election(
        budget=150,
        projects=(Project("playground", 60), Project("garden", 60)),
        ballots=(
            ("playground", "garden"),
            ("garden",),
            ("garden",),
            ("playground",),
            ("playground",),
            ("playground",),
        ),
    )
    outcome = count(election, "mes")
    assert [(f.id, f.share) for f in outcome.funded] == [
        ("playground", Share(4, Fraction(60), Fraction(15), Fraction(15))),
        ("garden", Share(3, Fraction(60), Fraction(10), Fraction(25))),
    ]


@pytest.mark.parametrize("rule", RULES)
def test_nothing_is_funded_when_every_bid_costs_more_than_the_budget(rule: Rule) -> None:
    election = Election(
        budget=100, projects=(Project("1", 101), Project("2", 500)), ballots=(("1", "2"),)
    )
    assert count(election, rule) == Outcome(rule, (), 0, 100, {"1": 1, "2": 1})


@pytest.mark.parametrize("rule", RULES)
def test_a_round_without_votes_funds_nothing(rule: Rule) -> None:
    election = Election(budget=100, projects=(Project("1", 10),), ballots=((), ()))
    assert count(election, rule) == Outcome(rule, (), 0, 100, {"1": 0})


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Election(100, (Project("1", 10),), (("2",),)), "ballot 1 chooses '2'"),
        (lambda: Election(100, (Project("1", 10),), (("1", "1"),)), "chooses a project twice"),
        (lambda: Election(0, (Project("1", 10),), ()), "the budget"),
        (lambda: Election(100, (Project("1", 10), Project("1", 20)), ()), "project 1 is in"),
        (lambda: Election(100, (Project("1", 10),), (("1",),), max_length=0), "max_length"),
        (lambda: Election(100, (), ((),), voter_ids=()), "voter_ids"),
        (lambda: Project("1,2", 10), "no commas"),
        (lambda: Project("1", 0), "cost"),
    ],
)
def test_a_round_that_does_not_hold_together_is_refused(make: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make()


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="greedy, mes"):
        count(Election(100, (Project("1", 10),), ()), "phragmen")  # type: ignore[arg-type]
