"""Counting a large budgeting round: 100 bids and 100,000 approval ballots, by greedy and
by the Method of Equal Shares (completed), with pabutools' rules as Parley calls them.

    .venv/bin/python bench/pb_count.py [--ballots 100000] [--projects 100] [--rule mes]

The round is made up, seeded: bids costing 5,000 to 200,000 (in thousands), a budget of
a third of their total, and ballots of 1 to 10 bids each, chosen with a skew (a bid's
popularity is drawn from a Pareto distribution, so a few bids are on many ballots and
most on few). Each rule is counted in a fresh process of its own, so its peak memory
(``ru_maxrss``) is its own; it includes making the round (reported apart: the round
made and held, before counting), as the count needs the round in memory too. The time
is the count alone, pabutools already imported (its import, about a second, is printed
beside it).

Target (the budgeting issue): Equal Shares on 100 bids and 100,000 ballots within 10 s
and 500 MB on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from bot.civic.budgeting.count import RULES, Election, Project, Rule, count

TARGET_SECONDS = 10.0
TARGET_MB = 500.0


def made_up(projects: int, ballots: int, seed: int) -> Election:
    """The seeded round: see the module's notes."""
    rng = random.Random(seed)
    costs = [rng.randrange(5, 201) * 1000 for _ in range(projects)]
    ids = [str(n) for n in range(1, projects + 1)]
    popularity = [rng.paretovariate(1.2) for _ in ids]
    chosen = []
    for _ in range(ballots):
        wanted = rng.randint(1, min(10, projects))
        ballot: dict[str, None] = {}
        while len(ballot) < wanted:
            ballot[rng.choices(ids, popularity)[0]] = None
        chosen.append(tuple(ballot))
    return Election(
        budget=sum(costs) // 3,
        projects=tuple(Project(i, c) for i, c in zip(ids, costs, strict=True)),
        ballots=tuple(chosen),
    )


def _megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Measured:
    making: float  # seconds to make the round
    held: float  # MB at its peak once the round is made
    importing: float  # seconds to import pabutools
    counting: float  # seconds to count
    peak: float  # MB at its peak after the count
    distinct: int  # different ballots
    budget: int
    funded: int
    cost: int
    completed: int  # bids Equal Shares' completion funded from what was left


def measure(rule: Rule, projects: int, ballots: int, seed: int) -> Measured:
    """In this process: make the round, import pabutools, count by ``rule``."""
    started = time.perf_counter()
    election = made_up(projects, ballots, seed)
    making = time.perf_counter() - started
    held = _megabytes()
    started = time.perf_counter()
    import pabutools.rules  # type: ignore[import-untyped]  # noqa: F401

    importing = time.perf_counter() - started
    started = time.perf_counter()
    outcome = count(election, rule)
    counting = time.perf_counter() - started
    return Measured(
        making=making,
        held=held,
        importing=importing,
        counting=counting,
        peak=_megabytes(),
        distinct=len(set(map(frozenset, election.ballots))),
        budget=election.budget,
        funded=len(outcome.funded),
        cost=outcome.cost,
        completed=sum(1 for f in outcome.funded if f.share and f.share.completion),
    )


def in_a_process_of_its_own(rule: Rule, args: argparse.Namespace) -> Measured:
    command = [sys.executable, __file__, "--child", rule]
    command += ["--projects", str(args.projects), "--ballots", str(args.ballots)]
    command += ["--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return Measured(**json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rule", choices=RULES, help="Only this rule (default: both).")
    parser.add_argument("--child", choices=RULES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asdict(measure(args.child, args.projects, args.ballots, args.seed))))
        return
    for rule in [args.rule] if args.rule else RULES:
        m = in_a_process_of_its_own(rule, args)
        completion = f" ({m.completed} by the completion)" if rule == "mes" else ""
        print(
            f"{rule:<6} {args.projects} bids, {args.ballots:,} ballots ({m.distinct:,} different):"
            f" counted in {m.counting:.1f} s (pabutools imported in {m.importing:.1f} s),"
            f" peak {m.peak:,.0f} MB (the round made in {m.making:.1f} s and held in"
            f" {m.held:,.0f} MB); funds {m.funded} bids{completion},"
            f" spends {m.cost:,} of {m.budget:,}"
        )
        if rule == "mes":
            fits = m.counting <= TARGET_SECONDS and m.peak <= TARGET_MB
            print(
                f"       target {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB:"
                f" {'meets' if fits else 'MISSES'} it"
            )


if __name__ == "__main__":
    main()
