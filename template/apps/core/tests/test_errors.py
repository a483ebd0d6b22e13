import socket

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from pytest_django.fixtures import Settings

pytestmark = pytest.mark.django_db


def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the view failed")


urlpatterns = [path("api/broken/", broken_view)]
handler500 = "apps.core.views.server_error"


def test_unknown_api_paths_answer_json_404(client: Client) -> None:
    response = client.get("/api/does-not-exist/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_pages_answer_the_html_404(client: Client) -> None:
    response = client.get("/does-not-exist/")

    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_server_errors_answer_json_on_api_paths_and_html_elsewhere() -> None:
    from django.test import RequestFactory

    from apps.core.views import server_error

    factory = RequestFactory()
    api = server_error(factory.get("/api/users/"))
    page = server_error(factory.get("/"))

    assert api.status_code == page.status_code == 500
    assert api["Content-Type"] == "application/json"
    assert b"server_error" in api.content
    assert b"Server Error" in page.content or b"went wrong" in page.content


@pytest.mark.urls(__name__)
def test_a_server_error_is_answered_even_when_the_error_mail_cannot_be_sent(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.ADMINS = ["ops@example.com"]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2},
        }
    }

    response = Client(raise_request_exception=False).get("/api/broken/")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "error report not e-mailed to ADMINS" in caplog.text
