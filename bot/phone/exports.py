"""``/export`` for staff in Telegram: the CSV file comes as a reply.

    /export responses priorities
    /export votes 3 since 2026-11-01
    /export ideas until 2026-11-30
    /export responses priorities floip
    /export contacts with addresses        (organisers only)

What a staff member may export is the desk's to say (:mod:`bot.desk.exports`); the file
is made only when it is sent (:mod:`bot.phone.attachments`).
"""

from __future__ import annotations

from datetime import datetime

from bot.desk import exports
from bot.desk.errors import Forbidden, Invalid, NotFound
from bot.errors import ExportError
from bot.exports import KINDS, Filters, Request
from bot.exports.source import moment
from bot.phone.reply import Attachment, Phone, Said, StaffReply

USAGE = (
    "Use: /export WHAT [FLOW or POLL] [since 2026-11-01] [until 2026-11-30] [floip]"
    f" [with addresses]. WHAT is one of: {', '.join(KINDS)}."
)


def _date(text: str, phone: Phone, end: bool) -> datetime:
    try:
        return moment(text, phone.desk.settings.timezone, end)
    except ExportError as problem:
        raise Said(f"{problem}.\n{USAGE}") from None


def read(phone: Phone, body: str) -> Request:
    """The export a ``/export`` message asks for."""
    words = body.split()
    if not words or words[0].lower() not in KINDS:
        raise Said(USAGE)
    what, rest = words[0].lower(), words[1:]
    flow_id = poll_id = since = until = None
    form, addresses = "csv", False
    while rest:
        word = rest.pop(0).lower()
        if word in ("since", "until") and rest:
            at = _date(rest.pop(0), phone, end=word == "until")
            since, until = (at, until) if word == "since" else (since, at)
        elif word == "floip":
            form = "floip"
        elif word == "with" and rest and rest[0].lower() == "addresses":
            rest.pop(0)
            addresses = True
        elif what == "votes" and word.isdigit() and poll_id is None:
            poll_id = int(word)
        elif what == "responses" and flow_id is None:
            flow_id = word
        else:
            raise Said(f"'{word}' is not understood here.\n{USAGE}")
    # A spreadsheet on a phone opens UTF-8 reliably only with a byte order mark.
    return Request(what, Filters(flow_id, poll_id, since, until), form, addresses, bom=True)


def export(phone: Phone, body: str) -> StaffReply:
    if not phone.files:
        raise Said(
            "Exports are sent as a file, which needs Telegram. On the server: parley export."
        )
    asked = read(phone, body)
    try:
        recorded = exports.request(phone.desk, asked)
    except Forbidden as refused:
        if asked.what == "votes" and not asked.addresses:
            raise Said("Workers export the votes of a closed poll: /export votes POLL.") from None
        raise Said(
            f"{refused.action[:1].upper()}{refused.action[1:]} are for organisers only."
        ) from None
    except NotFound as missing:
        if missing.kind == "flow" or asked.what == "responses":
            known = ", ".join(sorted(phone.desk.flows))
            raise Said(f"Say which survey: /export responses FLOW. Flows: {known}") from None
        raise
    except Invalid as problem:
        if problem.field == "flow":
            known = ", ".join(sorted(phone.desk.flows))
            raise Said(f"Say which survey: /export responses FLOW. Flows: {known}") from None
        raise Said(f"{problem.problem}\n{USAGE}") from None
    described = recorded.request.describe()
    return StaffReply(
        [f"Export {recorded.id} ({described}): the file follows."],
        attachments=[
            Attachment(
                f"Export {recorded.id} ({described})",
                {"export": {**recorded.request.to_json(), "id": recorded.id}},
            )
        ],
    )
