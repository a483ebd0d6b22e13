"""OpenAPI generation: every operation documents the error body it can answer with.

Clients (and contract tests such as schemathesis) then know each status an
endpoint may return and that its body is the standard error object of
apps/core/exceptions.py.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    error = ErrorDetailSerializer()
    request_id = serializers.CharField()


class StandardErrorsAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses every API view can give."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status, description in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    ErrorSerializer, status
                )
                responses[status]["description"] = description
        return responses

    def _error_statuses(self) -> list[tuple[str, str]]:
        statuses = [
            # Every view rejects unknown query parameters (apps.core.api), and
            # those with a body validate it.
            ("400", "The request is not valid; details name each field or parameter."),
            ("401", "Missing or invalid credentials."),
            ("403", "Not allowed for these credentials (or a missing CSRF token)."),
        ]
        if "{" in self.path:
            statuses.append(("404", "No such object."))
        statuses.append(("429", "Too many requests; retry after the Retry-After seconds."))
        return statuses
