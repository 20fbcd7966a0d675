"""The ideas pages: the moderation queue as a worker and an organiser see it, an idea's
page, and moderating ideas one at a time and several at once."""

from __future__ import annotations

import re
from typing import Any

import httpx

from bot.civic import ideas
from bot.store import contacts
from bot.store import ideas as stored
from bot.store.ideas import Idea
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser

PHONE = "07700 900123"
_ONCE = re.compile(r'name="once" value="([^"]+)"')


async def _ideas(web: Harness, *sent: tuple[str, str]) -> list[Idea]:
    """Ideas sent by residents 1, 2, ... as (text, language)."""

    def work(tx: Tx) -> list[Idea]:
        made = []
        for number, (text, language) in enumerate(sent, start=1):
            contact = contacts.ensure(tx, "sms", f"+4477009{number:05d}", language, web.clock())
            contacts.record(tx, contact.id, "consent", web.clock(), "texted in", web.clock())
            made.append(ideas.submit(tx, contact, text, language, web.clock(), region="GB"))
        return made

    return await web.app.database.run(work)


async def _approve(web: Harness, *chosen: Idea) -> None:
    def work(tx: Tx) -> None:
        for idea in chosen:
            stored.moderate(tx, idea.id, stored.APPROVED, "test", web.clock())

    await web.app.database.run(work)


async def _status(web: Harness, idea: Idea) -> dict[str, Any]:
    [row] = await web.rows(
        "SELECT status, reason, merged_into, poll_id FROM ideas WHERE id = ?", idea.id
    )
    return row


async def _told(web: Harness, idea: Idea) -> list[tuple[str, str]]:
    """(language, text) of what its sender has been written, once due jobs have run."""
    await web.app.jobs.run_due()
    rows = await web.rows(
        "SELECT language, text FROM outbox WHERE contact_id = ? ORDER BY id", idea.contact_id
    )
    return [(row["language"], row["text"]) for row in rows]


def _once(page: httpx.Response) -> str:
    found = _ONCE.search(page.text)
    assert found, page.text
    return found.group(1)


async def _queue_post(browser: Browser, fields: dict[str, object]) -> httpx.Response:
    page = await browser.get("/admin/ideas")
    return await browser.post("/admin/ideas", {"once": _once(page), **fields})


async def test_the_queue_puts_flagged_ideas_first_for_an_organiser(
    web: Harness, organiser: Browser
) -> None:
    plain, flagged = await _ideas(
        web, ("More benches in the park", "en"), (f"Call me on {PHONE}", "en")
    )
    page = await organiser.get("/admin/ideas")
    assert page.status_code == 200, page.text
    assert page.text.index(flagged.reference) < page.text.index(plain.reference)
    assert 'class="tag flagged">FLAGGED: phone' in page.text
    assert "Call me on [phone]" in page.text
    assert "More benches in the park" in page.text
    assert PHONE not in page.text
    assert f'name="ideas" value="{plain.reference}"' in page.text


async def test_a_worker_never_sees_a_flagged_idea_nor_its_number(
    web: Harness, worker: Browser
) -> None:
    plain, flagged = await _ideas(
        web, ("More benches in the park", "en"), (f"Call me on {PHONE}", "en")
    )
    page = await worker.get("/admin/ideas")
    assert page.status_code == 200, page.text
    assert plain.reference in page.text
    assert flagged.reference not in page.text
    assert "900123" not in page.text
    assert "1 flagged idea waits for an organiser" in page.text
    hidden = await worker.get(f"/admin/ideas/{flagged.reference}")
    assert hidden.status_code == 404
    assert "900123" not in hidden.text
    refused = await _queue_post(worker, {"do": "approve", "ideas": [flagged.reference]})
    assert refused.status_code == 409
    assert (await _status(web, flagged))["status"] == "new"


async def test_an_organiser_sees_a_flagged_idea_as_sent_marked_do_not_share(
    web: Harness, organiser: Browser, worker: Browser
) -> None:
    [flagged] = await _ideas(web, (f"Call me on {PHONE}", "en"))
    page = await organiser.get(f"/admin/ideas/{flagged.reference}")
    assert page.status_code == 200, page.text
    assert "As sent: do not share" in page.text
    assert f"Call me on {PHONE}" in page.text
    await _approve(web, flagged)
    shown = await worker.get(f"/admin/ideas/{flagged.reference}")
    assert shown.status_code == 200, shown.text
    assert "Call me on [phone]" in shown.text
    assert "900123" not in shown.text
    assert "do not share" not in shown.text


async def test_an_unknown_idea_is_404(organiser: Browser) -> None:
    for ref in ("ID-9999", "nonsense", "ID-" + "9" * 40):
        page = await organiser.get(f"/admin/ideas/{ref}")
        assert page.status_code == 404, ref
    posted = await organiser.post("/admin/ideas/ID-9999", {"do": "approve", "once": "x"})
    assert posted.status_code == 404


async def test_approving_an_idea_from_its_page(web: Harness, organiser: Browser) -> None:
    [idea] = await _ideas(web, ("More benches", "en"))
    page = await organiser.get(f"/admin/ideas/{idea.reference}")
    answer = await organiser.post(
        f"/admin/ideas/{idea.reference}", {"do": "approve", "once": _once(page)}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/admin/ideas/{idea.reference}"
    assert (await _status(web, idea))["status"] == "approved"
    shown = await organiser.get(answer.headers["location"])
    assert f"Approved {idea.reference}." in shown.text


async def test_rejecting_for_a_known_reason_tells_the_sender_in_their_language(
    web: Harness, organiser: Browser
) -> None:
    [idea] = await _ideas(web, ("Nowy basen", "pl"))
    page = await organiser.get(f"/admin/ideas/{idea.reference}")
    answer = await organiser.post(
        f"/admin/ideas/{idea.reference}", {"do": "reject", "reason": "cost", "once": _once(page)}
    )
    assert answer.status_code == 303, answer.text
    assert (await _status(web, idea))["status"] == "rejected"
    assert (await _status(web, idea))["reason"] == "cost"
    assert await _told(web, idea) == [
        (
            "pl",
            f"Twój pomysł {idea.reference} nie będzie realizowany."
            " Kosztuje więcej, niż pozwala budżet.",
        )
    ]
    shown = await organiser.get(answer.headers["location"])
    assert "It costs more than the budget allows" in shown.text


async def test_rejecting_in_own_words_sends_them_as_written(
    web: Harness, organiser: Browser
) -> None:
    first, second = await _ideas(web, ("A car park on the green", "en"), ("Parking", "en"))
    answer = await _queue_post(
        organiser,
        {
            "do": "reject",
            "reason": "other",
            "own": "The green is listed",
            "ideas": [first.reference, second.reference],
        },
    )
    assert answer.status_code == 303, answer.text
    for idea in (first, second):
        assert (await _status(web, idea))["reason"] == "The green is listed"
        [(language, text)] = await _told(web, idea)
        assert language == "en"
        assert text.endswith("The green is listed")


async def test_a_reject_form_validates_beside_its_fields(web: Harness, organiser: Browser) -> None:
    [idea] = await _ideas(web, ("More benches", "en"))
    answer = await _queue_post(
        organiser, {"do": "reject", "reason": "other", "own": "", "ideas": [idea.reference]}
    )
    assert answer.status_code == 400
    assert 'id="own-error">Write the reason in your own words' in answer.text
    assert f'value="{idea.reference}" checked' in answer.text  # the ticks are kept
    nothing = await _queue_post(organiser, {"do": "reject", "reason": "cost"})
    assert nothing.status_code == 400
    assert 'id="ideas-error">Tick the ideas to act on' in nothing.text
    assert (await _status(web, idea))["status"] == "new"


async def test_a_double_submitted_reject_acts_once(web: Harness, organiser: Browser) -> None:
    [idea] = await _ideas(web, ("More benches", "en"))
    page = await organiser.get(f"/admin/ideas/{idea.reference}")
    fields: dict[str, object] = {"do": "reject", "reason": "done", "once": _once(page)}
    first = await organiser.post(f"/admin/ideas/{idea.reference}", fields)
    again = await organiser.post(f"/admin/ideas/{idea.reference}", fields)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(await _told(web, idea)) == 1
    assert len(await web.rows("SELECT id FROM audit WHERE action = 'idea.reject'")) == 1
    shown = await organiser.get(again.headers["location"])
    assert "it was done once, not again" in shown.text


async def test_several_at_once_is_all_or_nothing(web: Harness, organiser: Browser) -> None:
    first, second, third = await _ideas(web, ("Benches", "en"), ("Bins", "en"), ("Trees", "en"))
    await _approve(web, second)
    refs = [first.reference, second.reference, third.reference]
    refused = await _queue_post(organiser, {"do": "approve", "ideas": refs})
    assert refused.status_code == 409
    assert f"{second.reference} is approved" in refused.text
    assert "Nothing was done" in refused.text
    assert [(await _status(web, idea))["status"] for idea in (first, third)] == ["new", "new"]
    done = await _queue_post(
        organiser, {"do": "approve", "ideas": [first.reference, third.reference]}
    )
    assert done.status_code == 303, done.text
    assert [(await _status(web, idea))["status"] for idea in (first, third)] == [
        "approved",
        "approved",
    ]


async def test_merging_duplicates_into_a_kept_idea(web: Harness, organiser: Browser) -> None:
    kept, duplicate = await _ideas(web, ("Fix the street lights", "en"), ("Latarnie", "pl"))
    page = await organiser.get(f"/admin/ideas/{duplicate.reference}")
    assert f'<option value="{kept.reference}"' in page.text
    itself = await organiser.post(
        f"/admin/ideas/{duplicate.reference}",
        {"do": "merge", "kept": duplicate.reference, "once": _once(page)},
    )
    assert itself.status_code == 400
    assert 'id="kept-error">An idea cannot be merged into itself' in itself.text
    answer = await organiser.post(
        f"/admin/ideas/{duplicate.reference}",
        {"do": "merge", "kept": kept.reference, "once": _once(page)},
    )
    assert answer.status_code == 303, answer.text
    assert (await _status(web, duplicate))["merged_into"] == kept.id
    [(language, text)] = await _told(web, duplicate)
    assert language == "pl"
    assert kept.reference in text
    assert await _told(web, kept) == []


async def test_shortlisting_makes_a_poll_and_drafts_its_broadcast(
    web: Harness, organiser: Browser
) -> None:
    first, second, new = await _ideas(
        web, ("A play area", "en"), ("A skate park", "en"), ("A pond", "en")
    )
    await _approve(web, first, second)
    wrong = await _queue_post(
        organiser, {"do": "shortlist", "ideas": [first.reference, new.reference]}
    )
    assert wrong.status_code == 400
    assert f"{new.reference} is new: only approved ideas" in wrong.text
    late = await _queue_post(
        organiser,
        {
            "do": "shortlist",
            "ideas": [first.reference, second.reference],
            "closes": "2020-01-01T10:00",
        },
    )
    assert late.status_code == 400
    assert 'id="closes-error">The closing time has already passed' in late.text
    assert 'value="2020-01-01T10:00"' in late.text
    answer = await _queue_post(
        organiser,
        {
            "do": "shortlist",
            "ideas": [first.reference, second.reference],
            "question": "Which first?",
            "closes": "2026-03-09T18:00",
        },
    )
    assert answer.status_code == 303, answer.text
    [poll] = await web.rows("SELECT id, question, closes_at FROM polls")
    assert "Which first?" in poll["question"]
    [draft] = await web.rows(
        "SELECT id FROM broadcasts WHERE poll_id = ? AND status = 'draft'", poll["id"]
    )
    assert answer.headers["location"] == f"/admin/broadcasts/{draft['id']}"
    for idea in (first, second):
        assert (await _status(web, idea))["poll_id"] == poll["id"]
    assert "is on the shortlist" in (await _told(web, first))[0][1]
    shown = await organiser.get(answer.headers["location"])
    assert shown.status_code == 200
    assert "Preview" in shown.text


async def test_a_post_without_the_csrf_token_changes_nothing(
    web: Harness, organiser: Browser
) -> None:
    [idea] = await _ideas(web, ("More benches", "en"))
    page = await organiser.get(f"/admin/ideas/{idea.reference}")
    fields: dict[str, object] = {"do": "reject", "reason": "done", "once": _once(page)}
    answer = await organiser.client.post(f"/admin/ideas/{idea.reference}", data=fields)
    assert answer.status_code == 403
    queue = await organiser.client.post(
        "/admin/ideas", data={"do": "approve", "ideas": idea.reference, "once": "x"}
    )
    assert queue.status_code == 403
    assert (await _status(web, idea))["status"] == "new"
