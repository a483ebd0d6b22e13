"""Reuse the bytecode one shared venv compiled in the next venv that holds the same files."""

from __future__ import annotations

import os
from pathlib import Path

# The venvs whose bytecode a new one takes, newest first: enough to hold what
# the matrix imports, few enough that the walk stays well under a second.
DONORS = 4


def share_bytecode(venv: Path, python_version: str) -> int:
    """Hard-link into *venv* the ``__pycache__`` files its sibling venvs already compiled.

    uv installs each venv's files as hard links to one copy in its cache, so a
    module at the same place in two venvs of one Python is one file, and its
    bytecode (stamped with the source's mtime and size, which import checks) is
    valid in both. Without this, the first processes in each of the matrix's
    venvs compile Django and the rest again: about 4 s of CPU per venv.
    Returns the number of files linked.
    """
    site = site_packages(venv, python_version)
    siblings = [p for p in venv.parent.glob(f"py{python_version}-*") if p.is_dir() and p != venv]
    donors = sorted(siblings, key=lambda p: p.stat().st_mtime, reverse=True)[:DONORS]
    linked = 0
    for donor in donors:
        donor_site = site_packages(donor, python_version)
        for compiled in donor_site.glob("**/__pycache__/*.pyc"):
            package = compiled.parent.parent
            source = package / f"{compiled.name.split('.', 1)[0]}.py"
            target = site / package.relative_to(donor_site) / source.name
            copy = target.parent / "__pycache__" / compiled.name
            try:
                if copy.exists() or not os.path.samefile(source, target):
                    continue
                copy.parent.mkdir(exist_ok=True)
                os.link(compiled, copy)
            except (FileNotFoundError, FileExistsError):
                continue  # not installed here, or compiled meanwhile by a process of its own
            linked += 1
    return linked


def site_packages(venv: Path, python_version: str) -> Path:
    return venv / "lib" / f"python{python_version}" / "site-packages"
