"""What a staff command answers: lines of English, buttons, files to follow; and a
refusal from the desk in a phone's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.desk import Desk
from bot.desk.errors import NotFound, Refused
from bot.engine import Button


@dataclass(frozen=True)
class Phone:
    """A staff member at their phone: the desk, and whether files reach them (Telegram)."""

    desk: Desk
    files: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file to send after the reply (Telegram only), made when it is sent."""

    caption: str
    spec: Mapping[str, object]  # what to make: {"export": {...}} or {"chart": {...}}


@dataclass
class StaffReply:
    lines: list[str] = field(default_factory=list)
    buttons: tuple[Button, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    scheduled: bool = False  # a job may be due now: wake the scheduler
    refused: bool = False  # nothing was done (the lines say why)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Said(Exception):
    """A command refused in the phone's own words (its usage, a line it cannot read):
    nothing was done, and the message goes to the staff member as it is."""


def sentence(text: str) -> str:
    """A desk's problem as a sentence: a capital first, a full stop last."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!", "|")) else text + "."


def said(problem: Refused) -> str:
    """A refusal as a phone reply: an unknown poll is "There is no poll 7."."""
    if isinstance(problem, NotFound) and problem.kind == "flow" and problem.known:
        return f"There is no flow {problem.given}. Flows: {', '.join(problem.known)}"
    if isinstance(problem, NotFound) and problem.kind == "idea":
        return f"There is no idea {problem.given}. Ideas are named like ID-4821."
    return sentence(str(problem))
