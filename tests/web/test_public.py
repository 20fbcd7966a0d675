"""A poll's public results page, ``/r/<token>``: made and taken away by organisers,
open to anyone with the link, with nobody's data; the counts only once voting has
closed, wholly in one of the poll's languages."""

from __future__ import annotations

import re

from bot.desk import Actor, Desk, Front, Role
from bot.desk import polls as desk_polls
from bot.desk.polls import PollSpec
from bot.store import contacts, polls
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser, browser


async def _poll(web: Harness, results: str = "send") -> int:
    def make(tx: Tx) -> int:
        desk = Desk(
            tx,
            web.app.settings,
            web.app.jobs.env,
            web.app.jobs.flows,
            web.clock(),
            Actor("olu", Role.ORGANISER, Front.WEB),
        )
        question, options = desk_polls.labelled(
            desk,
            "Which evening?",
            ["Monday", "Friday"],
            {"pl": "Który wieczór? | Poniedziałek | Piątek"},
        )
        poll = desk_polls.make(desk, PollSpec(question, options, results=results))
        polls.open_poll(tx, poll.id)
        for n, (choice, ward) in enumerate(
            (("monday", "North"), ("friday", "North"), ("friday", "South"))
        ):
            voter = contacts.touch(tx, "sms", f"+4474001200{n:02d}", "en", web.clock())
            contacts.update(tx, voter, {"ward": ward})
            polls.vote(tx, poll.id, voter.id, choice, "en", "sms", web.clock())
        return poll.id

    return await web.app.database.run(make)


async def test_an_organiser_publishes_a_page_anyone_may_open(
    web: Harness, organiser: Browser, worker: Browser
) -> None:
    poll_id = await _poll(web)
    page = await organiser.get(f"/admin/polls/{poll_id}")
    assert "Make a public results page" in page.text
    refused = await worker.post(f"/admin/polls/{poll_id}/publish", {"public": "yes"})
    assert refused.status_code == 403
    made = await organiser.post(f"/admin/polls/{poll_id}/publish", {"public": "yes"})
    assert made.status_code == 303
    shown = await organiser.get(f"/admin/polls/{poll_id}")
    found = re.search(r'href="http://parley\.test/r/([A-Za-z0-9_-]+)"', shown.text)
    assert found is not None, shown.text
    token = found.group(1)
    stranger = await browser(web)  # not signed in: residents need no account
    before = await stranger.client.get(f"/r/{token}")
    assert before.status_code == 200
    assert "Which evening?" in before.text
    assert "Monday" in before.text
    assert "<meter" not in before.text  # no counts while voting is open
    assert "1 vote" not in before.text
    assert "Polski" in before.text  # the poll's other language, to choose
    # Closed: the counts, in the language asked for, or the browser's, else the poll's.
    await web.app.database.run(lambda tx: polls.close(tx, poll_id, web.clock()))
    after = await stranger.client.get(f"/r/{token}")
    assert "Poll result: Which evening?" in after.text
    assert "2 votes (67%)" in after.text
    assert "3 people voted. Thank you!" in after.text
    polish = await stranger.client.get(f"/r/{token}?lang=pl")
    assert 'lang="pl"' in polish.text
    assert "Piątek" in polish.text
    assert "Monday" not in polish.text  # wholly in Polish
    asked = await stranger.client.get(f"/r/{token}", headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert "Poniedziałek" in asked.text
    for text in (after.text, polish.text):
        assert "North" not in text  # no breakdown: a small group could name its voters
        assert "+447400" not in text
    assert "content-security-policy" in after.headers
    # Taken away: the link leads nowhere.
    await organiser.get(f"/admin/polls/{poll_id}")
    await organiser.post(f"/admin/polls/{poll_id}/publish", {"public": "no"})
    assert (await stranger.client.get(f"/r/{token}")).status_code == 404
    await stranger.client.aclose()


async def test_a_private_poll_has_no_page(web: Harness, organiser: Browser) -> None:
    poll_id = await _poll(web, results="private")
    await organiser.get(f"/admin/polls/{poll_id}")
    answer = await organiser.post(f"/admin/polls/{poll_id}/publish", {"public": "yes"})
    assert answer.status_code == 409
    assert "keeps its result private" in answer.text
    assert await web.rows("SELECT public_token FROM polls WHERE public_token IS NOT NULL") == []


async def test_an_unknown_or_hostile_link_is_a_plain_404(web: Harness) -> None:
    stranger = await browser(web)
    for token in ("nosuchtoken", "x" * 500, "..%2F..%2Fetc", "a'b"):
        answer = await stranger.client.get(f"/r/{token}")
        assert answer.status_code == 404, token
        assert "Traceback" not in answer.text
    await stranger.client.aclose()
