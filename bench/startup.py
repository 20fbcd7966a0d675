"""Start-up: how long ``parley --help`` and ``parley answers`` take, each in a new
process, and how much memory ``parley run`` holds once it is ready.

    .venv/bin/python -m bench.startup [--runs 15] [--engine-seconds 1]

- Wall time of ``parley --help``, ``parley answers --help`` and a real ``parley
  answers`` (on a fresh SQLite file, created by a first run not timed), through the
  installed ``parley`` script as a person types it; best and median of ``--runs``
  runs, each a new process. Beside them, in the same run, the floor: ``python -c
  pass`` and ``python -c "import click"``.
- Memory: ``parley run`` on a fresh SQLite file with Twilio configured (its API a
  small fake in this process, as bench/inbound.py starts it), its resident set (now
  and at its peak, from /proc) once ``/healthz`` answers, and how much of it is file
  pages (the libraries' code; the language model's state machine, mapped from a file,
  as far as it has been read); beside it a bare Python interpreter's.
- A short bench/engine.py run first, so a reader can scale the figures to another
  machine: the times "on the issue's machine" are scaled by it (35,400 steps/s there).

Every process runs from compiled bytecode, as the container image ships it (``uv sync
--compile-bytecode``): the bytecode goes to a cache folder of this run
(PYTHONPYCACHEPREFIX), written by a first run of each command that is not timed, so
neither the source tree nor the environment is written to.

Targets (issue 22), on the issue's machine (about 0.40x this one by bench/engine.py):
``parley --help`` and ``parley answers`` within 0.3 s; ``parley run`` at most 100 MB
at start.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from bench import engine, run_from_bytecode
from bench.inbound import _fake_api, _parley

TARGET_SECONDS = 0.3
TARGET_MB = 100
ISSUE_ENGINE = 35_400  # bench/engine.py's steps/s on the machine the issue measured on
PARLEY = str(Path(sys.executable).parent / "parley")


def wall(args: Sequence[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """Best and median wall time of ``args``, each run a new process, and its best CPU
    time (user and system: less disturbed by other work on the machine)."""
    times, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times), statistics.median(times), min(cpus)


def memory_mb(pid: int, names: Sequence[str] = ("VmRSS", "VmHWM")) -> tuple[float, ...]:
    """A process's resident set now and at its peak (VmRSS, VmHWM), or other fields of
    its /proc status, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return tuple(int(fields[name].split()[0]) / 1024 for name in names)


def _healthy(base: str) -> None:
    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.time() > deadline:
                raise
        time.sleep(0.05)


def bare_memory() -> float:
    """A bare interpreter's resident set, asleep, in MB."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.3)
        return memory_mb(process.pid)[0]
    finally:
        process.terminate()
        process.wait()


def run_memory(folder: Path) -> tuple[float, float, float, float]:
    """``parley run``'s resident set once ready (now, peak), how much of it is file
    pages (the libraries' code, the language model's mapped state machine: clean pages
    the kernel can drop) and the seconds to ready."""
    with _fake_api() as api:
        started = time.perf_counter()
        parley, _ = _parley(folder, api)
        try:
            _healthy(parley.base)
            ready = time.perf_counter() - started
            time.sleep(0.5)  # what it does just after start (the scheduler's first look)
            now, peak, files = memory_mb(parley.process.pid, ("VmRSS", "VmHWM", "RssFile"))
        finally:
            parley.stop()
    return now, peak, files, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--engine-seconds", type=float, default=1.0)
    args = parser.parse_args()
    steps, elapsed = engine.run(args.engine_seconds)
    rate = steps / elapsed
    print(f"engine: {rate:,.0f} steps/s (bench/engine.py, {args.engine_seconds:g} s)")
    slower = rate / ISSUE_ENGINE  # how many times longer the issue's machine takes
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
        run_from_bytecode(folder)  # parley run's too
        env = {
            **os.environ,
            "PARLEY_CONFIG": str(folder / "parley.toml"),
            "PARLEY_DATABASE": str(folder / "answers.db"),
        }
        timed = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ('python -c "import click"', [sys.executable, "-c", "import click"]),
            ("parley --help", [PARLEY, "--help"]),
            ("parley answers --help", [PARLEY, "answers", "--help"]),
            ("parley answers", [PARLEY, "answers"]),
        ]
        for name, command in timed:
            wall(command, env, 1)  # compiles what it imports (and makes the database)
            best, median, cpu = wall(command, env, args.runs)
            verdict = ""
            if name.startswith("parley"):
                scaled = best * slower
                verdict = (
                    f"; ~{scaled:.2f} s on the issue's machine"
                    f" ({'meets' if scaled <= TARGET_SECONDS else 'MISSES'}"
                    f" the {TARGET_SECONDS} s target)"
                )
            print(
                f"{name:<26} best {best * 1000:6.1f} ms, median {median * 1000:6.1f} ms,"
                f" CPU {cpu * 1000:6.1f} ms{verdict}"
            )

        for run in ("first", "run"):
            (folder / run).mkdir()
        run_memory(folder / "first")  # compiles what it imports
        now, peak, files, ready = run_memory(folder / "run")  # on a fresh database too
        bare = bare_memory()
        verdict = "meets" if peak <= TARGET_MB else "MISSES"
        print(
            f"parley run, ready (/healthz) after {ready:.2f} s: {now:.1f} MB resident"
            f" ({files:.1f} MB of it file pages), peak {peak:.1f} MB ({verdict} the"
            f" {TARGET_MB} MB target); bare python: {bare:.1f} MB"
        )


if __name__ == "__main__":
    main()
