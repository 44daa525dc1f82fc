"""One error shape for every API failure: RFC 7807 application/problem+json.

{"type": "https://sheshi.dev/problems/<code>", "title", "status", "detail", "code",
 "errors": [{"field", "message", "code", "row"?, "value"?}], "request_id"}
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from sheshi.errors import CommonErrorCode, ConcurrentUpdate, ErrorCode, SheshiError, error_code, from_db_error
from sheshi.request_context import request_id_var

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://sheshi.dev/problems/"


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, Any]]:
    """DRF's nested ValidationError detail → a flat list of field errors."""
    out: list[dict[str, Any]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a list serializer's errors by item index: lines[0], as services name them
                out += _flatten(value, f"{prefix}[{key}]")
                continue
            name = "" if key == "non_field_errors" else str(key)
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (prefix or name))
    elif isinstance(detail, list):
        if all(isinstance(v, (str, drf.ErrorDetail)) for v in detail):
            for v in detail:
                out.append({"field": prefix or "non_field_errors", "message": str(v),
                            "code": getattr(v, "code", "invalid")})
        else:
            for i, v in enumerate(detail):
                out += _flatten(v, f"{prefix}[{i}]")
    else:
        out.append({"field": prefix or "non_field_errors", "message": str(detail),
                    "code": getattr(detail, "code", "invalid")})
    return out


def problem_body(status: int, code: str, title: str, detail: str,
                 errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
        "request_id": request_id_var.get(),
    }


def problem_response(status: int, code: str, title: str, detail: str,
                     errors: list[dict[str, Any]] | None = None, headers: dict | None = None) -> Response:
    resp = Response(problem_body(status, code, title, detail, errors), status=status, headers=headers)
    resp.content_type = PROBLEM_CONTENT_TYPE
    return resp


def problem_exception_handler(exc, context):
    if isinstance(exc, DatabaseError):
        mapped = from_db_error(exc)
        if mapped is None:
            raise exc
        exc = mapped
    if isinstance(exc, SheshiError):
        headers = {"Retry-After": "1"} if isinstance(exc, ConcurrentUpdate) else None
        return problem_response(exc.status, exc.code, exc.title, exc.detail, [e.as_dict() for e in exc.errors],
                                headers=headers)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_default_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        member, detail = CommonErrorCode.VALIDATION_FAILED, "See errors for each field."
        errors = _flatten(exc.detail)
    else:
        member = _drf_error_code(exc, response.status_code)
        detail = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else member.title
        errors = []
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Allow", "Retry-After")}
    return problem_response(response.status_code, member.code, member.title, detail, errors, headers=headers)


def _drf_error_code(exc: drf.APIException, status: int) -> ErrorCode:
    """DRF's own refusals (authentication, throttling, parsing, ...) under the declared common codes."""
    codes = exc.get_codes()
    member = error_code(codes if isinstance(codes, str) else exc.default_code) or error_code(exc.default_code)
    if member is not None and member.status == status:
        return member
    return {400: CommonErrorCode.BAD_REQUEST, 401: CommonErrorCode.NOT_AUTHENTICATED,
            403: CommonErrorCode.PERMISSION_DENIED, 404: CommonErrorCode.NOT_FOUND,
            429: CommonErrorCode.THROTTLED}.get(status, CommonErrorCode.BAD_REQUEST)


def json_problem(member: ErrorCode, detail: str) -> JsonResponse:
    """A problem response outside DRF (middleware, Django's error handlers)."""
    return JsonResponse(problem_body(member.status, member.code, member.title, detail), status=member.status,
                        content_type=PROBLEM_CONTENT_TYPE)


def handler404(request, exception=None):
    return json_problem(CommonErrorCode.NOT_FOUND, "No such resource.")


def handler500(request):
    return json_problem(CommonErrorCode.SERVER_ERROR, "The error was logged with this request id.")


def handler403(request, exception=None):
    return json_problem(CommonErrorCode.PERMISSION_DENIED, "You do not have permission to do this.")


def handler400(request, exception=None):
    return json_problem(CommonErrorCode.BAD_REQUEST, "The request could not be understood.")


class ApiServerErrorMiddleware:
    """With DEBUG on (the development server), Django answers an unhandled exception with its HTML
    technical page. An API client gets problem+json there too, as in production (``handler500``);
    the traceback goes to the log, where the development server shows it anyway."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        import logging

        from django.conf import settings
        from django.core import signals
        from django.core.exceptions import BadRequest, SuspiciousOperation

        if not settings.DEBUG or not request.path.startswith("/api/"):
            return None
        if isinstance(exception, Http404 | DjangoPermissionDenied | BadRequest | SuspiciousOperation):
            return None  # Django's own 4xx handling (handler404/403/400 are problem+json already)
        signals.got_request_exception.send(sender=None, request=request)
        logging.getLogger("django.request").error("Internal Server Error: %s", request.path, exc_info=exception,
                                                  extra={"status_code": 500, "request": request})
        response = handler500(request)
        response._has_been_logged = True
        return response
