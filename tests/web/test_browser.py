"""The staff web in a real browser (headless Chromium, Playwright), against Parley
running for real with fake Twilio and Telegram: signing in, a worker's poll from the
composer to the residents' votes, an organiser closing it, what a worker may not do,
forms without their token, a send submitted twice, and pages usable on a phone, with
the keyboard, and by a screen reader (axe-core: labels, contrast)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.channels.conftest import until
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.web.browsing import (
    ORGANISER,
    SMS_EN,
    SMS_PL,
    TG_AR,
    TG_EN,
    WORKER,
    Site,
    chromium,
    running,
    sign_in,
)


async def test_signing_in_a_wrong_password_and_a_wait_after_five(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{site.url}/admin/")
        await expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/$"))
        await page.get_by_label("Your name").fill(WORKER[0])
        await page.get_by_label("Password").fill("not my password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#password-error")).to_have_text(
            "That name and password do not match an account."
        )
        await expect(page.get_by_label("Your name")).to_have_value(WORKER[0])  # kept
        await expect(page.get_by_label("Password")).to_have_value("")  # never shown again
        for _ in range(4):
            await page.get_by_label("Password").fill("still not it")
            await page.get_by_role("button", name="Sign in").click()
        await page.get_by_label("Password").fill(WORKER[1])  # right, but too late
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#name-error")).to_contain_text("Too many failed sign-ins")
        assert "/admin/login" in page.url
        # Another account, from the same browser and address: held back as well.
        await page.get_by_label("Your name").fill(ORGANISER[0])
        await page.get_by_label("Password").fill(ORGANISER[1])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#name-error")).to_contain_text("Too many failed sign-ins")
        assert await site.rows("SELECT * FROM staff_sessions") == []


async def _compose_poll(page: Page, site: Site) -> str:
    """The worker's poll, by the composer, up to its preview; the draft's address."""
    await page.get_by_role("link", name="Broadcasts").click()
    await page.get_by_role("link", name="New poll").click()
    await page.get_by_label("Question in en").fill("Which evening should the youth club open?")
    await page.get_by_label("Option 1", exact=True).fill("Monday")
    await page.get_by_label("Option 2", exact=True).fill("Friday")
    await page.locator("summary", has_text="Translations").click()
    await page.get_by_label("Question in pl").fill("Który wieczór?")
    await page.get_by_label("Option 1 in pl").fill("Poniedziałek")
    await page.get_by_label("Option 2 in pl").fill("Piątek")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    return page.url


async def test_a_worker_sends_a_poll_residents_vote_an_organiser_closes_it(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        worker = await browser.new_page()
        await sign_in(worker, site, WORKER)

        # A mistake first: one option only. The error stands beside its field and
        # what was typed is kept.
        await worker.goto(f"{site.url}/admin/broadcasts/new?kind=poll")
        await worker.get_by_label("Question in en").fill("Which evening?")
        await worker.get_by_label("Option 1", exact=True).fill("Monday")
        await worker.get_by_role("button", name="Preview").click()
        await expect(worker.locator("#option1-error")).to_have_text("Give at least 2 options")
        await expect(worker.get_by_label("Question in en")).to_have_value("Which evening?")
        assert await site.rows("SELECT * FROM polls") == []

        # The poll, its preview: who gets it, in which language, what it costs.
        draft = await _compose_poll(worker, site)
        assert re.search(r"/admin/broadcasts/\d+$", draft)
        preview = worker.locator("main")
        await expect(preview).to_contain_text("4")  # four residents
        await expect(preview).to_contain_text("SMS")
        await expect(preview).to_contain_text("GBP")
        await expect(preview).to_contain_text("No translation")  # Arabic falls back
        assert site.twilio.messages == []  # nothing sent before Send
        await worker.get_by_role("button", name="Send to 4 residents").click()
        await expect(worker.locator(".notice", has_text="is being sent")).to_be_visible()

        # Residents get it in their language, and vote by SMS and by Telegram.
        await until(lambda: len(site.twilio.to(SMS_EN)) == 1 and len(site.twilio.to(SMS_PL)) == 1)
        await until(lambda: bool(site.telegram.to(TG_EN)) and bool(site.telegram.to(TG_AR)))
        assert site.twilio.to(SMS_PL)[0].startswith("Który wieczór?")
        await site.parley.sms(SMS_EN, "2")
        await site.parley.sms(SMS_PL, "Piątek")
        await site.parley.telegram(site.parley.residents.message(TG_EN, "1", "en"))
        await site.parley.until_row("SELECT 1 FROM votes GROUP BY poll_id HAVING count(*) = 3")

        # The worker sees no live results; an organiser does, and closes the poll.
        await worker.goto(f"{site.url}/admin/polls/1")
        await expect(worker.locator("main")).to_contain_text("Live results are for organisers")
        await expect(worker.get_by_role("button", name="Close the poll now")).to_have_count(0)
        organiser = await browser.new_page()
        await sign_in(organiser, site, ORGANISER)
        await organiser.goto(f"{site.url}/admin/polls/1")
        rows = organiser.locator("table").first
        await expect(rows.locator("tr", has_text="Monday")).to_contain_text("1")
        await expect(rows.locator("tr", has_text="Friday")).to_contain_text("2")
        await expect(rows.locator("tfoot")).to_contain_text("3")
        await organiser.get_by_label("Break down by").fill("channel")
        await organiser.get_by_role("button", name="Show").click()
        await expect(organiser.locator("caption", has_text="channel = telegram")).to_be_visible()
        await organiser.get_by_role("button", name="Close the poll now").click()
        await expect(organiser.locator(".notice", has_text="closing now")).to_be_visible()
        await site.parley.until_row("SELECT 1 FROM polls WHERE id = 1 AND status = 'closed'")
        # Each voter hears the result; now the worker sees it too.
        await until(lambda: len(site.twilio.to(SMS_PL)) >= 3)
        await worker.reload()
        await expect(worker.locator("main")).to_contain_text("Voters")

        # The organiser records the decision and sends it to everyone who voted.
        await organiser.get_by_role("link", name="Decisions").click()
        await organiser.get_by_role("link", name=re.compile("Record a decision")).click()
        await organiser.get_by_label("Status").select_option("agreed")
        await organiser.get_by_label("Decision in en (the default language)").fill(
            "The youth club opens on Friday evenings from April."
        )
        await (
            organiser.get_by_role("group", name="Polls (the latest)")
            .get_by_label(re.compile("Poll 1"))
            .check()
        )
        await organiser.get_by_role("button", name="Preview").click()
        await expect(organiser.locator("#preview")).to_contain_text("3 residents")
        assert await site.rows("SELECT * FROM decisions") == []  # a preview records nothing
        await organiser.get_by_role("button", name="Send to 3 residents").click()
        await expect(organiser.locator(".notice", has_text="Decision 1")).to_be_visible()
        await until(lambda: any("opens on Friday" in text for text in site.twilio.to(SMS_EN)))
        await until(
            lambda: any(
                "Piątek" in m["text"] or "Friday" in m["text"] for m in site.telegram.to(TG_EN)
            )
        )

        # And downloads the poll's votes, which the test opens and reads.
        await organiser.goto(f"{site.url}/admin/exports?what=votes")
        await organiser.get_by_label("Poll (for votes)").select_option("1")
        async with organiser.expect_download() as waiting:
            await organiser.get_by_role("button", name="Download").click()
        download = await waiting.value
        assert download.suggested_filename.startswith("parley-votes-poll1-")
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        text = saved.read_text(encoding="utf-8-sig")
        table = list(csv.DictReader(io.StringIO(text)))
        assert len(table) == 3
        assert sorted(row["channel"] for row in table) == ["sms", "sms", "telegram"]
        assert all(row["resident"].startswith("R-") for row in table)
        for address in (SMS_EN, SMS_PL, str(TG_EN)):
            assert address.lstrip("+") not in text  # no phone number, nor a chat id
        [logged] = await site.rows("SELECT what, rows, requested_by FROM exports")
        assert logged == {"what": "votes", "rows": 3, "requested_by": "web:olu"}

        audited = await site.rows("SELECT actor, front, action FROM audit WHERE front = 'web'")
        assert {(row["actor"], row["action"]) for row in audited} >= {
            ("wren", "poll.make"),
            ("wren", "broadcast.draft"),
            ("wren", "broadcast.send"),
            ("olu", "poll.close"),
            ("olu", "decision.record"),
            ("olu", "export.request"),
        }


async def test_a_worker_is_refused_organiser_pages_and_offered_none(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, site, WORKER)
        navigation = page.get_by_role("navigation", name="Staff pages")
        for name in ("Panels", "Decisions", "Staff", "Audit log"):
            await expect(navigation.get_by_role("link", name=name, exact=True)).to_have_count(0)
        for path in ("panels", "decisions", "staff", "audit"):
            answer = await page.goto(f"{site.url}/admin/{path}")
            assert answer is not None
            assert answer.status == 403, path
            await expect(page.locator("main")).to_contain_text("This page is for organisers.")


async def test_a_form_without_its_token_changes_nothing(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, site, WORKER)
        await _compose_poll(page, site)
        await page.evaluate(
            "() => document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
        )
        await page.get_by_role("button", name=re.compile("^Send to")).click()
        await expect(page.locator("main")).to_contain_text("did not come from Parley")
        [draft] = await site.rows("SELECT status FROM broadcasts")
        assert draft["status"] == "draft"
        assert await site.rows("SELECT * FROM jobs WHERE kind = 'send'") == []


async def test_a_send_submitted_twice_sends_once(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        # Without JavaScript nothing stops the second click: the server must.
        context = await browser.new_context(java_script_enabled=False)
        page = await context.new_page()
        await sign_in(page, site, WORKER)
        draft = await _compose_poll(page, site)
        send = page.get_by_role("button", name=re.compile("^Send to"))
        await send.dblclick()
        await expect(page.locator(".notice").first).to_be_visible()
        # And once more, as after going back to the draft and sending again.
        await page.goto(draft)
        if await send.count():
            await send.click()
        await site.parley.until_all_sent()
        broadcasts = await site.rows("SELECT id, status FROM broadcasts")
        assert len(broadcasts) == 1
        sends = await site.rows("SELECT * FROM jobs WHERE kind = 'send'")
        assert len(sends) == 1
        outbox = await site.rows("SELECT contact_id FROM outbox WHERE broadcast_id IS NOT NULL")
        assert len(outbox) == 4  # once to each resident
        assert len(site.twilio.to(SMS_EN)) == 1
        # The composer itself, sent twice, makes one poll and one draft.
        await page.goto(f"{site.url}/admin/broadcasts/new?kind=message")
        await page.get_by_label("Message in en (the default language)").fill("The panel meets.")
        await page.get_by_role("button", name="Preview").dblclick()
        await page.wait_for_url(re.compile(r"/admin/broadcasts/\d+$"))
        assert len(await site.rows("SELECT id FROM broadcasts")) == 2


async def test_a_contacts_import_with_a_bad_row_imports_nothing(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, site, ORGANISER)
        before = await site.rows("SELECT count(*) AS n FROM contacts")
        bad = tmp_path / "residents.csv"
        bad.write_text(
            "address,channel,language,consent_at,consent_how,ward\n"
            "07400 123456,sms,en,2026-11-02,paper form at the library,North\n"
            "07400 123457,sms,pl,,,North\n"
            "020 7946 0000,sms,en,2026-11-02,paper form,South\n",
            encoding="utf-8",
        )
        await page.goto(f"{site.url}/admin/contacts/import")
        await page.get_by_label("The CSV file").set_input_files(str(bad))
        await page.get_by_role("button", name="Import").click()
        refused = page.locator("table", has_text="Line")
        line = {n: page.get_by_role("cell", name=str(n), exact=True) for n in (3, 4)}
        await expect(refused.locator("tr", has=line[3])).to_contain_text("no consent")
        await expect(refused.locator("tr", has=line[4])).to_contain_text("not a mobile number")
        assert await site.rows("SELECT count(*) AS n FROM contacts") == before  # not one
        assert await site.rows("SELECT * FROM consents") == []
        # The same file put right: all of it goes in, with its consent on record.
        bad.write_text(
            "address,channel,language,consent_at,consent_how,ward\n"
            "07400 123456,sms,en,2026-11-02,paper form at the library,North\n"
            "07400 123457,sms,pl,2026-11-03,texted JOIN,North\n",
            encoding="utf-8",
        )
        await page.get_by_label("The CSV file").set_input_files(str(bad))
        await page.get_by_role("button", name="Import").click()
        await expect(page.locator(".notice", has_text="Imported 2 contacts")).to_be_visible()
        consents = await site.rows("SELECT how FROM consents ORDER BY id")
        assert [row["how"] for row in consents] == ["paper form at the library", "texted JOIN"]


async def test_the_composer_counts_sms_segments_as_parley_does(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    """The live count beside a message box (JavaScript) gives what Parley's own segment
    counting (bot/channels/segments.py) gives for the same text."""
    from bot.channels.segments import gsm7_friendly, segments

    texts = [
        "The panel meets on Tuesday at 6pm.",
        "Panel spotyka się we wtorek o 18:00 – zapraszamy!",
        "It’s on — “everyone” welcome…",  # typographic punctuation made plain: GSM-7
        "x" * 160,
        "x" * 161,
        "€" * 80,  # extension characters take two septets
        "Stay safe 🙂 " * 6,
    ]
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, site, WORKER)
        await page.goto(f"{site.url}/admin/broadcasts/new?kind=message")
        box = page.get_by_label("Message in en (the default language)")
        shown = page.locator("#text_en-segments")
        for text in texts:
            await box.fill(text)
            found = segments(gsm7_friendly(text))
            plural = "" if found.count == 1 else "s"
            await expect(shown).to_contain_text(
                f"{found.count} SMS segment{plural} ({found.encoding.value}, {found.units} "
            )
