"""Dump the settings every application combination renders, to compare two template trees.

    uv run python -m bench.settings_equivalence TEMPLATE_DIR OUT.json [PYTHON]

renders each of the supported ``X.none`` combinations from TEMPLATE_DIR, imports
``config.settings.production`` (with a full production environment) and
``config.settings.test`` in PYTHON (an interpreter with every integration's
packages installed), and writes their stack-dependent values to OUT.json.
Two trees that render the same settings write the same file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

from tests.support.combinations import suite_combinations

NAMES = [
    "DATABASES",
    "CACHES",
    "SESSION_ENGINE",
    "READINESS_OPTIONAL",
    "READINESS_CHECKS",
    "TASK_QUEUE",
    "TASKS_RUN_IN_PROCESS",
    "HUEY",
    "Q_CLUSTER",
    "SIMPLE_JWT",
    "REST_FRAMEWORK",
    "INSTALLED_APPS",
    "MIDDLEWARE",
    "AUTHENTICATION_BACKENDS",
    "REQUIRED_IN_PRODUCTION",
    "LOGGING",
    "WELCOME_EMAIL_RESEND_AFTER",
    "DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS",
    "TIME_ZONE",
    "ACCOUNT_ADAPTER",
    "ALLAUTH_TRUSTED_PROXY_COUNT",
    "ACCOUNT_USER_MODEL_USERNAME_FIELD",
    "ACCOUNT_LOGIN_METHODS",
    "ACCOUNT_SIGNUP_FIELDS",
    "ACCOUNT_UNIQUE_EMAIL",
    "ACCOUNT_EMAIL_VERIFICATION",
    "ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION",
    "ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE",
    "LOGIN_REDIRECT_URL",
]

PROBE = r"""
import json, os, sys
import django
from django.conf import settings
django.setup()
def plain(value):
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {"__type__": type(value).__qualname__, **plain(vars(value))}
    return repr(value)
names = sys.argv[1:]
celery = {k: getattr(settings, k) for k in dir(settings) if k.startswith("CELERY_")}
out = {n: plain(getattr(settings, n)) for n in names if hasattr(settings, n)}
out["missing"] = [n for n in names if not hasattr(settings, n)]
out["CELERY"] = plain(celery)
text = json.dumps(out, sort_keys=True).replace(os.getcwd(), "<project>")
print(text.replace(str(os.getpid()), "PID"))
"""

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "s" * 64,
    "DJANGO_ALLOWED_HOSTS": "example.com",
    "DATABASE_URL": "",  # filled per database
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MEMCACHED_SERVERS": "127.0.0.1:11211",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
    "HUEY_REDIS_URL": "redis://127.0.0.1:6379/2",
    "DJANGO_Q_REDIS_URL": "redis://127.0.0.1:6379/3",
    "EMAIL_URL": "smtp+tls://u:p@smtp.example.com:587",
    "JWT_SIGNING_KEY": "j" * 64,
    "PATH": "/usr/bin:/bin",
}


def dump(template: Path, python: str) -> dict[str, object]:
    result: dict[str, object] = {}
    for combination in suite_combinations():
        answers = {**combination.answers, "project_slug": "demo", "timezone": "Europe/Paris"}
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp) / "p"
            copier.run_copy(
                str(template), project, data=answers, defaults=True, unsafe=True, quiet=True,
                skip_tasks=True, vcs_ref=None,
            )  # fmt: skip
            database_url = (
                "postgres://u:p@127.0.0.1:5432/demo"
                if answers["database"] == "postgresql"
                else "sqlite:////var/lib/demo/db.sqlite3"
            )
            entry = {}
            for module in ("production", "test", "local"):
                env = {**PRODUCTION_ENV, "DATABASE_URL": database_url}
                if module != "production":
                    env = {"PATH": env["PATH"]}
                env["DJANGO_SETTINGS_MODULE"] = f"config.settings.{module}"
                out = subprocess.run(
                    [python, "-c", PROBE, *NAMES], cwd=project, env=env,
                    capture_output=True, text=True,
                )  # fmt: skip
                entry[module] = json.loads(out.stdout) if out.returncode == 0 else out.stderr
            result[combination.id] = entry
        print(combination.id, file=sys.stderr)
    return result


if __name__ == "__main__":
    template, output = Path(sys.argv[1]), Path(sys.argv[2])
    python = sys.argv[3] if len(sys.argv) > 3 else "/tmp/settings-venv/bin/python"
    output.write_text(json.dumps(dump(template, python), indent=1, sort_keys=True))
