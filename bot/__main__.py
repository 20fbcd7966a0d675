"""``python -m bot`` is the ``parley`` command."""

from bot.cli.main import main

main()
