"""The commands the READMEs print work exactly as printed.

The template README's generate command is run with the local checkout in place
of ``gh:org/django-prod`` (and ``--defaults``, since no one is at the prompt).
The generated README's run and test commands are run with no service URL in the
environment: a new user's machine.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support import toolchain
from tests.support.building import render
from tests.support.combinations import TEMPLATE_ROOT, default_combination
from tests.support.processes import COPIER, run
from tests.support.readme import new_user_env, readme_command
from tests.support.server import stop_process_group

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("quickstart")]


@pytest.fixture(scope="module")
def default_project(copie_session: Any) -> Path:
    return render(copie_session, default_combination().answers)


def test_the_readme_generate_command_produces_a_project(tmp_path: Path) -> None:
    command = readme_command(TEMPLATE_ROOT / "README.md", "generate-command")
    assert command.startswith("uvx --with copier-template-extensions copier copy --trust ")
    argv = shlex.split(command.replace("gh:org/django-prod", str(TEMPLATE_ROOT)))
    argv[-1] = str(tmp_path / argv[-1])

    result = run([*argv, "--defaults", "--vcs-ref", "HEAD"], env=new_user_env(), timeout=600)

    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "myapp"
    assert (project / "manage.py").is_file()
    # The message after the copy gives the next two commands.
    assert "uv run python manage.py migrate && uv run python manage.py runserver" in result.stderr
    assert "uv run pytest" in result.stderr
    # The copy tasks leave a git repository (copier update merges through it) and a lock
    # the deploy files can install from with --locked.
    assert (project / ".git").is_dir()
    locked = run([toolchain.uv(), "lock", "--check"], cwd=project, env=new_user_env(), timeout=300)
    assert locked.returncode == 0, locked.stderr


def test_a_machine_without_git_or_uv_still_gets_a_project_and_is_told_what_was_skipped(
    tmp_path: Path,
) -> None:
    project = tmp_path / "myapp"

    result = run(
        [
            *COPIER,
            "copy",
            "--trust",
            "--defaults",
            str(TEMPLATE_ROOT),
            str(project),
        ],
        env={"HOME": str(tmp_path), "PATH": str(tmp_path / "empty-bin")},
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "git not found: skipped git init" in result.stdout
    assert "uv not found: skipped uv lock" in result.stdout
    assert (project / "manage.py").is_file()
    assert not (project / ".git").exists()
    assert not (project / "uv.lock").exists()


def test_a_copy_where_git_has_no_identity_is_left_uncommitted_and_says_what_to_run(
    tmp_path: Path,
) -> None:
    project = tmp_path / "myapp"
    no_identity = {k: v for k, v in new_user_env().items() if not k.startswith("GIT_")} | {
        "HOME": str(tmp_path),  # no ~/.gitconfig
        "GIT_CONFIG_NOSYSTEM": "1",
        # git would otherwise make up an identity from the user and host names.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "user.useConfigOnly",
        "GIT_CONFIG_VALUE_0": "true",
    }

    result = subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", str(TEMPLATE_ROOT),
         str(project)],
        env=no_identity, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "git: initialised a repository" in result.stdout
    assert "git has no user.name or user.email: skipped the first commit" in result.stdout
    assert "git add --all && git commit" in result.stdout
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "HEAD"], cwd=project, env=no_identity,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert head.returncode != 0, "a commit was made with no identity"


def test_copier_without_the_extensions_package_names_it(tmp_path: Path) -> None:
    result = run(
        [
            toolchain.uv(),
            "tool",
            "run",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            str(TEMPLATE_ROOT),
            str(tmp_path / "myapp"),
        ],
        env=new_user_env(),
        timeout=600,
    )

    assert result.returncode != 0
    assert "No module named 'copier_template_extensions'" in result.stdout + result.stderr
    assert not (tmp_path / "myapp" / "manage.py").exists()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def wait_for_http(url: str, *, timeout: float, process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run command exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def test_the_generated_run_command_serves_healthz_with_no_services(default_project: Path) -> None:
    command = readme_command(default_project / "README.md", "run-command")
    assert port_is_free(8000), "port 8000 is taken: the README's runserver needs it"
    log = default_project / "run.log"

    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", command],
            cwd=default_project,
            env=new_user_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            status = wait_for_http("http://127.0.0.1:8000/healthz", timeout=300, process=server)
            ready = wait_for_http("http://127.0.0.1:8000/readyz", timeout=10, process=server)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{log.read_text()[-4000:]}") from None
        finally:
            stop_process_group(server, grace=10)

    assert status == 200
    assert ready == 200
    assert (default_project / "db.sqlite3").is_file(), "the embedded default is a SQLite file"


def test_the_generated_test_command_passes_with_no_services(default_project: Path) -> None:
    command = readme_command(default_project / "README.md", "test-command")

    result = run(["bash", "-c", command], cwd=default_project, env=new_user_env(), timeout=900)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "database: sqlite3" in result.stdout
    assert "cache: LocMemCache" in result.stdout
    # Only the tests that need a broker or PostgreSQL are skipped, and they say why.
    skips = re.findall(r"^SKIPPED \[\d+\] (\S+?):\d+: (.+)$", result.stdout, re.M)
    needs = {
        "apps/users/tests/test_worker.py": "CELERY_BROKER_URL is not set",
        "apps/core/tests/test_db_pool.py": "DATABASE_URL does not point at PostgreSQL",
    }
    assert {path for path, _ in skips} <= set(needs)
    assert all(needs[path] in reason for path, reason in skips)
