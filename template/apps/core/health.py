"""Liveness and readiness.

Liveness (``/healthz``) says the process serves requests and touches no
dependency, so a database outage never gets healthy web processes restarted.
Readiness (``/readyz``) runs every check in ``settings.READINESS_CHECKS`` and
names each dependency that failed. It answers 503 unless every failing one is
in ``settings.READINESS_OPTIONAL``: dependencies, such as a cache, without which
the site still serves. Then it answers 200 with the status ``degraded``, so a
load balancer keeps sending traffic while monitoring sees the outage.
"""

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
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


def run_readiness_checks() -> dict[str, str]:
    """Run every check; map each dependency to ``ok`` or ``unavailable``."""
    results = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception:
            # The details go to the log, not to an unauthenticated response.
            logger.exception("readiness check failed", extra={"dependency": name})
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    return results


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
    return JsonResponse(body, status=http_status)
