"""Every supported combination renders into files that read as if written by hand."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.building import copy_working_tree_with, render
from tests.support.combinations import AXES, Combination, choices, recorded_answers
from tests.support.schemas import SCHEMAS
from tests.support.selection import selected_combinations
from tests.support.settings_source import assigned

# The only paths a deploy target may add or change, besides the README's Deploy
# section and the answers file: no application code, dependency or test.
DEPLOY_PATHS = (
    "deploy/",
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    "fly.toml",
    "render.yaml",
    "Procfile",
    "app.json",
    ".github/workflows/deploy.yml",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" in metafunc.fixturenames:
        combinations = selected_combinations(metafunc.config)
        if metafunc.definition.get_closest_marker("deployed_only"):
            combinations = [c for c in combinations if c.answers["deploy_target"] != "none"]
        metafunc.parametrize("combination", [files_param(c) for c in combinations])


def files_param(combination: Combination) -> Any:
    """*combination* as a parameter of a check that only reads its files.

    All such checks of one application and its deploy targets, in every module,
    run on one xdist worker, which renders each combination once for all of
    them (``rendered_once``), the application included: a deployed project's
    files are compared with its application's.
    """
    application = combination.deployed_to("none")
    return pytest.param(
        combination, id=combination.id, marks=pytest.mark.xdist_group(f"files-{application.id}")
    )


_rendered: dict[str, Path] = {}


def rendered_once(copie_session: Any, combination: Combination) -> Path:
    """*combination* rendered once per worker: these checks only read the files."""
    if combination.id not in _rendered:
        _rendered[combination.id] = render(copie_session, combination.answers)
    return _rendered[combination.id]


@pytest.fixture
def rendered(copie_session: Any, combination: Combination) -> Path:
    return rendered_once(copie_session, combination)


def file_texts(root: Path) -> dict[str, str]:
    """Every file's text by relative path, with the randomly chosen admin path masked."""
    admin = recorded_answers(root)["admin_url_path"]
    return {
        str(path.relative_to(root)): path.read_text().replace(admin, "<admin>/")
        for path in text_files(root)
    }


@pytest.mark.deployed_only
def test_a_deployed_project_differs_from_its_application_only_in_deploy_files(
    copie_session: Any, rendered: Path, combination: Combination
) -> None:
    application = file_texts(rendered_once(copie_session, combination.deployed_to("none")))
    deployed = file_texts(rendered)

    changed = {
        name
        for name in application.keys() | deployed.keys()
        if application.get(name) != deployed.get(name)
    }
    added = deployed.keys() - application.keys()
    outside = sorted(
        name
        for name in changed
        if not name.startswith(DEPLOY_PATHS) and name not in ("README.md", ".copier-answers.yml")
    )
    assert outside == [], "a deploy target changed application files"
    assert added, "the deploy target added no deploy files"


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


# A variable the generated code reads from its environment: env.str("NAME", ...),
# os.environ.get("NAME"), os.environ["NAME"].
ENV_READ = re.compile(
    r"""(?:\benv\.\w+\(|os\.environ\.get\(|os\.environ\[)\s*["']([A-Z][A-Z0-9_]*)["']"""
)
# Set by manage.py, wsgi.py and the deploy files, never by the project's owner.
NOT_OWNER_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def test_env_example_names_every_variable_the_project_reads(rendered: Path) -> None:
    read = set()
    for path in rendered.rglob("*.py"):
        if "tests" not in path.relative_to(rendered).parts:
            read.update(ENV_READ.findall(path.read_text()))
    example = (rendered / ".env.example").read_text()
    unnamed = sorted(
        name for name in read - NOT_OWNER_SETTINGS if not re.search(rf"\b{name}\b", example)
    )
    assert read, "found no environment reads: the pattern no longer matches the code"
    assert unnamed == [], f".env.example does not mention {unnamed}"


def test_python_compiles_and_passes_ruff(rendered: Path) -> None:
    for path in rendered.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # writes no __pycache__ into the render
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
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
    answers = recorded_answers(rendered)

    for axis in AXES:
        if axis in combination.answers:
            assert answers[axis] == combination.answers[axis]
    assert answers["admin_url_path"] != "admin/"


def schema_errors(schema_name: str, document: Any) -> list[str]:
    import jsonschema_rs

    schema = json.loads((SCHEMAS / schema_name).read_text())
    validator = jsonschema_rs.validator_for(schema)
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_the_ci_workflow_is_a_valid_github_actions_workflow(rendered: Path) -> None:
    workflow = yaml.safe_load((rendered / ".github" / "workflows" / "ci.yml").read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the bare key `on` as true

    assert schema_errors("github-workflow.json", workflow) == []


def test_the_ci_workflow_fails_on_any_known_vulnerability_in_the_locked_dependencies(
    rendered: Path,
) -> None:
    workflow = yaml.safe_load((rendered / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    [audit] = [run for run in steps if "pip-audit" in run]
    commands = [" ".join(line.split()) for line in audit.replace("\\\n", " ").splitlines()]

    # The audited list is the lock file's, hashes included, not whatever is installed.
    assert commands[0].startswith("uv export --frozen --all-groups")
    assert "--format requirements-txt" in commands[0]
    assert "--no-hashes" not in commands[0]
    assert commands[1].startswith("uv run pip-audit --strict --disable-pip --require-hashes")
    assert "--requirement" in commands[1]
    assert "--ignore-vuln" not in audit  # any finding fails the build


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({"project_name": "X"}, id="short-name"),
        *(
            pytest.param(
                {
                    "project_name": "An Uncommonly Long Project Name For A Very Serious Company",
                    "task_queue": queue,
                },
                id=f"long-name-{queue}",
            )
            for queue in choices("task_queue")
        ),
        pytest.param(
            {
                "project_name": 'The "Quoted" <Shop> & Co',
                "project_slug": "quoted_shop",
                "description": "Sells \\ backslashes, \"quotes\" and 'apostrophes'.",
                "author_name": "Siobhán O'Brien",
            },
            id="quotes-and-escapes",
        ),
    ],
)
def test_free_text_answers_render_as_valid_formatted_code(
    copie_session: Any, answers: dict[str, str]
) -> None:
    import tomllib

    project = render(copie_session, answers)

    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    if "description" in answers:
        assert metadata["description"] == answers["description"]
        assert metadata["authors"][0]["name"] == answers["author_name"]
    assert (
        assigned(project / "config" / "settings" / "project.py", "PROJECT_NAME")
        == answers["project_name"]
    )
    home = (project / "templates" / "home.html").read_text()
    assert "<Shop>" not in home  # HTML-escaped where it is shown


def test_the_tests_fast_render_writes_exactly_what_copier_writes(
    copie_session: Any, tmp_path: Path
) -> None:
    # A second render of the same answers reuses every compiled source.
    answers = {"deploy_target": "kubernetes", "admin_url_path": "manage-fixed/"}
    render(copie_session, answers)
    fast = render(copie_session, answers)
    plain = tmp_path / "plain"
    copy_working_tree_with(answers, plain)

    def files(root: Path) -> dict[str, tuple[int, bytes]]:
        return {
            str(path.relative_to(root)): (path.stat().st_mode, path.read_bytes())
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    assert files(fast) == files(plain)
