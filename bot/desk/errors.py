"""Why a staff operation was refused, as data each front can put in its own words.

    Refused          base: nothing was changed; ``str()`` is a plain English problem
    ├── NotFound     no such poll, broadcast, idea, ...: what was asked for, and what exists
    ├── Forbidden    the operation (or this part of it) is for organisers
    └── Invalid      an argument is wrong: which one, and what is wrong with it

The problems never name a front's syntax (no ``/send 4``, no ``--closes``): a front that
wants to point at its own way of saying things does so from ``field`` or ``kind``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import ParleyError


class Refused(ParleyError):
    """A staff operation that cannot be done as asked; nothing it did is kept."""


class NotFound(Refused):
    """``kind`` (poll, broadcast, flow, idea, panel, decision, contact, export, staff)
    ``given`` does not exist; ``known`` are the latest that do, oldest first; ``field``
    the argument that named it, when it was not the operation's own subject."""

    def __init__(
        self, kind: str, given: object, known: Sequence[str] = (), field: str | None = None
    ) -> None:
        self.kind = kind
        self.given = given
        self.known = tuple(known)
        self.field = field
        super().__init__(f"there is no {kind} {given}")


class Forbidden(Refused):
    """What was asked (``action``, in a few words) needs an organiser."""

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"{action}: for organisers only")


class Invalid(Refused):
    """The argument ``field`` is wrong: ``problem`` says how, for the person who typed it."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(problem)
