"""Every supported combination: the generated project passes its own gates.

Each test runs one of the gates a team would run on the generated project, in
its own venv, against the real services the combination chose.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.support.combinations import recorded_answers
from tests.support.production import production_env, release
from tests.support.project import Project, explain

pytestmark = pytest.mark.slow

# What the generated suite's report header must say: the real servers, not a fallback.
EXPECTED_DATABASE = {
    "postgresql": "database: postgresql 127.0.0.1:5432/",
    "mysql": "database: mysql 127.0.0.1:3306/",
    "sqlite": "database: sqlite3 /",  # a file another process (the worker) can open
}
EXPECTED_CACHE = {
    "redis": "cache: RedisCache redis://127.0.0.1:6379/",
    "memcached": "cache: PyMemcacheCache 127.0.0.1:11211",
    "database": "cache: DatabaseCache django_cache",
}
# prodcheck's Async tasks signal when the broker is up and no worker answers in 0.5 s.
NO_WORKER_ANSWERED = {
    "celery": "no celery worker consuming {slug} answered within 0.5 s",
    "huey": "no huey consumer of {slug} answered within 0.5 s",
    "django-q2": "no django-q2 cluster named {slug} answered within 0.5 s",
}


def test_its_own_test_suite_passes_against_the_real_services(
    project: Project, record_property: pytest.RecordProperty
) -> None:
    junit = project.path / "junit.xml"
    result = project.run("pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", timing="test")
    assert result.returncode == 0, explain(result)

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    header = [
        line
        for line in result.stdout.splitlines()
        if line.startswith(("database:", "cache:", "broker:"))
    ]
    record_property(
        "generated_run",
        {
            "combination": project.combination.id,
            "tests": tests,
            "skipped": skipped,
            "services": header,
            **{k: project.timings.get(k, 0.0) for k in ("render", "install", "test")},
        },
    )
    # The report header proves which servers the suite talked to.
    assert any(h.startswith(EXPECTED_DATABASE[project.answers["database"]]) for h in header), header
    assert any(h.startswith(EXPECTED_CACHE[project.answers["cache"]]) for h in header), header
    if project.answers["task_queue"] != "none":
        assert any(h.startswith("broker: ") for h in header), header
    # With every service present nothing may be skipped: a skip would hide an untested path.
    assert skipped == 0, explain(result)
    assert tests >= 50


def test_it_is_lint_clean_and_formatted(project: Project) -> None:
    for command in (("ruff", "check", "."), ("ruff", "format", "--check", ".")):
        result = project.run(*command, services=False)
        assert result.returncode == 0, explain(result)


def test_it_type_checks_with_django_stubs(project: Project) -> None:
    result = project.type_check()
    assert result.returncode == 0, explain(result)
    assert "Success: no issues found" in result.stdout


def test_its_migrations_match_its_models(project: Project) -> None:
    # As a developer runs it: local settings, no service (a database that does not exist
    # yet would only cost the migration-history check its 10 s connection timeout).
    result = project.manage("makemigrations", "--check", "--dry-run", services=False)
    assert result.returncode == 0, explain(result)


def test_production_settings_pass_check_deploy(project: Project) -> None:
    # Released first: MySQL's model checks ask the server for its version and features.
    result = project.manage("check", "--deploy", "--fail-level", "WARNING", env=release(project))
    assert result.returncode == 0, explain(result)
    assert "no issues" in result.stdout


def test_production_without_secret_key_names_the_variable(project: Project) -> None:
    env = production_env(project)
    del env["DJANGO_SECRET_KEY"]

    result = project.manage("check", "--deploy", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_a_released_deployment_with_no_worker_running_fails_only_the_async_tasks_signal(
    project: Project,
) -> None:
    env = release(project)

    result = project.manage(
        "prodcheck", "--json", "--fail-under", "0", "--worker-timeout", "0.5", env=env
    )

    assert result.returncode == 0, explain(result)
    failing = {
        s["name"]: s["detail"] for s in json.loads(result.stdout)["signals"] if not s["healthy"]
    }
    queue = project.answers["task_queue"]
    if queue == "none":
        # Honest about the one thing a queue-less project lacks, and nothing else.
        assert failing == {"Async tasks": "no task queue: work runs inside requests"}
    else:
        # The broker is up but no worker runs: the signal says none answered, and
        # every other signal passes.
        slug = recorded_answers(project.path)["project_slug"]
        assert failing == {"Async tasks": NO_WORKER_ANSWERED[queue].format(slug=slug)}
