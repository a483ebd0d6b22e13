"""What copier does after a copy or an update (``_tasks`` and ``_migrations`` in copier.yml).

Run as ``python extensions/tasks.py <task>`` in the project. Each step prints
one line saying what it did. A missing tool is reported and skipped: a task
never fails the copy, because the project is complete without it and each
message says what to run later.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def init_git() -> tuple[str, bool]:
    """Start a git repository (``copier update`` merges through git); True if one was made."""
    if shutil.which("git") is None:
        return "git not found: skipped git init (copier update needs a git repository)", False
    if git("rev-parse", "--is-inside-work-tree").returncode == 0:
        return "already inside a git repository: skipped git init and the first commit", False
    subprocess.run(["git", "init", "--quiet"], check=True)
    return "git: initialised a repository", True


def lock_dependencies() -> str:
    """Write the first uv.lock: the deploy files install with ``uv sync --locked``."""
    if shutil.which("uv") is None:
        return "uv not found: skipped uv lock (run `uv lock` once uv is installed)"
    locked = subprocess.run(["uv", "lock", "--quiet"], capture_output=True, text=True, check=False)
    if locked.returncode != 0:
        return f"uv lock failed, run it again later:\n{locked.stderr.strip()}"
    return "uv: locked the dependencies in uv.lock"


def first_commit() -> str:
    """Commit the new project, so that ``copier update`` works on the day it is generated."""
    if git("var", "GIT_AUTHOR_IDENT").returncode or git("var", "GIT_COMMITTER_IDENT").returncode:
        return (
            "git has no user.name or user.email: skipped the first commit (set them, then run "
            "`git add --all && git commit -m 'Generate the project'`)"
        )
    answers = Path(".copier-answers.yml").read_text()
    version = re.search(r"^_commit: (\S+)", answers, re.M)
    message = f"Generate the project from django-prod {version[1] if version else ''}".strip()
    git("add", "--all")
    committed = git("commit", "--quiet", "-m", message)
    if committed.returncode != 0:
        return f"git commit failed, commit the project yourself:\n{committed.stderr.strip()}"
    return f"git: committed the project ({message})"


def after_copy() -> str:
    started, created = init_git()
    steps = [started, lock_dependencies()]
    if created:
        steps.append(first_commit())
    return "\n".join(steps)


def lock_if_missing() -> str:
    """On update from a release that made no uv.lock: write the first one."""
    if Path("uv.lock").exists():
        return "uv.lock exists: left as it is"
    return lock_dependencies()


def conflicted_files() -> list[str]:
    """Files the update left with conflicts: unmerged in git's index, or a ``.rej`` beside them."""
    unmerged = git("diff", "--name-only", "--diff-filter=U").stdout.split()
    rejected = [str(path) for path in Path().rglob("*.rej") if ".git" not in path.parts]
    return sorted(set(unmerged) | set(rejected))


def after_update() -> str:
    """Name the files holding conflicts, then bring uv.lock up to date with pyproject.toml."""
    conflicts = conflicted_files()
    steps = []
    if conflicts:
        steps.append(
            "CONFLICTS: your edits and the template's changes overlap in "
            + ", ".join(conflicts)
            + "\n  Resolve each (keep the lines you want between <<<<<<< and >>>>>>>, delete "
            "the markers, or a .rej file once applied), then `git add` them and commit."
        )
    else:
        steps.append("no conflicts: every change of the template merged cleanly")
    if not Path("uv.lock").exists():
        steps.append("no uv.lock: nothing to bring up to date (`uv lock` writes one)")
    elif {"pyproject.toml", "pyproject.toml.rej"} & set(conflicts):
        steps.append("pyproject.toml holds conflicts: resolve them, then run `uv lock`")
    else:
        steps.append(lock_dependencies())
    return "\n".join(steps)


TASKS = {"after-copy": after_copy, "after-update": after_update, "lock-if-missing": lock_if_missing}

if __name__ == "__main__":
    print(TASKS[sys.argv[1]]())
