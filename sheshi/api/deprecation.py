"""Deprecating an API operation: ``@deprecated(since=…, sunset=…, link=…)`` on a view method or
viewset action marks it ``deprecated: true`` in the schema and makes every response of it —
errors included — carry the announcement (README.md, "API versions"):

    Deprecation: @1798761600                        (RFC 9745: when it was deprecated)
    Sunset: Fri, 01 Jan 2027 00:00:00 GMT           (RFC 8594: when it may stop working)
    Link: <https://…>; rel="deprecation"            (where the replacement is described)

The headers are added by DeprecationHeadersMiddleware, which finds the handler Django resolved
for the request; DRF's own responses (401, 403, 400, 404) then carry them as well.
"""
from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import format_datetime

from drf_spectacular.utils import extend_schema

ATTRIBUTE = "sheshi_deprecation"


@dataclass(frozen=True)
class Deprecation:
    since: date
    sunset: date | None = None
    link: str | None = None

    def headers(self) -> dict[str, str]:
        since = datetime.combine(self.since, time(), tzinfo=UTC)
        out = {"Deprecation": f"@{calendar.timegm(since.timetuple())}"}
        if self.sunset is not None:
            sunset = datetime.combine(self.sunset, time(), tzinfo=UTC)
            out["Sunset"] = format_datetime(sunset, usegmt=True)
        if self.link:
            out["Link"] = f'<{self.link}>; rel="deprecation"'
        return out

    def note(self) -> str:
        parts = [f"Deprecated since {self.since.isoformat()}"]
        if self.sunset:
            parts.append(f"may be removed after {self.sunset.isoformat()} (Sunset header)")
        if self.link:
            parts.append(f"see {self.link}")
        return "**" + "; ".join(parts) + ".**"


def deprecated(*, since: date, sunset: date | None = None, link: str | None = None) -> Callable:
    """Mark a view method or viewset action deprecated (schema and response headers)."""
    info = Deprecation(since=since, sunset=sunset, link=link)

    def mark(fn):
        setattr(fn, ATTRIBUTE, info)
        return extend_schema(deprecated=True, description=info.note())(fn)

    return mark


def deprecation_for(request) -> Deprecation | None:
    """The Deprecation of the handler that served ``request``, if it has one."""
    match = getattr(request, "resolver_match", None)
    view = getattr(match, "func", None)
    cls = getattr(view, "cls", None)
    if cls is None:
        return None
    method = request.method.lower()
    actions = getattr(view, "actions", None)  # a viewset route: {"get": "list", …}
    name = actions.get(method) if actions else method
    handler = getattr(cls, name, None) if name else None
    return getattr(handler, ATTRIBUTE, None)


class DeprecationHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        info = deprecation_for(request)
        if info is not None:
            for name, value in info.headers().items():
                response[name] = value
        return response
