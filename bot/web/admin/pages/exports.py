"""Exports: a form (what, which survey or poll, dates, CSV or FLOIP, a byte order mark for
Excel, phone numbers for organisers) whose answer is the file itself, and the log of
every export made.

The export is checked and recorded by the desk (what this staff member may have), then
made by a worker process at low priority (:mod:`bot.exports.worker`) and streamed to
the browser as it comes: a large export never holds up residents' webhooks, and the
file is never kept on the server. It is the same :class:`~bot.exports.Maker` as
``parley export``, so the same pseudonyms and the same spreadsheet safety.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request as HttpRequest
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from bot.desk import Desk, Forbidden, Invalid, NotFound, Refused
from bot.desk import exports as desk_exports
from bot.desk import polls as desk_polls
from bot.errors import ExportError
from bot.exports import KINDS, ORGANISER_ONLY, Filters, Request
from bot.exports.source import moment
from bot.exports.worker import Making
from bot.settings import Settings
from bot.store import exports as stored_exports
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.web import Page, Web

NAMES = {
    "responses": "Survey responses",
    "votes": "Poll votes",
    "ideas": "Ideas",
    "decisions": "Decisions",
    "contacts": "Contacts",
    "messages": "Messages (the message log)",
}
FORMATS = (("csv", "CSV (a spreadsheet)"), ("floip", "FLOIP Flow Results package (a zip)"))
LOGGED = 50
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Logged:
    """A line of the export log, as the page shows it."""

    id: int
    at: datetime
    what: str
    about: str  # its survey, poll and dates
    format: str
    rows: int | None
    by: str
    addresses: bool


def _logged(row: Any, settings: Settings) -> Logged:
    filters = json.loads(row["filters"] or "{}")
    about = []
    if "flow" in filters:
        about.append(f"survey {filters['flow']}")
    if "poll" in filters:
        about.append(f"poll {filters['poll']}")
    for name, word in (("since", "from"), ("until", "before")):
        if name in filters:
            at = datetime.fromisoformat(filters[name]).astimezone(settings.timezone)
            about.append(f"{word} {at:%Y-%m-%d %H:%M}")
    if "flagged" in filters:
        about.append("flagged ideas once approved")
    return Logged(
        id=int(row["id"]),
        at=datetime.fromisoformat(row["created_at"]),
        what=str(row["what"]),
        about=", ".join(about),
        format=str(row["format"]),
        rows=None if row["rows"] is None else int(row["rows"]),
        by=str(row["requested_by"]),
        addresses=bool(row["addresses"]),
    )


@dataclass(frozen=True)
class _Choices:
    surveys: list[tuple[str, str]]
    polls: list[tuple[str, str]]
    log: list[Logged]


def _choices(desk: Desk) -> _Choices:
    views = desk_polls.listing(desk, 50)
    surveys = [
        (flow_id, f"{flow.title} ({flow_id})") for flow_id, flow in sorted(desk.flows.items())
    ]
    states = {"draft": "not sent", "open": "open", "closed": "closed"}
    polls = []
    for view in views:
        poll = view.poll
        question = poll.question[poll.language]
        if desk.actor.organiser or poll.status == "closed":  # a worker sees votes once closed
            surveys.append((poll.flow_id, f"Poll {poll.id}: {question} ({poll.flow_id})"))
        polls.append((str(poll.id), f"Poll {poll.id}: {question} ({states.get(poll.status, '')})"))
    rows = desk_exports.log(desk, LOGGED)
    return _Choices(surveys, polls, [_logged(row, desk.settings) for row in reversed(rows)])


async def _page(web: Web, request: HttpRequest, form: Form, status: int = 200) -> Response:
    choices = await web.read(request, _choices)
    organiser = web.staff(request).organiser
    kinds = [(kind, NAMES[kind]) for kind in KINDS if organiser or kind not in ORGANISER_ONLY]
    return web.render(
        request,
        "exports.html",
        status,
        form=form,
        kinds=kinds,
        surveys=choices.surveys,
        polls=choices.polls,
        formats=FORMATS,
        log=choices.log,
    )


async def show(web: Web, request: HttpRequest) -> Response:
    what = request.query_params.get("what", "")
    values: dict[str, object] = {"what": what if what in KINDS else "responses", "bom": "yes"}
    for name in ("flow", "poll"):
        given = request.query_params.get(name, "")
        if given:
            values[name] = given[:80]
    return await _page(web, request, Form(values))


def asked(posted: FormData, settings: Settings) -> tuple[Form, Request | None]:
    """The form as an export request, or its mistakes field by field."""
    form = Form(forms.from_form(posted))
    what = forms.text(posted, "what", 20)
    if what not in KINDS:
        form.error("what", "choose what to export")
    flow_id = forms.text(posted, "flow", 80) if what == "responses" else ""
    if what == "responses" and not flow_id:
        form.error("flow", "choose the survey whose responses you want")
    poll_text = forms.text(posted, "poll", 12) if what == "votes" else ""
    if poll_text and not poll_text.isdigit():
        form.error("poll", "choose a poll")
    dates: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        text = forms.text(posted, name, 40)
        try:
            dates[name] = moment(text, settings.timezone, end=name == "until") if text else None
        except ExportError:
            form.error(name, f"'{text}' is not a date like 2026-11-01")
            dates[name] = None
    since, until = dates["since"], dates["until"]
    if since is not None and until is not None and since >= until:
        form.error("until", "the last day must not come before the first")
    format = forms.text(posted, "format", 10) or "csv"
    if format not in dict(FORMATS):
        form.error("format", "choose CSV or FLOIP")
    elif format == "floip" and what != "responses":
        form.error("format", "a FLOIP package holds survey responses: choose CSV for this")
    if not form.ok:
        return form, None
    filters = Filters(flow_id or None, int(poll_text) if poll_text else None, since, until)
    addresses = forms.text(posted, "addresses", 5) == "yes"
    bom = forms.text(posted, "bom", 5) == "yes"
    return form, Request(what, filters, format, addresses, bom)


def _refused_field(request: Request) -> str:
    """Where a refusal of the organisers' exports goes on the form."""
    if request.addresses:
        return "addresses"
    if request.what in ORGANISER_ONLY:
        return "what"
    return "poll"


def _refusal(refused: Forbidden, request: Request) -> str:
    if request.addresses:
        return "only organisers export residents' phone numbers and chat ids"
    if request.what in ORGANISER_ONLY:
        return f"only organisers export {NAMES[request.what].lower()}"
    if request.what == "votes":
        return "workers export the votes of one poll, once it has closed"
    return str(refused)


def file_name(request: Request, day: str) -> str:
    """``parley-responses-priorities-2026-12-02.csv`` (a FLOIP package ends ``-floip.zip``)."""
    subject = request.filters.flow_id or (
        f"poll{request.filters.poll_id}" if request.filters.poll_id else None
    )
    stem = "-".join(
        _SAFE_NAME.sub("", part) for part in ("parley", request.what, subject, day) if part
    )
    return f"{stem}-floip.zip" if request.format == "floip" else f"{stem}.csv"


async def make(web: Web, request: HttpRequest) -> Response:
    settings = web.app.settings
    form, wanted = asked(web.form(request), settings)
    if wanted is None:
        return await _page(web, request, form, 400)
    try:
        recorded = await web.write(request, lambda desk: desk_exports.request(desk, wanted))
    except Forbidden as refused:
        form.error(_refused_field(wanted), _refusal(refused, wanted))
        return await _page(web, request, form, 403)
    except NotFound as missing:
        field = "poll" if missing.kind == "poll" else "flow"
        form.error(field, f"there is no {'poll' if field == 'poll' else 'survey'} {missing.given}")
        return await _page(web, request, form, 400)
    except Invalid as problem:
        form.error(problem.field if problem.field in ("flow", "poll") else "what", problem.problem)
        return await _page(web, request, form, 400)
    except Refused as problem:
        form.error("what", str(problem))
        return await _page(web, request, form, 400)
    now = web.app.service.clock()
    making = await Making.start(settings, recorded.request, recorded.key, now, recorded.id)
    name = file_name(recorded.request, now.astimezone(settings.timezone).date().isoformat())
    return Download(web, making, name, recorded.request.format)


class Download(StreamingResponse):
    """The file as the worker makes it. When the worker has finished, its rows are
    recorded and only then does the download end; a worker that fails leaves the
    export unfinished and the download incomplete (the browser says it failed); a
    browser that goes away stops the worker."""

    def __init__(self, web: Web, making: Making, name: str, format: str) -> None:
        super().__init__(
            making.chunks(),
            media_type="application/zip" if format == "floip" else "text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
        self.web = web
        self.making = making

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self.body_iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        rows = await self.making.finished()
        if rows is None:
            return  # the last chunk is never sent: the browser knows the file is not whole
        export_id = self.making.export_id
        await self.web.app.database.run(lambda tx: stored_exports.finish(tx, export_id, rows))
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.making.stop()


PAGES = [
    Page("/exports", show),
    Page("/exports", make, ("POST",)),
]
