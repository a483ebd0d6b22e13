"""Request body parsers: malformed input is the client's error, never a server error."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents nested too deeply to decode.

    The decoder recurses once per level; tens of thousands of ``[`` raise
    RecursionError, which DRF would leave to the 500 handler.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error
