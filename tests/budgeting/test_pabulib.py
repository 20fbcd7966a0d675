"""Pabulib files: a round written and read back counts the same, pabutools' own parser
reads what Parley writes, the file is its owner's only and never half-written; and
every broken file is refused with the exact ``file:line: what is wrong``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.civic.budgeting import pabulib
from bot.civic.budgeting.count import RULES, Election, Project, Rule, count

DATA = Path(__file__).parent / "data"
OAKFIELD = DATA / "oakfield.pb"

RANKED = Election(
    budget=500,
    projects=(Project("1", 200, "Garden; with a pond"), Project("2", 300, 'The "big" mural')),
    ballots=(("2", "1"), ("1",), ("1", "2"), ()),
    style="ranking",
    currency="GBP",
    description="Ranked, up to two",
    max_length=2,
)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("name", ["oakfield", "ranked"])
def test_a_round_written_and_read_back_counts_the_same(
    tmp_path: Path, name: str, rule: Rule
) -> None:
    election = pabulib.read(OAKFIELD) if name == "oakfield" else RANKED
    path = tmp_path / "again.pb"
    pabulib.write(election, path)
    again = pabulib.read(path)
    assert count(again, rule) == count(election, rule)
    expected_voters = election.voter_ids or tuple(str(n) for n in range(1, 5))
    assert again == Election(**{**election.__dict__, "voter_ids": expected_voters})


def test_pabutools_reads_the_file_parley_writes(tmp_path: Path) -> None:
    from pabutools.election import parse_pabulib  # type: ignore[import-untyped]

    path = tmp_path / "ranked.pb"
    pabulib.write(RANKED, path, meta={"country": "United Kingdom", "rule": "mes"})
    instance, profile = parse_pabulib(str(path))
    assert instance.budget_limit == 500
    assert {(p.name, p.cost) for p in instance} == {("1", 200), ("2", 300)}
    assert [[p.name for p in ballot] for ballot in profile] == [["2", "1"], ["1"], ["1", "2"], []]
    assert [ballot.meta["voter_id"] for ballot in profile] == ["1", "2", "3", "4"]
    assert instance.meta["vote_type"] == "ordinal"
    assert instance.meta["country"] == "United Kingdom"
    assert instance.project_meta[instance.get_project("1")]["name"] == "Garden; with a pond"
    assert instance.project_meta[instance.get_project("2")]["votes"] == "2"


def test_the_file_is_its_owners_only_even_over_an_open_file_and_nothing_is_left_beside_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "round.pb"
    path.write_text("an older export", encoding="utf-8")
    path.chmod(0o644)
    pabulib.write(RANKED, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["round.pb"]
    assert pabulib.read(path).ballots == RANKED.ballots


def test_the_voters_are_their_pseudonyms_when_given(tmp_path: Path) -> None:
    path = tmp_path / "round.pb"
    pabulib.write(Election(**{**RANKED.__dict__, "voter_ids": ("x7", "k2", "p0", "a1")}), path)
    assert pabulib.read(path).voter_ids == ("x7", "k2", "p0", "a1")


def test_meta_is_written_around_the_counts_and_a_line_break_is_a_space(tmp_path: Path) -> None:
    path = tmp_path / "round.pb"
    meta = {"date_end": "2026-05-31", "rule": "mes", "description": "Oakfield\nspring", "x": "y"}
    pabulib.write(RANKED, path, meta={**meta, "instance": "2026", "unit": "Oakfield"})
    head = path.read_text(encoding="utf-8").splitlines()[:13]
    assert head == [
        "META",
        "key;value",
        "description;Oakfield spring",
        "unit;Oakfield",
        "instance;2026",
        "num_projects;2",
        "num_votes;4",
        "budget;500",
        "vote_type;ordinal",
        "max_length;2",
        "rule;mes",
        "currency;GBP",
        "date_end;2026-05-31",
    ]


def test_meta_cannot_say_what_the_election_says(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="budget are written from the election"):
        pabulib.write(RANKED, tmp_path / "round.pb", meta={"budget": "9"})
    assert not (tmp_path / "round.pb").exists()


def test_the_hand_made_file_is_read_as_written() -> None:
    election = pabulib.read(OAKFIELD)
    assert (election.budget, election.currency, election.style) == (1000, "GBP", "approval")
    assert [(p.id, p.cost) for p in election.projects][:2] == [("1", 400), ("2", 300)]
    assert election.projects[6].name == "Swimming pool"
    assert len(election.ballots) == 20
    assert election.ballots[0] == ("1", "2", "3", "7")
    assert election.voter_ids is not None
    assert election.voter_ids[19] == "v20"


# -- broken files -----------------------------------------------------------------------

GOOD = """META
key;value
description;Broken files
num_projects;3
num_votes;2
budget;100
vote_type;approval
PROJECTS
project_id;cost;name
1;40;Garden
2;50;Lights
3;60;Club
VOTES
voter_id;vote
v1;1,2
v2;3
"""


def good_but(line: int, text: str | None) -> str:
    """The good file with line ``line`` replaced by ``text`` (None: taken out)."""
    lines = GOOD.splitlines()
    lines[line - 1 : line] = [] if text is None else [text]
    return "\n".join(lines) + "\n"


def inserted(after: int, text: str) -> str:
    lines = GOOD.splitlines()
    lines[after:after] = [text]
    return "\n".join(lines) + "\n"


BROKEN: list[tuple[str, str | bytes, str]] = [
    ("empty", "", "1: the file is empty: a Pabulib file has the sections META, PROJECTS and VOTES"),
    ("not-pabulib", "hello;world\n", "1: the file must begin with META, not 'hello;world'"),
    (
        "no-votes-section",
        "\n".join(GOOD.splitlines()[:12]) + "\n",
        "12: the file ends without a VOTES section",
    ),
    (
        "no-projects-section",
        "\n".join(GOOD.splitlines()[:7] + GOOD.splitlines()[12:]) + "\n",
        "8: VOTES before PROJECTS: the sections are META, PROJECTS and VOTES, in that order",
    ),
    ("projects-twice", inserted(12, "PROJECTS"), "13: a second PROJECTS section"),
    ("no-header", "\n".join(GOOD.splitlines()[:13]), "13: VOTES has no header line after it"),
    (
        "meta-header",
        good_but(2, None),
        "2: META's first line must be key;value, not 'description;Broken files'",
    ),
    (
        "meta-line-one-field",
        good_but(6, "budget"),
        "6: a META line is key;value, not 'budget' (quote a value with a ;)",
    ),
    ("meta-key-twice", inserted(6, "budget;200"), "7: budget is given twice (first on line 6)"),
    ("no-budget", good_but(6, None), "1: META has no budget"),
    (
        "no-counts",
        good_but(4, None).replace("num_votes;2\n", ""),
        "1: META has no num_projects and no num_votes",
    ),
    (
        "budget-not-whole",
        good_but(6, "budget;100.5"),
        "6: budget must be a whole number above 0, not '100.5'",
    ),
    ("budget-zero", good_but(6, "budget;0"), "6: budget must be a whole number above 0, not '0'"),
    (
        "vote-type-cumulative",
        good_but(7, "vote_type;cumulative"),
        "7: vote_type 'cumulative' is not supported: Parley counts approval and ordinal votes",
    ),
    (
        "vote-type-scoring",
        good_but(7, "vote_type;scoring"),
        "7: vote_type 'scoring' is not supported: Parley counts approval and ordinal votes",
    ),
    (
        "max-length-not-whole",
        inserted(7, "max_length;two"),
        "8: max_length must be a whole number above 0, not 'two'",
    ),
    (
        "no-cost-column",
        good_but(9, "project_id;price;name"),
        "9: the PROJECTS header has no cost column: 'project_id;price;name'",
    ),
    (
        "column-twice",
        good_but(9, "project_id;cost;cost"),
        "9: the PROJECTS header names cost twice",
    ),
    (
        "bad-cost",
        good_but(11, "2;fifty;Lights"),
        "11: project 2's cost must be a whole number above 0, not 'fifty'",
    ),
    (
        "negative-cost",
        good_but(11, "2;-50;Lights"),
        "11: project 2's cost must be a whole number above 0, not '-50'",
    ),
    (
        "zero-cost",
        good_but(11, "2;0;Lights"),
        "11: project 2's cost must be a whole number above 0, not '0'",
    ),
    (
        "project-line-short",
        good_but(11, "2;50"),
        "11: this project line has 2 fields; the header (line 9) has 3",
    ),
    (
        "project-twice",
        good_but(12, "1;60;Club"),
        "12: project 1 is listed twice (first on line 10)",
    ),
    (
        "comma-in-id",
        good_but(12, '"3,4";60;Club'),
        "12: project_id '3,4' has a comma, which separates projects in votes",
    ),
    ("no-project-id", good_but(12, ";60;Club"), "12: a project without a project_id"),
    (
        "num-projects",
        good_but(4, "num_projects;4"),
        "4: num_projects is 4, but PROJECTS lists 3",
    ),
    (
        "no-vote-column",
        good_but(14, "voter_id;choice"),
        "14: the VOTES header has no vote column: 'voter_id;choice'",
    ),
    (
        "vote-line-short",
        good_but(16, "v2"),
        "16: this vote line has 1 field; the header (line 14) has 2",
    ),
    (
        "vote-line-long",
        good_but(16, "v2;3;extra"),
        "16: this vote line has 3 fields; the header (line 14) has 2",
    ),
    (
        "unknown-project",
        good_but(16, "v2;9"),
        "16: the vote names project 9, which PROJECTS does not list",
    ),
    ("project-twice-in-vote", good_but(15, "v1;1,2,1"), "15: the vote names project 1 twice"),
    ("empty-place", good_but(15, "v1;1,,2"), "15: the vote '1,,2' has an empty place"),
    ("voter-twice", good_but(16, "v1;3"), "16: voter v1 votes twice (first on line 15)"),
    ("no-voter-id", good_but(16, ";3"), "16: a vote without a voter_id"),
    ("num-votes", good_but(5, "num_votes;3"), "5: num_votes is 3, but VOTES has 2"),
    (
        "num-votes-not-whole",
        good_but(5, "num_votes;two"),
        "5: num_votes must be a whole number 0 or more, not 'two'",
    ),
    (
        "too-long-vote",
        inserted(7, "max_length;1"),
        "16: the vote chooses 2 projects; max_length is 1",
    ),
    (
        "unclosed-quote",
        good_but(10, '1;40;"Garden'),
        "10: cannot be read as fields: unexpected end of data",
    ),
    (
        "not-utf8",
        good_but(11, "2;50;Lights").encode("utf-8").replace(b"Lights", b"Lig\xffhts"),
        "11: not UTF-8 text (invalid start byte)",
    ),
]


def broken_file(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / f"{name}.pb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_the_good_file_of_the_broken_ones_is_good(tmp_path: Path) -> None:
    """Each broken file is this one broken in one place."""
    election = pabulib.read(broken_file(tmp_path, "good", GOOD))
    assert election.ballots == (("1", "2"), ("3",))


@pytest.mark.parametrize(
    ("name", "content", "problem"), BROKEN, ids=[name for name, _, _ in BROKEN]
)
def test_a_broken_file_is_refused_naming_its_line_and_what_is_wrong(
    tmp_path: Path, name: str, content: str | bytes, problem: str
) -> None:
    path = broken_file(tmp_path, name, content)
    with pytest.raises(pabulib.PabulibError) as refused:
        pabulib.read(path)
    assert str(refused.value) == f"{path}:{problem}"


def test_a_file_that_is_not_there_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(pabulib.PabulibError) as refused:
        pabulib.read(tmp_path / "gone.pb")
    assert str(refused.value) == f"{tmp_path / 'gone.pb'}: no such file or directory"


def test_a_project_costing_more_than_the_budget_is_fine(tmp_path: Path) -> None:
    path = broken_file(tmp_path, "dear", good_but(12, "3;1000000;Club"))
    assert pabulib.read(path).projects[2].cost == 1_000_000
