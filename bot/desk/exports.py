"""Exports as staff may have them: checked against the role, recorded (with who asked,
and whether addresses were in it) before a single row is written.

About residents themselves (contacts, the message log) and anything with raw addresses
is for organisers; a worker exports the votes of a closed poll, and their ideas export
leaves out flagged ideas not yet approved."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.desk import lookup
from bot.desk.context import Desk, operation
from bot.desk.errors import Forbidden, Invalid
from bot.errors import ExportError
from bot.exports import ORGANISER_ONLY, Request
from bot.exports import record as record_export
from bot.store import exports, polls
from bot.store.sql import Row


@dataclass(frozen=True)
class Recorded:
    id: int
    request: Request  # as this staff member may have it
    key: bytes  # the pseudonyms' key


def allowed(desk: Desk, request: Request) -> Request:
    """The request as this staff member may have it, or Forbidden."""
    if desk.actor.organiser:
        return request
    if request.what in ORGANISER_ONLY or request.addresses:
        with_addresses = " with addresses" if request.addresses else ""
        raise Forbidden(f"exports of {request.what}{with_addresses}")
    if request.what == "votes":
        poll_id = request.filters.poll_id
        if poll_id is None or lookup.poll(desk, poll_id).status != "closed":
            raise Forbidden("the votes of a poll that is open, or of every poll")
    poll_of_flow = polls.poll_id_of(request.filters.flow_id or "")
    open_poll = poll_of_flow is not None and lookup.poll(desk, poll_of_flow).status != "closed"
    if request.what == "responses" and open_poll:  # its votes, by another name
        raise Forbidden("the answers to a poll that is still open")
    if request.what == "ideas":  # flagged ideas reach workers only once approved
        return replace(request, filters=replace(request.filters, unmoderated_flagged=False))
    return request


@operation("export.request")
def request(desk: Desk, asked: Request) -> Recorded:
    """Check and record an export; the front then makes it (streamed, from a snapshot)."""
    chosen = allowed(desk, asked)
    flow_id = chosen.filters.flow_id
    if chosen.what == "responses":
        if flow_id is None:
            raise Invalid("flow", f"say which survey; flows: {', '.join(sorted(desk.flows))}")
        lookup.flow_or_poll(desk, flow_id)
    if chosen.filters.poll_id is not None:
        lookup.poll(desk, chosen.filters.poll_id)
    try:
        export_id, key = record_export(desk.tx, chosen, desk.settings, desk.actor.who, desk.now)
    except ExportError as problem:
        raise Invalid("what", str(problem)) from None
    desk.audit(
        "export.request",
        f"export {export_id}",
        what=chosen.what,
        format=chosen.format,
        addresses=chosen.addresses,
        filters=chosen.filters.to_json(),
    )
    return Recorded(export_id, chosen, key)


@operation("export.log", changes=False)
def log(desk: Desk, limit: int = 50) -> list[Row]:
    """The latest exports, oldest first: what, who asked, rows, with addresses or not."""
    return exports.recent(desk.tx, limit)
