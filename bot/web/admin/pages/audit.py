"""The audit log, for organisers: every staff action from any front, newest first, 50 a
page, filtered by who, which front, what (an action or a family of them) and the local
dates it falls between."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from bot.desk import OPERATIONS, Desk, Invalid
from bot.desk import audit as desk_audit
from bot.desk.audit import AuditFilter, AuditPage
from bot.store.audit import Entry
from bot.web.admin.forms import Form
from bot.web.admin.web import Page, Web, cursor

PER_PAGE = 50
FRONTS = (
    ("phone", "Phone (staff commands by text)"),
    ("cli", "Command line"),
    ("web", "Staff web"),
    ("system", "Parley itself (retention)"),
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FILTERS = ("actor", "front", "action", "since", "until")
_SIGNING = ("staff.sign_in", "staff.sign_out")
"""Actions the web's sign-in records itself (they are not desk operations)."""


def _day(form: Form, name: str, text: str, zone: ZoneInfo, end: bool) -> datetime | None:
    """A date field as a moment: its day's start, or (``end``) the next day's start."""
    if not text:
        return None
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        form.error(name, "give a date like 2026-03-01")
        return None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=zone)


@dataclass(frozen=True)
class Shown:
    entry: Entry
    detail: tuple[tuple[str, str], ...]  # the JSON detail as key: value pairs
    raw: str  # the detail, when it is not a JSON object


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_plain(item)}" for key, item in value.items())
    return str(value)


def _shown(entry: Entry) -> Shown:
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return Shown(entry, (), entry.detail)
    if not isinstance(detail, dict):
        return Shown(entry, (), entry.detail if detail not in ({}, None) else "")
    return Shown(entry, tuple((str(key), _plain(value)) for key, value in detail.items()), "")


def _actions() -> list[str]:
    """What the 'what' field suggests: every action that changes something, and families."""
    names = {name for name, operation in OPERATIONS.items() if operation.changes}
    names |= set(_SIGNING)
    return sorted(names | {name.partition(".")[0] for name in names})


async def search(web: Web, request: Request) -> Response:
    query = request.query_params
    typed = {name: query.get(name, "").strip()[:80] for name in _FILTERS}
    form = Form(typed)
    zone = web.app.settings.timezone
    if typed["front"] and typed["front"] not in dict(FRONTS):
        form.error("front", "the front is phone, cli, web or system")
    since = _day(form, "since", typed["since"], zone, end=False)
    until = _day(form, "until", typed["until"], zone, end=True)
    if since is not None and until is not None and until <= since:
        form.error("until", "the last day comes on or after the first")
    older = cursor(request)
    chosen = AuditFilter(
        typed["actor"] or None, typed["front"] or None, typed["action"] or None, since, until
    )

    def look(desk: Desk) -> AuditPage:
        if not form.ok:
            return desk_audit.search(desk, AuditFilter(), None, 1)
        try:
            return desk_audit.search(desk, chosen, older, PER_PAGE)
        except Invalid as problem:
            form.error(problem.field if problem.field in _FILTERS else "action", problem.problem)
            return desk_audit.search(desk, AuditFilter(), None, 1)

    page = await web.read(request, look)
    kept = urlencode({name: value for name, value in typed.items() if value})
    return web.render(
        request,
        "audit.html",
        200 if form.ok else 400,
        form=form,
        entries=[_shown(entry) for entry in page.entries] if form.ok else [],
        older=page.older if form.ok else None,
        paged=older is not None,
        filtered=any(typed.values()),
        actors=[(actor, actor) for actor in page.actors],
        fronts=FRONTS,
        actions=_actions(),
        base=f"/admin/audit?{kept}&" if kept else "/admin/audit?",
        newest=f"/admin/audit?{kept}" if kept else "/admin/audit",
    )


PAGES = [Page("/audit", search, organiser=True)]
