"""``python -m bot`` is the ``parley`` command."""

from bot.cli import main

main()
