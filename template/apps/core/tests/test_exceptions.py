"""Every API error has the same body: {"error": {code, message, details}, "request_id"}."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions

from apps.core.exceptions import api_exception_handler


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.Throttled(wait=30), 429, "throttled"),
        (exceptions.MethodNotAllowed("DELETE"), 405, "method_not_allowed"),
        (Http404(), 404, "not_found"),
        (PermissionDenied(), 403, "permission_denied"),
    ],
)
def test_api_errors_share_one_body(exc: Exception, status: int, code: str) -> None:
    response = api_exception_handler(exc, {})

    assert response is not None
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert response.data["error"]["message"]
    assert response.data["request_id"] == "-"


def test_validation_errors_carry_field_details() -> None:
    exc = exceptions.ValidationError({"email": ["Enter a valid e-mail address."]})

    response = api_exception_handler(exc, {})

    assert response is not None
    assert response.status_code == 400
    assert response.data["error"]["details"] == {"email": ["Enter a valid e-mail address."]}


def test_throttled_responses_keep_retry_after() -> None:
    response = api_exception_handler(exceptions.Throttled(wait=30), {})

    assert response is not None
    assert response["Retry-After"] == "30"


def test_unexpected_exceptions_are_left_to_the_500_handler() -> None:
    assert api_exception_handler(RuntimeError("boom"), {}) is None
