"""The exports page: the form, what each role may have, the file as the answer (made by
a worker process, the same as ``parley export`` makes), and the log."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.exports import Filters, Request
from bot.exports import worker as export_worker
from bot.exports.worker import Making
from bot.store import exports as stored_exports
from bot.store import polls
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from bot.web.admin.pages.exports import Download, file_name
from tests import databases
from tests.conftest import Harness
from tests.web.conftest import Browser

ALI = "+447700900101"
BEA = "+447700900102"
TYPED = "07700 900 456"
# hi, English, yes to questions; the survey; then priorities' answers
ALI_TALK = ("hi", "1", "yes", "1", "1", "2", "1 3", "4", "12", "yes", f"call me on {TYPED}")
BEA_TALK = ("hi", "1", "yes", "1", "2", "2", "5", "3", "no", "More benches")


async def residents(web: Harness) -> None:
    for address, talk in ((ALI, ALI_TALK), (BEA, BEA_TALK)):
        for text in talk:
            web.clock.advance(seconds=10)
            await web.send(text, address)


async def exports_logged(web: Harness) -> list[dict[str, Any]]:
    return await web.rows("SELECT * FROM exports ORDER BY id")


async def a_poll(web: Harness, closed: bool) -> int:
    def make(tx: Tx) -> int:
        options = (PollOption("lights", {"en": "Lights"}), PollOption("benches", {"en": "Benches"}))
        poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), web.clock())
        polls.open_poll(tx, poll_id)
        if closed:
            polls.close(tx, poll_id, web.clock())
        return poll_id

    return await web.app.database.run(make)


def cli_export(web: Harness, tmp_path: Path, *args: str) -> bytes:
    """``parley export ARGS`` on the same database, as an organiser at the shell."""
    config = tmp_path / "cli.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    out = tmp_path / "cli-export"
    environment = {"PARLEY_DATABASE": str(web.app.settings.database), "PARLEY_EXPORT_SECRET": None}
    result = CliRunner().invoke(
        main, ["--config", str(config), "export", *args, "-o", str(out)], env=environment
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out.read_bytes()


# -- the page -----------------------------------------------------------------------------


async def test_the_page_shows_the_form_and_the_log(organiser: Browser, web: Harness) -> None:
    page = await organiser.get("/admin/exports")
    assert page.status_code == 200, page.text
    for label in ("What to export", "Survey (for responses)", "Poll (for votes)", "Format"):
        assert label in page.text
    assert 'type="date"' in page.text
    assert "With phone numbers" in page.text
    assert '<option value="priorities"' in page.text
    assert "No exports yet." in page.text
    chosen = await organiser.get("/admin/exports?what=contacts")
    assert '<option value="contacts" selected>' in chosen.text


async def test_a_worker_sees_only_what_workers_may_have(worker: Browser) -> None:
    page = await worker.get("/admin/exports?what=contacts")
    assert page.status_code == 200, page.text
    assert '<option value="contacts"' not in page.text
    assert '<option value="messages"' not in page.text
    assert "With phone numbers" not in page.text


# -- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"what": "contacts"}, "what"),
        ({"what": "messages"}, "what"),
        ({"what": "ideas", "addresses": "yes"}, "addresses"),
        ({"what": "responses", "flow": "priorities", "addresses": "yes"}, "addresses"),
    ],
)
async def test_a_worker_cannot_have_contacts_nor_addresses(
    worker: Browser, web: Harness, fields: dict[str, str], field: str
) -> None:
    await worker.get("/admin/exports")
    answer = await worker.post("/admin/exports", {"format": "csv", **fields})
    assert answer.status_code == 403, answer.text
    assert "only organisers export" in answer.text.lower()
    assert f'id="{field}-error"' in answer.text or f'<p class="error" id="{field}">' in answer.text
    assert "attachment" not in answer.headers.get("content-disposition", "")
    assert await exports_logged(web) == []
    assert await web.rows("SELECT * FROM audit WHERE action = 'export.request'") == []


async def test_a_worker_has_the_votes_of_a_closed_poll_only(worker: Browser, web: Harness) -> None:
    open_poll = await a_poll(web, closed=False)
    closed_poll = await a_poll(web, closed=True)
    page = await worker.get("/admin/exports?what=votes")
    assert f'<option value="poll-{closed_poll}"' in page.text  # its responses too
    assert f'<option value="poll-{open_poll}"' not in page.text
    refused = await worker.post("/admin/exports", {"what": "votes", "poll": str(open_poll)})
    assert refused.status_code == 403, refused.text
    assert 'id="poll-error"' in refused.text
    assert "once it has closed" in refused.text
    every = await worker.post("/admin/exports", {"what": "votes", "poll": ""})
    assert every.status_code == 403
    assert await exports_logged(web) == []
    given = await worker.post("/admin/exports", {"what": "votes", "poll": str(closed_poll)})
    assert given.status_code == 200, given.text
    assert given.headers["content-disposition"].startswith(
        f'attachment; filename="parley-votes-poll{closed_poll}-'
    )
    [logged] = await exports_logged(web)
    assert (logged["what"], logged["requested_by"], logged["rows"]) == ("votes", "web:wren", 0)


async def test_an_open_polls_votes_are_not_had_as_its_responses(
    worker: Browser, web: Harness
) -> None:
    """A poll's answers are its votes: a worker asking for them as responses of
    ``poll-N`` while it is open is refused, as for its votes."""
    open_poll = await a_poll(web, closed=False)
    await worker.get("/admin/exports?what=responses")
    refused = await worker.post(
        "/admin/exports", {"what": "responses", "flow": f"poll-{open_poll}"}
    )
    assert refused.status_code == 403, refused.text
    assert await exports_logged(web) == []


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"what": "responses", "flow": ""}, "flow", "Choose the survey"),
        ({"what": "responses", "flow": "nosuch"}, "flow", "There is no survey"),
        ({"what": "votes", "poll": "99"}, "poll", "There is no poll 99"),
        (
            {"what": "ideas", "since": "2026-03-05", "until": "2026-03-01"},
            "until",
            "must not come before",
        ),
        ({"what": "ideas", "since": "5 March"}, "since", "not a date"),
        ({"what": "ideas", "format": "floip"}, "format", "FLOIP package holds survey responses"),
        ({"what": "everything"}, "what", "Choose what to export"),
    ],
)
async def test_a_wrong_form_is_shown_again_with_the_problem_beside_its_field(
    organiser: Browser, web: Harness, fields: dict[str, str], field: str, problem: str
) -> None:
    await organiser.get("/admin/exports")
    answer = await organiser.post("/admin/exports", {"format": "csv", **fields})
    assert answer.status_code == 400, answer.text
    error = answer.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert problem in error
    assert "1 thing to put right" in answer.text
    for name, value in fields.items():  # what was chosen is kept
        if value and name in ("since", "until"):
            assert f'value="{value}"' in answer.text
    assert await exports_logged(web) == []


async def test_a_form_without_its_token_exports_nothing(organiser: Browser, web: Harness) -> None:
    await organiser.get("/admin/exports")
    organiser.token = ""
    answer = await organiser.post("/admin/exports", {"what": "contacts", "format": "csv"})
    assert answer.status_code == 403
    assert "attachment" not in answer.headers.get("content-disposition", "")
    assert await exports_logged(web) == []


# -- the file ------------------------------------------------------------------------------


async def test_an_organisers_responses_are_the_cli_export_without_a_phone_number(
    organiser: Browser, web: Harness, tmp_path: Path
) -> None:
    await residents(web)
    await organiser.get("/admin/exports")
    answer = await organiser.post(
        "/admin/exports", {"what": "responses", "flow": "priorities", "format": "csv"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    day = web.clock().date().isoformat()
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="parley-responses-priorities-{day}.csv"'
    )
    data = answer.content
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, *body = rows
    assert len(body) == 2
    assert not data.startswith(b"\xef\xbb\xbf")  # no byte order mark unless asked
    cli = await asyncio.to_thread(cli_export, web, tmp_path, "responses", "--flow", "priorities")
    assert next(csv.reader(io.StringIO(cli.decode("utf-8"), newline=""))) == header
    assert data == cli  # the same Maker: the same pseudonyms, the same cells
    for number in (ALI, BEA, ALI.removeprefix("+"), TYPED, TYPED.replace(" ", "")):
        assert number.encode() not in data
    assert b"call me on [phone]" in data
    web_export, cli_logged = await exports_logged(web)
    assert (web_export["what"], web_export["requested_by"]) == ("responses", "web:olu")
    assert web_export["rows"] == 2
    assert web_export["addresses"] == 0
    assert cli_logged["requested_by"] == "cli"
    page = await organiser.get("/admin/exports")
    assert "survey priorities" in page.text
    assert "web:olu" in page.text


async def test_with_phone_numbers_and_a_byte_order_mark(organiser: Browser, web: Harness) -> None:
    await residents(web)
    await organiser.get("/admin/exports")
    answer = await organiser.post(
        "/admin/exports", {"what": "contacts", "format": "csv", "addresses": "yes", "bom": "yes"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf")
    assert ALI.encode() in answer.content
    [logged] = await exports_logged(web)
    assert (logged["addresses"], logged["rows"]) == (1, 2)
    page = await organiser.get("/admin/exports")
    assert "WITH ADDRESSES" in page.text


async def test_floip_gives_a_zip_with_its_datapackage(organiser: Browser, web: Harness) -> None:
    await residents(web)
    await organiser.get("/admin/exports")
    answer = await organiser.post(
        "/admin/exports", {"what": "responses", "flow": "priorities", "format": "floip"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].endswith('-floip.zip"')
    with zipfile.ZipFile(io.BytesIO(answer.content)) as package:
        names = package.namelist()
        descriptor = json.loads(package.read("datapackage.json"))
    assert "datapackage.json" in names
    assert descriptor["resources"]
    [logged] = await exports_logged(web)
    assert logged["format"] == "floip"
    assert logged["rows"] > 0


async def test_dates_choose_the_rows(organiser: Browser, web: Harness) -> None:
    await residents(web)
    await organiser.get("/admin/exports")
    later = await organiser.post(
        "/admin/exports",
        {"what": "responses", "flow": "priorities", "since": "2026-03-03", "format": "csv"},
    )
    assert later.status_code == 200, later.text
    assert len(list(csv.reader(io.StringIO(later.text)))) == 1  # the header alone
    [logged] = await exports_logged(web)
    assert logged["rows"] == 0
    page = await organiser.get("/admin/exports")
    assert "from 2026-03-03 00:00" in page.text


# -- the worker process ------------------------------------------------------------------------


def test_file_names() -> None:
    votes = Request("votes", Filters(poll_id=3))
    assert file_name(votes, "2026-12-02") == "parley-votes-poll3-2026-12-02.csv"
    floip = Request("responses", Filters("priorities"), "floip")
    assert file_name(floip, "2026-12-02") == "parley-responses-priorities-2026-12-02-floip.zip"
    assert file_name(Request("ideas"), "2026-12-02") == "parley-ideas-2026-12-02.csv"


async def test_a_failing_worker_says_so_in_one_line_and_nothing_on_stdout(
    web: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Request("responses", Filters("priorities"))
    settings = web.app.settings
    from dataclasses import replace

    missing = replace(settings, database=databases.missing(settings.database))
    making = await Making.start(missing, broken, b"k" * 16, web.clock(), 77)
    data = b"".join([chunk async for chunk in making.chunks()])
    assert await making.finished() is None
    assert data == b""
    [line] = [r.getMessage() for r in caplog.records if "export 77" in r.getMessage()]
    assert "status 1" in line
    # SQLite cannot open the file; a server without the database is one Parley cannot reach
    assert ("ConfigError" if databases.ON_POSTGRES else "OperationalError") in line
    assert "Traceback" not in line


SLOW_WORKER = (  # writes a little, then would take a minute
    "import sys, time\nsys.stdout.buffer.write(b'a' * 10)\nsys.stdout.flush()\ntime.sleep(60)\n"
)


async def test_a_browser_that_goes_away_stops_the_worker(
    web: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_worker, "COMMAND", ("-c", SLOW_WORKER))
    making = await Making.start(web.app.settings, Request("ideas"), b"k" * 16, web.clock(), 1)
    response = Download(_web_of(web), making, "x.csv", "csv")
    got_chunk = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await got_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)
        if message.get("body"):
            got_chunk.set()

    started = datetime.now()
    await asyncio.wait_for(response({"type": "http"}, receive, send), 20)
    assert (datetime.now() - started).total_seconds() < 20
    assert making.process.returncode is not None  # killed, not left running
    assert making.process.returncode < 0
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [b"a" * 10]


def _web_of(web: Harness) -> Any:
    class Stands:
        app = web.app

    return Stands()


FAILING_WORKER = (  # writes half a file, then fails
    "import sys\n"
    "sys.stdout.buffer.write(b'resident,run\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('failed: OperationalError\\n')\n"
    "sys.exit(1)\n"
)


async def test_a_worker_failing_half_way_leaves_the_export_unfinished_and_the_download_incomplete(
    web: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(export_worker, "COMMAND", ("-c", FAILING_WORKER))
    now = web.clock()
    export_id = await web.app.database.run(
        lambda tx: stored_exports.record(tx, "ideas", "csv", {}, False, "web:olu", now)
    )
    making = await Making.start(web.app.settings, Request("ideas"), b"k" * 16, now, export_id)
    sent: list[dict[str, Any]] = []
    never = asyncio.Event()  # the browser stays

    async def receive() -> dict[str, Any]:
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await asyncio.wait_for(
        Download(_web_of(web), making, "x.csv", "csv")({"type": "http"}, receive, send), 20
    )
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies] == [b"resident,run\n"]
    assert all(m["more_body"] for m in bodies)  # never ended: the browser knows
    [logged] = await exports_logged(web)
    assert logged["rows"] is None  # "unfinished" in the log
    [line] = [r.getMessage() for r in caplog.records if f"export {export_id}" in r.getMessage()]
    assert "status 1 (failed: OperationalError)" in line
