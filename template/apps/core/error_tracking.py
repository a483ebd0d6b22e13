"""What every Sentry event gets before it leaves the process (config/settings/sentry.py)."""

from django.conf import settings
from sentry_sdk.types import Event, Hint

from apps.core.request_id import get_request_id


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
