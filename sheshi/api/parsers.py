"""JSON parsing that never goes through float: numbers arrive as Decimal (see STACK pitfall 6)."""
from __future__ import annotations

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper than any request body Sheshi takes (an entry is 4 levels); Python's parser would
# otherwise recurse until RecursionError (a 500) on a body nested a few thousand levels.
MAX_DEPTH = 32


class DecimalJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded = codecs.getreader(encoding)(stream)
            data = json.load(decoded, parse_float=Decimal, parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        _check_shape(data)
        return data


def _check_shape(data) -> None:
    """Refuse what PostgreSQL cannot store or Python cannot walk: nesting past ``MAX_DEPTH`` and a
    NUL character in any key or string (text and jsonb refuse U+0000: a 500 at the database)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("JSON parse error - a string contains a NUL character (\\u0000)")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise ParseError("JSON parse error - a key contains a NUL character (\\u0000)")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number Sheshi accepts")
