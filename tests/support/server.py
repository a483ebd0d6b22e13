"""Serve a generated project the way production does, on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.project import Project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text()[-5000:]
            raise AssertionError(f"server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-5000:]}")


@contextmanager
def running(
    project: Project, command: list[str], env: Mapping[str, str], *, port: int, name: str
) -> Iterator[Path]:
    """Run *command* from the project's venv until the block ends; yield its log file."""
    log = project.path / f"{name}.log"
    executable = [str(project.venv / "bin" / command[0]), *command[1:]]
    environment = project.environment({**env, "PORT": str(port)}, services=True)
    with own_session(executable, log, cwd=project.path, env=environment) as process:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, log, timeout=60)
        yield log


@contextmanager
def own_session(
    command: list[str],
    log: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    grace: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """*command* in a session of its own, its output in *log*, until the block ends.

    Then its whole process group is stopped (stop_process_group, SIGKILL after *grace* s).
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_process_group(process, grace)


def stop_process_group(process: subprocess.Popen[Any], grace: float = 30) -> None:
    """SIGTERM a process started with ``start_new_session``, and its children; SIGKILL laggards.

    Laggards happen: Django's autoreloader exits from a SIGTERM handler, which can
    interrupt ``subprocess`` while it holds its waitpid lock, and then waits on it forever.
    """
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn(project: Project, env: Mapping[str, str]) -> Iterator[str]:
    """gunicorn started as the generated README's web process; yield its base URL."""
    port = free_port()
    command = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    with running(project, command, {"WEB_CONCURRENCY": "2", **env}, port=port, name="gunicorn"):
        yield f"http://127.0.0.1:{port}"
