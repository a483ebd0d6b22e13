"""OpenAPI generation: every operation documents the error body it can answer with."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


# The body of every error response (apps/core/exceptions.py); a docstring would reach the schema.
class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    error = ErrorDetailSerializer()
    request_id = serializers.CharField()


# Every view rejects unknown query parameters (apps/core/api/views.py) and throttles.
ERROR_RESPONSES = {
    "400": "The request is not valid; details name each field or parameter.",
    "401": "Missing or invalid credentials.",
    "403": "Not allowed for these credentials (or a missing CSRF token).",
    "429": "Too many requests; retry after the Retry-After seconds.",
}
NOT_FOUND = {"404": "No such object."}


class StandardErrorsAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses every API view can give.

    Public API only (``get_operation``, ``resolve_serializer``), so an upgrade
    cannot skip it silently; responses a view declares itself are kept.
    """

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:  # excluded from the schema
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        statuses = {**ERROR_RESPONSES, **(NOT_FOUND if "{" in path else {})}
        for status, description in sorted(statuses.items()):
            content = {media: {"schema": error} for media in self.map_renderers("media_type")}
            response = {"content": content, "description": description}
            operation["responses"].setdefault(status, response)
        return operation
