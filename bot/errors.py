"""Every error Parley raises on purpose, in one tree.

    ParleyError                 base: a message a person can act on, never a traceback
    ├── ConfigError             a setting is missing or wrong; names the setting
    ├── FlowError               a flow file is malformed; one ``file:line: what`` per problem
    ├── ExportError             an export or chart cannot be made as asked; says why
    └── ChannelError            a channel could not deliver or parse a message
        ├── TryAgain            a transient failure (rate limit, 5xx, timeout): retry later
        └── Undeliverable       a permanent failure: never retried, the reason is stored

Code that catches ``ParleyError`` at the edge (the CLI, a webhook) shows ``str(error)``
to the person and exits or answers cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence


class ParleyError(Exception):
    """Base class: ``str(error)`` is meant for the person running Parley."""


class ConfigError(ParleyError):
    """A setting is missing or invalid. The message names the setting."""


class DatabaseUnavailable(ParleyError):
    """The database server cannot be reached now; the work was not done (try again later)."""


class FlowError(ParleyError):
    """One or more problems in flow files, each as ``path:line: what is wrong``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class ExportError(ParleyError):
    """An export or results chart cannot be made as asked (no such flow, a bad date)."""


class ChannelError(ParleyError):
    """A channel adapter failed to send or to understand a provider payload."""


class TryAgain(ChannelError):
    """The provider could not take the message now; ``retry_after`` seconds if it said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Undeliverable(ChannelError):
    """The message can never be delivered as it is.

    ``recipient`` says what it tells about the resident: ``"opted_out"`` (they opted out at
    the carrier, Twilio's 21610) or ``"unreachable"`` (they blocked the bot), else None.
    """

    def __init__(self, reason: str, recipient: str | None = None) -> None:
        super().__init__(reason)
        self.recipient = recipient
