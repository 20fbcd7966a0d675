"""The budgeting pages: the rounds and opening one (organisers); a round's bids entered
by hand and from a CSV file, translated and ruled on; its phases begun from the page
(once however often the form is sent); the count by both rules; the ballots as CSV and
Pabulib files with pseudonymous voters."""

from __future__ import annotations

import json
import re

import pytest

from bot.civic import ideas
from bot.store import budgeting, contacts, panels
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser

_ONCE = re.compile(r'name="once" value="([^"]+)"')
VOTERS = ("+447700900601", "+447700900602", "+447700900603")
ROUND = {
    "name": "Oakfield Fund",
    "budget": "100,000",
    "currency": "GBP",
    "style": "approval",
    "rule": "greedy",
}


def once_in(page: str, action: str) -> str:
    """The one-time token of the form that posts to ``action``."""
    found = _ONCE.search(page, page.index(f'action="{action}"'))
    assert found is not None, action
    return found.group(1)


def beside(page: str, name: str) -> str:
    """The error shown beside field ``name``."""
    found = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', page)
    assert found is not None, (name, page[-2000:])
    return found.group(1)


async def opened(organiser: Browser, **given: str) -> str:
    """Open a round from the page; its address."""
    page = await organiser.get("/admin/budgeting")
    fields = {**ROUND, "once": once_in(page.text, "/admin/budgeting"), **given}
    answer = await organiser.post("/admin/budgeting", fields)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def bid(signed: Browser, where: str, title: str, cost: str, **given: str) -> None:
    page = await signed.get(where)
    fields = {
        "title": title,
        "description": f"{title}, for Oakfield.",
        "cost": cost,
        "proposer": "Oakfield Residents",
        "ward": "North",
        "once": once_in(page.text, f"{where}/bids"),
        **given,
    }
    answer = await signed.post(f"{where}/bids", fields)
    assert answer.status_code == 303, answer.text


async def begin(organiser: Browser, where: str, phase: str) -> str:
    """Press the page's button for ``phase``; the page it leads to."""
    page = await organiser.get(where)
    once = once_in(page.text, f"{where}/phase")
    answer = await organiser.post(f"{where}/phase", {"phase": phase, "once": once})
    assert answer.status_code == 303, answer.text
    return (await organiser.get(answer.headers["location"])).text


async def residents(web: Harness) -> None:
    """Three residents in the North who said yes to questions."""

    def work(tx: Tx) -> None:
        for address in VOTERS:
            found = contacts.touch(tx, "sms", address, "en", web.clock())
            contacts.update(tx, found, {"consent": "yes", "ward": "North"})

    await web.app.database.run(work)


async def phase(web: Harness) -> str:
    await web.app.jobs.run_due()
    [row] = await web.rows("SELECT phase FROM pb_rounds")
    return str(row["phase"])


async def voting(web: Harness, organiser: Browser) -> str:
    """A round in its voting phase: bids 1 and 2 on the ballot, 3 ruled out."""
    await residents(web)
    where = await opened(organiser, fields="ward=North")
    for title, cost in (("Community garden", "60000"), ("Benches", "30000"), ("Car park", "9000")):
        await bid(organiser, where, title, cost)
    await begin(organiser, where, "screening")
    assert await phase(web) == "screening"
    for number, ruling, reason in (("1", "yes", ""), ("2", "yes", ""), ("3", "no", "Private.")):
        answer = await organiser.post(
            f"{where}/rule", {"rule_bid": number, "eligible": ruling, "reason": reason}
        )
        assert answer.status_code == 303, answer.text
    await begin(organiser, where, "voting")
    assert await phase(web) == "voting"
    return where


# -- the rounds ---------------------------------------------------------------------------


async def test_the_rounds_page_for_an_organiser_and_a_worker(
    organiser: Browser, worker: Browser
) -> None:
    empty = await organiser.get("/admin/budgeting")
    assert empty.status_code == 200, empty.text
    assert 'href="/admin/budgeting"' in empty.text  # in the navigation
    assert "No rounds yet." in empty.text
    assert 'name="currency" type="text" value="GBP"' in empty.text
    await opened(organiser)
    shown = await worker.get("/admin/budgeting")
    assert shown.status_code == 200, shown.text
    assert "Oakfield Fund" in shown.text
    assert "£100,000" in shown.text
    assert "open for bids" in shown.text
    assert "Open a round" not in shown.text  # the form is organisers'
    assert 'href="/admin/budgeting"' in shown.text


async def test_opening_a_round_stores_it_with_its_times_in_utc(
    organiser: Browser, web: Harness
) -> None:
    where = await opened(
        organiser,
        style="k_approval",
        k="3",
        rule="mes",
        currency="eur",
        fields="ward=North\n\nage=young",
        voting_at="2026-06-01T09:00",
        counted_at="2026-06-08T18:00",
    )
    assert where == "/admin/budgeting/1"
    [row] = await web.rows("SELECT * FROM pb_rounds")
    assert (row["name"], row["budget"], row["currency"]) == ("Oakfield Fund", 100000, "EUR")
    assert (row["style"], row["k"], row["rule"], row["panel_id"]) == ("k_approval", 3, "mes", None)
    assert json.loads(row["audience"])["fields"] == {"ward": "North", "age": "young"}
    assert row["voting_at"] == "2026-06-01T08:00:00+00:00"  # 09:00 in London's summer
    assert row["counted_at"] == "2026-06-08T17:00:00+00:00"
    kinds = await web.rows("SELECT kind FROM jobs WHERE kind LIKE 'pb_%' ORDER BY kind")
    assert [k["kind"] for k in kinds] == ["pb_counted", "pb_voting"]
    page = await organiser.get(where)
    assert page.status_code == 200, page.text
    assert "Round 1 &#39;Oakfield Fund&#39; is open for bids." in page.text
    assert "€100,000" in page.text
    assert "Up to K bids (K = 3)" in page.text
    assert "Method of Equal Shares" in page.text
    assert "ward = North" in page.text
    assert "begins Mon 1 Jun 2026, 09:00" in page.text


@pytest.mark.parametrize(
    ("given", "name", "problem"),
    [
        ({"budget": "lots"}, "budget", "&#39;lots&#39; is not a whole amount, like 12000"),
        ({"budget": "0"}, "budget", "The budget is a whole amount above 0"),
        ({"currency": "XYZ"}, "currency", "&#39;XYZ&#39; is not a currency code like GBP or EUR"),
        ({"style": "ranking"}, "k", "A ranking ballot needs K, the most projects a ballot chooses"),
        ({"name": " "}, "name", "Give the round a name"),
        ({"fields": "ward North"}, "fields", "&#39;ward North&#39; should be name=value"),
        ({"voting_at": "2026-03-01T09:00"}, "voting_at", "Voting is in the past"),
        (
            {"voting_at": "2026-06-02T09:00", "counted_at": "2026-06-01T09:00"},
            "counted_at",
            "Counted must come after voting",
        ),
        ({"panel": "7"}, "panel", "There is no panel 7"),
    ],
)
async def test_a_round_described_wrongly_is_refused_beside_the_field(
    organiser: Browser, web: Harness, given: dict[str, str], name: str, problem: str
) -> None:
    page = await organiser.get("/admin/budgeting")
    fields = {**ROUND, "name": "Spring Fund", "once": once_in(page.text, "/admin/budgeting")}
    answer = await organiser.post("/admin/budgeting", {**fields, **given})
    assert answer.status_code == 400, answer.text
    assert beside(answer.text, name).startswith(problem)
    if name != "name":
        assert 'value="Spring Fund"' in answer.text  # what was typed is kept
    assert await web.rows("SELECT * FROM pb_rounds") == []


async def test_a_worker_is_refused_the_organisers_forms(
    organiser: Browser, worker: Browser, web: Harness
) -> None:
    where = await opened(organiser)
    await bid(organiser, where, "Community garden", "12000")
    await worker.get("/admin/budgeting")
    refused = await worker.post("/admin/budgeting", {**ROUND, "once": "x"})
    assert refused.status_code == 403
    page = await worker.get(where)
    assert page.status_code == 200, page.text
    assert f'action="{where}/phase"' not in page.text
    assert f'action="{where}/rule"' not in page.text
    for action, fields in (
        ("rule", {"rule_bid": "1", "eligible": "yes"}),
        ("phase", {"phase": "screening", "once": "y"}),
        ("ballots.csv", {}),
    ):
        answer = await worker.post(f"{where}/{action}", fields)
        assert answer.status_code == 403, action
    assert await web.rows("SELECT phase FROM pb_rounds") == [{"phase": "bids"}]
    assert await web.rows("SELECT status FROM pb_bids") == [{"status": "proposed"}]


# -- bids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "problem"),
    [
        ("0", "The cost is a whole amount above 0"),
        ("100001", "The cost 100001 is more than the round&#39;s whole budget 100000"),
        ("£5", "&#39;£5&#39; is not a whole amount, like 12000"),
    ],
)
async def test_a_bid_costing_nothing_or_more_than_the_budget_is_refused_beside_cost(
    worker: Browser, organiser: Browser, web: Harness, cost: str, problem: str
) -> None:
    where = await opened(organiser)
    page = await worker.get(where)
    answer = await worker.post(
        f"{where}/bids",
        {
            "title": "Community garden",
            "cost": cost,
            "proposer": "Oakfield Residents",
            "once": once_in(page.text, f"{where}/bids"),
        },
    )
    assert answer.status_code == 400, answer.text
    assert beside(answer.text, "cost") == problem
    assert 'value="Community garden"' in answer.text
    assert 'value="Oakfield Residents"' in answer.text
    assert await web.rows("SELECT * FROM pb_bids") == []


async def test_bids_entered_translated_and_ruled_on_from_the_page(
    organiser: Browser, worker: Browser, web: Harness
) -> None:
    where = await opened(organiser)
    await bid(worker, where, "Community garden", "12000")
    again = await worker.get(where)
    assert "£12,000" in again.text
    assert "not screened yet" in again.text
    [row] = await web.rows("SELECT number, title, cost, proposer, ward FROM pb_bids")
    assert row == {
        "number": 1,
        "title": '{"en": "Community garden"}',
        "cost": 12000,
        "proposer": "Oakfield Residents",
        "ward": "North",
    }
    unknown = await worker.post(
        f"{where}/translate",
        {"translate_bid": "1", "language": "xx", "translated_title": "Ogród"},
    )
    assert unknown.status_code == 400
    assert beside(unknown.text, "language").startswith("Unknown language &#39;xx&#39;")
    assert 'value="Ogród"' in unknown.text
    untitled = await worker.post(
        f"{where}/translate", {"translate_bid": "1", "language": "pl", "translated_title": ""}
    )
    assert beside(untitled.text, "translated_title") == "Give the title in pl"
    missing = await worker.post(
        f"{where}/translate", {"translate_bid": "4", "language": "pl", "translated_title": "X"}
    )
    assert missing.status_code == 400
    assert beside(missing.text, "translate_bid") == "There is no bid 4"
    done = await worker.post(
        f"{where}/translate",
        {
            "translate_bid": "1",
            "language": "pl",
            "translated_title": "Ogród społeczny",
            "translated_description": "Grządki.",
        },
    )
    assert done.status_code == 303, done.text
    [row] = await web.rows("SELECT title, description FROM pb_bids")
    assert json.loads(row["title"]) == {"en": "Community garden", "pl": "Ogród społeczny"}
    assert json.loads(row["description"])["pl"] == "Grządki."
    assert "Also in pl" in (await worker.get(where)).text

    await organiser.get(where)
    no_reason = await organiser.post(
        f"{where}/rule", {"rule_bid": "1", "eligible": "no", "reason": " "}
    )
    assert no_reason.status_code == 400
    assert beside(no_reason.text, "reason").startswith("Give the panel&#39;s reason")
    unsaid = await organiser.post(f"{where}/rule", {"rule_bid": "1", "eligible": ""})
    assert beside(unsaid.text, "eligible") == "Say whether the bid is eligible"
    ruled = await organiser.post(
        f"{where}/rule", {"rule_bid": "1", "eligible": "no", "reason": "It is private land."}
    )
    assert ruled.status_code == 303, ruled.text
    assert await web.rows("SELECT status, reason FROM pb_bids") == [
        {"status": "ineligible", "reason": "It is private land."}
    ]
    shown = await organiser.get(where)
    assert "Bid 1 is not eligible." in shown.text
    assert "not eligible</span>: It is private land." in shown.text


async def test_a_csv_file_of_bids_goes_in_whole_or_not_at_all(
    organiser: Browser, worker: Browser, web: Harness
) -> None:
    where = await opened(organiser)
    header = "title,description,cost,proposer,ward\n"
    bad = header + "Garden,Beds.,12000,Residents,North\nBenches,Six.,0,Friends,North\n"
    page = await worker.get(where)
    answer = await worker.post(
        f"{where}/import",
        {"once": once_in(page.text, f"{where}/import")},
        files={"file": ("bids.csv", bad.encode(), "text/csv")},
    )
    assert answer.status_code == 400, answer.text
    assert beside(answer.text, "file") == "Line 3 of bids.csv: the cost is a whole amount above 0"
    assert await web.rows("SELECT * FROM pb_bids") == []
    words = header + "Garden,Beds.,12k,Residents,North\n"
    answer = await worker.post(
        f"{where}/import",
        {"once": once_in(answer.text, f"{where}/import")},
        files={"file": ("bids.csv", words.encode(), "text/csv")},
    )
    assert beside(answer.text, "file") == (
        "Line 2 of bids.csv: the cost &#39;12k&#39; is not a whole amount"
    )
    good = header + 'Garden,Beds.,"12,000",Residents,North\nBenches,Six.,4500,Friends,\n'
    page = await worker.get(where)
    once = once_in(page.text, f"{where}/import")
    for _ in range(2):  # sent twice: imported once
        answer = await worker.post(
            f"{where}/import",
            {"once": once},
            files={"file": ("bids.csv", ("\ufeff" + good).encode(), "text/csv")},
        )
        assert answer.status_code == 303, answer.text
    rows = await web.rows("SELECT number, cost, ward FROM pb_bids ORDER BY number")
    assert rows == [
        {"number": 1, "cost": 12000, "ward": "North"},
        {"number": 2, "cost": 4500, "ward": None},
    ]
    shown = await worker.get(where)
    assert "2 bids from bids.csv are in round 1." in shown.text


async def test_a_bid_made_from_a_residents_idea(
    organiser: Browser, worker: Browser, web: Harness
) -> None:
    def idea(tx: Tx) -> str:
        sender = contacts.touch(tx, "sms", VOTERS[0], "en", web.clock())
        text = "Six benches on the green, about £4,500"
        return ideas.submit(tx, sender, text, "en", web.clock(), region="GB").reference

    reference = await web.app.database.run(idea)
    where = await opened(organiser)
    page = await worker.get(where)
    fields = {"idea_title": "Benches", "idea_proposer": "Friends of the Green"}
    missing = await worker.post(
        f"{where}/idea", {**fields, "idea": "ID-9999", "once": once_in(page.text, f"{where}/idea")}
    )
    assert missing.status_code == 400, missing.text
    assert beside(missing.text, "idea") == "There is no idea ID-9999"
    assert 'value="Friends of the Green"' in missing.text
    once = once_in(missing.text, f"{where}/idea")
    made = await worker.post(f"{where}/idea", {**fields, "idea": reference, "once": once})
    assert made.status_code == 303, made.text
    [row] = await web.rows("SELECT cost, proposer, proposer_id, idea_id, description FROM pb_bids")
    assert (row["cost"], row["proposer"]) == (4500, "Friends of the Green")
    assert row["proposer_id"] is not None
    assert row["idea_id"] is not None
    assert "Six benches" in row["description"]
    shown = await worker.get(where)
    assert f"made from idea {reference}" in shown.text
    assert "(from an idea)" in shown.text


async def test_a_round_screened_by_a_panel(organiser: Browser, web: Harness) -> None:
    await web.app.database.run(lambda tx: panels.create(tx, "Oakfield panel", 1, web.clock()))
    page = await organiser.get("/admin/budgeting")
    assert '<option value="1">Panel 1: Oakfield panel</option>' in page.text
    where = await opened(organiser, panel="1")
    await bid(organiser, where, "Community garden", "12000")
    await bid(organiser, where, "Benches", "4500")
    shown = await begin(organiser, where, "screening")
    assert "Screening begins now: each bid goes to panel 1 as a vote." in shown
    assert await phase(web) == "screening"
    polls = await web.rows("SELECT panel_id, status FROM polls ORDER BY id")
    assert polls == [{"panel_id": 1, "status": "open"}] * 2
    page = await organiser.get(where)
    assert "the panel is voting" in page.text
    assert "As the panel&#39;s vote decides" in page.text
    early = await organiser.post(f"{where}/rule", {"rule_bid": "1", "eligible": "yes"})
    assert early.status_code == 400
    assert beside(early.text, "eligible").startswith("The panel is still voting on bid 1")
    kept = await organiser.post(
        f"{where}/rule", {"rule_bid": "1", "eligible": "panel", "reason": "Too dear."}
    )
    assert kept.status_code == 303, kept.text
    rows = await web.rows("SELECT status, reason FROM pb_bids WHERE number = 1")
    assert rows == [{"status": "proposed", "reason": "Too dear."}]


# -- phases -------------------------------------------------------------------------------


async def test_phases_begun_from_the_page_once_and_in_order(
    organiser: Browser, web: Harness
) -> None:
    await residents(web)
    where = await opened(organiser)
    await bid(organiser, where, "Community garden", "12000")
    await bid(organiser, where, "Benches", "4500")
    page = await organiser.get(where)
    assert "Begin screening" in page.text
    once = once_in(page.text, f"{where}/phase")
    for _ in range(2):  # a double click: begun once
        answer = await organiser.post(f"{where}/phase", {"phase": "screening", "once": once})
        assert answer.status_code == 303
    assert await phase(web) == "screening"
    assert len(await web.rows("SELECT * FROM audit WHERE action = 'pb.phase'")) == 1
    page = await organiser.get(where)
    assert "That form was sent already" in page.text
    assert "Begin voting: the ballot goes to everyone who may vote" in page.text
    assert "the ballot goes to 3 residents" in page.text

    shown = await begin(organiser, where, "voting")
    assert "Nothing was begun: bids 1, 2 are not screened yet (eligible or not)." in shown
    assert await phase(web) == "screening"
    await organiser.post(f"{where}/rule", {"rule_bid": "1", "eligible": "yes"})
    await organiser.post(f"{where}/rule", {"rule_bid": "2", "eligible": "no", "reason": "Dup."})
    shown = await begin(organiser, where, "voting")
    assert "Voting begins now: the ballot goes to everyone who may vote." in shown
    assert await phase(web) == "voting"
    shown = (await organiser.get(where)).text
    [row] = await web.rows("SELECT ballot_id FROM pb_rounds")
    assert row["ballot_id"] is not None
    assert "Count: voting closes, the result goes to every voter" in shown
    assert f'action="{where}/bids"' not in shown  # bids can no longer change


async def test_the_count_by_both_rules_and_the_ballots_downloaded(
    organiser: Browser, worker: Browser, web: Harness
) -> None:
    where = await voting(web, organiser)

    def cast(tx: Tx) -> None:
        for address, choice in zip(VOTERS, ([1, 2], [1], [2]), strict=True):
            found = contacts.find(tx, "sms", address)
            assert found is not None
            budgeting.cast(tx, 1, found.id, choice, "en", "sms", web.clock())

    await web.app.database.run(cast)
    live = await organiser.get(where)
    assert "votes so far, live" in live.text
    assert '<th scope="col" class="number">Votes' in live.text
    hidden = await worker.get(where)
    assert hidden.status_code == 200
    assert '<th scope="col" class="number">Votes' not in hidden.text  # not for workers yet
    assert "Download the ballots" not in hidden.text

    shown = await begin(organiser, where, "counted")
    assert await phase(web) == "counted"
    shown = (await organiser.get(where)).text
    assert "The count" in shown
    assert "Greedy by votes (decides)" in shown
    assert "Method of Equal Shares</th>" in shown
    assert shown.count("✓ funded") == 4  # both bids, by both rules: 90,000 of 100,000
    assert "shared by 2 voters: £30,000.00 each" in shown  # bid 1: its 2 voters alike
    assert "shared by 2 voters: £3,333.33 to £26,666.67 each" in shown
    assert "£10,000" in shown  # left, by each rule
    count = json.loads((await web.rows("SELECT count FROM pb_rounds"))[0]["count"])
    assert {f["id"] for f in count["mes"]["funded"]} == {"1", "2"}
    seen = await worker.get(where)
    assert '<th scope="col" class="number">Votes' in seen.text  # counted: for everyone

    refused = await worker.post(f"{where}/ballots.csv")
    assert refused.status_code == 403
    await organiser.get(where)
    download = await organiser.post(f"{where}/ballots.csv")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    lines = download.text.strip().splitlines()
    assert lines[0] == "voter,choice,language,channel,cast_at"
    assert len(lines) == 4
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["1", "1 2", "2"]
    assert "+44" not in download.text
    assert "7700900" not in download.text
    voters = {line.split(",")[0] for line in lines[1:]}
    assert len(voters) == 3
    assert all(len(v) >= 8 for v in voters)
    pabulib = await organiser.post(f"{where}/ballots.pb")
    assert pabulib.status_code == 200, pabulib.text
    assert pabulib.text.startswith("META")
    assert "VOTES" in pabulib.text
    assert "7700900" not in pabulib.text
    assert all(voter in pabulib.text for voter in voters)
    exported = await web.rows("SELECT front FROM audit WHERE action = 'pb.export'")
    assert exported == [{"front": "web"}, {"front": "web"}]


# -- the guards ---------------------------------------------------------------------------


async def test_a_form_without_its_token_changes_nothing(organiser: Browser, web: Harness) -> None:
    where = await opened(organiser)
    answer = await organiser.client.post("/admin/budgeting", data={**ROUND, "once": "z"})
    assert answer.status_code == 403
    answer = await organiser.client.post(
        f"{where}/bids",
        data={"title": "Garden", "cost": "5", "proposer": "Residents", "once": "z"},
    )
    assert answer.status_code == 403
    answer = await organiser.client.post(f"{where}/phase", data={"phase": "screening"})
    assert answer.status_code == 403
    assert len(await web.rows("SELECT * FROM pb_rounds")) == 1
    assert await web.rows("SELECT * FROM pb_bids") == []
    assert await phase(web) == "bids"


async def test_an_unknown_round_is_404(organiser: Browser, worker: Browser) -> None:
    for path in ("/admin/budgeting/9", "/admin/budgeting/round"):
        page = await worker.get(path)
        assert page.status_code == 404, path
    assert "There is no round 9." in (await worker.get("/admin/budgeting/9")).text
    await organiser.get("/admin/budgeting")
    answer = await organiser.post(
        "/admin/budgeting/9/bids", {"title": "Garden", "cost": "5", "proposer": "R", "once": "q"}
    )
    assert answer.status_code == 404
    answer = await organiser.post("/admin/budgeting/9/phase", {"phase": "screening"})
    assert answer.status_code == 404
    assert (await organiser.post("/admin/budgeting/9/ballots.csv")).status_code == 404
