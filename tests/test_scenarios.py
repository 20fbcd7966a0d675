"""Golden scenario tests: for every bundled flow and every shipped language, a scripted
resident produces exactly the recorded replies and stored answers.

The scripts are in tests/scenarios/scripts.yaml; the recordings in
tests/scenarios/golden/<flow>.yaml. After a deliberate change of wording, regenerate with
``PARLEY_UPDATE_GOLDEN=1 python3 -m pytest tests/test_scenarios.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.flowfile import load_flows
from bot.paths import bundled
from bot.settings import Settings
from tests import databases
from tests.conftest import Clock, Harness

SCENARIOS = Path(__file__).parent / "scenarios"
SCRIPTS: dict[str, dict[str, list[str]]] = yaml.safe_load(
    (SCENARIOS / "scripts.yaml").read_text(encoding="utf-8")
)
UPDATE = os.environ.get("PARLEY_UPDATE_GOLDEN") == "1"
FLOWS = sorted(load_flows(bundled("flows")))
ADDRESS = "+447700900555"


class _Readable(yaml.SafeDumper):
    """Writes multi-line messages as literal blocks, the way a phone shows them."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Readable.add_representer(str, _text)


def test_every_bundled_flow_and_shipped_language_has_a_script(settings: Settings) -> None:
    assert sorted(SCRIPTS) == FLOWS
    for flow_id, scripts in SCRIPTS.items():
        assert sorted(scripts) == sorted(settings.languages), flow_id


async def play(harness: Harness, flow_id: str, language: str) -> dict[str, Any]:
    turns: list[dict[str, Any]] = []
    if flow_id != "welcome":
        before = len(harness.sent)
        await harness.app.service.start_flow("sms", ADDRESS, flow_id, language)
        await harness.app.dispatcher.drain()
        turns.append({"start": flow_id, "bot": [m.text for m in harness.sent[before:]]})
    for text in SCRIPTS[flow_id][language]:
        turns.append({"send": text, "bot": await harness.send(text, ADDRESS, language=None)})
    rows = await harness.rows(
        "SELECT flow_id, step_id, value FROM answers ORDER BY id",
    )
    [contact] = await harness.rows("SELECT language, fields FROM contacts")
    return {
        "turns": turns,
        "answers": [f"{r['flow_id']}.{r['step_id']} = {json.loads(r['value'])}" for r in rows],
        "contact": {"language": contact["language"], **json.loads(contact["fields"])},
    }


@pytest.mark.parametrize("flow_id", FLOWS)
async def test_golden_conversations(flow_id: str, settings: Settings, clock: Clock) -> None:
    from tests.conftest import open_app

    golden_path = SCENARIOS / "golden" / f"{flow_id}.yaml"
    played: dict[str, Any] = {}
    for language in SCRIPTS[flow_id]:
        db = databases.beside(settings.database, f"{flow_id}-{language}.db")
        isolated = Settings(**{**settings.__dict__, "database": db})
        sent: list[Any] = []
        harness = Harness(await open_app(isolated, clock, sent), clock, sent)
        try:
            played[language] = await play(harness, flow_id, language)
        finally:
            await harness.app.close()
    if UPDATE:
        golden_path.write_text(
            yaml.dump(played, Dumper=_Readable, allow_unicode=True, sort_keys=False, width=100),
            encoding="utf-8",
        )
    expected = yaml.safe_load(golden_path.read_text(encoding="utf-8"))
    for language in SCRIPTS[flow_id]:
        assert played[language] == expected[language], f"{flow_id} in {language}"
