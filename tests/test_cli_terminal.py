"""What staff see at the terminal: every command that sends or changes something for
residents shows a preview and asks first (an answer of no leaves the database as it
was, and nobody is said to be told); every hint the command line prints is a command
it accepts; listings in aligned columns; counts that agree with their number; no
internal ids; the sortition library's lines once, the solver's banner never."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import panels, polls
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests import databases
from tests.cli_kit import rows, seed, tables
from tests.test_cli import parley as parley_process
from tests.test_cli_community import (
    NOW,
    QUOTAS,
    _approved,
    _volunteers,
    idea_from,
    ok,
    parley,
    resident,
)


def _seed_world(tx: Tx) -> dict[str, str]:
    """Residents, two approved ideas and a new one, poll 1, and panel 1 drawn with two
    members seated (one of them Polish)."""
    for number in range(6):
        resident(tx, number, "pl" if number == 1 else "en", area="North")
    first = _approved(tx, 10, "A play area by the flats")
    second = _approved(tx, 11, "Plac zabaw przy szkole", "pl")
    new = idea_from(tx, 12, "More benches")
    options = tuple(PollOption(name, {"en": name}) for name in ("lights", "benches"))
    polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), NOW)
    panel_id = panels.create(tx, "Fund panel", 1, NOW)
    who = [resident(tx, number) for number in range(20, 24)]
    for contact in who:
        panels.volunteer(tx, panel_id, contact.id, {"area": "North"}, NOW)
    chosen = {who[0].id, who[1].id}
    panels.record_selection(tx, panel_id, 2, 3, [], dict.fromkeys(chosen, 0.5), chosen, NOW)
    for contact_id in chosen:
        panels.set_status(tx, panel_id, contact_id, panels.ACCEPTED, NOW)
    return {
        "A": first.reference,
        "B": second.reference,
        "C": new.reference,
        "panel": str(panel_id),
    }


@pytest.fixture
def world(tmp_path: Path) -> dict[str, str]:
    """The seeded world, with broadcast 1 (poll 1) queued, broadcast 2 paused, and
    decision 1 sent to poll 1's voters."""
    names = seed(tmp_path, _seed_world)
    ok(parley(tmp_path, "broadcast", "--poll", "1", "--yes"))
    ok(parley(tmp_path, "broadcast", "--text", "en=The library opens late", "--yes"))
    ok(parley(tmp_path, "pause", "2", "--yes"))
    decision = ("--status", "agreed", "--text", "en=Lights first", "--answers", "poll:1")
    ok(parley(tmp_path, "decision", "record", *decision, "--yes"))
    return names


def _everything(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with databases.connect(databases.location(tmp_path)) as db:
        return {
            table: sorted(db.execute(f'SELECT * FROM "{table}"'), key=repr) for table in tables(db)
        }


ASKING = [
    ("broadcast", "--text", "en=Hello"),
    ("broadcast", "--poll", "1"),
    ("close", "1"),
    ("pause", "1"),
    ("resume", "2"),
    ("cancel", "1"),
    ("ideas", "reject", "{A}", "cost"),
    ("ideas", "merge", "{C}", "into", "{A}"),
    ("ideas", "shortlist", "{A}", "{B}"),
    ("panel", "invite", "Second panel", "--sample", "3", "--seed", "1"),
    ("panel", "notify", "{panel}"),
    ("panel", "vote", "{panel}", "--proposal", "Fund the garden"),
    ("decision", "record", "--status", "agreed", "--text", "en=Bins", "--answers", "poll:1"),
    ("decision", "update", "1", "--status", "done", "--text", "en=The lights are up"),
]


@pytest.mark.parametrize("command", ASKING, ids=[" ".join(c[:2]) for c in ASKING])
def test_saying_no_leaves_everything_as_it_was(
    tmp_path: Path, world: dict[str, str], command: tuple[str, ...]
) -> None:
    before = _everything(tmp_path)
    said = ok(parley(tmp_path, *(part.format(**world) for part in command), answer="n\n"))
    assert "[y/N]" in said  # it asked
    assert re.search(r"^(Not sent\. )?Nothing (done|recorded or sent)\.$", said, re.MULTILINE)
    assert not re.search(r"\btold\b", said), said
    assert "(draft)" not in said  # a draft's number, gone with the preview, is not shown
    assert _everything(tmp_path) == before


@pytest.mark.parametrize("command", ASKING, ids=[" ".join(c[:2]) for c in ASKING])
def test_yes_does_it_without_asking(
    tmp_path: Path, world: dict[str, str], command: tuple[str, ...]
) -> None:
    before = _everything(tmp_path)
    said = ok(parley(tmp_path, *(part.format(**world) for part in command), "--yes"))
    assert "[y/N]" not in said
    assert _everything(tmp_path) != before


def test_the_preview_says_what_residents_would_be_sent(
    tmp_path: Path, world: dict[str, str]
) -> None:
    said = ok(parley(tmp_path, "ideas", "reject", world["A"], "cost", answer="n\n"))
    assert f'The message (en): "Your idea {world["A"]} will not be taken forward.' in said
    assert "1 resident\n" in said
    notify = ok(parley(tmp_path, "panel", "notify", world["panel"], answer="n\n"))
    assert "The survey 'panel_seat', to everyone opted in: panel 1 (selected):" in notify
    assert "Thank you for volunteering." in notify


# -- hints ------------------------------------------------------------------------------------

_HINT = re.compile(r"(?:with: |^\s+)(parley [^`\n]+)$|`(parley [^`\n]+)`", re.MULTILINE)
_PHONE = re.compile(r"(?:^|\s)/[a-z]+\b")


def _hints(output: str) -> list[str]:
    found = [match.group(1) or match.group(2) for match in _HINT.finditer(output)]
    return [hint[:-1] if re.search(r"[^.]\.$", hint) else hint for hint in found]


def test_every_hint_is_a_command_the_command_line_accepts(
    tmp_path: Path, world: dict[str, str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    quotas = tmp_path / "q.csv"
    quotas.write_text(QUOTAS, encoding="utf-8")
    outputs = [
        ok(parley(empty, "polls")),
        ok(parley(empty, "broadcasts")),
        ok(parley(tmp_path, "poll", "Which day?", "-o", "Monday", "-o", "Friday")),
        ok(parley(tmp_path, "broadcast", "--text", "en=Hello", "--yes")),
        ok(parley(tmp_path, "pause", "1", "--yes")),
        ok(parley(tmp_path, "ideas", "list")),
        ok(parley(tmp_path, "ideas", "shortlist", world["A"], world["B"], "--yes")),
        ok(parley(tmp_path, "panel", "invite", "Second", "--sample", "3", "--seed", "1", "--yes")),
        ok(parley(tmp_path, "panel", "vote", world["panel"], "--proposal", "Garden", "--yes")),
        ok(
            parley(
                tmp_path, "decision", "update", "1", "--status", "done", "--text", "en=Up", "--yes"
            )
        ),
    ]
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    panel_id = str(seed(drawn, _volunteers))
    outputs.append(ok(parley(drawn, "panel", "show", panel_id)))
    outputs.append(ok(parley(drawn, "panel", "select", panel_id, *_draw(quotas))))
    outputs.append(ok(parley(drawn, "panel", "notify", panel_id, "--yes")))
    hints = [hint for output in outputs for hint in _hints(output)]
    for wanted in (
        "parley broadcast --poll",
        "parley resume 1",
        "parley ideas approve ID",
        "parley ideas merge DUPLICATE KEPT",
        "parley results",
        "parley panel show",
        "parley panel select",
        "parley panel notify",
        "parley decision reach 1",
        "parley run",
        "parley poll QUESTION",
    ):
        assert any(hint.startswith(wanted) for hint in hints), (wanted, hints)
    for output in outputs:
        assert not _PHONE.search(output), output  # no /resume, /approve ... here
    for hint in hints:
        ideas = iter([world["A"], world["B"]])
        words = [_example(word, world, quotas, ideas) for word in shlex.split(hint)[1:]]
        words = [word for word in words if word != "..."]
        folder = drawn if words[:2] == ["panel", "select"] else tmp_path
        result = parley(folder, *words, answer="n\n")
        assert result.exit_code != 2, f"{hint}: {result.output}"  # 2: click's usage error
        assert "No such command" not in result.output, hint
        assert result.exception is None or isinstance(result.exception, SystemExit), hint


def _draw(quotas: Path) -> tuple[str, ...]:
    return ("--size", "4", "--quotas", str(quotas), "--seed", "3")


def _example(word: str, world: dict[str, str], quotas: Path, ideas: Iterator[str]) -> str:
    """A hint's placeholder, filled in (each ID another idea)."""
    if word == "ID":
        return next(ideas)
    examples = {
        "DUPLICATE": world["C"],
        "KEPT": world["A"],
        "REASON": "cost",
        "QUESTION": "Which?",
        "OPTION": "Yes",
        "FILE": str(quotas),
        "N": "4",
        "--text": "--text",
        "en=...": "en=Hello",
    }
    return examples.get(word, word)


def test_merging_as_the_phone_says_it_works_at_the_terminal(
    tmp_path: Path, world: dict[str, str]
) -> None:
    said = ok(parley(tmp_path, "ideas", "merge", world["C"], "into", world["A"], "--yes"))
    assert f"{world['C']} merged into {world['A']}" in said
    ok(parley(tmp_path, "ideas", "merge", world["B"], world["A"], "--yes"))  # without "into"


def test_a_refusal_names_the_terminals_command_not_the_phones(tmp_path: Path) -> None:
    seed(tmp_path, lambda tx: _approved(tx, 1, "A play area"))
    ok(parley(tmp_path, "broadcast", "--text", "en=Hi", "--yes"))
    ok(parley(tmp_path, "pause", "1", "--yes"))
    again = parley(tmp_path, "pause", "1", "--yes")
    assert again.exit_code == 1
    assert "broadcast 1 is already paused" in again.output
    assert not _PHONE.search(again.output)


# -- listings ---------------------------------------------------------------------------------


def _columns(line: str) -> list[int]:
    """Where each column of a table line starts."""
    return [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", line)]


def test_polls_and_broadcasts_are_listed_in_aligned_columns(
    tmp_path: Path, world: dict[str, str]
) -> None:
    listed = ok(parley(tmp_path, "polls")).splitlines()
    assert re.split(r"\s{2,}", listed[0]) == [
        "Poll",
        "state",
        "closes",
        "asked",
        "voted",
        "question",
        "audience",
    ]
    assert re.split(r"\s{2,}", listed[1]) == [
        "1",
        "open",
        "-",
        "13",
        "0",
        "Which first?",
        "broadcast 1: everyone opted in",
    ]
    sent = ok(parley(tmp_path, "broadcasts")).splitlines()
    assert re.split(r"\s{2,}", sent[0]) == ["Broadcast", "what", "state", "progress", "audience"]
    by_number = {line.split()[0]: re.split(r"\s{2,}", line) for line in sent[1:]}
    assert by_number["1"][1:3] == ["poll 1", "queued"]
    assert by_number["1"][3] == "0 of 13 residents sent (0 delivered, 0 failed, 13 waiting)"
    assert by_number["1"][4] == "everyone opted in"
    assert by_number["2"][2] == "queued, paused"
    assert by_number["3"][4] == "everyone opted in: took part in poll 1"
    for table in (listed, sent):
        starts = _columns(table[0])
        for line in table[1:]:
            assert _columns(line)[: len(starts) - 1] == starts[:-1], (table[0], line)


# -- plurals and ids --------------------------------------------------------------------------


def test_one_of_a_thing_is_not_several(tmp_path: Path) -> None:
    def one_voter(tx: Tx) -> None:
        voter = resident(tx, 1)
        options = tuple(PollOption(name, {"en": name}) for name in ("lights", "benches"))
        poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), NOW)
        polls.vote(tx, poll_id, voter.id, "lights", "en", "sms", NOW)

    seed(tmp_path, one_voter)
    said = ok(parley(tmp_path, "results", "1", "--by", "language"))
    assert "  1 voter\n" in said
    assert "en: 1 voter\n" in said or "language = en: 1 voter\n" in said
    decision = ("--status", "agreed", "--text", "en=Lights first", "--answers", "poll:1")
    recorded = ok(parley(tmp_path, "decision", "record", *decision, "--yes"))
    assert "sent to 1 resident who took part." in recorded
    assert not re.search(r"\b1 (voters|residents|messages|volunteers)\b", recorded)


def test_what_a_decision_answers_is_named_as_staff_name_it(tmp_path: Path) -> None:
    idea = seed(tmp_path, lambda tx: idea_from(tx, 1, "Fix the lights"))
    answers = ("--answers", "poll:1", "--answers", f"idea:{idea.reference}")
    seed(
        tmp_path,
        lambda tx: polls.create(
            tx,
            NewPoll(
                {"en": "Q?"}, (PollOption("a", {"en": "A"}), PollOption("b", {"en": "B"})), "en"
            ),
            NOW,
        ),
    )
    said = ok(
        parley(
            tmp_path,
            "decision",
            "record",
            "--status",
            "agreed",
            "--text",
            "en=Done",
            *answers,
            "--yes",
        )
    )
    assert f"took part in poll 1, idea {idea.reference}" in said
    reach = ok(parley(tmp_path, "decision", "reach", "1"))
    assert f"answering poll 1, idea {idea.reference}:" in reach
    for output in (said, reach):
        assert not re.search(r"\b(poll|idea|flow):\w", output), output


# -- panels -----------------------------------------------------------------------------------


def test_panel_show_gives_the_pool_by_category_against_the_quotas(tmp_path: Path) -> None:
    panel_id = str(seed(tmp_path, _volunteers))
    quotas = tmp_path / "q.csv"
    quotas.write_text(QUOTAS.replace("area,South,2,2", "area,South,6,6"), encoding="utf-8")
    before = ok(parley(tmp_path, "panel", "show", panel_id, "--quotas", str(quotas)))
    assert "Panel 1 'Fund panel': 12 volunteers, not drawn yet." in before
    table = [
        re.split(r"\s{2,}", line)
        for line in before.split("The pool by category:\n")[1].splitlines()
    ]
    assert table[0] == ["category", "value", "volunteers", "quota"]
    assert ["age", "old", "6", "1-3"] in table
    assert ["area", "North", "7", "2-2"] in table
    assert ["area", "South", "5", "6-6", "too few: 6 needed"] in table

    quotas.write_text(QUOTAS, encoding="utf-8")
    drawn = ok(parley(tmp_path, "panel", "select", panel_id, *_draw(quotas)))
    after = ok(parley(tmp_path, "panel", "show", panel_id))
    assert after.splitlines()[:2] == drawn.splitlines()[1:3]
    pool = after.split("The pool by category:\n")[1].split("\n\n")[0].splitlines()
    assert re.split(r"\s{2,}", pool[0]) == ["category", "value", "volunteers", "chosen", "quota"]
    assert ["area", "South", "5", "2", "2-2"] in [re.split(r"\s{2,}", line) for line in pool]
    members = after.split("\n\n")[-1].splitlines()
    assert re.split(r"\s{2,}", members[0]) == ["Volunteer", "chance", "status", "age", "area"]
    starts = _columns(members[0])
    for line in members[1:-1]:
        assert _columns(line) == starts, line


def test_the_draw_logs_each_line_once_and_never_the_solvers_banner(tmp_path: Path) -> None:
    panel_id = str(seed(tmp_path, _volunteers))
    quotas = tmp_path / "q.csv"
    quotas.write_text(QUOTAS, encoding="utf-8")
    loud = parley_process(tmp_path, "-v", "panel", "select", panel_id, *_draw(quotas))
    assert loud.returncode == 0, loud.stderr
    both = loud.stdout + loud.stderr
    assert both.count("Using maximin algorithm.") == 1
    assert "HiGHS" not in both
    assert "Copyright" not in both
    assert rows(tmp_path, "SELECT count(*) FROM panel_members WHERE status = 'selected'") == [(4,)]


def test_without_verbose_the_draw_prints_only_its_report(tmp_path: Path) -> None:
    panel_id = str(seed(tmp_path, _volunteers))
    quotas = tmp_path / "q.csv"
    quotas.write_text(QUOTAS, encoding="utf-8")
    quiet = parley_process(tmp_path, "panel", "select", panel_id, *_draw(quotas))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("Drawing 4 from 12 volunteers (maximin, seed 3)…\nPanel 1 ")
    assert "maximin algorithm" not in quiet.stdout
    assert "HiGHS" not in quiet.stdout


def test_the_draws_problems_count_in_english() -> None:
    from bot.civic import sortition
    from bot.civic.sortition import Quota

    pool = {"V1": {"area": "North"}, "V2": {"area": "South"}}
    quotas = [Quota("area", "North", 2, 2), Quota("area", "South", 0, 2)]
    with pytest.raises(sortition.Infeasible, match=r"but only 1 volunteer is$"):
        sortition.check(pool, quotas, 2)
    with pytest.raises(sortition.Infeasible, match=r"^only 1 volunteer for a panel of 2$"):
        sortition.check({"V1": {"area": "North"}}, quotas, 2)


def test_the_same_seed_draws_the_same_panel_in_any_process(tmp_path: Path) -> None:
    """Python orders sets of strings differently in each process (unless its hashing is
    fixed); the draw must not depend on that."""
    chosen = []
    for hashing in ("1", "2"):
        folder = tmp_path / hashing
        folder.mkdir()
        panel_id = str(seed(folder, _volunteers))
        quotas = folder / "q.csv"
        quotas.write_text(QUOTAS, encoding="utf-8")
        drawn = parley_process(
            folder, "panel", "select", panel_id, *_draw(quotas), env={"PYTHONHASHSEED": hashing}
        )
        assert drawn.returncode == 0, drawn.stderr
        chosen.append(
            rows(folder, "SELECT contact_id, status, probability FROM panel_members ORDER BY 1")
        )
    assert chosen[0] == chosen[1]


def test_a_refusal_from_the_phone_commands_is_told_in_the_terminals_words(
    tmp_path: Path, world: dict[str, str]
) -> None:
    for args in (("results", "1", "--by", "ward area"), ("ideas", "shortlist", world["A"])):
        result = parley(tmp_path, *args)
        assert result.exit_code == 2, result.output
        assert not _PHONE.search(result.output), result.output
    for args in (("ideas", "show", f"{world['A']} {world['B']}"), ("ideas", "reject", "", "x")):
        result = parley(tmp_path, *args, answer="n\n")
        assert result.exit_code == 1, result.output
        assert not _PHONE.search(result.output), result.output
