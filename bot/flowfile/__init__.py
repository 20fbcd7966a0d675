"""Flow files: YAML in ``flows/`` turned into checked :class:`~bot.engine.flow.Flow` objects.

Every problem is reported as ``path:LINE: step 'id': what is wrong`` in one
:class:`~bot.errors.FlowError`, so ``parley flows check`` shows them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.engine.flow import OPEN_POLLS, EndStep, Flow
from bot.errors import FlowError
from bot.flowfile.checks import check_graph
from bot.flowfile.reader import FlowReader
from bot.flowfile.yamllines import SourceError, load_yaml, problem_of, read_source
from bot.triggers import TRIGGERS_FILE

__all__ = ["load_flow", "load_flows", "read_flow"]


def read_flow(text: str, path: str) -> tuple[Flow | None, list[tuple[int, str]]]:
    """Parse and check one flow file's text; ``path`` is what messages call the file."""
    reader = FlowReader(path)
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as error:
        line, what = problem_of(error)
        return None, [(line, f"{path}:{line}: {what}")]
    flow = reader.read(data, Path(path).stem)
    problems = list(reader.problems)
    if flow is not None and not problems:
        problems = [(line, f"{path}:{line}: {what}") for line, what in check_graph(flow)]
    return (flow if not problems else None), sorted(problems)


def load_flow(path: Path, shown_as: str | None = None) -> Flow:
    flow, problems = _read_file(path, shown_as or str(path))
    if problems or flow is None:
        raise FlowError([message for _, message in problems])
    return flow


def load_flows(directory: Path, shown_as: str | None = None) -> dict[str, Flow]:
    """Load every ``*.yaml`` in ``directory`` but ``triggers.yaml`` (see
    :mod:`.triggers`); all problems of all files in one error."""
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    prefix = shown_as if shown_as is not None else str(directory)
    for path in sorted(directory.glob("*.yaml")):
        if path.name == TRIGGERS_FILE:
            continue
        flow, found = _read_file(path, f"{prefix}/{path.name}")
        problems.extend(message for _, message in found)
        if flow is not None:
            flows[flow.id] = flow
    problems.extend(_check_links(flows))
    if problems:
        raise FlowError(problems)
    return flows


def _read_file(path: Path, shown_as: str) -> tuple[Flow | None, list[tuple[int, str]]]:
    try:
        text = read_source(path)
    except SourceError as error:
        return None, [(error.line, f"{shown_as}:{error.line}: {error.what}")]
    return read_flow(text, shown_as)


def _check_links(flows: Mapping[str, Flow]) -> list[str]:
    problems = []
    for flow in flows.values():
        for step in flow.steps:
            if not isinstance(step, EndStep) or not step.then:
                continue
            if step.then not in flows and step.then != OPEN_POLLS:
                problems.append(
                    f"{flow.path}:{step.line}: step '{step.id}': starts unknown flow '{step.then}'"
                )
    return problems
