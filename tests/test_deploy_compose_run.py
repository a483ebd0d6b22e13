"""compose.yaml run for real: `docker compose up` of the generated project under podman.

The combination's project is rendered with ``domain_name=shop.localhost`` (a
name Caddy certifies with its internal CA, since Let's Encrypt cannot be
reached here), locked, and its Dockerfile built; the images compose.yaml
pulls are Debian stand-ins (tests/support/compose.py says what each honours).
The secrets file is written by the generated README's own commands; only its
EMAIL_URL is pointed at this test's mail server. Docker Compose v2 then runs
the generated compose.yaml unchanged, beside one test-only override file that
(1) unpublishes Caddy's host ports, so parallel runs cannot collide on 80 and
443 (requests reach Caddy at its container address instead), and (2) puts the
project on a network the test made, whose gateway address the mail server
is reached at.

Which combinations: one per task queue (and Celery broker), one per cache and
one per database that runs as a service (PostgreSQL, MySQL), each the compose
combination closest to the defaults: eight projects. A project costs 4.5 to 9
minutes on a shared 2-core machine (its image build, up, then the runs), so a
run tests one, by the day of the year (UTC), and eight daily CI runs cover them
all; ``DJANGO_PROD_COMPOSE_ALL=1`` runs all eight (see README.md).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import yaml

from tests.support import compose, images, toolchain
from tests.support.building import render
from tests.support.combinations import Combination, default_combination
from tests.support.mailbox import Mailbox, welcome_emails
from tests.support.processes import run
from tests.support.selection import selected_combinations
from tests.support.signin import (
    Served,
    sign_up,
    signed_in_headers,
    verified_user_script,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DOMAIN = "shop.localhost"
# The official image keeps its CA bundle here; the stand-in holds this machine's.
CA_BUNDLE_IN_IMAGE = "/etc/ssl/certs/ca-certificates.crt"
CADDY_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"
BROKER_SERVICES = {"redis": "redis", "rabbitmq": "rabbitmq"}
# The databases that run as compose's "db" service.
DATABASE_SERVICES = ("postgresql", "mysql")
OVERRIDE = "compose.test-override.yaml"
RESEND_AFTER_SECONDS = 5
# Requests the load must have answered after the restarts, every one a success.
REQUESTS_AFTER_RECOVERY = 20
LOAD_PREFIX = "load-"
# Below the project's sign-up rate limits for one address (allauth's 20 a
# minute, the API's auth throttle of 10): a 429 would be a failed request.
SIGN_UP_INTERVAL_SECONDS = 7


def compose_combinations(config: pytest.Config) -> list[Combination]:
    """One compose combination per queue (and broker), per cache and per database service.

    Each is the one closest to the defaults. SQLite has no service (nothing to
    restart under load): its compose file is checked in test_deploy_compose.
    """
    defaults = default_combination().answers
    candidates = [
        c for c in selected_combinations(config) if c.answers["deploy_target"] == "docker-compose"
    ]

    def distance(combination: Combination) -> int:
        return sum(
            combination.answers.get(key) != value
            for key, value in defaults.items()
            if key != "deploy_target"
        )

    chosen: dict[str, Combination] = {}
    for axes in (("task_queue", "celery_broker"), ("cache",), ("database",)):
        best: dict[tuple[str | None, ...], Combination] = {}
        for combination in candidates:
            if axes == ("database",) and combination.answers["database"] not in DATABASE_SERVICES:
                continue
            choice = tuple(combination.answers.get(axis) for axis in axes)
            if choice not in best or distance(combination) < distance(best[choice]):
                best[choice] = combination
        chosen.update((c.id, c) for c in best.values())
    return sorted(chosen.values(), key=lambda c: (distance(c), c.id))


def rotated(combinations: list[Combination]) -> list[Combination]:
    """One combination a run, by the day of the year (UTC): eight days cover all eight."""
    if os.environ.get("DJANGO_PROD_COMPOSE_ALL") or len(combinations) <= 1:
        return combinations
    day = datetime.datetime.now(datetime.UTC).timetuple().tm_yday
    return [combinations[day % len(combinations)]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" in metafunc.fixturenames:
        chosen = rotated(compose_combinations(metafunc.config))
        metafunc.parametrize(
            "combination",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group("compose")) for c in chosen],
            scope="module",
        )


# --- the engine and the deployment ---------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[compose.Engine]:
    compose.compose_binary()  # fail first, naming the fix, when Compose is missing
    seconds = compose.service_stand_ins(list(compose.STAND_INS))
    print(f"\nservice stand-ins: {seconds:.1f} s (0 when cached)")
    probe = compose.official_name("memcached:1.6")
    with (
        tempfile.TemporaryDirectory(prefix="podman-service-") as workdir,
        compose.engine(Path(workdir), probe) as started,
    ):
        yield started


@dataclass
class Deployment:
    combination: Combination
    project: compose.ComposeProject
    mailbox: Mailbox
    up_seconds: float
    ca_bundle: Path
    health_checks: compose.HealthChecks
    users: list[str] = field(default_factory=list)

    @property
    def services(self) -> dict[str, Any]:
        """The services `up` starts: those of compose.yaml outside any profile."""
        text = (self.project.path / "compose.yaml").read_text()
        services = yaml.safe_load(text)["services"]
        return {name: s for name, s in services.items() if not s.get("profiles")}

    def health(self) -> dict[str, str]:
        """Each container's service and Compose's view of it: its health, or its state."""
        return {
            str(c["Service"]): str(c.get("Health") or c["State"]) for c in self.project.containers()
        }

    def all_healthy(self) -> bool:
        states = self.health()
        return set(states) == set(self.services) and all(
            state == "healthy" for name, state in states.items() if name != "migrate"
        )

    def wait_healthy(self, timeout: float = 300) -> float:
        try:
            return wait_until(
                self.all_healthy, timeout=timeout, message="not every service healthy", interval=1
            )
        except AssertionError as error:
            raise AssertionError(f"{error}: {self.health()}\n{self.logs()}") from error

    def logs(self, *services: str) -> str:
        return self.project.run("logs", "--no-color", *services, check=False)[-12000:]

    @contextmanager
    def through_caddy(self) -> Iterator[Served]:
        """Requests to https://shop.localhost reach Caddy's container and trust its CA."""
        address = self.project.address("proxy")
        real = socket.getaddrinfo

        def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
            return real(address if host == DOMAIN else host, *args, **kwargs)

        saved = os.environ.get("REQUESTS_CA_BUNDLE")
        socket.getaddrinfo = resolve  # type: ignore[assignment]
        os.environ["REQUESTS_CA_BUNDLE"] = str(self.ca_bundle)
        try:
            answers = SimpleNamespace(answers=self.combination.answers)
            yield Served(answers, f"https://{DOMAIN}", {})  # type: ignore[arg-type]
        finally:
            socket.getaddrinfo = real
            if saved is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = saved

    def manage(self, *args: str) -> str:
        return self.project.run("exec", "-T", "web", "python", "manage.py", *args)

    def create_verified_user(self, email: str) -> None:
        script = verified_user_script(self.combination.answers["auth"], email, staff=False)
        self.manage("shell", "-c", script)
        self.users.append(email)


def write_production_env(path: Path, email_url: str) -> None:
    """Run the README's commands that write deploy/compose/production.env; point EMAIL_URL here."""
    readme = (path / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    [commands] = [b for b in blocks if "cat > deploy/compose/production.env" in b]
    result = run(["bash", "-euc", commands], cwd=path, timeout=60)
    assert result.returncode == 0, result.stderr
    env_file = path / "deploy" / "compose" / "production.env"
    lines = env_file.read_text().splitlines()
    assert any(line.startswith("EMAIL_URL=") for line in lines)
    # The sweep resends a welcome e-mail a broker outage kept from its queue
    # after 15 minutes in production; seconds here, as in test_worker_faults.
    lines.append(f"WELCOME_EMAIL_RESEND_AFTER_SECONDS={RESEND_AFTER_SECONDS}")
    env_file.write_text(
        "\n".join(
            f"EMAIL_URL={email_url}" if line.startswith("EMAIL_URL=") else line for line in lines
        )
        + "\n"
    )


@pytest.fixture(scope="module")
def deployment(
    engine: compose.Engine, combination: Combination, copie_session: Any
) -> Iterator[Deployment]:
    """The combination's compose.yaml brought up from a clean state; torn down with its volumes."""
    python_version = combination.python_version
    images.python_stand_in(python_version)
    path = render(copie_session, {**combination.answers, "domain_name": DOMAIN})
    locked = run(
        [toolchain.uv(), "lock", "--python", toolchain.python(python_version)],
        cwd=path,
        timeout=600,
    )
    assert locked.returncode == 0, locked.stderr
    name = "dpc" + hashlib.sha1(combination.id.encode()).hexdigest()[:8]
    compose_file = yaml.safe_load((path / "compose.yaml").read_text())
    slug = compose_file["name"]
    # Every image compose.yaml pulls needs a stand-in here (a clear failure if not).
    pulled = [s["image"] for s in compose_file["services"].values() if "build" not in s]
    compose.service_stand_ins(pulled)
    build_seconds = images.build(
        path, f"localhost/{slug}:{name}", build_args={"SSL_CERT_FILE": CA_BUNDLE_IN_IMAGE}
    )
    network = f"{name}-net"
    subprocess.run(
        [*engine.podman, "network", "rm", "-f", network], capture_output=True, check=False
    )
    images.run([*engine.podman, "network", "create", network])
    gateway = images.run(
        [
            *engine.podman,
            "network",
            "inspect",
            "--format",
            "{{(index .Subnets 0).Gateway}}",
            network,
        ]
    ).strip()
    (path / OVERRIDE).write_text(
        "# Test only: no host ports (Caddy is reached at its container address), and\n"
        "# a network made by the test, whose gateway reaches its mail server.\n"
        "services:\n  proxy:\n    ports: !reset []\n"
        f"networks:\n  default:\n    name: {network}\n    external: true\n"
    )
    with Mailbox(hostname="0.0.0.0") as mailbox:
        write_production_env(path, f"smtp://{gateway}:{mailbox.port}")
        project = compose.ComposeProject(
            engine, path, name, ["compose.yaml", OVERRIDE], {"IMAGE_TAG": name}
        )
        project.run("down", "--volumes", "--remove-orphans", check=False)
        with compose.HealthChecks(engine, name) as health_checks:
            started = time.monotonic()
            project.run("up", "-d", "--no-build", "--pull", "never", timeout=900)
            deployment = Deployment(
                combination, project, mailbox, 0.0, path / "caddy-root.crt", health_checks
            )
            deployment.wait_healthy()
            deployment.up_seconds = time.monotonic() - started
            print(
                f"\n{combination.id}: image built in {build_seconds:.1f} s, "
                f"compose up to healthy in {deployment.up_seconds:.1f} s"
            )
            root_ca = project.run("exec", "-T", "proxy", "cat", CADDY_ROOT_CA)
            deployment.ca_bundle.write_text(root_ca)
            try:
                yield deployment
            finally:
                project.run("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
                subprocess.run(
                    [*engine.podman, "network", "rm", "-f", network],
                    capture_output=True,
                    check=False,
                )
                subprocess.run(
                    ["podman", "rmi", "--force", f"localhost/{slug}:{name}"],
                    capture_output=True,
                    check=False,
                )


# --- the tests ------------------------------------------------------------------------


def started_at(project: compose.ComposeProject, service: str) -> datetime.datetime:
    state = project.inspect(project.container_of(service))["State"]
    return compose.timestamp(state["StartedAt"])  # type: ignore[index]


def test_compose_up_from_clean_brings_every_service_to_healthy_and_migrates_once_first(
    deployment: Deployment, record_property: Any
) -> None:
    project = deployment.project
    record_property(
        "compose_up", f"{deployment.combination.id}: healthy in {deployment.up_seconds:.1f} s"
    )
    services = deployment.services
    application = [name for name, service in services.items() if "build" in service]
    backing = [n for n in services if n not in application and n != "proxy"]

    health = deployment.health()
    migrate = project.inspect(project.container_of("migrate"))
    migrate_logs = deployment.logs("migrate")

    assert {n: s for n, s in health.items() if n != "migrate"} == {
        n: "healthy" for n in services if n != "migrate"
    }
    assert migrate["State"]["ExitCode"] == 0 and migrate["RestartCount"] == 0  # type: ignore[index]
    assert migrate_logs.count("Operations to perform") == 1, migrate_logs
    # Each backing service was healthy before migrate started, and migrate had
    # finished before any application process started.
    for name in backing:
        healthy = deployment.health_checks.first_healthy[project.container_of(name)]
        assert healthy < started_at(project, "migrate"), name
    finished = compose.timestamp(migrate["State"]["FinishedAt"])  # type: ignore[index]
    for name in application:
        if name != "migrate":
            assert finished < started_at(project, name), name
    web_healthy = deployment.health_checks.first_healthy[project.container_of("web")]
    assert web_healthy < started_at(project, "proxy")


def test_the_site_answers_through_caddy_over_tls_and_a_signed_in_api_call_works(
    deployment: Deployment,
) -> None:
    email = "first@shop.localhost"
    deployment.create_verified_user(email)

    with deployment.through_caddy() as served:
        home = requests.get(f"{served.url}/", timeout=10)
        plain = requests.get(f"http://{DOMAIN}/", allow_redirects=False, timeout=10)
        me = requests.get(
            f"{served.url}/api/users/me/", headers=signed_in_headers(served, email), timeout=10
        )

    assert home.status_code == 200, home.text
    assert "max-age=31536000" in home.headers["Strict-Transport-Security"]
    assert plain.status_code in (301, 308) and plain.headers["Location"].startswith("https://")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email


def test_a_sign_up_gets_its_welcome_email_from_the_worker_or_without_a_queue_from_web(
    deployment: Deployment,
) -> None:
    email = "newcomer@shop.localhost"
    with deployment.through_caddy() as served:
        sign_up(served, email)

    wait_until(
        lambda: len(welcome_emails(deployment.mailbox, email)) == 1,
        timeout=90,
        message=f"no welcome e-mail to {email}",
        interval=0.5,
    )
    [message_id] = welcome_emails(deployment.mailbox, email)
    sender = "web" if deployment.combination.answers["task_queue"] == "none" else "worker"

    # The mail server saw it come from the sending container's address.
    assert deployment.mailbox.senders[message_id] == deployment.project.address(sender)


@dataclass
class Load:
    """Signed-in API reads and sign-ups through Caddy, from two threads, until stopped."""

    deployment: Deployment
    headers: dict[str, str]
    results: list[tuple[float, str, int]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def _record(self, kind: str, call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            status = call(*args, **kwargs).status_code
        except (requests.RequestException, AssertionError):  # no answer, or an error page
            status = 0
        self.results.append((time.monotonic(), kind, status))

    def _reads(self, served: Served) -> None:
        while not self.stopped.is_set():
            url = f"{served.url}/api/users/me/"
            self._record("read", requests.get, url, headers=self.headers, timeout=10)
            time.sleep(0.05)

    def _sign_ups(self, served: Served) -> None:
        number = 0
        while not self.stopped.is_set():
            number += 1
            email = f"{LOAD_PREFIX}{number}@shop.localhost"
            self._record("sign-up", sign_up, served, email)
            self.stopped.wait(SIGN_UP_INTERVAL_SECONDS)

    @contextmanager
    def running(self) -> Iterator[None]:
        with self.deployment.through_caddy() as served:
            threads = [
                threading.Thread(target=target, args=(served,), daemon=True)
                for target in (self._reads, self._sign_ups)
            ]
            for thread in threads:
                thread.start()
            try:
                yield
            finally:
                self.stopped.set()
                for thread in threads:
                    thread.join(timeout=60)

    def failed(self, since: float = 0.0) -> list[tuple[float, str, int]]:
        return [r for r in self.results if r[0] >= since and r[2] not in (200, 201, 202, 302)]

    def since(self, moment: float) -> list[tuple[float, str, int]]:
        return [r for r in self.results if r[0] >= moment]

    def served_since(self, since: float) -> bool:
        return any(r[0] >= since and r[1] == "read" and r[2] == 200 for r in self.results)


def unwelcomed_sign_ups(deployment: Deployment) -> int:
    """Users the load signed up whose welcome e-mail has not been sent."""
    script = (
        "from apps.users.models import User\n"
        "print(User.objects.filter(\n"
        f"    email__startswith={LOAD_PREFIX!r}, welcome_email_sent_at__isnull=True\n"
        ").count())\n"
    )
    return int(deployment.manage("shell", "-c", script).strip().splitlines()[-1])


def test_restarting_the_database_and_the_broker_under_load_loses_no_request_and_no_task(
    deployment: Deployment, record_property: Any
) -> None:
    project = deployment.project
    email = "loaded@shop.localhost"
    deployment.create_verified_user(email)
    with deployment.through_caddy() as served:
        headers = signed_in_headers(served, email)
    broker = deployment.combination.answers.get("celery_broker") or (
        "redis" if deployment.combination.answers["task_queue"] != "none" else None
    )
    restarted = ["db", *([BROKER_SERVICES[broker]] if broker else [])]
    load = Load(deployment, headers)
    recoveries = {}

    with load.running():
        time.sleep(2)
        for service in restarted:
            began = time.monotonic()
            project.run("restart", service)
            deployment.wait_healthy(timeout=180)
            wait_until(
                functools.partial(load.served_since, time.monotonic()),
                timeout=60,
                message=f"no signed-in read succeeded after {service} restarted",
                interval=0.2,
            )
            recoveries[service] = time.monotonic() - began
        recovered = time.monotonic()
        wait_until(
            lambda: len(load.since(recovered)) >= REQUESTS_AFTER_RECOVERY,
            timeout=180,
            message=f"fewer than {REQUESTS_AFTER_RECOVERY} answers after the restarts",
            interval=0.5,
        )

    # A queue owes every signed-up user a welcome e-mail (its sweep resends what
    # an outage kept from the broker); without one it is sent in the request,
    # and one cut short by the database restart is only counted.
    if deployment.combination.answers["task_queue"] != "none":
        wait_until(
            lambda: unwelcomed_sign_ups(deployment) == 0,
            timeout=180,
            message="a user's welcome e-mail was lost",
            interval=3,
        )
    unwelcomed = unwelcomed_sign_ups(deployment)
    sign_ups = [r for r in load.results if r[1] == "sign-up"]
    summary = (
        f"{deployment.combination.id}: restarted {', '.join(restarted)} under load; "
        f"{len(load.results)} requests, {len(load.failed())} failed during the restarts, "
        f"{len(load.failed(recovered))} after; {len(sign_ups)} sign-ups, "
        f"{unwelcomed} not welcomed; "
        + ", ".join(f"{name} back in {seconds:.1f} s" for name, seconds in recoveries.items())
    )
    record_property("compose_restart", summary)
    print("\n" + summary)

    assert load.failed(recovered) == []
    assert len(load.since(recovered)) >= REQUESTS_AFTER_RECOVERY
    assert any(status in (201, 202, 302) for _, _, status in sign_ups)


def test_killing_the_web_process_makes_compose_restart_it(deployment: Deployment) -> None:
    project = deployment.project
    web = project.container_of("web")
    before = project.inspect(web)
    pid = int(before["State"]["Pid"])  # type: ignore[index]

    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: int(project.inspect(web)["RestartCount"]) > int(before["RestartCount"]),  # type: ignore[call-overload]
        timeout=60,
        message="web was not restarted",
        interval=0.5,
    )
    healthy = deployment.wait_healthy(timeout=120)
    # Caddy's own health check (every 10 s) puts web back into its pool.
    with deployment.through_caddy() as served:
        serving = wait_until(
            lambda: requests.get(f"{served.url}/healthz", timeout=10).status_code == 200,
            timeout=60,
            message="Caddy did not serve the restarted web",
            interval=0.5,
        )

    assert int(project.inspect(web)["State"]["Pid"]) != pid  # type: ignore[index]
    print(f"\nweb killed: healthy again in {healthy:.1f} s, served by Caddy {serving:.1f} s later")


def test_compose_down_then_up_keeps_the_data(deployment: Deployment) -> None:
    project = deployment.project
    email = "kept@shop.localhost"
    deployment.create_verified_user(email)

    project.run("down", "--timeout", "20")
    assert project.run("ps", "--all", "--quiet").strip() == ""
    started = time.monotonic()
    project.run("up", "-d", "--no-build", "--pull", "never", timeout=900)
    deployment.wait_healthy()
    print(f"\ndown, then up to healthy in {time.monotonic() - started:.1f} s")
    with deployment.through_caddy() as served:
        me = requests.get(
            f"{served.url}/api/users/me/", headers=signed_in_headers(served, email), timeout=10
        )

    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
