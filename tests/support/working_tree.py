"""The template's working tree as tests render it: committed and uncommitted changes alike."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.combinations import TEMPLATE_ROOT
from tests.support.processes import run


def copy_working_tree(destination: Path) -> None:
    """Write every tracked or new (not ignored) file of the template over *destination*.

    A tracked file deleted in the working tree is deleted from *destination* too.
    """
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE_ROOT,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source, target = TEMPLATE_ROOT / name, destination / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():
            target.unlink()
