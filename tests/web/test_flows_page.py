"""The flows page (the flows running, the folder read again with its problems,
translations and segments) and the simulator (the engine alone: nothing stored)."""

from __future__ import annotations

import html
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.engine import Session
from bot.web.admin.pages.flows import Simulation, Simulations, check
from tests.conftest import REPO, Harness
from tests.web.conftest import Browser

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TABLES = ("sessions", "answers", "outbox", "contacts", "inbound", "votes", "ideas")


async def counts(web: Harness) -> dict[str, int]:
    found = {}
    for table in TABLES:
        [row] = await web.rows(f"SELECT COUNT(*) AS n FROM {table}")
        found[table] = row["n"]
    return found


def broken_copy(tmp_path: Path) -> Path:
    """The bundled flows, with priorities.yaml broken at a known line."""
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    path = folder / "priorities.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = lines.index("  - id: years")
    lines[at + 1] = "    type: nonsense"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# -- the list and the check ------------------------------------------------------------------


async def test_the_list_shows_every_bundled_flow(worker: Browser, web: Harness) -> None:
    page = await worker.get("/admin/flows")
    assert page.status_code == 200, page.text
    for path in sorted((REPO / "flows").glob("*.yaml")):
        if path.name == "triggers.yaml":
            continue
        flow = web.app.jobs.flows[path.stem]
        assert f"<code>{flow.id}</code>" in page.text
        assert html.escape(flow.title) in page.text
        assert f'href="/admin/flows/{flow.id}/try"' in page.text
        assert f'<td class="number">{len(flow.steps)}</td>' in page.text
    checked = page.text.split("The flow folder, read again")[1].split("Translations")[0]
    assert "problem" not in checked
    assert "OK" in page.text
    assert "complete" in page.text  # translations
    assert "Whole flow" in page.text  # segments


def test_a_broken_folder_shows_its_problems_by_file_and_line(web: Harness, tmp_path: Path) -> None:
    folder = broken_copy(tmp_path)
    settings = replace(web.app.settings, flows_dir=folder)
    jobs = web.app.jobs
    checked = check(settings, jobs.env, jobs.flows)
    assert checked.problems
    line = (
        (folder / "priorities.yaml")
        .read_text(encoding="utf-8")
        .splitlines()
        .index("    type: nonsense")
    )
    assert any(p.startswith(f"flows/priorities.yaml:{line + 1}: ") for p in checked.problems), (
        checked.problems
    )
    assert not checked.on_disk  # the tables are of the flows running now
    assert set(checked.reports) == set(jobs.flows)


def test_a_missing_translation_is_counted_and_listed(web: Harness, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    path = folder / "priorities.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('      pl: "Co naprawić najpierw?"\n', ""), encoding="utf-8")
    settings = replace(web.app.settings, flows_dir=folder)
    checked = check(settings, web.app.jobs.env, web.app.jobs.flows)
    assert checked.problems == ()
    assert checked.on_disk
    assert checked.reports["priorities"].missing == {"pl": ["step 'top_issue'"]}


async def test_the_page_shows_a_broken_folder(
    organiser: Browser, web: Harness, tmp_path: Path
) -> None:
    folder = broken_copy(tmp_path)
    running = web.app.settings
    web.app.settings = replace(running, flows_dir=folder)
    try:
        page = await organiser.get("/admin/flows")
    finally:
        web.app.settings = running
    assert page.status_code == 200, page.text
    assert "in the flow files" in page.text
    assert "<code>flows/priorities.yaml:" in page.text
    assert "Parley would not start with these files" in page.text


# -- the simulator -----------------------------------------------------------------------------


async def start(browser: Browser, flow_id: str, language: str, channel: str) -> str:
    await browser.get(f"/admin/flows/{flow_id}/try")
    answer = await browser.post(
        f"/admin/flows/{flow_id}/try/start", {"language": language, "channel": channel}
    )
    assert answer.status_code == 303, answer.text
    page = await browser.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


async def say(browser: Browser, flow_id: str, text: str) -> str:
    answer = await browser.post(f"/admin/flows/{flow_id}/try", {"text": text})
    assert answer.status_code == 303, answer.text
    page = await browser.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


def last_parley(page: str) -> str:
    return html.unescape(page.split('<li class="parley"')[-1].split("</li>")[0])


async def test_the_simulator_walks_priorities_in_english_by_sms(
    worker: Browser, web: Harness
) -> None:
    before = await counts(web)
    fresh = await worker.get("/admin/flows/priorities/try")
    assert fresh.status_code == 200
    assert "Start</button>" in fresh.text
    page = await start(worker, "priorities", "en", "sms")
    first = last_parley(page)
    assert "A few quick questions about your area." in first
    assert "What should be fixed first?" in first
    assert "1. Housing" in first
    assert "SMS, 2 segments" in first or "SMS, 1 segment" in first
    page = await say(worker, "priorities", "1")
    assert "What is the biggest housing problem?" in last_parley(page)
    assert '<li class="resident"' in page
    page = await say(worker, "priorities", "2")
    assert "Which services do you use?" in last_parley(page)
    page = await say(worker, "priorities", "banana")  # not understood: a hint
    assert "Which services" not in last_parley(page)
    page = await say(worker, "priorities", "1 3")
    page = await say(worker, "priorities", "4")
    page = await say(worker, "priorities", "12")
    page = await say(worker, "priorities", "yes")
    page = await say(worker, "priorities", "More benches, please")
    assert "Thank you! Your answers help decide" in last_parley(page)
    assert "The conversation has ended" in page
    answers = page.split("Answers recorded")[1]
    for step, value in (
        ("top_issue", "housing"),
        ("housing_problem", "repairs"),
        ("services", "gp community_centre"),
        ("safe_at_night", "4"),
        ("years", "12"),
        ("panel", "yes"),
        ("more", "More benches, please"),
    ):
        assert f"<td>{step}</td><td>{value}</td>" in answers
    assert "panel_interest" in page  # the contact field the flow would set
    assert await counts(web) == before


async def test_the_simulator_walks_priorities_in_polish_by_telegram(
    organiser: Browser, web: Harness
) -> None:
    before = await counts(web)
    page = await start(organiser, "priorities", "pl", "telegram")
    first = last_parley(page)
    assert "Pytania o okolicę." in first
    assert "Co naprawić najpierw?" in first
    assert "1. Mieszkania" not in first.split("Buttons:")[0]  # the buttons say it
    assert '<ul class="buttons-shown" aria-label="Buttons"><li>1. Mieszkania' in first
    assert "segment" not in first
    assert 'name="button" value="2"' in page  # press a button
    answer = await organiser.post("/admin/flows/priorities/try", {"button": "2", "text": ""})
    assert answer.status_code == 303
    page = (await organiser.get("/admin/flows/priorities/try")).text
    assert "Z czego korzystasz?" in last_parley(page)  # safety: no housing question
    for reply in ("2 4", "5", "3", "nie", "Nie"):
        page = await say(organiser, "priorities", reply)
    assert "Dziękujemy!" in last_parley(page)
    assert "<td>top_issue</td><td>safety</td><td>2</td>" in page
    assert "<td>services</td><td>library food_bank</td>" in page
    assert await counts(web) == before


async def test_a_flow_that_leads_to_another_goes_on_into_it(worker: Browser, web: Harness) -> None:
    page = await start(worker, "menu", "en", "sms")
    page = await say(worker, "menu", "1")  # the survey
    assert "What should be fixed first?" in last_parley(page)
    assert "'menu' ends; 'priorities' starts" in html.unescape(page)
    assert "now in <code>priorities</code>" in page


async def test_starting_again_in_another_language_starts_afresh(
    worker: Browser, web: Harness
) -> None:
    await start(worker, "priorities", "en", "sms")
    await say(worker, "priorities", "1")
    page = await start(worker, "priorities", "ro", "sms")
    assert page.count('<li class="parley"') == 1
    assert "Ce rezolvăm întâi?" in last_parley(page)
    assert "None yet." in page
    assert '<option value="ro" selected>' in page


async def test_an_empty_reply_and_a_wrong_start_are_shown_beside_their_field(
    worker: Browser, web: Harness
) -> None:
    await start(worker, "priorities", "en", "sms")
    empty = await worker.post("/admin/flows/priorities/try", {"text": "  "})
    assert empty.status_code == 400
    assert 'id="text-error"' in empty.text
    wrong = await worker.post(
        "/admin/flows/priorities/try/start", {"language": "xx", "channel": "pigeon"}
    )
    assert wrong.status_code == 400
    assert 'id="language-error"' in wrong.text
    assert 'id="channel-error"' in wrong.text


async def test_an_unknown_flow_is_404(worker: Browser) -> None:
    page = await worker.get("/admin/flows/nosuch/try")
    assert page.status_code == 404
    answer = await worker.post("/admin/flows/nosuch/try/start", {"language": "en"})
    assert answer.status_code == 404


async def test_a_reply_without_its_token_is_refused(worker: Browser, web: Harness) -> None:
    await start(worker, "priorities", "en", "sms")
    worker.token = ""
    answer = await worker.post("/admin/flows/priorities/try", {"text": "1"})
    assert answer.status_code == 403
    page = await worker.get("/admin/flows/priorities/try")
    assert '<li class="resident"' not in page.text


async def test_each_staff_member_has_their_own_conversation(
    worker: Browser, organiser: Browser
) -> None:
    await start(worker, "priorities", "en", "sms")
    page = await organiser.get("/admin/flows/priorities/try")
    assert "The conversation" not in page.text


def test_the_store_keeps_the_latest_few_hundred() -> None:
    store = Simulations(kept=3)
    session = Session("f", "en", NOW, NOW)
    for n in range(5):
        store.put(n, "f", Simulation("en", "sms", "f", session.to_json()))
    assert len(store) == 3
    assert store.get(0, "f") is None
    assert store.get(4, "f") is not None
    assert Session.from_json(store.get(4, "f").session) == session  # type: ignore[union-attr]


async def test_choosing_a_language_in_the_flow_changes_the_residents_language(
    worker: Browser, web: Harness
) -> None:
    page = await start(worker, "language", "en", "sms")
    assert "2. Polski" in last_parley(page)
    page = await say(worker, "language", "2")
    assert "<dt>language</dt><dd>pl</dd>" in page
    assert "In pl, by SMS." in page
