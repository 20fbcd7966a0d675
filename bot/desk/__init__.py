"""The staff desk: every operation community workers and organisers can do, typed, in
one place. The phone commands (:mod:`bot.phone`), the ``parley`` command
(:mod:`bot.cli`) and the staff web (:mod:`bot.web.admin`) are fronts: each parses its
own input, calls an operation here, and renders what it returns in its own way.

An operation is ``module.name(desk, ...)``: it takes typed arguments and a
:class:`Desk` (one transaction, the time, and the acting :class:`Actor` with their role
and front), checks the role, writes an audit record when it changes something, and
returns data (dataclasses), never sentences. A refusal is a
:class:`~bot.desk.errors.Refused` (``NotFound``, ``Forbidden``, ``Invalid``) and leaves
nothing behind.

    broadcasts   draft (with its preview), send, pause, resume, cancel, show, list
    polls        make, show, list, close (organisers), publish a results page (organisers)
    results      a poll's or a survey's counts and breakdowns, and their chart
    ideas        the moderation queue, approve, reject, merge, shortlist into a poll
    panels       invite, the pool, the draw, notify, panel votes (organisers)
    decisions    record, update, reach (organisers)
    exports      an export as this staff member may have it, recorded; the export log
    contacts     find a page of them, one contact, their conversation, import a file
    accounts     staff web accounts (organisers)
    audit        the audit log (organisers)
    dashboard    the state of things at a glance
    moments      times as staff write them (``18:00``, ``tomorrow 9:30``, ``3d``)
"""

from bot.desk.context import (
    OPERATIONS,
    Actor,
    Desk,
    Effects,
    Front,
    Role,
    operation,
    rehearse,
)
from bot.desk.errors import Forbidden, Invalid, NotFound, Refused

__all__ = [
    "OPERATIONS",
    "Actor",
    "Desk",
    "Effects",
    "Forbidden",
    "Front",
    "Invalid",
    "NotFound",
    "Refused",
    "Role",
    "operation",
    "rehearse",
]
