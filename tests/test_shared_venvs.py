"""The matrix's venvs share compiled bytecode, and only where it is valid."""

import os
import py_compile
from pathlib import Path

from tests.support.bytecode import share_bytecode, site_packages

PYTHON = "3.14"


def venv_with(root: Path, name: str, files: dict[str, Path | str]) -> Path:
    """A venv holding *files*: a Path is hard-linked (as uv links from its cache), text written."""
    venv = root / f"py{PYTHON}-{name}"
    site = site_packages(venv, PYTHON)
    for relative, content in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            os.link(content, path)
        else:
            path.write_text(content)
    return venv


def test_a_new_venv_takes_the_bytecode_of_the_same_file_and_of_no_other(tmp_path: Path) -> None:
    cache = tmp_path / "uv-cache"
    cache.mkdir()
    shared = cache / "shared.py"
    shared.write_text("VALUE = 1\n")
    donor = venv_with(
        tmp_path, "donor", {"pkg/shared.py": shared, "pkg/changed.py": "VALUE = 'old'\n"}
    )
    for module in ("shared", "changed"):
        py_compile.compile(str(site_packages(donor, PYTHON) / "pkg" / f"{module}.py"))
    new = venv_with(tmp_path, "new", {"pkg/shared.py": shared, "pkg/changed.py": "VALUE = 'new'\n"})

    linked = share_bytecode(new, PYTHON)

    compiled = sorted((site_packages(new, PYTHON) / "pkg" / "__pycache__").iterdir())
    assert linked == 1
    assert [p.name.split(".")[0] for p in compiled] == ["shared"]
    donor_copy = site_packages(donor, PYTHON) / "pkg" / "__pycache__" / compiled[0].name
    assert os.path.samefile(compiled[0], donor_copy)
