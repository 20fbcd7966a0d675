"""Resident panels chosen by lot, for organisers: the list; inviting a seeded sample to
volunteer (the invitation is drafted, then previewed and sent from its broadcast's
page); a panel's pool by category against the quotas; the draw within them; telling
the chosen and the others; and the panel's votes. Volunteers are shown by number (V1,
V2 ...), never by name."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.civic import panels as panel_work
from bot.civic.panels import Outcome
from bot.civic.sortition import Quota
from bot.desk import Desk, Invalid, NotFound, Refused, moments
from bot.desk import panels as desk_panels
from bot.desk.panels import PanelView
from bot.english import counted
from bot.errors import ConfigError
from bot.store import panels as stored
from bot.store import polls
from bot.store.polls import Poll
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, number_in, see_other

MAX_QUOTAS = 1024 * 1024
"""Bytes of a quotas file, as for one read from disk."""
MAX_SEED = 10**9
THRESHOLDS = (
    ("majority", "A majority: more than half of yes and no"),
    ("two-thirds", "Two-thirds: at least 2 in 3 of yes and no"),
    ("share", "A share of yes and no, at least:"),
)
STATUSES = {
    stored.VOLUNTEER: "volunteer",
    stored.SELECTED: "chosen",
    stored.RESERVE: "reserve",
    stored.ACCEPTED: "took their seat",
    stored.DECLINED: "declined their seat",
}


class _Wrong(Refused):
    """The form has mistakes: nothing is kept, the form is shown again."""

    def __init__(self, form: Form) -> None:
        super().__init__("the form has mistakes")
        self.form = form


def _whole(form: Form, posted: FormData, name: str, low: int, required: bool = True) -> int:
    """A whole number of at least ``low`` from the form; a problem noted beside it."""
    text = forms.text(posted, name, 12)
    if not text:
        if required:
            form.error(name, "give a whole number")
        return low
    if not text.isdigit() or not low <= int(text) <= MAX_SEED:
        form.error(name, f"a whole number from {low} to {MAX_SEED:,}")
        return low
    return int(text)


def _sentence(problem: Refused) -> str:
    text = str(problem)
    return text[:1].upper() + text[1:] + "."


def _seed() -> str:
    """A seed to suggest: staff write it down, and the same seed gives the same result."""
    return str(secrets.randbelow(1_000_000))


# -- the list, and inviting -------------------------------------------------------------------


async def listing(web: Web, request: Request) -> Response:
    shown = await web.read(request, desk_panels.listing)
    return web.render(request, "panels.html", shown=shown)


def _new_page(web: Web, request: Request, form: Form, status: int = 200) -> Response:
    return web.render(request, "panel_new.html", status, form=form)


async def new(web: Web, request: Request) -> Response:
    return _new_page(web, request, Form({"seed": _seed(), "once": forms.once_token()}))


async def invite(web: Web, request: Request) -> Response:
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({**forms.from_form(posted), "once": token})
    name = forms.text(posted, "name", 120)
    if not name:
        form.error("name", "give the panel a name")
    sample = _whole(form, posted, "sample", 1)
    seed = _whole(form, posted, "seed", 0)
    strata = forms.text(posted, "strata", 80) or None
    if not form.ok:
        return _new_page(web, request, form, 400)
    made: list[desk_panels.Invited] = []

    def work(desk: Desk) -> str:
        try:
            invited = desk_panels.invite(desk, name, sample, seed, strata)
        except Invalid as wrong:
            form.error(wrong.field, wrong.problem)
            raise _Wrong(form) from None
        made.append(invited)
        return f"/admin/broadcasts/{invited.drafted.id}"

    try:
        location = await web.once(request, token, work)
    except _Wrong:
        return _new_page(web, request, form, 400)
    if made:
        notice(
            request,
            f"Panel {made[0].panel_id} '{name}' is made. Its invitation is not sent yet:"
            " check who gets it, then send it.",
        )
    return see_other(location)


# -- a panel ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Vote:
    poll: Poll
    outcome: Outcome | None


@dataclass(frozen=True)
class _Told:
    at: datetime
    broadcasts: list[int]


@dataclass(frozen=True)
class _Seen:
    view: PanelView
    votes: list[_Vote]
    told: list[_Told]


def _look(desk: Desk, panel_id: int, quotas: list[Quota] | None) -> _Seen:
    view = desk_panels.show(desk, panel_id, quotas)
    ids = desk.tx.execute("SELECT id FROM polls WHERE panel_id = ? ORDER BY id DESC", (panel_id,))
    votes = []
    for (poll_id,) in ids.fetchall():
        poll = polls.get(desk.tx, int(poll_id))
        if poll is not None:
            outcome = Outcome.from_json(poll.outcome) if poll.outcome else None
            votes.append(_Vote(poll, outcome))
    told = [
        _Told(datetime.fromisoformat(at), list(json.loads(detail).get("broadcasts", [])))
        for at, detail in desk.tx.execute(
            "SELECT at, detail FROM audit WHERE action = 'panel.notify' AND target = ? ORDER BY id",
            (f"panel {panel_id}",),
        )
    ]
    return _Seen(view, votes, told)


async def _panel_page(
    web: Web,
    request: Request,
    panel_id: int,
    form: Form | None = None,
    vote: Form | None = None,
    quotas: list[Quota] | None = None,
    status: int = 200,
) -> Response:
    seen = await web.read(request, lambda desk: _look(desk, panel_id, quotas))
    view = seen.view
    settings = web.app.settings
    labels = {m.contact_id: m.label for m in view.members}
    return web.render(
        request,
        "panel.html",
        status,
        view=view,
        panel=view.panel,
        rows=panel_work.pool_rows(view.members, view.quotas),
        categories=sorted({c for m in view.members for c in m.profile}),
        labels=labels,
        statuses=STATUSES,
        votes=seen.votes,
        told=seen.told,
        form=form or Form({"seed": _seed()}),
        vote=vote or Form({"quorum": "50%", "threshold": "majority", "once": forms.once_token()}),
        thresholds=THRESHOLDS,
        others=settings.languages[1:],
        once=forms.once_token,
    )


async def show(web: Web, request: Request) -> Response:
    return await _panel_page(web, request, number_in(request, "panel"))


async def _quotas(posted: FormData, form: Form) -> list[Quota] | None:
    """The quotas typed or uploaded; an uploaded file's text is put in the box, so that
    what is wrong with it can be put right there."""
    text = forms.text(posted, "quotas", MAX_QUOTAS)
    where = "quotas"
    upload = forms.upload(posted, "quotas_file")
    if upload is not None:
        try:
            data = await upload.read(MAX_QUOTAS + 1)
        finally:
            await upload.close()  # its spooled temporary file
        if len(data) > MAX_QUOTAS:
            form.error("quotas", "a quotas file of at most 1 MB, please")
            return None
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            form.error("quotas", f"{upload.filename} is not UTF-8 text (save it as CSV UTF-8)")
            return None
        where = (upload.filename or "the file")[:80]
        form.values = {**form.values, "quotas": text.strip()}
    if not text.strip():
        form.error("quotas", "give the quotas: " + ",".join(panel_work.QUOTA_COLUMNS))
        return None
    try:
        return panel_work.read_quotas(text, where)
    except ConfigError as wrong:
        line, _, what = str(wrong).removeprefix(f"{where}:").partition(": ")
        shown = f"line {line}" if where == "quotas" else f"{where}, line {line}"
        form.error("quotas", f"{shown}: {what}")
        return None


async def draw(web: Web, request: Request) -> Response:
    """The draw form: compare the pool with the quotas, or draw the panel within them."""
    panel_id = number_in(request, "panel")
    posted = web.form(request)
    form = Form(forms.from_form(posted))
    quotas = await _quotas(posted, form)
    if forms.text(posted, "do", 20) == "compare":
        return await _panel_page(
            web, request, panel_id, form, quotas=quotas, status=200 if form.ok else 400
        )
    size = _whole(form, posted, "size", 1)
    seed = _whole(form, posted, "seed", 0)
    if quotas is None or not form.ok:
        return await _panel_page(web, request, panel_id, form, quotas=quotas, status=400)
    try:
        volunteers = await web.read(request, lambda desk: desk_panels.pool(desk, panel_id))
    except NotFound:
        raise
    except Refused as refused:  # drawn already (sent twice, or from another page)
        notice(request, _sentence(refused))
        return see_other(f"/admin/panels/{panel_id}")
    try:
        drawn = await asyncio.to_thread(desk_panels.draw, volunteers, quotas, size, seed)
    except Invalid as wrong:
        form.error(wrong.field, wrong.problem)
    except Refused as refused:
        form.error("quotas", str(refused))
    if not form.ok:
        return await _panel_page(web, request, panel_id, form, quotas=quotas, status=400)
    try:
        view = await web.write(
            request,
            lambda desk: desk_panels.select(desk, panel_id, volunteers, quotas, size, drawn),
        )
    except NotFound:
        raise
    except Refused as refused:
        notice(request, _sentence(refused))
        return see_other(f"/admin/panels/{panel_id}")
    notice(
        request,
        f"Panel {panel_id} is drawn: {size} chosen by lot from"
        f" {counted(len(view.members), 'volunteer')} (seed {seed}). Nobody is told yet.",
    )
    return see_other(f"/admin/panels/{panel_id}")


async def notify(web: Web, request: Request) -> Response:
    panel_id = number_in(request, "panel")
    token = forms.text(web.form(request), "once", 64) or forms.once_token()
    sent: list[int] = []

    def work(desk: Desk) -> str:
        sent.extend(desk_panels.notify(desk, panel_id))
        return f"/admin/panels/{panel_id}"

    location = await web.once(request, token, work)
    if sent:
        notice(
            request,
            f"Broadcasts {', '.join(map(str, sent))}: the chosen are asked to take their seat,"
            " and the reserves thanked.",
        )
    else:
        notice(request, "That form was sent already: they were told once, not again.")
    return see_other(location)


def _threshold(form: Form, posted: FormData) -> str:
    chosen = forms.text(posted, "threshold", 20)
    if chosen == "share":
        share = forms.text(posted, "share", 10).removesuffix("%").strip()
        if not share:
            form.error("share", "give the share of yes, like 80%")
        return f"{share}%"
    if chosen not in dict(THRESHOLDS):
        form.error("threshold", "choose the share of yes the proposal needs")
    return chosen


async def vote(web: Web, request: Request) -> Response:
    panel_id = number_in(request, "panel")
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({**forms.from_form(posted), "once": token})
    settings = web.app.settings
    source = settings.default_language
    proposal = {code: forms.text(posted, f"proposal_{code}", 1000) for code in settings.languages}
    if not proposal[source]:
        form.error(f"proposal_{source}", f"give the proposal in {source} (the default language)")
    quorum = forms.text(posted, "quorum", 20) or "50%"
    threshold = _threshold(form, posted)
    closes_text = forms.text(posted, "closes", 40)

    def work(desk: Desk) -> str:
        closes: datetime | None = None
        if closes_text:
            try:
                closes = moments.when(closes_text, desk.now, desk.settings.timezone, "closes")
            except Invalid as wrong:
                form.error("closes", wrong.problem)
        if not form.ok:
            raise _Wrong(form)
        try:
            made = desk_panels.vote(desk, panel_id, proposal, quorum, threshold, closes)
        except Invalid as wrong:
            name = wrong.field
            if name == "proposal":
                name = f"proposal_{source}"
            elif name == "threshold" and forms.text(posted, "threshold", 20) == "share":
                name = "share"
            form.error(name, wrong.problem)
            raise _Wrong(form) from None
        return f"/admin/broadcasts/{made.drafted.id}"

    try:
        location = await web.once(request, token, work)
    except _Wrong:
        return await _panel_page(web, request, panel_id, vote=form, status=400)
    notice(request, "The panel's vote is made. It is not sent yet: check it, then send it.")
    return see_other(location)


PAGES = [
    Page("/panels", listing, organiser=True),
    Page("/panels/new", new, organiser=True),
    Page("/panels/new", invite, ("POST",), organiser=True),
    Page("/panels/{number}", show, organiser=True),
    Page("/panels/{number}", draw, ("POST",), organiser=True, upload=True),
    Page("/panels/{number}/notify", notify, ("POST",), organiser=True),
    Page("/panels/{number}/vote", vote, ("POST",), organiser=True),
]
