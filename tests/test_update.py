"""``copier update``: a project made from an older release takes the template's
changes and keeps its owner's edits.

The template is cloned into a temporary repository whose HEAD is the working
tree under test, with the oldest release tagged in it, so the tests run the
same on a checkout that has no tags.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest
import yaml

from tests.support import toolchain
from tests.support.combinations import TEMPLATE_ROOT, default_combination
from tests.support.project import Project, explain
from tests.support.readme import new_user_env, readme_command
from tests.support.working_tree import copy_working_tree

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("update")]

# The release the update tests start from, and the commit its tag names.
OLDEST_RELEASE, OLDEST_RELEASE_COMMIT = "0.1.0", "8806bd1"
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Update Test",
    "GIT_AUTHOR_EMAIL": "update@example.org",
    "GIT_COMMITTER_NAME": "Update Test",
    "GIT_COMMITTER_EMAIL": "update@example.org",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_IDENTITY},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, explain(result)
    return result.stdout.strip()


def newest_release() -> str:
    """The release CHANGELOG.md describes first: the one the working tree prepares."""
    match = re.search(r"^## (\d+\.\d+\.\d+)", (TEMPLATE_ROOT / "CHANGELOG.md").read_text(), re.M)
    assert match, "CHANGELOG.md names no release"
    return match[1]


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the template: the oldest release tagged, the working tree as the newest."""
    clone = tmp_path_factory.mktemp("template")
    git(clone, "clone", "--quiet", str(TEMPLATE_ROOT), ".")
    if OLDEST_RELEASE not in git(clone, "tag", "--list").split():
        git(clone, "tag", OLDEST_RELEASE, OLDEST_RELEASE_COMMIT)
    assert git(clone, "rev-parse", f"{OLDEST_RELEASE}^{{commit}}").startswith(OLDEST_RELEASE_COMMIT)
    copy_working_tree(clone)
    git(clone, "add", "--all")
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "the working tree under test")
    # Tagged as the release it prepares, so the update crosses its _migrations.
    git(clone, "tag", "--force", newest_release())
    return clone


def copy_and_commit(template: Path, destination: Path, ref: str, answers: dict[str, str]) -> None:
    """``copier copy`` at *ref* into a new git repository, committed as a user would."""
    copier.run_copy(
        str(template), destination, data=answers, defaults=True, unsafe=True, quiet=True,
        vcs_ref=ref, skip_tasks=True,
    )  # fmt: skip
    git(destination, "init", "--quiet")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "-m", f"copied from django-prod {ref}")


def update(project: Path, answers: dict[str, str] | None = None) -> None:
    copier.run_update(
        str(project), data=answers or {}, defaults=True, overwrite=True, unsafe=True,
        quiet=True, vcs_ref="HEAD", conflict="inline",
    )  # fmt: skip


@dataclass
class Edit:
    """A change a project's owner makes, and how to tell it is still there."""

    description: str
    make: Callable[[Path], None]
    path: str
    kept_text: str


def replace_in(path: str, old: str, new: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        file = project / path
        text = file.read_text()
        assert old in text, f"{path} no longer holds {old!r}: the edit needs updating"
        file.write_text(text.replace(old, new, 1))

    return make


def write(path: str, text: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)

    return make


def append(path: str, text: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        with (project / path).open("a") as file:
            file.write(text)

    return make


ORDERS_SERVICES = '''"""Business logic of orders."""

from decimal import Decimal


def order_total(prices: list[Decimal], *, discount: Decimal = Decimal(0)) -> Decimal:
    """The amount to charge for *prices* after *discount*, never below zero."""
    return max(sum(prices, Decimal(0)) - discount, Decimal(0))
'''
ORDERS_TEST = """from decimal import Decimal

from apps.orders.services import order_total


def test_a_discount_never_makes_an_order_negative() -> None:
    assert order_total([Decimal("5.00")], discount=Decimal("8.00")) == Decimal(0)
"""
ORDERS_APPS = """from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "apps.orders"
"""

USER_EDITS = [
    Edit("a new app", write("apps/orders/services.py", ORDERS_SERVICES),
         "apps/orders/services.py", "def order_total("),
    Edit("the new app's config", write("apps/orders/apps.py", ORDERS_APPS),
         "apps/orders/apps.py", "class OrdersConfig"),
    Edit("the new app's package", write("apps/orders/__init__.py", ""),
         "apps/orders/__init__.py", ""),
    Edit("the new app's tests", write("apps/orders/tests/test_services.py", ORDERS_TEST),
         "apps/orders/tests/test_services.py", "def test_a_discount_never"),
    Edit("the new app's test package", write("apps/orders/tests/__init__.py", ""),
         "apps/orders/tests/__init__.py", ""),
    Edit("the app installed", replace_in("config/settings/base.py",
         '    "apps.users",\n', '    "apps.users",\n    "apps.orders",\n'),
         "config/settings/base.py", '"apps.orders",'),
    Edit("a changed setting", replace_in("config/settings/base.py",
         'LANGUAGE_CODE = "en-us"', 'LANGUAGE_CODE = "en-gb"'),
         "config/settings/base.py", 'LANGUAGE_CODE = "en-gb"'),
    Edit("a README section", append("README.md", "\n## Team notes\n\nOn call: the orders team.\n"),
         "README.md", "On call: the orders team."),
    Edit("a variable in .env.example", append(".env.example", "ORDERS_WEBHOOK_URL=\n"),
         ".env.example", "ORDERS_WEBHOOK_URL="),
]  # fmt: skip


def conflicts(project: Path) -> list[str]:
    """Files left with conflict markers or rejected hunks."""
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".rej" or any(marker in text for marker in CONFLICT_MARKERS):
            found.append(str(path.relative_to(project)))
    return found


def test_an_update_from_the_oldest_release_keeps_every_user_edit_and_the_project_passes(
    template_repo: Path, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    project = tmp_path / "orders_desk"
    answers = {"project_name": "Orders Desk", "admin_url_path": "manage-orders/"}
    copy_and_commit(template_repo, project, OLDEST_RELEASE, answers)
    for edit in USER_EDITS:
        edit.make(project)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "our own work")

    update(project)

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == newest_release(), "the project did not move to the new version"
    # The migration to 0.2.0 wrote the uv.lock that 0.1.0 did not (_migrations in copier.yml).
    assert (project / "uv.lock").is_file()
    lost = [e.description for e in USER_EDITS if e.kept_text not in (project / e.path).read_text()]
    record_property(
        "update",
        f"{OLDEST_RELEASE} -> {newest_release()}: "
        f"{len(USER_EDITS) - len(lost)} of {len(USER_EDITS)} user edits kept, {len(lost)} lost",
    )
    assert lost == []
    assert conflicts(project) == []

    # The Python the project was generated for stays its own across updates.
    recorded_python = str(recorded["python_version"])
    updated = Project(project, default_combination().on_python(recorded_python))
    installed = updated.install()
    assert installed.returncode == 0, explain(installed)
    own_database = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dp_update",
        "CACHE_KEY_PREFIX": "dp_update",
    }
    junit = project / "junit.xml"
    result = updated.run(
        "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", env=own_database
    )
    assert result.returncode == 0, explain(result)
    ran = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")}
    assert "test_a_discount_never_makes_an_order_negative" in ran  # the user's own test ran too


def tree(project: Path) -> dict[str, str]:
    """Every file of *project* but git's own and the answers file's commit line."""
    files = {}
    for path in sorted(project.rglob("*")):
        if ".git" in path.relative_to(project).parts or not path.is_file():
            continue
        text = path.read_text()
        if path.name == ".copier-answers.yml":
            text = "\n".join(line for line in text.splitlines() if not line.startswith("_commit"))
        files[str(path.relative_to(project))] = text
    return files


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"cache": "memcached"}, id="cache-redis-to-memcached"),
        pytest.param({"task_queue": "huey"}, id="queue-celery-to-huey"),
        pytest.param({"auth": "jwt", "database": "sqlite"}, id="auth-and-database"),
        pytest.param({"deploy_target": "docker-compose"}, id="deploy-none-to-compose"),
    ],
)
def test_changing_an_answer_on_update_gives_the_project_a_fresh_copy_would(
    template_repo: Path, tmp_path: Path, change: dict[str, str]
) -> None:
    answers = {"project_name": "Switcher", "admin_url_path": "manage-switch/"}
    updated = tmp_path / "updated"
    copy_and_commit(template_repo, updated, "HEAD", answers)

    update(updated, change)

    fresh = tmp_path / "fresh"
    copy_and_commit(template_repo, fresh, "HEAD", answers | change)
    assert tree(updated) == tree(fresh)
    assert conflicts(updated) == []


def test_the_readme_update_command_moves_a_project_to_the_new_version(
    template_repo: Path, tmp_path: Path
) -> None:
    command = readme_command(TEMPLATE_ROOT / "README.md", "update-command")
    project = tmp_path / "readme_update"
    copy_and_commit(template_repo, project, OLDEST_RELEASE, {"admin_url_path": "manage-up/"})

    result = subprocess.run(
        [*shlex.split(command), "--defaults", "--vcs-ref", "HEAD"], cwd=project,
        env=new_user_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] != OLDEST_RELEASE
    assert recorded["admin_url_path"] == "manage-up/"  # the answers were kept


def run_readme_command(
    command: str, *extra: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*shlex.split(command), *extra], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_a_project_generated_by_the_readme_updates_on_day_one_with_a_matching_lock(
    template_repo: Path, tmp_path: Path
) -> None:
    readme = TEMPLATE_ROOT / "README.md"
    user = new_user_env() | GIT_IDENTITY  # a user whose git knows their name
    generate = readme_command(readme, "generate-command").replace(
        "gh:org/django-prod", str(template_repo)
    )
    generated = run_readme_command(
        generate, "--defaults", "--vcs-ref", "HEAD", cwd=tmp_path, env=user
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    project = tmp_path / "myapp"
    # The copy's tasks made the first commit, uv.lock included: nothing left to commit.
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    assert git(project, "status", "--porcelain") == ""
    assert "uv.lock" in git(project, "ls-files")

    update_command = readme_command(readme, "update-noninteractive-command")
    assert "-d cache=memcached" in update_command
    updated = run_readme_command(update_command, "--vcs-ref", "HEAD", cwd=project, env=user)

    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "pymemcache" in (project / "pyproject.toml").read_text()
    locked = subprocess.run(
        [toolchain.uv(), "lock", "--check"], cwd=project, env=user,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert locked.returncode == 0, locked.stderr
    assert "no conflicts" in updated.stdout


def test_an_update_with_conflicts_names_the_files_that_hold_them(
    template_repo: Path, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", str(template_repo), str(template))
    project = tmp_path / "project"
    copy_and_commit(template, project, "HEAD", {"admin_url_path": "manage-clash/"})
    line = "# Optional: cache key prefix and default lifetime in seconds.\n"
    replace_in(".env.example", line, "# Our cache prefix, agreed with the ops team.\n")(project)
    git(project, "commit", "--quiet", "--all", "-m", "our own wording")
    # The next release rewords the same line.
    replace_in("partials/env/cache-redis.env", line, "# Optional: the cache's key prefix.\n")(
        template
    )
    git(template, "commit", "--quiet", "--all", "-m", "the template's wording")
    git(template, "tag", "99.0.0")

    command = readme_command(TEMPLATE_ROOT / "README.md", "update-command")
    result = run_readme_command(command, "--defaults", cwd=project, env=new_user_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert conflicts(project) == [".env.example"]
    assert "CONFLICTS: your edits and the template's changes overlap in .env.example" in (
        result.stdout
    )
    # What to do with them: the message after the update, and the README's update section.
    assert ">>>>>>> after updating" in result.stderr
    assert "<<<<<<< before updating" in (TEMPLATE_ROOT / "README.md").read_text()
