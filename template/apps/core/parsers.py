"""Request body parsers: malformed input is the client's error, never a server error."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Arrays and objects inside one another; no body this API accepts needs more than 3.
MAX_NESTING = 64
TOO_DEEP = "JSON parse error - the document is nested too deeply."


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents nested more than MAX_NESTING levels.

    How deep the decoder itself goes depends on the interpreter (3.13 raises
    RecursionError near 1,000 levels, 3.14 decodes 50,000), so the limit is ours.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(TOO_DEEP) from error
        if nested_deeper_than(MAX_NESTING, document):
            raise ParseError(TOO_DEEP)
        return document


def nested_deeper_than(limit: int, document: Any) -> bool:
    # Iterative, so a deep document cannot exhaust the stack here either.
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in value)
    return False
