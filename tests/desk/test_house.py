"""The house as the README draws it: no import cycles in ``bot``, no front importing
another, and every desk operation that changes something writing an audit record."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot
from bot.desk import OPERATIONS

for _found in pkgutil.iter_modules([str(Path(bot.__file__).parent / "desk")]):
    importlib.import_module(f"bot.desk.{_found.name}")  # every operation, registered

PACKAGE = Path(bot.__file__).parent
FRONTS = {"bot.phone": "phone", "bot.cli": "cli", "bot.web.admin": "web"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(path: Path, name: str, top_level_only: bool) -> set[str]:
    """The bot modules a module imports (at its top level only, if asked: imports inside
    functions run when called, and cannot make a cycle at import time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    known = {module for module, _ in _modules()}
    return {module for module in found if module in known and module != name}


def test_there_is_no_import_cycle() -> None:
    graph = {name: _imports(path, name, top_level_only=True) for name, path in _modules()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for other in sorted(graph.get(node, ())):
            family = other.startswith(node + ".") or node.startswith(other + ".")
            if state.get(other) == 1 and not family:  # a package and its own modules are not
                cycle.extend([*trail, node, other])
                return True
            if state.get(other) is None and visit(other, [*trail, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)


def _front(module: str) -> str | None:
    return next((front for prefix, front in FRONTS.items() if module.startswith(prefix)), None)


def test_no_front_imports_another() -> None:
    crossing = []
    for name, path in _modules():
        mine = _front(name)
        if mine is None:
            continue
        for other in _imports(path, name, top_level_only=False):
            theirs = _front(other)
            if theirs is not None and theirs != mine:
                crossing.append(f"{name} ({mine}) imports {other} ({theirs})")
    assert not crossing


ASSEMBLY = {
    "bot.__main__": "python -m bot is the parley command",
    "bot.app": "puts a process together, the phone front's files for Telegram included",
    "bot.server": "runs the web service, the staff web in it",
    "bot.service": "staff commands by phone arrive as residents' messages do: handed over",
    "bot.web": "the web service mounts the staff web",
}
"""The modules outside the fronts that know them, and why."""


def test_the_desk_and_the_core_import_no_front() -> None:
    for name, path in _modules():
        if _front(name) is not None or name in ASSEMBLY or name.startswith("bot.web."):
            continue
        fronts = [m for m in _imports(path, name, top_level_only=False) if _front(m)]
        assert not fronts, f"{name} imports {fronts}"


def test_every_module_of_bot_imports() -> None:
    for found in pkgutil.walk_packages(bot.__path__, "bot."):
        if found.name == "bot.__main__":
            continue
        importlib.import_module(found.name)


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items() if op.changes))
def test_every_operation_that_changes_something_is_audited(name: str) -> None:
    module = name.partition(".")[0]
    owner = {
        "staff": "accounts",
        "contact": "contacts",
        "idea": "ideas",
        "poll": "polls",
        "pb": "budgeting",
    }.get(module, module + "s" if not module.endswith("s") else module)
    desk = importlib.import_module(f"bot.desk.{owner}")
    source = "\n".join(
        inspect.getsource(member)
        for member in vars(desk).values()
        if inspect.isfunction(member) and member.__module__ == desk.__name__
    )
    assert f'"{name}"' in source or f"'{name}'" in source, f"{name} is never audited"
    assert "desk.audit(" in source


def test_every_operation_is_a_public_function_of_the_desk() -> None:
    assert len(OPERATIONS) >= 40
    for name, operation in OPERATIONS.items():
        assert operation.name == name
        assert operation.organiser is None or operation.organiser.strip()
