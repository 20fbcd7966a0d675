"""A budgeting ballot in the engine: pages within the SMS limit, numbers in any order,
the running total, refusals that keep the choice, ticks, YES to cast."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channels.segments import segments
from bot.engine import AnswerRecorded, ButtonKind, Env, Flow, MessageKind, Reply, Start, advance
from bot.engine.ballot import PAGE_SEGMENTS, draft_key
from bot.engine.flow import BallotItem, BallotQuestion, EndStep, Localized
from bot.engine.session import Session
from tests.engine.kit import NOW

PROJECTS = [
    ("Community garden", 12000),
    ("Youth club nights", 18500),
    ("Benches on the green", 4500),
    ("Longer library hours", 22000),
    ("Food bank van", 16000),
    ("Play area repair", 30000),
    ("A mural by the station", 8000),
    ("Street lights on Oak Lane", 25000),
    ("Bike racks", 3000),
    ("English classes for adults", 14000),
    ("Skate park", 40000),
    ("Clean-up days", 2500),
]


def ballot_flow(
    *, limit: int | None = None, within_budget: bool = True, ranked: bool = False
) -> Flow:
    items = tuple(
        BallotItem(
            str(n + 10),  # bid numbers need not be ballot positions
            Localized({"en": title, "pl": f"PL {title}"}),
            Localized({"en": f"About {title.lower()}."}),
            cost,
            "Oakfield Residents",
        )
        for n, (title, cost) in enumerate(PROJECTS, 1)
    )
    question = BallotQuestion(
        id="ballot",
        text=Localized({"en": "Oakfield Fund", "pl": "Fundusz Oakfield"}),
        items=items,
        budget=100000,
        currency="GBP",
        language="en",
        limit=limit,
        within_budget=within_budget,
        ranked=ranked,
    )
    thanks = EndStep(id="thanks", text=Localized({"en": "Thank you for voting!"}))
    return Flow("pb-1", "Oakfield Fund", "en", timedelta(days=30), (question, thanks))


def play(flow: Flow, *replies: str, language: str = "en") -> tuple[Session, list[str]]:
    turn = advance(flow, None, Start(language), NOW, Env())
    session, said = turn.session, [m.text for m in turn.messages]
    for reply in replies:
        turn = advance(flow, session, Reply(reply), NOW, Env())
        session = turn.session
        said = [m.text for m in turn.messages]
    return session, said


def test_the_list_is_paged_within_three_sms_segments_and_zero_shows_the_rest() -> None:
    flow = ballot_flow()
    _, first = play(flow)
    _, second = play(flow, "0")
    assert segments(first[0]).count <= PAGE_SEGMENTS
    assert segments(second[0]).count <= PAGE_SEGMENTS
    assert "1. Community garden - £12,000" in first[0]
    assert "0. More projects" in first[0]
    shown = first[0] + second[0]
    for n, (title, _) in enumerate(PROJECTS, 1):
        assert f"{n}. {title} - £" in shown
    assert "12. Clean-up days - £2,500" in second[0]


@pytest.mark.parametrize("reply", ["3 7 12", "3,7,12", "12, 3 7", "3;7;12", " 3 . 7 . 12 "])
def test_numbers_in_any_order_and_separator_are_confirmed_with_the_total(reply: str) -> None:
    session, said = play(ballot_flow(), reply)
    assert said == [
        "You chose 3, 7 and 12: £15,000 of £100,000."
        " Reply YES to cast your ballot, or send new numbers."
    ]
    assert session.answers[draft_key("ballot")] == ["13", "17", "22"]  # the bids' own ids


def test_over_budget_is_refused_by_how_much_and_the_choice_kept() -> None:
    session, said = play(ballot_flow(), "3 7 12", "2 4 6 11")
    assert said == [
        "That costs £110,500: £10,500 over the budget of £100,000."
        " Your choice is still 3, 7 and 12."
    ]
    assert session.answers[draft_key("ballot")] == ["13", "17", "22"]


def test_over_k_is_refused_by_how_many() -> None:
    session, said = play(ballot_flow(limit=3, within_budget=False), "1 2", "1 2 3 4 5")
    assert said == [
        "You can choose up to 3 projects. That is 2 too many. Your choice is still 1 and 2."
    ]
    assert session.answers[draft_key("ballot")] == ["11", "12"]


@pytest.mark.parametrize(
    ("reply", "hint"),
    [
        ("14", "There is no project 14. The projects are 1 to 12."),
        ("3 3", "You gave 3 twice. Give each number once."),
        ("the park please", "Reply with the numbers of the projects you choose, like: 3 7 12"),
        ("", "Reply with the numbers of the projects you choose, like: 3 7 12"),
        ("+40", "There is no project 40. The projects are 1 to 12."),
    ],
)
def test_bad_replies_get_a_hint_and_lose_nothing(reply: str, hint: str) -> None:
    session, said = play(ballot_flow(), "1 9", reply)
    assert said == [f"{hint} Your choice is still 1 and 9."]
    assert session.answers[draft_key("ballot")] == ["11", "19"]
    assert session.step_id == "ballot"  # never given up on


def test_yes_before_choosing_is_a_hint_and_yes_after_casts_the_ballot() -> None:
    flow = ballot_flow()
    _, said = play(flow, "yes")
    assert said == ["Choose at least one project first."]
    turn = advance(flow, play(flow, "3 7")[0], Reply("YES"), NOW, Env())
    recorded = [e for e in turn.events if isinstance(e, AnswerRecorded)]
    assert recorded == [AnswerRecorded("ballot", ["13", "17"], "YES")]
    assert [m.text for m in turn.messages] == [
        "Your ballot is cast: 3 and 7 (£12,500 of £100,000).",
        "Thank you for voting!",
    ]
    assert turn.session.ended


def test_plus_ticks_minus_takes_out_and_question_mark_tells_more() -> None:
    flow = ballot_flow()
    session, said = play(flow, "3", "+7", "+3", "-7")
    assert session.answers[draft_key("ballot")] == []
    assert said == ["Nothing is chosen now."]
    _, about = play(flow, "?2")
    assert about == [
        "2. Youth club nights - £18,500\nAbout youth club nights.\nProposed by Oakfield Residents."
    ]


def test_a_ranking_keeps_the_order_given() -> None:
    session, said = play(ballot_flow(limit=3, within_budget=False, ranked=True), "7 3 12")
    assert session.answers[draft_key("ballot")] == ["17", "13", "22"]
    assert said[0].startswith("Your order: 7, 3 and 12 (first choice first).")


def test_buttons_tick_chosen_projects_and_redraw_with_the_running_total() -> None:
    flow = ballot_flow()
    session, _ = play(flow, "3")
    turn = advance(flow, session, Reply("+7"), NOW, Env())
    (message,) = turn.messages
    assert message.redraw
    assert message.kind is MessageKind.QUESTION
    assert message.beside_buttons is not None
    assert message.beside_buttons.endswith("Chosen: £12,500 of £100,000.")
    labels = [b.label for b in message.buttons]
    assert "✅ 3. Benches on the green - £4,500" in labels
    assert "✅ 7. A mural by the station - £8,000" in labels
    assert "1. Community garden - £12,000" in labels
    assert all(b.kind is ButtonKind.PICK for b in message.buttons)
    assert message.buttons[-1].reply == "YES"
    assert message.buttons[0].reply == "+1"


def test_a_resident_sees_the_ballot_in_their_language_when_every_project_has_it() -> None:
    _, said = play(ballot_flow(), language="pl")
    assert said[0].startswith("Fundusz Oakfield")
    assert "1. PL Community garden" in said[0]


def test_a_ballot_started_with_an_earlier_choice_shows_it() -> None:
    flow = ballot_flow()
    known = {draft_key("ballot"): ["13", "17"]}
    turn = advance(flow, None, Start("en", known), NOW, Env())
    assert turn.messages[0].text.startswith("You chose 3 and 7: £12,500 of £100,000.")
