"""Every setting Parley reads is in deploy/parley.env.example and in README.md's
Configuration section, and neither lists one Parley does not read. The names come from
what :func:`bot.settings.load_settings` asks of the environment, not from a list kept here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import load_settings
from tests.conftest import REPO


class _Watched(dict[str, str]):
    """An empty environment that remembers every name it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return super().__contains__(name)

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self.asked.add(name)
        return super().get(name, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("settings are read by name, never by listing the environment")


@pytest.fixture
def read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The environment variables Parley reads its settings from."""
    monkeypatch.chdir(tmp_path)  # no parley.toml here
    environ = _Watched()
    load_settings(environ)
    assert {"PARLEY_DATABASE", "TWILIO_AUTH_TOKEN", "PARLEY_CONFIG"} <= environ.asked
    return environ.asked


def _env_example() -> set[str]:
    text = (REPO / "deploy" / "parley.env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def _configuration_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Configuration\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_env_example_lists_every_setting_and_no_other(read: set[str]) -> None:
    listed = _env_example()
    assert sorted(read - listed) == [], "missing from deploy/parley.env.example"
    assert sorted(listed - read) == [], "in deploy/parley.env.example, but never read"


def test_the_readme_documents_every_setting(read: set[str]) -> None:
    section = _configuration_section()
    named = set(re.findall(r"`((?:PARLEY|TWILIO|TELEGRAM)_[A-Z0-9_]+)`", section))
    assert sorted(read - named) == [], "missing from README.md's Configuration"
    in_table = set(re.findall(r"^\| `[a-z_]+` \| `([A-Z][A-Z0-9_]+)` \|", section, re.MULTILINE))
    assert len(in_table) > 30
    assert sorted(in_table - read) == [], "in README.md's settings table, but never read"
