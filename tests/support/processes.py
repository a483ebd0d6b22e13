"""Subprocesses the tests start, and the file locks that keep workers from racing."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

# Copier's command line, run by this repository's own interpreter.
COPIER = [sys.executable, "-m", "copier"]


def run(
    command: Sequence[str | PathLike[str]], *, timeout: float | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run *command* to its end and capture its output as text; a failure is the caller's to judge.

    Keyword arguments go to ``subprocess.run`` (``cwd``, ``env``, ``input``...);
    ``check=True`` raises on a non-zero exit instead.
    """
    kwargs.setdefault("check", False)
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, **kwargs
    )


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on *lock_path* (created with its folder) across processes."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
