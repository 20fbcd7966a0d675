"""Every error Parley raises on purpose, in one tree.

    ParleyError                 base: a message a person can act on, never a traceback
    ├── ConfigError             a setting is missing or wrong; names the setting
    ├── FlowError               a flow file is malformed; one ``file:line: what`` per problem
    └── ChannelError            a channel could not deliver or parse a message

Code that catches ``ParleyError`` at the edge (the CLI, a webhook) shows ``str(error)``
to the person and exits or answers cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence


class ParleyError(Exception):
    """Base class: ``str(error)`` is meant for the person running Parley."""


class ConfigError(ParleyError):
    """A setting is missing or invalid. The message names the setting."""


class FlowError(ParleyError):
    """One or more problems in flow files, each as ``path:line: what is wrong``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class ChannelError(ParleyError):
    """A channel adapter failed to send or to understand a provider payload."""
