"""Every supported combination renders into files that read as if written by hand."""

from __future__ import annotations

import py_compile
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import render, selected_combinations
from tests.support.combinations import AXES, Combination


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" in metafunc.fixturenames:
        metafunc.parametrize(
            "combination",
            [pytest.param(c, id=c.id) for c in selected_combinations(metafunc.config)],
        )


@pytest.fixture
def rendered(copie_session: Any, combination: Combination) -> Path:
    return render(copie_session, combination.answers)


def text_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]


def test_no_template_syntax_is_left(rendered: Path) -> None:
    leftovers = []
    for path in text_files(rendered):
        if path.suffix == ".html" or "templates" in path.relative_to(rendered).parts:
            continue  # Django templates are meant to contain {% %} and {{ }}.
        for number, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.replace("${{", "")  # GitHub Actions expressions
            if "{%" in stripped or "{{" in stripped or "{#" in stripped:
                leftovers.append(f"{path.relative_to(rendered)}:{number}: {line.strip()}")
    assert leftovers == []


def test_no_files_named_by_an_empty_condition(rendered: Path) -> None:
    assert [p for p in rendered.rglob("*") if p.name in ("", ".jinja") or "{" in p.name] == []


def test_text_files_have_no_blank_line_runs_or_trailing_spaces(rendered: Path) -> None:
    problems = []
    for path in text_files(rendered):
        text = path.read_text()
        name = path.relative_to(rendered)
        if "\n\n\n\n" in text or (path.suffix != ".py" and "\n\n\n" in text):
            problems.append(f"{name}: a run of blank lines")
        if re.search(r"[ \t]+\n", text):
            problems.append(f"{name}: trailing whitespace")
        if text and (not text.endswith("\n") or text.endswith("\n\n")):
            problems.append(f"{name}: must end with exactly one newline")
        if text.startswith("\n"):
            problems.append(f"{name}: starts with a blank line")
    assert problems == []


def test_python_compiles_and_passes_ruff(rendered: Path) -> None:
    for path in rendered.rglob("*.py"):
        py_compile.compile(str(path), doraise=True)
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=rendered, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_config_files_parse(rendered: Path) -> None:
    import tomllib

    tomllib.loads((rendered / "pyproject.toml").read_text())
    for path in rendered.rglob("*.y*ml"):
        yaml.safe_load(path.read_text())


def test_the_answers_file_records_every_choice(rendered: Path, combination: Combination) -> None:
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())

    for axis in AXES:
        if axis in combination.answers:
            assert answers[axis] == combination.answers[axis]
    assert answers["admin_url_path"] != "admin/"
