"""The real services generated projects test against, and per-combination isolation.

Each combination gets its own PostgreSQL or MySQL databases, and each pytest-xdist
worker its own Redis database numbers and RabbitMQ virtual host, so
combinations tested in parallel never collide.
"""

from __future__ import annotations

import functools
import os
import socket

from tests.support.combinations import Combination
from tests.support.processes import run

HOST = "127.0.0.1"
PORTS = {"postgresql": 5432, "mysql": 3306, "redis": 6379, "rabbitmq": 5672, "memcached": 11211}
# The MySQL account generated projects use: made by mysql_user() as root, which
# connects from this host without a password (.ci/run checks it).
MYSQL_USER, MYSQL_PASSWORD = "django_prod", "django-prod-tests"


class ServiceUnavailable(RuntimeError):
    """A service a combination needs is not running; the message names it."""


def require(services: set[str]) -> None:
    down = [name for name in sorted(services) if not accepts_connections(PORTS[name])]
    if down:
        raise ServiceUnavailable(
            "needed but not reachable: "
            + ", ".join(f"{name} on {HOST}:{PORTS[name]}" for name in down)
            + " (start them; .ci/run shows how)"
        )


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return True
    except OSError:
        return False


def slot() -> int:
    """This pytest-xdist worker's number (0 without xdist): picks private Redis databases."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw")) % 8


@functools.cache
def rabbitmq_vhost() -> str:
    """This xdist worker's RabbitMQ virtual host, made on first use. Celery names a
    worker's control queue after the machine, so two workers on one vhost collide."""
    vhost = f"slot-{slot()}"
    for command in (
        ["add_vhost", vhost],
        ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
    ):
        result = run(["rabbitmqctl", "--quiet", *command], timeout=60)
        if result.returncode != 0:
            raise ServiceUnavailable(f"rabbitmqctl {' '.join(command)} failed: {result.stderr}")
    return vhost


@functools.cache
def mysql_user() -> str:
    """user:password of the account that owns the tests' MySQL databases, made on first use.

    It creates and drops its own (Django's test runner makes test_<name>).
    """
    mysql(
        f"CREATE USER IF NOT EXISTS '{MYSQL_USER}'@'{HOST}' IDENTIFIED BY '{MYSQL_PASSWORD}'",
        f"GRANT ALL PRIVILEGES ON *.* TO '{MYSQL_USER}'@'{HOST}'",
    )
    return f"{MYSQL_USER}:{MYSQL_PASSWORD}"


def mysql(*statements: str) -> None:
    """Run *statements* as MySQL's root, stopping at the first error."""
    command = ["mysql", "-h", HOST, "-P", str(PORTS["mysql"]), "-u", "root", "--batch"]
    result = run([*command, "-e", "; ".join(statements)], timeout=60)
    if result.returncode != 0:
        raise ServiceUnavailable(f"mysql as root failed: {result.stderr}")


def service_env(combination: Combination) -> dict[str, str]:
    """The environment variables that point a generated project at the real services."""
    env = {}
    redis_db = 2 * slot()
    if "postgresql" in combination.services:
        env["DATABASE_URL"] = f"postgres://postgres@{HOST}:{PORTS['postgresql']}/{combination.slug}"
    elif "mysql" in combination.services:
        env["DATABASE_URL"] = f"mysql://{mysql_user()}@{HOST}:{PORTS['mysql']}/{combination.slug}"
    if combination.answers["cache"] == "redis":
        env["REDIS_URL"] = f"redis://{HOST}:{PORTS['redis']}/{redis_db}"
    elif combination.answers["cache"] == "memcached":
        env["MEMCACHED_SERVERS"] = f"{HOST}:{PORTS['memcached']}"
    env["CACHE_KEY_PREFIX"] = combination.slug
    if combination.answers["task_queue"] == "celery":
        broker = combination.answers["celery_broker"]
        env["CELERY_BROKER_URL"] = {
            "redis": f"redis://{HOST}:{PORTS['redis']}/{redis_db + 1}",
            "rabbitmq": f"amqp://guest:guest@{HOST}:{PORTS['rabbitmq']}/{rabbitmq_vhost()}",
        }[broker]
    elif combination.answers["task_queue"] == "huey":
        env["HUEY_REDIS_URL"] = f"redis://{HOST}:{PORTS['redis']}/{redis_db + 1}"
    elif combination.answers["task_queue"] == "django-q2":
        env["DJANGO_Q_REDIS_URL"] = f"redis://{HOST}:{PORTS['redis']}/{redis_db + 1}"
    return env


def recreate_database(database: str, name: str) -> None:
    """Drop and create the *database* ("postgresql" or "mysql") *name*, empty.

    PostgreSQL: one psql runs both statements, each in its own transaction
    (DROP DATABASE cannot run inside one), and stops at the first error.
    """
    if database == "mysql":
        mysql_user()
        mysql(
            f"DROP DATABASE IF EXISTS `{name}`",
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci",
        )
        return
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    create = f'CREATE DATABASE "{name}"'
    psql = ["psql", "-h", HOST, "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
    run([*psql, "-c", drop, "-c", create], check=True, timeout=60)
