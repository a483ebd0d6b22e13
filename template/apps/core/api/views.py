"""View behaviour every API view of the project shares."""

from typing import Any

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
