"""``advance``: one turn of a conversation, driven with a fixed clock."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.engine import (
    AnswerRecorded,
    Button,
    ContactChanged,
    EndReason,
    Env,
    Flow,
    FlowEnded,
    MessageKind,
    MessageOut,
    Reply,
    Resume,
    Session,
    Start,
    Turn,
    advance,
    is_expired,
)
from tests.engine.kit import NOW, TWO_LANGUAGES, checked_flow


def make_flow(steps: str, *, header: str = "") -> Flow:
    """A checked flow from the YAML of its steps; fails on any problem."""
    text = (
        "flow: demo\ntitle: Demo\nlanguage: en\nexpiry: 3d\n"
        + textwrap.dedent(header)
        + "steps:\n"
        + textwrap.indent(textwrap.dedent(steps), "  ")
    )
    return checked_flow(text, "flows/demo.yaml")


def start(flow: Flow, language: str = "en", env: Env | None = None) -> Turn:
    return advance(flow, None, Start(language), NOW, env)


def reply(flow: Flow, session: Session, text: str, env: Env | None = None) -> Turn:
    return advance(flow, session, Reply(text), NOW, env)


def play(flow: Flow, *replies: str, language: str = "en", env: Env | None = None) -> list[Turn]:
    """Start ``flow`` and send ``replies`` one by one; every turn, the start included."""
    turns = [start(flow, language, env)]
    for text in replies:
        turns.append(reply(flow, turns[-1].session, text, env))
    return turns


def texts(turn: Turn) -> list[str]:
    return [message.text for message in turn.messages]


class TaggedPhrases:
    """Phrases that show which language the engine asked for: "[pl] Thank you!"."""

    def text(self, language: str, message: str, /, **params: object) -> str:
        return f"[{language}] " + (message % params if params else message)

    def plural(self, language: str, singular: str, plural: str, n: int, /, **params: object) -> str:
        chosen = singular if n == 1 else plural
        return f"[{language}] " + (chosen % params if params else chosen)


TAGGED = Env(phrases=TaggedPhrases(), languages=TWO_LANGUAGES.languages)

CHOICE_4 = """
- id: q
  type: choice
  text: Pick one
  options:
    - {id: a, text: Alpha}
    - {id: b, text: Beta}
    - {id: c, text: Gamma}
    - {id: d, text: Delta}
"""


# -- asking ------------------------------------------------------------------------------


def test_message_then_question_in_one_turn() -> None:
    flow = make_flow(
        """
        - id: hello
          type: message
          text: Hello!
        - id: q
          type: choice
          text: Pick one
          options:
            - {id: a, text: Alpha}
            - {id: b, text: Beta}
        """
    )
    turn = start(flow)
    assert turn.events == (
        MessageOut("Hello!", MessageKind.TEXT, "hello"),
        MessageOut(
            "Pick one\n1. Alpha\n2. Beta",
            MessageKind.QUESTION,
            "q",
            (Button("Alpha", "1"), Button("Beta", "2")),
            "Pick one",  # beside the buttons, the list is not repeated
        ),
    )
    assert turn.session == Session(
        flow_id="demo", language="en", started_at=NOW, updated_at=NOW, step_id="q"
    )


def test_multiple_choice_question_says_more_than_one_is_fine() -> None:
    flow = make_flow(
        """
        - id: q
          type: choice
          multiple: true
          text: Which?
          options:
            - {id: a, text: Alpha}
            - {id: b, text: Beta}
        """
    )
    assert texts(start(flow)) == [
        "Which?\n1. Alpha\n2. Beta\nYou can choose more than one, like: 1 3"
    ]


def test_yes_no_and_scale_questions_offer_buttons() -> None:
    flow = make_flow(
        """
        - id: ok
          type: yesno
          text: OK?
        - id: s
          type: scale
          min: 1
          max: 3
          text: How much?
        """
    )
    first = start(flow)
    assert first.events == (
        MessageOut(
            "OK?\n1. Yes\n2. No",
            MessageKind.QUESTION,
            "ok",
            (Button("Yes", "1"), Button("No", "2")),
            "OK?",
        ),
    )
    second = reply(flow, first.session, "yes")
    assert second.events[-1] == MessageOut(
        "How much?",
        MessageKind.QUESTION,
        "s",
        (Button("1", "1"), Button("2", "2"), Button("3", "3")),
    )


def test_text_and_number_questions_are_asked_plainly() -> None:
    flow = make_flow(
        """
        - id: n
          type: number
          text: How many?
        - id: t
          type: text
          text: Tell us more
        """
    )
    first = start(flow)
    assert first.events == (MessageOut("How many?", MessageKind.QUESTION, "n"),)
    second = reply(flow, first.session, "3")
    assert second.events == (
        AnswerRecorded("n", 3, "3"),
        MessageOut("Tell us more", MessageKind.QUESTION, "t"),
    )


def test_reply_updates_the_session_time() -> None:
    flow = make_flow(CHOICE_4)
    later = NOW + timedelta(hours=5)
    turn = advance(flow, start(flow).session, Reply("zzz"), later)
    assert turn.session.started_at == NOW
    assert turn.session.updated_at == later


# -- hints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "bad_reply", "hint"),
    [
        (CHOICE_4, "9", "Please reply with a number from 1 to 4."),
        (CHOICE_4, "  ", "Please reply with a number from 1 to 4."),
        (
            """
            - id: q
              type: choice
              multiple: true
              text: Which?
              options:
                - {id: a, text: Alpha}
                - {id: b, text: Beta}
                - {id: c, text: Gamma}
            """,
            "1 4",
            "Please reply with one or more numbers from 1 to 3, like: 1 3",
        ),
        ("- {id: q, type: yesno, text: 'OK?'}", "maybe", "Please reply 1 for Yes or 2 for No."),
        ("- {id: q, type: scale, text: Rate}", "6", "Please reply with a number from 1 to 5."),
        (
            "- {id: q, type: scale, min: 0, max: 9, text: Rate}",
            "10",
            "Please reply with a number from 0 to 9.",
        ),
        (
            "- {id: q, type: number, min: 0, max: 99, text: 'Years?'}",
            "100",
            "Please reply with a number from 0 to 99.",
        ),
        (
            "- {id: q, type: number, min: 18, text: 'Age?'}",
            "17",
            "Please reply with a number of 18 or more.",
        ),
        (
            "- {id: q, type: number, max: 10, text: 'Kids?'}",
            "11",
            "Please reply with a number up to 10.",
        ),
        (
            "- {id: q, type: number, text: 'How many?'}",
            "many",
            "Please reply with a whole number, like: 3",
        ),
        (
            "- {id: q, type: number, text: 'How many?'}",
            "2.5",
            "Please reply with a whole number, like: 3",
        ),
        (
            "- {id: q, type: number, decimals: true, text: 'How much?'}",
            "lots",
            "Please reply with a number, like: 3",
        ),
        (
            "- {id: q, type: number, decimals: true, min: 0.5, max: 2.5, text: 'Litres?'}",
            "3",
            "Please reply with a number from 0.5 to 2.5.",
        ),
        (
            "- {id: q, type: number, text: 'How many?'}",
            " ",
            "Please send your answer as a text message.",
        ),
        (
            "- {id: q, type: text, max_length: 10, text: Say}",
            "01234567890",
            "Please send a shorter answer, up to 10 characters.",
        ),
        (
            "- {id: q, type: text, max_length: 1, text: 'Letter?'}",
            "ab",
            "Please send a shorter answer, up to 1 character.",
        ),
        (
            "- {id: q, type: text, text: Say}",
            "",
            "Please send your answer as a text message.",
        ),
        (
            "- {id: q, type: language, text: 'Language?'}",
            "3",
            "Please reply with a number from 1 to 2.",
        ),
        # A fraction, within the range: the hint says a whole number is wanted, and the
        # question's own range (never a range 2.5 is already inside of, unexplained).
        (
            "- {id: q, type: number, min: 0, max: 99, text: 'Years?'}",
            "2.5",
            "Please reply with a whole number from 0 to 99.",
        ),
        (
            "- {id: q, type: number, min: 1, text: 'Rooms?'}",
            "2,5",
            "Please reply with a whole number of 1 or more.",
        ),
        (
            "- {id: q, type: number, max: 10, text: 'Kids?'}",
            "2.5",
            "Please reply with a whole number up to 10.",
        ),
        (
            "- {id: q, type: scale, text: Rate}",
            "2.5",
            "Please reply with a whole number from 1 to 5.",
        ),
        (CHOICE_4, "2.5", "Please reply with a number from 1 to 4."),
        (
            """
            - id: q
              type: choice
              multiple: true
              text: Which?
              options:
                - {id: a, text: Alpha}
                - {id: b, text: Beta}
                - {id: none, text: None of these, exclusive: true}
            """,
            "1 3",
            'You cannot choose "None of these" together with other answers.',
        ),
    ],
)
def test_hint_after_a_reply_not_understood(steps: str, bad_reply: str, hint: str) -> None:
    flow = make_flow(steps)
    first = start(flow, env=TWO_LANGUAGES)
    turn = reply(flow, first.session, bad_reply, TWO_LANGUAGES)
    assert turn.events == (MessageOut(hint, MessageKind.HINT, "q"),)
    assert turn.session == first.session.evolve(tries=1)


def test_a_good_reply_after_a_hint_resets_the_tries() -> None:
    flow = make_flow(CHOICE_4 + "- {id: t, type: text, text: 'More?'}\n")
    turns = play(flow, "x", "y", "2")
    assert [t.session.tries for t in turns] == [0, 1, 2, 0]
    assert turns[-1].events[0] == AnswerRecorded("q", "b", "2")
    assert turns[-1].session.step_id == "t"


# -- giving up ---------------------------------------------------------------------------

SKIPPABLE = """
- id: q1
  type: yesno
  attempts: 2
  text: First?
- id: q2
  type: yesno
  text: Second?
"""


def test_skip_after_the_last_attempt() -> None:
    flow = make_flow(SKIPPABLE)
    turns = play(flow, "what", "what")
    assert texts(turns[1]) == ["Please reply 1 for Yes or 2 for No."]
    last = turns[2]
    assert last.events == (
        MessageOut("Let's skip this question.", MessageKind.NOTICE),
        MessageOut(
            "Second?\n1. Yes\n2. No",
            MessageKind.QUESTION,
            "q2",
            (Button("Yes", "1"), Button("No", "2")),
            "Second?",
        ),
    )
    assert not any(isinstance(e, AnswerRecorded) for t in turns for e in t.events)
    assert last.session.answers == {}
    assert last.session.step_id == "q2"
    assert last.session.tries == 0


def test_flow_default_is_three_attempts_then_skip() -> None:
    flow = make_flow(
        "- {id: q1, type: yesno, text: 'First?'}\n- {id: q2, type: yesno, text: 'Two?'}"
    )
    turns = play(flow, "x", "x", "x")
    assert [t.events[0] for t in turns[1:3]] == [
        MessageOut("Please reply 1 for Yes or 2 for No.", MessageKind.HINT, "q1")
    ] * 2
    assert texts(turns[3])[0] == "Let's skip this question."
    assert turns[3].session.step_id == "q2"


def test_one_attempt_skips_at_once() -> None:
    flow = make_flow(
        "- {id: q1, type: yesno, attempts: 1, text: 'First?'}\n"
        "- {id: q2, type: yesno, text: 'Two?'}"
    )
    turn = play(flow, "x")[-1]
    assert texts(turn) == ["Let's skip this question.", "Two?\n1. Yes\n2. No"]


def test_skipping_the_last_question_completes_the_flow() -> None:
    flow = make_flow("- {id: q1, type: yesno, attempts: 1, text: 'First?'}")
    turn = play(flow, "x")[-1]
    assert turn.events == (
        MessageOut("Let's skip this question.", MessageKind.NOTICE),
        FlowEnded(EndReason.COMPLETED),
    )
    assert turn.session.ended


def test_on_fail_end_apologises_and_ends_the_flow() -> None:
    flow = make_flow(
        """
        - id: q1
          type: yesno
          attempts: 2
          on_fail: end
          text: First?
        - {id: q2, type: yesno, text: "Two?"}
        """
    )
    turns = play(flow, "x", "x")
    assert turns[2].events == (
        MessageOut(
            "Sorry, we could not understand. Send any message to start again.",
            MessageKind.NOTICE,
        ),
        FlowEnded(EndReason.FAILED),
    )
    session = turns[2].session
    assert session.ended
    assert session.step_id is None
    assert session.tries == 0


def test_flow_level_on_fail_end() -> None:
    flow = make_flow(
        "- {id: q1, type: yesno, text: 'First?'}", header="attempts: 1\non_fail: end\n"
    )
    turn = play(flow, "x")[-1]
    assert turn.events[-1] == FlowEnded(EndReason.FAILED)


def test_question_on_fail_skip_overrides_the_flow() -> None:
    flow = make_flow(
        "- {id: q1, type: yesno, on_fail: skip, text: 'First?'}\n"
        "- {id: q2, type: yesno, text: 'Two?'}",
        header="attempts: 1\non_fail: end\n",
    )
    turn = play(flow, "x")[-1]
    assert texts(turn)[0] == "Let's skip this question."
    assert turn.session.step_id == "q2"


# -- branches ----------------------------------------------------------------------------

BRANCH_ON_CHOICE = """
- id: pick
  type: choice
  text: Pick
  options:
    - {id: a, text: Alpha}
    - {id: b, text: Beta}
    - {id: c, text: Gamma}
- id: route
  type: branch
  on: pick
  cases:
    - {is: a, goto: about_a}
    - {is: [b, c], goto: about_bc}
  else: other
- {id: about_a, type: text, text: "Why A?", goto: other}
- {id: about_bc, type: text, text: "Why B or C?"}
- {id: other, type: yesno, text: "Anything else?"}
"""


@pytest.mark.parametrize(
    ("answer", "asked"), [("1", "about_a"), ("2", "about_bc"), ("gamma", "about_bc")]
)
def test_branch_on_choice(answer: str, asked: str) -> None:
    flow = make_flow(BRANCH_ON_CHOICE)
    assert play(flow, answer)[-1].session.step_id == asked


def test_goto_after_a_question() -> None:
    flow = make_flow(BRANCH_ON_CHOICE)
    assert play(flow, "1", "because")[-1].session.step_id == "other"


def test_branch_on_a_skipped_question_takes_else() -> None:
    flow = make_flow(BRANCH_ON_CHOICE.replace("text: Pick", "text: Pick\n  attempts: 1"))
    turn = play(flow, "zzz")[-1]
    assert texts(turn)[0] == "Let's skip this question."
    assert turn.session.step_id == "other"


BRANCH_ON_MULTIPLE = """
- id: pick
  type: choice
  multiple: true
  text: Pick
  options:
    - {id: a, text: Alpha}
    - {id: b, text: Beta}
    - {id: c, text: Gamma}
- id: route
  type: branch
  on: pick
  cases:
    - {is: b, goto: about_b}
- {id: not_b, type: text, text: "Not B?", goto: done}
- {id: about_b, type: text, text: "Why B?"}
- {id: done, type: end, text: Bye}
"""


@pytest.mark.parametrize(
    ("answer", "asked"),
    [("2", "about_b"), ("1 2", "about_b"), ("3 2 1", "about_b"), ("1 3", "not_b"), ("1", "not_b")],
)
def test_branch_on_multiple_choice_matches_any_selected(answer: str, asked: str) -> None:
    flow = make_flow(BRANCH_ON_MULTIPLE)
    assert play(flow, answer)[-1].session.step_id == asked


BRANCH_ON_NUMBER = """
- {id: age, type: number, min: 0, max: 120, text: "Age?"}
- id: route
  type: branch
  on: age
  cases:
    - {max: 17, goto: young}
    - {min: 18, max: 64, goto: adult}
    - {is: 100, goto: century}
  else: older
- {id: young, type: end, text: Young}
- {id: adult, type: end, text: Adult}
- {id: century, type: end, text: Century}
- {id: older, type: end, text: Older}
"""


@pytest.mark.parametrize(
    ("age", "said"),
    [
        ("0", "Young"),
        ("17", "Young"),
        ("18", "Adult"),
        ("64", "Adult"),
        ("65", "Older"),
        ("100", "Century"),
        ("120", "Older"),
    ],
)
def test_branch_on_number_bounds_and_else(age: str, said: str) -> None:
    flow = make_flow(BRANCH_ON_NUMBER)
    turn = play(flow, age)[-1]
    assert turn.events[1:] == (
        MessageOut(said, MessageKind.TEXT, said.lower()),
        FlowEnded(EndReason.COMPLETED),
    )


BRANCH_ON_YES_NO = """
- {id: ok, type: yesno, text: "OK?"}
- id: route
  type: branch
  on: ok
  cases:
    - {is: no, goto: why_not}
- {id: great, type: end, text: Great}
- {id: why_not, type: text, text: "Why not?"}
"""


@pytest.mark.parametrize(("answer", "said"), [("1", ["Great"]), ("2", ["Why not?"])])
def test_branch_on_yes_no_without_else_goes_to_the_next_step(answer: str, said: list[str]) -> None:
    flow = make_flow(BRANCH_ON_YES_NO)
    assert texts(play(flow, answer)[-1]) == said


def test_branch_falling_off_the_end_completes_the_flow() -> None:
    flow = make_flow(
        """
        - {id: ok, type: yesno, text: "OK?", goto: route}
        - {id: more, type: text, text: Tell us}
        - id: route
          type: branch
          on: ok
          cases:
            - {is: yes, goto: more}
        """
    )
    # "no" goes straight to the branch, which matches nothing and is the last step.
    turn = play(flow, "no")[-1]
    assert turn.events == (
        AnswerRecorded("ok", "no", "no"),
        MessageOut("Thank you!", MessageKind.NOTICE),
        FlowEnded(EndReason.COMPLETED),
    )
    assert turn.session.ended
    assert turn.session.step_id is None


# -- contact fields ----------------------------------------------------------------------


def test_set_step_changes_the_contact() -> None:
    flow = make_flow(
        """
        - {id: tag, type: set, field: source, value: flyer}
        - {id: q, type: yesno, text: "OK?"}
        """
    )
    turn = start(flow)
    assert turn.events[0] == ContactChanged("source", "flyer")
    assert turn.session.step_id == "q"


def test_set_step_can_change_the_language() -> None:
    flow = make_flow(
        """
        - {id: to_pl, type: set, field: language, value: pl}
        - id: q
          type: yesno
          text: {en: "OK?", pl: "Dobrze?"}
        """
    )
    turn = start(flow, env=TAGGED)
    assert turn.events[0] == ContactChanged("language", "pl")
    assert turn.session.language == "pl"
    assert texts(turn) == ["Dobrze?\n1. [pl] Yes\n2. [pl] No"]


@pytest.mark.parametrize(
    ("steps", "answer", "stored"),
    [
        ("- {id: q, type: yesno, field: panel, text: 'Join?'}", "yes", "yes"),
        ("- {id: q, type: number, field: panel, text: 'Years?'}", "about 12", "12"),
        ("- {id: q, type: text, field: panel, text: 'Name?'}", "  Ada Lovelace ", "Ada Lovelace"),
        (
            """
            - id: q
              type: choice
              multiple: true
              field: panel
              text: Which?
              options:
                - {id: red, text: Red}
                - {id: green, text: Green}
                - {id: blue, text: Blue}
            """,
            "3 1",
            "red blue",
        ),
    ],
)
def test_question_field_changes_the_contact(steps: str, answer: str, stored: str) -> None:
    flow = make_flow(steps)
    events = play(flow, answer)[-1].events
    assert events[1] == ContactChanged("panel", stored)
    assert isinstance(events[0], AnswerRecorded)


# -- languages ---------------------------------------------------------------------------

BILINGUAL = """
- id: lang
  type: language
  text: {en: "Which language?", pl: "Który język?"}
- id: hello
  type: message
  text: {en: Hello, pl: Cześć}
- id: only_english
  type: message
  text: Only in English
- id: ok
  type: yesno
  text: {en: "OK?", pl: "Dobrze?"}
"""


@pytest.mark.parametrize("answer", ["2", "b", "Polski", "polski", "POLISH", "pl"])
def test_language_question_sets_the_language(answer: str) -> None:
    flow = make_flow(BILINGUAL)
    first = start(flow, env=TAGGED)
    assert texts(first) == ["Which language?\n1. English\n2. Polski"]
    turn = reply(flow, first.session, answer, TAGGED)
    assert turn.events[:2] == (
        AnswerRecorded("lang", "pl", answer),
        ContactChanged("language", "pl"),
    )
    assert turn.session.language == "pl"
    # Later texts come in Polish; a text not translated falls back to the source language.
    assert texts(turn) == ["Cześć", "Only in English", "Dobrze?\n1. [pl] Yes\n2. [pl] No"]


def test_the_bots_own_sentences_follow_the_new_language() -> None:
    flow = make_flow(BILINGUAL)
    turns = play(flow, "2", "hmm", env=TAGGED)
    assert texts(turns[-1]) == ["[pl] Please reply 1 for [pl] Yes or 2 for [pl] No."]


def test_a_question_not_wholly_translated_is_asked_wholly_in_the_source_language() -> None:
    flow = make_flow(
        """
        - {id: m, type: message, text: Only in English}
        - id: q
          type: choice
          text: {en: Pick, pl: Wybierz}
          options:
            - {id: a, text: {en: Alpha, pl: Alfa}}
            - {id: b, text: Beta}
        """
    )
    turn = start(flow, "pl", TWO_LANGUAGES)
    # Never "Wybierz / Alfa / Beta": a question with English holes is asked in English.
    assert texts(turn) == ["Only in English", "Pick\n1. Alpha\n2. Beta"]
    assert all(text for text in texts(turn))
    # Its answers are still understood in either language.
    assert play(flow, "alfa", language="pl", env=TWO_LANGUAGES)[-1].session.answers["q"] == "a"


def test_unknown_language_gets_the_source_language() -> None:
    flow = make_flow("- {id: m, type: message, text: {en: Hello, pl: Cześć}}")
    assert texts(start(flow, "xx")) == ["Hello"]


# -- ending ------------------------------------------------------------------------------


def test_end_with_text() -> None:
    flow = make_flow(
        """
        - {id: q, type: yesno, text: "OK?"}
        - {id: bye, type: end, text: Bye now}
        """
    )
    turn = play(flow, "1")[-1]
    assert turn.events == (
        AnswerRecorded("q", "yes", "1"),
        MessageOut("Bye now", MessageKind.TEXT, "bye"),
        FlowEnded(EndReason.COMPLETED),
    )


def test_end_then_starts_another_flow() -> None:
    flow = make_flow(
        """
        - {id: q, type: yesno, text: "OK?"}
        - {id: next, type: end, then: welcome}
        """
    )
    turn = play(flow, "no")[-1]
    assert turn.events == (
        AnswerRecorded("q", "no", "no"),
        FlowEnded(EndReason.COMPLETED, "welcome"),
    )
    assert turn.session.ended


def test_end_then_with_text() -> None:
    flow = make_flow("- {id: next, type: end, text: Moving on, then: welcome}")
    assert start(flow).events == (
        MessageOut("Moving on", MessageKind.TEXT, "next"),
        FlowEnded(EndReason.COMPLETED, "welcome"),
    )


def test_completion_without_end_text_says_thank_you() -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}")
    turn = play(flow, "yes")[-1]
    assert turn.events == (
        AnswerRecorded("q", "yes", "yes"),
        MessageOut("Thank you!", MessageKind.NOTICE),
        FlowEnded(EndReason.COMPLETED),
    )
    assert turn.session.ended
    assert turn.session.answers == {"q": "yes"}


def test_end_step_without_text_says_thank_you_in_the_contacts_language() -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}\n- {id: e, type: end}")
    turn = play(flow, "tak", language="pl", env=TAGGED)[-1]
    assert texts(turn) == ["[pl] Thank you!"]


def test_flow_of_messages_only_runs_to_the_end_in_one_turn() -> None:
    flow = make_flow(
        """
        - {id: one, type: message, text: One}
        - {id: two, type: message, text: Two}
        """
    )
    turn = start(flow)
    assert texts(turn) == ["One", "Two"]
    assert turn.events[-1] == FlowEnded(EndReason.COMPLETED)
    assert turn.session.ended


# -- resume and bad calls ----------------------------------------------------------------


def test_resume_asks_the_current_question_again() -> None:
    flow = make_flow(BILINGUAL)
    waiting = play(flow, "2", "hmm", env=TAGGED)[-1].session
    assert waiting.tries == 1
    later = NOW + timedelta(minutes=10)
    turn = advance(flow, waiting, Resume(), later, TAGGED)
    assert texts(turn) == ["Dobrze?\n1. [pl] Yes\n2. [pl] No"]
    assert turn.messages[0].step_id == "ok"
    assert turn.session == waiting.evolve(updated_at=later, tries=0)


def test_resume_in_a_new_language() -> None:
    flow = make_flow(BILINGUAL)
    waiting = play(flow, "1", env=TWO_LANGUAGES)[-1].session
    assert waiting.language == "en"
    turn = advance(flow, waiting.evolve(language="pl"), Resume(), NOW, TWO_LANGUAGES)
    assert texts(turn) == ["Dobrze?\n1. Yes\n2. No"]


@pytest.mark.parametrize("event", [Reply("yes"), Resume()])
def test_an_ended_or_missing_session_takes_no_reply(event: Reply | Resume) -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}")
    ended = play(flow, "yes")[-1].session
    with pytest.raises(ValueError, match="only a waiting session"):
        advance(flow, ended, event, NOW)
    with pytest.raises(ValueError, match="only a waiting session"):
        advance(flow, None, event, NOW)


# -- sessions ----------------------------------------------------------------------------


def test_session_json_round_trip() -> None:
    warsaw = timezone(timedelta(hours=2))
    session = Session(
        flow_id="priorities",
        language="pl",
        started_at=datetime(2024, 5, 1, 9, 30, tzinfo=warsaw),
        updated_at=datetime(2024, 5, 1, 9, 45, 12, 345678, tzinfo=warsaw),
        step_id="services",
        answers={
            "top_issue": "housing",
            "services": ["gp", "library"],
            "years": 12,
            "l": 2.5,
            "note": 'مرحبا "quoted"\nnew line',
        },
        tries=2,
    )
    text = session.to_json()
    restored = Session.from_json(text)
    assert restored == session
    assert restored.updated_at.utcoffset() == timedelta(hours=2)
    assert "مرحبا" in text  # stored readable, not \u-escaped


def test_ended_session_json_round_trip() -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}")
    ended = play(flow, "yes")[-1].session
    assert Session.from_json(ended.to_json()) == ended


def test_is_expired() -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}")  # expiry: 3d
    waiting = start(flow).session
    assert not is_expired(flow, waiting, NOW)
    assert not is_expired(flow, waiting, NOW + timedelta(days=3))
    assert is_expired(flow, waiting, NOW + timedelta(days=3, seconds=1))
    ended = play(flow, "yes")[-1].session
    assert not is_expired(flow, ended, NOW + timedelta(days=30))


def test_is_expired_counts_from_the_last_reply() -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}\n- {id: r, type: yesno, text: 'Again?'}")
    later = NOW + timedelta(days=2)
    waiting = advance(flow, start(flow).session, Reply("yes"), later).session
    assert not is_expired(flow, waiting, NOW + timedelta(days=4))
    assert is_expired(flow, waiting, later + timedelta(days=3, minutes=1))


# -- determinism -------------------------------------------------------------------------


def test_advance_is_deterministic() -> None:
    flow = make_flow(BRANCH_ON_CHOICE)
    first = [play(flow, "2", "", "because", "maybe", "1", env=TAGGED) for _ in range(2)]
    assert first[0] == first[1]
    session = first[0][1].session
    again = [advance(flow, session, Reply("x"), NOW, TAGGED) for _ in range(3)]
    assert again[0] == again[1] == again[2]
    assert advance(flow, None, Start("en"), NOW) == advance(flow, None, Start("en"), NOW)


def test_advance_does_not_change_its_inputs() -> None:
    flow = make_flow(BRANCH_ON_CHOICE)
    session = start(flow).session
    snapshot = Session.from_json(session.to_json())
    reply(flow, session, "1")
    assert session == snapshot
    assert session.answers == {}


def test_start_time_is_the_given_now() -> None:
    flow = make_flow("- {id: q, type: yesno, text: 'OK?'}")
    other = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    session = advance(flow, None, Start("en"), other).session
    assert session.started_at == session.updated_at == other


# -- digits that are not menu numbers ----------------------------------------------------


@pytest.mark.parametrize("text", ["⓵", "1" * 4301])
def test_reply_with_a_digit_that_is_not_a_menu_number_gets_a_hint(text: str) -> None:
    flow = make_flow(CHOICE_4)
    turn = reply(flow, start(flow).session, text)
    assert turn.events == (
        MessageOut("Please reply with a number from 1 to 4.", MessageKind.HINT, "q"),
    )
