"""Participatory budgeting rounds: the list, with the form that opens a round
(organisers); a round's page with its bids, their rulings and votes, the count by both
rules side by side, and the forms that enter bids (by hand, from a resident's idea,
from a CSV file), translate them, rule on them (organisers) and begin the next phase
(organisers); and its ballots as a CSV file or a Pabulib file (organisers), voters
named by the exports' pseudonymous ids.

Beginning a phase sends things to residents (the panel's votes, the ballot, the
result), so its form is done once however often it is sent. Downloading the ballots
is recorded in the audit log, so it is a POST, as every export is.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.numbers import format_currency
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.desk import Desk, Invalid, NotFound, Refused, moments
from bot.desk import budgeting as desk_pb
from bot.desk import panels as desk_panels
from bot.desk.budgeting import Ballots, BidSpec, RoundSpec, RoundView
from bot.lang.formats import money
from bot.lang.names import language_names
from bot.outreach.audience import Audience
from bot.outreach.audience import count as audience_count
from bot.store.budgeting import PHASES, Round
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, number_in, see_other

STYLES = (
    ("approval", "Approval: any bids that fit in the budget"),
    ("k_approval", "Up to K bids"),
    ("ranking", "A ranking of up to K bids"),
)
RULES = (
    ("greedy", "Greedy by votes: the most chosen bids first, while the money lasts"),
    ("mes", "Method of Equal Shares: the budget shared equally between the voters"),
)
RULE_NAMES = {"greedy": "Greedy by votes", "mes": "Method of Equal Shares"}
PHASE_NAMES = {
    "bids": "open for bids",
    "screening": "screening",
    "voting": "voting",
    "counted": "counted",
}
RULINGS = (("yes", "Eligible: on the ballot"), ("no", "Not eligible"))
BY_THE_PANEL = ("panel", "As the panel's vote decides")
MAX_BIDS_FILE = 1024 * 1024
"""Bytes of a bids file."""
MAX_AMOUNT = 10**12
_TIMES = (("screening_at", "screening"), ("voting_at", "voting"), ("counted_at", "counted"))
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class _Wrong(Refused):
    """The form has mistakes: nothing is kept, the form is shown again."""

    def __init__(self, form: Form) -> None:
        super().__init__("the form has mistakes")
        self.form = form


def amount(value: int, currency: str) -> str:
    """A whole amount as staff read it: ``£12,000``, ``€4,500``."""
    return money(value, currency, "en")


def payment(value: float, currency: str) -> str:
    """A voter's share of a bid's cost, to the penny: ``£41.67``."""
    return format_currency(value, currency, locale="en")


def _whole(form: Form, posted: FormData, name: str, required: bool = True) -> int | None:
    """A whole amount from the form (``12,000`` too); a problem noted beside it. The desk
    says what is wrong with 0; this says what is wrong with words."""
    text = re.sub(r"[\s,]", "", forms.text(posted, name, 24))
    if not text:
        if required:
            form.error(name, "give a whole amount, like 12000")
        return None
    if not text.isdigit() or int(text) > MAX_AMOUNT:
        form.error(name, f"'{forms.text(posted, name, 24)}' is not a whole amount, like 12000")
        return None
    return int(text)


def _line_of(problem: Invalid, name: str) -> str:
    """A file's problem, ``bids.csv:3: what``, as a sentence: ``line 3 of bids.csv: what``."""
    line, colon, what = problem.problem.removeprefix(f"{name}:").partition(": ")
    return f"line {line} of {name}: {what}" if colon and line.isdigit() else problem.problem


# -- the rounds, and opening one ------------------------------------------------------


def _voters(form: Form, posted: FormData) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in forms.text(posted, "fields", 2000).splitlines():
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip() or not value.strip():
            form.error("fields", f"'{line.strip()}' should be name=value, like ward=North")
            continue
        fields[name.strip()] = value.strip()
    return fields


def _moment(form: Form, posted: FormData, name: str, desk: Desk) -> datetime | None:
    text = forms.text(posted, name, 40)
    if not text:
        return None
    try:
        return moments.when(text, desk.now, desk.settings.timezone, name)
    except Invalid as problem:
        form.error(name, problem.problem)
        return None


def round_spec(form: Form, posted: FormData, desk: Desk) -> RoundSpec | None:
    """The form as a round to open, or None with every field's problem noted (the desk
    says what is wrong with what is well formed)."""
    budget = _whole(form, posted, "budget")
    style = forms.text(posted, "style", 20) or "approval"
    k_text = forms.text(posted, "k", 12)
    k: int | None = None
    if k_text:
        if not k_text.isdigit() or not 1 <= int(k_text) <= 1000:
            form.error("k", "K is a whole number of bids, like 5")
        else:
            k = int(k_text)
    panel_text = forms.text(posted, "panel", 12)
    if panel_text and not panel_text.isdigit():
        form.error("panel", "choose a panel, or none")
    fields = _voters(form, posted)
    times = {name: _moment(form, posted, name, desk) for name, _ in _TIMES}
    if not form.ok or budget is None:
        return None
    return RoundSpec(
        name=forms.text(posted, "name", 200),
        budget=budget,
        currency=forms.text(posted, "currency", 10) or "GBP",
        audience=Audience(fields=fields),
        style=style,
        k=k,
        rule=forms.text(posted, "rule", 20) or "greedy",
        panel_id=int(panel_text) if panel_text else None,
        screening_at=times["screening_at"],
        voting_at=times["voting_at"],
        counted_at=times["counted_at"],
    )


@dataclass(frozen=True)
class _Listed:
    views: list[RoundView]
    panels: list[tuple[str, str]]


def _listed(desk: Desk) -> _Listed:
    panels = []
    if desk.actor.organiser:
        panels = [
            (str(v.panel.id), f"Panel {v.panel.id}: {v.panel.name}")
            for v in desk_panels.listing(desk)
        ]
    return _Listed(desk_pb.listing(desk), panels)


async def _rounds_page(web: Web, request: Request, form: Form, status: int = 200) -> Response:
    listed = await web.read(request, _listed)
    return web.render(
        request,
        "budgeting.html",
        status,
        shown=listed.views,
        panels=listed.panels,
        form=form,
        styles=STYLES,
        rules=RULES,
        phases=PHASE_NAMES,
        amount=amount,
    )


def _fresh_round_form() -> Form:
    return Form(
        {"currency": "GBP", "style": "approval", "rule": "greedy", "once": forms.once_token()}
    )


async def listing(web: Web, request: Request) -> Response:
    return await _rounds_page(web, request, _fresh_round_form())


async def open_round(web: Web, request: Request) -> Response:
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({**forms.from_form(posted), "once": token})
    made: list[Round] = []

    def work(desk: Desk) -> str:
        spec = round_spec(form, posted, desk)
        if spec is None:
            raise _Wrong(form)
        try:
            made.append(desk_pb.open_round(desk, spec))
        except Invalid as wrong:
            form.error(wrong.field, wrong.problem)
            raise _Wrong(form) from None
        except NotFound as missing:
            if missing.kind != "panel":
                raise
            form.error("panel", str(missing))
            raise _Wrong(form) from None
        return f"/admin/budgeting/{made[0].id}"

    try:
        location = await web.once(request, token, work)
    except _Wrong:
        return await _rounds_page(web, request, form, 400)
    if made:
        notice(request, f"Round {made[0].id} '{made[0].name}' is open for bids.")
    return see_other(location)


# -- a round ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    view: RoundView
    audience: str
    voters: int | None  # residents the ballot would go to now (organisers)


def _look(desk: Desk, round_id: int) -> _Seen:
    view = desk_pb.show(desk, round_id)
    audience = Audience.from_json(view.round.audience)
    voters = None
    if desk.actor.organiser and view.round.phase == "screening":  # voting is next
        voters = sum(audience_count(desk.tx, audience, desk.settings.staff.keys()).values())
    return _Seen(view, audience.describe(), voters)


def next_phase(round_: Round) -> str | None:
    at = PHASES.index(round_.phase)
    return PHASES[at + 1] if at + 1 < len(PHASES) else None


@dataclass(frozen=True)
class Counted:
    """A bid as the count saw it: votes, and what each rule did with it."""

    number: int
    title: str
    cost: int
    votes: int
    funded: Mapping[str, bool]  # rule -> funded
    share: Mapping[str, Any] | None  # how its Equal Shares funding was paid for


def counted(view: RoundView) -> list[Counted]:
    """The count's bids, by number (both rules' outcomes as the round stores them)."""
    count = view.count
    if count is None:
        return []
    funded = {rule: {str(f["id"]): f for f in count[rule]["funded"]} for rule in desk_pb.RULES}
    votes: Mapping[str, int] = count["greedy"]["votes"]
    titles = {str(b.number): b for b in view.bids}
    shown = []
    for key in sorted(votes, key=lambda k: (len(k), k)):
        bid = titles.get(key)
        paid = funded["mes"].get(key)
        shown.append(
            Counted(
                number=int(key) if key.isdigit() else 0,
                title=bid.title[view.round.language] if bid else key,
                cost=bid.cost if bid else 0,
                votes=int(votes[key]),
                funded={rule: key in funded[rule] for rule in desk_pb.RULES},
                share=paid.get("share") if paid else None,
            )
        )
    return shown


def _forms(given: Mapping[str, Form], languages: list[str]) -> dict[str, Form]:
    """The page's forms: those given (refused, with what was typed), the others new."""
    fresh = {
        "bid": Form({"once": forms.once_token()}),
        "idea": Form({"once": forms.once_token()}),
        "upload": Form({"once": forms.once_token()}),
        "translation": Form({"language": languages[0] if languages else ""}),
        "ruling": Form(),
    }
    return {**fresh, **given}


async def _round_page(
    web: Web, request: Request, round_id: int, status: int = 200, **given: Form
) -> Response:
    seen = await web.read(request, lambda desk: _look(desk, round_id))
    found = seen.view.round
    languages = [code for code in web.app.settings.languages if code != found.language]
    names = language_names([found.language, *languages])
    return web.render(
        request,
        "budgeting_round.html",
        status,
        view=seen.view,
        round=found,
        audience=seen.audience,
        voters=seen.voters,
        next=next_phase(found),
        count_rows=counted(seen.view),
        rules=RULE_NAMES,
        phases=PHASE_NAMES,
        styles=dict(STYLES),
        rulings=[*RULINGS, BY_THE_PANEL] if found.panel_id is not None else list(RULINGS),
        source=names[found.language].english,
        others=[(code, f"{names[code].english} ({code})") for code in languages],
        bid_choices=[(b.number, f"{b.number}. {b.title[found.language]}") for b in seen.view.bids],
        amount=amount,
        payment=payment,
        once=forms.once_token,
        **_forms(given, languages),
    )


async def show(web: Web, request: Request) -> Response:
    return await _round_page(web, request, number_in(request, "round"))


def _placed(form: Form, problem: Refused, names: Mapping[str, str], default: str) -> None:
    """Put a desk's complaint beside the field of this form it is about."""
    if isinstance(problem, Invalid):
        form.error(names.get(problem.field, problem.field), problem.problem)
    elif isinstance(problem, NotFound):
        form.error(names.get(problem.field or problem.kind, default), str(problem))
    else:
        form.error(default, str(problem))


async def _once_on_round(
    web: Web,
    request: Request,
    round_id: int,
    form: Form,
    token: str,
    which: str,
    act: Callable[[Desk], str],
) -> Response:
    """Do ``act`` once for the form's token; its mistakes shown beside its fields."""
    said: list[str] = []

    def work(desk: Desk) -> str:
        if not form.ok:
            raise _Wrong(form)
        said.append(act(desk))
        return f"/admin/budgeting/{round_id}"

    try:
        location = await web.once(request, token, work)
    except _Wrong:
        return await _round_page(web, request, round_id, 400, **{which: form})
    notice(request, said[0] if said else "That form was sent already: it was not done again.")
    return see_other(location)


async def add_bid(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({**forms.from_form(posted), "once": token})
    cost = _whole(form, posted, "cost")
    spec = BidSpec(
        forms.text(posted, "title", 200),
        forms.text(posted, "description", 500),
        cost or 0,
        forms.text(posted, "proposer", 200),
        forms.text(posted, "ward", 80) or None,
    )

    def act(desk: Desk) -> str:
        try:
            made = desk_pb.add_bid(desk, round_id, spec)
        except (Invalid, NotFound) as wrong:
            if isinstance(wrong, NotFound) and wrong.kind == "round":
                raise
            _placed(form, wrong, {}, "title")
            raise _Wrong(form) from None
        return f"Bid {made.number} '{spec.title}' is in round {round_id}."

    return await _once_on_round(web, request, round_id, form, token, "bid", act)


_IDEA_FIELDS = {"title": "idea_title", "cost": "idea_cost", "proposer": "idea_proposer"}


async def bid_from_idea(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({**forms.from_form(posted), "once": token})
    reference = forms.text(posted, "idea", 40)
    if not reference:
        form.error("idea", "give the idea's reference, like ID-4821")
    cost = _whole(form, posted, "idea_cost", required=False)
    title = forms.text(posted, "idea_title", 200)
    proposer = forms.text(posted, "idea_proposer", 200)

    def act(desk: Desk) -> str:
        try:
            made = desk_pb.bid_from_idea(desk, round_id, reference, cost, title, proposer)
        except (Invalid, NotFound) as wrong:
            if isinstance(wrong, NotFound) and wrong.kind == "round":
                raise
            _placed(form, wrong, {**_IDEA_FIELDS, "idea": "idea"}, "idea")
            raise _Wrong(form) from None
        return (
            f"Bid {made.number} '{title}' is in round {round_id}, made from idea {reference};"
            " its sender will hear about it."
        )

    return await _once_on_round(web, request, round_id, form, token, "idea", act)


async def import_bids(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({"once": token})
    specs: list[BidSpec] = []
    name = "bids.csv"
    upload = forms.upload(posted, "file")
    if upload is None:
        form.error("file", "choose the CSV file of bids")
    else:
        name = _SAFE_NAME.sub("_", upload.filename or name)[:80]
        try:
            data = await upload.read(MAX_BIDS_FILE + 1)
        finally:
            await upload.close()
        try:
            if len(data) > MAX_BIDS_FILE:
                form.error("file", "a bids file of at most 1 MB, please")
            else:
                specs = desk_pb.read_bids(data.decode("utf-8-sig"), name)
                if not specs:
                    form.error("file", f"{name} has no bids: only its first line")
        except UnicodeDecodeError:
            form.error(
                "file", f"{name} is not UTF-8 text: save it as “CSV UTF-8” and send it again"
            )
        except csv.Error as wrong:
            form.error("file", f"{name} is not a CSV file Parley can read ({wrong})")
        except Invalid as wrong:
            form.error("file", _line_of(wrong, name))

    def act(desk: Desk) -> str:
        try:
            made = desk_pb.import_bids(desk, round_id, specs, name)
        except Invalid as wrong:
            form.error("file", _line_of(wrong, name))
            raise _Wrong(form) from None
        return f"{len(made)} bids from {name} are in round {round_id}."

    return await _once_on_round(web, request, round_id, form, token, "upload", act)


_TRANSLATION_FIELDS = {
    "title": "translated_title",
    "bid": "translate_bid",
    "language": "language",
}


async def translate(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    posted = web.form(request)
    form = Form(forms.from_form(posted))
    number = forms.text(posted, "translate_bid", 12)
    if not number.isdigit():
        form.error("translate_bid", "choose the bid to translate")
    language = forms.text(posted, "language", 20)
    title = forms.text(posted, "translated_title", 200)
    line = forms.text(posted, "translated_description", 500)
    if not form.ok:
        return await _round_page(web, request, round_id, 400, translation=form)
    try:
        await web.write(
            request,
            lambda desk: desk_pb.translate(desk, round_id, int(number), language, title, line),
        )
    except (Invalid, NotFound) as wrong:
        if isinstance(wrong, NotFound) and wrong.kind == "round":
            raise
        _placed(form, wrong, _TRANSLATION_FIELDS, "translate_bid")
        return await _round_page(web, request, round_id, 400, translation=form)
    notice(request, f"Bid {number} is in {language} too.")
    return see_other(f"/admin/budgeting/{round_id}")


async def rule(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    posted = web.form(request)
    form = Form(forms.from_form(posted))
    number = forms.text(posted, "rule_bid", 12)
    if not number.isdigit():
        form.error("rule_bid", "choose the bid to rule on")
    ruling = forms.text(posted, "eligible", 10)
    eligible = {"yes": True, "no": False, "panel": None}.get(ruling, False)
    if ruling not in ("yes", "no", "panel"):
        form.error("eligible", "say whether the bid is eligible")
    reason = forms.text(posted, "reason", 500)
    if not form.ok:
        return await _round_page(web, request, round_id, 400, ruling=form)
    try:
        made = await web.write(
            request, lambda desk: desk_pb.rule(desk, round_id, int(number), reason, eligible)
        )
    except Refused as wrong:
        if isinstance(wrong, NotFound) and wrong.kind == "round":
            raise
        _placed(form, wrong, {"bid": "rule_bid"}, "eligible")
        return await _round_page(web, request, round_id, 400, ruling=form)
    said = {
        "eligible": f"Bid {number} is eligible: it goes on the ballot.",
        "ineligible": f"Bid {number} is not eligible.",
    }
    waiting = f"Bid {number}: the reason is kept; the panel's vote rules it when it closes."
    notice(request, said.get(made.status, waiting))
    return see_other(f"/admin/budgeting/{round_id}")


BEGUN = {
    "screening": "Screening begins now: each bid goes to panel {panel} as a vote.",
    "voting": "Voting begins now: the ballot goes to everyone who may vote.",
    "counted": "Voting closes now and is counted: the result goes to every voter.",
}


async def begin(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    phase = forms.text(posted, "phase", 20)
    began: list[Round] = []

    def work(desk: Desk) -> str:
        began.append(desk_pb.begin(desk, round_id, phase))
        return f"/admin/budgeting/{round_id}"

    try:
        location = await web.once(request, token, work)
    except NotFound:
        raise
    except Refused as refused:  # not ready, or not the next phase: nothing was done
        notice(request, f"Nothing was begun: {refused}.")
        return see_other(f"/admin/budgeting/{round_id}")
    if not began:
        notice(request, "That form was sent already: the phase was begun once, not again.")
    elif phase == "screening" and began[0].panel_id is None:
        notice(request, "Screening begins now: record the ruling on each bid below.")
    else:
        notice(request, BEGUN[phase].format(panel=began[0].panel_id))
    return see_other(location)


# -- the ballots -----------------------------------------------------------------------


def _file_name(found: Ballots, web: Web, suffix: str) -> str:
    day = web.app.service.clock().astimezone(web.app.settings.timezone).date().isoformat()
    return f"parley-ballots-round{found.round.id}-{day}.{suffix}"


def ballots_csv(found: Ballots) -> str:
    """The ballots as CSV: a pseudonymous voter id, the bids chosen (in order for a
    ranking), the ballot's language and channel, when it was cast."""
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\r\n")
    table.writerow(["voter", "choice", "language", "channel", "cast_at"])
    for voter, choice, language, channel, cast_at in found.rows:
        table.writerow([voter, " ".join(map(str, choice)), language, channel, cast_at.isoformat()])
    return out.getvalue()


def ballots_pb(found: Ballots) -> str:
    """The round as a Pabulib file, for anyone to count again."""
    from bot.civic.budgeting import pabulib  # the count's modules: loaded when asked for

    meta = {"description": found.round.name, "currency": found.round.currency}
    with tempfile.TemporaryDirectory(prefix="parley-pb-") as folder:
        path = Path(folder) / "ballots.pb"
        pabulib.write(found.election, path, meta=meta)
        return path.read_text(encoding="utf-8")


def _download(text: str, name: str, media: str) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


async def download_csv(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    found = await web.write(request, lambda desk: desk_pb.export(desk, round_id))
    text = await asyncio.to_thread(ballots_csv, found)
    return _download(text, _file_name(found, web, "csv"), "text/csv; charset=utf-8")


async def download_pb(web: Web, request: Request) -> Response:
    round_id = number_in(request, "round")
    found = await web.write(request, lambda desk: desk_pb.export(desk, round_id))
    text = await asyncio.to_thread(ballots_pb, found)
    return _download(text, _file_name(found, web, "pb"), "text/plain; charset=utf-8")


PAGES = [
    Page("/budgeting", listing),
    Page("/budgeting", open_round, ("POST",), organiser=True),
    Page("/budgeting/{number}", show),
    Page("/budgeting/{number}/bids", add_bid, ("POST",)),
    Page("/budgeting/{number}/idea", bid_from_idea, ("POST",)),
    Page("/budgeting/{number}/import", import_bids, ("POST",), upload=True),
    Page("/budgeting/{number}/translate", translate, ("POST",)),
    Page("/budgeting/{number}/rule", rule, ("POST",), organiser=True),
    Page("/budgeting/{number}/phase", begin, ("POST",), organiser=True),
    Page("/budgeting/{number}/ballots.csv", download_csv, ("POST",), organiser=True),
    Page("/budgeting/{number}/ballots.pb", download_pb, ("POST",), organiser=True),
]
