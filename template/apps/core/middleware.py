"""Middleware: request ids, and health probes answered before anything else."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.core import health
from apps.core.request_id import REQUEST_ID_HEADER, bind_request_id, choose_request_id


class RequestIDMiddleware:
    """Give each request an id, expose it as ``request.id`` and in the response header.

    The id stays bound until ``request_finished`` (see CoreConfig.ready), so
    Django's own ``django.request`` error lines, written after the middleware
    chain returns, carry it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.id = request_id  # type: ignore[attr-defined]
        bind_request_id(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class HealthCheckMiddleware:
    """Answer ``/healthz`` and ``/readyz`` before host validation and HTTPS redirects.

    Probes from load balancers and orchestrators call the container by IP over
    plain HTTP; going through ALLOWED_HOSTS or SECURE_SSL_REDIRECT would fail
    them for reasons unrelated to the app's health.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.probes: dict[str, Callable[[], HttpResponse]] = {
            "/healthz": health.liveness_response,
            "/readyz": health.readiness_response,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self.probes.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe()
        return self.get_response(request)
