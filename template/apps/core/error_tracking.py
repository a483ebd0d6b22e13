"""Sentry, started by config/settings/sentry.py when SENTRY_DSN is set, and what
every event gets before it leaves the process."""

import sentry_sdk
from django.conf import settings
from django.utils.module_loading import import_string
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber
from sentry_sdk.types import Event, Hint

from apps.core.request_id import get_request_id


def start_sentry(
    *,
    dsn: str,
    environment: str,
    release: str | None,
    traces_sample_rate: float,
    scrubbed_keys: list[str],
    task_integrations: list[str],
) -> None:
    """Report errors (and the sampled traces) of Django and the task queue to *dsn*.

    *task_integrations* are dotted paths of sentry-sdk integration classes.
    """
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[DjangoIntegration(), *(import_string(path)() for path in task_integrations)],
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *scrubbed_keys], recursive=True),
        before_send=before_send,
    )


def before_send(event: Event, hint: Hint) -> Event | None:
    """Tag the event with the current request id; drop a failure its queue reports twice.

    In a worker the id is the one of the request that enqueued the task.
    """
    if is_duplicate_report(event):
        return None
    request_id = get_request_id()
    if request_id != "-":
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def is_duplicate_report(event: Event) -> bool:
    """A log line the queue writes about a failure its worker already reported (tasks.py)."""
    logger = event.get("logger")
    message = str(event.get("logentry", {}).get("message", ""))
    return any(
        logger == name and message.startswith(prefix)
        for name, prefix in settings.TASKS_SENTRY_DUPLICATE_LOGS
    )
