"""The generated README's "Local development with real services", walked as printed.

The project is rendered with a name of its own, so its PostgreSQL database
(named after the slug, as `.env.example` says) is private to this module. The
commands are the README's, run in a new user's shell: no service variable but
what `.env` holds.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.building import render
from tests.support.combinations import default_combination
from tests.support.readme import new_user_env, readme_command
from tests.support.services import HOST, PORTS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("first_hour")]

PROJECT_NAME = "First Hour Env"
SLUG = "first_hour_env"  # the slug the name gives, hence the database .env.example names


def shell(project: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=project, env=new_user_env() | env,
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def drop_database(name: str) -> None:
    subprocess.run(
        ["psql", "-h", HOST, "-p", str(PORTS["postgresql"]), "-U", "postgres", "-qc",
         f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def env_project(copie_session: Any) -> Any:
    """The default combination, with `.env` made by the README's command."""
    project = render(copie_session, default_combination().answers | {"project_name": PROJECT_NAME})
    copied = shell(project, readme_command(project / "README.md", "env-command"))
    assert copied.returncode == 0, copied.stderr
    yield project
    drop_database(SLUG)


def test_a_missing_database_is_named_with_the_command_that_creates_it(env_project: Path) -> None:
    readme = env_project / "README.md"
    migrate = readme_command(readme, "run-command").split(" && ")[0]
    assert migrate == "uv run python manage.py migrate"
    create = readme_command(readme, "create-database-command")
    drop_database(SLUG)

    refused = shell(env_project, migrate)

    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert f'PostgreSQL database "{SLUG}" on 127.0.0.1:5432 cannot be used' in output
    assert f'database "{SLUG}" does not exist' in output
    assert create in output  # the hint is the README's own command
    assert "couldn't get a connection" not in output  # not the pool's timeout
    assert "Traceback" not in output

    created = shell(env_project, create)
    assert created.returncode == 0, created.stderr
    migrated = shell(env_project, migrate)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]


def test_the_test_command_passes_with_the_example_env_against_the_real_services(
    env_project: Path,
) -> None:
    result = shell(env_project, readme_command(env_project / "README.md", "test-command"))

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    # .env, not the embedded defaults, decided the services, and nothing was skipped.
    assert f"database: postgresql 127.0.0.1:5432/{SLUG}" in result.stdout
    assert "cache: RedisCache redis://127.0.0.1:6379/0" in result.stdout
    assert "broker: redis://127.0.0.1:6379/1" in result.stdout
    assert not re.search(r"^SKIPPED", result.stdout, re.M), result.stdout[-3000:]


def test_the_env_example_says_which_line_production_changes_to_pass_check_deploy(
    env_project: Path, tmp_path: Path
) -> None:
    example = (env_project / ".env.example").read_text()
    # The comment block right above EMAIL_URL= is what a user reads there.
    block = re.search(r"((?:^#.*\n)+)^EMAIL_URL=consolemail://$", example, re.M)
    assert block, "EMAIL_URL=consolemail:// is not preceded by a comment"
    comment = block[1]
    replacement = re.search(r"EMAIL_URL=smtp\S+", comment)
    assert replacement, f"the comment gives no production EMAIL_URL:\n{comment}"
    production = re.sub(
        r"^DJANGO_SECRET_KEY=$", f"DJANGO_SECRET_KEY={secrets.token_urlsafe(64)}", example,
        flags=re.M,
    )  # fmt: skip
    as_copied, as_changed = tmp_path / "as-copied.env", tmp_path / "as-changed.env"
    as_copied.write_text(production)
    as_changed.write_text(production.replace("EMAIL_URL=consolemail://", replacement[0]))
    check_deploy = "make check-deploy"
    assert check_deploy in (env_project / "README.md").read_text()

    unchanged = shell(env_project, check_deploy, DJANGO_ENV_FILE=str(as_copied))
    changed = shell(env_project, check_deploy, DJANGO_ENV_FILE=str(as_changed))

    assert unchanged.returncode != 0
    refusals = set(re.findall(r"\((\w+\.[EW]\d+)\)", unchanged.stdout + unchanged.stderr))
    assert refusals == {"mail.E001"}, unchanged.stderr[-3000:]
    assert "mail.E001" in comment  # the comment names the refusal it prevents
    assert changed.returncode == 0, changed.stdout[-3000:] + changed.stderr[-3000:]
