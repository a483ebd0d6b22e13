"""Jinja extensions for the django-prod template.

Copier loads these through copier-template-extensions (see ``_jinja_extensions``
in copier.yml). They keep derived knowledge about a combination of answers in
one place, so templates ask ``needs_redis`` instead of repeating the rules that
decide it.

It is also the one source of truth for which answer combinations are
supported: copier.yml's deploy_target choices call :func:`target_refusal`, and the
template's tests import this module to enumerate every supported combination,
so a rule written here is enforced and tested at once.
"""

from __future__ import annotations

import json
import secrets
import string
import zoneinfo
from collections.abc import Mapping
from typing import Any

from copier_template_extensions import ContextHook
from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

# (answers that must all match, reason shown to the user)
UNSUPPORTED: list[tuple[dict[str, str], str]] = [
    (
        {"database": "sqlite", "deploy_target": "kubernetes"},
        "database=sqlite cannot be deployed to kubernetes: pods on several nodes cannot share "
        "one SQLite file; choose database=postgresql",
    ),
    (
        {"database": "sqlite", "deploy_target": "heroku"},
        "database=sqlite cannot be deployed to heroku: a dyno's disk is wiped on every restart; "
        "choose database=postgresql",
    ),
    (
        {"cache": "memcached", "deploy_target": "heroku"},
        "cache=memcached cannot be deployed to heroku: its add-ons need SASL, which pymemcache "
        "lacks; choose cache=redis or cache=database",
    ),
    # A worker runs on a machine (fly) or an instance (render) of its own, and a
    # volume or disk attaches to one machine: it could not open the SQLite file.
    *(
        (
            {"database": "sqlite", "task_queue": queue, "deploy_target": target},
            f"database=sqlite with a task queue cannot be deployed to {target}: its "
            f"worker cannot reach the web's {disk}; choose database=postgresql or task_queue=none",
        )
        for target, disk in (("fly", "volume"), ("render", "disk"))
        for queue in ("celery", "huey", "django-q2")
    ),
]

# Deploy targets that run the project's container image (the generated Dockerfile).
IMAGE_TARGETS = ("docker-compose", "kubernetes", "fly", "render")


def unsupported_reason(**answers: Any) -> str:
    """Return why this combination is rejected, or an empty string if it is fine."""
    for condition, reason in UNSUPPORTED:
        if all(answers.get(key) == value for key, value in condition.items()):
            return reason
    return ""


@pass_context
def target_refusal(context: Context, target: str) -> str:
    """Why deploying the answers so far to *target* is refused, or an empty string.

    copier.yml calls it from each deploy_target choice: a refused target is
    shown disabled with this reason, and ``--data`` naming it fails with it.
    """
    axes = ("auth", "task_queue", "celery_broker", "cache", "database")
    answers = {axis: context.get(axis) for axis in axes} | {"deploy_target": target}
    # Every rule the answers break, so one change of answer is not met by the next refusal.
    return "; ".join(
        reason
        for condition, reason in UNSUPPORTED
        if all(answers.get(key) == value for key, value in condition.items())
    )


def services_for(answers: Mapping[str, Any]) -> set[str]:
    """Return the external services a combination of answers runs against."""
    services: set[str] = set()
    if answers.get("database") == "postgresql":
        services.add("postgresql")
    if answers.get("cache") in ("redis", "memcached"):
        services.add(str(answers["cache"]))
    queue = answers.get("task_queue")
    if queue == "celery":
        services.add(str(answers.get("celery_broker") or "redis"))
    elif queue in ("huey", "django-q2"):
        services.add("redis")
    return services


WEB_COMMAND = "gunicorn -c config/gunicorn.py config.wsgi"
RELEASE_COMMAND = "python manage.py migrate --noinput"


def background_processes(answers: Mapping[str, Any]) -> dict[str, str]:
    """The long-running processes besides web, by name: what every deploy target runs.

    Celery's beat must run exactly once, so it is a process of its own; huey's
    consumer runs its periodic tasks itself and django-q2's cluster its schedules.
    """
    queue = answers.get("task_queue")
    if queue == "celery":
        return {
            "worker": "celery -A config worker --loglevel=INFO",
            "beat": "celery -A config beat --loglevel=INFO",
        }
    if queue == "huey":
        return {"worker": "python manage.py run_huey"}
    if queue == "django-q2":
        return {"worker": "python manage.py qcluster"}
    return {}


class ContextUpdater(ContextHook):
    """Add values derived from the answers to the rendering context."""

    def hook(self, context: dict[str, Any]) -> None:
        answers = {
            key: context.get(key) for key in ("task_queue", "celery_broker", "cache", "database")
        }
        if None in (answers["task_queue"], answers["cache"], answers["database"]):
            # Still asking questions: nothing to derive yet.
            return
        services = services_for(answers)
        context["services"] = sorted(services)
        context["needs_postgresql"] = "postgresql" in services
        context["needs_redis"] = "redis" in services
        context["needs_rabbitmq"] = "rabbitmq" in services
        context["needs_memcached"] = "memcached" in services
        context["uses_image"] = context.get("deploy_target") in IMAGE_TARGETS
        context["web_command"] = WEB_COMMAND
        context["release_command"] = RELEASE_COMMAND
        context["background_processes"] = background_processes(answers)


class HelpersExtension(Extension):
    """Globals and tests used by copier.yml defaults and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["random_admin_path"] = random_admin_path
        environment.globals["target_refusal"] = target_refusal
        environment.tests["timezone"] = is_timezone
        environment.filters["python_string"] = python_string
        environment.filters["toml_string"] = toml_string


def random_admin_path() -> str:
    """Return an unguessable admin path such as ``manage-k3v9q2xw7d/``."""
    alphabet = string.ascii_lowercase + string.digits
    return "manage-" + "".join(secrets.choice(alphabet) for _ in range(10)) + "/"


def is_timezone(name: object) -> bool:
    """Return True when *name* is an IANA time zone this Python knows."""
    if not isinstance(name, str) or not name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


_CONTROL_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def python_string(value: object) -> str:
    """Return a Python string literal for *value*, quoted as ``ruff format`` writes it.

    Double quotes, unless the text holds double quotes and no single ones: then
    single quotes, which need no escaping. Answers such as a description with
    quotes in it therefore render to valid, already-formatted code.
    """
    text = str(value)
    quote = "'" if '"' in text and "'" not in text else '"'
    body = "".join(_CONTROL_ESCAPES.get(char, char) for char in text)
    return quote + body.replace(quote, "\\" + quote) + quote


def toml_string(value: object) -> str:
    """Return a TOML basic string for *value* (JSON's escapes are TOML's)."""
    return json.dumps(str(value), ensure_ascii=False)
