"""What a Sentry event gets before it leaves the process, and prodcheck's line about it."""

import pytest
from pytest_django.fixtures import Settings
from sentry_sdk.types import Event

from apps.core.error_tracking import before_send
from apps.core.management.commands.prodcheck import error_tracking
from apps.core.request_id import bind_request_id


@pytest.fixture(autouse=True)
def no_request() -> None:
    bind_request_id("-")


def test_an_event_in_a_request_is_tagged_with_its_id() -> None:
    bind_request_id("edge-7f3a9c21")

    assert before_send({"tags": {"a": "b"}}, {}) == {
        "tags": {"a": "b", "request_id": "edge-7f3a9c21"}
    }


def test_an_event_outside_a_request_has_no_request_id_tag() -> None:
    assert before_send({}, {}) == {}


def test_a_log_line_repeating_a_reported_failure_is_dropped(settings: Settings) -> None:
    settings.TASKS_SENTRY_DUPLICATE_LOGS = [("queue", "Failed '")]
    repeated: Event = {"logger": "queue", "logentry": {"message": "Failed 'job' - boom"}}
    other: Event = {"logger": "queue", "logentry": {"message": "Cluster stopped"}}

    assert before_send(repeated, {}) is None
    assert before_send(other, {}) == other


def test_prodcheck_names_sentrys_host_and_project_never_the_key(settings: Settings) -> None:
    settings.SENTRY_DSN = "https://public-key-123@o1.ingest.example.io/4242"
    settings.SENTRY_ENVIRONMENT = "staging"
    settings.SENTRY_RELEASE = "abc123"

    detail = error_tracking()

    assert detail == (
        "Sentry, project 4242 at o1.ingest.example.io; environment staging, release abc123"
    )
    assert "public-key-123" not in detail


def test_prodcheck_says_error_tracking_is_off_without_a_dsn(settings: Settings) -> None:
    settings.SENTRY_DSN = ""

    assert error_tracking() == "off: SENTRY_DSN is not set"
