"""Serializer fields every API of the project uses."""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that validates exactly what was sent.

    Numbers and booleans are refused instead of being turned into text, and
    surrounding whitespace is kept, so length limits apply to the value the
    client sent (services normalise names; passwords stay as typed).
    """

    default_error_messages = {"invalid": "Must be a string."}  # noqa: RUF012 (DRF's own shape)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value: str = super().to_internal_value(data)
        return value
