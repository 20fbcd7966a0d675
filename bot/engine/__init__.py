"""The flow engine: pure functions from (flow, session, event, now) to a new session and events.

Nothing in this package does I/O, reads a clock or draws random numbers; see
:func:`advance`.
"""

from bot.engine.env import EnglishPhrases, Env, LanguageName, Phrases
from bot.engine.events import (
    AnswerRecorded,
    Button,
    ButtonKind,
    ContactChanged,
    EndReason,
    FlowEnded,
    InEvent,
    MessageKind,
    MessageOut,
    OutEvent,
    Reply,
    Resume,
    Start,
)
from bot.engine.flow import Flow, Value
from bot.engine.runner import Turn, advance
from bot.engine.session import Session, is_expired

__all__ = [
    "AnswerRecorded",
    "Button",
    "ButtonKind",
    "ContactChanged",
    "EndReason",
    "EnglishPhrases",
    "Env",
    "Flow",
    "FlowEnded",
    "InEvent",
    "LanguageName",
    "MessageKind",
    "MessageOut",
    "OutEvent",
    "Phrases",
    "Reply",
    "Resume",
    "Session",
    "Start",
    "Turn",
    "Value",
    "advance",
    "is_expired",
]
