"""Request body limits, enforced before anything reads the body; no NUL in the address.

Django applies DATA_UPLOAD_MAX_MEMORY_SIZE only when it parses forms itself; DRF's JSON parser
reads the stream directly and would accept any size. This middleware refuses, from the declared
Content-Length, a JSON/form body over ``SHESHI_MAX_BODY_BYTES`` and a multipart upload over
``SHESHI_MAX_UPLOAD_BYTES`` with 413 problem+json. A body without Content-Length (chunked) is
never read by Django's WSGI handler, so it cannot slip past.
"""
from __future__ import annotations

from django.conf import settings

from sheshi.api.problems import json_problem
from sheshi.errors import CommonErrorCode


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            return json_problem(CommonErrorCode.BAD_REQUEST, "Content-Length is not a valid length.")
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        limit = settings.SHESHI_MAX_UPLOAD_BYTES if multipart else settings.SHESHI_MAX_BODY_BYTES
        if length > limit:
            return json_problem(CommonErrorCode.PAYLOAD_TOO_LARGE,
                                f"The body is {length} bytes; the limit for this kind of request is {limit}.")
        if _has_nul(request):
            return json_problem(CommonErrorCode.BAD_REQUEST,
                                "The address or a query parameter contains a NUL character (%00).")
        return self.get_response(request)


def _has_nul(request) -> bool:
    """A NUL in the path or a query parameter: PostgreSQL refuses it in any text (a 500 at the
    first filter that uses it), and no Sheshi code, name or date contains one."""
    if "\x00" in request.path:
        return True
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())
