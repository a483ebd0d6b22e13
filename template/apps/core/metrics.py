"""Prometheus metrics: what the site and its worker count, served with a bearer token.

prometheus-client is used directly rather than django-prometheus: the latter counts
queries and cache calls by swapping DATABASES' ENGINE and CACHES' BACKEND for
subclasses of its own, which would replace this project's pooled PostgreSQL and
outage-tolerant cache backends; one middleware and Django's execute_wrapper count
the same here. Under gunicorn (and a worker's pool) every process writes its
values to PROMETHEUS_MULTIPROC_DIR (config/settings/metrics.py), and a scrape
sums them all.
"""

import hmac
import os
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from apps.core.exceptions import error_body

METRICS_PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by view, method and status.",
    ["view", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by view.",
    ["view", "method"],
)
REQUEST_QUERIES = Histogram(
    "http_request_db_queries",
    "Database queries made to answer one HTTP request, by view.",
    ["view"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
)
CACHE_READS = Counter(
    "cache_reads_total",
    "Reads of the shared cache, by what was read and hit or miss.",
    ["key", "result"],
)
TASKS_ENQUEUED = Counter("tasks_enqueued_total", "Tasks handed to the queue.", ["task"])
TASKS_SUCCEEDED = Counter("tasks_succeeded_total", "Tasks a worker finished.", ["task"])
TASKS_FAILED = Counter("tasks_failed_total", "Tasks that raised and will not be retried.", ["task"])
TASKS_RETRIED = Counter(
    "tasks_retried_total", "Task attempts that failed and will be retried.", ["task"]
)
TASK_LATENCY = Histogram(
    "task_queue_latency_seconds",
    "Time from enqueueing a task to a worker starting it.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)


def connect_task_metrics() -> None:
    """Connect the queue's signals (TASKS_METRICS, apps/core/task_metrics.py), if there is a queue."""
    if settings.TASKS_METRICS:
        import_string(settings.TASKS_METRICS)()


def record_cache_read(key: str, *, hit: bool) -> None:
    """Count one read of the shared cache; *key* names what was read, not the cache key."""
    CACHE_READS.labels(key, "hit" if hit else "miss").inc()


def record_task_started(task: str, enqueued_at: float | None) -> None:
    """Observe the wait of a task a worker starts, when its enqueue time travelled with it."""
    if enqueued_at is not None:
        TASK_LATENCY.labels(task).observe(max(0.0, time.time() - enqueued_at))


def exposition() -> bytes:
    """Every process's values, summed, in Prometheus' text format."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def authorized(header: str) -> bool:
    """Whether an Authorization header carries METRICS_TOKEN (compared in constant time)."""
    token = settings.METRICS_TOKEN
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given, token)


class QueryCounter:
    """An execute_wrapper that counts the queries it sees."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], *args: Any) -> Any:
        self.count += 1
        return execute(*args)


class MetricsMiddleware:
    """Count every request after it; answer ``/metrics`` before host checks and redirects.

    Prometheus scrapes a pod or a loopback address over plain HTTP, so the page
    is answered here, like the health probes, and guarded by METRICS_TOKEN:
    404 while metrics are off, 401 without the token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == METRICS_PATH:
            return metrics_response(request.headers.get("Authorization", ""))
        counter = QueryCounter()
        started = time.perf_counter()
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view, method).observe(time.perf_counter() - started)
        REQUEST_QUERIES.labels(view).observe(counter.count)
        return response


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name (bounded, unlike paths); the probes and 404s by what they are."""
    match = request.resolver_match
    if match is not None:
        return match.view_name or match.route
    path = request.path_info.rstrip("/")
    return path.lstrip("/") if path in ("/healthz", "/readyz") else "unmatched"


def metrics_response(authorization: str) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    if not authorized(authorization):
        response = JsonResponse(
            error_body("not_authenticated", "A bearer token is required."), status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The worker's metrics page as a WSGI app: the same token, the same format."""
    if environ.get("PATH_INFO") != METRICS_PATH or not authorized(
        environ.get("HTTP_AUTHORIZATION", "")
    ):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found.\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [exposition()]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a log line each."""


_serving = threading.Lock()


def serve_worker_metrics() -> None:
    """In a worker's main process: serve /metrics on METRICS_WORKER_PORT, once, if metrics are on.

    A worker has no web server of its own; its pool's processes write to the
    directory this process made, and this page sums them.
    """
    if not settings.METRICS_TOKEN or not _serving.acquire(blocking=False):
        return
    server = make_server(
        settings.METRICS_WORKER_HOST,
        settings.METRICS_WORKER_PORT,
        metrics_app,
        server_class=WSGIServer,
        handler_class=QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
