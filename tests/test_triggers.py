"""Keyword triggers: a poster's word ("JOIN NORTH", "IDEA") starts a flow, through the real
service on a real SQLite file; and ``triggers.yaml`` read with ``file:line`` problems."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.engine import Flow
from bot.flowfile import load_flows
from bot.flowfile.triggers import read_triggers
from bot.triggers import TRIGGERS_FILE, Trigger, Triggers
from tests.conftest import REPO, Harness

WELCOME_MENU = "Choose your language:"
NROTH_HINT = "Sorry, we do not know the code NROTH. Please check the poster and try again."
PATH = "flows/triggers.yaml"

# welcome: English, agree; the menu: the survey. Then every priorities question up to
# the free-text one at the end (housing; repairs; services; safety; years; panel).
INTO_SURVEY = ["hi", "1", "1", "1"]
TO_MORE = ["1", "2", "1 3", "4", "12", "no"]
# welcome: English, agree; the menu: share an idea (a free-text question).
INTO_IDEA = ["hi", "1", "1", "2"]


async def say_all(harness: Harness, texts: list[str], address: str = "+447700900001") -> str:
    """Send each text in turn; the bot's last reply, joined."""
    replies: list[str] = []
    for text in texts:
        replies = await harness.send(text, address)
    return "\n".join(replies)


async def contact_fields(harness: Harness, address: str = "+447700900001") -> dict[str, str]:
    [row] = await harness.rows("SELECT fields FROM contacts WHERE address = ?", address)
    fields: dict[str, str] = json.loads(row["fields"])
    return fields


async def session_flows(harness: Harness) -> list[tuple[str, str]]:
    rows = await harness.rows("SELECT flow_id, status FROM sessions ORDER BY id")
    return [(row["flow_id"], row["status"]) for row in rows]


# -- through the service --------------------------------------------------------------


@pytest.mark.parametrize("text", ["JOIN NORTH", "join north!", "Join  North", "join north."])
async def test_join_with_a_code_starts_the_welcome_and_records_the_area(
    harness: Harness, text: str
) -> None:
    [reply] = await harness.send(text)
    assert reply.startswith("Welcome to Parley!")
    assert WELCOME_MENU in reply
    assert "\n1. English\n" in reply
    assert await contact_fields(harness) == {"area": "North"}
    assert await session_flows(harness) == [("welcome", "active")]


async def test_the_area_stays_after_the_welcome(harness: Harness) -> None:
    await harness.send("JOIN CENTRE")
    reply = await say_all(harness, ["1", "1"])
    assert "What would you like to do?" in reply
    assert await contact_fields(harness) == {"area": "Town centre", "consent": "yes"}


async def test_join_alone_starts_the_welcome_without_an_area(harness: Harness) -> None:
    [reply] = await harness.send("JOIN")
    assert WELCOME_MENU in reply
    assert await contact_fields(harness) == {}
    assert await session_flows(harness) == [("welcome", "active")]


async def test_a_polish_residents_own_word_works(harness: Harness) -> None:
    [reply] = await harness.send("dołącz south", "+48500100200")
    assert "Wybierz język:" in reply
    assert await contact_fields(harness, "+48500100200") == {"area": "South"}
    assert await session_flows(harness) == [("welcome", "active")]


async def test_the_polish_word_without_its_accent_works(harness: Harness) -> None:
    await harness.send("DOLACZ EAST")
    assert await contact_fields(harness) == {"area": "East"}


async def test_an_unknown_code_gets_a_hint_and_starts_nothing(harness: Harness) -> None:
    replies = await harness.send("JOIN NROTH")
    assert replies == [NROTH_HINT]
    assert await harness.rows("SELECT id FROM sessions") == []
    assert await contact_fields(harness) == {}
    # The resident tries again with the right code.
    [reply] = await harness.send("JOIN NORTH")
    assert WELCOME_MENU in reply
    assert await contact_fields(harness) == {"area": "North"}


async def test_an_unknown_code_mid_welcome_repeats_the_question(harness: Harness) -> None:
    await harness.send("hi")
    [reply] = await harness.send("join nroth")
    hint, question = reply.split("\n\n", 1)
    assert hint == NROTH_HINT.replace("NROTH", "nroth")  # the code as the resident typed it
    assert question.startswith("Welcome to Parley!")
    assert await session_flows(harness) == [("welcome", "active")]  # still the first one


async def test_a_long_tail_is_not_a_trigger(harness: Harness) -> None:
    """More than one word after JOIN is a sentence, not a code: no hint, no area."""
    [reply] = await harness.send("join the north group")
    assert NROTH_HINT not in reply
    assert "do not know the code" not in reply
    assert WELCOME_MENU in reply  # a first message: the welcome, as any would get
    assert await contact_fields(harness) == {}


async def test_idea_starts_the_idea_flow_ending_a_survey(harness: Harness) -> None:
    reply = await say_all(harness, INTO_SURVEY)
    assert "What should be fixed first?" in reply
    [reply] = await harness.send("IDEA")
    assert reply == "What is your idea to make the area better? Write it in one message."
    flows = await session_flows(harness)
    assert ("priorities", "expired") in flows
    assert flows[-1] == ("idea", "active")
    assert await harness.rows("SELECT * FROM answers WHERE flow_id = 'priorities'") == []
    # The idea is then taken as usual.
    [reply] = await harness.send("A bench by the bus stop")
    assert "What is it about?" in reply
    [answer] = await harness.rows("SELECT step_id, raw FROM answers WHERE flow_id = 'idea'")
    assert answer == {"step_id": "idea", "raw": "A bench by the bus stop"}


async def test_vote_and_poll_are_both_words_of_the_open_polls(harness: Harness) -> None:
    await say_all(harness, ["hi", "1", "1"])
    assert await harness.send("VOTE") == ["There is no poll open right now."]
    assert (await session_flows(harness))[-1] == ("polls", "completed")
    assert await harness.send("poll") == ["There is no poll open right now."]


async def test_an_opted_out_resident_is_not_signed_up_by_a_trigger(harness: Harness) -> None:
    await say_all(harness, ["hi", "1", "1"])
    await harness.send("STOP")
    before = await harness.rows("SELECT id FROM sessions")
    replies = await harness.send("JOIN NORTH")
    assert replies == ["Parley: you get no messages from us. Reply START to get them again."]
    [contact] = await harness.rows("SELECT opted_out_at, fields FROM contacts")
    assert contact["opted_out_at"] is not None
    assert json.loads(contact["fields"]) == {"consent": "yes"}  # no area recorded
    assert await harness.rows("SELECT id FROM sessions") == before
    assert await harness.rows("SELECT id FROM sessions WHERE status = 'active'") == []
    # An unknown code or a word without code gets the same notice; other text nothing.
    assert await harness.send("JOIN NROTH") == replies
    assert await harness.send("IDEA") == replies
    assert await harness.send("hello") == []


async def test_join_later_at_the_surveys_free_text_question_is_an_answer(
    harness: Harness,
) -> None:
    await say_all(harness, INTO_SURVEY)
    reply = await say_all(harness, TO_MORE)
    assert "Is there anything else we should know?" in reply
    [reply] = await harness.send("join later")
    assert "do not know the code" not in reply
    assert reply == "Thank you! Your answers help decide what is fixed first."
    [answer] = await harness.rows(
        "SELECT value, raw FROM answers WHERE flow_id = 'priorities' AND step_id = 'more'"
    )
    assert answer["raw"] == "join later"
    assert json.loads(answer["value"]) == "join later"
    assert (await session_flows(harness))[-1] == ("priorities", "completed")


async def test_join_later_as_an_idea_is_the_idea(harness: Harness) -> None:
    reply = await say_all(harness, INTO_IDEA)
    assert "What is your idea" in reply
    [reply] = await harness.send("join later")
    assert "What is it about?" in reply
    [answer] = await harness.rows("SELECT step_id, raw FROM answers WHERE flow_id = 'idea'")
    assert answer == {"step_id": "idea", "raw": "join later"}
    assert "area" not in await contact_fields(harness)


async def test_a_known_code_is_not_an_unknown_code_hint_at_a_choice_question(
    harness: Harness,
) -> None:
    """Outside free text, "join later" is an unknown code: the hint, then the question."""
    await say_all(harness, INTO_SURVEY)
    [reply] = await harness.send("join later")
    assert reply.startswith("Sorry, we do not know the code later.")
    assert "What should be fixed first?" in reply
    assert await harness.rows("SELECT * FROM answers WHERE flow_id = 'priorities'") == []


@pytest.mark.parametrize("into", [INTO_SURVEY + TO_MORE, INTO_IDEA])
async def test_stop_still_wins_at_a_free_text_question(harness: Harness, into: list[str]) -> None:
    await say_all(harness, into)
    replies = await harness.send("STOP")
    assert replies == ["You will get no more messages from us. To start again, reply START."]
    [contact] = await harness.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is not None
    assert await harness.rows("SELECT * FROM answers WHERE raw = 'STOP'") == []
    assert await harness.rows("SELECT id FROM sessions WHERE status = 'active'") == []


async def test_stop_wins_over_a_trigger_for_a_new_resident(harness: Harness) -> None:
    [reply] = await harness.send("STOP")
    assert "no more messages" in reply
    assert await harness.send("JOIN NORTH") == [
        "Parley: you get no messages from us. Reply START to get them again."
    ]
    assert await contact_fields(harness) == {}


# -- Triggers.match -------------------------------------------------------------------


def test_match_folds_case_accents_and_punctuation() -> None:
    trigger = Trigger("welcome", {"en": ("join",), "pl": ("dołącz",)}, "area", {"north": "North"})
    triggers = Triggers([trigger])
    for text in ("JOIN NORTH", "join north!", " Join\tNorth ", "DOŁĄCZ north", "dolacz NORTH"):
        found = triggers.match(text)
        assert found is not None, text
        assert (found.trigger, found.value, found.unknown_code) == (trigger, "North", False)
    unknown = triggers.match("join nroth")
    assert unknown is not None
    assert (unknown.code, unknown.value, unknown.unknown_code) == ("nroth", None, True)
    alone = triggers.match("Join!")
    assert alone is not None
    assert (alone.code, alone.unknown_code) == (None, False)
    for text in ("", "   ", "hello", "join the north", "joining", "join " + "x" * 21):
        assert triggers.match(text) is None, text


def test_a_trigger_without_codes_matches_only_alone() -> None:
    triggers = Triggers([Trigger("idea", {"en": ("idea",)})])
    assert triggers.match("IDEA") is not None
    assert triggers.match("idea?") is not None
    assert triggers.match("idea north") is None
    assert triggers.words() == frozenset({"idea"})


# -- reading triggers.yaml ------------------------------------------------------------


@pytest.fixture(scope="module")
def flows() -> Mapping[str, Flow]:
    return load_flows(REPO / "flows")


def problems_of(text: str, flows: Mapping[str, Flow]) -> list[str]:
    _, problems = read_triggers(text, PATH, flows)
    return [message for _, message in problems]


def test_the_bundled_triggers_are_good(flows: Mapping[str, Flow]) -> None:
    text = (REPO / "flows" / TRIGGERS_FILE).read_text(encoding="utf-8")
    triggers, problems = read_triggers(text, PATH, flows)
    assert problems == []
    assert [t.flow for t in triggers.all] == ["welcome", "idea", "polls"]
    welcome = triggers.all[0]
    assert welcome.field == "area"
    assert welcome.codes["north"] == "North"
    assert welcome.codes["centre"] == "Town centre"
    assert triggers.all[1].line > welcome.line


IDEA = "triggers:\n  - flow: idea\n    words:\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "triggers:\n  - flow: nosuch\n    words:\n      en: [hop]\n",
            f"{PATH}:2: trigger 1: there is no flow 'nosuch'",
            id="unknown flow",
        ),
        pytest.param(
            IDEA + "      en: [stop]\n",
            f"{PATH}:4: trigger 1: 'stop' is a number, a keyword or a yes/no answer;"
            " choose another word",
            id="keyword",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n      pl: [pomoc]\n",
            f"{PATH}:5: trigger 1: 'pomoc' is a number, a keyword or a yes/no answer;"
            " choose another word",
            id="keyword in another language",
        ),
        pytest.param(
            IDEA + "      en: [yes]\n",
            f"{PATH}:4: trigger 1: 'yes' is a number, a keyword or a yes/no answer;"
            " choose another word",
            id="yes",
        ),
        pytest.param(
            IDEA + "      pl: [tak]\n",
            f"{PATH}:4: trigger 1: 'tak' is a number, a keyword or a yes/no answer;"
            " choose another word",
            id="polish yes",
        ),
        pytest.param(
            IDEA + "      en: [12]\n",
            f"{PATH}:4: trigger 1: '12' is a number, a keyword or a yes/no answer;"
            " choose another word",
            id="number",
        ),
        pytest.param(
            IDEA + "      en: [my idea]\n",
            f"{PATH}:4: trigger 1: 'my idea' must be one word",
            id="two words",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n"
            "  - flow: welcome\n    words:\n      en: [join]\n      pl: [Idea]\n",
            f"{PATH}:6: trigger 2: 'Idea' is already a word of the trigger on line 2",
            id="word in two triggers",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n    codes:\n      NORTH: North\n",
            f"{PATH}:5: trigger 1: 'codes' need 'field': the contact field they set",
            id="codes without field",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n    field: area\n",
            f"{PATH}:5: trigger 1: 'field' needs 'codes', like NORTH: North",
            id="field without codes",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n    field: area\n    codes:\n"
            "      NORTH: North\n      north: Northside\n",
            f"{PATH}:8: trigger 1: code 'north' is listed twice",
            id="duplicate code",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n    flwo: idea\n",
            f"{PATH}:5: trigger 1: unknown key 'flwo' (did you mean 'flow'?)",
            id="unknown key",
        ),
        pytest.param(
            IDEA + "      en: [idea]\n    field: language\n    codes:\n      EN: en\n",
            f"{PATH}:5: trigger 1: 'language' is set by its own question",
            id="reserved field",
        ),
        pytest.param(
            "triggers:\n  - flow: idea\n  words:\n      en: [idea]\n",
            f"{PATH}:3: not valid YAML: did not find expected '-' indicator",
            id="bad yaml",
        ),
    ],
)
def test_a_problem_is_reported_with_its_line(
    flows: Mapping[str, Flow], text: str, expected: str
) -> None:
    assert problems_of(text, flows) == [expected]


def test_an_unclosed_list_is_not_valid_yaml(flows: Mapping[str, Flow]) -> None:
    [problem] = problems_of(IDEA + "      en: [idea\n", flows)
    assert problem.startswith(f"{PATH}:")
    assert "not valid YAML" in problem


def test_every_problem_of_a_file_is_reported_in_line_order(flows: Mapping[str, Flow]) -> None:
    text = (
        "triggers:\n"  # 1
        "  - flow: idea\n"  # 2
        "    words:\n"  # 3
        "      en: [stop, two words]\n"  # 4
        "    colour: red\n"  # 5
        "  - flow: nosuch\n"  # 6
        "    words:\n"  # 7
        "      en: [hop]\n"  # 8
    )
    problems = problems_of(text, flows)
    where = [problem.split(": ", 1)[0] for problem in problems]
    assert where == [f"{PATH}:{line}" for line in (4, 4, 5, 6)]
    assert "'stop'" in problems[0] or "'stop'" in problems[1]
    assert "'two words' must be one word" in " ".join(problems)
    assert "unknown key 'colour'" in problems[2]
    assert "there is no flow 'nosuch'" in problems[3]


def test_an_empty_file_has_no_triggers(flows: Mapping[str, Flow]) -> None:
    triggers, problems = read_triggers("", PATH, flows)
    assert (triggers.all, problems) == ((), [])


def test_a_file_without_a_triggers_list_is_a_problem(flows: Mapping[str, Flow]) -> None:
    assert problems_of("flow: idea\n", flows) == [
        f"{PATH}:1: the file must have 'triggers:', a list"
    ]


# -- parley flows check ---------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the bundled flows folder, to break."""
    copy = tmp_path / "flows"
    shutil.copytree(REPO / "flows", copy)
    return copy


def flows_check(tmp_path: Path, folder: Path) -> tuple[int, str]:
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(config), "flows", "check", "--quiet", str(folder)]
    )
    return result.exit_code, result.output


def test_flows_check_counts_good_triggers(tmp_path: Path, folder: Path) -> None:
    code, output = flows_check(tmp_path, folder)
    assert code == 0, output
    assert f"3 triggers OK ({folder / TRIGGERS_FILE})" in output


def test_flows_check_fails_on_a_broken_triggers_file(tmp_path: Path, folder: Path) -> None:
    path = folder / TRIGGERS_FILE
    text = path.read_text(encoding="utf-8")
    assert "      en: [idea]\n" in text
    path.write_text(text.replace("      en: [idea]\n", "      en: [help]\n"), encoding="utf-8")
    line = path.read_text(encoding="utf-8").splitlines().index("      en: [help]") + 1
    code, output = flows_check(tmp_path, folder)
    assert code == 1
    assert (
        f"{folder}/{TRIGGERS_FILE}:{line}: trigger 2: 'help' is a number, a keyword or a"
        " yes/no answer; choose another word"
    ) in output
    assert "1 problem found." in output
    assert "triggers OK" not in output


def test_flows_check_fails_on_a_trigger_for_a_missing_flow(tmp_path: Path, folder: Path) -> None:
    path = folder / TRIGGERS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  - flow: idea\n", "  - flow: ideas\n"), encoding="utf-8")
    line = path.read_text(encoding="utf-8").splitlines().index("  - flow: ideas") + 1
    code, output = flows_check(tmp_path, folder)
    assert code == 1
    assert f"{folder}/{TRIGGERS_FILE}:{line}: trigger 2: there is no flow 'ideas'" in output


def test_flows_check_without_a_triggers_file_says_nothing_of_triggers(
    tmp_path: Path, folder: Path
) -> None:
    (folder / TRIGGERS_FILE).unlink()
    code, output = flows_check(tmp_path, folder)
    assert code == 0, output
    assert "triggers" not in output.split("\n", 1)[0]
    assert "triggers OK" not in output
