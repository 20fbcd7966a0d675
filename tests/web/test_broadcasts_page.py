"""The broadcasts pages in process: a message composed with its time in the deployment's
zone, its draft's preview, sending, progress on the broadcast's page, in its JSON and on
the dashboard, and pause, resume and cancel from the page."""

from __future__ import annotations

import re

from bot.store import contacts
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser


async def _residents(web: Harness) -> None:
    def join(tx: Tx) -> None:
        for n, language in enumerate(("en", "en", "pl")):
            contact = contacts.touch(tx, "sms", f"+4474001230{n:02d}", language, web.clock())
            contacts.update(tx, contact, {"consent": "yes"})

    await web.app.database.run(join)


async def _compose(browser: Browser, **fields: str) -> str:
    page = await browser.get("/admin/broadcasts/new?kind=message")
    once = re.search(r'name="once" value="([^"]+)"', page.text)
    assert once is not None
    answer = await browser.post(
        "/admin/broadcasts/new",
        {"kind": "message", "once": once.group(1), "seed": "0", **fields},
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


async def test_a_time_given_in_summer_is_london_time(web: Harness, worker: Browser) -> None:
    await _residents(web)
    draft = await _compose(worker, text_en="The panel meets.", at="2026-07-01T18:00")
    [row] = await web.rows("SELECT send_at FROM broadcasts")
    assert row["send_at"] == "2026-07-01T17:00:00+00:00"  # BST: an hour ahead of UTC
    page = await worker.get(draft)
    assert "Wed 1 Jul 2026, 18:00" in page.text  # shown back in local time
    sent = await worker.post(draft + "/send")
    assert sent.status_code == 303
    assert "will be sent Wed 1 Jul 2026, 18:00" in (await worker.get(draft)).text


async def test_a_time_in_the_past_is_refused_beside_its_field(
    web: Harness, worker: Browser
) -> None:
    page = await worker.get("/admin/broadcasts/new?kind=message")
    once = re.search(r'name="once" value="([^"]+)"', page.text)
    assert once is not None
    answer = await worker.post(
        "/admin/broadcasts/new",
        {"kind": "message", "once": once.group(1), "text_en": "Hi", "at": "2026-01-01T09:00"},
    )
    assert answer.status_code == 400
    assert 'id="at-error"' in answer.text
    assert "already passed" in answer.text
    assert "Hi</textarea>" in answer.text  # what was typed is kept
    assert await web.rows("SELECT * FROM broadcasts") == []


async def test_progress_on_the_page_in_its_json_and_on_the_dashboard(
    web: Harness, worker: Browser
) -> None:
    await _residents(web)
    draft = await _compose(worker, text_en="The panel meets.", text_pl="Panel się spotyka.")
    preview = await worker.get(draft)
    assert "Send to 3 residents" in preview.text
    await worker.post(draft + "/send")
    await web.app.jobs.run_due()  # written to the outbox, nothing sent yet
    number = draft.rsplit("/", 1)[1]
    shown = await worker.client.get(f"/admin/broadcasts/{number}/progress")
    assert shown.json() == {
        "recipients": 3,
        "counts": {"reached": 0, "delivered": 0, "waiting": 3, "failed": 0},
        "done": False,
    }
    dashboard = await worker.get("/admin/")
    assert f"Broadcast {number}" in dashboard.text
    assert 'data-count="waiting"' in dashboard.text
    # Paused, resumed, then sent: the counts follow.
    paused = await worker.post(f"{draft}/pause")
    assert paused.status_code == 303
    [row] = await web.rows("SELECT paused_at FROM broadcasts")
    assert row["paused_at"] is not None
    assert "Resume" in (await worker.get(draft)).text
    await worker.post(f"{draft}/resume")
    await web.app.dispatcher.drain()
    done = (await worker.client.get(f"/admin/broadcasts/{number}/progress")).json()
    assert done["counts"] == {"reached": 3, "delivered": 0, "waiting": 0, "failed": 0}
    assert done["done"] is True
    assert "3 of 3 residents sent" in (await worker.get("/admin/broadcasts")).text


async def test_cancel_drops_a_draft_and_stops_a_sending(web: Harness, worker: Browser) -> None:
    await _residents(web)
    draft = await _compose(worker, text_en="First.")
    await worker.get(draft)
    await worker.post(draft + "/cancel")
    assert "dropped; nothing was sent" in (await worker.get(draft)).text
    other = await _compose(worker, text_en="Second.")
    await worker.get(other)
    await worker.post(other + "/send")
    await web.app.jobs.run_due()
    await worker.get(other)
    await worker.post(other + "/cancel")
    page = await worker.get(other)
    assert "cancelled: 3 messages not yet sent will not go" in page.text
    rows = await web.rows("SELECT status FROM outbox WHERE broadcast_id IS NOT NULL")
    assert {row["status"] for row in rows} == {"cancelled"}
