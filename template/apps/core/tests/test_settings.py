"""The helpers that turn environment variables into settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.environment import mailer_settings, require_env


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
