"""``/export`` for staff in Telegram: the CSV file comes as a reply.

    /export responses priorities
    /export votes 3 since 2026-11-01
    /export ideas until 2026-11-30
    /export responses priorities floip
    /export contacts with addresses        (organisers only)

Exports about residents themselves (contacts, the message log) and anything with raw
addresses are for organisers; a worker's votes export is of a closed poll. Every export
is recorded (``parley exports``), and the file is made only when it is sent.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.errors import ExportError
from bot.exports import KINDS, ORGANISER_ONLY, Filters, Request, record
from bot.exports.source import moment
from bot.phone.commands import Attachment, Desk, Refused, Role, StaffReply
from bot.store import polls

log = logging.getLogger(__name__)

USAGE = (
    "Use: /export WHAT [FLOW or POLL] [since 2026-11-01] [until 2026-11-30] [floip]"
    f" [with addresses]. WHAT is one of: {', '.join(KINDS)}."
)


def _date(text: str, desk: Desk, end: bool) -> datetime:
    try:
        return moment(text, desk.settings.timezone, end)
    except ExportError as problem:
        raise Refused(f"{problem}.\n{USAGE}") from None


def read(desk: Desk, body: str) -> Request:
    """The export a ``/export`` message asks for."""
    words = body.split()
    if not words or words[0].lower() not in KINDS:
        raise Refused(USAGE)
    what, rest = words[0].lower(), words[1:]
    flow_id = poll_id = since = until = None
    form, addresses = "csv", False
    while rest:
        word = rest.pop(0).lower()
        if word in ("since", "until") and rest:
            moment = _date(rest.pop(0), desk, end=word == "until")
            since, until = (moment, until) if word == "since" else (since, moment)
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
            raise Refused(f"'{word}' is not understood here.\n{USAGE}")
    # A spreadsheet on a phone opens UTF-8 reliably only with a byte order mark.
    return Request(what, Filters(flow_id, poll_id, since, until), form, addresses, bom=True)


def _allowed(desk: Desk, request: Request) -> Request:
    """The request as this staff member may have it, or Refused."""
    if desk.role is Role.ORGANISER:
        return request
    if request.what in ORGANISER_ONLY or request.addresses:
        log.warning("export of %s refused: %s is a worker", request.what, desk.who)
        raise Refused(
            f"Exports of {request.what}" + (" with addresses" if request.addresses else "")
            + " are for organisers only."
        )  # fmt: skip
    if request.what == "votes":
        poll = polls.get(desk.tx, request.filters.poll_id) if request.filters.poll_id else None
        if poll is None or poll.status != "closed":
            raise Refused("Workers export the votes of a closed poll: /export votes POLL.")
    if request.what == "ideas":  # flagged ideas reach workers only once approved
        return replace(request, filters=replace(request.filters, unmoderated_flagged=False))
    return request


def export(desk: Desk, body: str) -> StaffReply:
    if not desk.files:
        raise Refused(
            "Exports are sent as a file, which needs Telegram. On the server: parley export."
        )
    request = _allowed(desk, read(desk, body))
    flow_id = request.filters.flow_id or ""
    if (
        request.what == "responses"
        and flow_id not in desk.flows
        and not flow_id.startswith("poll-")
    ):
        known = ", ".join(sorted(desk.flows))
        raise Refused(f"Say which survey: /export responses FLOW. Flows: {known}")
    try:
        export_id, _ = record(desk.tx, request, desk.settings, desk.who, desk.now)
    except ExportError as problem:
        raise Refused(f"{problem}\n{USAGE}") from None
    described = request.describe()
    return StaffReply(
        [f"Export {export_id} ({described}): the file follows."],
        attachments=[
            Attachment(
                f"Export {export_id} ({described})",
                {"export": {**request.to_json(), "id": export_id}},
            )
        ],
    )
