"""Fly.io, Render and Heroku: their config files are valid and their commands run for real.

No platform exists here, so the tests check each file against what the
platform requires (fly.toml against Fly's JSON schema; render.yaml and
app.json against the structure the platforms read) for every supported
combination, and, for one combination per platform and database, run the
commands read from the rendered files themselves the way the platform would:
the release command against a fresh database (a SQLite deploy migrates in its
web command instead), then the web process on the port given in $PORT and
every background process, under production settings. The Procfile
runs under honcho, a Procfile runner like Heroku's.
"""

from __future__ import annotations

import functools
import json
import shlex
import subprocess
import time
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from extensions.context import RELEASE_COMMAND, WEB_COMMAND, background_processes
from tests.support import toolchain
from tests.support.building import build
from tests.support.combinations import Combination, default
from tests.support.processes import run
from tests.support.production import fresh_database_url, production_env
from tests.support.project import Project, explain
from tests.support.selection import closest_to_defaults, selected_combinations
from tests.support.server import free_port, own_session, wait_until_serving
from tests.support.settings_source import required_in_production
from tests.support.waiting import wait_until
from tests.test_render import files_param, rendered_once, schema_errors

TARGETS = ("fly", "render", "heroku")
HONCHO = "honcho==2.0.0"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for target in TARGETS:
        name = f"{target}_combination"
        if name in metafunc.fixturenames:
            combinations = [
                c
                for c in selected_combinations(metafunc.config)
                if c.answers["deploy_target"] == target
            ]
            metafunc.parametrize(name, [files_param(c) for c in combinations])
    if "deployed_combination" in metafunc.fixturenames:
        # Per platform and database: a SQLite deploy migrates in its web command instead.
        combinations = [
            c
            for c in closest_to_defaults(metafunc.config, "deploy_target", "database")
            if c.answers["deploy_target"] in TARGETS
        ]
        metafunc.parametrize(
            "deployed_combination",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations],
        )


def migrating_web_command() -> str:
    """The web command of a SQLite deploy: migrate on the disk's one instance, then serve."""
    return f"sh -c '{RELEASE_COMMAND} && exec {WEB_COMMAND}'"


# Config files, every supported combination ------------------------------------


def test_fly_toml_is_valid_and_runs_every_process_of_the_project(
    fly_combination: Combination, copie_session: Any
) -> None:
    answers = fly_combination.answers
    project = rendered_once(copie_session, fly_combination)
    fly = tomllib.loads((project / "fly.toml").read_text())

    assert schema_errors("fly.json", fly) == []
    assert fly["build"]["dockerfile"] == "Dockerfile"
    background = background_processes(answers)
    assert fly["processes"] == {"web": fly["processes"]["web"], **background}
    assert fly["env"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert fly["http_service"]["internal_port"] == int(fly["env"]["PORT"])
    assert fly["http_service"]["processes"] == ["web"]
    assert [c["path"] for c in fly["http_service"]["checks"]] == ["/healthz"]
    assert fly["checks"]["readyz"]["path"] == "/readyz"
    sized = [process for vm in fly["vm"] for process in vm["processes"]]
    assert sorted(sized) == sorted(fly["processes"])
    if answers["database"] == "sqlite":
        # The release machine has no volume: the one web machine migrates the file itself.
        assert "release_command" not in fly["deploy"]
        assert fly["processes"]["web"] == migrating_web_command()
        data_dir = fly["mounts"]["destination"]
        assert fly["env"]["DATABASE_URL"] == f"sqlite:///{data_dir}/db.sqlite3"
        assert fly["mounts"]["processes"] == ["web"]
        assert fly["http_service"]["auto_stop_machines"] == "off"
    else:
        assert fly["deploy"]["release_command"] == RELEASE_COMMAND
        assert fly["processes"]["web"] == WEB_COMMAND
        assert "mounts" not in fly
        assert "DATABASE_URL" not in fly["env"]  # a secret, from fly postgres attach


def render_blueprint_environment(blueprint: dict[str, Any], service: dict[str, Any]) -> set[str]:
    """The variables a Render service gets: its own and its environment groups'."""
    groups = {group["name"]: group["envVars"] for group in blueprint.get("envVarGroups", [])}
    names = set()
    for variable in service.get("envVars", []):
        if "fromGroup" in variable:
            names |= {v["key"] for v in groups[variable["fromGroup"]]}
        else:
            names.add(variable["key"])
    return names


def test_render_blueprint_holds_exactly_the_services_the_project_needs(
    render_combination: Combination, copie_session: Any
) -> None:
    answers = render_combination.answers
    services = render_combination.services
    project = rendered_once(copie_session, render_combination)
    blueprint = yaml.safe_load((project / "render.yaml").read_text())

    by_type: dict[str, list[dict[str, Any]]] = {}
    for service in blueprint["services"]:
        by_type.setdefault(service["type"], []).append(service)
    (web,) = by_type.pop("web")
    workers = by_type.pop("worker", [])
    assert {w["name"].removeprefix(f"{web['name']}-"): w["dockerCommand"] for w in workers} == (
        background_processes(answers)
    )
    assert len(by_type.pop("keyvalue", [])) == ("redis" in services)
    private = {s["name"].removeprefix(f"{web['name']}-") for s in by_type.pop("pserv", [])}
    assert private == services & {"memcached", "rabbitmq"}
    assert by_type == {}
    assert len(blueprint.get("databases", [])) == ("postgresql" in services)

    for service in [web, *workers]:
        assert service["runtime"] == "docker"
        assert service["dockerfilePath"] == "./Dockerfile"
        missing = required_in_production(project) - render_blueprint_environment(blueprint, service)
        assert missing == set(), f"{service['name']} lacks {missing}"
    (group,) = blueprint["envVarGroups"]
    generated = {v["key"] for v in group["envVars"] if v.get("generateValue")}
    assert generated == {"DJANGO_SECRET_KEY"} | (
        {"JWT_SIGNING_KEY"} if answers["auth"] == "jwt" else set()
    )
    assert web["healthCheckPath"] == "/healthz"
    if answers["database"] == "sqlite":
        # The disk is mounted on the web service alone, and not during a pre-deploy command.
        assert "preDeployCommand" not in web
        assert web["dockerCommand"] == migrating_web_command()
        assert web["disk"]["mountPath"] == f"/var/lib/{answers.get('project_slug', 'my_project')}"
        assert web["numInstances"] == 1
    else:
        assert web["preDeployCommand"] == RELEASE_COMMAND
        assert web["dockerCommand"] == WEB_COMMAND


def procfile(project: Path) -> dict[str, str]:
    lines = (project / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_heroku_app_json_provides_every_service_secret_and_process(
    heroku_combination: Combination, copie_session: Any
) -> None:
    answers = heroku_combination.answers
    services = heroku_combination.services
    project = rendered_once(copie_session, heroku_combination)
    app = json.loads((project / "app.json").read_text())
    processes = procfile(project)

    assert processes == {
        "release": RELEASE_COMMAND,
        "web": WEB_COMMAND,
        **background_processes(answers),
    }
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    assert len(app["name"]) <= 30
    assert set(app["formation"]) == set(processes) - {"release"}
    addons = {addon["plan"].split(":")[0]: addon.get("as") for addon in app["addons"]}
    expected = {"heroku-postgresql": "DATABASE"}
    if "redis" in services:
        expected["heroku-redis"] = "HEROKU_REDIS"
    if "rabbitmq" in services:
        expected["cloudamqp"] = "CELERY_BROKER"
    assert addons == expected
    env = app["env"]
    generated = {name for name, spec in env.items() if spec.get("generator") == "secret"}
    assert generated == {"DJANGO_SECRET_KEY"} | (
        {"JWT_SIGNING_KEY"} if answers["auth"] == "jwt" else set()
    )
    assert env["DJANGO_SETTINGS_MODULE"]["value"] == "config.settings.production"
    provided = set(env) | {f"{name}_URL" for name in addons.values()}
    assert required_in_production(project) - provided == set()
    # The buildpack installs uv projects from uv.lock (made by `uv lock`) and .python-version.
    assert (project / ".python-version").read_text().strip() == answers.get(
        "python_version", default("python_version")
    )


# The commands, run for real: one combination per platform and database --------


def platform_commands(project: Project) -> tuple[str | None, dict[str, str]]:
    """The release command and the processes by name, read from the platform's config file."""
    target = project.answers["deploy_target"]
    if target == "fly":
        fly = tomllib.loads((project.path / "fly.toml").read_text())
        return fly["deploy"].get("release_command"), dict(fly["processes"])
    if target == "render":
        blueprint = yaml.safe_load((project.path / "render.yaml").read_text())
        web = next(s for s in blueprint["services"] if s["type"] == "web")
        processes = {"web": web["dockerCommand"]}
        for service in blueprint["services"]:
            if service["type"] == "worker":
                processes[service["name"].removeprefix(f"{web['name']}-")] = service[
                    "dockerCommand"
                ]
        return web.get("preDeployCommand"), processes
    lines = procfile(project.path)
    release = lines.pop("release")
    return release, lines


def unapplied_migrations(project: Project, env: dict[str, str]) -> bool:
    return project.manage("migrate", "--check", env=env).returncode != 0


@functools.cache
def honcho_executable() -> str:
    """honcho from uv's tool cache, run by its path: under ``uv tool run`` the Procfile's
    commands would find honcho's environment, and its python, first on PATH."""
    where = ["python", "-c", "import sys; print(sys.prefix)"]
    prefix = run([toolchain.uv(), "tool", "run", "--from", HONCHO, *where], timeout=300)
    assert prefix.returncode == 0, explain(prefix)
    return str(Path(prefix.stdout.strip()) / "bin" / "honcho")


@contextmanager
def started(
    project: Project, name: str, command: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """*command* as the platform starts it: its own session, the project's venv on PATH."""
    log = project.path / f"paas-{name}.log"
    environment = project.environment(env, services=True)
    with own_session(command, log, cwd=project.path, env=environment) as process:
        yield process, log


def assert_background_process_runs(name: str, command: str, log: Path) -> None:
    """A celery worker reports ready, beat starts; the others stay up without a traceback."""
    if command.startswith("celery") and " worker" in command:
        wait_until(lambda: " ready." in log.read_text(), timeout=60, message=f"{name} not ready")
    elif command.startswith("celery") and " beat" in command:
        wait_until(
            lambda: "beat: Starting" in log.read_text(), timeout=60, message=f"{name} not started"
        )
    else:
        time.sleep(5)
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


def test_the_platform_commands_release_serve_and_run_the_workers(
    deployed_combination: Combination, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project = build(deployed_combination, copie_session)
    target = deployed_combination.answers["deploy_target"]
    release, processes = platform_commands(project)
    port = free_port()
    env = {
        **production_env(project),
        "DATABASE_URL": fresh_database_url(project, f"paas_{target}"),
        "CELERY_TASK_DEFAULT_QUEUE": f"paas-{uuid.uuid4().hex[:10]}",
        "HUEY_QUEUE_NAME": f"paas_{uuid.uuid4().hex[:10]}",
        "DJANGO_Q_CLUSTER_NAME": f"paas-{uuid.uuid4().hex[:10]}",
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    started_at = time.monotonic()

    assert unapplied_migrations(project, env)
    if release is not None:
        result = run(
            shlex.split(release),
            cwd=project.path,
            env=project.environment(env, services=True),
            timeout=300,
        )
        assert result.returncode == 0, explain(result)
        assert not unapplied_migrations(project, env)
    else:
        # Fly's release machine and Render's pre-deploy step have no disk: the web process
        # migrates the SQLite file before serving.
        assert processes["web"] == migrating_web_command()

    with ExitStack() as stack:
        if target == "heroku":
            # All of the Procfile's processes but release, as Heroku starts them.
            names = list(processes)
            honcho_start = [honcho_executable(), "start", "-p", str(port), *names]
            honcho, log = stack.enter_context(started(project, "honcho", honcho_start, env))
            logs = dict.fromkeys(names, log)
            web = honcho
        else:
            logs = {}
            for name, command in processes.items():
                process, logs[name] = stack.enter_context(
                    started(project, name, shlex.split(command), env)
                )
                if name == "web":
                    web = process
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/healthz", web, logs["web"], timeout=90)
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
        ready = requests.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok", ready.text
        for name, command in processes.items():
            if name != "web":
                assert_background_process_runs(name, command, logs[name])
        assert web.poll() is None, logs["web"].read_text()[-5000:]
    assert not unapplied_migrations(project, env)
    record_property(
        "paas_run",
        f"{deployed_combination.id}: release, web and {len(processes) - 1} background "
        f"process(es) in {time.monotonic() - started_at:.1f} s",
    )
