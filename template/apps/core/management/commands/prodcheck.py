"""The 8-signal production health check (the "Quick Health Check" of Django production triage).

Run it with the production settings and environment, after ``migrate`` and
``collectstatic``; it exits non-zero below ``--fail-under`` (8 by default).
"""

import ast
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sentry_sdk
from django.conf import ENVIRONMENT_VARIABLE, settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.module_loading import import_string

from apps.core import health
from apps.core.backups.selectors import latest_backup


@dataclass(frozen=True)
class Signal:
    number: int
    name: str
    healthy: bool
    detail: str


Probe = Callable[[], tuple[bool, str]]
WorkerCheck = Callable[[float], tuple[bool, str]]

# Seconds the Async tasks signal waits for a worker's answer, unless --worker-timeout says.
WORKER_TIMEOUT = 2.0


def settings_split() -> tuple[bool, str]:
    """The settings in force are one environment's module, on a base another environment shares."""
    module = os.environ.get(ENVIRONMENT_VARIABLE, "")
    package, _, name = module.rpartition(".")
    spec = find_spec(module) if package else None
    if spec is None or spec.origin is None or spec.submodule_search_locations is not None:
        return False, f"not split: {module or 'no settings module'} is not a module of a package"
    files = Path(spec.origin).parent.glob("*.py")
    imports = {path.stem: sibling_imports(path, package) for path in files}
    shared: set[str] = set()
    pending = [name]
    while pending:  # what the module in force builds on, directly or not
        found = imports.get(pending.pop(), set()) - shared - {name}
        shared |= found
        pending += found
    others = sorted(m for m, used in imports.items() if m not in shared | {name} and used & shared)
    if not others:
        return False, f"not split: no other environment's module shares a base with {name}"
    return True, f"{name} and {', '.join(others)} share {', '.join(sorted(shared))}"


def sibling_imports(path: Path, package: str) -> set[str]:
    """The modules of *package* that the module at *path* imports."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level <= 1:
            module = ".".join(filter(None, (package if node.level else "", node.module)))
            imported.update([module, *(f"{module}.{alias.name}" for alias in node.names)])
    prefix = f"{package}."
    return {name.removeprefix(prefix).split(".")[0] for name in imported if name.startswith(prefix)}


def secret_management() -> tuple[bool, str]:
    if settings.DEBUG:
        return False, "DEBUG is on"
    if settings.SECRET_KEY.startswith("django-insecure"):
        return False, "SECRET_KEY is a development key"
    # Where it could be written: the package the settings belong to (or their one module).
    top = find_spec(os.environ[ENVIRONMENT_VARIABLE].partition(".")[0])
    if top is None or top.origin is None:
        return False, "the settings' package cannot be found"
    origin = Path(top.origin)
    code = origin.parent.rglob("*.py") if top.submodule_search_locations else [origin]
    written = [path for path in code if settings.SECRET_KEY in path.read_text()]
    if written:
        return False, f"SECRET_KEY is written in {written[0]}"
    return True, "SECRET_KEY comes from outside the code, DEBUG off"


def database_pooling() -> tuple[bool, str]:
    reuse = {alias: connection_reuse(config) for alias, config in settings.DATABASES.items()}
    unpooled = [alias for alias, how in reuse.items() if how is None]
    if unpooled:
        return False, f"no pool, nor checked persistent connections: {', '.join(unpooled)}"
    return True, "; ".join(sorted({how for how in reuse.values() if how}))


def connection_reuse(config: dict[str, Any]) -> str | None:
    """How one database's connections outlive a request, or None when each request connects."""
    if config.get("OPTIONS", {}).get("pool"):
        return "Django's connection pool"
    if config.get("ENGINE", "").startswith("dj_db_conn_pool."):
        return "django-db-conn-pool"
    if config.get("CONN_MAX_AGE") and config.get("CONN_HEALTH_CHECKS"):
        return "persistent connections with health checks"
    return None


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
    cdn = urlsplit(settings.STATIC_URL).netloc
    if "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE:
        server = "WhiteNoise"
    elif cdn:
        server = f"a CDN ({cdn})"
    else:
        return False, "nothing serves them: no WhiteNoise middleware, and STATIC_URL is no CDN's"
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return False, "static files storage does not use hashed names"
    if staticfiles_storage.read_manifest() is None:
        return False, "no staticfiles manifest: run collectstatic"
    return True, f"collected, hashed and served by {server}"


def background_tasks(worker_timeout: float) -> tuple[bool, str]:
    """A broker is reachable and a worker answers it within *worker_timeout* seconds."""
    queue = settings.TASK_QUEUE
    if queue == "none":
        return False, "no task queue: work runs inside requests"
    if settings.TASKS_RUN_IN_PROCESS:
        return False, f"{queue} runs tasks in-process (no broker configured)"
    reachable, detail = _passes("broker", f"{queue}'s broker reachable")
    if not reachable:
        return reachable, detail
    # Each queue asks its workers its own way (config/<queue>.py, named by tasks.py).
    worker_answers: WorkerCheck = import_string(settings.TASKS_WORKER_CHECK)
    return worker_answers(worker_timeout)


def caching() -> tuple[bool, str]:
    backend = settings.CACHES["default"]["BACKEND"].rpartition(".")[2]
    if backend in ("DummyCache", "LocMemCache", "FileBasedCache"):
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


def error_tracking() -> str:
    """Where errors are reported: Sentry's host and project (never the DSN's key), or off."""
    if not settings.SENTRY_DSN:
        return "off: SENTRY_DSN is not set"
    dsn = urlsplit(settings.SENTRY_DSN)
    project = dsn.path.rstrip("/").rpartition("/")[2]
    # Without SENTRY_RELEASE, sentry-sdk chose one (git's HEAD, a platform's revision) or none.
    release = settings.SENTRY_RELEASE or sentry_sdk.get_client().options.get("release") or "none"
    return (
        f"Sentry, project {project} at {dsn.hostname}; "
        f"environment {settings.SENTRY_ENVIRONMENT}, release {release}"
    )


def last_backup() -> str:
    """When the newest archive in BACKUP_DIR was written: reported, not scored."""
    found = latest_backup(settings.BACKUP_DIR)
    if found is None:
        return f"none in BACKUP_DIR ({settings.BACKUP_DIR}): schedule `manage.py backup`"
    path, written = found
    return f"last written {written:%Y-%m-%d %H:%M} UTC: {path}"


# Reported after the score and not counted in it: what the 8 signals do not cover.
EXTRAS: list[tuple[str, Callable[[], str]]] = [
    ("Error tracking", error_tracking),
    ("Backups", last_backup),
]


def probes(worker_timeout: float) -> list[tuple[str, Probe]]:
    """The eight signals in order, each with the probe that scores it."""
    return [
        ("Settings split", settings_split),
        ("Secret management", secret_management),
        ("Database pooling", database_pooling),
        ("Migrations", migrations_applied),
        ("Static files", static_files),
        ("Async tasks", partial(background_tasks, worker_timeout)),
        ("Caching", caching),
        ("Security (check --deploy)", deploy_checks),
    ]


def evaluate(worker_timeout: float = WORKER_TIMEOUT) -> list[Signal]:
    signals = []
    for number, (name, probe) in enumerate(probes(worker_timeout), start=1):
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
            default=len(probes(WORKER_TIMEOUT)),
            help="Exit with an error when fewer signals are healthy (default: all).",
        )
        parser.add_argument(
            "--worker-timeout",
            type=float,
            default=WORKER_TIMEOUT,
            help=f"Seconds to wait for a task worker's answer (default: {WORKER_TIMEOUT:g}).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        signals = evaluate(options["worker_timeout"])
        score = sum(signal.healthy for signal in signals)
        extras = {name: report() for name, report in EXTRAS}
        if options["json"]:
            payload = {
                "score": score,
                "out_of": len(signals),
                "signals": [asdict(signal) for signal in signals],
                "extras": extras,
            }
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            for signal in signals:
                mark = "PASS" if signal.healthy else "FAIL"
                self.stdout.write(f"{signal.number}. [{mark}] {signal.name:<26} {signal.detail}")
            self.stdout.write(f"Score: {score}/{len(signals)}")
            for name, detail in extras.items():
                self.stdout.write(f"   [INFO] {name:<26} {detail}")
        if score < options["fail_under"]:
            raise CommandError(
                f"prodcheck scored {score}/{len(signals)}, below {options['fail_under']}"
            )
