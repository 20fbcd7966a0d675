"""What a fresh machine gets: the README's two commands, CI and both deployment recipes all
install from the one lock file, with the panel solver; the licence is the AGPL's full text."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
RUN_COMMAND = "python3 -m pip install uv && python3 -m uv run --locked parley run"
TEST_COMMAND = "python3 -m pip install uv && python3 -m uv run --locked --extra dev pytest"
LOCKED_SYNC = re.compile(r"\buv sync --locked\b")


def _quick_start() -> str:
    return README[README.index("## Quick start") : README.index("## Trying it as a resident")]


def _fenced(text: str) -> list[str]:
    return [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
        if line.strip()
    ]


def test_the_quick_start_is_two_commands_that_install_from_the_lock() -> None:
    assert _fenced(_quick_start()) == [RUN_COMMAND, TEST_COMMAND]


def test_ci_builds_a_new_environment_and_runs_the_readme_test_command_verbatim() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "rm -rf .venv" in lines
    assert TEST_COMMAND in lines
    assert lines.index("rm -rf .venv") < lines.index(TEST_COMMAND)


def test_the_lock_is_a_tool_made_uv_lock_covering_every_dependency() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = {package["name"]: package for package in lock["package"]}
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = {re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0].lower() for spec in wanted}
    missing = {name for name in names if name.replace("_", "-") not in locked}
    assert missing == set()
    # Every locked library has one exact version (a lock, not a range).
    assert all(re.fullmatch(r"[\w.+!-]+", p.get("version", "0")) for p in locked.values())


def test_babel_is_locked_at_a_version_whose_plural_rules_the_catalogs_follow() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    import babel

    (locked,) = [p["version"] for p in lock["package"] if p["name"] == "babel"]
    assert babel.__version__ == locked  # the tests run on the locked Babel


def test_the_panel_solver_is_part_of_every_install() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(spec.startswith("sortition-algorithms") for spec in project["dependencies"])
    import highspy  # noqa: F401  (the solver maximin uses)
    import sortition_algorithms  # noqa: F401


def test_docker_and_systemd_install_from_the_lock() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert LOCKED_SYNC.search(dockerfile)
    assert "pip install ." not in dockerfile
    assert "pip wheel" not in dockerfile
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "uv.lock" not in dockerignore
    systemd = README[README.index("### Running with systemd") : README.index("### Checking")]
    installs = [line for line in _fenced(systemd) if "install ." in line or "uv sync" in line]
    assert installs
    assert all(LOCKED_SYNC.search(line) for line in installs)
    service = (ROOT / "deploy" / "parley.service").read_text(encoding="utf-8")
    assert LOCKED_SYNC.search(service)


def test_the_image_ships_compiled_bytecode() -> None:
    """Parley's own code and its libraries compiled when the image is built: ``parley
    --help`` then starts in tens of milliseconds, where compiling what it imports took
    half a second (issue 22, bench/startup.py)."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    [sync] = [line for line in dockerfile.splitlines() if LOCKED_SYNC.search(line)]
    assert sync.startswith("RUN ")
    assert "--compile-bytecode" in sync.split()
    assert "--no-editable" in sync.split()  # the compiled copy is the one that runs
    assert "PYTHONDONTWRITEBYTECODE" not in dockerfile.split("FROM python:3.11-slim\n")[-1]


def test_the_systemd_install_compiles_bytecode() -> None:
    """The service may not write under /opt (ProtectSystem=strict), so what is not compiled
    at install is compiled at every start: the Twilio SDK's modules at the first reply,
    a stall of a few tenths of a second for the residents then (bench/inbound.py)."""
    systemd = README[README.index("### Running with systemd") : README.index("### Checking")]
    syncs = [line for line in _fenced(systemd) if LOCKED_SYNC.search(line)]
    assert len(syncs) == 2  # installing and updating
    assert all("--compile-bytecode" in line.split() for line in syncs)
    service = (ROOT / "deploy" / "parley.service").read_text(encoding="utf-8")
    assert "ProtectSystem=strict" in service
    assert "--compile-bytecode" in service


def test_licence_is_the_full_text_of_the_agpl_v3() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("GNU AFFERO GENERAL PUBLIC LICENSE")
    assert "Version 3, 19 November 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text
    shared = ROOT.parent / "shared" / "licenses" / "AGPL-3.0.txt"
    if shared.is_file():
        digest = hashlib.sha256
        assert digest(text.encode()).digest() == digest(shared.read_bytes()).digest()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "AGPL-3.0-or-later"
