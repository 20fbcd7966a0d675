"""Flows: the flows Parley runs; the flow folder read again, as ``parley flows check``
reads it (problems as ``file:line``, translations per language, SMS segments per
reply), so an author who edited a file sees its problems before restarting Parley; and
a simulator to talk to any flow as a resident would, in any language, by SMS or
Telegram.

The simulator is the pure engine alone (:func:`bot.engine.advance`): nothing is stored
and no resident is involved. Each staff member's conversations are kept in this
process's memory, a few hundred at most, the oldest dropped first.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from bot.channels.base import BUTTON_CHANNELS, button_text, shown_text
from bot.channels.segments import as_sent
from bot.desk import NotFound
from bot.engine import (
    AnswerRecorded,
    ButtonKind,
    ContactChanged,
    EndReason,
    Env,
    Flow,
    FlowEnded,
    MessageOut,
    Reply,
    Session,
    Start,
    Turn,
    advance,
)
from bot.engine.flow import OPEN_POLLS
from bot.english import counted
from bot.errors import FlowError
from bot.flowfile import load_flows
from bot.flowfile.report import CatalogReport, FlowReport, Note, report_catalogs, report_flow
from bot.flowfile.triggers import load_triggers
from bot.lang.phrases import DOMAIN
from bot.settings import Settings
from bot.web.admin import forms
from bot.web.admin.counter import Counter
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, see_other

CHANNELS = (("sms", "SMS"), ("telegram", "Telegram"))
KEPT = 200
"""Simulated conversations kept in memory, over all staff; the oldest go first."""
LINES_KEPT = 100
"""Messages (and answers) of one simulated conversation kept; the oldest go first."""
REPLY_LIMIT = 1600
"""Characters of a simulated reply: about the longest SMS a phone sends."""
FLOWS_PER_TURN = 5
"""Flows one turn may lead on to (a flow's end starts the next): a guard against loops."""


# -- the flow folder, checked ---------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """The flow folder as ``parley flows check`` sees it."""

    folder: Path
    problems: tuple[str, ...]  # file:line: what, from reading the files
    triggers: int  # triggers read, when the files have no problems
    on_disk: bool  # the reports are of the files; False: of the flows running now
    reports: Mapping[str, FlowReport]
    catalogs: Sequence[CatalogReport]
    languages: Sequence[str]

    @property
    def notes(self) -> list[Note]:
        found = [note for report in self.reports.values() for note in report.notes]
        return found + [note for catalog in self.catalogs for note in catalog.notes]

    @property
    def errors(self) -> list[Note]:
        return [note for note in self.notes if note.error]

    @property
    def warnings(self) -> list[Note]:
        return [note for note in self.notes if not note.error]


def _stamp(folder: Path, locales: Path, languages: Sequence[str]) -> tuple[object, ...]:
    """What the check depends on, cheaply: the files' names, sizes and times."""
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    files += [locales / language / "LC_MESSAGES" / f"{DOMAIN}.po" for language in languages]
    stamp: list[object] = [str(folder), str(locales), tuple(languages)]
    for path in files:
        try:
            found = path.stat()
        except OSError:
            stamp.append((str(path), None))
            continue
        stamp.append((str(path), found.st_mtime_ns, found.st_size))
    return tuple(stamp)


_CHECKED: OrderedDict[tuple[object, ...], Checked] = OrderedDict()
_CHECKING = threading.Lock()


def check(settings: Settings, env: Env, running: Mapping[str, Flow]) -> Checked:
    """Read the flow folder again and report on it (slow: run it in a worker thread).
    The same files give the same report, which is remembered."""
    folder, languages = settings.flows_dir, list(settings.languages)
    stamp = (*_stamp(folder, settings.locales_dir, languages), id(env), id(running))
    with _CHECKING:
        found = _CHECKED.get(stamp)
    if found is not None:
        return found
    problems: list[str] = []
    triggers = 0
    loaded: dict[str, Flow] = {}
    shown_as = folder.name or str(folder)
    if not folder.is_dir():
        problems.append(f"{folder}: there is no such folder")
    else:
        try:
            loaded = load_flows(folder, shown_as)
            triggers = len(load_triggers(folder, loaded, shown_as).all)
        except FlowError as error:
            problems.extend(error.problems)
    for setting in ("start_flow", "menu_flow", "language_flow"):
        flow_id = getattr(settings, setting)
        if loaded and flow_id not in loaded:
            problems.append(f"PARLEY_{setting.upper()}: there is no flow '{flow_id}' in {shown_as}")
    on_disk = not problems
    flows = loaded if on_disk else running
    reports = {flow_id: report_flow(flows[flow_id], languages, env) for flow_id in sorted(flows)}
    catalogs = report_catalogs(settings.locales_dir, languages)
    checked = Checked(folder, tuple(problems), triggers, on_disk, reports, catalogs, languages)
    with _CHECKING:
        _CHECKED[stamp] = checked
        while len(_CHECKED) > 4:
            _CHECKED.popitem(last=False)
    return checked


async def listing(web: Web, request: Request) -> Response:
    jobs = web.app.jobs
    checked = await asyncio.to_thread(check, web.app.settings, jobs.env, jobs.flows)
    flows = sorted(jobs.flows.items())
    return web.render(request, "flows.html", flows=flows, checked=checked)


# -- the simulator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """One message of a simulated conversation, as the channel shows it."""

    who: str  # 'resident' or 'parley'
    text: str
    meta: str = ""
    buttons: tuple[str, ...] = ()  # Telegram: the buttons' labels


@dataclass
class Simulation:
    """A staff member's conversation with a flow; the engine's session as its JSON."""

    language: str
    channel: str
    flow_id: str  # the flow under way (a flow's end may start another)
    session: str  # Session.to_json()
    said: list[Said] = field(default_factory=list)
    answers: list[tuple[str, str, str, str]] = field(default_factory=list)  # flow, step, value, raw
    changes: list[tuple[str, str]] = field(default_factory=list)  # contact fields set
    quick: tuple[tuple[str, str], ...] = ()  # Telegram: (label, reply) of the buttons to press
    ended: str = ""  # how it ended, once it has

    @property
    def waiting(self) -> bool:
        return not self.ended


class Simulations:
    """Simulated conversations by (staff session, flow tried), oldest dropped first."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._all: OrderedDict[tuple[int, str], Simulation] = OrderedDict()

    def get(self, staff_session: int, flow_id: str) -> Simulation | None:
        found = self._all.get((staff_session, flow_id))
        if found is not None:
            self._all.move_to_end((staff_session, flow_id))
        return found

    def put(self, staff_session: int, flow_id: str, simulation: Simulation) -> None:
        self._all[staff_session, flow_id] = simulation
        self._all.move_to_end((staff_session, flow_id))
        while len(self._all) > self.kept:
            self._all.popitem(last=False)

    def __len__(self) -> int:
        return len(self._all)


# One store per staff web (tests build several in one process).
_STORES: weakref.WeakKeyDictionary[Counter, Simulations] = weakref.WeakKeyDictionary()


def simulations(web: Web) -> Simulations:
    store = _STORES.get(web.counter)
    if store is None:
        store = _STORES[web.counter] = Simulations()
    return store


def _value(value: object) -> str:
    return " ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def play(
    simulation: Simulation, flows: Mapping[str, Flow], flow: Flow, turn: Turn, env: Env
) -> None:
    """Add a turn to the conversation as the resident would get it: the turn's messages
    in one reply (as Parley sends them), and the next flow when one starts another."""
    channel = simulation.channel
    texts: list[str] = []
    buttons: tuple[str, ...] = ()
    quick: tuple[tuple[str, str], ...] = ()
    notes: list[str] = []
    for _ in range(FLOWS_PER_TURN):
        ended: FlowEnded | None = None
        for event in turn.events:
            match event:
                case MessageOut():
                    texts.append(shown_text(event, channel))
                    if event.buttons:
                        buttons = tuple(button_text(b) for b in event.buttons)
                        quick = tuple(
                            (button_text(b), b.reply)
                            for b in event.buttons
                            if b.kind is ButtonKind.REPLY
                        )
                case AnswerRecorded(step_id=step_id, value=value, raw=raw):
                    simulation.answers.append((flow.id, step_id, _value(value), raw))
                case ContactChanged(field=name, value=value):
                    simulation.changes.append((name, value))
                    if name == "language" and value in env.languages:
                        simulation.language = value
                case FlowEnded():
                    ended = event
        simulation.flow_id, simulation.session = flow.id, turn.session.to_json()
        if ended is None:
            break
        following = flows.get(ended.then) if ended.then else None
        if following is None:
            failed = ended.reason is EndReason.FAILED
            simulation.ended = f"'{flow.id}' {'gave up' if failed else 'is complete'}"
            if ended.then == OPEN_POLLS:
                simulation.ended += "; then Parley offers the polls open now (not simulated)"
            elif ended.then:
                simulation.ended += f"; then '{ended.then}', which is not a flow file"
            break
        notes.append(f"'{flow.id}' ends; '{following.id}' starts")
        flow = following
        turn = advance(flow, None, Start(turn.session.language), turn.session.updated_at, env)
    else:
        simulation.ended = f"more than {FLOWS_PER_TURN} flows in one turn: a loop?"
    simulation.quick = quick if channel in BUTTON_CHANNELS and not simulation.ended else ()
    if texts:
        text, count = as_sent("\n\n".join(texts), channel)
        meta = [dict(CHANNELS)[channel]]
        if count is not None:
            meta.append(counted(count, "segment"))
        meta += notes
        shown_buttons = buttons if channel in BUTTON_CHANNELS else ()
        simulation.said.append(Said("parley", text, ", ".join(meta), shown_buttons))
    for kept in (simulation.said, simulation.answers, simulation.changes):
        del kept[:-LINES_KEPT]


def _flow(web: Web, request: Request) -> Flow:
    flow_id = str(request.path_params["flow_id"])
    found = web.app.jobs.flows.get(flow_id)
    if found is None:
        raise NotFound("flow", f"'{flow_id[:80]}'", sorted(web.app.jobs.flows))
    return found


def _languages(web: Web) -> list[tuple[str, str]]:
    names = web.app.jobs.env.languages
    shown = []
    for code in web.app.settings.languages:
        name = names.get(code)
        if name is None or name.own == name.english:
            shown.append((code, f"{name.english if name else code} ({code})"))
        else:
            shown.append((code, f"{name.own}, {name.english} ({code})"))
    return shown


def _render(
    web: Web,
    request: Request,
    flow: Flow,
    simulation: Simulation | None,
    form: Form,
    status: int = 200,
) -> Response:
    return web.render(
        request,
        "simulator.html",
        status,
        flow=flow,
        simulation=simulation,
        form=form,
        language_choices=_languages(web),
        channels=CHANNELS,
    )


def _start_form(simulation: Simulation | None, settings: Settings) -> Form:
    if simulation is None:
        return Form({"language": settings.default_language, "channel": "sms"})
    return Form({"language": simulation.language, "channel": simulation.channel})


async def simulator(web: Web, request: Request) -> Response:
    flow = _flow(web, request)
    simulation = simulations(web).get(web.staff(request).session_id, flow.id)
    return _render(web, request, flow, simulation, _start_form(simulation, web.app.settings))


async def start(web: Web, request: Request) -> Response:
    """Start (again), in a language, on a channel."""
    flow = _flow(web, request)
    posted = web.form(request)
    form = Form(forms.from_form(posted))
    language = forms.text(posted, "language", 20)
    channel = forms.text(posted, "channel", 20)
    if language not in web.app.settings.languages:
        form.error("language", "choose one of this deployment's languages")
    if channel not in dict(CHANNELS):
        form.error("channel", "choose SMS or Telegram")
    store = simulations(web)
    staff_session = web.staff(request).session_id
    if not form.ok:
        return _render(web, request, flow, store.get(staff_session, flow.id), form, 400)
    env = web.app.jobs.env
    turn = advance(flow, None, Start(language), web.app.service.clock(), env)
    simulation = Simulation(language, channel, flow.id, turn.session.to_json())
    play(simulation, web.app.jobs.flows, flow, turn, env)
    store.put(staff_session, flow.id, simulation)
    return see_other(f"/admin/flows/{flow.id}/try#latest")


async def reply(web: Web, request: Request) -> Response:
    """The resident's reply: typed, or a Telegram button pressed."""
    flow = _flow(web, request)
    posted = web.form(request)
    store = simulations(web)
    staff_session = web.staff(request).session_id
    simulation = store.get(staff_session, flow.id)
    if simulation is None or not simulation.waiting:
        notice(request, "That conversation has ended: start again.")
        return see_other(f"/admin/flows/{flow.id}/try")
    text = forms.text(posted, "button", REPLY_LIMIT) or forms.text(posted, "text", REPLY_LIMIT)
    if not text:
        form = _start_form(simulation, web.app.settings)
        form.error("text", "write the resident's reply")
        return _render(web, request, flow, simulation, form, 400)
    flows, env = web.app.jobs.flows, web.app.jobs.env
    current = flows.get(simulation.flow_id)
    if current is None:  # cannot happen: flows do not change while Parley runs
        notice(request, "That conversation has ended: start again.")
        return see_other(f"/admin/flows/{flow.id}/try")
    session = Session.from_json(simulation.session)
    turn = advance(current, session, Reply(text), web.app.service.clock(), env)
    meta = dict(CHANNELS)[simulation.channel]
    simulation.said.append(Said("resident", text, meta))
    play(simulation, flows, current, turn, env)
    store.put(staff_session, flow.id, simulation)
    return see_other(f"/admin/flows/{flow.id}/try#latest")


PAGES = [
    Page("/flows", listing),
    Page("/flows/{flow_id}/try", simulator),
    Page("/flows/{flow_id}/try", reply, ("POST",)),
    Page("/flows/{flow_id}/try/start", start, ("POST",)),
]
