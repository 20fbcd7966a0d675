"""Checks on a flow as a graph of steps: references resolve, every step is reachable,
and no loop runs forever without asking the resident something."""

from __future__ import annotations

from collections.abc import Iterator

from bot.engine.flow import BranchStep, EndStep, Flow, Question, Step


def targets(flow: Flow, step: Step) -> Iterator[tuple[str, int]]:
    """The steps that ``step`` can lead to, with the line that says so."""
    following = flow.position(step.id) + 1
    next_id = flow.steps[following].id if following < len(flow.steps) else None
    match step:
        case EndStep():
            return
        case BranchStep():
            for case in step.cases:
                yield case.goto, case.line
            if step.otherwise is not None:
                yield step.otherwise, step.line
            elif next_id is not None:
                yield next_id, step.line
        case _:
            if step.goto is not None:
                yield step.goto, step.line
            elif next_id is not None:
                yield next_id, step.line


def check_graph(flow: Flow) -> list[tuple[int, str]]:
    """Problems as (line, "step 'x': what"), in file order."""
    problems: list[tuple[int, str]] = []
    edges: dict[str, list[str]] = {}
    for step in flow.steps:
        edges[step.id] = []
        for target, line in targets(flow, step):
            if flow.has_step(target):
                edges[step.id].append(target)
            else:
                problems.append((line, f"step '{step.id}': goes to unknown step '{target}'"))
        if isinstance(step, BranchStep):
            if not flow.has_step(step.on):
                problems.append(
                    (step.line, f"step '{step.id}': branches on unknown step '{step.on}'")
                )
            elif not isinstance(flow.step(step.on), Question):
                problems.append(
                    (
                        step.line,
                        f"step '{step.id}': branches on '{step.on}', which is not a question",
                    )
                )

    reached = {flow.steps[0].id}
    waiting = [flow.steps[0].id]
    while waiting:
        for target in edges[waiting.pop()]:
            if target not in reached:
                reached.add(target)
                waiting.append(target)
    for step in flow.steps:
        if step.id not in reached:
            problems.append((step.line, f"step '{step.id}': unreachable, no step leads here"))

    problems.extend(_endless_loops(flow, edges))
    return sorted(problems)


def _endless_loops(flow: Flow, edges: dict[str, list[str]]) -> list[tuple[int, str]]:
    """A cycle through steps that never wait would spin without asking anything."""
    # In file order, so the same file always reports the same step.
    passive = [s.id for s in flow.steps if not isinstance(s, Question)]
    problems: list[tuple[int, str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str) -> None:
        state[step_id] = 1
        for target in edges[step_id]:
            if target not in passive:
                continue
            if state.get(target) == 1:
                step = flow.step(target)
                problems.append(
                    (
                        step.line,
                        f"step '{target}': starts a loop that never asks a question, "
                        "so the flow would never stop",
                    )
                )
            elif target not in state:
                visit(target)
        state[step_id] = 2

    for step_id in passive:
        if step_id not in state:
            visit(step_id)
    return problems
