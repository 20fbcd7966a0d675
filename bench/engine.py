"""Engine throughput: ``advance`` calls per second on the bundled ``priorities`` survey.

One step is one call of :func:`bot.engine.advance`: the start of the survey or one
resident reply (answers, an unparseable reply and its hint, a multi-answer question).
Runs on one core with the real catalogs, in every shipped language.

    .venv/bin/python bench/engine.py [--seconds 5]

Target (issue 2): at least 50,000 steps per second on one core.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

from bot.engine import Env, Reply, Start, advance
from bot.flowfile import load_flows
from bot.lang.names import language_names
from bot.lang.phrases import load_phrases
from bot.paths import bundled

TARGET = 50_000
LANGUAGES = ("en", "pl", "ro", "ar", "ur")
# A resident who makes one mistake, takes the housing branch and picks several services.
REPLIES = ("hello", "1", "2", "1 3", "4", "12", "yes", "More street lights")


def run(seconds: float) -> tuple[int, float]:
    flow = load_flows(bundled("flows"))["priorities"]
    env = Env(load_phrases(bundled("locales")), language_names(LANGUAGES))
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    steps = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for language in LANGUAGES:
            turn = advance(flow, None, Start(language), now, env)
            for reply in REPLIES:
                turn = advance(flow, turn.session, Reply(reply), now, env)
            assert turn.session.ended
            steps += 1 + len(REPLIES)
    return steps, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    steps, elapsed = run(args.seconds)
    rate = steps / elapsed
    verdict = "meets" if rate >= TARGET else "MISSES"
    print(
        f"{steps} steps in {elapsed:.2f} s: {rate:,.0f} steps/s on one core ({verdict} "
        f"the {TARGET:,} target)"
    )


if __name__ == "__main__":
    main()
