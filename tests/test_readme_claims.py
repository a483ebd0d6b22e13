"""What a generated README says about its own combination is true of the rendered files.

A few combinations that together hold every deploy target, task queue, broker,
cache and license are rendered once each.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.building import render
from tests.support.combinations import (
    TEMPLATE_ROOT,
    choices,
    default,
    default_combination,
    questions,
    recorded_answers,
)
from tests.support.readme import readme_command

pytestmark = pytest.mark.xdist_group("readme_claims")

DEFAULTS = default_combination().answers
COMPOSE = [
    {"task_queue": "celery", "celery_broker": "redis", "cache": "redis"},
    {"task_queue": "celery", "celery_broker": "rabbitmq", "cache": "redis"},
    {"task_queue": "celery", "celery_broker": "rabbitmq", "cache": "memcached"},
    {"task_queue": "huey", "cache": "database"},
    {"task_queue": "none", "cache": "redis"},
]
SAMPLES = [
    *(DEFAULTS | {"deploy_target": target} for target in choices("deploy_target")),
    *({**DEFAULTS, "deploy_target": "docker-compose", **answers} for answers in COMPOSE),
]


def sample_id(answers: dict[str, str]) -> str:
    return ".".join(answers.get(k, "-") for k in ("task_queue", "celery_broker", "cache")) + (
        f".{answers['deploy_target']}"
    )


_rendered: dict[str, Path] = {}


def rendered(copie_session: Any, answers: dict[str, str]) -> Path:
    key = repr(sorted(answers.items()))
    if key not in _rendered:
        _rendered[key] = render(copie_session, answers)
    return _rendered[key]


def deploy_section(readme: str) -> str:
    return readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]


def service_bullets(readme: str) -> dict[str, str]:
    """The README's ``- `service`: what it is`` list, by service name."""
    return dict(re.findall(r"^- `([\w-]+)`: (.+)$", deploy_section(readme), re.M))


@pytest.mark.parametrize(
    "answers", [a for a in SAMPLES if a["deploy_target"] == "docker-compose"], ids=sample_id
)
def test_the_compose_readme_lists_exactly_the_services_of_compose_yaml_as_they_run(
    copie_session: Any, answers: dict[str, str]
) -> None:
    project = rendered(copie_session, answers)
    bullets = service_bullets((project / "README.md").read_text())
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]

    assert set(bullets) == set(services)
    for name, claim in bullets.items():
        command = " ".join(map(str, services[name].get("command") or []))
        assert ("append-only file" in claim) == ("--appendonly yes" in command), (name, claim)
        if "volume" in claim:
            volume = re.search(r"the `([\w-]+)` volume", claim)
            assert volume, claim
            assert any(v.startswith(f"{volume[1]}:") for v in services[name]["volumes"])


@pytest.mark.parametrize("answers", SAMPLES, ids=sample_id)
def test_every_readme_says_how_to_create_a_superuser_and_where_the_admin_is(
    copie_session: Any, answers: dict[str, str]
) -> None:
    project = rendered(copie_session, answers)
    readme = (project / "README.md").read_text()
    admin = recorded_answers(project)["admin_url_path"]

    assert readme_command(project / "README.md", "superuser-command") == (
        "uv run python manage.py createsuperuser"
    )
    assert f"http://127.0.0.1:8000/{admin}" in readme


@pytest.mark.parametrize("answers", SAMPLES, ids=sample_id)
def test_a_project_holds_no_empty_directory(copie_session: Any, answers: dict[str, str]) -> None:
    project = rendered(copie_session, answers)

    empty = [str(d.relative_to(project)) for d in project.rglob("*") if d.is_dir()]
    empty = [d for d in empty if not any((project / d).iterdir())]

    assert empty == []


LICENSE_TITLES = {
    "MIT": "MIT License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "Apache-2.0": "Apache License",
    "proprietary": "All rights reserved.",
}


@pytest.mark.parametrize("license_", choices("license"))
def test_the_license_answer_writes_the_license_file_and_pyproject_metadata(
    copie_session: Any, license_: str
) -> None:
    project = rendered(copie_session, DEFAULTS | {"license": license_})
    text = (project / "LICENSE").read_text()
    project_table = tomllib.loads((project / "pyproject.toml").read_text())["project"]

    assert LICENSE_TITLES[license_] in text.split("\n\n")[0]
    if license_ != "Apache-2.0":  # Apache's text names no holder; the others name the author
        assert f"Copyright (c) {default('author_name')}" in text
    expected = "LicenseRef-Proprietary" if license_ == "proprietary" else license_
    assert project_table["license"] == expected
    assert project_table["license-files"] == ["LICENSE"]


def questions_table() -> dict[str, str]:
    """The template README's questions table: each question's "choices" cell, by question."""
    readme = (TEMPLATE_ROOT / "README.md").read_text()
    return dict(re.findall(r"^\| `(\w+)`[^|]* \| ([^|]+) \|", readme, re.M))


def test_the_readme_lists_every_choice_default_first_then_in_the_prompts_order() -> None:
    table = questions_table()
    for question, spec in questions().items():
        if "choices" not in spec:
            continue
        assert question in table, f"the README's questions table has no row for {question}"
        offered = [default(question)] + [c for c in choices(question) if c != default(question)]
        assert re.findall(r"`([^`]+)`", table[question]) == offered, question
