"""The 8-signal check, run under the test settings (which are not production)."""

import json
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings

from apps.core.management.commands import prodcheck

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("prodcheck", *args, stdout=out)
    return out.getvalue()


def test_test_settings_fail_the_production_signals() -> None:
    with pytest.raises(CommandError, match=r"prodcheck scored \d/8, below 8"):
        run()


def test_json_output_lists_all_eight_signals() -> None:
    payload = json.loads(run("--json", "--fail-under", "0"))

    assert payload["out_of"] == 8
    assert [s["number"] for s in payload["signals"]] == list(range(1, 9))
    assert payload["score"] == sum(s["healthy"] for s in payload["signals"])


def test_the_settings_split_and_migrations_signals_pass_here() -> None:
    signals = {s.name: s for s in prodcheck.evaluate()}

    assert signals["Settings split"].healthy
    assert signals["Migrations"].healthy


def test_a_development_secret_key_fails_secret_management(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SECRET_KEY", settings.SECRET_KEY)
    assert prodcheck.secret_management()[0]

    settings.SECRET_KEY = "django-insecure-abc"
    monkeypatch.setenv("DJANGO_SECRET_KEY", "django-insecure-abc")
    assert prodcheck.secret_management() == (False, "SECRET_KEY is a development key")

    settings.DEBUG = True
    assert prodcheck.secret_management() == (False, "DEBUG is on")


def test_a_per_process_cache_fails_the_caching_signal(settings: Settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    assert prodcheck.caching() == (False, "LocMemCache is not a shared production cache")


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ({"OPTIONS": {"pool": {"max_size": 4}}}, (True, "connection pool configured")),
        (
            {"CONN_MAX_AGE": 600, "OPTIONS": {}},
            (True, "persistent connections (CONN_MAX_AGE) with health checks"),
        ),
        (
            {"CONN_MAX_AGE": 0, "OPTIONS": {}},
            (False, "no connection pool or persistent connections: default"),
        ),
    ],
)
def test_the_pooling_signal_wants_a_pool_or_persistent_connections(
    monkeypatch: pytest.MonkeyPatch, database: dict[str, object], expected: tuple[bool, str]
) -> None:
    configured = SimpleNamespace(DATABASES={"default": database})
    monkeypatch.setattr(prodcheck, "settings", configured)

    assert prodcheck.database_pooling() == expected


def test_unhashed_static_files_fail_the_static_signal() -> None:
    healthy, detail = prodcheck.static_files()

    assert not healthy
    assert "hashed" in detail


def test_in_process_tasks_fail_the_async_signal() -> None:
    healthy, detail = prodcheck.background_tasks()

    assert not healthy
    assert "in-process" in detail


def test_the_text_report_prints_a_score(capsys: pytest.CaptureFixture[str]) -> None:
    output = run("--fail-under", "0")

    assert "1. [PASS] Settings split" in output
    assert "Score: " in output
