"""Production settings refuse to start half-configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 64,
    "DJANGO_ALLOWED_HOSTS": "app.example.com",
    "DATABASE_URL": "postgres://app@db.internal:5432/app",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def load_production_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('loaded')"],
        cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_production_settings_load_with_the_full_environment() -> None:
    result = load_production_settings(PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


@pytest.mark.parametrize("variable", sorted(set(PRODUCTION_ENV) - {"DJANGO_SETTINGS_MODULE"}))
def test_a_missing_production_variable_is_named(variable: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != variable}

    result = load_production_settings(env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {variable} environment variable" in result.stderr
