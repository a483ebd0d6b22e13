"""The production image: built from the generated Dockerfile and run on this machine.

The project closest to the defaults, deployed with docker-compose, is rendered
for the default Python and for the newest other one, locked (``uv lock``, as its
README says) and built once each with ``podman build --isolation=chroot`` FROM a
local stand-in for the official Python image (see tests/support/images.py). Its
containers run with ``buildah run`` against the host's PostgreSQL and Redis, on
a fresh database. A database whose image is built differently (MySQL: mysqlclient
compiled in the build stage, MariaDB's client in the runtime stage) gets one more
image, the closest compose project on the default Python, run against the host's
MariaDB.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.context import background_processes
from tests.support import images, services, toolchain
from tests.support.building import render
from tests.support.combinations import TEMPLATE_ROOT, Combination, default, newest_other_python
from tests.support.processes import run
from tests.support.selection import closest_to_defaults
from tests.support.server import free_port, stop_process_group, wait_until_serving
from tests.support.waiting import wait_until

BENCH_RESULTS = TEMPLATE_ROOT / "bench" / "results"
# The official image keeps its CA bundle here; the stand-in holds this machine's.
CA_BUNDLE_IN_IMAGE = "/etc/ssl/certs/ca-certificates.crt"

# What does not depend on the Python version runs on the default Python's image only.
DEFAULT_PYTHON_ONLY = {
    "test_the_compose_backup_service_command_backs_up_inside_the_image",
    "test_every_background_process_runs_in_the_image_and_reaches_its_broker",
    "test_caddy_with_the_generated_caddyfile_serves_the_site_over_https",
}
# Databases whose image differs from the default's beyond its settings: one more
# image each, on the default Python (the Python axis is the default database's).
OWN_IMAGE_DATABASES = ("mysql",)
# The client tool the image holds to dump each database (manage.py backup).
DUMP_TOOLS = {"postgresql": "pg_dump", "mysql": "mariadb-dump"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" in metafunc.fixturenames:
        closest = [
            c
            for c in closest_to_defaults(metafunc.config, "deploy_target")
            if c.answers["deploy_target"] == "docker-compose"
        ]
        own_images = [
            c
            for c in closest_to_defaults(metafunc.config, "deploy_target", "database")
            if c.answers["deploy_target"] == "docker-compose"
            and c.answers["database"] in OWN_IMAGE_DATABASES
            and c not in closest
        ]
        # Each image at the same index in every test, so that pytest, which groups
        # a module's tests by parameter index, builds each image once.
        chosen = closest + own_images
        if metafunc.function.__name__ not in DEFAULT_PYTHON_ONLY:
            chosen += [c.on_python(newest_other_python()) for c in closest]
        metafunc.parametrize(
            "combination",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group("image")) for c in chosen],
            scope="module",
        )


def report_name(combination: Combination) -> str:
    """bench/results/image-py3.14.json; another database's image adds its name."""
    database = combination.answers["database"]
    suffix = "" if database == default("database") else f"-{database}"
    return f"image-py{combination.python_version}{suffix}.json"


@dataclass
class BuiltImage:
    combination: Combination
    path: Path
    tag: str
    build_seconds: float
    stand_in_seconds: float
    size: int

    def production_env(self, database: str) -> dict[str, str]:
        """What a deploy provides (compose.yaml plus its secrets file), pointing at this host."""
        env = {
            **services.service_env(self.combination),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "app.example.com",
            "EMAIL_URL": "smtp://127.0.0.1:25",
        }
        env.pop("CACHE_KEY_PREFIX")
        if self.combination.answers["auth"] == "jwt":
            env["JWT_SIGNING_KEY"] = secrets.token_urlsafe(64)
        env["DATABASE_URL"] = env["DATABASE_URL"].rpartition("/")[0] + f"/{database}"
        return env


@pytest.fixture(scope="module")
def image(combination: Combination, copie_session: Any) -> Iterator[BuiltImage]:
    python_version = combination.python_version
    stand_in, stand_in_seconds = images.python_stand_in(python_version)
    path = render(copie_session, combination.answers)
    locked = run(
        [toolchain.uv(), "lock", "--python", toolchain.python(python_version)],
        cwd=path,
        timeout=600,
    )
    assert locked.returncode == 0, locked.stderr
    tag = f"localhost/django-prod-image:{combination.slug}"
    seconds = images.build(path, tag, build_args={"SSL_CERT_FILE": CA_BUNDLE_IN_IMAGE})
    built = BuiltImage(combination, path, tag, seconds, stand_in_seconds, images.size_bytes(tag))
    report = {
        "combination": combination.id,
        "base_image": stand_in,
        "stand_in_build_s": round(stand_in_seconds, 1),
        "build_s": round(seconds, 1),
        "size_bytes": built.size,
        "size_mb": round(built.size / 1e6, 1),
    }
    BENCH_RESULTS.mkdir(parents=True, exist_ok=True)
    report_file = BENCH_RESULTS / report_name(combination)
    report_file.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nimage {tag}: built in {seconds:.1f} s, {built.size / 1e6:.1f} MB")
    yield built
    subprocess.run(["podman", "rmi", "--force", tag], capture_output=True, check=False)


@pytest.fixture(scope="module")
def database(image: BuiltImage) -> str:
    """A fresh database (PostgreSQL or MySQL, on this host) for this run's containers."""
    name = f"{image.combination.slug}_image"
    services.recreate_database(image.combination.answers["database"], name)
    return name


def in_container(image: BuiltImage, *command: str, env: dict[str, str] | None = None) -> str:
    with images.working_container(image.tag) as container:
        return images.run(images.run_command(container, command, env or {}), timeout=300)


def test_the_image_build_is_measured(image: BuiltImage, record_property: Any) -> None:
    record_property("image", f"{image.tag}: {image.build_seconds:.1f} s, {image.size / 1e6:.1f} MB")
    report = json.loads((BENCH_RESULTS / report_name(image.combination)).read_text())

    assert report["size_bytes"] == image.size > 0
    assert report["build_s"] > 0


def test_the_image_starts_from_the_official_python_image_in_two_stages(image: BuiltImage) -> None:
    dockerfile = (image.path / "Dockerfile").read_text()
    version = image.combination.python_version

    bases = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert bases == [f"python:{version}-slim-trixie"] * 2


def test_the_image_runs_as_a_fixed_non_root_user_that_cannot_change_the_code(
    image: BuiltImage,
) -> None:
    assert json.loads(images.config(image.tag, "User")) == "10001:10001"
    assert in_container(image, "id", "-u").strip() == "10001"

    writable = in_container(
        image, "python", "-c", "import os; print(os.access('/app/manage.py', os.W_OK))"
    )
    assert writable.strip() == "False"


def test_the_image_holds_no_dev_dependency_and_no_build_tool(image: BuiltImage) -> None:
    found = in_container(
        image,
        "python",
        "-c",
        "import importlib.util, shutil; "
        "print([m for m in ('pytest', 'mypy', 'ruff', 'factory', 'coverage') "
        "if importlib.util.find_spec(m)], shutil.which('uv'))",
    )
    assert found.strip() == "[] None"


def test_the_image_default_command_is_the_web_process_with_production_settings(
    image: BuiltImage,
) -> None:
    assert json.loads(images.config(image.tag, "Cmd")) == [
        "gunicorn",
        "-c",
        "config/gunicorn.py",
        "config.wsgi",
    ]
    env = json.loads(images.config(image.tag, "Env"))
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert json.loads(images.config(image.tag, "ExposedPorts")) == {"8000/tcp": {}}


def test_check_deploy_passes_inside_the_image(image: BuiltImage, database: str) -> None:
    output = in_container(
        image,
        "python",
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=image.production_env(database),
    )
    assert "no issues" in output


def test_the_compose_backup_service_command_backs_up_inside_the_image(
    image: BuiltImage,
) -> None:
    # A database of its own: the release test below must find one never migrated.
    database = f"{image.combination.slug}_image_backup"
    services.recreate_database(image.combination.answers["database"], database)
    compose = yaml.safe_load((image.path / "compose.yaml").read_text())
    backup = compose["services"]["backup"]
    # One turn of the service's loop: the backup, without the day's sleep after it.
    (script,) = [arg for arg in backup["command"] if "manage.py backup" in arg]
    once = script.split("while ", 1)[1].split("; do", 1)[0]
    directory = backup["environment"]["BACKUP_DIR"]
    env = image.production_env(database) | {"BACKUP_DIR": directory}
    engine = image.combination.answers["database"]
    tool = DUMP_TOOLS[engine]

    output = in_container(
        image,
        "sh",
        "-c",
        f"python manage.py migrate --noinput -v 0 && {once} && {tool} --version",
        env=env,
    )

    assert f"Backed up to {directory}/" in output
    server = compose["services"]["db"]["image"].partition(":")[2]
    if engine == "postgresql":  # pg_dump refuses a server newer than itself
        assert f"pg_dump (PostgreSQL) {server}." in output
    else:  # "mariadb-dump from 11.8.9-MariaDB": no older than the server it dumps
        client = re.search(r"mariadb-dump from (\d+)\.(\d+)\.", output)
        assert client, output
        assert tuple(map(int, client.groups())) >= tuple(map(int, server.split("."))), output


@contextmanager
def serving(image: BuiltImage, env: dict[str, str]) -> Iterator[str]:
    """The image's default command (gunicorn) in a container; yield its base URL."""
    port = free_port()
    command = json.loads(images.config(image.tag, "Cmd"))
    with images.working_container(image.tag) as container:
        log = image.path / "container-web.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                images.run_command(
                    container, command, {**env, "PORT": str(port), "WEB_CONCURRENCY": "2"}
                ),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, log, timeout=90)
                yield f"http://127.0.0.1:{port}"
            finally:
                stop_process_group(process)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_container_migrates_then_serves_health_and_static_files_from_the_real_services(
    image: BuiltImage, database: str, record_property: Any
) -> None:
    env = image.production_env(database)
    release = in_container(image, "python", "manage.py", "migrate", "--noinput", env=env)
    assert "Applying users.0001_initial... OK" in release

    with serving(image, env) as url:
        health = get(f"{url}/healthz")
        ready = get(f"{url}/readyz")
        manifest = json.loads(
            in_container(image, "cat", "/app/staticfiles/staticfiles.json", env=env)
        )
        hashed = manifest["paths"]["css/site.css"]
        # As the TLS proxy in front passes it on.
        static = get(
            f"{url}/static/{hashed}",
            {"Host": "app.example.com", "X-Forwarded-Proto": "https"},
        )

    assert health[0] == 200, health
    assert ready[0] == 200, ready
    assert json.loads(ready[1])["status"] == "ok", ready
    assert static[0] == 200 and b"{" in static[1], static


def test_the_image_healthcheck_passes_while_the_web_process_serves(
    image: BuiltImage, database: str
) -> None:
    healthcheck = json.loads(images.config(image.tag, "Healthcheck"))
    assert healthcheck["Test"][0] == "CMD"
    env = image.production_env(database)

    with serving(image, env) as url:
        port = url.rpartition(":")[2]
        in_container(image, *healthcheck["Test"][1:], env={"PORT": port})


@contextmanager
def running_in_container(
    image: BuiltImage, command: list[str], env: dict[str, str], name: str
) -> Iterator[Path]:
    """*command* in a container of the image until the block ends; yield its log."""
    with images.working_container(image.tag) as container:
        log = image.path / f"container-{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                images.run_command(container, command, env),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                yield log
                assert process.poll() is None, f"{name} exited:\n{log.read_text()[-5000:]}"
            finally:
                stop_process_group(process)


def test_every_background_process_runs_in_the_image_and_reaches_its_broker(
    image: BuiltImage, database: str
) -> None:
    processes = background_processes(image.combination.answers)
    assert processes, "the image test's combination has no background process"
    compose = yaml.safe_load((image.path / "compose.yaml").read_text())
    env = image.production_env(database)

    for name in processes:
        command = compose["services"][name]["command"]
        healthcheck = compose["services"][name]["healthcheck"]["test"]
        with running_in_container(image, command, env, name) as log:
            time.sleep(8)
            assert healthcheck[0] == "CMD-SHELL", healthcheck
            in_container(image, "sh", "-c", healthcheck[1], env=env)
            if image.combination.answers["task_queue"] == "celery" and name == "worker":
                pong = in_container(
                    image, "celery", "-A", "config", "inspect", "ping", "--timeout", "10", env=env
                )
                assert "pong" in pong, log.read_text()[-3000:]


def caddy_config_for_this_machine(
    image: BuiltImage, web_port: int, tls_port: int, storage: Path
) -> Any:
    """The generated Caddyfile as Caddy adapts it, moved onto this machine.

    Only what cannot exist here changes: it listens on a free loopback port
    instead of :443, dials the web container on the host network instead of
    ``web:8000``, and signs its certificate with Caddy's internal CA instead of
    Let's Encrypt. Routing, headers and health checks are the generated ones.
    """
    caddy = shutil.which("caddy")
    assert caddy, "caddy not found: apt-get install caddy (it serves the generated Caddyfile)"
    compose = yaml.safe_load((image.path / "compose.yaml").read_text())
    adapted = images.run(
        [
            caddy,
            "adapt",
            "--config",
            str(image.path / "deploy" / "compose" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        env={**os.environ, **compose["services"]["proxy"]["environment"]},
    )
    config = json.loads(adapted)
    server = config["apps"]["http"]["servers"]["srv0"]
    proxy = server["routes"][0]["handle"][0]["routes"][0]["handle"][0]
    assert server["listen"] == [":443"] and proxy["upstreams"] == [{"dial": "web:8000"}]
    server["listen"] = [f"127.0.0.1:{tls_port}"]
    proxy["upstreams"] = [{"dial": f"127.0.0.1:{web_port}"}]
    server["automatic_https"] = {"disable_redirects": True}
    config["apps"]["tls"]["automation"]["policies"][0]["issuers"] = [{"module": "internal"}]
    config["apps"]["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
    config["admin"] = {"disabled": True}
    config["storage"] = {"module": "file_system", "root": str(storage)}
    return config


def https_get(port: int, host: str, path: str) -> http.client.HTTPResponse:
    """GET https://<host><path> from a server on a loopback port (SNI and Host = *host*)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # Caddy's internal CA, made up for this test
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    connection.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=host
    )
    connection.request("GET", path, headers={"Host": host})
    return connection.getresponse()


def test_caddy_with_the_generated_caddyfile_serves_the_site_over_https(
    image: BuiltImage, database: str, tmp_path: Path
) -> None:
    env = image.production_env(database)
    in_container(image, "python", "manage.py", "migrate", "--noinput", env=env)
    domain = yaml.safe_load((image.path / "compose.yaml").read_text())["services"]["proxy"][
        "environment"
    ]["DOMAIN_NAME"]
    env["DJANGO_ALLOWED_HOSTS"] = domain
    tls_port = free_port()

    with serving(image, {**env, "FORWARDED_ALLOW_IPS": "*"}) as url:
        web_port = int(url.rpartition(":")[2])
        config = tmp_path / "caddy.json"
        config.write_text(
            json.dumps(caddy_config_for_this_machine(image, web_port, tls_port, tmp_path))
        )
        log = tmp_path / "caddy.log"
        with log.open("wb") as output:
            caddy = subprocess.Popen(
                ["caddy", "run", "--config", str(config)],
                env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                try:
                    wait_until(lambda: _answers(tls_port, domain), timeout=60, message="no answer")
                except AssertionError as timeout:
                    log_tail = log.read_text()[-3000:]
                    raise AssertionError(f"Caddy did not serve:\n{log_tail}") from timeout
                home = https_get(tls_port, domain, "/")
                body = home.read()
            finally:
                stop_process_group(caddy)

    # Django saw HTTPS through the proxy: the page itself, not a redirect to https.
    assert home.status == 200, body[:500]
    assert "max-age=31536000" in home.headers["Strict-Transport-Security"]
    assert home.headers["X-Request-ID"]


def _answers(port: int, host: str) -> bool:
    try:
        return https_get(port, host, "/healthz").status == 200
    except OSError:
        return False
