"""Drawing a panel of 20 from 200 volunteers in 4 categories with the sortition library:
quotas always met, the same seed the same panel, the reported lowest chance is the
library's own maximin figure, and quotas that cannot be met fail naming the category."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

import pytest

from bot.civic import panels, sortition
from bot.civic.sortition import Quota

CATEGORIES = {
    "area": ["north", "south", "east", "west", "centre"],
    "age": ["age16_29", "age30_44", "age45_64", "age65_plus"],
    "gender": ["woman", "man", "other"],
    "tenure": ["owned", "private", "social", "other"],
}
# Uneven, as real volunteers are: few young people and few social tenants come forward.
WEIGHTS = {
    "area": [3, 2, 2, 2, 1],
    "age": [1, 3, 4, 3],
    "gender": [10, 8, 1],
    "tenure": [4, 3, 1, 1],
}
QUOTAS = [
    *(Quota("area", v, 3, 5) for v in CATEGORIES["area"]),
    Quota("age", "age16_29", 4, 6),  # young people over-represented among the chosen
    Quota("age", "age30_44", 4, 6),
    Quota("age", "age45_64", 4, 6),
    Quota("age", "age65_plus", 4, 6),
    Quota("gender", "woman", 9, 11),
    Quota("gender", "man", 8, 10),
    Quota("gender", "other", 0, 2),
    Quota("tenure", "owned", 4, 8),
    Quota("tenure", "private", 4, 8),
    Quota("tenure", "social", 4, 8),
    Quota("tenure", "other", 1, 4),
]
SIZE = 20


def _pool(seed: int = 11) -> dict[str, Mapping[str, str]]:
    chooser = random.Random(seed)
    return {
        f"V{n}": {
            name: chooser.choices(values, WEIGHTS[name])[0] for name, values in CATEGORIES.items()
        }
        for n in range(1, 201)
    }


@pytest.fixture(scope="module")
def pool() -> dict[str, Mapping[str, str]]:
    return _pool()


@pytest.fixture(scope="module")
def first(pool: dict[str, Mapping[str, str]]) -> sortition.Draw:
    return sortition.draw(pool, QUOTAS, SIZE, seed=1)


def test_quotas_are_met_on_every_seeded_draw(
    pool: dict[str, Mapping[str, str]], first: sortition.Draw
) -> None:
    draws = [first, *(sortition.draw(pool, QUOTAS, SIZE, seed=s) for s in (2, 3))]
    for draw in draws:
        assert len(draw.chosen) == SIZE
        assert panels.met([pool[key] for key in draw.chosen], QUOTAS)
        assert set(draw.probabilities) == set(pool)
        assert sum(draw.probabilities.values()) == pytest.approx(SIZE)
        assert 0 < draw.minimum <= SIZE / len(pool) <= draw.maximum <= 1
    assert len({draw.chosen for draw in draws}) > 1  # different seeds, different panels


def test_the_same_seed_draws_the_same_panel(
    pool: dict[str, Mapping[str, str]], first: sortition.Draw
) -> None:
    again = sortition.draw(pool, QUOTAS, SIZE, seed=1)
    assert again.chosen == first.chosen
    assert again.probabilities == pytest.approx(first.probabilities)


def test_the_lowest_chance_reported_is_the_librarys_maximin(
    pool: dict[str, Mapping[str, str]], first: sortition.Draw
) -> None:
    """The library's own selection run, reporting each person's chance: its lowest is
    the maximin value, and Parley reports the same."""
    import sortition_algorithms as library
    from sortition_algorithms.utils import set_random_provider

    features, _, _ = library.read_in_features(
        ["feature", "value", "min", "max"],
        [
            {"feature": q.category, "value": q.value, "min": str(q.minimum), "max": str(q.maximum)}
            for q in QUOTAS
        ],
        SIZE,
    )
    people, _ = library.read_in_people(
        ["id", *CATEGORIES],
        [{"id": key, **profile} for key, profile in pool.items()],
        features,
        library.Settings(id_column="id", columns_to_keep=[]),
    )
    set_random_provider(1)
    _, report = library.find_random_sample(
        features, people, SIZE, [], selection_algorithm="maximin", solver_backend="highspy"
    )
    chances = [
        float(match.group(1)) / 100
        for line in report.as_text().splitlines()
        if (match := re.match(r"^V\d+\s+([0-9.]+)%", line))
    ]
    assert len(chances) == len(pool)
    assert first.minimum == pytest.approx(min(chances), abs=1e-6)
    # The quotas bind: the least likely volunteer's chance is below the average 10%.
    assert first.minimum < SIZE / len(pool)


def test_a_minimum_above_the_volunteers_who_have_it_names_the_category(
    pool: dict[str, Mapping[str, str]],
) -> None:
    social = sum(1 for profile in pool.values() if profile["tenure"] == "social")
    quotas = [q for q in QUOTAS if q.category != "tenure"] + [
        Quota("tenure", value, social + 1 if value == "social" else 0, SIZE)
        for value in CATEGORIES["tenure"]
    ]
    with pytest.raises(sortition.Infeasible) as failure:
        sortition.draw(pool, quotas, SIZE, seed=1)
    assert str(failure.value) == (
        f"category 'tenure' cannot be met: at least {social + 1} must be 'social',"
        f" but only {social} volunteers are"
    )


def test_minimums_adding_up_to_more_than_the_panel_name_the_category(
    pool: dict[str, Mapping[str, str]],
) -> None:
    quotas = [q for q in QUOTAS if q.category != "age"] + [
        Quota("age", value, 6, 8) for value in CATEGORIES["age"]
    ]
    with pytest.raises(sortition.Infeasible, match="category 'age' cannot be met: its minimums"):
        sortition.draw(pool, quotas, SIZE, seed=1)


def test_quotas_that_clash_across_categories_name_them() -> None:
    """Every woman who volunteered is 65 or over: at least 8 women, at most 3 people 65+."""
    volunteers: dict[str, Mapping[str, str]] = {
        f"V{n}": {"gender": "woman" if n <= 30 else "man", "age": "old" if n <= 30 else "young"}
        for n in range(1, 61)
    }
    quotas = [
        Quota("gender", "woman", 8, 12),
        Quota("gender", "man", 0, 12),
        Quota("age", "old", 0, 3),
        Quota("age", "young", 0, 20),
    ]
    with pytest.raises(sortition.Infeasible) as failure:
        sortition.draw(volunteers, quotas, 20, seed=1)
    assert "quotas for 'age' cannot all be met" in str(failure.value)
    assert "age:old maximum" in str(failure.value)


def test_a_volunteer_with_a_value_the_quotas_do_not_list_is_named() -> None:
    volunteers: dict[str, Mapping[str, str]] = {
        "V1": {"area": "north"},
        "V2": {"area": "moon"},
    }
    with pytest.raises(sortition.Infeasible, match="volunteer V2 has 'moon'"):
        sortition.draw(volunteers, [Quota("area", "north", 0, 2)], 1, seed=1)
