"""The audit log page: what staff did from every front, newest first, filtered by who,
front, what and local dates, 50 a page; for organisers only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bot.store import audit
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser

NEW = "amina's password 7"


def _entry(
    at: datetime, action: str, target: str, front: str = "cli", actor: str = "sam"
) -> audit.Entry:
    return audit.Entry(at, actor, "organiser", front, action, target, '{"recipients": 4}')


async def _add(web: Harness, *entries: audit.Entry) -> None:
    def add(tx: Tx) -> None:
        for entry in entries:
            audit.add(tx, entry)

    await web.app.database.run(add)


def _targets(page: str) -> list[str]:
    """The targets shown, in order (the entries seeded are 'item N')."""
    return re.findall(r"<td>(item \d+)</td>", page)


async def test_a_worker_is_refused_the_audit_log(worker: Browser, web: Harness) -> None:
    assert (await worker.get("/admin/audit")).status_code == 403
    assert (await worker.get("/admin/audit?front=web")).status_code == 403


async def test_what_is_done_on_the_web_is_in_the_log(organiser: Browser, web: Harness) -> None:
    await organiser.get("/admin/staff")
    fields: dict[str, object] = {
        "name": "amina.k",
        "role": "worker",
        "password": NEW,
        "password_again": NEW,
    }
    assert (await organiser.post("/admin/staff", fields)).status_code == 303
    page = await organiser.get("/admin/audit")
    assert page.status_code == 200, page.text
    row = re.search(r"<tr>\s*<td>([^<]*)</td>(.*?)</tr>", page.text, re.S)
    assert row, page.text
    when, rest = row.groups()
    assert when == "Mon 2 Mar 2026, 10:00"
    cells = re.findall(r"<td>(.*?)</td>", rest, re.S)
    assert cells == ["olu", "organiser", "web", "<code>staff.add</code>", "staff amina.k",
                     "role: worker"]  # fmt: skip
    assert "<code>staff.sign_in</code>" in page.text
    assert '<option value="olu">olu</option>' in page.text  # who: everyone who acted


async def test_filters(organiser: Browser, web: Harness) -> None:
    day = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    await _add(
        web,
        _entry(day, "poll.close", "item 1"),
        _entry(day + timedelta(days=1), "poll.publish", "item 2", front="web", actor="olu"),
        _entry(
            day + timedelta(days=2), "broadcast.send", "item 3", front="phone", actor="contact 4"
        ),
        _entry(day + timedelta(days=3), "polling.x", "item 4"),
    )
    by_front = await organiser.get("/admin/audit?front=phone")
    assert _targets(by_front.text) == ["item 3"]
    assert '<option value="phone" selected>' in by_front.text  # the filter is kept
    by_family = await organiser.get("/admin/audit?action=poll")
    assert _targets(by_family.text) == ["item 2", "item 1"]  # not 'polling'
    by_action = await organiser.get("/admin/audit?action=poll.close")
    assert _targets(by_action.text) == ["item 1"]
    by_actor = await organiser.get("/admin/audit?actor=contact+4")
    assert _targets(by_actor.text) == ["item 3"]
    by_dates = await organiser.get("/admin/audit?since=2026-02-11&until=2026-02-12")
    assert _targets(by_dates.text) == ["item 3", "item 2"]
    assert 'value="2026-02-11"' in by_dates.text
    assert 'value="2026-02-12"' in by_dates.text
    since = await organiser.get("/admin/audit?since=2026-02-13")
    assert "item 4" in _targets(since.text)
    assert "item 3" not in _targets(since.text)
    nothing = await organiser.get("/admin/audit?front=cli&action=broadcast")
    assert _targets(nothing.text) == []
    assert "Nothing matches." in nothing.text


async def test_dates_are_local_days(organiser: Browser, web: Harness) -> None:
    """In summer London is an hour ahead of UTC: 23:30 UTC on 31 May is 1 June there."""
    await _add(
        web,
        _entry(datetime(2026, 5, 31, 22, 30, tzinfo=UTC), "poll.close", "item 1"),  # 23:30 local
        _entry(datetime(2026, 5, 31, 23, 30, tzinfo=UTC), "poll.close", "item 2"),  # 00:30, 1 June
        _entry(datetime(2026, 6, 1, 22, 30, tzinfo=UTC), "poll.close", "item 3"),  # 23:30, 1 June
        _entry(datetime(2026, 6, 1, 23, 30, tzinfo=UTC), "poll.close", "item 4"),  # 00:30, 2 June
    )
    page = await organiser.get("/admin/audit?since=2026-06-01&until=2026-06-01")
    assert _targets(page.text) == ["item 3", "item 2"]
    assert "Mon 1 Jun 2026, 00:30" in page.text  # shown in local time


async def test_bad_filters_are_refused_beside_their_field(organiser: Browser, web: Harness) -> None:
    await _add(web, _entry(datetime(2026, 2, 10, tzinfo=UTC), "poll.close", "item 1"))
    for query, field, problem in (
        ("since=yesterday", "since", "Give a date like 2026-03-01"),
        ("until=2026-02-30", "until", "Give a date like 2026-03-01"),
        ("since=2026-03-02&until=2026-03-01", "until", "The last day comes on or after"),
        ("front=fax", "front", "The front is phone, cli, web or system"),
    ):
        page = await organiser.get(f"/admin/audit?{query}")
        assert page.status_code == 400, query
        assert f'<p class="error" id="{field}-error">{problem}' in page.text, query
        assert _targets(page.text) == []
    kept = await organiser.get("/admin/audit?since=yesterday&action=poll")
    assert 'value="yesterday"' in kept.text
    assert 'value="poll"' in kept.text


async def test_paging_keeps_the_filters(organiser: Browser, web: Harness) -> None:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    await _add(
        web,
        *(
            _entry(start + timedelta(minutes=n), "poll.close", f"item {n}", front="cli")
            for n in range(1, 61)
        ),
        _entry(start, "poll.close", "item 0", front="phone"),
    )
    first = await organiser.get("/admin/audit?front=cli&action=poll")
    shown = _targets(first.text)
    assert len(shown) == 50
    assert shown[0] == "item 60"
    assert shown[-1] == "item 11"
    older = re.search(r'<a href="([^"]+)">Older</a>', first.text)
    assert older, first.text
    link = older.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query).keys() == {"front", "action", "older"}
    second = await organiser.get(link)
    assert _targets(second.text) == [f"item {n}" for n in range(10, 0, -1)]
    assert "Older</a>" not in second.text
    assert '<a href="/admin/audit?front=cli&amp;action=poll">Newest</a>' in second.text
