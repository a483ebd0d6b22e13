"""One error body for the whole API.

Every error response has the shape::

    {"error": {"code": "...", "message": "...", "details": {...}}, "request_id": "..."}

so clients handle errors in one place and support can find the log lines of a
failed call from its request id.
"""

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.core.request_id import get_request_id


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "details": details or {}},
        "request_id": get_request_id(),
    }


def api_error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc.detail, dict):
        # simplejwt's errors carry a dict: {"detail": ..., "code": ..., "messages": [...]}.
        extra = dict(exc.detail)
        code = str(extra.pop("code", exc.default_code))
        return error_body(code, message_of(extra.pop("detail", extra)), extra)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return error_body(str(code), message_of(exc.detail))


def message_of(detail: Any) -> str:
    """The human text of an error detail: a string, or the messages of a list or dict."""
    if isinstance(detail, dict):
        return " ".join(message_of(value) for value in detail.values())
    if isinstance(detail, list):
        return " ".join(message_of(item) for item in detail)
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Let DRF build the response (status, headers), then give it the standard body."""
    response = exception_handler(exc, context)
    if response is None:
        return None  # Not an API error: Django's 500 handler takes it.
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", "The request is not valid.", exc.detail)
    elif isinstance(exc, exceptions.APIException):
        response.data = api_error_body(exc)
    else:  # Http404 and PermissionDenied, which DRF maps for us.
        not_found = response.status_code == status.HTTP_404_NOT_FOUND
        code = "not_found" if not_found else "permission_denied"
        response.data = error_body(code, str(response.data.get("detail", "")))
    return response
