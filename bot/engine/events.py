"""What goes into the engine and what comes out of it.

In: :class:`Start`, :class:`Reply`, :class:`Resume`. Out: :class:`MessageOut`,
:class:`AnswerRecorded`, :class:`ContactChanged`, :class:`FlowEnded`. The engine never
sends or stores anything itself; the host turns these events into outbox rows,
answers and contact updates.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.engine.flow import Value


@dataclass(frozen=True)
class Start:
    """Begin the flow for a contact who speaks ``language``, with ``answers`` known
    already (a ballot cast before, to change)."""

    language: str
    answers: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """The resident sent ``text``."""

    text: str


@dataclass(frozen=True)
class Resume:
    """Ask the current question again, e.g. after an interruption changed the language."""


InEvent = Start | Reply | Resume


class MessageKind(enum.Enum):
    TEXT = "text"  # a message step or an end text
    QUESTION = "question"
    HINT = "hint"  # the reply was not understood
    NOTICE = "notice"  # the bot's own remark: skipped question, thanks, giving up


class ButtonKind(enum.Enum):
    REPLY = "reply"  # pressing it sends ``reply``
    TOGGLE = "toggle"  # pressing it ticks or unticks it; nothing is sent yet
    DONE = "done"  # sends the ticked toggles' replies together, like "1 3"
    PICK = "pick"  # sends ``reply``; the answer redraws the message it is on (a ballot)


@dataclass(frozen=True)
class Button:
    """A quick reply for channels that show buttons; pressing it sends ``reply``."""

    label: str
    reply: str
    kind: ButtonKind = ButtonKind.REPLY


@dataclass(frozen=True)
class MessageOut:
    text: str
    kind: MessageKind
    step_id: str | None = None
    buttons: tuple[Button, ...] = ()
    # What a channel that shows ``buttons`` says instead of ``text``: the question
    # without the numbered list the buttons repeat. None: ``text`` as it is.
    beside_buttons: str | None = None
    # On a channel that can, this replaces the message whose button was just pressed.
    redraw: bool = False


@dataclass(frozen=True)
class AnswerRecorded:
    step_id: str
    value: Value
    raw: str


@dataclass(frozen=True)
class ContactChanged:
    field: str
    value: str


class EndReason(enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"  # the resident's replies could not be understood


@dataclass(frozen=True)
class FlowEnded:
    reason: EndReason
    then: str | None = None  # the flow to start next, if the flow says so


OutEvent = MessageOut | AnswerRecorded | ContactChanged | FlowEnded
