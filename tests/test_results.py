"""Results at a glance (:mod:`bot.civic.results`) on a real SQLite file: each run's last answer
counted, several options counted each, percentages of those who answered, breakdowns by
language, channel or a contact field; and ``parley results`` with its chart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from bot import staff_text
from bot.civic.results import Report, Summary, of_flow, of_poll
from bot.cli.main import main
from bot.content import load_content
from bot.engine import Session
from bot.engine.flow import Flow, Value
from bot.errors import ExportError
from bot.settings import Settings, load_settings
from bot.store import Database, contacts, polls, sessions
from bot.store import answers as stored_answers
from bot.store.answers import NewAnswer
from bot.store.contacts import Contact
from bot.store.polls import NewPoll, PollOption
from bot.store.sessions import Status
from bot.store.sql import Tx
from tests import databases

T = TypeVar("T")

NOW = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


def settings_for(home: Path) -> Settings:
    config = home / "parley.toml"
    if not config.exists():
        config.write_text("[parley]\n", encoding="utf-8")
    return load_settings({"PARLEY_DATABASE": databases.of(home)}, config_file=config)


def seed(home: Path, work: Callable[[Tx], T]) -> T:
    """Run ``work(tx)`` in one transaction of the real (migrated) database."""

    async def go() -> T:
        database = await Database.open(databases.location(home))
        try:
            return await database.run(work)
        finally:
            await database.close()

    return asyncio.run(go())


def parley(home: Path, *args: str) -> Result:
    settings_for(home)
    return CliRunner().invoke(
        main,
        ["--config", str(home / "parley.toml"), *args],
        env={"PARLEY_DATABASE": databases.of(home)},
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def resident(tx: Tx, channel: str, address: str, language: str, **fields: str) -> Contact:
    contact = contacts.ensure(tx, channel, address, language, NOW)
    return contacts.update(tx, contact, dict(fields)) if fields else contact


def run_of(
    tx: Tx,
    contact: Contact,
    given: list[tuple[str, Value]],
    status: Status = Status.COMPLETED,
    flow_id: str = "priorities",
) -> int:
    """A run as the service stores one: its session, then each answer in turn (a step may
    be answered twice, as when a resident goes back and changes their mind)."""
    language = contact.language or "en"
    session = Session(flow_id, language, NOW, NOW, ended=status is Status.COMPLETED)
    session_id = sessions.create(tx, contact.id, session, NOW, status=status)
    for minute, (step_id, value) in enumerate(given):
        answer = NewAnswer(
            session_id, contact.id, None, flow_id, step_id, value, str(value), language,
            contact.channel,
        )  # fmt: skip
        stored_answers.record(tx, answer, NOW + timedelta(minutes=minute))
    return session_id


def _survey(tx: Tx) -> None:
    """Five runs of the priorities survey by four residents:

    ========  =========  ========  =====  ===========================  =========
    run       resident   language  area   top issue (last answer)      services
    ========  =========  ========  =====  ===========================  =========
    1         ann (sms)  en        North  safety, then housing         gp library
    2         bo (tg)    pl        South  housing                      gp
    3         cy (sms)   en        -      parks                        none
    4         dee (sms)  en        North  (nothing yet: active)
    5         ann (sms)  en        North  parks (her second run)
    ========  =========  ========  =====  ===========================  =========
    """
    ann = resident(tx, "sms", "+447700900001", "en", area="North")
    bo = resident(tx, "telegram", "111222333", "pl", area="South")
    cy = resident(tx, "sms", "+447700900003", "en")
    dee = resident(tx, "sms", "+447700900004", "en", area="North")
    run_of(
        tx,
        ann,
        [
            ("top_issue", "safety"),
            ("top_issue", "housing"),
            ("services", ["gp", "library"]),
            ("safe_at_night", 4),
            ("years", 12),
            ("panel", "yes"),
            ("more", "More lights"),
        ],
    )
    run_of(
        tx,
        bo,
        [
            ("top_issue", "housing"),
            ("services", ["gp"]),
            ("safe_at_night", 2),
            ("years", 3),
            ("panel", "no"),
        ],
    )
    run_of(tx, cy, [("top_issue", "parks"), ("services", ["none"]), ("years", 0)])
    run_of(tx, dee, [], Status.ACTIVE)
    run_of(tx, ann, [("top_issue", "parks")])
    run_of(tx, ann, [("language", "en")], flow_id="welcome")  # another flow: not counted


@pytest.fixture
def survey(tmp_path: Path) -> tuple[Path, Flow, tuple[str, ...]]:
    seed(tmp_path, _survey)
    settings = settings_for(tmp_path)
    flows, _ = load_content(settings)
    return tmp_path, flows["priorities"], settings.languages


def report_of(home: Path, flow: Flow, languages: tuple[str, ...], by: str | None) -> Report:
    return seed(home, lambda tx: of_flow(tx, flow, languages, by))


def counts(summary: Summary) -> dict[str, int]:
    return dict(zip(summary.codes, summary.counts, strict=True))


def grouped(summary: Summary) -> dict[str, tuple[int, dict[str, int]]]:
    """group -> (answered, {code: count}), leaving out options nobody in it chose."""
    return {
        group: (answered, {c: n for c, n in zip(summary.codes, found, strict=True) if n})
        for group, (answered, found) in summary.groups.items()
    }


def test_each_run_counts_its_last_answer_and_several_options_each(
    survey: tuple[Path, Flow, tuple[str, ...]],
) -> None:
    report = report_of(*survey, by=None)
    assert report.title == "Survey 'priorities' (Local priorities): 5 runs, 4 completed"
    found = {summary.question_id: summary for summary in report.summaries}
    assert list(found) == ["top_issue", "housing_problem", "services", "safe_at_night", "panel"]
    top = found["top_issue"]
    assert top.question == "What should be fixed first?"
    assert top.labels == ("Housing", "Safety", "Buses and transport", "Parks", "Youth services")
    assert top.answered == 4
    assert counts(top) == {"housing": 2, "safety": 0, "transport": 0, "parks": 2, "youth": 0}
    assert [top.percent(n) for n in top.counts] == [50, 0, 0, 50, 0]
    services = found["services"]
    assert services.answered == 3
    assert counts(services) == {
        "gp": 2,
        "library": 1,
        "community_centre": 0,
        "food_bank": 0,
        "none": 1,
    }
    assert [services.percent(n) for n in services.counts] == [67, 33, 0, 0, 33]  # > 100 in all
    assert found["housing_problem"].answered == 0
    assert found["housing_problem"].counts == (0, 0, 0)
    scale = found["safe_at_night"]
    assert scale.codes == ("1", "2", "3", "4", "5")
    assert scale.counts == (0, 1, 0, 1, 0)
    assert counts(found["panel"]) == {"yes": 1, "no": 1}
    assert report.notes == (
        "years: How many years have you lived in this area? If less than 1 year, reply 0."
        " 3 answered; lowest 0, highest 12, average 5.0",
        "more: Is there anything else we should know? Write it in one message, or reply No."
        " 1 answered",
    )
    assert not top.groups


def test_results_by_language_and_by_channel(
    survey: tuple[Path, Flow, tuple[str, ...]],
) -> None:
    by_language = report_of(*survey, by="language")
    top = by_language.summaries[0]
    assert top.answered == 4  # the whole, as without a breakdown
    assert grouped(top) == {"en": (3, {"housing": 1, "parks": 2}), "pl": (1, {"housing": 1})}
    services = by_language.summaries[2]
    assert grouped(services) == {
        "en": (2, {"gp": 1, "library": 1, "none": 1}),
        "pl": (1, {"gp": 1}),
    }
    by_channel = report_of(*survey, by="channel")
    assert grouped(by_channel.summaries[0]) == {
        "sms": (3, {"housing": 1, "parks": 2}),
        "telegram": (1, {"housing": 1}),
    }


def test_results_by_a_field_count_residents_without_it_as_none(
    survey: tuple[Path, Flow, tuple[str, ...]],
) -> None:
    report = report_of(*survey, by="area")
    top, _, services, *_ = report.summaries
    assert grouped(top) == {
        "North": (2, {"housing": 1, "parks": 1}),
        "South": (1, {"housing": 1}),
        "(none)": (1, {"parks": 1}),
    }
    assert grouped(services) == {
        "North": (1, {"gp": 1, "library": 1}),
        "South": (1, {"gp": 1}),
        "(none)": (1, {"none": 1}),
    }
    lines = staff_text.summary(top, "area")
    assert lines[0] == "top_issue: What should be fixed first?"
    heads = lines[1].split()
    assert heads == ["all", "area=(none)", "area=North", "area=South"]
    housing = lines[2]
    assert housing.startswith("1. Housing ")
    assert housing.split()[2:] == ["2", "(50%)", "0", "(0%)", "1", "(50%)", "1", "(100%)"]
    assert lines[-1].split() == ["answered", "4", "1", "2", "1"]


@pytest.mark.parametrize("by", ["area'); DROP TABLE answers; --", "1st", "area.name", "$.x"])
def test_a_bad_field_name_is_refused(survey: tuple[Path, Flow, tuple[str, ...]], by: str) -> None:
    home, flow, languages = survey
    with pytest.raises(ExportError, match="is not a field name"):
        report_of(home, flow, languages, by)
    assert report_of(home, flow, languages, None).summaries[0].answered == 4


def _poll(tx: Tx) -> int:
    options = tuple(
        PollOption(code, {"en": label, "pl": f"{label} (pl)"})
        for code, label in (("lights", "Street lights"), ("benches", "Benches"), ("bins", "Bins"))
    )
    question = {"en": "Which first?", "pl": "Co najpierw?"}
    poll_id = polls.create(tx, NewPoll(question, options, "en", multiple=True), NOW)
    voters: list[tuple[Contact, Value]] = [
        (resident(tx, "sms", "+447700900001", "en", area="North"), ["lights", "benches"]),
        (resident(tx, "telegram", "111222333", "pl", area="South"), ["lights"]),
        (resident(tx, "sms", "+447700900003", "en"), "bins"),
    ]
    for contact, choice in voters:
        polls.vote(tx, poll_id, contact.id, "bins", contact.language or "en", contact.channel, NOW)
        polls.vote(tx, poll_id, contact.id, choice, contact.language or "en", contact.channel, NOW)
    return poll_id


def test_a_poll_counts_each_voters_last_vote(tmp_path: Path) -> None:
    poll_id = seed(tmp_path, _poll)

    def report(by: str | None) -> Report:
        def work(tx: Tx) -> Report:
            poll = polls.get(tx, poll_id)
            assert poll is not None
            return of_poll(tx, poll, by)

        return seed(tmp_path, work)

    overall = report(None)
    assert overall.title == "Poll 1 (not sent yet)"
    [summary] = overall.summaries
    assert summary.question == "Which first?"
    assert summary.labels == ("Street lights", "Benches", "Bins")
    assert summary.answered == 3
    assert counts(summary) == {"lights": 2, "benches": 1, "bins": 1}
    assert [summary.percent(n) for n in summary.counts] == [67, 33, 33]
    assert grouped(report("language").summaries[0]) == {
        "en": (2, {"lights": 1, "benches": 1, "bins": 1}),
        "pl": (1, {"lights": 1}),
    }
    assert grouped(report("area").summaries[0]) == {
        "North": (1, {"lights": 1, "benches": 1}),
        "South": (1, {"lights": 1}),
        "(none)": (1, {"bins": 1}),
    }


PNG = b"\x89PNG\r\n\x1a\n"


def lines_of(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


def test_parley_results_prints_the_table_and_draws_the_chart(
    survey: tuple[Path, Flow, tuple[str, ...]],
) -> None:
    home = survey[0]
    chart = home / "services.png"
    args = ("--by", "language", "--chart", str(chart), "--question", "services")
    shown = ok(parley(home, "results", "priorities", *args))
    lines = lines_of(shown)
    assert lines[0] == "Survey 'priorities' (Local priorities): 5 runs, 4 completed"
    at = lines.index("services: Which services do you use?")
    assert lines[at + 1].split() == ["all", "language=en", "language=pl"]
    assert lines[at + 2].split() == ["1.", "Doctor", "(GP)", "2", "(67%)", "1", "(50%)", "1",
                                     "(100%)"]  # fmt: skip
    assert lines[at + 6].split() == ["5.", "None", "of", "these", "1", "(33%)", "1", "(50%)",
                                     "0", "(0%)"]  # fmt: skip
    assert lines[at + 7].split() == ["answered", "3", "2", "1"]
    assert f"Chart written to {chart}." in shown
    data = chart.read_bytes()
    assert data.startswith(PNG)
    with Image.open(chart) as picture:
        assert picture.format == "PNG"
        assert picture.width > 100
        assert picture.height > 100


def test_parley_results_of_a_question_without_options_is_refused(
    survey: tuple[Path, Flow, tuple[str, ...]],
) -> None:
    home = survey[0]
    chart = home / "more.png"
    result = parley(home, "results", "priorities", "--chart", str(chart), "--question", "more")
    assert result.exit_code != 0
    assert "no question 'more' with options to chart" in result.output
    assert not chart.exists()


def test_parley_results_of_a_poll_still_works(tmp_path: Path) -> None:
    seed(tmp_path, _poll)
    lines = lines_of(ok(parley(tmp_path, "results", "1")))
    assert lines[0] == "Poll 1 (not sent yet): Which first?"
    assert "  1. Street lights: 2 (67%)" in lines
    assert "  3 voters" in lines
    by_area = lines_of(ok(parley(tmp_path, "results", "1", "--by", "area")))
    assert "area = (none): 1 voter" in by_area
    chart = tmp_path / "poll.png"
    ok(parley(tmp_path, "results", "1", "--chart", str(chart)))
    assert chart.read_bytes().startswith(PNG)


def test_parley_results_of_an_unknown_flow_says_so(tmp_path: Path) -> None:
    result = parley(tmp_path, "results", "nowhere")
    assert result.exit_code != 0
    assert "there is no poll or flow 'nowhere'; flows: idea, language" in result.output
