"""Staff commands, sent from a phone (Telegram, or SMS from a staff number): one message
each, read here and done by the desk (:mod:`bot.desk`); drafting never sends anything:

    /poll Which evening should the youth club open?
    Monday
    Wednesday
    Friday
    closes: 3d
    to: lang=en,pl ward=North

answers with the poll, who would get it, what the SMS cost and how long sending takes,
and buttons to send or cancel. ``/send 4`` confirms; ``/results 2``, ``/close 2``,
``/pause 4``, ``/resume 4`` and ``/cancel 4`` do what they say. Live results and closing
a poll early are for organisers. In Telegram, ``/results`` comes with a bar chart, and
``/export`` sends a CSV file. Ideas are moderated with ``/ideas``, ``/idea``,
``/approve``, ``/reject``, ``/merge`` and ``/shortlist``.
Staff replies are in English; residents never see them.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable

from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.phone import broadcasts, exports, ideas
from bot.phone.reply import Phone, Said, StaffReply, said

log = logging.getLogger(__name__)


class Command(enum.Enum):
    POLL = "poll"
    BROADCAST = "broadcast"
    SEND = "send"
    RESULTS = "results"
    CLOSE = "close"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    IDEAS = "ideas"
    IDEA = "idea"
    APPROVE = "approve"
    REJECT = "reject"
    MERGE = "merge"
    SHORTLIST = "shortlist"
    EXPORT = "export"


ORGANISER_ONLY = frozenset({Command.CLOSE})
"""Commands a worker may not use. Live results of an open poll are organiser-only too."""

_HANDLERS: dict[Command, Callable[[Phone, str], StaffReply]] = {
    Command.POLL: broadcasts.poll,
    Command.BROADCAST: broadcasts.broadcast,
    Command.SEND: broadcasts.send,
    Command.RESULTS: broadcasts.show_results,
    Command.CLOSE: broadcasts.close,
    Command.CANCEL: broadcasts.cancel,
    Command.PAUSE: broadcasts.pause,
    Command.RESUME: broadcasts.resume,
    Command.IDEAS: ideas.listing,
    Command.IDEA: ideas.show,
    Command.APPROVE: ideas.approve,
    Command.REJECT: ideas.reject,
    Command.MERGE: ideas.merge,
    Command.SHORTLIST: ideas.shortlist,
    Command.EXPORT: exports.export,
}

_COMMAND = re.compile(r"^/([a-z]+)(?:@\w+)?(?=\s|$)", re.IGNORECASE)


def command_of(text: str) -> Command | None:
    """The staff command a message is, if it is one."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    try:
        return Command(match.group(1).lower())
    except ValueError:
        return None


def _undo(desk: Desk) -> None:
    desk.tx.execute("ROLLBACK TO staff_command")
    desk.tx.execute("RELEASE staff_command")


def perform(phone: Phone, command: Command, text: str) -> StaffReply:
    """Do a staff command; a problem with it is explained, never raised, and leaves
    nothing behind."""
    desk = phone.desk
    if command in ORGANISER_ONLY and not desk.actor.organiser:
        log.warning("staff command /%s refused: %s is a worker", command.value, desk.actor.name)
        return StaffReply([f"/{command.value} is for organisers only."], refused=True)
    body = _COMMAND.sub("", text.strip(), count=1)
    desk.tx.execute("SAVEPOINT staff_command")  # a command refused half-way leaves nothing
    try:
        reply = _HANDLERS[command](phone, body)
    except Said as problem:
        _undo(desk)
        return StaffReply([str(problem)], refused=True)
    except Refused as problem:
        _undo(desk)
        return StaffReply([said(problem)], refused=True)
    # Any other error ends the whole transaction (PostgreSQL takes no RELEASE after a
    # failed statement): the savepoint goes with it.
    desk.tx.execute("RELEASE staff_command")
    reply.scheduled = desk.effects.scheduled
    return reply
