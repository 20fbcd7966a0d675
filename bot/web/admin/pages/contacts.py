"""Contacts: found a page at a time (by contact number, language, channel, field values,
opted out; by phone number for organisers); one contact with their consent record and,
for organisers, their phone number and conversation; and contacts imported from a CSV
file (organisers), all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from bot.desk import Desk, Invalid
from bot.desk import contacts as desk_contacts
from bot.desk.contacts import CHANNELS, ContactFilter, ContactView, ImportRefused, Said
from bot.english import counted
from bot.web.admin import forms
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, cursor, number_in, see_other

CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"}
OPTED_OUT = (("yes", "Only those who opted out"), ("no", "Only those who did not"))
WEB_IMPORT_ROWS = 10_000
"""Rows one import from the web may hold: it goes in as one transaction (all or nothing),
about 1.6 s of the database's writer at this size, while residents' messages wait."""
SHOWN_REFUSED = 1000
"""Refused rows an import page lists; the rest are counted."""
_FILTERS = ("number", "address", "language", "channel", "fields", "opted_out")


@dataclass
class Search:
    """The filter form read: the desk's filter, or the form's errors."""

    form: Form
    chosen: ContactFilter
    kept: dict[str, str]  # the filters given, for the pager's links


def field_values(form: Form, text: str) -> dict[str, str]:
    """``ward=North age=30`` or one a line; a value may hold spaces
    (``ward=North End``): a word without ``=`` belongs to the value before it."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        name = ""
        for word in line.split():
            if "=" in word:
                name, _, value = word.partition("=")
                name = name.strip()
                if not name:
                    form.error("fields", f"'{word}' should be name=value, like ward=North")
                    return found
                found[name] = value
            elif name:
                found[name] = f"{found[name]} {word}".strip()
            else:
                form.error("fields", f"'{word}' should be name=value, like ward=North")
                return found
    for name, value in found.items():
        if not value:
            form.error("fields", f"give {name} a value, like {name}=North")
    return found


def read_filters(query: Mapping[str, str], organiser: bool, languages: tuple[str, ...]) -> Search:
    kept = {
        name: query.get(name, "").strip()[:2000]
        for name in _FILTERS
        if query.get(name, "").strip() and (organiser or name != "address")
    }
    form = Form(dict(kept))
    number: int | None = None
    if "number" in kept:
        text = kept["number"].removeprefix("#")
        if not text.isdigit() or len(text) > 12:
            form.error("number", "a contact number is a whole number, like 1042")
        else:
            number = int(text)
    language = kept.get("language")
    if language is not None and language not in languages:
        form.error("language", f"'{language}' is not one of this deployment's languages")
    channel = kept.get("channel")
    if channel is not None and channel not in CHANNELS:
        form.error("channel", f"'{channel}' is not a channel")
    opted = kept.get("opted_out")
    if opted is not None and opted not in dict(OPTED_OUT):
        form.error("opted_out", "choose who opted out, who did not, or anyone")
    fields = field_values(form, kept.get("fields", ""))
    chosen = ContactFilter(
        number=number,
        address=kept.get("address"),
        language=language,
        channel=channel,
        fields=fields,
        opted_out=None if opted is None else opted == "yes",
    )
    return Search(form, chosen, kept)


async def listing(web: Web, request: Request) -> Response:
    """The contacts a page at a time. A phone number is searched for by POST only: in a
    link or an address it would reach browsers' histories and proxies' logs."""
    query = request.query_params
    organiser = web.staff(request).organiser
    if request.method == "POST":
        posted = web.form(request)
        asked = {name: forms.text(posted, name, 2000) for name in ("address", "channel")}
    else:
        asked = {name: value for name, value in query.items() if name != "address"}
    search = read_filters(asked, organiser, web.app.settings.languages)
    older, newer = cursor(request, "older"), cursor(request, "newer")
    page: desk_contacts.ContactPage | None = None
    if search.form.ok:
        try:
            page = await web.read(
                request,
                lambda desk: desk_contacts.search(desk, search.chosen, older, newer),
            )
        except Invalid as problem:
            field = problem.field if problem.field in _FILTERS else "fields"
            search.form.error(field, problem.problem)
    kept = urlencode(search.kept)
    return web.render(
        request,
        "contacts.html",
        200 if search.form.ok else 400,
        form=search.form,
        page=page,
        filtered=bool(search.kept),
        base=f"/admin/contacts?{kept}&" if kept else "/admin/contacts?",
        language_options=[(code, code) for code in web.app.settings.languages],
        channels=list(CHANNEL_NAMES.items()),
        channel_names=CHANNEL_NAMES,
        opted_out=OPTED_OUT,
    )


@dataclass(frozen=True)
class _Seen:
    view: ContactView
    conversation: list[Said] | None  # None: a worker


async def show(web: Web, request: Request) -> Response:
    number = number_in(request, "contact")

    def look(desk: Desk) -> _Seen:
        view = desk_contacts.show(desk, number)
        said = desk_contacts.conversation(desk, number) if desk.actor.organiser else None
        return _Seen(view, said)

    seen = await web.read(request, look)
    return web.render(
        request,
        "contact.html",
        view=seen.view,
        contact=seen.view.contact,
        conversation=seen.conversation,
        channel_names=CHANNEL_NAMES,
    )


def _import_page(
    web: Web,
    request: Request,
    form: Form,
    status: int = 200,
    refused: tuple[tuple[int, str], ...] = (),
) -> Response:
    return web.render(
        request,
        "contacts_import.html",
        status,
        form=form,
        refused=refused[:SHOWN_REFUSED],
        unshown=max(0, len(refused) - SHOWN_REFUSED),
        columns=desk_contacts.COLUMNS,
        channels=CHANNELS,
    )


async def import_form(web: Web, request: Request) -> Response:
    return _import_page(web, request, Form({"once": forms.once_token()}))


def _imported(done: desk_contacts.Imported) -> str:
    said = f"Imported {counted(done.added, 'contact')}, updated {done.updated}"
    if done.stayed_opted_out:
        who = "who had opted out stays" if done.stayed_opted_out == 1 else "who had opted out stay"
        said += f"; {done.stayed_opted_out} {who} opted out"
    return said + "."


async def import_file(web: Web, request: Request) -> Response:
    posted = web.form(request)
    token = forms.text(posted, "once", 64) or forms.once_token()
    form = Form({"once": token})
    upload = forms.upload(posted, "file")
    if upload is None:
        form.error("file", "choose the CSV file to import")
        return _import_page(web, request, form, 400)
    try:
        data = await upload.read()
    finally:
        await upload.close()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        form.error(
            "file",
            f"{upload.filename} is not UTF-8 text: save it from your spreadsheet as"
            " “CSV UTF-8” and send it again",
        )
        return _import_page(web, request, form, 400)
    settings = web.app.settings
    now = web.app.service.clock()
    try:
        checked = await asyncio.to_thread(desk_contacts.read_file, text, settings, now)
    except Invalid as problem:
        form.error("file", problem.problem)
        return _import_page(web, request, form, 400)
    rows = len(checked.rows) + len(checked.refused)
    if rows > WEB_IMPORT_ROWS:
        form.error(
            "file",
            f"{rows:,} rows: a file of at most {WEB_IMPORT_ROWS:,} rows, please (split it),"
            " so that residents' messages are not kept waiting while it goes in",
        )
        return _import_page(web, request, form, 400)
    done: list[desk_contacts.Imported] = []

    def work(desk: Desk) -> str:
        done.append(desk_contacts.import_checked(desk, checked))
        return "/admin/contacts"

    try:
        location = await web.once(request, token, work)
    except ImportRefused as bad:
        one = len(bad.refused) == 1
        form.error(
            "file",
            f"nothing was imported: {counted(len(bad.refused), 'row')}"
            f" {'is' if one else 'are'} wrong (listed below). Put {'it' if one else 'them'}"
            f" right, or take {'it' if one else 'them'} out, and send the file again",
        )
        return _import_page(web, request, form, 400, bad.refused)
    except Invalid as problem:
        form.error("file", problem.problem)
        return _import_page(web, request, form, 400)
    if done:
        notice(request, _imported(done[0]))
    else:
        notice(request, "That file was imported already: it was not imported again.")
    return see_other(location)


PAGES = [
    Page("/contacts", listing),
    Page("/contacts", listing, ("POST",), organiser=True),
    Page("/contacts/import", import_form, organiser=True),
    Page("/contacts/import", import_file, ("POST",), organiser=True, upload=True),
    Page("/contacts/{number}", show),
]
