"""Every kind of flow-file problem, with the exact message an author sees: ``path:LINE: what``.

Each flow text starts with its header on line 1, so the line numbers in the expected
messages can be counted in the test itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.engine.flow import ChoiceQuestion
from bot.errors import FlowError
from bot.flowfile import load_flow, load_flows, read_flow

PATH = "flows/demo.yaml"
HEADER = """\
flow: demo
title: Demo
language: en
expiry: 3d
steps:
"""  # steps start on line 6
STEP_TYPES = "message, choice, number, text, yesno, scale, language, branch, set, end"
# What an endless loop is reported with, after "step 'X': ".
NEVER_STOPS = "starts a loop that never asks a question, so the flow would never stop"


def problems_of(text: str, path: str = PATH) -> list[str]:
    flow, problems = read_flow(textwrap.dedent(text), path)
    assert flow is None
    assert problems, "expected problems"
    return [message for _, message in problems]


def steps(body: str) -> str:
    return HEADER + textwrap.indent(textwrap.dedent(body), "  ")


def test_a_good_flow_has_no_problems() -> None:
    flow, problems = read_flow(
        steps(
            """\
            - id: q1
              type: yesno
              text: {en: "OK?", pl: "Dobrze?"}
            - id: done
              type: end
            """
        ),
        PATH,
    )
    assert problems == []
    assert flow is not None
    assert [s.line for s in flow.steps] == [6, 9]


# -- steps -------------------------------------------------------------------------------


def test_unknown_step_type_with_suggestion() -> None:
    text = steps(
        """\
        - id: q1
          type: chioce
          text: Pick
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:7: step 'q1': unknown step type 'chioce' (did you mean 'choice'?);"
        f" step types are: {STEP_TYPES}"
    ]


def test_unknown_step_type_without_suggestion() -> None:
    text = steps(
        """\
        - id: q1
          type: survey
          text: Pick
        """
    )
    assert problems_of(text) == [
        f"flows/demo.yaml:7: step 'q1': unknown step type 'survey'; step types are: {STEP_TYPES}"
    ]


def test_goto_unknown_step() -> None:
    text = steps(
        """\
        - id: hello
          type: message
          text: Hello
          goto: q2
        - id: q1
          type: yesno
          text: OK
          goto: hello
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:6: step 'hello': goes to unknown step 'q2'",
        "flows/demo.yaml:10: step 'q1': unreachable, no step leads here",
    ]


def test_branch_case_goto_unknown_step() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
        - id: route
          type: branch
          on: q1
          cases:
            - is: yes
              goto: q1
            - is: no
              goto: nowhere
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:15: step 'route': goes to unknown step 'nowhere'",
    ]


def test_branch_else_unknown_step() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
        - id: route
          type: branch
          on: q1
          cases:
            - {is: yes, goto: q1}
          else: elsewhere
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:9: step 'route': goes to unknown step 'elsewhere'",
    ]


def test_branch_on_unknown_step() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
        - id: route
          type: branch
          on: q2
          cases:
            - {is: yes, goto: q1}
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:9: step 'route': branches on unknown step 'q2'",
    ]


def test_branch_on_a_step_that_is_not_a_question() -> None:
    text = steps(
        """\
        - id: hello
          type: message
          text: Hello
        - id: q1
          type: yesno
          text: OK
        - id: route
          type: branch
          on: hello
          cases:
            - {is: yes, goto: q1}
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:12: step 'route': branches on 'hello', which is not a question",
    ]


def test_duplicate_step_id_names_the_first_line() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
        - id: q2
          type: yesno
          text: Sure
        - id: q1
          type: text
          text: Why
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:12: step 'q1': duplicate step id (first used on line 6)",
    ]


def test_unreachable_step() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
        - id: bye
          type: end
        - id: lost
          type: message
          text: Never sent
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:11: step 'lost': unreachable, no step leads here",
    ]


def test_endless_loop_without_a_question() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
        - id: again
          type: message
          text: Again and again
          goto: again
        """
    )
    assert problems_of(text) == [f"flows/demo.yaml:9: step 'again': {NEVER_STOPS}"]


TWO_STEP_LOOP = steps(
    """\
    - id: q1
      type: yesno
      text: OK
    - id: ping
      type: message
      text: Ping
      goto: pong
    - id: pong
      type: message
      text: Pong
      goto: ping
    """
)


def test_endless_loop_through_two_steps_is_reported_once_at_its_first_step() -> None:
    assert problems_of(TWO_STEP_LOOP) == [f"flows/demo.yaml:9: step 'ping': {NEVER_STOPS}"]


def test_loop_through_a_question_is_fine() -> None:
    flow, problems = read_flow(
        steps(
            """\
            - id: hello
              type: message
              text: Hello
            - id: q1
              type: yesno
              text: OK
              goto: hello
            """
        ),
        PATH,
    )
    assert problems == []
    assert flow is not None


def test_endless_loop_report_is_the_same_on_every_run() -> None:
    script = (
        "import sys\n"
        "from bot.flowfile import read_flow\n"
        "print(read_flow(sys.stdin.read(), 'flows/demo.yaml')[1])\n"
    )
    outputs = set()
    for seed in ("0", "6"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            input=TWO_STEP_LOOP,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1, outputs


# -- texts -------------------------------------------------------------------------------


def test_missing_source_language_text() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text:
            pl: Dobrze?
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:8: step 'q1': 'text' has no 'en' version (the flow's source language)",
    ]


def test_missing_source_language_in_an_option() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: Pick
          options:
            - id: a
              text: {pl: Ala}
            - id: b
              text: Bob
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:11: step 'q1': 'text' has no 'en' version (the flow's source language)",
    ]


def test_empty_translation() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text:
            en: OK
            pl: ""
            ro: "   "
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:10: step 'q1': 'text' in 'pl' is empty",
        "flows/demo.yaml:11: step 'q1': 'text' in 'ro' is empty",
    ]


@pytest.mark.parametrize("empty", ['""', '"   "'])
def test_empty_source_language_text_is_reported_once(empty: str) -> None:
    text = steps(
        f"""\
        - id: q1
          type: yesno
          text:
            en: {empty}
            pl: Dobrze?
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:9: step 'q1': 'text' in 'en' is empty"]


def test_empty_plain_text_is_reported_once() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: ""
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:8: step 'q1': 'text' in 'en' is empty"]


@pytest.mark.parametrize("value", ["[Dobrze, OK]", "{a: b}", "true"])
def test_translation_that_is_not_a_text(value: str) -> None:
    text = steps(
        f"""\
        - id: q1
          type: yesno
          text:
            en: OK
            pl: {value}
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:10: step 'q1': 'text' in 'pl' must be a text"]


def test_translation_under_a_bad_language_code() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text:
            en: OK
            polish: Dobrze
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:10: step 'q1': 'polish' is not a language code (like 'pl' or 'ar')",
    ]


def test_missing_text() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:6: step 'q1': missing 'text'"]


# -- options -----------------------------------------------------------------------------


def test_more_than_nine_options() -> None:
    options = "".join(f"    - {{id: o{n}, text: Option {n}}}\n" for n in range(1, 11))
    text = steps("- id: q1\n  type: choice\n  text: Pick\n  options:\n" + options)
    assert problems_of(text) == [
        "flows/demo.yaml:9: step 'q1': 10 options, but at most 9 fit one-digit replies;"
        " split the question",
    ]


def test_nine_options_are_fine() -> None:
    options = "".join(f"    - {{id: o{n}, text: Option {n}}}\n" for n in range(1, 10))
    flow, problems = read_flow(
        steps("- id: q1\n  type: choice\n  text: Pick\n  options:\n" + options), PATH
    )
    assert problems == []
    assert flow is not None


def test_keyword_as_option_text() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: What now?
          options:
            - id: go_on
              text: Continue
            - id: halt
              text: {en: Stop, pl: Dalej}
            - id: info
              text: More information
              words: {pl: [pomoc]}
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:12: step 'q1': option 'halt': 'Stop' is a keyword (like STOP or HELP)"
        " and would never reach the question",
        "flows/demo.yaml:14: step 'q1': option 'info': 'pomoc' is a keyword (like STOP or HELP)"
        " and would never reach the question",
    ]


def test_option_word_that_names_another_option() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: How do you travel?
          options:
            - id: a
              text: Bus
            - id: b
              text: Coach
              words: {en: [bus, coaches]}
        """
    ).replace("flow: demo", "flow: x")
    assert problems_of(text, "flows/x.yaml") == [
        "flows/x.yaml:12: step 'q1': option 'b': 'bus' also names option 'a',"
        " so a resident who sends it would always get the first",
    ]


@pytest.mark.parametrize(
    ("first", "second", "named", "owner"),
    [
        pytest.param("{id: a, text: Bus}", "{id: b, text: BUS!}", "BUS!", "a", id="label-label"),
        pytest.param(
            "{id: a, text: Żłobek}",
            "{id: b, text: Nursery, words: {pl: [zlobek]}}",
            "zlobek",
            "a",
            id="label-word-without-accents",
        ),
        pytest.param(
            "{id: a, text: Alpha, words: {en: [bus]}}",
            "{id: b, text: Beta, words: {pl: [Bus]}}",
            "Bus",
            "a",
            id="word-word-across-languages",
        ),
        pytest.param(
            "{id: sure, text: Yes}",
            "{id: b, text: Beta, words: {en: [Sure]}}",
            "Sure",
            "sure",
            id="word-option-id",
        ),
        pytest.param("{id: a, text: Alpha}", "{id: b, text: A}", "A", "a", id="label-option-id"),
    ],
)
def test_each_name_of_an_option_is_its_own(first: str, second: str, named: str, owner: str) -> None:
    text = steps(
        f"- id: q1\n  type: choice\n  text: Pick\n  options:\n    - {first}\n    - {second}\n"
    )
    assert problems_of(text) == [
        f"flows/demo.yaml:11: step 'q1': option 'b': '{named}' also names option '{owner}',"
        " so a resident who sends it would always get the first",
    ]


def test_an_option_may_repeat_its_own_names() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: Pick
          options:
            - id: bus
              text: {en: Bus, pl: Bus}
              words: {en: [bus, BUS, buses], pl: [bus]}
            - id: tram
              text: Tram
        """
    )
    flow, problems = read_flow(text, PATH)
    assert problems == []
    assert flow is not None


def test_too_few_options() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: Pick
          options:
            - {id: only, text: Only one}
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:9: step 'q1': 'options' must be a list of at least 2 options",
    ]


def test_duplicate_option_id() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: Pick
          options:
            - {id: a, text: Alpha}
            - {id: a, text: Another alpha}
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:11: step 'q1': duplicate option id 'a'"]


# -- numbers -----------------------------------------------------------------------------


def test_min_more_than_max() -> None:
    text = steps(
        """\
        - id: q1
          type: number
          text: How many?
          min: 10
          max: 1
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:9: step 'q1': 'min' 10 is more than 'max' 1"]


def test_scale_that_goes_down() -> None:
    text = steps(
        """\
        - id: q1
          type: scale
          text: Rate
          min: 5
          max: 1
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:9: step 'q1': scale 5 to 1 must go up and have at most 10 points"
        " (like 1 to 5)",
    ]


# -- keys and the header -----------------------------------------------------------------


def test_unknown_step_key_with_suggestion() -> None:
    text = steps(
        """\
        - id: q1
          type: choice
          text: Pick
          optons:
            - {id: a, text: Alpha}
            - {id: b, text: Beta}
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:6: step 'q1': missing 'options'",
        "flows/demo.yaml:9: step 'q1': unknown key 'optons' (did you mean 'options'?)",
    ]


def test_unknown_flow_key_with_suggestion() -> None:
    text = """\
        flow: demo
        titel: Demo
        language: en
        expiry: 3d
        steps:
          - {id: q1, type: yesno, text: OK}
        """
    assert problems_of(text) == [
        "flows/demo.yaml:1: missing 'title'",
        "flows/demo.yaml:2: unknown key 'titel' (did you mean 'title'?)",
    ]


def test_key_of_another_step_type_is_not_suggested() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
          optons: [a, b]
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:9: step 'q1': unknown key 'optons'"]


def test_unknown_key_without_suggestion() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
          colour: blue
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:9: step 'q1': unknown key 'colour'"]


def test_missing_expiry() -> None:
    text = """\
        flow: demo
        title: Demo
        language: en
        steps:
          - {id: q1, type: yesno, text: OK}
        """
    assert problems_of(text) == [
        "flows/demo.yaml:1: missing 'expiry' (how long to wait for a reply, like 3d or 12h)",
    ]


@pytest.mark.parametrize(
    ("expiry", "shown"), [("3 days", "'3 days'"), ("3", "3"), ("d3", "'d3'"), ("3y", "'3y'")]
)
def test_bad_expiry(expiry: str, shown: str) -> None:
    text = f"""\
        flow: demo
        title: Demo
        language: en
        expiry: {expiry}
        steps:
          - {{id: q1, type: yesno, text: OK}}
        """
    assert problems_of(text) == [
        f"flows/demo.yaml:4: 'expiry' {shown} must be a number and a unit m, h, d or w (like 3d)",
    ]


def test_flow_id_must_match_the_file_name() -> None:
    text = steps("- {id: q1, type: yesno, text: OK}\n")
    assert problems_of(text, "flows/survey.yaml") == [
        "flows/survey.yaml:1: flow id 'demo' must match the file name 'survey.yaml'",
    ]


def test_invalid_yaml() -> None:
    text = (
        steps(
            """\
        - id: q1
          type: yesno
          text: OK
        """
        )
        + " bad: [\n"
    )
    assert problems_of(text) == [
        "flows/demo.yaml:9: not valid YAML: did not find expected key"
        " (check the indentation of this line and the one above)",
    ]


def test_not_a_map() -> None:
    assert problems_of("- just\n- a list\n") == [
        "flows/demo.yaml:1: a flow file must be a map with 'flow', 'title', 'steps' …",
    ]


def test_bad_step_id() -> None:
    text = steps("- {id: Q-1, type: yesno, text: OK}\n")
    assert problems_of(text) == [
        "flows/demo.yaml:6: step 'Q-1': step id 'Q-1' must be lowercase letters, digits and _"
        " (like 'q1')",
    ]


def test_bad_on_fail_and_attempts() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
          attempts: 0
          on_fail: retry
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:9: step 'q1': 'attempts' must be 1 or more",
        "flows/demo.yaml:10: step 'q1': 'on_fail' must be 'skip' or 'end'",
    ]


# -- several problems and whole directories ------------------------------------------------


def test_several_problems_are_all_reported_sorted_by_line() -> None:
    text = """\
        flow: demo
        title: Demo
        language: en
        expiry: 3d
        colour: red
        steps:
          - id: q1
            type: chioce
            text: Pick
          - id: q2
            type: number
            text: {en: "How many?", pl: ""}
            min: 5
            max: 2
          - id: q2
            type: yesno
            text: OK
          - id: q3
            type: choice
            text: Pick
            options:
              - {id: a, text: Help}
              - {id: b, text: Beta}
        """
    assert problems_of(text) == [
        "flows/demo.yaml:5: unknown key 'colour'",
        "flows/demo.yaml:8: step 'q1': unknown step type 'chioce' (did you mean 'choice'?);"
        f" step types are: {STEP_TYPES}",
        "flows/demo.yaml:12: step 'q2': 'text' in 'pl' is empty",
        "flows/demo.yaml:13: step 'q2': 'min' 5 is more than 'max' 2",
        "flows/demo.yaml:15: step 'q2': duplicate step id (first used on line 10)",
        "flows/demo.yaml:22: step 'q3': option 'a': 'Help' is a keyword (like STOP or HELP)"
        " and would never reach the question",
    ]


def test_several_graph_problems_are_all_reported_sorted_by_line() -> None:
    text = steps(
        """\
        - id: q1
          type: yesno
          text: OK
          goto: missing
        - id: route
          type: branch
          on: nothing
          cases:
            - {is: yes, goto: nowhere}
        - id: q2
          type: yesno
          text: Sure
        """
    )
    assert problems_of(text) == [
        "flows/demo.yaml:6: step 'q1': goes to unknown step 'missing'",
        "flows/demo.yaml:10: step 'route': branches on unknown step 'nothing'",
        "flows/demo.yaml:10: step 'route': unreachable, no step leads here",
        "flows/demo.yaml:14: step 'route': goes to unknown step 'nowhere'",
        "flows/demo.yaml:15: step 'q2': unreachable, no step leads here",
    ]


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_then_naming_an_unknown_flow(tmp_path: Path) -> None:
    write(
        tmp_path,
        "demo.yaml",
        steps(
            """\
            - id: q1
              type: yesno
              text: OK
            - id: next
              type: end
              then: welcom
            """
        ),
    )
    write(
        tmp_path,
        "welcome.yaml",
        """\
        flow: welcome
        title: Welcome
        language: en
        expiry: 1d
        steps:
          - {id: hello, type: message, text: Hello}
        """,
    )
    with pytest.raises(FlowError) as raised:
        load_flows(tmp_path, shown_as="flows")
    assert raised.value.problems == (
        "flows/demo.yaml:9: step 'next': starts unknown flow 'welcom'",
    )
    assert str(raised.value) == "flows/demo.yaml:9: step 'next': starts unknown flow 'welcom'"


def test_then_naming_a_known_flow(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", steps("- {id: next, type: end, then: other}\n"))
    write(
        tmp_path,
        "other.yaml",
        HEADER.replace("flow: demo", "flow: other") + "  - {id: e, type: end}\n",
    )
    flows = load_flows(tmp_path)
    assert sorted(flows) == ["demo", "other"]


def test_load_flows_reports_every_file(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", steps("- {id: q1, type: yesno}\n"))
    write(tmp_path, "other.yaml", steps("- {id: q1, type: yesno, text: OK}\n"))
    with pytest.raises(FlowError) as raised:
        load_flows(tmp_path, shown_as="flows")
    assert raised.value.problems == (
        "flows/demo.yaml:6: step 'q1': missing 'text'",
        "flows/other.yaml:1: flow id 'demo' must match the file name 'other.yaml'",
    )


def test_load_flow_raises_flow_error(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(steps("- {id: q1, type: yesno}\n"), encoding="utf-8")
    with pytest.raises(FlowError) as raised:
        load_flow(path, shown_as="flows/demo.yaml")
    assert raised.value.problems == ("flows/demo.yaml:6: step 'q1': missing 'text'",)


def test_bundled_flows_load() -> None:
    repo = Path(__file__).resolve().parents[2]
    flows = load_flows(repo / "flows")
    assert "priorities" in flows


@pytest.mark.parametrize("kind", ["[yesno]", "{yesno: 1}", "[]", "true"])
def test_step_type_that_is_not_a_word(kind: str) -> None:
    text = steps(f"- id: q1\n  type: {kind}\n  text: OK\n")
    [problem] = problems_of(text)
    assert problem.startswith("flows/demo.yaml:7: step 'q1': unknown step type ")
    assert problem.endswith(f"; step types are: {STEP_TYPES}")


def test_step_type_that_is_a_number() -> None:
    text = steps("- id: q1\n  type: 3\n  text: OK\n")
    assert problems_of(text) == [
        f"flows/demo.yaml:7: step 'q1': unknown step type '3'; step types are: {STEP_TYPES}"
    ]


def test_step_type_that_is_null_is_missing() -> None:
    text = steps("- id: q1\n  type: null\n  text: OK\n")
    assert problems_of(text) == ["flows/demo.yaml:6: step 'q1': missing 'type'"]


# -- known bugs --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["[OK, Fine]", "{a: b}", "true"])
def test_source_language_text_that_is_not_a_text_is_reported_once(value: str) -> None:
    text = steps(
        f"""\
        - id: q1
          type: yesno
          text:
            en: {value}
            pl: Dobrze?
        """
    )
    assert problems_of(text) == ["flows/demo.yaml:9: step 'q1': 'text' in 'en' must be a text"]


def test_an_exclusive_option_is_read_and_must_be_true_or_false() -> None:
    good = """\
        - id: q
          type: choice
          multiple: true
          text: Which?
          options:
            - {id: a, text: Alpha}
            - {id: none, text: None of these, exclusive: true}
        """
    flow, problems = read_flow(steps(good), PATH)
    assert problems == []
    assert flow is not None
    question = flow.steps[0]
    assert isinstance(question, ChoiceQuestion)
    assert [o.exclusive for o in question.options] == [False, True]
    bad = good.replace("exclusive: true", "exclusive: sometimes")
    assert problems_of(steps(bad)) == [
        "flows/demo.yaml:12: step 'q': 'exclusive' must be true or false"
    ]
