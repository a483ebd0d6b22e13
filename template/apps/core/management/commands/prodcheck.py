"""The 8-signal production health check.

Scores the running configuration on the eight signals of the Django production
triage: settings split, secrets, database pooling, migrations, static files,
background tasks, caching and ``check --deploy``. Run it with the production
settings and environment, after ``migrate`` and ``collectstatic``::

    DJANGO_SETTINGS_MODULE=config.settings.production python manage.py prodcheck

It exits non-zero when the score is below ``--fail-under`` (8 by default).
"""

import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from apps.core import health


@dataclass(frozen=True)
class Signal:
    number: int
    name: str
    healthy: bool
    detail: str


Probe = Callable[[], tuple[bool, str]]


def settings_split() -> tuple[bool, str]:
    package = os.environ.get("DJANGO_SETTINGS_MODULE", "").rpartition(".")[0]
    missing = [
        name
        for name in ("base", "local", "production")
        if not package or importlib.util.find_spec(f"{package}.{name}") is None
    ]
    if missing:
        return False, f"missing settings modules: {', '.join(missing)} in '{package}'"
    return True, f"{package}: base, local and production modules exist"


def secret_management() -> tuple[bool, str]:
    from_env = os.environ.get("DJANGO_SECRET_KEY", "")
    if settings.DEBUG:
        return False, "DEBUG is on"
    if not from_env or from_env != settings.SECRET_KEY:
        return False, "SECRET_KEY does not come from DJANGO_SECRET_KEY"
    if settings.SECRET_KEY.startswith("django-insecure"):
        return False, "SECRET_KEY is a development key"
    return True, "SECRET_KEY from the environment, DEBUG off"


def database_pooling() -> tuple[bool, str]:
    unpooled = [
        alias
        for alias, config in settings.DATABASES.items()
        if not config.get("OPTIONS", {}).get("pool") and not config.get("CONN_MAX_AGE")
    ]
    if unpooled:
        return False, f"no connection pool or persistent connections: {', '.join(unpooled)}"
    if all(config.get("OPTIONS", {}).get("pool") for config in settings.DATABASES.values()):
        return True, "connection pool configured"
    return True, "persistent connections (CONN_MAX_AGE) with health checks"


def migrations_applied() -> tuple[bool, str]:
    pending = []
    for alias in settings.DATABASES:
        executor = MigrationExecutor(connections[alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        pending += [f"{alias}:{migration.app_label}.{migration.name}" for migration, _ in plan]
    if pending:
        return False, f"{len(pending)} unapplied: {', '.join(pending[:5])}"
    return True, "all migrations applied"


def static_files() -> tuple[bool, str]:
    if "whitenoise.middleware.WhiteNoiseMiddleware" not in settings.MIDDLEWARE:
        return False, "WhiteNoise middleware is not installed"
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return False, "static files storage does not use hashed names"
    if staticfiles_storage.read_manifest() is None:
        return False, "no staticfiles manifest: run collectstatic"
    return True, "collected, hashed and served by WhiteNoise"


def background_tasks() -> tuple[bool, str]:
    if settings.TASK_QUEUE == "none":
        return False, "no task queue: work runs inside requests"
    if settings.TASKS_RUN_IN_PROCESS:
        return False, f"{settings.TASK_QUEUE} runs tasks in-process (no broker configured)"
    return _passes("broker", f"{settings.TASK_QUEUE} workers consume from a reachable broker")


def caching() -> tuple[bool, str]:
    backend = settings.CACHES["default"]["BACKEND"].rpartition(".")[2]
    if backend in ("DummyCache", "LocMemCache"):
        return False, f"{backend} is not a shared production cache"
    return _passes("cache", f"{backend} reachable")


def deploy_checks() -> tuple[bool, str]:
    issues = [
        issue
        for issue in checks.run_checks(include_deployment_checks=True)
        if issue.level >= checks.WARNING and not issue.is_silenced()
    ]
    if issues:
        return False, "; ".join(f"{issue.id}: {issue.msg}" for issue in issues[:3])
    return True, "check --deploy reports nothing"


def _passes(dependency: str, detail: str) -> tuple[bool, str]:
    check = health.readiness_checks().get(dependency)
    if check is None:
        return False, f"no readiness check for the {dependency}"
    try:
        check()
    except Exception as exc:
        return False, f"{dependency} unavailable: {exc}"
    return True, detail


SIGNALS: list[tuple[str, Probe]] = [
    ("Settings split", settings_split),
    ("Secret management", secret_management),
    ("Database pooling", database_pooling),
    ("Migrations", migrations_applied),
    ("Static files", static_files),
    ("Async tasks", background_tasks),
    ("Caching", caching),
    ("Security (check --deploy)", deploy_checks),
]


def evaluate() -> list[Signal]:
    signals = []
    for number, (name, probe) in enumerate(SIGNALS, start=1):
        try:
            healthy, detail = probe()
        except Exception as exc:
            healthy, detail = False, f"check crashed: {exc!r}"
        signals.append(Signal(number, name, healthy, detail))
    return signals


class Command(BaseCommand):
    help = "Score this deployment on the 8-signal production health check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fail-under",
            type=int,
            default=len(SIGNALS),
            help="Exit with an error when fewer signals are healthy (default: all).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        signals = evaluate()
        score = sum(signal.healthy for signal in signals)
        if options["json"]:
            payload = {
                "score": score,
                "out_of": len(signals),
                "signals": [asdict(signal) for signal in signals],
            }
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            for signal in signals:
                mark = "PASS" if signal.healthy else "FAIL"
                self.stdout.write(f"{signal.number}. [{mark}] {signal.name:<26} {signal.detail}")
            self.stdout.write(f"Score: {score}/{len(signals)}")
        if score < options["fail_under"]:
            raise CommandError(
                f"prodcheck scored {score}/{len(signals)}, below {options['fail_under']}"
            )
