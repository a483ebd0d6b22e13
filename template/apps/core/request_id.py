"""The id of the request being served, for log lines and error bodies.

A context variable holds it, so it follows the request through threads and async code.
"""

import logging
import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# Where an enqueued task carries the id of the request that enqueued it.
TASK_REQUEST_ID_KEY = "x_request_id"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_current: ContextVar[str] = ContextVar("request_id", default="-")


def get_request_id() -> str:
    """Return the current request's id, or ``-`` outside a request."""
    return _current.get()


def choose_request_id(incoming: str | None) -> str:
    """Keep a well-formed incoming id so traces join up; otherwise make a new one."""
    if incoming and _ACCEPTED.match(incoming):
        return incoming
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> None:
    """Make *request_id* the current one until the request finishes."""
    _current.set(request_id)


def clear_request_id(**kwargs: object) -> None:
    """``request_finished`` receiver: log lines between requests carry no id."""
    _current.set("-")


class RequestIDLogFilter(logging.Filter):
    """Attach the current request id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        return True
