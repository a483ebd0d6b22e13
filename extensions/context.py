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

import functools
import json
import secrets
import string
import zoneinfo
from collections.abc import Iterable, Mapping
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
    # No managed MySQL on these platforms: kubernetes, systemd and compose take one.
    *(
        (
            {"database": "mysql", "deploy_target": target},
            f"database=mysql cannot be deployed to {target}: it offers no managed MySQL; "
            "choose database=postgresql, or deploy to docker-compose, kubernetes or systemd",
        )
        for target in ("fly", "render", "heroku")
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
# Targets whose web instances have no disk in common: uploads need object storage.
UNSHARED_DISK_TARGETS = ("kubernetes", "fly", "render", "heroku")
USERS_MIGRATIONS_BEFORE_AVATAR = {"session": "0001_initial", "jwt": "0002_user_token_generation"}


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


# The variable each service-backed answer reads its URL from (config/settings/).
CACHE_VARIABLES = {"redis": "REDIS_URL", "memcached": "MEMCACHED_SERVERS"}
BROKER_VARIABLES = {
    "celery": "CELERY_BROKER_URL",
    "huey": "HUEY_REDIS_URL",
    "django-q2": "DJANGO_Q_REDIS_URL",
}
# The module under config/ that configures each queue and defines its check_broker().
QUEUE_MODULES = {"celery": "celery", "huey": "huey", "django-q2": "django_q"}
# How prose names each queue and service.
QUEUE_TITLES = {"celery": "Celery", "huey": "huey", "django-q2": "django-q2"}
SERVICE_TITLES = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "redis": "Redis",
    "rabbitmq": "RabbitMQ",
    "memcached": "Memcached",
}
# The packages each answer adds to pyproject.toml's dependencies.
DATABASE_PACKAGES = {"postgresql": ["psycopg[binary,pool]>=3.2"], "mysql": ["mysqlclient>=2.2"]}
AUTH_PACKAGES = {
    "session": ["django-allauth>=65.10"],
    "jwt": ["djangorestframework-simplejwt>=5.5"],
}
QUEUE_PACKAGES = {"celery": ["celery>=5.5"], "huey": ["huey>=3.5"], "django-q2": ["django-q2>=1.8"]}
CACHE_PACKAGES = {"redis": ["django-redis>=6.0"], "memcached": ["pymemcache>=4.0"]}
# Redis database numbers: the cache and a queue's broker share one server.
REDIS_DATABASES = {"cache": 0, "broker": 1}


def broker_service(answers: Mapping[str, Any]) -> str:
    """The service the task queue's broker runs on, or "" without a queue."""
    queue = answers.get("task_queue")
    if queue == "celery":
        return str(answers.get("celery_broker") or "redis")
    return "redis" if queue in BROKER_VARIABLES else ""


def services_for(answers: Mapping[str, Any]) -> set[str]:
    """Return the external services a combination of answers runs against."""
    services: set[str] = set()
    if answers.get("database") in DATABASE_PACKAGES:
        services.add(str(answers["database"]))
    if answers.get("cache") in CACHE_VARIABLES:
        services.add(str(answers["cache"]))
    if broker := broker_service(answers):
        services.add(broker)
    return services


def url_variables(answers: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(variable, service, Redis database) of the cache's and the broker's URLs, in that order."""
    variables = []
    if cache_variable := CACHE_VARIABLES.get(str(answers.get("cache"))):
        variables.append((cache_variable, str(answers["cache"]), REDIS_DATABASES["cache"]))
    if broker_variable := BROKER_VARIABLES.get(str(answers.get("task_queue"))):
        variables.append((broker_variable, broker_service(answers), REDIS_DATABASES["broker"]))
    return variables


def service_urls(answers: Mapping[str, Any], **url_of: str) -> dict[str, str]:
    """The cache's and the broker's URL variables, each set to its service's URL in *url_of*.

    A URL may hold ``{db}``, the Redis database of its variable. A service left
    out of *url_of* leaves its variables out (its URL holds a password, say).
    """
    return {
        variable: url_of[service].format(db=db)
        for variable, service, db in url_variables(answers)
        if service in url_of
    }


def integration_packages(answers: Mapping[str, Any]) -> list[str]:
    """The requirements of the chosen auth, queue and cache, and of Redis when a service uses it."""
    queue = str(answers.get("task_queue"))
    queue_packages = QUEUE_PACKAGES.get(queue, [])
    if queue == "celery" and broker_service(answers) == "redis":
        queue_packages = ["celery[redis]>=5.5"]
    return [
        *AUTH_PACKAGES[str(answers.get("auth"))],
        *queue_packages,
        *CACHE_PACKAGES.get(str(answers.get("cache")), []),
        *(["redis>=5.2"] if "redis" in services_for(answers) else []),
    ]


def required_in_production(answers: Mapping[str, Any]) -> list[str]:
    """The variables production settings refuse to start without, in their order there."""
    return [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        *(variable for variable, _, _ in url_variables(answers)),
        "EMAIL_URL",
        *(["JWT_SIGNING_KEY"] if answers.get("auth") == "jwt" else []),
    ]


WEB_COMMAND = "gunicorn -c config/gunicorn.py config.wsgi"
# One process that runs tasks and periodic jobs on a developer's machine.
LOCAL_WORKER_COMMANDS = {
    "celery": "celery -A config worker --beat --loglevel=INFO",
    "huey": "python manage.py run_huey",
    "django-q2": "python manage.py qcluster",
}
RELEASE_COMMAND = "python manage.py migrate --noinput"


def prodcheck_args(answers: Mapping[str, Any]) -> str:
    """prodcheck's arguments after a deploy: without a queue signal 6 (async tasks) fails, 7/8."""
    return "" if answers.get("task_queue") in BROKER_VARIABLES else " --fail-under 7"


def queue_summary(answers: Mapping[str, Any]) -> str:
    """How the README's first lines name the task queue: "huey tasks on Redis", "no task queue"."""
    queue = str(answers.get("task_queue"))
    if queue == "celery":
        return f"Celery tasks on {answers.get('celery_broker') or 'redis'}"
    if queue in QUEUE_TITLES:
        return f"{QUEUE_TITLES[queue]} tasks on {SERVICE_TITLES[broker_service(answers)]}"
    return "no task queue"


def secret_keys(answers: Mapping[str, Any]) -> list[str]:
    """The signing keys a deploy generates: Django's, and simplejwt's with auth=jwt."""
    return ["DJANGO_SECRET_KEY", *(["JWT_SIGNING_KEY"] if answers.get("auth") == "jwt" else [])]


def readiness_dependencies(answers: Mapping[str, Any]) -> list[str]:
    """What /readyz checks, as it names them: the database, a cache service, the broker."""
    return [
        "database",
        *(["cache"] if answers.get("cache") in CACHE_VARIABLES else []),
        *(["broker"] if answers.get("task_queue") in BROKER_VARIABLES else []),
    ]


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
            key: context.get(key)
            for key in ("auth", "task_queue", "celery_broker", "cache", "database")
        }
        if None in (answers["task_queue"], answers["cache"], answers["database"]):
            # Still asking questions: nothing to derive yet.
            return
        services = services_for(answers)
        queue = str(answers["task_queue"])
        context["services"] = sorted(services)
        context["service_titles"] = SERVICE_TITLES
        context["needs_postgresql"] = "postgresql" in services
        context["needs_mysql"] = "mysql" in services
        context["needs_redis"] = "redis" in services
        context["needs_rabbitmq"] = "rabbitmq" in services
        context["needs_memcached"] = "memcached" in services
        context["uses_image"] = context.get("deploy_target") in IMAGE_TARGETS
        context["web_command"] = WEB_COMMAND
        context["release_command"] = RELEASE_COMMAND
        context["background_processes"] = background_processes(answers)
        context["cache_variable"] = CACHE_VARIABLES.get(str(answers["cache"]), "")
        context["broker_variable"] = BROKER_VARIABLES.get(queue, "")
        context["broker_service"] = broker_service(answers)
        context["queue_module"] = QUEUE_MODULES.get(queue, "")
        context["queue_title"] = QUEUE_TITLES.get(queue, "")
        context["local_worker_command"] = LOCAL_WORKER_COMMANDS.get(queue, "")
        context["queue_summary"] = queue_summary(answers)
        context["prodcheck_args"] = prodcheck_args(answers)
        context["secret_keys"] = secret_keys(answers)
        context["readiness_dependencies"] = readiness_dependencies(answers)
        context["required_in_production"] = required_in_production(answers)
        context["integration_packages"] = integration_packages(answers)
        context["database_packages"] = DATABASE_PACKAGES.get(str(answers["database"]), [])
        context["url_variables"] = url_variables(answers)
        context["service_urls"] = functools.partial(service_urls, answers)
        # The avatar migration follows the last migration the auth mode has.
        context["users_migration_before_avatar"] = USERS_MIGRATIONS_BEFORE_AVATAR[
            str(answers["auth"])
        ]
        # Instances that share no disk lose files uploaded to one of them.
        context["media_requires_object_storage"] = (
            context.get("deploy_target") in UNSHARED_DISK_TARGETS
        )


class HelpersExtension(Extension):
    """Globals and tests used by copier.yml defaults and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["random_admin_path"] = random_admin_path
        environment.globals["target_refusal"] = target_refusal
        environment.tests["timezone"] = is_timezone
        environment.filters["python_string"] = python_string
        environment.filters["toml_string"] = toml_string
        environment.filters["prose_list"] = prose_list


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


def prose_list(items: Iterable[object]) -> str:
    """Join *items* as prose does: "a", "a and b", "a, b and c"."""
    words = [str(item) for item in items]
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def toml_string(value: object) -> str:
    """Return a TOML basic string for *value* (JSON's escapes are TOML's)."""
    return json.dumps(str(value), ensure_ascii=False)
