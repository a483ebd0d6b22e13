import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


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
