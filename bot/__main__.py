"""``python -m bot`` is the ``parley`` command."""

from bot.cli.main import main

if __name__ == "__main__":  # not again in a process the count or a draw spawns
    main()
