"""Hostile or malformed requests get a 4xx with the API's JSON error body, never a 500."""

import logging

import pytest
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.core.parsers import MAX_NESTING, JSONParser

pytestmark = pytest.mark.django_db

ME = "/api/users/me/"
# Far deeper than Python 3.13's JSON decoder can recurse; 3.14's decodes it.
NESTED_JSON = "[" * 50_000 + "]" * 50_000


def name_nested(levels: int) -> str:
    """A PATCH body for /me whose innermost array is *levels* deep, counting the body."""
    return '{"full_name": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def api_views(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[type[APIView]]:
    views: list[type[APIView]] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            views += api_views(pattern.url_patterns, route)
        elif route.startswith("api/") and isinstance(getattr(pattern.callback, "cls", None), type):
            views.append(pattern.callback.cls)  # type: ignore[attr-defined]  # set by as_view()
    return views


def test_deeply_nested_json_is_a_400_with_the_json_error_body(signed_in_client: APIClient) -> None:
    response = signed_in_client.patch(ME, NESTED_JSON, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "nested too deeply" in response.json()["error"]["message"]


def test_json_nested_to_the_limit_reaches_the_serializer(signed_in_client: APIClient) -> None:
    response = signed_in_client.patch(ME, name_nested(MAX_NESTING), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "full_name" in response.json()["error"]["details"]


def test_json_nested_past_the_limit_is_a_parse_error_on_every_python(
    signed_in_client: APIClient,
) -> None:
    body = name_nested(MAX_NESTING + 1)

    response = signed_in_client.patch(ME, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_every_api_endpoint_reads_json_with_the_parser_that_refuses_deep_nesting() -> None:
    views = api_views(get_resolver().url_patterns)

    assert views
    for view in views:
        # Uploads (the avatar) are multipart and read no JSON at all.
        reading_json = [p for p in view().parser_classes if "json" in p.media_type]
        assert all(issubclass(parser, JSONParser) for parser in reading_json), view


def test_an_oversized_body_on_an_api_path_gets_the_json_error_body(
    signed_in_client: APIClient, settings: Settings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = '{"full_name": "' + "x" * 2_000 + '"}'

    response = signed_in_client.patch(ME, body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_request"


def test_an_oversized_form_elsewhere_still_gets_the_html_page(
    client: Client, settings: Settings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = client.post(f"/{settings.ADMIN_URL}login/", {"username": "x" * 2_000})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_api_error_message_is_human_text_for_a_bad_bearer_token(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get(ME)

    assert response.status_code in (401, 403)
    message = response.json()["error"]["message"]
    assert "{" not in message, message
    assert "ErrorDetail" not in message, message


def test_a_foreign_host_is_a_logged_warning_not_an_email_to_admins(
    client: Client, caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    settings.ADMINS = ["ops@example.com"]
    caplog.set_level(logging.INFO, logger="django.security.DisallowedHost")

    response = client.get("/", headers={"host": "attacker.example"})

    assert response.status_code == 400
    assert mail.outbox == []
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert record.levelname == "WARNING"
    assert "attacker.example" in record.getMessage()
