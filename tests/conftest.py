"""Fixtures of the template's test suite.

``project`` renders one supported combination, installs it into a venv shared
with every combination of identical dependencies, and hands it to the tests of
test_generated_project.py. The tests of one combination run on one xdist
worker (``xdist_group``), so each combination is rendered and installed once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import matrix_report
from tests.support.building import build
from tests.support.combinations import TEMPLATE_ROOT
from tests.support.object_storage import PrivateS3
from tests.support.private_servers import private_server
from tests.support.project import Project
from tests.support.selection import selected_matrix


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("django-prod")
    group.addoption(
        "--combination",
        default="",
        help="only combinations whose id matches this regular expression "
        "(ids look like session.celery-redis.redis.postgresql.none)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "project" in metafunc.fixturenames:
        metafunc.parametrize(
            "project",
            [
                pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                for c in selected_matrix(metafunc.config)
            ],
            indirect=True,
            scope="session",
        )


@pytest.fixture(scope="session")
def template_root() -> Path:
    return TEMPLATE_ROOT


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
    "compose_up": "docker-compose under podman: up to healthy",
    "compose_restart": "docker-compose under podman: restarts under load",
}

_session: dict[str, Any] = {"config": None, "suites": 0, "suites_finished": 0}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker per core and one more.

    Part of the suite's time is spent waiting (for a worker's sweep, a restarted
    server, a grace period); the extra worker runs other tests meanwhile.
    """
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    _session["config"] = config
    _session["suites"] = len(selected_matrix(config))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Account each matrix gate to its combination; print a line as each own suite finishes."""
    combination = matrix_report.account(report)
    config = _session["config"]
    if (
        combination
        and report.when == "call"
        and "test_its_own_test_suite" in report.nodeid
        and config
    ):
        _session["suites_finished"] += 1
        outcome = "passed" if report.passed else "FAILED"
        config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"[matrix {_session['suites_finished']}/{_session['suites']}] "
            f"{combination}: its own suite {outcome} in {report.duration:.1f} s"
        )


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
    matrix_report.matrix_summary(terminalreporter)
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


@pytest.fixture(scope="session")
def s3() -> Iterator[PrivateS3]:
    """moto's S3 server, started on first use by a worker and shared by its tests."""
    with private_server(PrivateS3) as server:
        yield server
