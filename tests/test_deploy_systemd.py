"""systemd + nginx on a VPS: the units and the nginx site the target generates.

Every supported systemd combination's units are checked for what they run
(one service per background process, the context's exact commands, the
sandbox) and by ``systemd-analyze verify``. One combination is then served
for real: the release unit's steps, gunicorn started exactly as the web
unit's ExecStart says (socket activation emulated by systemd-socket-activate,
which hands it the listening socket the way systemd does), and Debian's nginx
with the generated site in front of it.

Both run on a private stand-in for the host (tests/support/systemd_host.py):
/srv/<slug>, /etc and /var/lib exist there as the units expect, so the unit
paths, the user the README creates and the certbot certificate paths are used
as generated. Only ports are substituted, because 80, 443 and 8000 may be
taken on a shared machine: nginx listens on free ports instead of 80 and 443,
and the socket (ListenStream) and nginx's upstream use one free port instead
of 8000. The processes run as root (the venv lives under /root), not as the
unit's User=.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from extensions.context import RELEASE_COMMAND, WEB_COMMAND, background_processes
from tests.support import services
from tests.support.building import build
from tests.support.combinations import Combination, recorded_answers
from tests.support.processes import run
from tests.support.production import production_env
from tests.support.project import Project
from tests.support.selection import closest_to_defaults, selected_combinations
from tests.support.server import free_port, stop_process_group
from tests.support.systemd_host import (
    Host,
    environment_of,
    parse_unit,
    private_host,
    value,
    values,
)
from tests.support.waiting import wait_until
from tests.test_render import files_param, rendered_once

# The served site's certificate is self-signed, and requests go to 127.0.0.1.
pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")

HARDENING = {
    "NoNewPrivileges": "true",
    "ProtectSystem": "strict",
    "ProtectHome": "true",
    "PrivateTmp": "true",
}


def systemd_combinations(config: pytest.Config) -> list[Combination]:
    return [c for c in selected_combinations(config) if c.answers["deploy_target"] == "systemd"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" in metafunc.fixturenames:
        metafunc.parametrize(
            "combination",
            [files_param(c) for c in systemd_combinations(metafunc.config)],
        )
    if "served_combination" in metafunc.fixturenames:
        chosen = [
            c
            for c in closest_to_defaults(metafunc.config, "deploy_target")
            if c.answers["deploy_target"] == "systemd"
        ]
        metafunc.parametrize(
            "served_combination",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in chosen],
            scope="module",
        )


@pytest.fixture
def rendered(copie_session: Any, combination: Combination) -> Path:
    return rendered_once(copie_session, combination)  # shared with test_render on this worker


def slug_of(project: Path) -> str:
    return str(recorded_answers(project)["project_slug"])


def units_of(project: Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    return {p.name: parse_unit(p.read_text()) for p in (project / "deploy" / "systemd").iterdir()}


def graceful_timeout(project: Path) -> int:
    tree = ast.parse((project / "config" / "gunicorn.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "graceful_timeout" for t in node.targets
        ):
            return int(ast.literal_eval(node.value))
    raise AssertionError("config/gunicorn.py sets no graceful_timeout")


# --- every combination: what the units run ----------------------------------


def test_there_is_a_unit_per_process_a_daily_backup_and_a_daily_timer_without_a_queue(
    rendered: Path, combination: Combination
) -> None:
    slug = slug_of(rendered)
    expected = {f"{slug}.socket", f"{slug}.service", f"{slug}-release.service"}
    expected |= {f"{slug}-backup.service", f"{slug}-backup.timer"}
    backup_timer = units_of(rendered)[f"{slug}-backup.timer"]
    assert value(backup_timer, "Timer", "OnCalendar") == "daily"
    assert value(backup_timer, "Timer", "Persistent") == "true"
    assert value(backup_timer, "Install", "WantedBy") == "timers.target"
    expected |= {f"{slug}-{name}.service" for name in background_processes(combination.answers)}
    if combination.answers["task_queue"] == "none":
        expected |= {f"{slug}-clearsessions.service", f"{slug}-clearsessions.timer"}
        timer = units_of(rendered)[f"{slug}-clearsessions.timer"]
        assert value(timer, "Timer", "OnCalendar") == "daily"
        assert value(timer, "Install", "WantedBy") == "timers.target"

    assert set(units_of(rendered)) == expected
    assert [p.name for p in (rendered / "deploy" / "nginx").iterdir()] == [f"{slug}.conf"]


def test_the_units_run_the_commands_every_target_runs_from_the_venv(
    rendered: Path, combination: Combination
) -> None:
    slug = slug_of(rendered)
    units = units_of(rendered)
    bin_dir = f"/srv/{slug}/.venv/bin/"

    assert values(units[f"{slug}.service"], "Service", "ExecStart") == [bin_dir + WEB_COMMAND]
    assert values(units[f"{slug}-release.service"], "Service", "ExecStart") == [
        bin_dir + RELEASE_COMMAND,
        bin_dir + "python manage.py collectstatic --noinput",
    ]
    for name, command in background_processes(combination.answers).items():
        unit = units[f"{slug}-{name}.service"]
        assert values(unit, "Service", "ExecStart") == [bin_dir + command]
    if combination.answers["task_queue"] == "none":
        assert values(units[f"{slug}-clearsessions.service"], "Service", "ExecStart") == [
            bin_dir + "python manage.py clearsessions"
        ]
    backup = units[f"{slug}-backup.service"]
    assert values(backup, "Service", "ExecStart") == [bin_dir + "python manage.py backup"]
    # Archives go to the one directory the sandbox lets it write.
    assert f"{slug}-backups" in values(backup, "Service", "StateDirectory")
    assert f"BACKUP_DIR=/var/lib/{slug}-backups" in values(backup, "Service", "Environment")


def test_every_service_runs_sandboxed_as_the_project_user_with_its_environment_file(
    rendered: Path, combination: Combination
) -> None:
    slug = slug_of(rendered)
    for name, unit in units_of(rendered).items():
        if not name.endswith(".service"):
            continue
        assert value(unit, "Service", "User") == slug, name
        assert value(unit, "Service", "Group") == slug, name
        assert values(unit, "Service", "EnvironmentFile") == [f"/etc/{slug}/env"], name
        assert "DJANGO_SETTINGS_MODULE=config.settings.production" in values(
            unit, "Service", "Environment"
        ), name
        for key, expected in HARDENING.items():
            assert value(unit, "Service", key) == expected, f"{name}: {key}"
        if combination.answers["database"] == "sqlite":
            # The SQLite file lives in /var/lib/<slug>, the only writable place.
            assert slug in values(unit, "Service", "StateDirectory"), name
        if value(unit, "Service", "Type") != "oneshot":
            assert value(unit, "Service", "Restart") == "on-failure", name


def test_the_web_unit_is_socket_activated_reloads_with_hup_and_waits_out_graceful_shutdown(
    rendered: Path,
) -> None:
    slug = slug_of(rendered)
    units = units_of(rendered)
    web, socket = units[f"{slug}.service"], units[f"{slug}.socket"]

    assert value(socket, "Socket", "ListenStream") == "127.0.0.1:8000"
    assert f"{slug}.socket" in value(web, "Unit", "Requires").split()
    assert f"{slug}-release.service" in value(web, "Unit", "Wants").split()
    assert f"{slug}-release.service" in value(web, "Unit", "After").split()
    assert value(web, "Service", "WorkingDirectory") == f"/srv/{slug}"
    assert value(web, "Service", "ExecReload") == "/bin/kill -s HUP $MAINPID"
    # HUP brings in new code only when the workers, not the master, load it.
    assert "GUNICORN_PRELOAD_APP=0" in values(web, "Service", "Environment")
    assert value(web, "Service", "KillMode") == "mixed"
    grace = graceful_timeout(rendered)
    assert grace < int(value(web, "Service", "TimeoutStopSec")) <= grace + 10
    site = (rendered / "deploy" / "nginx" / f"{slug}.conf").read_text()
    assert "server 127.0.0.1:8000;" in site


def test_the_readme_enables_every_installable_unit_and_nginx_special_cases_no_admin_path(
    rendered: Path,
) -> None:
    slug = slug_of(rendered)
    readme = (rendered / "README.md").read_text().split("## Deploy", 1)[1]
    (enable,) = [line for line in readme.splitlines() if "systemctl enable --now" in line]
    installable = {name for name, unit in units_of(rendered).items() if "Install" in unit}

    assert set(enable.split("--now", 1)[1].split()) == installable
    assert f"{slug}-release.service" not in installable  # started by the web unit and by hand
    site = (rendered / "deploy" / "nginx" / f"{slug}.conf").read_text()
    assert recorded_answers(rendered)["admin_url_path"] not in site
    assert [line.strip() for line in site.splitlines() if "location" in line] == [
        "location /static/ {",
        "location / {",
    ]


def test_systemd_analyze_verify_accepts_every_unit(
    rendered: Path, copie_session: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The binaries ExecStart names must exist: those of the served combination's
    # installed venv (python, gunicorn, and celery when it is a Celery one).
    venv_owner = served_build(request.config, copie_session)
    slug = slug_of(rendered)
    with private_host(tmp_path, slug, rendered, venv_owner.venv) as host:
        readme_commands(host, rendered, "useradd")
        units = sorted(str(p) for p in (rendered / "deploy" / "systemd").iterdir())
        result = host.run("systemd-analyze", "verify", *units)

    # verify exits 0 after mere warnings (an unknown key, a bad value): none may be printed.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def served_build(config: pytest.Config, copie_session: Any) -> Project:
    """The served combination, built: its venv has the binaries the units run."""
    (served,) = [
        c
        for c in closest_to_defaults(config, "deploy_target")
        if c.answers["deploy_target"] == "systemd"
    ]
    return build(served, copie_session)


def readme_commands(host: Host, project: Path, word: str) -> None:
    """Run the README's Deploy commands containing *word* (without sudo) on *host*."""
    readme = (project / "README.md").read_text().split("## Deploy", 1)[1]
    commands = re.sub(r"\\\n\s*", "", readme).splitlines()
    chosen = [c for c in commands if c.startswith("sudo ") and word in c]
    assert chosen, f"the README's Deploy section has no command with {word!r}"
    for command in chosen:
        result = host.run(*shlex.split(command.removeprefix("sudo ")))
        assert result.returncode == 0, f"{command}: {result.stderr}"


# --- one combination served: nginx in front of gunicorn ----------------------


@dataclass
class Site:
    https: str
    http: str
    domain: str
    gunicorn: subprocess.Popen[bytes]
    staticfiles: Path
    log: Path

    def get(self, path: str, *, https: bool = True) -> requests.Response:
        return requests.get(
            (self.https if https else self.http) + path,
            headers={"Host": self.domain},
            verify=False,
            allow_redirects=False,
            timeout=40,
        )


@pytest.fixture(scope="module")
def site(
    served_combination: Combination, copie_session: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    project = build(served_combination, copie_session)
    slug, domain = slug_of(project.path), recorded_answers(project.path)["domain_name"]
    scratch = tmp_path_factory.mktemp("systemd-host")
    units = units_of(project.path)
    web = units[f"{slug}.service"]

    # The environment file: the production environment of the other deploy tests.
    env = {**services.service_env(served_combination), **production_env(project)}
    env["DJANGO_ALLOWED_HOSTS"] += f",{domain}"
    env["WEB_CONCURRENCY"] = "2"  # the README's optional knob: 2 cores are shared here
    if (database := served_combination.answers["database"]) != "sqlite":
        services.recreate_database(database, env["DATABASE_URL"].rpartition("/")[2])
    env_file = "".join(f"{key}={val}\n" for key, val in env.items())

    with private_host(scratch, slug, project.path, project.venv) as host:
        readme_commands(host, project.path, "useradd")
        host.write(f"/etc/{slug}/env", env_file)
        env_files = {f"/etc/{slug}/env": host.read(f"/etc/{slug}/env")}
        host.run("mkdir", "-p", f"/srv/{slug}/staticfiles")
        self_signed_certificate(host, domain)

        release = units[f"{slug}-release.service"]
        for step in values(release, "Service", "ExecStart"):
            result = run(
                host.command(*shlex.split(step), cwd=value(release, "Service", "WorkingDirectory")),
                env=environment_of(release, env_files),
                timeout=300,
            )
            assert result.returncode == 0, f"{step}\n{result.stdout}\n{result.stderr}"

        # Substitution: the socket's port, and nginx's ports (see the module docstring).
        upstream = free_port()
        https_port, http_port = free_port(), free_port()
        listen = value(units[f"{slug}.socket"], "Socket", "ListenStream")
        assert listen == "127.0.0.1:8000"
        activate = ["systemd-socket-activate", "-l", f"127.0.0.1:{upstream}"]
        for key, val in environment_of(web, env_files).items():
            activate += ["-E", f"{key}={val}"]
        log = scratch / "gunicorn.log"
        with log.open("wb") as output:
            gunicorn = subprocess.Popen(
                host.command(
                    *activate,
                    *shlex.split(value(web, "Service", "ExecStart")),
                    cwd=value(web, "Service", "WorkingDirectory"),
                ),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        site_conf = (project.path / "deploy" / "nginx" / f"{slug}.conf").read_text()
        site_conf = substitute(
            site_conf,
            {
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
                "listen 80;": f"listen 127.0.0.1:{http_port};",
                "listen [::]:80;": f"listen [::1]:{http_port};",
                "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
                "listen [::]:443 ssl http2;": f"listen [::1]:{https_port} ssl http2;",
            },
        )
        nginx_dir = scratch / "nginx"
        nginx_dir.mkdir()
        (nginx_dir / "site.conf").write_text(site_conf)
        (nginx_dir / "nginx.conf").write_text(nginx_wrapper(nginx_dir))
        nginx_command = [
            "nginx",
            "-p",
            str(nginx_dir),
            "-e",
            str(nginx_dir / "error.log"),
            "-c",
            str(nginx_dir / "nginx.conf"),
        ]
        checked = host.run(*nginx_command, "-t")
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(
            host.command(*nginx_command, "-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        served = Site(
            https=f"https://127.0.0.1:{https_port}",
            http=f"http://127.0.0.1:{http_port}",
            domain=domain,
            gunicorn=gunicorn,
            staticfiles=scratch / "srv-upper" / "staticfiles",
            log=log,
        )
        try:
            wait_until(
                lambda: nginx.poll() is not None or answers(served),
                timeout=30,
                message="nginx did not answer",
            )
            assert nginx.poll() is None, (nginx_dir / "error.log").read_text()
            yield served
        finally:
            stop_process_group(nginx, grace=10)
            stop_process_group(gunicorn, grace=35)


def answers(site: Site) -> bool:
    try:
        site.get("/healthz", https=False)
        return True
    except requests.ConnectionError:
        return False


def substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the nginx site no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def self_signed_certificate(host: Host, domain: str) -> None:
    """A throwaway certificate where certbot would put the real one."""
    live = f"/etc/letsencrypt/live/{domain}"
    host.run("mkdir", "-p", live)
    result = host.run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        f"/CN={domain}",
        "-addext",
        f"subjectAltName=DNS:{domain}",
        "-keyout",
        f"{live}/privkey.pem",
        "-out",
        f"{live}/fullchain.pem",
    )
    assert result.returncode == 0, result.stderr


def nginx_wrapper(directory: Path) -> str:
    """The parts of Debian's nginx.conf a site relies on, with state kept in *directory*."""
    temp = "\n".join(
        f"    {kind}_temp_path {directory}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""user www-data;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;

events {{
    worker_connections 64;
}}

http {{
    sendfile on;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {directory}/access.log;
{temp}
    include {directory}/site.conf;
}}
"""


def hashed_static_file(site: Site) -> str:
    import json

    manifest = json.loads((site.staticfiles / "staticfiles.json").read_text())
    return "/static/" + manifest["paths"]["css/site.css"]


@pytest.mark.slow
def test_an_http_request_is_redirected_to_https(site: Site) -> None:
    response = site.get("/readyz?probe=1", https=False)

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{site.domain}/readyz?probe=1"


@pytest.mark.slow
def test_readyz_is_proxied_to_django_over_https(site: Site) -> None:
    response = site.get("/readyz")

    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("ok", "degraded")
    assert "X-Request-ID" in response.headers  # added by the project's middleware
    assert response.headers["Server"] == "nginx"  # server_tokens off: no version


@pytest.mark.slow
def test_django_sees_https_through_the_forwarded_proto_header(site: Site) -> None:
    # SECURE_SSL_REDIRECT would send a plain-HTTP request back to https://.
    response = site.get("/")

    assert response.status_code == 200, response.headers
    assert "X-Request-ID" in response.headers


@pytest.mark.slow
def test_static_files_are_served_by_nginx_with_a_long_cache_even_with_gunicorn_down(
    site: Site,
) -> None:
    path = hashed_static_file(site)
    site.get("/readyz")  # gunicorn is up
    served = site.get(path)

    assert served.status_code == 200
    assert "X-Request-ID" not in served.headers  # not Django's response
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["Content-Type"] == "text/css"

    stop_process_group(site.gunicorn, grace=35)
    assert site.get("/readyz").status_code == 502  # Django was behind it
    again = site.get(path)
    assert again.status_code == 200
    assert again.content == served.content
