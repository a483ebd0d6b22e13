"""What copier does after a copy or an update (``_tasks`` and ``_migrations`` in copier.yml).

Run as ``python extensions/tasks.py <task>`` in the new project. A missing tool
is reported and skipped: a task never fails the copy, because the project is
complete without it and each message says what to run later.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def init_git() -> str:
    """Start a git repository: ``copier update`` merges through git."""
    if shutil.which("git") is None:
        return "git not found: skipped git init (copier update needs a git repository)"
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], capture_output=True, check=False
    )
    if inside.returncode == 0:
        return "already inside a git repository: skipped git init"
    subprocess.run(["git", "init", "--quiet"], check=True)
    return "initialised a git repository"


def lock_dependencies() -> str:
    """Write the first uv.lock: the deploy files install with ``uv sync --locked``."""
    if shutil.which("uv") is None:
        return "uv not found: skipped uv lock (run `uv lock` once uv is installed)"
    locked = subprocess.run(["uv", "lock", "--quiet"], capture_output=True, text=True, check=False)
    if locked.returncode != 0:
        return f"uv lock failed, run it again later:\n{locked.stderr.strip()}"
    return "locked the dependencies in uv.lock"


def lock_if_missing() -> str:
    """On update from a release that made no uv.lock: write the first one."""
    if Path("uv.lock").exists():
        return "uv.lock exists: left as it is"
    return lock_dependencies()


TASKS = {"git-init": init_git, "lock": lock_dependencies, "lock-if-missing": lock_if_missing}

if __name__ == "__main__":
    print(TASKS[sys.argv[1]]())
