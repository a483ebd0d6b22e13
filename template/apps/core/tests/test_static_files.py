"""Static files are answered in front of Django, with the security headers a page has."""

from collections.abc import Callable, Iterable
from pathlib import Path
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from apps.core.static_files import StaticFilesFirst

SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


class DjangoStandIn:
    """Django's WSGI handler as StaticFilesFirst sees it; records the paths passed on."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.paths.append(environ["PATH_INFO"])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"from Django"]


@pytest.fixture
def static_root(settings: Settings, tmp_path: Path) -> None:
    # As in production: files indexed once at start-up (the test settings refresh them).
    settings.WHITENOISE_AUTOREFRESH = False
    settings.WHITENOISE_USE_FINDERS = False
    settings.STATIC_ROOT = tmp_path
    settings.STATIC_URL = "/static/"
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    (tmp_path / "site.css").write_text("body { margin: 0 }")


def get(
    application: WSGIApplication, path: str, scheme: str = "https"
) -> tuple[str, dict[str, str], bytes]:
    """Call *application* as gunicorn would; its status, headers and body."""
    environ: WSGIEnvironment = {}
    setup_testing_defaults(environ)
    environ.update({"PATH_INFO": path, "wsgi.url_scheme": scheme})
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], object]:
        started.append((status, headers))
        return lambda data: None

    body = b"".join(application(environ, start_response))
    status, headers = started[0]
    return status, dict(headers), body


@pytest.mark.usefixtures("static_root")
def test_a_static_file_is_answered_without_reaching_django() -> None:
    django = DjangoStandIn()

    status, _, body = get(StaticFilesFirst(django), "/static/site.css")

    assert (status, body) == ("200 OK", b"body { margin: 0 }")
    assert django.paths == []


@pytest.mark.usefixtures("static_root")
def test_every_other_path_reaches_django() -> None:
    django = DjangoStandIn()

    status, _, body = get(StaticFilesFirst(django), "/static/missing.css")

    assert (status, body) == ("404 Not Found", b"from Django")
    assert django.paths == ["/static/missing.css"]


@pytest.mark.usefixtures("static_root")
def test_a_static_file_asked_over_plain_http_is_left_to_django_to_redirect() -> None:
    django = DjangoStandIn()

    get(StaticFilesFirst(django), "/static/site.css", scheme="http")

    assert django.paths == ["/static/site.css"]


@pytest.mark.usefixtures("static_root")
def test_in_development_static_files_are_left_to_the_middleware_that_refreshes_them(
    settings: Settings,
) -> None:
    settings.WHITENOISE_AUTOREFRESH = True
    django = DjangoStandIn()

    get(StaticFilesFirst(django), "/static/site.css")

    assert django.paths == ["/static/site.css"]


@pytest.mark.usefixtures("static_root")
def test_a_static_file_has_the_security_headers_of_a_page(client: Client) -> None:
    page = client.get("/api/users/me/", secure=True)

    _, headers, _ = get(StaticFilesFirst(DjangoStandIn()), "/static/site.css")

    expected = {name: page.headers.get(name) for name in SECURITY_HEADERS}
    assert None not in expected.values(), expected
    assert {name: headers.get(name) for name in SECURITY_HEADERS} == expected
