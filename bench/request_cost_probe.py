"""Run by bench/request_cost inside a project's venv: CPU time per request, in-process.

    python request_cost_probe.py ROUNDS REQUESTS session|jwt   (in the project, production env)
    python request_cost_probe.py ROUNDS REQUESTS ceiling       (bench/ceiling on sys.path)

Calls the WSGI application directly, rounds of each target interleaved, and
prints {target: [CPU microseconds per request, one per round]} as JSON. It
imports nothing from django-prod: it runs with the project's own packages.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from unittest import mock

Environ = dict[str, Any]
# A request to time, and what to change around it (a context manager factory).
Target = tuple[Callable[[], None], Callable[[], AbstractContextManager[Any]]]
WARM_UP_REQUESTS = 50


def wsgi_environ(path: str, headers: dict[str, str]) -> Environ:
    environ: Environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def caller(application: Callable[..., Any], environ: Environ) -> Callable[[], None]:
    """One request to *application*; fails loudly on anything but a 200."""

    def call() -> None:
        statuses: list[str] = []
        body = application(
            {**environ, "wsgi.input": io.BytesIO(b"")},
            lambda status, headers, exc_info=None: statuses.append(status),
        )
        content = b"".join(body)
        getattr(body, "close", lambda: None)()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{environ['PATH_INFO']}: {statuses[0]} {content[:300]!r}")

    return call


def measure(targets: dict[str, Target], rounds: int, requests: int) -> dict[str, list[float]]:
    """CPU µs per request of each target (call, context manager), rounds interleaved."""
    results: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (call, context) in targets.items():
            with context():
                for _ in range(WARM_UP_REQUESTS):
                    call()
                started = time.process_time()
                for _ in range(requests):
                    call()
                results[name].append((time.process_time() - started) / requests * 1e6)
    return results


def ceiling_targets() -> dict[str, Target]:
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    application = get_wsgi_application()
    return {"ceiling": (caller(application, wsgi_environ("/healthz", {})), nullcontext)}


def project_targets(auth: str) -> dict[str, Target]:
    import django

    sys.path.insert(0, os.getcwd())  # the project: the probe runs from its directory
    django.setup()
    from apps.users.api.views import MeView
    from apps.users.models import User
    from django.core.wsgi import get_wsgi_application
    from rest_framework.response import Response

    application = get_wsgi_application()
    user = User.objects.filter(email="request-cost@example.com").first()
    if user is None:
        user = User.objects.create_user(email="request-cost@example.com", password=None)
    headers = {"X-Forwarded-Proto": "https", **credentials(auth, user)}
    me = caller(application, wsgi_environ("/api/users/me/", headers))

    def constant(self: Any, request: Any) -> Response:
        return Response({"status": "ok"})

    return {
        "/healthz": (caller(application, wsgi_environ("/healthz", {})), nullcontext),
        "DRF floor": (
            me,
            lambda: mock.patch.multiple(
                MeView,
                authentication_classes=(),
                permission_classes=(),
                throttle_classes=(),
                get=constant,
            ),
        ),
        f"/api/users/me/ ({auth}), no throttles": (
            me,
            lambda: mock.patch.multiple(MeView, throttle_classes=()),
        ),
        f"/api/users/me/ ({auth})": (me, nullcontext),
    }


def credentials(auth: str, user: Any) -> dict[str, str]:
    """The header a signed-in client sends: a bearer token, or the session cookie."""
    from django.conf import settings

    if auth == "jwt":
        from apps.users.tokens import SignInRefreshToken

        return {"Authorization": f"Bearer {SignInRefreshToken.for_user(user).access_token}"}
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"Cookie": f"{cookie.key}={cookie.value}"}


def main() -> None:
    rounds, requests, which = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    targets = ceiling_targets() if which == "ceiling" else project_targets(auth=which)
    print(json.dumps(measure(targets, rounds, requests)))


if __name__ == "__main__":
    main()
