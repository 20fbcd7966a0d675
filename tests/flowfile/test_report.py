"""``parley flows check``'s report: translation coverage, placeholders, segments, warnings."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.channels.segments import is_gsm7, segments
from bot.content import load_content
from bot.engine import Env, Flow
from bot.engine.flow import ChoiceQuestion, LanguageQuestion, ScaleQuestion, YesNoQuestion
from bot.engine.runner import render_question
from bot.flowfile import load_flows, read_flow
from bot.flowfile.report import report_catalog, report_flow
from bot.paths import bundled
from bot.settings import load_settings
from tests.test_cli import parley

LANGUAGES = list(load_settings({"PARLEY_DATABASE": ":memory:"}).languages)  # all 16


@pytest.fixture(scope="module")
def env() -> Env:
    _, env = load_content(load_settings({"PARLEY_DATABASE": ":memory:"}))
    return env


def flow_of(body: str, path: str = "flows/demo.yaml") -> Flow:
    text = "flow: demo\ntitle: Demo\nlanguage: en\nexpiry: 1d\nsteps:\n" + textwrap.indent(
        textwrap.dedent(body), "  "
    )
    flow, problems = read_flow(text, path)
    assert not problems, problems
    assert flow is not None
    return flow


def test_no_bundled_reply_in_any_language_exceeds_two_sms_segments(env: Env) -> None:
    """The done-when: no message in a GSM-7 language over 2 segments. Every bundled reply,
    in every language, fits 2 segments; only the paged language menu may take 3."""
    for flow in load_flows(bundled("flows")).values():
        report = report_flow(flow, LANGUAGES, env)
        assert not report.missing, (flow.id, report.missing)
        assert [str(note) for note in report.notes] == [], flow.id
        for label, by_language in report.rows:
            limit = 3 if isinstance(flow.step(label), LanguageQuestion) else 2
            assert max(by_language.values()) <= limit, (flow.id, label, by_language)


def test_english_and_somali_replies_are_gsm7_and_within_two_segments(env: Env) -> None:

    for flow in load_flows(bundled("flows")).values():
        for step in flow.questions():
            if not isinstance(step, ChoiceQuestion | ScaleQuestion | YesNoQuestion):
                continue
            for language in ("en", "so"):
                text = render_question(flow, step, language, env).text
                assert is_gsm7(text.replace("£", "")), (flow.id, step.id, language, text)
                assert segments(text).count <= 2


def test_missing_translations_are_listed_per_language(env: Env) -> None:
    flow = flow_of(
        """
        - id: q
          type: choice
          text: {en: Pick, pl: Wybierz}
          options:
            - {id: a, text: {en: Alpha, pl: Alfa}}
            - {id: b, text: Beta}
        """
    )
    report = report_flow(flow, ["en", "pl"], env)
    assert report.missing == {"pl": ["step 'q' option 'b'"]}


def test_a_lost_placeholder_or_keyword_is_an_error_and_a_long_sentence_a_warning(
    env: Env,
) -> None:
    long_polish = " ".join(["tak"] * 21) + "."
    flow = flow_of(
        f"""
        - id: m
          type: message
          text:
            en: "Hello {{name}}, see https://example.org/a"
            pl: "Cześć, zobacz https://example.org/a"
        - id: e
          type: end
          text:
            en: "Reply STOP to stop."
            pl: "{long_polish}"
        """
    )
    notes = report_flow(flow, ["en", "pl"], env).notes
    errors = [str(n) for n in notes if n.error]
    warnings = [str(n) for n in notes if not n.error]
    assert errors == [
        "flows/demo.yaml:7: pl: step 'm': placeholders ['https://example.org/a'] do not match"
        " the en text's ['https://example.org/a', '{name}']",
        "flows/demo.yaml:12: pl: step 'e': the en text tells residents to send STOP, the"
        " translation does not",
    ]
    assert warnings == [
        "flows/demo.yaml:12: warning: pl: step 'e': a sentence of 21 words; shorter ones are"
        " easier to read"
    ]


def test_a_reply_over_two_segments_is_a_warning_with_its_line(env: Env) -> None:
    arabic = " ".join(["كلمة"] * 15) + ". " + " ".join(["كلمة"] * 15) + "."
    flow = flow_of(
        f"""
        - id: m
          type: message
          text:
            en: "Read this."
            ar: "{arabic}"
        - id: q
          type: yesno
          text:
            en: "Is that OK"
            ar: "موافق"
        """
    )
    notes = [str(n) for n in report_flow(flow, ["en", "ar"], env).notes]
    assert len(notes) == 1
    assert notes[0].startswith(
        "flows/demo.yaml:12: warning: ar: the reply ending at step 'q' takes 3 SMS segments ("
    )


def test_a_catalog_with_a_broken_placeholder_or_an_empty_entry_is_an_error(
    tmp_path: Path,
) -> None:
    po = tmp_path / "parley.po"
    po.write_text(
        textwrap.dedent(
            """\
            msgid ""
            msgstr ""
            "Content-Type: text/plain; charset=UTF-8\\n"
            "Language: pl\\n"

            #, python-format
            msgid "Reply %(stop)s to stop."
            msgstr "Odpisz %(stopp)s."

            msgid "Thank you!"
            msgstr ""
            """
        ),
        encoding="utf-8",
    )
    notes = [str(n) for n in report_catalog(po, "pl").notes]
    assert notes == [
        f"{po}:7: \"Reply %(stop)s to stop.\": placeholders ['%(stopp)s'] do not match"
        " ['%(stop)s']",
        f'{po}:10: "Thank you!" is not translated',
    ]


def test_flows_check_prints_coverage_and_segments_for_the_bundled_flows(tmp_path: Path) -> None:
    result = parley(tmp_path, "flows", "check")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(
        "8 flows OK: idea, language, menu, panel, panel_seat, poll_fund, priorities, welcome\n"
    )
    assert "3 triggers OK" in out
    assert "  priorities: complete\n" in out
    assert "the bot's own sentences: 95, complete in every language" in out
    assert "  whole flow" in out
    header = next(line for line in out.splitlines() if line.startswith("priorities "))
    assert header.split()[1:] == LANGUAGES
    assert "warning" not in out


def test_flows_check_exits_1_on_a_translation_error(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(bundled("flows"), folder)
    welcome = folder / "welcome.yaml"
    text = welcome.read_text(encoding="utf-8")
    welcome.write_text(text.replace("STOP або СТОП", "будь-що"), encoding="utf-8")
    result = parley(tmp_path, "flows", "check", str(folder))
    assert result.returncode == 1
    assert "uk: step 'welcomed': the en text tells residents to send STOP" in result.stderr
    assert "1 problem found." in result.stderr
