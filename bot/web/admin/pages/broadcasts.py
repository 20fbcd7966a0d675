"""Broadcasts: the list; the composer (a message, a survey or a poll, its audience, its
text in each language with a live SMS segment count, when it goes); a draft's preview
(recipients, segments, cost, time to send, quiet hours) with Send; and a broadcast's
progress with pause, resume and cancel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.civic.polls import options_from_labels
from bot.desk import Desk, Invalid, NotFound, Refused, moments
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import polls as desk_polls
from bot.desk.broadcasts import Content, MessageContent, PollContent, Sending, SurveyContent
from bot.desk.polls import PollSpec
from bot.engine.flow import MAX_OPTIONS
from bot.english import counted
from bot.outreach.audience import Audience
from bot.settings import Settings
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.render import local, notice
from bot.web.admin.web import Page, Web, cursor, number_in, see_other

KINDS = ("message", "survey", "poll")
CHANNELS = (("sms", "SMS"), ("whatsapp", "WhatsApp"), ("telegram", "Telegram"))
RESULTS = (
    ("send", "Send each voter the result when it closes"),
    ("public", "Show the result only to who votes late"),
    ("private", "Keep the result private"),
)
# Where the desk's complaints go on the form.
_FIELDS = {"options": "option1", "translations": "question", "languages": "languages"}


@dataclass
class Composed:
    """A composer form read: what to send, to whom, when; or the form's errors."""

    form: Form
    content: Content | None = None
    poll: PollSpec | None = None
    sending: Sending | None = None


def _int(form: Form, posted: FormData, name: str, low: int = 0) -> int | None:
    text = forms.text(posted, name, 12)
    if not text:
        return None
    if not text.isdigit() or int(text) < low:
        form.error(name, f"a whole number{f' of at least {low}' if low else ''}")
        return None
    return int(text)


def _moment(
    form: Form, posted: FormData, name: str, now: datetime, settings: Settings
) -> datetime | None:
    text = forms.text(posted, name, 40)
    if not text:
        return None
    try:
        return moments.when(text, now, settings.timezone, name)
    except Invalid as problem:
        form.error(name, problem.problem)
        return None


def _audience(form: Form, posted: FormData, settings: Settings) -> Audience:
    languages = tuple(code for code in forms.texts(posted, "languages") if code)
    for code in languages:
        if code not in settings.languages:
            form.error("languages", f"'{code}' is not one of this deployment's languages")
    channels = tuple(name for name in forms.texts(posted, "channels") if name)
    for name in channels:
        if name not in dict(CHANNELS):
            form.error("channels", f"'{name}' is not a channel")
    fields: dict[str, str] = {}
    for line in forms.text(posted, "fields", 2000).splitlines():
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip() or not value.strip():
            form.error("fields", f"'{line.strip()}' should be name=value, like ward=North")
            continue
        fields[name.strip()] = value.strip()
    sample = _int(form, posted, "sample", 1)
    seed = _int(form, posted, "seed") or 0
    return Audience(
        languages=languages,
        channels=channels,
        fields=fields,
        took_part_in=forms.text(posted, "took_part", 80) or None,
        not_took_part_in=forms.text(posted, "not_took_part", 80) or None,
        sample=sample,
        seed=seed,
    )


def _poll_spec(form: Form, posted: FormData, desk: Desk) -> PollSpec | None:
    settings = desk.settings
    source = settings.default_language
    question = forms.text(posted, "question", 500)
    labels = [forms.text(posted, f"option{n}", 200) for n in range(1, MAX_OPTIONS + 1)]
    given = [label for label in labels if label]
    if not question:
        form.error("question", f"give the question in {source}")
    if len(given) < 2:
        form.error("option1", "give at least 2 options")
    if not form.ok:
        return None
    texts: dict[str, str] = {source: question}
    options = options_from_labels(given, source)
    for code in settings.languages[1:]:
        asked = forms.text(posted, f"question_{code}", 500)
        shown = [forms.text(posted, f"option{n}_{code}", 200) for n in range(1, len(given) + 1)]
        if not asked and not any(shown):
            continue
        try:
            texts, options = desk_polls.translate(desk, texts, options, code, asked, shown)
        except Invalid:
            form.error(
                f"question_{code}",
                f"{code}: give the question and all {len(given)} options, or none of them",
            )
    rule = forms.text(posted, "results", 20) or "send"
    if rule not in dict(RESULTS):
        form.error("results", "choose what voters hear of the result")
    closes = _moment(form, posted, "closes", desk.now, settings)
    multiple = forms.text(posted, "multiple", 5) == "yes"
    return PollSpec(texts, options, multiple, rule, closes) if form.ok else None


def compose(posted: FormData, desk: Desk) -> Composed:
    """The composer's form as desk arguments, every field's problem noted."""
    form = Form(forms.from_form(posted))
    settings = desk.settings
    kind = forms.text(posted, "kind", 20)
    if kind not in KINDS:
        form.error("kind", "choose a message, a survey or a poll")
        return Composed(form)
    content: Content | None = None
    spec = None
    if kind == "message":
        texts = {code: forms.text(posted, f"text_{code}", 1600) for code in settings.languages}
        texts = {code: text for code, text in texts.items() if text}
        if settings.default_language not in texts:
            form.error(
                f"text_{settings.default_language}",
                f"write the message in {settings.default_language} (the default language)",
            )
        content = MessageContent(texts)
    elif kind == "survey":
        flow_id = forms.text(posted, "flow", 80)
        if flow_id not in desk.flows:
            form.error("flow", "choose a survey")
        content = SurveyContent(flow_id)
    else:
        existing = forms.text(posted, "poll", 12)
        if existing:
            if not existing.isdigit():
                form.error("poll", "choose a poll")
            else:
                content = PollContent(int(existing))
        else:
            spec = _poll_spec(form, posted, desk)
    audience = _audience(form, posted, settings)
    at = _moment(form, posted, "at", desk.now, settings)
    remind_text = forms.text(posted, "remind", 20)
    remind: timedelta | None = None
    if remind_text:
        try:
            remind = moments.duration(remind_text, "remind")
        except Invalid as problem:
            form.error("remind", problem.problem)
    return Composed(form, content, spec, Sending(audience, at, remind))


def _place(form: Form, problem: Invalid | NotFound, settings: Settings) -> None:
    """Put a desk's complaint beside the field it is about."""
    if isinstance(problem, NotFound):
        field = {"poll": "poll", "flow": "flow"}.get(problem.kind, "kind")
        form.error(field, str(problem))
        return
    field = problem.field
    if field == "text":
        field = f"text_{settings.default_language}"
    elif field.startswith("translation_"):
        field = "question_" + field.removeprefix("translation_")
    form.error(_FIELDS.get(field, field), problem.problem)


async def _choices(web: Web, request: Request) -> dict[str, Any]:
    """The composer's lists: flows, polls still open, things to have taken part in."""
    polls = await web.read(request, lambda desk: desk_polls.listing(desk, 50))
    flows = sorted(web.app.jobs.flows.items())
    open_polls = [v.poll for v in polls if v.poll.status != "closed" and v.poll.panel_id is None]
    took_part = [(flow_id, f"Survey: {flow.title}") for flow_id, flow in flows]
    took_part += [
        (v.poll.flow_id, f"Poll {v.poll.id}: {v.poll.question[v.poll.language]}") for v in polls
    ]
    return {
        "flows": [(flow_id, f"{flow.title} ({flow_id})") for flow_id, flow in flows],
        "open_polls": [(p.id, f"Poll {p.id}: {p.question[p.language]}") for p in open_polls],
        "took_part": took_part,
        "channels": CHANNELS,
        "results": RESULTS,
        "max_options": MAX_OPTIONS,
    }


async def new(web: Web, request: Request) -> Response:
    kind = request.query_params.get("kind", "message")
    values: dict[str, object] = {"kind": kind if kind in KINDS else "message", "seed": "0"}
    if request.query_params.get("poll", "").isdigit():
        values.update(kind="poll", poll=request.query_params["poll"])
    values["once"] = forms.once_token()
    return web.render(
        request, "broadcast_new.html", form=Form(values), **await _choices(web, request)
    )


async def create(web: Web, request: Request) -> Response:
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    settings = web.app.settings

    def work(desk: Desk) -> str:
        composed = compose(posted, desk)
        if not composed.form.ok:
            raise _Wrong(composed.form)
        assert composed.sending is not None
        content = composed.content
        try:
            if composed.poll is not None:
                made = desk_polls.make(desk, composed.poll)
                content = PollContent(made.id)
            assert content is not None
            drafted = desk_broadcasts.draft(desk, content, composed.sending)
        except (Invalid, NotFound) as problem:
            _place(composed.form, problem, settings)
            raise _Wrong(composed.form) from None
        return f"/admin/broadcasts/{drafted.id}"

    try:
        location = await web.once(request, token, work)
    except _Wrong as wrong:
        wrong.form.values = {**wrong.form.values, "once": token}
        return web.render(
            request, "broadcast_new.html", 400, form=wrong.form, **await _choices(web, request)
        )
    return see_other(location)


class _Wrong(Refused):
    """The composer's form has mistakes: nothing is stored, the form is shown again."""

    def __init__(self, form: Form) -> None:
        super().__init__("the form has mistakes")
        self.form = form


async def listing(web: Web, request: Request) -> Response:
    before = cursor(request)
    found = await web.read(request, lambda desk: desk_broadcasts.listing(desk, 25, before))
    more = found[-1].broadcast.id if len(found) == 25 else None
    return web.render(request, "broadcasts.html", shown=found, older=more)


@dataclass(frozen=True)
class _Seen:
    progress: desk_broadcasts.Progress
    preview: object
    poll: object


async def show(web: Web, request: Request) -> Response:
    number = number_in(request, "broadcast")

    def look(desk: Desk) -> _Seen:
        shown = desk_broadcasts.show(desk, number)
        found = shown.broadcast
        preview = desk_broadcasts.preview_draft(desk, number) if found.status == "draft" else None
        poll = desk_polls.show(desk, found.poll_id).poll if found.poll_id is not None else None
        return _Seen(shown, preview, poll)

    seen = await web.read(request, look)
    found = seen.progress.broadcast
    quiet = web.app.settings.is_quiet(
        max(found.send_at or web.app.service.clock(), web.app.service.clock())
    )
    return web.render(
        request,
        "broadcast.html",
        shown=seen.progress,
        preview=seen.preview,
        poll=seen.poll,
        quiet=quiet,
        flows=web.app.jobs.flows,
    )


async def progress(web: Web, request: Request) -> Response:
    number = number_in(request, "broadcast")
    shown = await web.read(request, lambda desk: desk_broadcasts.show(desk, number))
    got = shown.reach
    counts: Mapping[str, int] = {}
    if got is not None:
        counts = {
            "reached": got.reached,
            "delivered": got.delivered,
            "waiting": got.waiting,
            "failed": got.failed,
        }
    done = shown.state not in ("sending", "queued", "scheduled")
    return JSONResponse(
        {"recipients": got.recipients if got else 0, "counts": counts, "done": done}
    )


def _acting(verb: str) -> Page:
    async def act(web: Web, request: Request) -> Response:
        number = number_in(request, "broadcast")
        if verb == "send":
            try:
                sent = await web.write(request, lambda desk: desk_broadcasts.send(desk, number))
            except NotFound:
                raise
            except Refused:  # sent twice (a double click, back and send again): sent once
                notice(request, f"Broadcast {number} is no longer a draft: it was not sent again.")
                return see_other(f"/admin/broadcasts/{number}")
            zone = web.app.settings.timezone
            said = f"Broadcast {number} is being sent."
            if sent.at is not None:
                said = f"Broadcast {number} will be sent {local(sent.at, zone)}."
            if sent.quiet:
                said += " It is quiet hours: SMS wait until they end; Telegram goes now."
        elif verb == "pause":
            await web.write(request, lambda desk: desk_broadcasts.pause(desk, number))
            said = f"Broadcast {number} is paused: nothing more of it is sent until you resume it."
        elif verb == "resume":
            await web.write(request, lambda desk: desk_broadcasts.resume(desk, number))
            said = f"Broadcast {number} goes on."
        else:
            done = await web.write(request, lambda desk: desk_broadcasts.cancel(desk, number))
            said = (
                f"Broadcast {number} dropped; nothing was sent."
                if done.was_draft
                else f"Broadcast {number} cancelled: {counted(done.withdrawn, 'message')} not"
                " yet sent will not go."
            )
        notice(request, said)
        return see_other(f"/admin/broadcasts/{number}")

    return Page(f"/broadcasts/{{number}}/{verb}", act, ("POST",))


PAGES = [
    Page("/broadcasts", listing),
    Page("/broadcasts/new", new),
    Page("/broadcasts/new", create, ("POST",)),
    Page("/broadcasts/{number}", show),
    Page("/broadcasts/{number}/progress", progress),
    *(_acting(verb) for verb in ("send", "pause", "resume", "cancel")),
]
