"""Ctrl-C in the simulator stops it at once: ``parley chat`` on a real terminal (a
pseudo-terminal), interrupted while it waits for the resident's next line."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from tests import databases
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    end = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _exited(pid: int, fd: int, seconds: float) -> int | None:
    """The exit status, if the process ended within ``seconds`` (its output drained)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        _read_until(fd, b"\0", 0.05)
    return None


def test_ctrl_c_at_the_prompt_ends_the_simulator_at_once(tmp_path: Path) -> None:
    (tmp_path / "parley.toml").touch()
    environment = {
        **os.environ,
        "PARLEY_DATABASE": databases.of(tmp_path),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
        "PYTHONPATH": str(REPO),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: parley chat on the pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot", "chat"], environment)
    status = None
    try:
        assert b"you> " in _read_until(fd, b"you> ", 60), "the simulator never prompted"
        os.kill(pid, signal.SIGINT)
        status = _exited(pid, fd, 2.0)
        assert status is not None, "still running 2 s after Ctrl-C"
        assert not os.WIFSIGNALED(status) or os.WTERMSIG(status) == signal.SIGINT
    finally:
        if status is None:  # never leave it running
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
