"""Locate uv and the Python interpreters generated projects run on.

uv cannot see the pyenv interpreters through pyenv's shims, so each one is
found explicitly; a missing one is a loud failure, never a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

DEBIAN_SID_PYTHON = "/opt/debian-sid-python"


class ToolchainError(RuntimeError):
    """A tool the tests need is not installed; the message says how to fix it."""


@cache
def uv() -> str:
    """The uv executable: $UV_BIN, else the first ``uv`` on PATH that runs."""
    candidates = [os.environ.get("UV_BIN", ""), *_all_on_path("uv")]
    for candidate in filter(None, candidates):
        if _runs(candidate, "--version"):
            return candidate
    raise ToolchainError("uv not found: install it (pip install uv) or set UV_BIN")


@cache
def python(version: str) -> str:
    """An interpreter for *version* (``"3.13"``), searched in the usual places."""
    patterns = [
        os.environ.get(f"PYTHON_{version.replace('.', '_')}", ""),
        os.environ.get("UV_PYTHON", ""),
        f"{_pyenv_root()}/versions/{version}*/bin/python{version}",
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
        # Debian sid's 3.14 and 3.15, made runnable on this host by .ci/run.
        f"{DEBIAN_SID_PYTHON}/usr/bin/python{version}-host",
    ]
    for pattern in filter(None, patterns):
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if _runs(candidate, "-c", f"import sys; assert sys.version.startswith('{version}.')"):
                return candidate
    raise ToolchainError(
        f"no Python {version} interpreter found (looked in {', '.join(filter(None, patterns))}); "
        f"install it (.ci/run unpacks 3.14 and 3.15) "
        f"or point PYTHON_{version.replace('.', '_')} at one"
    )


def _pyenv_root() -> str:
    return os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")


def _all_on_path(name: str) -> list[str]:
    found = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found.append(str(candidate))
    return found or list(filter(None, [shutil.which(name)]))


def _runs(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
