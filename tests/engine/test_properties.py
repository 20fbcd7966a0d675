"""Properties of ``advance`` over arbitrary replies: it never raises, always says something,
and only ever records answers that fit the question."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.engine import (
    AnswerRecorded,
    Env,
    Flow,
    FlowEnded,
    Reply,
    Session,
    Start,
    Turn,
    Value,
    advance,
)
from bot.engine.flow import (
    ChoiceQuestion,
    LanguageQuestion,
    NumberQuestion,
    Question,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)
from bot.flowfile import load_flows
from bot.lang.names import language_names
from bot.lang.phrases import load_phrases
from tests.engine.kit import NOW, TWO_LANGUAGES, checked_flow

REPO = Path(__file__).resolve().parents[2]
PRIORITIES = load_flows(REPO / "flows")["priorities"]
LANGUAGES = ("en", "pl", "ro", "ar", "ur")
CATALOGS = Env(phrases=load_phrases(REPO / "locales"), languages=language_names(LANGUAGES))


def _synthetic(steps: str) -> Flow:
    text = "flow: synthetic\ntitle: Every type\nlanguage: en\nexpiry: 1d\nattempts: 2\nsteps:\n"
    return checked_flow(text + textwrap.dedent(steps), "flows/synthetic.yaml")


SYNTHETIC = _synthetic(
    """
    - {id: hello, type: message, text: {en: Hello, pl: Cześć}}
    - id: lang
      type: language
      text: {en: "Language?", pl: "Język?"}
    - id: pick
      type: choice
      field: picked
      text: {en: Pick one, pl: Wybierz}
      options:
        - {id: housing, text: {en: Housing, pl: Mieszkania}, words: {en: [rent, homes]}}
        - {id: safety, text: Safety}
        - {id: transport, text: Buses and transport, words: {en: [bus]}}
        - {id: nursery, text: Żłobek}
    - id: route
      type: branch
      on: pick
      cases:
        - {is: housing, goto: many}
        - {is: [safety, transport], goto: years}
    - {id: tag, type: set, field: source, value: synthetic}
    - id: many
      type: choice
      multiple: true
      field: many
      text: Pick several
      options:
        - {id: a1, text: One}
        - {id: a2, text: Two}
        - {id: a3, text: Three}
        - {id: a4, text: Four}
        - {id: a5, text: Five}
        - {id: a6, text: Six}
        - {id: a7, text: Seven}
        - {id: a8, text: Eight}
        - {id: a9, text: Nine}
    - {id: years, type: number, min: 0, max: 99, field: years, text: Years}
    - {id: litres, type: number, min: 0.5, max: 12.5, decimals: true, attempts: 1, text: Litres}
    - {id: adults, type: number, min: 18, text: Age, on_fail: end}
    - {id: anything, type: number, max: 1000000, text: Count}
    - {id: whole, type: number, text: Any whole number}
    - {id: stars, type: scale, text: Stars}
    - {id: points, type: scale, min: 0, max: 9, text: Points}
    - {id: ok, type: yesno, field: ok, text: Fine}
    - {id: note, type: text, max_length: 20, text: Note}
    - id: branch_on_years
      type: branch
      on: years
      cases:
        - {min: 50, goto: bye}
        - {max: 10, is: [1, 2, 3], goto: more}
    - {id: more, type: text, text: More}
    - {id: bye, type: end, text: {en: Bye, pl: Pa}}
    """
)

ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"))
NEAR_MISSES = st.sampled_from(
    [
        "1", "2", "3", "9", "0", "10", "1 3", "3,1", "1 1", "a", "B", "(c)", "i", "yes", "No!",
        "tak", "nie", "نعم", "لا", "ہاں", "٣", "۳", "৩", "३", "12", "about 12", "1,000", "2.5",
        "2,5", "-1", "99", "100", "18", "12.5", "", " ", "\u200b", "rent", "bus", "polski", "pl",
        "x" * 21, "x" * 20, "STOP", "a bus", "1.5 2.5", "1e5", "½", "⓵", "፩", "᧚", "1 ⓷",
        "1" * 16, "1" * 4301,
    ]
)  # fmt: skip
NUMBERISH = st.from_regex(r"\A\s*-?\d{1,7}([ ,.]\d{1,3}){0,3}\s*\Z")
REPLIES = st.one_of(ANY_TEXT, NEAR_MISSES, NUMBERISH)


def check_value(step: Question, value: Value, env: Env) -> None:
    """``value`` is an answer that fits ``step``."""
    match step:
        case ChoiceQuestion(options=options, multiple=True):
            ids = [option.id for option in options]
            assert isinstance(value, list)
            assert value
            assert len(set(value)) == len(value)
            assert all(item in ids for item in value)
            assert value == sorted(value, key=ids.index)
        case ChoiceQuestion(options=options):
            assert isinstance(value, str)
            assert value in [option.id for option in options]
        case NumberQuestion(minimum=low, maximum=high, decimals=decimals):
            assert isinstance(value, int | float)
            assert not isinstance(value, bool)
            assert type(value) is (float if decimals else int)
            assert math.isfinite(value)
            assert low is None or value >= low
            assert high is None or value <= high
        case ScaleQuestion(low=low, high=high):
            assert type(value) is int
            assert low <= value <= high
        case TextQuestion(max_length=limit):
            assert isinstance(value, str)
            assert 0 < len(value) <= limit
            assert value == value.strip()
        case YesNoQuestion():
            assert value in ("yes", "no")
        case LanguageQuestion():
            assert isinstance(value, str)
            assert value in env.languages
        case _:  # pragma: no cover
            raise AssertionError(f"unexpected question {step!r}")


def check_turn(flow: Flow, turn: Turn, env: Env, replied: str | None = None) -> None:
    messages = turn.messages
    assert messages, f"a turn with nothing to say: {turn.events}"
    assert all(message.text.strip() for message in messages), messages
    recorded = [e for e in turn.events if isinstance(e, AnswerRecorded)]
    assert len(recorded) <= 1
    for event in recorded:
        step = flow.step(event.step_id)
        assert isinstance(step, Question)
        check_value(step, event.value, env)
        assert event.raw == replied
        assert turn.session.answers[event.step_id] == event.value
    ended = [e for e in turn.events if isinstance(e, FlowEnded)]
    assert len(ended) == (1 if turn.session.ended else 0)
    if ended:
        assert turn.events[-1] == ended[0]
        assert turn.session.step_id is None
    else:
        assert turn.session.step_id is not None
        assert isinstance(flow.step(turn.session.step_id), Question)


def waiting_at(flow: Flow, step_id: str, language: str) -> Session:
    return Session(flow.id, language, NOW, NOW, step_id=step_id)


def play_all(flow: Flow, replies: list[str], language: str, env: Env) -> None:
    turn = advance(flow, None, Start(language), NOW, env)
    check_turn(flow, turn, env)
    for text in replies:
        if turn.session.ended:
            turn = advance(flow, None, Start(turn.session.language), NOW, env)
            check_turn(flow, turn, env)
        turn = advance(flow, turn.session, Reply(text), NOW, env)
        check_turn(flow, turn, env, text)


# -- the bundled priorities survey, with the real catalogs and language names -------------


@settings(max_examples=300, deadline=None)
@given(
    step_id=st.sampled_from([q.id for q in PRIORITIES.questions()]),
    text=REPLIES,
    language=st.sampled_from(LANGUAGES),
)
@example(step_id="top_issue", text="a bus", language="en")
@example(step_id="services", text="1 3 5", language="pl")
@example(step_id="more", text="x" * 301, language="ar")
def test_priorities_any_reply_to_any_question(step_id: str, text: str, language: str) -> None:
    turn = advance(
        PRIORITIES, waiting_at(PRIORITIES, step_id, language), Reply(text), NOW, CATALOGS
    )
    check_turn(PRIORITIES, turn, CATALOGS, text)


@settings(max_examples=120, deadline=None)
@given(replies=st.lists(REPLIES, max_size=15), language=st.sampled_from(LANGUAGES))
def test_priorities_any_conversation(replies: list[str], language: str) -> None:
    play_all(PRIORITIES, replies, language, CATALOGS)


# -- a synthetic flow with every question type ---------------------------------------------


def test_synthetic_flow_covers_every_question_type() -> None:
    kinds = {type(q) for q in SYNTHETIC.questions()}
    assert kinds == {
        ChoiceQuestion,
        NumberQuestion,
        ScaleQuestion,
        TextQuestion,
        YesNoQuestion,
        LanguageQuestion,
    }


@settings(max_examples=300, deadline=None)
@given(
    step_id=st.sampled_from([q.id for q in SYNTHETIC.questions()]),
    text=REPLIES,
    language=st.sampled_from(["en", "pl"]),
)
@example(step_id="pick", text="a bus", language="en")
@example(step_id="many", text="9 1 1", language="en")
@example(step_id="litres", text="12,5", language="pl")
@example(step_id="note", text="  " + "x" * 20 + "  ", language="en")
def test_synthetic_any_reply_to_any_question(step_id: str, text: str, language: str) -> None:
    session = waiting_at(SYNTHETIC, step_id, language)
    turn = advance(SYNTHETIC, session, Reply(text), NOW, TWO_LANGUAGES)
    check_turn(SYNTHETIC, turn, TWO_LANGUAGES, text)


@settings(max_examples=150, deadline=None)
@given(replies=st.lists(REPLIES, max_size=25), language=st.sampled_from(["en", "pl"]))
def test_synthetic_any_conversation(replies: list[str], language: str) -> None:
    play_all(SYNTHETIC, replies, language, TWO_LANGUAGES)


@settings(max_examples=100, deadline=None)
@given(replies=st.lists(REPLIES, max_size=10))
def test_same_replies_same_turns(replies: list[str]) -> None:
    def run() -> list[Turn]:
        turns = [advance(SYNTHETIC, None, Start("en"), NOW, TWO_LANGUAGES)]
        for text in replies:
            if turns[-1].session.ended:
                break
            turns.append(advance(SYNTHETIC, turns[-1].session, Reply(text), NOW, TWO_LANGUAGES))
        return turns

    assert run() == run()
