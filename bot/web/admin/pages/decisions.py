"""Decisions sent back ("you said, we did"), for organisers: the list, with how far each
sending reached; recording one (its status, its text in each language, what it
answers) and sending updates on it. Each is previewed first (who would get it, in which
language, what it costs: worked out and undone), then sent once, however often the
form is sent."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.desk import Desk, Invalid, NotFound, Refused, rehearse
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import decisions as desk_decisions
from bot.desk import polls as desk_polls
from bot.desk.decisions import DecisionSent, ReachReport
from bot.engine import Flow
from bot.english import counted
from bot.outreach.audience import named
from bot.settings import Settings
from bot.store import ideas
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, number_in, see_other

T = TypeVar("T")

STATUS_WORDS = {
    "agreed": "Agreed",
    "rejected": "Not agreed",
    "in_progress": "In progress",
    "done": "Done",
}
STATUSES = tuple((status, STATUS_WORDS[status]) for status in desk_decisions.STATUSES)
POLLS_SHOWN = 50
"""How many of the latest polls the form offers to answer."""
_SPLIT = re.compile(r"[\s,;]+")
_IDEA = re.compile(r"^idea:", re.IGNORECASE)


@dataclass
class Asked:
    """A decision's form read: its status, texts and (first time only) what it answers."""

    form: Form
    status: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """What the form says, in short: Send sends only what was previewed."""
        said = json.dumps([self.status, self.texts, self.answers], sort_keys=True)
        return hashlib.sha256(said.encode()).hexdigest()[:32]


def _asked(
    posted: FormData, settings: Settings, flows: Mapping[str, Flow], answering: bool
) -> Asked:
    form = Form(forms.from_form(posted))
    asked = Asked(form)
    asked.status = forms.text(posted, "status", 20)
    if asked.status not in STATUS_WORDS:
        form.error("status", "choose the decision's status")
    source = settings.default_language
    for code in settings.languages:
        text = forms.text(posted, f"text_{code}", 1600)
        if text:
            asked.texts[code] = text
    if source not in asked.texts:
        form.error(f"text_{source}", f"write it in {source} (the default language)")
    if not answering:
        return asked
    for number in forms.texts(posted, "polls"):
        if number.isdigit() and len(number) < 13:
            asked.answers.append(f"poll:{int(number)}")
        elif number:
            form.error("polls", f"'{number[:20]}' is not a poll")
    for flow_id in forms.texts(posted, "flows"):
        if flow_id in flows:
            asked.answers.append(f"flow:{flow_id}")
        elif flow_id:
            form.error("flows", f"there is no survey '{flow_id[:80]}'")
    for given in _SPLIT.split(forms.text(posted, "ideas", 2000)):
        ref = _IDEA.sub("", given)
        if not ref:
            continue
        if ideas.idea_id_of(ref) is None:
            form.error("ideas", f"'{ref[:20]}' is not an idea's reference, like ID-4821")
        else:
            asked.answers.append(f"idea:{ref}")
    if not asked.answers and "polls" not in form.errors and "ideas" not in form.errors:
        form.error("answers", "tick the polls or surveys it answers, or give ideas")
    return asked


def _place(form: Form, problem: Invalid | NotFound, settings: Settings) -> None:
    """Put a desk's complaint beside the field it is about."""
    if isinstance(problem, NotFound):
        name = {"poll": "polls", "flow": "flows", "idea": "ideas"}.get(problem.kind, "answers")
        form.error(name, str(problem))
        return
    name = problem.field
    if name == "text":
        name = f"text_{settings.default_language}"
    elif name != "status":
        name = "answers"
    form.error(name, problem.problem)


class _Wrong(Refused):
    """The form has mistakes: nothing is kept, the form is shown again."""

    def __init__(self, form: Form) -> None:
        super().__init__("the form has mistakes")
        self.form = form


@dataclass(frozen=True)
class Previewed:
    """Who a sending would reach, and what they would read (nothing was kept)."""

    sent: DecisionSent
    said: Mapping[str, str]  # language -> the message as residents read it


def _previewed(desk: Desk, sent: DecisionSent) -> Previewed:
    texts = desk_broadcasts.show(desk, sent.drafted.id).broadcast.texts or {}
    return Previewed(sent, dict(texts))


Shown = Callable[[Form, Previewed | None, int], Awaitable[Response]]


async def _decide(
    web: Web,
    request: Request,
    asked: Asked,
    make: Callable[[Desk], DecisionSent],
    shown: Shown,
    said: Callable[[DecisionSent], str],
) -> Response:
    """Preview (worked out and undone), or send what was previewed, once."""
    posted = web.form(request)
    settings = web.app.settings
    form = asked.form
    token = forms.text(posted, "once", 64) or forms.once_token()
    form.values = {**form.values, "once": token}
    if not form.ok:
        return await shown(form, None, 400)
    digest = asked.digest
    wants = forms.text(posted, "go", 10) == "send"
    if wants and forms.text(posted, "previewed", 64) == digest:
        done: list[DecisionSent] = []

        def work(desk: Desk) -> str:
            try:
                sent = make(desk)
            except (Invalid, NotFound) as problem:
                if isinstance(problem, NotFound) and problem.field != "answers":
                    raise
                _place(form, problem, settings)
                raise _Wrong(form) from None
            done.append(sent)
            return f"/admin/decisions/{sent.decision_id}"

        try:
            location = await web.once(request, token, work)
        except _Wrong:
            return await shown(form, None, 400)
        if done:
            notice(request, said(done[0]))
            if settings.is_quiet(web.app.service.clock()):
                notice(request, "It is quiet hours: SMS wait until they end; Telegram goes now.")
        else:
            notice(request, "That form was sent already, once: it was not sent again.")
        return see_other(location)

    def look(desk: Desk) -> Previewed:
        return rehearse(desk, lambda tried: _previewed(tried, make(tried)))

    try:
        seen = await web.write(request, look)
    except (Invalid, NotFound) as problem:
        if isinstance(problem, NotFound) and problem.field != "answers":
            raise
        _place(form, problem, settings)
        return await shown(form, None, 400)
    form.values = {**form.values, "previewed": digest}
    if wants:  # the form was changed after its preview: preview what it says now
        form.values = {**form.values, "changed": "yes"}
    return await shown(form, seen, 200)


# -- the list ---------------------------------------------------------------------------


def _context(web: Web) -> dict[str, Any]:
    return {
        "statuses": STATUSES,
        "status_words": STATUS_WORDS,
        "named": named,
        "default": web.app.settings.default_language,
        "quiet": web.app.settings.is_quiet(web.app.service.clock()),
    }


STARTING = ("scheduled", "queued", "sending")
"""Broadcast states whose messages may not all be in the outbox yet."""


def _starting(desk: Desk, reports: list[ReachReport]) -> set[int]:
    """The sendings (by broadcast) with nothing in the outbox yet, about to be written."""
    return {
        send.broadcast_id
        for report in reports
        for send, got in report.sends
        if not got.recipients and desk_broadcasts.show(desk, send.broadcast_id).state in STARTING
    }


@dataclass(frozen=True)
class _Seen:
    reports: list[ReachReport]
    starting: set[int]


async def listing(web: Web, request: Request) -> Response:
    def look(desk: Desk) -> _Seen:
        reports = desk_decisions.listing(desk)
        return _Seen(reports, _starting(desk, reports))

    seen = await web.read(request, look)
    return web.render(
        request, "decisions.html", shown=seen.reports, starting=seen.starting, **_context(web)
    )


# -- recording one ------------------------------------------------------------------------


async def _choices(web: Web, request: Request) -> dict[str, Any]:
    """What a decision can answer: the latest polls, and the deployment's surveys."""
    polls = await web.read(request, lambda desk: desk_polls.listing(desk, POLLS_SHOWN))
    shown_polls = []
    for view in polls:
        poll = view.poll
        what = f"Poll {poll.id}: {poll.question[poll.language]}"
        if poll.panel_id is not None:
            what += f" (panel {poll.panel_id} vote)"
        shown_polls.append((str(poll.id), f"{what}, {counted(view.voted, 'voter')}"))
    flows = sorted(web.app.jobs.flows.items())
    return {
        "polls": shown_polls,
        "flows": [(flow_id, f"{flow.title} ({flow_id})") for flow_id, flow in flows],
    }


async def new(web: Web, request: Request) -> Response:
    form = Form({"status": "agreed", "once": forms.once_token()})
    return web.render(
        request,
        "decision_new.html",
        form=form,
        seen=None,
        **await _choices(web, request),
        **_context(web),
    )


async def create(web: Web, request: Request) -> Response:
    settings = web.app.settings
    asked = _asked(web.form(request), settings, web.app.jobs.flows, answering=True)

    async def shown(form: Form, seen: Previewed | None, status: int) -> Response:
        return web.render(
            request,
            "decision_new.html",
            status,
            form=form,
            seen=seen,
            **await _choices(web, request),
            **_context(web),
        )

    def make(desk: Desk) -> DecisionSent:
        return desk_decisions.record(desk, asked.status, asked.texts, asked.answers)

    def said(sent: DecisionSent) -> str:
        count = sent.drafted.preview.recipients
        if not count:
            return f"Decision {sent.decision_id} recorded; it goes to nobody (no one took part)."
        reached = counted(count, "resident")
        return f"Decision {sent.decision_id} recorded: it is being sent to {reached} who took part."

    return await _decide(web, request, asked, make, shown, said)


# -- one decision: its reach, and updates -------------------------------------------------


def _one(desk: Desk, number: int) -> _Seen:
    reports = [desk_decisions.reach(desk, number)]
    return _Seen(reports, _starting(desk, reports))


def _sendings(report: ReachReport) -> list[dict[str, Any]]:
    """Each sending of a decision with its reach, the first one first."""
    return [
        {
            "what": "First sent" if n == 0 else f"Update {n}",
            "send": send,
            "reach": got,
            "text": send.texts.get(report.decision.language, ""),
        }
        for n, (send, got) in enumerate(report.sends)
    ]


async def _decision_page(
    web: Web,
    request: Request,
    number: int,
    form: Form,
    seen: Previewed | None = None,
    status: int = 200,
    seen_now: _Seen | None = None,
) -> Response:
    if seen_now is None:
        seen_now = await web.read(request, lambda desk: _one(desk, number))
    report = seen_now.reports[0]
    return web.render(
        request,
        "decision.html",
        status,
        report=report,
        decision=report.decision,
        sendings=_sendings(report),
        starting=seen_now.starting,
        form=form,
        seen=seen,
        **_context(web),
    )


async def show(web: Web, request: Request) -> Response:
    number = number_in(request, "decision")
    seen = await web.read(request, lambda desk: _one(desk, number))
    form = Form({"status": seen.reports[0].decision.status, "once": forms.once_token()})
    return await _decision_page(web, request, number, form, seen_now=seen)


async def update(web: Web, request: Request) -> Response:
    number = number_in(request, "decision")
    settings = web.app.settings
    asked = _asked(web.form(request), settings, web.app.jobs.flows, answering=False)

    async def shown(form: Form, seen: Previewed | None, status: int) -> Response:
        return await _decision_page(web, request, number, form, seen, status)

    def make(desk: Desk) -> DecisionSent:
        return desk_decisions.update(desk, number, asked.status, asked.texts)

    def said(sent: DecisionSent) -> str:
        count = sent.drafted.preview.recipients
        if not count:
            return f"Update on decision {sent.decision_id} recorded; it goes to nobody."
        reached = counted(count, "resident")
        return f"Update on decision {sent.decision_id}: it is being sent to {reached}."

    return await _decide(web, request, asked, make, shown, said)


PAGES = [
    Page("/decisions", listing, organiser=True),
    Page("/decisions/new", new, organiser=True),
    Page("/decisions/new", create, ("POST",), organiser=True),
    Page("/decisions/{number}", show, organiser=True),
    Page("/decisions/{number}/update", update, ("POST",), organiser=True),
]
