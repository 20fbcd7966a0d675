"""``parley pb count``: the hand-made Oakfield round counted through the command line as
worked out by hand, both rules side by side, and every broken file one ``Error:`` line
with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from tests.budgeting.test_pabulib import BROKEN, OAKFIELD, broken_file


def parley(*args: str) -> Result:
    return CliRunner().invoke(main, ["pb", "count", *args])


def counted(*args: str) -> Any:
    result = parley(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# Oakfield (tests/budgeting/data/oakfield.pb): a budget of 1,000 and 20 voters. Twelve,
# the majority, choose 1 (400), 2 (300) and 3 (300); five of them the pool, 7 (1,200),
# too. The other eight choose 4 (300) and 5 (200); two of them the mural, 6 (150), too.
#
# Greedy by votes: 1, 2 and 3 have 12 votes each (ties go to the lower id), and together
# cost exactly 1,000: the majority's three bids take everything.
#
# Equal Shares: each voter has 50. The majority's bids cost each of the 12 least (1/12
# of a bid's cost), so 1 goes first: 33.33 each, leaving 16.67 each, too little for 2 or
# 3 (25 each). Then 4 at 1/8 of its cost, 37.50 each of the eight (5 ties with it; 4 is
# the lower id), leaving them 12.50, too little for 5 (25 each). 700 spent, so the
# shares are raised a pound at a time: at 59 the majority has 25.67 left after 1 and
# pays 25 each for 2, while 5 still needs 62.50. 1, 2 and 4 spend the whole 1,000; the
# minority gets its bid. 6 and 7 never have supporters who can pay for them.
OAKFIELD_GREEDY = ["1", "2", "3"]
OAKFIELD_MES = ["1", "2", "4"]


@pytest.mark.parametrize(("rule", "funded"), [("greedy", OAKFIELD_GREEDY), ("mes", OAKFIELD_MES)])
def test_the_oakfield_round_is_counted_as_worked_out_by_hand(rule: str, funded: list[str]) -> None:
    outcome = counted(str(OAKFIELD), "--rule", rule)
    assert (outcome["funded"], outcome["cost"], outcome["left"]) == (funded, 1000, 0)
    assert outcome["votes"] == {"1": 12, "2": 12, "3": 12, "4": 8, "5": 8, "6": 2, "7": 5}


def test_equal_shares_in_json_says_what_each_supporter_paid() -> None:
    shares = counted(str(OAKFIELD), "--rule", "mes")["shares"]
    assert shares["2"] == {
        "payers": 12,
        "paid": 300.0,
        "smallest": 25.0,
        "largest": 25.0,
        "completion": False,
    }
    assert shares["4"]["smallest"] == shares["4"]["largest"] == 37.5


def test_json_without_a_rule_gives_both() -> None:
    outcome = counted(str(OAKFIELD))
    assert [outcome["greedy"]["funded"], outcome["mes"]["funded"]] == [
        OAKFIELD_GREEDY,
        OAKFIELD_MES,
    ]


def test_the_table_shows_both_rules_side_by_side() -> None:
    result = parley(str(OAKFIELD))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Budget 1,000 GBP; 7 projects; 20 ballots (approval)."
    assert lines[2].split() == ["Project", "Name", "Cost", "Votes", "Greedy", "Equal", "Shares"]
    rows = {line.split()[0]: line for line in lines[3:10]}
    assert rows["3"].split()[-2:] == ["✓", "—"]
    assert rows["4"].endswith("—       ✓ 8 paid 37.50 each")
    assert rows["1"].endswith("✓       ✓ 12 paid 33.33 each")
    assert rows["7"].split()[-4:] == ["1,200", "5", "—", "—"]
    assert lines[-2:] == [
        "Greedy: funds 3, spends 1,000 GBP, leaves 0 GBP.",
        "Equal Shares: funds 3, spends 1,000 GBP, leaves 0 GBP.",
    ]


def test_one_rule_is_one_column() -> None:
    result = parley(str(OAKFIELD), "--rule", "greedy")
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["Project", "Name", "Cost", "Votes", "Greedy"]
    assert lines[-1] == "Greedy: funds 3, spends 1,000 GBP, leaves 0 GBP."


@pytest.mark.parametrize(
    ("name", "content", "problem"), BROKEN, ids=[name for name, _, _ in BROKEN]
)
def test_a_broken_file_is_one_error_line_and_exit_status_2(
    tmp_path: Path, name: str, content: str | bytes, problem: str
) -> None:
    path = broken_file(tmp_path, name, content)
    result = parley(str(path), "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: {path}:{problem}"]
    assert "Traceback" not in result.output


def test_a_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    result = parley(str(tmp_path / "gone.pb"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: Invalid value for 'FILE'")
    assert "gone.pb" in result.stderr.splitlines()[-1]
