"""The ``parley`` command (:mod:`bot.cli.main`)."""

from bot.cli.main import main

__all__ = ["main"]
