"""The decisions pages: the list, recording one (previewed, then sent once), a decision's
reach and its updates; for organisers only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from bot.civic import ideas
from bot.store import contacts, polls
from bot.store.ideas import reference
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser

RECORD: dict[str, object] = {
    "status": "agreed",
    "text_en": "New street lights on Mill Road",
    "text_pl": "Nowe latarnie na Mill Road",
    "polls": "1",
}


def _voters(harness: Harness) -> Callable[[Tx], dict[str, int]]:
    """Poll 1 and its voters: English, Polish, opted out; a resident who did not vote;
    and idea 1, from someone else."""
    now = harness.clock()

    def seed(tx: Tx) -> dict[str, int]:
        options = tuple(PollOption(name, {"en": name}) for name in ("lights", "benches"))
        poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), now)
        who = {
            name: contacts.ensure(tx, "sms", f"+4477009{n:05d}", language, now)
            for n, (name, language) in enumerate(
                (("en", "en"), ("pl", "pl"), ("en2", "en"), ("out", "en"), ("none", "en")),
                start=1,
            )
        }
        for name, contact in who.items():
            contacts.record(tx, contact.id, "consent", now, "texted in", now)
            if name != "none":
                polls.vote(tx, poll_id, contact.id, "lights", contact.language or "en", "sms", now)
        contacts.set_opted_out(tx, who["out"].id, True, now)
        sender = contacts.ensure(tx, "sms", "+447700900777", "en", now)
        contacts.record(tx, sender.id, "consent", now, "texted in", now)
        ideas.submit(tx, sender, "A bench by the pond", "en", now, region="GB")
        return {name: contact.id for name, contact in who.items()} | {"sender": sender.id}

    return seed


async def _seed(web: Harness) -> dict[str, int]:
    return await web.app.database.run(_voters(web))


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field"
    return found.group(1)


async def _outbox(web: Harness, contact_id: int) -> list[tuple[str, str]]:
    rows = await web.rows(
        "SELECT language, text FROM outbox WHERE contact_id = ? ORDER BY id", contact_id
    )
    return [(row["language"], row["text"]) for row in rows]


async def _count(web: Harness, table: str) -> int:
    rows = await web.rows(f"SELECT count(*) AS n FROM {table}")
    return int(rows[0]["n"])


async def _previewed(
    organiser: Browser,
    fields: dict[str, object],
    page: str = "/admin/decisions/new",
    path: str = "/admin/decisions/new",
) -> tuple[str, dict[str, object]]:
    """Open the form on ``page``, preview ``fields``; the preview and the fields to send it."""
    form = await organiser.get(page)
    once = _hidden(form.text, "once")
    shown = await organiser.post(path, {**fields, "once": once, "go": "preview"})
    assert shown.status_code == 200, shown.text
    sending = {**fields, "once": once, "go": "send", "previewed": _hidden(shown.text, "previewed")}
    return shown.text, sending


PAGES = [
    "/admin/decisions",
    "/admin/decisions/new",
    "/admin/decisions/1",
]
POSTS = ["/admin/decisions/new", "/admin/decisions/1/update"]


async def test_a_worker_is_refused_every_decision_page(worker: Browser, web: Harness) -> None:
    await _seed(web)
    for path in PAGES:
        assert (await worker.get(path)).status_code == 403, path
    await worker.get("/admin/")
    for path in POSTS:
        answer = await worker.post(path, {**RECORD, "go": "send", "once": "x"})
        assert answer.status_code == 403, path
    assert await _count(web, "decisions") == 0


async def test_the_form_offers_polls_surveys_and_ideas(organiser: Browser, web: Harness) -> None:
    await _seed(web)
    page = await organiser.get("/admin/decisions/new")
    assert page.status_code == 200, page.text
    assert "Poll 1: Which first?" in page.text
    assert 'name="polls" value="1"' in page.text
    for flow_id in web.app.jobs.flows:
        assert f'name="flows" value="{flow_id}"' in page.text
    assert 'name="ideas"' in page.text
    assert '<option value="rejected">Not agreed</option>' in page.text
    assert "<details" in page.text
    assert 'name="text_pl"' in page.text
    assert "Send to" not in page.text  # nothing to send before a preview


async def test_the_preview_changes_nothing_and_send_sends_once(
    organiser: Browser, web: Harness
) -> None:
    who = await _seed(web)
    shown, sending = await _previewed(organiser, RECORD)
    assert "Preview: nothing is recorded or sent yet" in shown
    assert "3 residents" in shown  # en, pl, en2: the opted-out voter and the non-voter not
    assert "You said, we did. Agreed:\nNew street lights on Mill Road" in shown
    assert "Send to 3 residents" in shown
    assert "New street lights on Mill Road</textarea>" in shown  # the form is kept
    assert await _count(web, "decisions") == 0
    assert await _count(web, "decision_sends") == 0
    assert await _count(web, "broadcasts") == 0
    assert await _count(web, "jobs") == 0
    assert await web.rows("SELECT * FROM audit WHERE action LIKE 'decision.%'") == []

    # a double click: both arrive together, and it is sent once
    sent, again = await asyncio.gather(
        organiser.post("/admin/decisions/new", sending),
        organiser.post("/admin/decisions/new", sending),
    )
    assert sent.status_code == again.status_code == 303, sent.text
    assert sent.headers["location"] == again.headers["location"] == "/admin/decisions/1"
    late = await organiser.post("/admin/decisions/new", sending)  # back, and Send again
    assert late.headers["location"] == "/admin/decisions/1"
    sends = await web.rows("SELECT decision_id, status, broadcast_id FROM decision_sends")
    assert sends == [{"decision_id": 1, "status": "agreed", "broadcast_id": 1}]
    assert await _count(web, "broadcasts") == 1

    await web.app.jobs.run_due()
    assert await _outbox(web, who["en"]) == [
        ("en", "You said, we did. Agreed:\nNew street lights on Mill Road")
    ]
    assert await _outbox(web, who["pl"]) == [
        ("pl", "Powiedzieliście, zrobiliśmy. Przyjęto:\nNowe latarnie na Mill Road")
    ]
    assert await _outbox(web, who["out"]) == []
    assert await _outbox(web, who["none"]) == []

    page = await organiser.get("/admin/decisions/1")
    assert page.status_code == 200, page.text
    notices = set(re.findall(r'class="notice"[^>]*>([^<]*)', page.text))
    assert notices
    # both answers set the session cookie: the page says what the last one said
    assert notices <= {
        "Decision 1 recorded: it is being sent to 3 residents who took part.",
        "That form was sent already, once: it was not sent again.",
    }
    assert "Decision 1: Agreed" in page.text
    listing = await organiser.get("/admin/decisions")
    assert "Decision 1</a>: Agreed" in listing.text
    assert "poll 1" in listing.text
    assert "First sent" in listing.text
    assert "3 residents" in listing.text


async def test_a_decision_recorded_on_the_web_is_in_the_log(
    organiser: Browser, web: Harness
) -> None:
    await _seed(web)
    _, sending = await _previewed(organiser, RECORD)
    assert (await organiser.post("/admin/decisions/new", sending)).status_code == 303
    page = await organiser.get("/admin/audit?action=decision")
    assert "<code>decision.record</code>" in page.text
    assert "<td>decision 1</td>" in page.text
    assert "answers: poll:1<br>recipients: 3<br>status: agreed" in page.text
    assert page.text.count("<code>decision.") == 1  # the preview left nothing behind


async def test_a_send_changed_after_its_preview_is_previewed_again(
    organiser: Browser, web: Harness
) -> None:
    await _seed(web)
    _, sending = await _previewed(organiser, RECORD)
    changed = await organiser.post(
        "/admin/decisions/new", {**sending, "text_en": "Lights on Mill Road and Mead Lane"}
    )
    assert changed.status_code == 200
    assert "The form changed after its preview" in changed.text
    assert "Lights on Mill Road and Mead Lane" in changed.text
    assert await _count(web, "decisions") == 0


async def test_an_idea_answered_goes_to_its_sender(organiser: Browser, web: Harness) -> None:
    who = await _seed(web)
    fields: dict[str, object] = {
        "status": "in_progress",
        "text_en": "A bench is ordered",
        "ideas": reference(1),
    }
    shown, sending = await _previewed(organiser, fields)
    assert "1 resident" in shown
    assert (await organiser.post("/admin/decisions/new", sending)).status_code == 303
    page = await organiser.get("/admin/decisions/1")
    assert "Decision 1 recorded: it is being sent to 1 resident who took part." in page.text
    assert "Decision 1: In progress" in page.text
    assert f"idea {reference(1)}" in page.text
    assert "Its messages are being written to the outbox" in page.text  # not yet: 0 of 0
    listing = await organiser.get("/admin/decisions")
    assert "First sent (In progress, Mon 2 Mar 2026, 10:00): being written" in listing.text
    await web.app.jobs.run_due()
    assert await _outbox(web, who["sender"]) == [
        ("en", "You said, we did. Update, in progress:\nA bench is ordered")
    ]
    assert await web.rows("SELECT answers FROM decisions") == [{"answers": '["idea:1"]'}]


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"text_en": "", "text_pl": "Tylko po polsku"}, "text_en", "Write it in en"),
        ({"polls": "999"}, "polls", "There is no poll 999"),
        ({"polls": "", "ideas": "ID-9999"}, "ideas", "There is no idea ID-9999"),
        ({"polls": "", "ideas": "lamp"}, "ideas", "&#39;lamp&#39; is not an idea&#39;s reference"),
        ({"polls": "", "flows": "nosuch"}, "flows", "There is no survey &#39;nosuch&#39;"),
        ({"polls": ""}, "answers", "Tick the polls or surveys it answers"),
        ({"status": "maybe"}, "status", "Choose the decision&#39;s status"),
    ],
)
async def test_a_wrong_decision_is_refused_beside_its_field(
    organiser: Browser, web: Harness, fields: dict[str, str], field: str, problem: str
) -> None:
    await _seed(web)
    page = await organiser.get("/admin/decisions/new")
    for go in ("preview", "send"):
        answer = await organiser.post(
            "/admin/decisions/new",
            {**RECORD, **fields, "once": _hidden(page.text, "once"), "go": go, "previewed": "x"},
        )
        assert answer.status_code == 400, answer.text
        assert f'<p class="error" id="{field}-error">{problem}' in answer.text
        assert "Tylko po polsku" in answer.text or "Nowe latarnie na Mill Road" in answer.text
    assert await _count(web, "decisions") == 0
    assert await _count(web, "broadcasts") == 0


async def test_an_update_goes_to_the_same_residents(organiser: Browser, web: Harness) -> None:
    who = await _seed(web)
    _, sending = await _previewed(organiser, RECORD)
    await organiser.post("/admin/decisions/new", sending)
    await web.app.jobs.run_due()
    # a new voter after the decision was sent: an update does not go to them
    await web.app.database.run(
        lambda tx: polls.vote(tx, 1, who["none"], "lights", "en", "sms", web.clock())
    )

    page = await organiser.get("/admin/decisions/1")
    assert 'name="status"' in page.text
    assert "Send an update" in page.text
    update: dict[str, object] = {"status": "done", "text_en": "The lights are up"}
    shown, sending = await _previewed(
        organiser, update, "/admin/decisions/1", "/admin/decisions/1/update"
    )
    assert "Send to 3 residents" in shown
    assert await _count(web, "decision_sends") == 1
    sent = await organiser.post("/admin/decisions/1/update", sending)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/admin/decisions/1"
    assert (await organiser.post("/admin/decisions/1/update", sending)).status_code == 303
    sends = await web.rows("SELECT status, broadcast_id FROM decision_sends ORDER BY id")
    assert [row["status"] for row in sends] == ["agreed", "done"]
    await web.app.jobs.run_due()
    recipients = [
        await web.rows(
            "SELECT contact_id FROM outbox WHERE broadcast_id = ? ORDER BY contact_id",
            row["broadcast_id"],
        )
        for row in sends
    ]
    assert recipients[0] == recipients[1]
    assert len(recipients[0]) == 3
    # no Polish text given: the Polish voter reads heading and text in English
    assert (await _outbox(web, who["pl"]))[-1][1] == "You said, we did. Done:\nThe lights are up"

    report = await organiser.get("/admin/decisions/1")
    assert "Update on decision 1: it is being sent to 3 residents." in report.text
    assert "Update 1" in report.text
    assert "The lights are up" in report.text


async def test_an_update_without_its_text_is_refused(organiser: Browser, web: Harness) -> None:
    await _seed(web)
    _, sending = await _previewed(organiser, RECORD)
    await organiser.post("/admin/decisions/new", sending)
    await organiser.get("/admin/decisions/1")
    answer = await organiser.post(
        "/admin/decisions/1/update", {"status": "done", "text_en": "", "go": "preview"}
    )
    assert answer.status_code == 400
    assert '<p class="error" id="text_en-error">Write it in en' in answer.text
    assert await _count(web, "decision_sends") == 1


async def test_the_reach_counts_the_outbox(organiser: Browser, web: Harness) -> None:
    who = await _seed(web)
    _, sending = await _previewed(organiser, RECORD)
    await organiser.post("/admin/decisions/new", sending)
    await web.app.jobs.run_due()

    def reported(tx: Tx) -> None:
        tx.execute("UPDATE outbox SET status = 'sent' WHERE contact_id = ?", (who["en"],))
        tx.execute("UPDATE outbox SET status = 'failed' WHERE contact_id = ?", (who["pl"],))
        tx.execute(
            "UPDATE outbox SET status = 'sent', delivery = 'delivered' WHERE contact_id = ?",
            (who["en2"],),
        )

    await web.app.database.run(reported)
    page = await organiser.get("/admin/decisions/1")
    cells = re.findall(r'<td class="number">(\d+)</td>', page.text)
    assert cells == ["3", "1", "1", "1", "0", "0"]  # residents, delivered, sent, failed, ...
    listing = await organiser.get("/admin/decisions")
    assert "3 residents: delivered 1, sent 1, failed 1, waiting 0, not sent 0" in listing.text


async def test_an_unknown_decision_is_404(organiser: Browser, web: Harness) -> None:
    assert (await organiser.get("/admin/decisions/7")).status_code == 404
    assert (await organiser.get("/admin/decisions/x")).status_code == 404
    await organiser.get("/admin/decisions")
    answer = await organiser.post(
        "/admin/decisions/7/update", {"status": "done", "text_en": "Done", "go": "preview"}
    )
    assert answer.status_code == 404


async def test_a_post_without_its_token_changes_nothing(organiser: Browser, web: Harness) -> None:
    await _seed(web)
    _, sending = await _previewed(organiser, RECORD)
    organiser.token = ""
    answer = await organiser.post("/admin/decisions/new", sending)
    assert answer.status_code == 403
    assert await _count(web, "decisions") == 0
    assert await _count(web, "broadcasts") == 0
