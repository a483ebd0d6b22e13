"""Fixtures of the template's test suite.

``project`` renders one supported combination, installs it into a venv shared
with every combination of identical dependencies, and hands it to the tests of
test_generated_project.py. The tests of one combination run on one xdist
worker (``xdist_group``), so each combination is rendered and installed once.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
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
from tests.support.working_tree import copy_working_tree


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("django-prod")
    group.addoption(
        "--combination",
        default="",
        help="only combinations whose id matches this regular expression "
        "(ids look like session.celery-redis.redis.postgresql.none)",
    )


def matching(config: pytest.Config, combinations: list[Combination]) -> list[Combination]:
    """The *combinations* whose id the --combination filter matches."""
    pattern = re.compile(config.getoption("--combination") or "")
    return [c for c in combinations if pattern.search(c.id)]


def selected_combinations(config: pytest.Config) -> list[Combination]:
    """The selected supported combinations, deploy targets included."""
    return matching(config, supported_combinations())


def selected_suites(config: pytest.Config) -> list[Combination]:
    """The selected combinations whose generated suite runs: one per application."""
    return matching(config, suite_combinations())


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


@functools.cache
def working_tree_snapshot() -> Path:
    """The template's working tree copied to a plain directory, once per process.

    Copier renders a plain directory as it is, where a git source costs a
    clone and a copy of the uncommitted changes on every render (about a third
    of a render's time).
    """
    snapshot = Path(tempfile.mkdtemp(prefix="django-prod-template-"))
    copy_working_tree(snapshot)
    return snapshot


def render(copie_session: Any, answers: dict[str, str]) -> Path:
    """Render the working tree with *answers* (defaults for the rest) and return the project.

    The copy tasks (git init, the first ``uv lock``) are skipped here: the
    matrix installs with ``uv sync``, and test_quickstart runs the README's
    generate command from git, tasks included, the way a new user does.
    """
    destination = Path(tempfile.mkdtemp(prefix="copie", dir=copie_session.test_dir))
    try:
        copier.run_copy(
            str(working_tree_snapshot()), destination, data=answers, defaults=True,
            unsafe=True, quiet=True, skip_tasks=True,
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
    "update": "copier update",
    "paas_run": "platform commands run for real",
    "image": "production image (podman, chroot isolation)",
    "k8s_probes": "kubernetes: migrate Job and probes",
    "k8s_background": "kubernetes: background Deployments",
    "soak": "sustained load: soak and worker memory",
}

MATRIX_MODULE = "tests/test_generated_project.py"
MATRIX_RESULTS = TEMPLATE_ROOT / "bench" / "results" / "matrix.json"


@dataclass
class MatrixRow:
    """What the matrix did for one combination: its gates' outcomes and time spent."""

    passed: int = 0
    failed: int = 0
    seconds: float = 0.0


_matrix: dict[str, MatrixRow] = {}
_started = time.monotonic()
_session: dict[str, Any] = {"config": None, "suites": 0, "suites_finished": 0}


def pytest_configure(config: pytest.Config) -> None:
    _session["config"] = config
    _session["suites"] = len(selected_suites(config))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Account each matrix gate to its combination; print a line as each own suite finishes."""
    if not report.nodeid.startswith(MATRIX_MODULE) or "[" not in report.nodeid:
        return
    combination = report.nodeid.split("[", 1)[1].split("]", 1)[0]
    row = _matrix.setdefault(combination, MatrixRow())
    row.seconds += report.duration  # the setup report holds the render and the install
    if report.failed:
        row.failed += 1
    elif report.passed and report.when == "call":
        row.passed += 1
    config = _session["config"]
    if report.when == "call" and "test_its_own_test_suite" in report.nodeid and config:
        _session["suites_finished"] += 1
        outcome = "passed" if report.passed else "FAILED"
        config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"[matrix {_session['suites_finished']}/{_session['suites']}] "
            f"{combination}: its own suite {outcome} in {report.duration:.1f} s"
        )


def matrix_summary(terminalreporter: Any) -> None:
    """The combinations run, passed and failed, the wall time and the slowest ten; as JSON too."""
    if not _matrix:
        return
    wall = time.monotonic() - _started
    failed = sorted(c for c, row in _matrix.items() if row.failed)
    median = statistics.median(row.seconds for row in _matrix.values())
    slowest = sorted(_matrix.items(), key=lambda item: item[1].seconds, reverse=True)[:10]
    terminalreporter.section("matrix")
    terminalreporter.write_line(
        f"combinations run {len(_matrix)}, passed {len(_matrix) - len(failed)}, "
        f"failed {len(failed)}; wall time {wall / 60:.1f} min; "
        f"median per combination {median:.1f} s (all its gates, one worker)"
    )
    for combination in failed:
        terminalreporter.write_line(f"FAILED {combination}")
    terminalreporter.write_line("slowest ten:")
    for combination, row in slowest:
        terminalreporter.write_line(f"  {row.seconds:7.1f} s  {combination}")
    MATRIX_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    MATRIX_RESULTS.write_text(
        json.dumps(
            {
                "wall_seconds": round(wall, 1),
                "combinations": len(_matrix),
                "failed": failed,
                "median_seconds": round(median, 1),
                "per_combination": {
                    c: {"seconds": round(r.seconds, 1), "passed": r.passed, "failed": r.failed}
                    for c, r in sorted(_matrix.items())
                },
            },
            indent=2,
        )
        + "\n"
    )
    terminalreporter.write_line(f"written to {MATRIX_RESULTS.relative_to(TEMPLATE_ROOT)}")


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
    matrix_summary(terminalreporter)
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
