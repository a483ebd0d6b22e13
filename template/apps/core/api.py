"""Building blocks every API view of the project uses."""

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings


class StrictQueryParamsMixin:
    """Answer 400 to query parameters the endpoint does not document.

    A typo such as ``?page_sise=10`` would otherwise be ignored and the client
    would never learn why its page size had no effect.
    """

    extra_query_params: tuple[str, ...] = ()

    def allowed_query_params(self) -> set[str]:
        allowed = {*self.extra_query_params, api_settings.URL_FORMAT_OVERRIDE}
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            allowed |= {paginator.cursor_query_param, paginator.page_size_query_param}
        return allowed

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        if unknown:
            raise ValidationError({name: ["Unknown query parameter."] for name in unknown})


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
