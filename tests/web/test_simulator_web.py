"""``parley run`` with no provider, at a terminal: the simulator, with the staff web
beside it, so that a newcomer can send the simulated resident a poll from a browser."""

from __future__ import annotations

import os
import pty
import signal
import socket
import sys
import urllib.request
from pathlib import Path

from tests import databases
from tests.conftest import REPO
from tests.test_chat_interrupt import _exited, _read_until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_parley_run_without_a_provider_serves_the_staff_web(tmp_path: Path) -> None:
    (tmp_path / "parley.toml").touch()
    port = _free_port()
    environment = {
        **os.environ,
        "PARLEY_DATABASE": databases.of(tmp_path),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
        "PARLEY_PORT": str(port),
        "PYTHONPATH": str(REPO),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: parley run on the pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot", "run"], environment)
    status = None
    try:
        said = _read_until(fd, b"you> ", 60)
        assert f"Staff web: http://127.0.0.1:{port}/admin/".encode() in said, said
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login", timeout=10) as page:
            assert page.status == 200
            assert b"Sign in" in page.read()
        os.write(fd, b"\x04")  # Ctrl-D: the resident is done
        status = _exited(pid, fd, 10.0)
        assert status is not None, "still running after Ctrl-D"
        assert os.WIFEXITED(status)
        assert os.WEXITSTATUS(status) == 0
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
