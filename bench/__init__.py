"""Benchmarks of Parley (see the README's performance table); what they share."""

from __future__ import annotations

import os
from pathlib import Path


def run_from_bytecode(folder: Path) -> None:
    """Every process started from now on runs from compiled bytecode, as an installed
    Parley does (the image's ``uv sync --compile-bytecode``): written to a cache folder of
    this run (PYTHONPYCACHEPREFIX) by the first process that imports a module, so neither
    the source tree nor the environment is written to. Without it, where the environment
    was installed without bytecode and may not write it (PYTHONDONTWRITEBYTECODE), each
    new Parley compiles the Twilio SDK's modules at its first send, a stall of 0.2-0.4 s
    no installed Parley has."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder / "bytecode")
