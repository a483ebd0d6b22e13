"""The helpers that turn environment variables into settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from psycopg_pool import ConnectionPool

from config.settings.environment import mailer_settings, require_env
from config.settings.stack import cache_settings, database_settings


def test_no_database_url_means_the_embedded_sqlite_file() -> None:
    config = database_settings("")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert str(config["NAME"]).endswith("db.sqlite3")


def test_postgres_gets_a_checked_pool_and_a_statement_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_POOL_MAX_SIZE", "20")

    config = database_settings("postgres://app:secret@db.internal:5432/app")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is True
    assert config["OPTIONS"]["pool"]["max_size"] == 20
    assert config["OPTIONS"]["pool"]["check"] is ConnectionPool.check_connection
    assert config["OPTIONS"]["options"] == "-c statement_timeout=30000"


def test_no_redis_url_means_a_per_process_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)

    config = cache_settings(key_prefix="app")

    assert config["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_cache_has_a_prefix_and_socket_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    monkeypatch.delenv("CACHE_KEY_PREFIX", raising=False)

    config = cache_settings(key_prefix="app")

    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert config["LOCATION"] == "redis://cache.internal:6379/0"
    assert config["KEY_PREFIX"] == "app"
    assert config["OPTIONS"]["socket_timeout"] == 2


def test_require_env_names_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIRST_MISSING", raising=False)
    monkeypatch.setenv("SECOND_MISSING", "")
    monkeypatch.setenv("PRESENT", "yes")

    require_env("PRESENT")
    with pytest.raises(ImproperlyConfigured, match="Set the FIRST_MISSING, SECOND_MISSING"):
        require_env("FIRST_MISSING", "PRESENT", "SECOND_MISSING")


def test_an_smtp_email_url_becomes_a_mailer() -> None:
    mailer = mailer_settings("smtp+tls://mailer:s3cret@smtp.example.com:587")

    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "mailer",
        "password": "s3cret",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 10,
    }


def test_a_console_email_url_needs_no_options() -> None:
    assert mailer_settings("consolemail://") == {
        "BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
