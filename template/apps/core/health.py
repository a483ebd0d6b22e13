"""Liveness and readiness.

Liveness (``/healthz``) says the process serves requests and touches no
dependency, so a database outage never gets healthy web processes restarted.
Readiness (``/readyz``) runs every check in ``settings.READINESS_CHECKS`` and
names each dependency that failed. It answers 503 unless every failing one is
in ``settings.READINESS_OPTIONAL``: dependencies, such as a cache, without which
the site still serves. Then it answers 200 with the status ``degraded``, so a
load balancer keeps sending traffic while monitoring sees the outage.

A dependency that accepts connections but never answers must not hold the web
process: each check runs in a thread of its own and counts as unavailable once
``READINESS_TIMEOUT_SECONDS`` have passed. One run at a time per process, its
result reused for ``READINESS_CACHE_SECONDS``, so a burst of probes costs one
run; a check still hung from an earlier run is not started again.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection, connections
from django.http import JsonResponse
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=5)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def readiness_checks() -> dict[str, Callable[[], None]]:
    """Return the configured checks by dependency name (``check_database`` -> ``database``)."""
    checks = {}
    for dotted_path in settings.READINESS_CHECKS:
        check = import_string(dotted_path)
        checks[check.__name__.removeprefix("check_")] = check
    return checks


class ReadinessProbe:
    """Runs the checks with a deadline, one run at a time, and remembers the last result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Future[None]] = {}
        self._last: tuple[float, dict[str, str]] | None = None

    def results(self) -> dict[str, str]:
        # Probes arriving during a run wait for it (at most its deadline) and
        # share its result instead of starting checks of their own.
        with self._lock:
            if self._last is not None:
                finished_at, results = self._last
                if time.monotonic() - finished_at < settings.READINESS_CACHE_SECONDS:
                    return dict(results)
            results = self._run(readiness_checks())
            self._last = (time.monotonic(), results)
            return dict(results)

    def _run(self, checks: dict[str, Callable[[], None]]) -> dict[str, str]:
        load_clients()
        results: dict[str, str] = {}
        started: dict[str, Future[None]] = {}
        for name, check in checks.items():
            if name in self._running and not self._running[name].done():
                logger.warning("readiness check still hung", extra={"dependency": name})
                results[name] = "unavailable"
                continue
            started[name] = self._running[name] = _start(check)
        wait(started.values(), timeout=settings.READINESS_TIMEOUT_SECONDS)
        for name, future in started.items():
            if not future.done():
                logger.error(
                    "readiness check timed out",
                    extra={"dependency": name, "timeout": settings.READINESS_TIMEOUT_SECONDS},
                )
                results[name] = "unavailable"
            elif (error := future.exception()) is not None:
                # The details go to the log, not to an unauthenticated response.
                logger.error("readiness check failed", exc_info=error, extra={"dependency": name})
                results[name] = "unavailable"
            else:
                results[name] = "ok"
        return {name: results[name] for name in checks}


def load_clients() -> None:
    """Import the database's and the cache's client libraries here, before the check threads.

    Two threads importing one package at once (redis, for a cache and a broker
    both on Redis) can fail with Python's import deadlock error: a cold
    worker's first probe would report a healthy dependency down.
    """
    connections["default"]  # imports the database backend
    caches["default"]  # imports the cache backend's client


def _start(check: Callable[[], None]) -> Future[None]:
    """Run *check* in a daemon thread: one that hangs never delays the process's exit."""
    future: Future[None] = Future()

    def run() -> None:
        try:
            check()
        except BaseException as error:  # handed to the probe, which logs it
            future.set_exception(error)
        else:
            future.set_result(None)
        finally:
            # The thread's own database connections go back to the pool.
            connections.close_all()

    threading.Thread(target=run, name="readiness-check", daemon=True).start()
    return future


probe = ReadinessProbe()


def run_readiness_checks() -> dict[str, str]:
    """Run every check, or reuse a result seconds old; map each dependency to its state."""
    return probe.results()


def liveness_response() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness_response() -> JsonResponse:
    results = run_readiness_checks()
    failing = sorted(name for name, state in results.items() if state != "ok")
    required_failing = [name for name in failing if name not in settings.READINESS_OPTIONAL]
    if required_failing:
        status, http_status = "unavailable", 503
    elif failing:
        status, http_status = "degraded", 200
    else:
        status, http_status = "ok", 200
    body = {"status": status, "checks": results, "failing": failing}
    response = JsonResponse(body, status=http_status)
    # A 503 here is an answer, not a server error: the checks logged the cause,
    # and Django must not log it again (nor e-mail ADMINS) on every probe.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
