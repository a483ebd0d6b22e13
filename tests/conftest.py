"""Fixtures of the template's test suite.

``project`` renders one supported combination, installs it into a venv shared
with every combination of identical dependencies, and hands it to the tests of
test_generated_project.py. The tests of one combination run on one xdist
worker (``xdist_group``), so each combination is rendered and installed once.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import copier
import pytest

from tests.support import services, toolchain
from tests.support.combinations import (
    TEMPLATE_ROOT,
    Combination,
    default,
    default_combination,
    suite_combinations,
    supported_combinations,
)
from tests.support.project import Project, explain


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("django-prod")
    group.addoption(
        "--combination",
        default="",
        help="only combinations whose id matches this regular expression "
        "(ids look like session.celery-redis.redis.postgresql.none)",
    )


def selected_combinations(config: pytest.Config) -> list[Combination]:
    """The supported combinations (deploy targets included) the --combination filter keeps."""
    pattern = re.compile(config.getoption("--combination") or "")
    return [c for c in supported_combinations() if pattern.search(c.id)]


def selected_suites(config: pytest.Config) -> list[Combination]:
    """The selected combinations whose generated suite runs: one per application."""
    pattern = re.compile(config.getoption("--combination") or "")
    return [c for c in suite_combinations() if pattern.search(c.id)]


def closest_to_defaults(config: pytest.Config, *axes: str) -> list[Combination]:
    """For each choice of *axes*, the selected combination that differs least from the defaults.

    Tests that need one served project per choice (an auth mode, a cache, a
    queue and its broker) use these, so they share the build of a combination
    the matrix tests anyway.
    """
    defaults = default_combination().answers

    def distance(combination: Combination) -> int:
        return sum(combination.answers.get(key) != value for key, value in defaults.items())

    chosen: dict[tuple[str | None, ...], Combination] = {}
    candidates = (
        selected_combinations(config) if "deploy_target" in axes else selected_suites(config)
    )
    for combination in candidates:
        choice = tuple(combination.answers.get(axis) for axis in axes)
        if choice not in chosen or distance(combination) < distance(chosen[choice]):
            chosen[choice] = combination
    return list(chosen.values())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "project" in metafunc.fixturenames:
        metafunc.parametrize(
            "project",
            [
                pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                for c in selected_suites(metafunc.config)
            ],
            indirect=True,
            scope="session",
        )


@pytest.fixture(scope="session")
def template_root() -> Path:
    return TEMPLATE_ROOT


def render(copie_session: Any, answers: dict[str, str]) -> Path:
    """Render the working tree with *answers* (defaults for the rest) and return the project.

    The copy tasks (git init, the first ``uv lock``) are skipped here: the
    matrix installs with ``uv sync``, and test_quickstart runs the README's
    generate command, tasks included, the way a new user does.
    """
    destination = Path(tempfile.mkdtemp(prefix="copie", dir=copie_session.test_dir))
    try:
        copier.run_copy(
            str(TEMPLATE_ROOT), destination, data=answers, defaults=True, unsafe=True,
            quiet=True, vcs_ref="HEAD", skip_tasks=True,
        )  # fmt: skip
    except Exception as error:
        raise AssertionError(f"rendering {answers} failed: {error!r}") from error
    return destination


_built: dict[str, Project] = {}


def build(combination: Combination, copie_session: Any) -> Project:
    """Render and install *combination* once per worker; later callers share it."""
    if combination.id not in _built:
        services.require(combination.services)
        python_version = default("python_version")
        toolchain.python(python_version)  # fail early and clearly when it is missing
        project = Project(Path(), combination, python_version)
        with project._timed("render"):
            project.path = render(copie_session, combination.answers)
        installed = project.install()
        assert installed.returncode == 0, explain(installed)
        _built[combination.id] = project
    return _built[combination.id]


@pytest.fixture(scope="session")
def project(request: pytest.FixtureRequest, copie_session: Any) -> Project:
    return build(request.param, copie_session)


# record_property names whose one-line results get a section of the summary.
NOTE_SECTIONS = {
    "fuzz_run": "API fuzzing",
    "resilience": "outages and restarts",
    "worker_faults": "workers killed mid-task",
}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the generated projects' own test runs measured (sent by xdist workers too)."""
    rows: list[dict[str, Any]] = []
    notes: dict[str, list[str]] = {title: [] for title in NOTE_SECTIONS.values()}
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "generated_run":
                rows.append(value)
            elif name in NOTE_SECTIONS:
                notes[NOTE_SECTIONS[name]].append(value)
    for title, lines in notes.items():
        if lines:
            terminalreporter.section(title)
            for line in sorted(lines):
                terminalreporter.write_line(line)
    if not rows:
        return
    terminalreporter.section("generated projects")
    header = (
        f"{'combination':<44} {'tests':>5} {'skip':>4} "
        f"{'render s':>8} {'install s':>9} {'tests s':>8}"
    )
    terminalreporter.write_line(header)
    for row in sorted(rows, key=lambda r: r["combination"]):
        terminalreporter.write_line(
            f"{row['combination']:<44} {row['tests']:>5} {row['skipped']:>4} "
            f"{row['render']:>8.1f} {row['install']:>9.1f} {row['test']:>8.1f}"
        )
        for line in row["services"]:
            terminalreporter.write_line(f"    {line}")
