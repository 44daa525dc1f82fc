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
            text = codecs.decode(stream.read(), encoding)
            data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        # JSON text holds no raw NUL (a control character is refused inside a string and is not
        # whitespace outside one): a NUL can only come from the escape \u0000. Without that
        # escape in the text only the depth is walked, over the containers; a 10,000-entry batch
        # has ~200,000 values to skip.
        _check_shape(data, strings="\\u0000" in text)
        return data


def _check_shape(data, strings: bool = True) -> None:
    """Refuse what PostgreSQL cannot store or Python cannot walk: nesting past ``MAX_DEPTH`` and a
    NUL character in any key or string (text and jsonb refuse U+0000: a 500 at the database).
    ``strings=False``: the caller knows no string holds a NUL; only the depth is checked."""
    if not strings:
        _check_depth(data)
        return
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


_CONTAINERS = (dict, list)


def _check_depth(data) -> None:
    """Nesting past ``MAX_DEPTH`` refused; only containers are pushed (scalars are most values)."""
    if not isinstance(data, _CONTAINERS):
        return
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        depth += 1  # the depth of its items, as _check_shape counts it (a scalar's too)
        items = value.values() if type(value) is dict else value
        if depth > MAX_DEPTH and items:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
        for item in items:
            if type(item) is dict or type(item) is list:
                stack.append((item, depth))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number Sheshi accepts")
