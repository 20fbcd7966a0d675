"""Ideas: the moderation queue (flagged ideas first, and only to organisers until one
approves them), an idea's page, and moderating them, one at a time or several at once:
approve, reject with a reason, merge duplicates into a kept idea, shortlist approved
ideas into a poll. Several at once is one transaction: if one is refused, none is done.
What tells residents something is done once however often its form is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.civic import ideas as idea_work
from bot.desk import Desk, Invalid, NotFound, Refused, moments
from bot.desk import ideas as desk_ideas
from bot.desk.ideas import IdeaView, Queue
from bot.store import ideas as stored
from bot.store.ideas import Idea
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, see_other

LIMIT = 50
"""Ideas the queue shows, and the most one form can act on."""

REASONS = {
    "done": "It is already being done",
    "scope": "It is not something this project can change",
    "cost": "It costs more than the budget allows",
    "rules": "It does not follow the rules for ideas",
}
"""The reasons residents read in their language, as staff read them."""
assert set(REASONS) == set(idea_work.REASONS)
OTHER = "other"
ACTIONS = ("approve", "reject", "merge", "shortlist")
STATUSES = {
    stored.NEW: "new",
    stored.APPROVED: "approved",
    stored.REJECTED: "not taken forward",
    stored.MERGED: "merged",
    stored.SHORTLISTED: "shortlisted",
    stored.DECIDED: "decided",
}


class _Wrong(Refused):
    """The form cannot be done as sent: nothing is kept, the page is shown again."""

    def __init__(
        self, form: Form, status: int = 400, problems: dict[str, str] | None = None
    ) -> None:
        super().__init__("the form has mistakes")
        self.form = form
        self.status = status
        self.problems = problems or {}  # reference -> why that idea was refused


@dataclass
class _Asked:
    """A moderation form read: what to do, to which ideas, with what."""

    form: Form
    do: str
    refs: list[str]
    back: str  # the page the form is on, to go back to
    reason: str = ""
    kept: str = ""
    question: str = ""
    closes: str = ""
    said: list[str] = field(default_factory=list)  # what the next page says was done


def _asked(posted: FormData, refs: list[str], back: str) -> _Asked:
    """The form's action and its arguments; each missing one noted beside its field."""
    form = Form(forms.from_form(posted))
    do = forms.text(posted, "do", 20)
    asked = _Asked(form, do, refs, back)
    if do not in ACTIONS:
        form.error("do", "choose what to do")
        return asked
    if not refs:
        form.error("ideas", "tick the ideas to act on")
    elif len(refs) > LIMIT:
        form.error("ideas", f"act on at most {LIMIT} ideas at once")
    if do == "reject":
        chosen = forms.text(posted, "reason", 20)
        own = forms.text(posted, "own", 500)
        if chosen in REASONS:
            asked.reason = chosen
        elif chosen == OTHER or (not chosen and own):
            asked.reason = own
            if not own:
                form.error("own", "write the reason in your own words (it is sent as written)")
        else:
            form.error("reason", "choose why it is not taken forward")
    elif do == "merge":
        asked.kept = forms.text(posted, "kept", 20)
        if not asked.kept:
            form.error("kept", "choose the idea they join")
    elif do == "shortlist":
        asked.question = forms.text(posted, "question", 500)
        asked.closes = forms.text(posted, "closes", 40)
    return asked


def _field(problem: Invalid) -> str:
    """Where on the form a desk's complaint goes."""
    return {"options": "ideas", "translations": "question"}.get(problem.field, problem.field)


def _moderate(desk: Desk, asked: _Asked) -> str:
    """Do what was asked to every idea, or (one refused) to none; where to go next."""
    form = asked.form
    if asked.do == "shortlist":
        return _shortlist(desk, asked)
    problems: dict[str, str] = {}
    done: list[Idea] = []
    for ref in asked.refs:
        try:
            if asked.do == "approve":
                done.append(desk_ideas.approve(desk, ref))
            elif asked.do == "reject":
                done.append(desk_ideas.reject(desk, ref, asked.reason).idea)
            else:
                done.append(desk_ideas.merge(desk, ref, asked.kept).idea)
        except NotFound as missing:
            if asked.do == "merge" and missing.given == asked.kept:
                form.error("kept", str(missing))
                raise _Wrong(form) from None
            problems[ref] = str(missing)
        except Invalid as wrong:
            if wrong.field in ("kept", "reason"):
                form.error("own" if wrong.field == "reason" else "kept", wrong.problem)
                raise _Wrong(form) from None
            problems[ref] = wrong.problem
        except Refused as refused:
            problems[ref] = str(refused)
    if problems:
        said = "; ".join(problems.values())
        nothing = "nothing was done" if len(asked.refs) > 1 else "it was not done"
        form.error("ideas", f"{nothing}: {said}")
        raise _Wrong(form, 409, problems)
    refs = ", ".join(idea.reference for idea in done)
    if asked.do == "approve":
        hidden = any(idea.flagged for idea in done)
        note = " (personal details stay hidden)" if hidden else ""
        asked.said.append(f"Approved {refs}{note}.")
    elif asked.do == "reject":
        own = "" if asked.reason in REASONS else " Your words are sent as written."
        whose = "its sender is" if len(done) == 1 else "their senders are"
        asked.said.append(f"{refs}: not taken forward; {whose} told why.{own}")
    else:
        kept = stored.reference(done[0].merged_into or 0)
        whose = "its sender hears" if len(done) == 1 else "their senders hear"
        asked.said.append(f"{refs} merged into {kept}; {whose} about {kept} from now on.")
    return asked.back


def _shortlist(desk: Desk, asked: _Asked) -> str:
    form = asked.form
    closes: datetime | None = None
    if asked.closes:
        try:
            closes = moments.when(asked.closes, desk.now, desk.settings.timezone, "closes")
        except Invalid as wrong:
            form.error("closes", wrong.problem)
            raise _Wrong(form) from None
    try:
        made = desk_ideas.shortlist(desk, asked.refs, asked.question or None, None, closes)
    except NotFound as missing:
        form.error("ideas", str(missing))
        raise _Wrong(form, 409) from None
    except Invalid as wrong:
        form.error(_field(wrong), wrong.problem)
        raise _Wrong(form) from None
    refs = ", ".join(idea.reference for idea in made.ideas)
    asked.said.append(
        f"{refs} are shortlisted as poll {made.poll.id}, and their senders told."
        " The poll is not sent yet: check it here, then send it."
    )
    return f"/admin/broadcasts/{made.drafted.id}"


async def _act(web: Web, request: Request, asked: _Asked, token: str) -> str:
    """The form's work, once for its token; the next page says what was done."""

    def work(desk: Desk) -> str:
        return _moderate(desk, asked)

    location = await web.once(request, token, work)
    for said in asked.said or ["That form was sent already: it was done once, not again."]:
        notice(request, said)
    return location


# -- the queue ------------------------------------------------------------------------------


async def _queue_page(
    web: Web,
    request: Request,
    form: Form,
    status: int = 200,
    problems: dict[str, str] | None = None,
) -> Response:
    waiting: Queue = await web.read(request, lambda desk: desk_ideas.queue(desk, LIMIT))
    return web.render(
        request,
        "ideas.html",
        status,
        queue=waiting,
        form=form,
        problems=problems or {},
        reasons=_reasons(),
        kept=[(idea.reference, _option(idea)) for idea in waiting.ideas],
        statuses=STATUSES,
        limit=LIMIT,
    )


def _reasons() -> list[tuple[str, str]]:
    return [*REASONS.items(), (OTHER, "Another reason: my own words")]


def _option(idea: Idea) -> str:
    return f"{idea.reference}: {idea_work.label(idea)}"


async def queue(web: Web, request: Request) -> Response:
    return await _queue_page(web, request, Form({"once": forms.once_token()}))


async def several(web: Web, request: Request) -> Response:
    """The queue's form: the ticked ideas, and the button pressed."""
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    refs = list(dict.fromkeys(ref for ref in forms.texts(posted, "ideas") if ref))
    asked = _asked(posted, refs, "/admin/ideas")
    try:
        if not asked.form.ok:
            raise _Wrong(asked.form)
        location = await _act(web, request, asked, token)
    except _Wrong as wrong:
        wrong.form.values = {**wrong.form.values, "once": token, "ideas": refs}
        return await _queue_page(web, request, wrong.form, wrong.status, wrong.problems)
    return see_other(location)


# -- one idea -------------------------------------------------------------------------------


def _ref(request: Request) -> str:
    ref = str(request.path_params["ref"])
    if len(ref) > 20 or stored.idea_id_of(ref) is None:
        raise NotFound("idea", ref[:20])
    return ref


@dataclass(frozen=True)
class _Seen:
    view: IdeaView
    queue: Queue


async def _idea_page(
    web: Web, request: Request, ref: str, form: Form, status: int = 200
) -> Response:
    def look(desk: Desk) -> _Seen:
        return _Seen(desk_ideas.show(desk, ref), desk_ideas.queue(desk, LIMIT))

    seen = await web.read(request, look)
    idea = seen.view.idea
    others = [item for item in seen.queue.ideas if item.id != idea.id]
    return web.render(
        request,
        "idea.html",
        status,
        view=seen.view,
        idea=idea,
        form=form,
        reasons=_reasons(),
        reason=REASONS.get(idea.reason or "", idea.reason),
        kept=[(item.reference, _option(item)) for item in others],
        statuses=STATUSES,
        merged_into=stored.reference(idea.merged_into) if idea.merged_into else "",
        once=forms.once_token,
        open=idea.status in (stored.NEW, stored.APPROVED),
    )


async def show(web: Web, request: Request) -> Response:
    return await _idea_page(web, request, _ref(request), Form())


async def one(web: Web, request: Request) -> Response:
    """A form on the idea's page: approve, reject or merge it."""
    ref = _ref(request)
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    asked = _asked(posted, [ref], f"/admin/ideas/{ref}")
    if asked.do == "shortlist":
        asked.form.error("do", "shortlist ideas from the queue: tick 2 to 9 of them")
    try:
        if not asked.form.ok:
            raise _Wrong(asked.form)
        location = await _act(web, request, asked, token)
    except _Wrong as wrong:
        wrong.form.values = {**wrong.form.values, "once": token}
        return await _idea_page(web, request, ref, wrong.form, wrong.status)
    return see_other(location)


PAGES = [
    Page("/ideas", queue),
    Page("/ideas", several, ("POST",)),
    Page("/ideas/{ref}", show),
    Page("/ideas/{ref}", one, ("POST",)),
]
