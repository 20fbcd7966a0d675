"""Drawing a panel by lot, with the Sortition Foundation's ``sortition-algorithms``.

Stage 2 of the civic lottery: from the volunteers, choose ``size`` people so that every
category (area, age band, ...) stays within its minimum and maximum, as fairly as
possible. Parley does not implement the lottery itself: the library's *maximin*
algorithm (solved with the open HiGHS solver) finds a probability distribution over
valid panels that makes the least likely volunteer's chance as high as it can be; one
panel is then drawn from that distribution with the library's own rounding, seeded, so
the same seed and volunteers give the same panel. Each volunteer's chance is reported.

The library (with numpy, cvxpy and HiGHS) is one of Parley's dependencies, installed from
``uv.lock`` with everything else; it is imported only when a panel is drawn.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

from bot.english import counted

SOLVER = "highspy"
ALGORITHM = "maximin"


@dataclass(frozen=True)
class Quota:
    category: str
    value: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Draw:
    chosen: frozenset[str]  # volunteer keys
    probabilities: Mapping[str, float]  # each volunteer's chance of being chosen
    seed: int

    @property
    def minimum(self) -> float:
        return min(self.probabilities.values())

    @property
    def maximum(self) -> float:
        return max(self.probabilities.values())


class Infeasible(Exception):
    """The quotas cannot be met by these volunteers; the message names the category."""


class Unavailable(Exception):
    """The sortition library is not installed."""


def check(pool: Mapping[str, Mapping[str, str]], quotas: Sequence[Quota], size: int) -> None:
    """Problems the library would find, said plainly and naming the category."""
    if size < 1:
        raise Infeasible("the panel needs at least 1 member")
    if size > len(pool):
        raise Infeasible(f"only {counted(len(pool), 'volunteer')} for a panel of {size}")
    by_category: dict[str, list[Quota]] = {}
    for quota in quotas:
        by_category.setdefault(quota.category, []).append(quota)
    for category, listed in by_category.items():
        values = {quota.value for quota in listed}
        have: Counter[str] = Counter()
        for key, profile in pool.items():
            value = profile.get(category)
            if value not in values:
                raise Infeasible(
                    f"category '{category}': volunteer {key} has '{value or ''}',"
                    f" which the quotas do not list ({', '.join(sorted(values))})"
                )
            have[value] += 1
        lowest = sum(quota.minimum for quota in listed)
        highest = sum(quota.maximum for quota in listed)
        if lowest > size:
            raise Infeasible(
                f"category '{category}' cannot be met: its minimums add up to {lowest},"
                f" more than the panel of {size}"
            )
        if highest < size:
            raise Infeasible(
                f"category '{category}' cannot be met: its maximums add up to {highest},"
                f" fewer than the panel of {size}"
            )
        for quota in listed:
            if quota.minimum > have[quota.value]:
                raise Infeasible(
                    f"category '{category}' cannot be met: at least {quota.minimum} must be"
                    f" '{quota.value}', but only {counted(have[quota.value], 'volunteer')}"
                    f" {'is' if have[quota.value] == 1 else 'are'}"
                )


def draw(
    pool: Mapping[str, Mapping[str, str]], quotas: Sequence[Quota], size: int, seed: int
) -> Draw:
    """Choose a panel of ``size`` from ``pool`` (key -> category -> value) by maximin.

    Slow (seconds): call it off the event loop. Raises :class:`Infeasible` when the
    quotas cannot be met, naming the category, and :class:`Unavailable` without the
    library.

    The same seed and volunteers give the same panel in any process: the library walks
    sets of volunteer keys, whose order Python changes from one process to the next
    unless string hashing is fixed. So the draw is made in a process of its own with
    ``PYTHONHASHSEED=0`` (or in this one, if it has that already)."""
    check(pool, quotas, size)
    if sys.flags.hash_randomization == 0:
        return _draw_here(pool, quotas, size, seed)
    request = {
        "pool": {key: dict(profile) for key, profile in pool.items()},
        "quotas": [asdict(quota) for quota in quotas],
        "size": size,
        "seed": seed,
        "log_level": logging.getLogger().getEffectiveLevel(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.civic.sortition"],
        input=json.dumps(request),
        stdout=subprocess.PIPE,  # the answer; its log lines go to this one's stderr
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=False,
    )
    if done.returncode != 0:
        raise Unavailable(f"the draw stopped unexpectedly (exit status {done.returncode})")
    answer = json.loads(done.stdout)
    if "infeasible" in answer:
        raise Infeasible(answer["infeasible"])
    if "unavailable" in answer:
        raise Unavailable(answer["unavailable"])
    return Draw(frozenset(answer["chosen"]), answer["probabilities"], seed)


def _draw_here(
    pool: Mapping[str, Mapping[str, str]], quotas: Sequence[Quota], size: int, seed: int
) -> Draw:
    try:
        import sortition_algorithms as library
        from sortition_algorithms.committee_generation import standardize_distribution
        from sortition_algorithms.committee_generation.maximin import find_distribution_maximin
        from sortition_algorithms.core import lottery_rounding
        from sortition_algorithms.utils import set_random_provider
    except ImportError:
        raise Unavailable(
            "drawing a panel needs the sortition library, which this installation lacks:"
            " install Parley from its lock (uv sync --locked)"
        ) from None
    categories = sorted({quota.category for quota in quotas})
    features, _, _ = library.read_in_features(
        ["feature", "value", "min", "max"],
        [
            {"feature": q.category, "value": q.value, "min": str(q.minimum), "max": str(q.maximum)}
            for q in quotas
        ],
        size,
    )
    people, _ = library.read_in_people(
        ["id", *categories],
        [{"id": key, **{c: profile[c] for c in categories}} for key, profile in pool.items()],
        features,
        library.Settings(id_column="id", columns_to_keep=[]),
    )
    _quiet_library()
    set_random_provider(seed)  # the library's randomness: its solver and its rounding
    try:
        panels, chances, _ = find_distribution_maximin(features, people, size, [], SOLVER)
    except library.InfeasibleQuotasError as error:
        raise Infeasible(_explain(error.all_lines[1:], categories)) from None
    except library.SelectionError as error:
        raise Infeasible(str(error)) from None
    panels, chances = standardize_distribution(panels, chances)
    probabilities = dict.fromkeys(pool, 0.0)
    for panel, chance in zip(panels, chances, strict=True):
        for key in panel:
            probabilities[key] += chance
    set_random_provider(seed)
    chosen = lottery_rounding(panels, chances, 1)[0]
    return Draw(frozenset(chosen), probabilities, seed)


def _quiet_library() -> None:
    """The library's log lines go through Parley's logging, once (it also writes them to
    standard output itself), at Parley's level: shown with ``parley -v``. The HiGHS
    solver prints its banner to standard output when the first solver is made in a
    process: that one is made here, with the banner sent nowhere."""
    from sortition_algorithms.utils import override_logging_handlers

    override_logging_handlers([logging.NullHandler()], [logging.NullHandler()])
    for name in ("sortition_algorithms", "sortition_algorithms_user"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    global _banner_shown
    if not _banner_shown:
        import highspy

        with _no_standard_output():
            highspy.Highs()  # type: ignore[no-untyped-call]
        _banner_shown = True


_banner_shown = False


@contextlib.contextmanager
def _no_standard_output() -> Iterator[None]:
    """File descriptor 1 pointed at nothing, for what C code prints there."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as nothing:
            os.dup2(nothing.fileno(), 1)
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # what the C library holds back goes nowhere too
        os.dup2(saved, 1)
        os.close(saved)


def _explain(suggestions: Sequence[str], categories: Sequence[str]) -> str:
    named = [c for c in categories if any(line.startswith(f"{c}:") for line in suggestions)]
    which = ", ".join(f"'{c}'" for c in named) or "some categories"
    return (
        f"quotas for {which} cannot all be met with these volunteers; the sortition library"
        " suggests: " + "; ".join(" ".join(line.split()) for line in suggestions)
    )


def _main() -> None:
    """The draw in a process of its own (see :func:`draw`): the request as JSON on
    standard input, the panel as JSON on standard output."""
    request = json.load(sys.stdin)
    logging.basicConfig(
        level=request["log_level"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quotas = [Quota(**quota) for quota in request["quotas"]]
    answer: dict[str, object]
    try:
        made = _draw_here(request["pool"], quotas, request["size"], request["seed"])
        answer = {"chosen": sorted(made.chosen), "probabilities": dict(made.probabilities)}
    except Infeasible as problem:
        answer = {"infeasible": str(problem)}
    except Unavailable as problem:
        answer = {"unavailable": str(problem)}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    _main()
