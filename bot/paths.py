"""Where the bundled flows and catalogs are: inside the installed package, or in the checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """``flows`` or ``locales`` as shipped: ``bot/_bundled/<name>`` in a wheel, else the
    top-level folder of a source checkout (an editable install)."""
    installed = _PACKAGE / "_bundled" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name
