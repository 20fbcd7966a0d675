"""``parley ideas``, ``parley panel`` and ``parley decision``: the click commands run with
CliRunner on a real SQLite file, seeded through the store's own functions."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from bot.civic import ideas
from bot.cli.main import main
from bot.store import contacts, panels, polls
from bot.store import ideas as stored_ideas
from bot.store.contacts import Contact
from bot.store.ideas import Idea
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests import databases
from tests.cli_kit import numbers_made, rows, seed

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


# -- helpers ----------------------------------------------------------------------------------


def parley(tmp_path: Path, *args: str, answer: str | None = None) -> Result:
    """Run ``parley ARGS`` on ``tmp_path/parley.db``, as an organiser at the command line,
    typing ``answer`` to any question it asks."""
    config = tmp_path / "parley.toml"
    if not config.exists():
        config.write_text("[parley]\n", encoding="utf-8")
    return CliRunner().invoke(
        main,
        ["--config", str(config), *args],
        input=answer,
        env={"PARLEY_DATABASE": databases.of(tmp_path)},
    )


def ok(result: Result) -> str:
    """The output of a command that must have succeeded."""
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def resident(
    tx: Tx,
    number: int,
    language: str = "en",
    opted_out: bool = False,
    **fields: str,
) -> Contact:
    contact = contacts.ensure(tx, "sms", f"+4477009{number:05d}", language, NOW)
    contacts.record(tx, contact.id, "consent", NOW, "texted in", NOW)
    if fields:
        contact = contacts.update(tx, contact, dict(fields))
    if opted_out:
        contacts.set_opted_out(tx, contact.id, True, NOW)
    return contact


def idea_from(tx: Tx, number: int, text: str, language: str = "en", **options: Any) -> Idea:
    sender = resident(tx, number, language, **options)
    return ideas.submit(tx, sender, text, language, NOW, region="GB")


def outbox_of(tmp_path: Path, contact_id: int) -> list[tuple[str, str]]:
    """(language, text) of every message written for one resident."""
    return [
        (str(language), str(text))
        for language, text in rows(
            tmp_path,
            "SELECT language, text FROM outbox WHERE contact_id = ? ORDER BY id",
            contact_id,
        )
    ]


def status_of(tmp_path: Path, idea_id: int) -> tuple[Any, ...]:
    return rows(
        tmp_path, "SELECT status, reason, merged_into, poll_id FROM ideas WHERE id = ?", idea_id
    )[0]


# -- parley ideas -----------------------------------------------------------------------------


def test_ideas_list_shows_new_ideas_by_reference_and_flagged_ones_redacted(
    tmp_path: Path,
) -> None:
    plain, flagged = seed(
        tmp_path,
        lambda tx: (
            idea_from(tx, 1, "More benches in the park"),
            idea_from(tx, 2, "Call me on 07700 900123"),
        ),
    )
    shown = ok(parley(tmp_path, "ideas", "list"))
    assert re.fullmatch(r"ID-[0-9]{4}", plain.reference)
    assert f"{plain.reference} new" in shown
    assert "More benches in the park" in shown
    assert f"{flagged.reference} new · FLAGGED phone" in shown
    assert "Call me on [phone]" in shown
    assert "07700" not in shown
    assert "900123" not in shown


def test_approving_an_idea_changes_its_status_and_keeps_a_flagged_one_hidden(
    tmp_path: Path,
) -> None:
    flagged = seed(tmp_path, lambda tx: idea_from(tx, 1, "Call me on 07700 900123"))
    said = ok(parley(tmp_path, "ideas", "approve", flagged.reference))
    assert f"{flagged.reference} approved (its personal details stay hidden)." in said
    assert status_of(tmp_path, flagged.id)[0] == "approved"
    assert "900123" not in ok(parley(tmp_path, "ideas", "list"))


def test_rejecting_for_cost_tells_a_polish_submitter_in_polish(tmp_path: Path) -> None:
    idea = seed(tmp_path, lambda tx: idea_from(tx, 1, "Nowy basen", "pl"))
    ok(parley(tmp_path, "ideas", "reject", idea.reference, "cost", "--yes"))
    assert status_of(tmp_path, idea.id)[:2] == ("rejected", "cost")
    [(language, text)] = outbox_of(tmp_path, idea.contact_id)
    assert language == "pl"
    assert text == (
        f"Twój pomysł {idea.reference} nie będzie realizowany. Kosztuje więcej, niż pozwala budżet."
    )


def test_rejecting_in_free_words_sends_the_words_as_written(tmp_path: Path) -> None:
    idea = seed(tmp_path, lambda tx: idea_from(tx, 1, "A car park on the green"))
    said = ok(
        parley(tmp_path, "ideas", "reject", idea.reference, "The", "green", "is", "listed", "--yes")
    )
    assert "Your reason is sent as written." in said
    assert status_of(tmp_path, idea.id)[:2] == ("rejected", "The green is listed")
    [(language, text)] = outbox_of(tmp_path, idea.contact_id)
    assert language == "en"
    assert idea.reference in text
    assert text.endswith("will not be taken forward. The green is listed")


def test_merging_tells_the_duplicates_sender_about_the_kept_idea(tmp_path: Path) -> None:
    kept, duplicate = seed(
        tmp_path,
        lambda tx: (
            idea_from(tx, 1, "Fix the street lights"),
            idea_from(tx, 2, "Naprawcie latarnie", "pl"),
        ),
    )
    ok(parley(tmp_path, "ideas", "merge", duplicate.reference, kept.reference, "--yes"))
    assert status_of(tmp_path, duplicate.id)[:3] == ("merged", None, kept.id)
    assert status_of(tmp_path, kept.id)[0] == "new"
    [(language, text)] = outbox_of(tmp_path, duplicate.contact_id)
    assert language == "pl"
    assert text.startswith(f"Twój pomysł {duplicate.reference} połączono z podobnym pomysłem")
    assert kept.reference in text
    assert outbox_of(tmp_path, kept.contact_id) == []  # the kept idea's sender: nothing new


def test_an_opted_out_submitter_is_not_told(tmp_path: Path) -> None:
    idea = seed(tmp_path, lambda tx: idea_from(tx, 1, "More bins", opted_out=True))
    ok(parley(tmp_path, "ideas", "reject", idea.reference, "done", "--yes"))
    assert status_of(tmp_path, idea.id)[0] == "rejected"
    assert rows(tmp_path, "SELECT count(*) FROM outbox") == [(0,)]


def _approved(tx: Tx, number: int, text: str, language: str = "en") -> Idea:
    idea = idea_from(tx, number, text, language)
    stored_ideas.moderate(tx, idea.id, stored_ideas.APPROVED, "test", NOW)
    return idea


def test_shortlisting_approved_ideas_makes_a_poll_of_them_and_tells_their_senders(
    tmp_path: Path,
) -> None:
    first, second = seed(
        tmp_path,
        lambda tx: (
            _approved(tx, 1, "A play area by the flats"),
            _approved(tx, 2, "Plac zabaw przy szkole", "pl"),
        ),
    )
    said = ok(parley(tmp_path, "ideas", "shortlist", first.reference, second.reference, "--yes"))
    assert "Shortlisted 2 ideas; their senders are told." in said
    [(poll_id, options)] = rows(tmp_path, "SELECT id, options FROM polls")
    assert [option["text"]["en"] for option in json.loads(options)] == [
        "A play area by the flats",
        "Plac zabaw przy szkole",
    ]
    for idea in (first, second):
        assert status_of(tmp_path, idea.id)[0::3] == ("shortlisted", poll_id)
    english = [text for _, text in outbox_of(tmp_path, first.contact_id)]
    polish = [text for _, text in outbox_of(tmp_path, second.contact_id)]
    assert f"Good news: your idea {first.reference} is on the shortlist." in "\n".join(english)
    assert f"Twój pomysł {second.reference} trafił na listę finałową" in "\n".join(polish)
    assert any("A play area by the flats" in text for text in english)  # the poll itself


def test_shortlisting_an_idea_not_approved_fails_and_makes_no_poll(tmp_path: Path) -> None:
    approved, new = seed(
        tmp_path,
        lambda tx: (_approved(tx, 1, "A play area"), idea_from(tx, 2, "A skate park")),
    )
    result = parley(tmp_path, "ideas", "shortlist", approved.reference, new.reference, "--yes")
    assert result.exit_code != 0
    assert f"{new.reference} is new: only approved ideas" in result.output
    assert rows(tmp_path, "SELECT count(*) FROM polls") == [(0,)]
    assert status_of(tmp_path, approved.id)[0] == "approved"


def test_an_idea_reading_like_a_poll_setting_is_still_an_option(tmp_path: Path) -> None:
    odd, *others = seed(
        tmp_path,
        lambda tx: [
            _approved(tx, 1, "Multiple"),
            _approved(tx, 2, "A skate park"),
            _approved(tx, 3, "More benches"),
        ],
    )
    refs = [idea.reference for idea in (odd, *others)]
    ok(parley(tmp_path, "ideas", "shortlist", *refs, "--yes"))
    [(options, multiple)] = rows(tmp_path, "SELECT options, multiple FROM polls")
    assert [option["text"]["en"] for option in json.loads(options)] == [
        "Multiple",
        "A skate park",
        "More benches",
    ]
    assert multiple == 0


# -- parley panel -----------------------------------------------------------------------------


def _thirty_residents(tx: Tx) -> None:
    for number in range(30):
        resident(tx, number, area="North" if number < 20 else "South")


def _invited(tmp_path: Path) -> list[tuple[int, str]]:
    """(contact, area) of everyone the panel invitation was written for."""
    return [
        (int(contact), str(area))
        for contact, area in rows(
            tmp_path,
            "SELECT o.contact_id, json_extract(c.fields, '$.area') FROM outbox o"
            " JOIN contacts c ON c.id = o.contact_id"
            " JOIN panels p ON p.invite_id = o.broadcast_id ORDER BY o.contact_id",
        )
    ]


def test_panel_invite_sends_the_panel_flow_to_a_sample_spread_over_areas(
    tmp_path: Path,
) -> None:
    seed(tmp_path, _thirty_residents)
    invite = ("panel", "invite", "Fund panel", "--sample", "9", "--seed", "7", "--by", "area")
    said = ok(parley(tmp_path, *invite, "--yes"))
    assert "Panel 1 'Fund panel':" in said
    assert rows(tmp_path, "SELECT name, invite_seed FROM panels") == [("Fund panel", 7)]
    [(kind, flow)] = rows(
        tmp_path, "SELECT b.kind, b.flow_id FROM broadcasts b JOIN panels p ON p.invite_id = b.id"
    )
    assert (kind, flow) == ("flow", "panel")
    invited = _invited(tmp_path)
    assert Counter(area for _, area in invited) == {"North": 6, "South": 3}

    again = tmp_path / "again"  # the same residents elsewhere, the same seed
    again.mkdir()
    seed(again, _thirty_residents)
    ok(parley(again, *invite, "--yes"))
    assert _invited(again) == invited


QUOTAS = "category,value,min,max\narea,North,2,2\narea,South,2,2\nage,young,1,3\nage,old,1,3\n"


def _volunteers(tx: Tx) -> int:
    """A panel with 12 volunteers: 7 in the North, 5 in the South, half young."""
    panel_id = panels.create(tx, "Fund panel", 1, NOW)
    for number in range(12):
        contact = resident(tx, number)
        profile = {
            "area": "North" if number < 7 else "South",
            "age": "young" if number % 2 else "old",
        }
        panels.volunteer(tx, panel_id, contact.id, profile, NOW)
    return panel_id


def test_panel_select_draws_within_the_quotas_and_keeps_the_rest_as_reserves(
    tmp_path: Path,
) -> None:
    panel_id = seed(tmp_path, _volunteers)
    quotas = tmp_path / "q.csv"
    quotas.write_text(QUOTAS, encoding="utf-8")
    args = ("--size", "4", "--quotas", str(quotas), "--seed", "3")
    said = ok(parley(tmp_path, "panel", "select", str(panel_id), *args))
    assert "seed 3" in said
    assert "Chance of selection: lowest " in said
    assert ", highest " in said
    assert "\nV1 " in said
    assert "\nV12 " in said
    members = rows(
        tmp_path, "SELECT status, profile FROM panel_members WHERE panel_id = ?", panel_id
    )
    assert Counter(status for status, _ in members) == {"selected": 4, "reserve": 8}
    chosen = Counter(
        (category, value)
        for status, profile in members
        if status == "selected"
        for category, value in json.loads(profile).items()
    )
    assert chosen["area", "North"] == chosen["area", "South"] == 2
    assert 1 <= chosen["age", "young"] <= 3
    assert 1 <= chosen["age", "old"] <= 3


def test_a_quotas_file_with_a_bad_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    panel_id = seed(tmp_path, _volunteers)
    quotas = tmp_path / "q.csv"
    quotas.write_text("category,value,min,max\narea,North,2,2\narea,South,two,2\n", "utf-8")
    args = ("--size", "4", "--quotas", str(quotas), "--seed", "3")
    result = parley(tmp_path, "panel", "select", str(panel_id), *args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # click's error, not a crash
    assert f"{quotas}:3: min and max are whole numbers" in result.output


def test_infeasible_quotas_fail_naming_the_category(tmp_path: Path) -> None:
    panel_id = seed(tmp_path, _volunteers)
    quotas = tmp_path / "q.csv"
    quotas.write_text("category,value,min,max\narea,North,0,4\narea,South,6,6\n", "utf-8")
    args = ("--size", "6", "--quotas", str(quotas), "--seed", "3")
    result = parley(tmp_path, "panel", "select", str(panel_id), *args)
    assert result.exit_code != 0
    assert "category 'area' cannot be met" in result.output
    assert "at least 6 must be 'South', but only 5 volunteers are" in result.output
    assert rows(tmp_path, "SELECT DISTINCT status FROM panel_members") == [("volunteer",)]


def _drawn(tx: Tx) -> dict[str, list[int]]:
    """A panel drawn already: 2 of its 4 volunteers selected (one Polish), 2 reserves."""
    panel_id = panels.create(tx, "Fund panel", 1, NOW)
    who = [resident(tx, number, "pl" if number == 1 else "en") for number in range(4)]
    for contact in who:
        panels.volunteer(tx, panel_id, contact.id, {"area": "North"}, NOW)
    chosen = {who[0].id, who[1].id}
    chances = {contact.id: 0.5 for contact in who}
    panels.record_selection(tx, panel_id, 2, 3, [], chances, chosen, NOW)
    return {"chosen": sorted(chosen), "reserves": [who[2].id, who[3].id]}


def test_panel_notify_asks_the_chosen_to_take_their_seat_and_thanks_the_reserves(
    tmp_path: Path,
) -> None:
    who = seed(tmp_path, _drawn)
    said = ok(parley(tmp_path, "panel", "notify", "1", "--yes"))
    assert "the chosen and the reserves told." in said
    assert len(numbers_made(said, "Broadcasts")) == 2
    told = rows(
        tmp_path,
        "SELECT o.contact_id, b.kind, b.flow_id FROM outbox o"
        " JOIN broadcasts b ON b.id = o.broadcast_id ORDER BY o.contact_id",
    )
    assert told == [
        (who["chosen"][0], "flow", "panel_seat"),
        (who["chosen"][1], "flow", "panel_seat"),
        (who["reserves"][0], "message", None),
        (who["reserves"][1], "message", None),
    ]
    assert "not chosen by lot" in outbox_of(tmp_path, who["reserves"][0])[0][1]


def _seated(tx: Tx) -> int:
    panel_id = panels.create(tx, "Fund panel", 1, NOW)
    for number in range(3):
        contact = resident(tx, number)
        panels.volunteer(tx, panel_id, contact.id, {"area": "North"}, NOW)
        panels.set_status(tx, panel_id, contact.id, panels.ACCEPTED, NOW)
    return panel_id


def test_a_panel_vote_closing_in_the_past_is_refused(tmp_path: Path) -> None:
    panel_id = seed(tmp_path, _seated)
    vote = ("panel", "vote", str(panel_id), "--proposal", "Fund the garden")
    result = parley(tmp_path, *vote, "--closes", "2020-01-01 10:00", "--yes")
    assert result.exit_code != 0
    assert "the closing time has already passed" in result.output
    assert rows(tmp_path, "SELECT count(*) FROM polls") == [(0,)]


# -- parley decision --------------------------------------------------------------------------


def _voters(tx: Tx) -> dict[str, int]:
    """Poll 1 and its voters: English, Polish, opted out; and a resident who did not vote."""
    options = tuple(PollOption(name, {"en": name}) for name in ("lights", "benches"))
    poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), NOW)
    who = {
        "en": resident(tx, 1),
        "pl": resident(tx, 2, "pl"),
        "en2": resident(tx, 3),
        "en3": resident(tx, 4),
        "out": resident(tx, 5),
        "none": resident(tx, 6),
    }
    for name, contact in who.items():
        if name != "none":
            polls.vote(tx, poll_id, contact.id, "lights", contact.language or "en", "sms", NOW)
    contacts.set_opted_out(tx, who["out"].id, True, NOW)
    return {name: contact.id for name, contact in who.items()}


RECORD = (
    "decision",
    "record",
    "--status",
    "agreed",
    "--text",
    "en=New street lights on Mill Road",
    "--text",
    "pl=Nowe latarnie na Mill Road",
    "--answers",
    "poll:1",
    "--yes",
)


def test_a_decision_goes_to_every_voter_in_their_language(tmp_path: Path) -> None:
    who = seed(tmp_path, _voters)
    said = ok(parley(tmp_path, *RECORD))
    assert (
        f"Decision {numbers_made(said, 'Decision')[0]}: sent to 4 residents who took part." in said
    )
    assert outbox_of(tmp_path, who["en"]) == [
        ("en", "You said, we did. Agreed:\nNew street lights on Mill Road")
    ]
    assert outbox_of(tmp_path, who["pl"]) == [
        ("pl", "Powiedzieliście, zrobiliśmy. Przyjęto:\nNowe latarnie na Mill Road")
    ]
    assert outbox_of(tmp_path, who["out"]) == []
    assert outbox_of(tmp_path, who["none"]) == []


def test_a_decision_answering_a_poll_that_does_not_exist_fails(tmp_path: Path) -> None:
    seed(tmp_path, _voters)
    wrong = [("poll:999" if arg == "poll:1" else arg) for arg in RECORD]
    result = parley(tmp_path, *wrong)
    assert result.exit_code != 0
    assert "there is no poll 999" in result.output
    assert rows(tmp_path, "SELECT count(*) FROM decisions") == [(0,)]
    assert rows(tmp_path, "SELECT count(*) FROM outbox") == [(0,)]


def _recipients(tmp_path: Path, broadcast_id: int) -> list[int]:
    return [
        int(contact)
        for (contact,) in rows(
            tmp_path,
            "SELECT contact_id FROM outbox WHERE broadcast_id = ? ORDER BY contact_id",
            broadcast_id,
        )
    ]


def test_a_decision_update_goes_to_the_same_residents(tmp_path: Path) -> None:
    who = seed(tmp_path, _voters)
    [decision] = numbers_made(ok(parley(tmp_path, *RECORD)), "Decision")
    update = ["decision", "update", str(decision), "--status", "done"]
    update += ["--text", "en=The lights are up"]
    ok(parley(tmp_path, *update, "--yes"))
    sends = rows(tmp_path, "SELECT status, broadcast_id FROM decision_sends ORDER BY id")
    assert [status for status, _ in sends] == ["agreed", "done"]
    first, then = (broadcast_id for _, broadcast_id in sends)
    assert _recipients(tmp_path, then) == _recipients(tmp_path, first)
    assert len(_recipients(tmp_path, then)) == 4
    # no Polish text given: the Polish voter reads heading and text in English, not half
    assert outbox_of(tmp_path, who["pl"])[-1][1] == "You said, we did. Done:\nThe lights are up"


def test_decision_reach_counts_the_outbox(tmp_path: Path) -> None:
    who = seed(tmp_path, _voters)
    [decision] = numbers_made(ok(parley(tmp_path, *RECORD)), "Decision")
    [(broadcast,)] = rows(tmp_path, "SELECT broadcast_id FROM decision_sends")
    with databases.connect(databases.location(tmp_path)) as db:
        db.execute("UPDATE outbox SET status = 'sent' WHERE contact_id = ?", (who["en"],))
        db.execute("UPDATE outbox SET status = 'failed' WHERE contact_id = ?", (who["pl"],))
        db.execute(
            "UPDATE outbox SET status = 'sent', delivery = 'delivered' WHERE contact_id = ?",
            (who["en2"],),
        )
    said = ok(parley(tmp_path, "decision", "reach", str(decision)))
    assert f"Decision {decision} (agreed), answering poll 1:" in said
    assert (
        f"first sent (agreed, broadcast {broadcast}): 4 residents; delivered 1, sent 1, failed 1,"
        " waiting 1, not sent 0"
    ) in said
